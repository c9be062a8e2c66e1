"""Creating symbolic variables and constants."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..config import config
from ..ir.types import Dim, DimLike, TensorType, as_dtype
from .typed import TensorType as _TensorType
from .variable import TensorConstant, Variable

__all__ = [
    "tensor",
    "scalar",
    "vector",
    "matrix",
    "tensor3",
    "tensor4",
    "tensor5",
    "iscalar",
    "lscalar",
    "ivector",
    "lvector",
    "imatrix",
    "lmatrix",
    "fscalar",
    "fvector",
    "fmatrix",
    "ftensor3",
    "ftensor4",
    "dscalar",
    "dvector",
    "dmatrix",
    "bvector",
    "bmatrix",
    "constant",
    "as_tensor_variable",
    "as_tensor",
]

_labels_used: dict[str, int] = {}


def _dim_label(name: str | None) -> str:
    """A prefix for an input's symbolic dims, unique per variable so that two inputs
    that happen to share a name do not get sizes assumed equal."""
    base = name if name is not None else "input"
    k = _labels_used.get(base, 0)
    _labels_used[base] = k + 1
    return base if k == 0 and name is not None else f"{base}{k + 1}" if name is None else f"{base}_{k}"


def _input_dims(name: str | None, shape: Sequence[Any]) -> tuple[DimLike, ...]:
    label = _dim_label(name) if any(d is None for d in shape) else (name or "input")
    dims: list[DimLike] = []
    for i, d in enumerate(shape):
        if d is None:
            dims.append(Dim(f"{label}_dim{i}"))
        elif isinstance(d, Dim):
            dims.append(d)
        elif isinstance(d, str):
            dims.append(Dim(d))
        elif isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d >= 0:
            dims.append(int(d))
        else:
            raise ValueError(
                f"input {name or label!r}: shape entry {i} is {d!r}; expected None, a non-negative int, "
                "or a dim name"
            )
    return tuple(dims)


def tensor(
    dtype: Any = None,
    ndim: int | None = None,
    name: str | None = None,
    shape: Sequence[Any] | None = None,
    broadcastable: Sequence[bool] | None = None,
) -> Variable:
    """A symbolic input tensor (Theano's ``T.tensor``).

    Parameters
    ----------
    dtype : str or numpy dtype, optional
        Defaults to ``config.floatX``.
    ndim : int, optional
        Number of axes, each of unknown size.  Give ``ndim``, ``shape`` or
        ``broadcastable``.
    name : str, optional
        Input name, used by compiled functions and exported models.
    shape : sequence, optional
        Sizes: None (unknown), an int, or a name shared with other inputs
        (two inputs with the dim ``'batch'`` have the same batch size).
    broadcastable : sequence of bool, optional
        Theano's pattern: True for axes of size 1.

    Returns
    -------
    Variable

    Examples
    --------
    >>> import graphc.tensor as T
    >>> x = T.tensor('float32', 3, name='x')
    >>> x.type.shape
    (x_dim0, x_dim1, x_dim2)
    """
    if isinstance(dtype, (int, np.integer)) and ndim is None and not isinstance(dtype, bool):
        dtype, ndim = None, int(dtype)
    dt = as_dtype(dtype if dtype is not None else config.floatX)
    if shape is None:
        if broadcastable is not None:
            shape = [1 if b else None for b in broadcastable]
        elif ndim is not None:
            if not isinstance(ndim, (int, np.integer)) or ndim < 0:
                raise ValueError(f"tensor {name!r}: ndim must be a non-negative int, got {ndim!r}")
            shape = [None] * int(ndim)
        else:
            raise TypeError(f"tensor {name!r}: give ndim, shape or broadcastable")
    elif ndim is not None and len(shape) != ndim:
        raise ValueError(f"tensor {name!r}: shape {tuple(shape)} has {len(shape)} dims but ndim={ndim}")
    if name is not None and not isinstance(name, str):
        raise TypeError(f"tensor name must be a str, got {type(name).__name__}")
    return Variable(TensorType(dt, _input_dims(name, shape)), name=name)


def _maker(ndim: int, default_dtype: str | None = None):  # type: ignore[no-untyped-def]
    def make(name: str | None = None, dtype: Any = None, shape: Sequence[Any] | None = None) -> Variable:
        return tensor(dtype if dtype is not None else default_dtype, ndim, name=name, shape=shape)

    kind = {0: "scalar", 1: "vector", 2: "matrix"}.get(ndim, f"{ndim}-d tensor")
    make.__doc__ = f"""A symbolic {kind} input (dtype defaults to {default_dtype or 'config.floatX'}).

    Parameters
    ----------
    name : str, optional
    dtype : str, optional
    shape : sequence, optional
        Static sizes or dim names, as for :func:`tensor`.
    """
    return make


scalar = _maker(0)
vector = _maker(1)
matrix = _maker(2)
tensor3 = _maker(3)
tensor4 = _maker(4)
tensor5 = _maker(5)
# Theano's prefixed constructors are TensorType instances (callable, comparable with ``x.type``)
iscalar = _TensorType("int32", ())
lscalar = _TensorType("int64", ())
ivector = _TensorType("int32", (False,))
lvector = _TensorType("int64", (False,))
imatrix = _TensorType("int32", (False, False))
lmatrix = _TensorType("int64", (False, False))
fscalar = _TensorType("float32", ())
fvector = _TensorType("float32", (False,))
fmatrix = _TensorType("float32", (False, False))
ftensor3 = _TensorType("float32", (False,) * 3)
ftensor4 = _TensorType("float32", (False,) * 4)
dscalar = _TensorType("float64", ())
dvector = _TensorType("float64", (False,))
dmatrix = _TensorType("float64", (False, False))
bvector = _TensorType("int8", (False,))  # Theano: b is int8 ("byte")
bmatrix = _TensorType("int8", (False, False))


def constant(value: Any, name: str | None = None, dtype: Any = None) -> TensorConstant:
    """A constant tensor.

    Python floats become ``config.floatX``; Python ints ``int64``; numpy
    arrays keep their dtype unless ``dtype`` is given.
    """
    if isinstance(value, Variable):
        raise TypeError(f"constant() got a symbolic variable {value!r}")
    if dtype is not None:
        arr = np.asarray(value, dtype=as_dtype(dtype))
    elif isinstance(value, np.ndarray) or isinstance(value, np.generic):
        arr = np.asarray(value)
    else:
        arr = np.asarray(value)
        if arr.dtype.kind == "f":
            arr = arr.astype(config.floatX)
        elif arr.dtype.kind in "iu":
            arr = arr.astype(np.int64)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"cannot make a constant of {type(value).__name__} (dtype {arr.dtype})")
    as_dtype(arr.dtype)
    return TensorConstant(arr, name=name)


def as_tensor_variable(x: Any, name: str | None = None, ndim: int | None = None) -> Variable:
    """Return ``x`` if symbolic, else a constant holding it.

    Raises
    ------
    TypeError
        If ``x`` cannot be a tensor (a string, None, a layer...).
    ValueError
        If ``ndim`` is given and does not match.
    """
    if isinstance(x, Variable):
        v = x
    elif hasattr(x, "__graphc_variable__"):
        v = x.__graphc_variable__()
    elif isinstance(x, (list, tuple)) and any(isinstance(e, Variable) for e in x):
        from .shape import stack

        v = stack([as_tensor_variable(e) for e in x])
    else:
        if x is None or isinstance(x, (str, bytes)):
            raise TypeError(f"cannot convert {x!r} to a tensor")
        v = constant(x, name=name)
    if ndim is not None and v.ndim != ndim:
        raise ValueError(f"expected a tensor of {ndim} dims, got {v!r}")
    return v


as_tensor = as_tensor_variable


def as_tensor_argument(value: Any, what: str) -> Variable:
    """``value`` as a tensor; a string or another non-tensor is refused with a TypeError naming ``what``.

    Parameters
    ----------
    value : Variable, array_like or number
    what : str
        The argument, for the message, e.g. ``"scan: outputs_info entry 0"``.

    Returns
    -------
    Variable
    """
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{what} is the {type(value).__name__} {value!r}; expected a tensor (an expression, an array or a number)")
    try:
        return as_tensor_variable(value)
    except TypeError as exc:
        raise TypeError(f"{what} ({type(value).__name__}) is not a tensor: {exc}") from None


# Theano's op classes of theano.tensor.basic, as graph introspection finds them on node.op
from .theano_ops import Alloc, ARange, Argmax, Dot, Join, Mean, Reshape, Shape  # noqa: E402

__all__ += ["Dot", "Join", "Reshape", "Shape", "Alloc", "ARange", "Argmax", "Mean"]
