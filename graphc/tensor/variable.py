"""Symbolic variables: small immutable expression nodes, as Theano's.

A :class:`Variable` is an input placeholder (no owner), a constant, a shared
variable, or the output of an :class:`Apply` of a registered op to other
variables.  Building an Apply runs the op's type inference, so shape and dtype
errors surface at construction, naming the shapes.  ``==`` on variables is
identity (Theano's rule, so variables can be dict keys); use ``T.eq`` for the
elementwise comparison.
"""

from __future__ import annotations

import contextlib
import contextvars
import itertools
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ..ir import ops as _ops  # noqa: F401  (registers the standard ops)
from ..ir.registry import get_op, infer_types, infer_value
from ..ir.types import Dim, DimLike, TensorType, format_shape
from .theano_ops import Op, theano_op
from .variable_numpy import NumpyMethods

__all__ = [
    "Variable",
    "Apply",
    "TensorConstant",
    "apply_op",
    "provenance",
    "current_provenance",
    "freeze_attrs",
    "next_apply_serial",
]

_APPLY_SERIAL = itertools.count()
_PROVENANCE: contextvars.ContextVar[str | None] = contextvars.ContextVar("graphc_provenance", default=None)


@contextlib.contextmanager
def provenance(name: str | None) -> Iterator[None]:
    """Tag every op built inside the block with ``name`` (a layer's name).

    The tag travels onto IR nodes and exported ONNX nodes, so a node of an
    exported model can be traced back to the layer that emitted it.
    """
    token = _PROVENANCE.set(name)
    try:
        yield
    finally:
        _PROVENANCE.reset(token)


def next_apply_serial() -> int:
    """The serial number the next Apply will get (ops built later have larger ones)."""
    global _APPLY_SERIAL
    value = next(_APPLY_SERIAL)
    _APPLY_SERIAL = itertools.count(value)
    return value


def current_provenance() -> str | None:
    """The provenance tag in force, or None."""
    return _PROVENANCE.get()


def freeze_attrs(attrs: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    """Attributes as a sorted tuple (hashable, order independent)."""
    return tuple(sorted(attrs.items()))


class Apply:
    """One application of a registered op to input variables.

    Attributes
    ----------
    op : Op
        Registry name of the op: a ``str`` that also answers Theano's questions
        (``op.name``, ``isinstance(op, T.Elemwise)``; see :mod:`graphc.tensor.theano_ops`).
    inputs : tuple of Variable
    attrs : dict
        The op's attributes (treated as immutable).
    outputs : list of Variable
    provenance : str or None
        Name of the layer that built it.
    """

    __slots__ = ("op", "inputs", "attrs", "outputs", "provenance", "serial")

    def __init__(self, op: str, inputs: Sequence[Variable], attrs: dict[str, Any]) -> None:
        #: creation order; scan uses it to tell ops built inside a step function from outside ones
        self.serial = next(_APPLY_SERIAL)
        self.inputs = tuple(inputs)
        self.attrs = dict(attrs)
        self.op = theano_op(op, self.attrs, tuple(getattr(i, "type", None) for i in self.inputs))
        self.outputs: list[Variable] = []
        self.provenance = current_provenance()

    def __repr__(self) -> str:
        return f"Apply({self.op}, {len(self.inputs)} inputs)"

    def __getstate__(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}

    def __setstate__(self, state: dict[str, Any]) -> None:
        global _APPLY_SERIAL
        for k, v in state.items():
            setattr(self, k, v)
        if not isinstance(self.op, Op):  # pickled before ops carried Theano's view
            self.op = theano_op(self.op, self.attrs, tuple(getattr(i, "type", None) for i in self.inputs))
        # ops built after unpickling must still get larger serials (scan relies on the order)
        _APPLY_SERIAL = itertools.count(max(next(_APPLY_SERIAL), self.serial + 1))


_COMPARISONS = frozenset({"eq", "neq", "lt", "le", "gt", "ge"})


class Variable(NumpyMethods):
    """A symbolic tensor.

    Parameters
    ----------
    type : TensorType
        Dtype and shape (ints and symbolic :class:`~graphc.ir.types.Dim`).
    name : str, optional
        Used for graph inputs and outputs and in error messages.
    owner : Apply, optional
        The op application that computes it; None for inputs and constants.
    index : int
        Which output of ``owner`` this is.

    Notes
    -----
    ``sym_value`` holds what is statically known of a small integer result
    (an int/Dim per element of a shape vector), so that reshaping by
    ``x.shape`` elements keeps symbolic sizes.
    """

    __array_priority__ = 1000  # numpy defers to our operators: ndarray + Variable -> Variable

    def __init__(
        self,
        type: TensorType,
        name: str | None = None,
        owner: Apply | None = None,
        index: int = 0,
        sym_value: Any = None,
    ) -> None:
        self.type = type
        self.name = name
        self.owner = owner
        self.index = index
        self.sym_value = sym_value

    # -- type information -------------------------------------------------
    @property
    def dtype(self) -> str:
        """The dtype as a string, e.g. ``'float32'``."""
        return self.type.dtype

    @property
    def ndim(self) -> int:
        """Number of axes."""
        return self.type.ndim

    @property
    def broadcastable(self) -> tuple[bool, ...]:
        """True for each axis whose size is statically 1."""
        return self.type.broadcastable

    @property
    def shape(self) -> Variable:
        """The symbolic shape: an int64 vector whose elements are symbolic scalars.

        It unpacks like a tuple: ``n_batch, n_time, n_feat = x.shape``.
        """
        from .shape import shape

        return shape(self)

    @property
    def size(self) -> Variable:
        """Number of elements, as a symbolic int64 scalar."""
        from .reduction import prod

        return prod(self.shape)

    def __repr__(self) -> str:
        label = self.name or (self.owner.op if self.owner else "Variable")
        return f"<{label}: {self.type.compact}>"

    def __str__(self) -> str:
        # as Theano: a named variable prints as its name (programs build names and labels from it)
        return self.name if self.name else repr(self)

    def __bool__(self) -> bool:
        # as Theano: a variable is true (``if W:``, ``W or default``), but a comparison has no truth
        # value (``a < b < c`` would silently test only half)
        if self.owner is not None and self.owner.op in _COMPARISONS:
            raise TypeError(
                f"symbolic variable {self!r} has no truth value; use T.switch/T.where for "
                "conditionals and T.eq for elementwise comparison"
            )
        return True

    @property
    def tag(self) -> Any:
        """Theano's scratch space for annotations (``x.tag.test_value = ...``); graphc stores and ignores them."""
        tag = self.__dict__.get("_tag")
        if tag is None:
            import types

            tag = self.__dict__["_tag"] = types.SimpleNamespace()
        return tag

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError(f"len() of a 0-d variable {self!r}")
        first = self.type.shape[0]
        if isinstance(first, Dim):
            raise TypeError(f"len() of {self!r}: axis 0 has symbolic size {first}")
        return first

    def __iter__(self) -> Iterator[Variable]:
        for i in range(len(self)):
            yield self[i]

    __hash__ = object.__hash__

    def __getstate__(self) -> dict[str, Any]:
        """Pickled state: all but the functions :meth:`eval` compiled (sessions do not pickle)."""
        return {k: v for k, v in self.__dict__.items() if k != "_fn_cache"}

    # -- operators (defined in graphc.tensor.elemwise etc.) ----------------
    def __add__(self, other: Any) -> Variable:
        return _E.add(self, other)

    def __radd__(self, other: Any) -> Variable:
        return _E.add(other, self)

    def __sub__(self, other: Any) -> Variable:
        return _E.sub(self, other)

    def __rsub__(self, other: Any) -> Variable:
        return _E.sub(other, self)

    def __mul__(self, other: Any) -> Variable:
        return _E.mul(self, other)

    def __rmul__(self, other: Any) -> Variable:
        return _E.mul(other, self)

    def __truediv__(self, other: Any) -> Variable:
        return _E.true_div(self, other)

    def __rtruediv__(self, other: Any) -> Variable:
        return _E.true_div(other, self)

    def __floordiv__(self, other: Any) -> Variable:
        return _E.floor_div(self, other)

    def __rfloordiv__(self, other: Any) -> Variable:
        return _E.floor_div(other, self)

    def __mod__(self, other: Any) -> Variable:
        return _E.mod(self, other)

    def __rmod__(self, other: Any) -> Variable:
        return _E.mod(other, self)

    def __pow__(self, other: Any) -> Variable:
        return _E.pow(self, other)

    def __rpow__(self, other: Any) -> Variable:
        return _E.pow(other, self)

    def __neg__(self) -> Variable:
        return _E.neg(self)

    def __pos__(self) -> Variable:
        return self

    def __abs__(self) -> Variable:
        return _E.abs(self)

    def __lt__(self, other: Any) -> Variable:
        return _E.lt(self, other)

    def __le__(self, other: Any) -> Variable:
        return _E.le(self, other)

    def __gt__(self, other: Any) -> Variable:
        return _E.gt(self, other)

    def __ge__(self, other: Any) -> Variable:
        return _E.ge(self, other)

    def __and__(self, other: Any) -> Variable:
        return _E.and_(self, other)

    def __rand__(self, other: Any) -> Variable:
        return _E.and_(other, self)

    def __or__(self, other: Any) -> Variable:
        return _E.or_(self, other)

    def __ror__(self, other: Any) -> Variable:
        return _E.or_(other, self)

    def __xor__(self, other: Any) -> Variable:
        return _E.xor(self, other)

    def __rxor__(self, other: Any) -> Variable:
        return _E.xor(other, self)

    def __invert__(self) -> Variable:
        return _E.invert(self)

    def __matmul__(self, other: Any) -> Variable:
        from .linalg import matmul

        return matmul(self, other)

    def __rmatmul__(self, other: Any) -> Variable:
        from .linalg import matmul

        return matmul(other, self)

    def __getitem__(self, index: Any) -> Variable:
        from .indexing import getitem

        return getitem(self, index)

    # -- Theano-style methods ---------------------------------------------
    def eval(self, inputs_to_values: Any = None) -> np.ndarray:
        """``expr.eval({x: value})``: see :func:`graphc.tensor.evaluation.eval_variable`."""
        from .evaluation import eval_variable

        return eval_variable(self, inputs_to_values)

    def reshape(self, *shape: Any, ndim: int | None = None) -> Variable:
        """Reshape; sizes may be ints, -1 or symbolic scalars (``x.shape[0]``)."""
        from .shape import reshape

        if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
            shape = shape[0]
        return reshape(self, shape, ndim=ndim)

    def dimshuffle(self, *pattern: Any) -> Variable:
        """Theano's dimshuffle: a permutation of axes with ``'x'`` for new broadcastable axes."""
        from .shape import dimshuffle

        if len(pattern) == 1 and isinstance(pattern[0], (list, tuple)):
            pattern = tuple(pattern[0])
        return dimshuffle(self, pattern)

    def flatten(self, ndim: int = 1, outdim: int | None = None) -> Variable:
        """Keep the first ``ndim - 1`` axes and flatten the rest into one."""
        from .shape import flatten

        return flatten(self, outdim if outdim is not None else ndim)

    def transpose(self, *axes: Any) -> Variable:
        """Permute axes (reverse them when none are given)."""
        from .shape import transpose

        if len(axes) == 1 and isinstance(axes[0], (list, tuple)):
            axes = tuple(axes[0])
        return transpose(self, axes or None)

    @property
    def T(self) -> Variable:  # noqa: N802  (numpy and Theano name)
        """The transpose (axes reversed)."""
        return self.transpose()

    def astype(self, dtype: Any) -> Variable:
        """Cast to ``dtype``."""
        return _E.cast(self, dtype)

    def dot(self, other: Any) -> Variable:
        """``T.dot(self, other)``."""
        from .linalg import dot

        return dot(self, other)

    def clip(self, a_min: Any, a_max: Any) -> Variable:
        """Clip into ``[a_min, a_max]``."""
        return _E.clip(self, a_min, a_max)

    def squeeze(self) -> Variable:
        """Drop the axes of static size 1."""
        from .shape import squeeze

        return squeeze(self)


class TensorConstant(Variable):
    """A constant tensor embedded in the graph.

    Parameters
    ----------
    value : numpy.ndarray
        The value (copied, made read-only).
    name : str, optional
    """

    def __init__(self, value: np.ndarray, name: str | None = None) -> None:
        value = np.array(value, copy=True)
        value.setflags(write=False)
        sym: Any = None
        if value.dtype.kind in "iu" and value.ndim <= 1 and value.size <= 64:
            sym = int(value) if value.ndim == 0 else tuple(int(v) for v in value)
        super().__init__(TensorType(value.dtype.name, value.shape), name=name, sym_value=sym)
        self.value = value

    def __repr__(self) -> str:
        if self.value.size <= 6:
            return f"<constant {self.value.tolist()!r}: {self.type.compact}>"
        return f"<constant: {self.type.compact}>"


def apply_op(op: str, inputs: Sequence[Variable], **attrs: Any) -> Variable | list[Variable]:
    """Apply the registered op ``op`` and return its output variable(s).

    Type inference runs here, so a shape or dtype mismatch raises at once.
    """
    opdef = get_op(op)
    if opdef.arity is not None and len(inputs) != opdef.arity:
        raise TypeError(f"op {op!r} takes {opdef.arity} inputs, got {len(inputs)}")
    for i, v in enumerate(inputs):
        if not isinstance(v, Variable):
            raise TypeError(f"input {i} of op {op!r} is {type(v).__name__}, expected a symbolic Variable")
    in_types = [v.type for v in inputs]
    known = [v.sym_value for v in inputs]
    types = infer_types(opdef, in_types, known, attrs)
    node = Apply(op, inputs, attrs)
    values = infer_value(opdef, in_types, known, attrs)
    outs = []
    for i, t in enumerate(types):
        sym = values if (values is not None and len(types) == 1) else None
        out = Variable(t, owner=node, index=i, sym_value=sym)
        outs.append(out)
    node.outputs = outs
    return outs[0] if len(outs) == 1 else outs


def describe(v: Variable) -> str:
    """Short description of a variable for error messages."""
    name = f"{v.name!r} " if v.name else ""
    return f"{name}{v.dtype}{format_shape(v.type.shape)}"


def static_dims(shape: Sequence[DimLike]) -> bool:
    """True when every dim is an int."""
    return all(not isinstance(d, Dim) for d in shape)


class _ElemwiseModule:
    """Resolves operator implementations in :mod:`graphc.tensor.elemwise` on first use
    (that module imports this one)."""

    def __getattr__(self, name: str) -> Any:
        from . import elemwise

        value = getattr(elemwise, name)
        setattr(self, name, value)
        return value


_E: Any = _ElemwiseModule()
