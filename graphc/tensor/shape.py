"""Shape manipulation: shape, reshape, transpose, dimshuffle, flatten,
concatenate, stack, squeeze, and tensors created from shapes (zeros, ones,
zeros_like, ones_like, alloc, arange)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..config import config
from ..ir.types import as_dtype, format_shape, promote_dtypes
from .basic import as_tensor_variable, constant
from .elemwise import cast
from .variable import TensorConstant, Variable, apply_op

__all__ = [
    "shape",
    "reshape",
    "transpose",
    "dimshuffle",
    "flatten",
    "concatenate",
    "stack",
    "squeeze",
    "expand_dims",
    "shape_padleft",
    "shape_padright",
    "shape_padaxis",
    "zeros_like",
    "ones_like",
    "zeros",
    "ones",
    "alloc",
    "fill",
    "arange",
    "shape_vector",
    "pad",
    "dim_of",
]


def shape(x: Any) -> Variable:
    """The shape of ``x`` as a symbolic int64 vector (unpackable into scalars)."""
    v = as_tensor_variable(x)
    return apply_op("shape", [v])  # type: ignore[return-value]


def dim_of(x: Variable, axis: int) -> Any:
    """Size of ``axis``: an int when static, else the symbolic scalar ``x.shape[axis]``."""
    d = x.type.shape[axis]
    return d if isinstance(d, int) else shape(x)[axis]


def shape_vector(dims: Any, what: str = "shape") -> Variable:
    """An int64 vector from a sequence of ints and int scalars, or from a vector.

    Raises
    ------
    TypeError
        If an entry is neither an int nor an integer scalar variable.
    """
    if isinstance(dims, Variable):
        if dims.ndim != 1 or np.dtype(dims.dtype).kind not in "iu":
            raise TypeError(f"{what}: expected an int vector or a sequence of ints, got {dims!r}")
        return cast(dims, "int64")
    if isinstance(dims, (int, np.integer)):
        dims = (dims,)
    if not isinstance(dims, (list, tuple)):
        raise TypeError(f"{what}: expected a sequence of sizes, got {type(dims).__name__}")
    if all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) for d in dims):
        return constant(np.array([int(d) for d in dims], dtype=np.int64))
    parts = []
    for i, d in enumerate(dims):
        if isinstance(d, Variable):
            if d.ndim != 0 or np.dtype(d.dtype).kind not in "iu":
                raise TypeError(f"{what}: entry {i} must be an int scalar, got {d!r}")
            parts.append(cast(d, "int64"))
        elif isinstance(d, (int, np.integer)) and not isinstance(d, bool):
            parts.append(constant(np.int64(d)))
        else:
            raise TypeError(f"{what}: entry {i} is {d!r}; expected an int or a symbolic int scalar")
    return stack(parts)


def reshape(x: Any, newshape: Any, ndim: int | None = None) -> Variable:
    """Reshape ``x``; sizes may be ints, one -1, or symbolic scalars such as ``x.shape[0]``.

    Raises
    ------
    ValueError
        When the sizes are known not to match, e.g. reshaping 12 elements into (5, -1).
    """
    v = as_tensor_variable(x)
    vec = shape_vector(newshape, what="reshape")
    (k,) = vec.type.shape
    if ndim is not None and k != ndim:
        raise ValueError(f"reshape: ndim={ndim} but the new shape has {k} entries")
    return apply_op("reshape", [v, vec])  # type: ignore[return-value]


def transpose(x: Any, axes: Sequence[int] | None = None) -> Variable:
    """Permute the axes (reverse them when ``axes`` is None)."""
    v = as_tensor_variable(x)
    if axes is None:
        perm = tuple(reversed(range(v.ndim)))
    else:
        perm = tuple(int(a) % v.ndim if v.ndim else int(a) for a in axes)
        if sorted(perm) != list(range(v.ndim)):
            raise ValueError(f"transpose: axes {tuple(axes)} are not a permutation of {v.ndim} axes")
    if perm == tuple(range(v.ndim)):
        return v
    return apply_op("transpose", [v], perm=perm)  # type: ignore[return-value]


def squeeze(x: Any, axis: Any = None) -> Variable:
    """Drop axes of static size 1 (all of them, or those in ``axis``)."""
    v = as_tensor_variable(x)
    if axis is None:
        axes = tuple(i for i, d in enumerate(v.type.shape) if d == 1)
    else:
        axes = tuple(sorted(int(a) % v.ndim for a in (axis if isinstance(axis, (tuple, list)) else (axis,))))
    if not axes:
        return v
    return apply_op("squeeze", [v], axes=axes)  # type: ignore[return-value]


def expand_dims(x: Any, axis: Any) -> Variable:
    """Insert size-1 axes at positions ``axis`` of the result."""
    v = as_tensor_variable(x)
    raw = axis if isinstance(axis, (tuple, list)) else (axis,)
    out_ndim = v.ndim + len(raw)
    bad = [a for a in raw if not -out_ndim <= int(a) < out_ndim]
    if bad:
        raise ValueError(f"expand_dims: axis {bad[0]} is out of range for a result of {out_ndim} dims (valid: {-out_ndim}..{out_ndim - 1})")
    axes = tuple(sorted(int(a) % out_ndim for a in raw))
    return apply_op("expand_dims", [v], axes=axes)  # type: ignore[return-value]


def shape_padleft(x: Any, n_ones: int = 1) -> Variable:
    """Add ``n_ones`` leading axes of size 1."""
    return expand_dims(x, tuple(range(n_ones))) if n_ones else as_tensor_variable(x)


def shape_padright(x: Any, n_ones: int = 1) -> Variable:
    """Add ``n_ones`` trailing axes of size 1."""
    v = as_tensor_variable(x)
    return expand_dims(v, tuple(range(v.ndim, v.ndim + n_ones))) if n_ones else v


def shape_padaxis(x: Any, axis: int) -> Variable:
    """Insert one axis of size 1 at ``axis``."""
    return expand_dims(x, axis)


def dimshuffle(x: Any, pattern: Sequence[Any]) -> Variable:
    """Theano's dimshuffle.

    ``pattern`` lists input axes in their new order, with ``'x'`` for a new
    axis of size 1; input axes left out must have static size 1.

    Examples
    --------
    ``b.dimshuffle('x', 0)`` turns a bias vector into a row; ``x.dimshuffle(1, 0)``
    transposes a matrix.
    """
    v = as_tensor_variable(x)
    pattern = tuple(pattern)
    kept = [p for p in pattern if p != "x"]
    for p in kept:
        if not isinstance(p, (int, np.integer)) or not 0 <= p < v.ndim:
            raise ValueError(f"dimshuffle: {pattern} names axis {p!r}; {v!r} has axes 0..{v.ndim - 1} (and 'x')")
    if len(set(kept)) != len(kept):
        raise ValueError(f"dimshuffle: pattern {pattern} repeats an axis")
    dropped = [a for a in range(v.ndim) if a not in kept]
    for a in dropped:
        if v.type.shape[a] != 1:
            raise ValueError(
                f"dimshuffle: pattern {pattern} drops axis {a} of {v!r}, whose size is {v.type.shape[a]}, not 1"
            )
    out = squeeze(v, dropped) if dropped else v
    remaining = [a for a in range(v.ndim) if a not in dropped]
    perm = [remaining.index(p) for p in kept]
    out = transpose(out, perm)
    new_axes = tuple(i for i, p in enumerate(pattern) if p == "x")
    return expand_dims(out, new_axes) if new_axes else out


def flatten(x: Any, ndim: int = 1) -> Variable:
    """Keep the first ``ndim - 1`` axes and flatten the rest into one (Theano's ``flatten``)."""
    v = as_tensor_variable(x)
    if not isinstance(ndim, (int, np.integer)) or not 1 <= ndim <= max(v.ndim, 1):
        raise ValueError(f"flatten: ndim must be between 1 and {max(v.ndim, 1)} for {v!r}, got {ndim!r}")
    if v.ndim == ndim:
        return v
    return reshape(v, [dim_of(v, i) for i in range(ndim - 1)] + [-1])


def _same_dtype(xs: Sequence[Any], what: str = "join") -> list[Variable]:
    vs = [as_tensor_variable(e) for e in xs]
    if not vs:
        raise ValueError(f"{what}: expected at least one tensor, got an empty list")
    dt = promote_dtypes(*(e.dtype for e in vs))
    return [cast(e, dt) for e in vs]


def concatenate(tensor_list: Sequence[Any], axis: int = 0) -> Variable:
    """Join tensors along an existing axis (negative axes count from the end)."""
    vs = _same_dtype(tensor_list, "concatenate")
    ndim = vs[0].ndim
    if ndim == 0:
        raise ValueError("concatenate: zero-dimensional tensors cannot be concatenated; use stack")
    if not -ndim <= axis < ndim:
        raise ValueError(f"concatenate: axis {axis} is out of range for tensors of {ndim} dims")
    if len(vs) == 1:
        return vs[0]
    return apply_op("concat", vs, axis=axis % ndim)  # type: ignore[return-value]


def stack(tensors: Sequence[Any], axis: int = 0) -> Variable:
    """Join tensors of one shape along a new axis."""
    if all(isinstance(t, (int, np.integer)) and not isinstance(t, bool) for t in tensors) and tensors:
        return constant(np.array(list(tensors), dtype=np.int64))
    vs = _same_dtype(tensors, "stack")
    ndim = vs[0].ndim + 1
    if not -ndim <= axis < ndim:
        raise ValueError(f"stack: axis {axis} is out of range for a result of {ndim} dims")
    shapes = {format_shape(v.type.shape) for v in vs if v.type.is_static}
    if len(shapes) > 1:
        raise ValueError(f"stack: tensors must have one shape, got {sorted(shapes)}")
    parts = [expand_dims(v, axis % ndim) for v in vs]
    return parts[0] if len(parts) == 1 else apply_op("concat", parts, axis=axis % ndim)  # type: ignore[return-value]


def _full(shape_: Any, value: Any, dtype: Any) -> Variable:
    dt = as_dtype(dtype if dtype is not None else config.floatX)
    vec = shape_vector(shape_, what="zeros/ones")
    if isinstance(vec, TensorConstant) and (vec.value < 0).any():
        raise ValueError(f"negative size in shape {tuple(vec.value.tolist())}")
    return apply_op("full", [vec], value=np.dtype(dt).type(value).item(), dtype=dt)  # type: ignore[return-value]


def _static_or_symbolic_shape(v: Variable) -> Any:
    return tuple(v.type.shape) if v.type.is_static else shape(v)


def zeros(shape: Any, dtype: Any = None) -> Variable:
    """A tensor of zeros; ``shape`` may mix ints and symbolic scalars."""
    return _full(shape, 0, dtype)


def ones(shape: Any, dtype: Any = None) -> Variable:
    """A tensor of ones; ``shape`` may mix ints and symbolic scalars."""
    return _full(shape, 1, dtype)


def zeros_like(x: Any, dtype: Any = None) -> Variable:
    """Zeros of the shape (and, unless given, dtype) of ``x``."""
    v = as_tensor_variable(x)
    return _full(_static_or_symbolic_shape(v), 0, dtype or v.dtype)


def ones_like(x: Any, dtype: Any = None) -> Variable:
    """Ones of the shape (and, unless given, dtype) of ``x``."""
    v = as_tensor_variable(x)
    return _full(_static_or_symbolic_shape(v), 1, dtype or v.dtype)


def alloc(value: Any, *shape: Any) -> Variable:
    """``value`` broadcast to ``shape`` (Theano's ``T.alloc``)."""
    v = as_tensor_variable(value)
    if len(shape) == 1 and isinstance(shape[0], (list, tuple, Variable)) and not (
        isinstance(shape[0], Variable) and shape[0].ndim == 0
    ):
        shape = tuple(shape[0]) if not isinstance(shape[0], Variable) else shape[0]  # type: ignore[assignment]
    vec = shape_vector(shape, what="alloc")
    (k,) = vec.type.shape
    if isinstance(k, int) and v.ndim > k:
        raise ValueError(f"alloc: value of {v.ndim} dims cannot be broadcast to a shape of {k} dims")
    return apply_op("expand", [v, vec])  # type: ignore[return-value]


def fill(model: Any, value: Any) -> Variable:
    """``value`` broadcast to the shape of ``model`` (Theano's ``T.fill``)."""
    m = as_tensor_variable(model)
    return alloc(as_tensor_variable(value), shape(m))


def arange(start: Any, stop: Any = None, step: Any = 1, dtype: Any = None) -> Variable:
    """Evenly spaced values in ``[start, stop)``; bounds may be symbolic scalars."""
    from .elemwise import _operands

    if stop is None:
        start, stop = 0, start
    if dtype is not None:
        # Python numbers go straight to `dtype`: rounding them to floatX first would change the steps
        dt = as_dtype(dtype)
        a, b, c = (cast(e, dt) if isinstance(e, Variable) else constant(e, dtype=dt) for e in (start, stop, step))
    else:
        a, b, c = _operands(start, stop, step)
    for name, e in (("start", a), ("stop", b), ("step", c)):
        if e.ndim != 0:
            raise ValueError(f"arange: {name} must be a scalar, got {e!r}")
    if isinstance(c, TensorConstant) and c.value == 0:
        raise ValueError("arange: step must not be 0")
    return apply_op("arange", [a, b, c])  # type: ignore[return-value]




def pad(x: Any, width: Any, value: float = 0.0) -> Variable:
    """Pad with a constant ``value``.

    Parameters
    ----------
    x : tensor
    width : sequence
        One entry per axis: an int (both sides) or a ``(before, after)`` pair.
    value : float
    """
    v = as_tensor_variable(x)
    entries = list(width)
    if len(entries) != v.ndim:
        raise ValueError(f"pad: {len(entries)} widths given for {v!r}, which has {v.ndim} dims")
    pads = []
    for e in entries:
        lo, hi = (e, e) if isinstance(e, (int, np.integer)) else tuple(e)
        pads.append((int(lo), int(hi)))
    if all(p == (0, 0) for p in pads):
        return v
    return apply_op("pad", [v], pads=tuple(pads), value=float(value))  # type: ignore[return-value]
