"""``graphc.tensor``: the Theano-like symbolic tensor API (``import graphc.tensor as T``).

Variables are built with :func:`scalar`, :func:`vector`, :func:`matrix`,
:func:`tensor3`, :func:`tensor4` or :func:`tensor`, combined with operators
and the functions here, and compiled with :func:`graphc.function`.
"""

from . import nnet, shared_randomstreams, signal
from .basic import (
    as_tensor,
    as_tensor_variable,
    bmatrix,
    bvector,
    constant,
    dmatrix,
    dscalar,
    dvector,
    fmatrix,
    fscalar,
    ftensor3,
    ftensor4,
    fvector,
    imatrix,
    iscalar,
    ivector,
    lmatrix,
    lscalar,
    lvector,
    matrix,
    scalar,
    tensor,
    tensor3,
    tensor4,
    tensor5,
    vector,
)
from .elemwise import (
    abs,
    abs_,
    add,
    and_,
    cast,
    ceil,
    clip,
    cos,
    div,
    eq,
    erf,
    exp,
    expm1,
    floor,
    floor_div,
    ge,
    grad_clip,
    gt,
    int_div,
    inv,
    invert,
    le,
    log,
    log1p,
    lt,
    maximum,
    minimum,
    mod,
    mul,
    neg,
    neq,
    or_,
    pow,
    reciprocal,
    relu,
    round,
    sgn,
    sigmoid,
    sign,
    sin,
    softplus,
    sqr,
    sqrt,
    sub,
    switch,
    tanh,
    true_div,
    where,
    xor,
)
from .indexing import take
from .linalg import dot, matmul, outer, tensordot
from .nnet import log_softmax, softmax
from .random import MRG_RandomStreams, RandomStreams
from .reduction import all, any, argmax, argmin, max, mean, min, prod, std, sum, var
from .scan import scan
from .shape import (
    alloc,
    arange,
    concatenate,
    dimshuffle,
    expand_dims,
    fill,
    flatten,
    ones,
    ones_like,
    pad,
    reshape,
    shape,
    shape_padaxis,
    shape_padleft,
    shape_padright,
    squeeze,
    stack,
    transpose,
    zeros,
    zeros_like,
)
from .shared import SharedVariable, shared
from .subtensor import inc_subtensor, set_subtensor
from .variable import Apply, TensorConstant, Variable

TensorVariable = Variable

# Theano's typed and plural constructors (itensor3, drow, matrices...) and TensorType(dtype, broadcastable)
from .typed import CONSTRUCTORS as _TYPED  # noqa: E402
from .typed import TensorType  # noqa: E402

globals().update({_k: _v for _k, _v in _TYPED.items() if _k not in globals()})

# Theano's complex tensors (the names resolve, using one raises ComplexNotProvidedError), and
# Theano's op classes, for graph introspection (isinstance(v.owner.op, T.Elemwise), op.scalar_op)
from .complex_types import CONSTRUCTORS as _COMPLEX  # noqa: E402
from .complex_types import ComplexNotProvidedError, complex, complex_from_polar  # noqa: E402, F401
from .theano_ops import (  # noqa: E402, F401
    AdvancedIncSubtensor,
    AdvancedIncSubtensor1,
    AdvancedSubtensor,
    AdvancedSubtensor1,
    Alloc,
    ARange,
    Argmax,
    CAReduce,
    DimShuffle,
    Dot,
    Elemwise,
    Join,
    Reshape,
    Subtensor,
)

globals().update(_COMPLEX)

# theano.tensor.extra_ops, and the two of its names Theano also puts in theano.tensor
from . import extra_ops  # noqa: E402

# Theano's other theano.tensor names, built from existing ops (T.round gains Theano's `mode`)
from .extra_math import (  # noqa: E402
    argsort,
    erfinv,
    gammaln,
    isinf,
    isnan,
    log2,
    log10,
    round,  # noqa: E402, F811
    sort,
)
from .extra_ops import cumsum, fill_diagonal  # noqa: E402
from .extra_shape import (  # noqa: E402
    addbroadcast,
    batched_dot,
    eye,
    flatnonzero,
    horizontal_stack,
    join,
    mgrid,
    nonzero,
    nonzero_values,
    ogrid,
    patternbroadcast,
    repeat,
    roll,
    specify_shape,
    tile,
    unbroadcast,
    vertical_stack,
)


def grad(*args, **kwargs):  # type: ignore[no-untyped-def]
    """``T.grad``: see :func:`graphc.grad`."""
    from ..train.grad import grad as _grad

    return _grad(*args, **kwargs)


def Rop(*args, **kwargs):  # type: ignore[no-untyped-def]  # noqa: N802  (Theano's name)
    """``T.Rop``: see :func:`graphc.gradient.Rop`."""
    from .. import gradient

    return gradient.Rop(*args, **kwargs)


def Lop(*args, **kwargs):  # type: ignore[no-untyped-def]  # noqa: N802  (Theano's name)
    """``T.Lop``: see :func:`graphc.gradient.Lop`."""
    from .. import gradient

    return gradient.Lop(*args, **kwargs)


__all__ = [name for name in dir() if not name.startswith("_")]
