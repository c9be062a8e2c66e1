"""Shape ops: shape, reshape, transpose, expand_dims, squeeze, concat, and the
creation ops whose size is a shape vector (full, expand, arange).

Ops that take a shape vector use its statically known value (``values``) so
that symbolic sizes survive: ``reshape(x, (x.shape[0], -1))`` keeps the batch
dim of ``x``.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import numpy as np

from ..registry import register_op
from ..types import Dim, DimLike, TensorType, dim_product, format_shape, fresh_dim
from .elemwise import NUMBERS


def _shape_vector_dims(op: str, t: TensorType, known: Any) -> list[Any]:
    """Entries of a 1-D int shape vector: int, Dim, or None (unknown)."""
    if t.dtype not in ("int64", "int32") or t.ndim != 1:
        raise TypeError(f"{op}: the shape must be a 1-d int64 vector, got {t.compact}")
    (k,) = t.shape
    if isinstance(k, Dim):
        raise ValueError(f"{op}: the shape vector must have a static length, got {format_shape(t.shape)}")
    if known is None:
        return [None] * k
    return list(known)


# -- shape -------------------------------------------------------------------
register_op(
    "shape",
    infer=lambda types: [TensorType("int64", (types[0].ndim,))],
    eval=lambda xs: [np.array(xs[0].shape, dtype=np.int64)],
    arity=1,
    value=lambda values, types: tuple(types[0].shape),
    doc="the shape of x as an int64 vector",
)


# -- reshape -----------------------------------------------------------------
def _factors(d: DimLike) -> tuple[int, Counter]:
    if isinstance(d, int):
        return d, Counter()
    static, sym = 1, Counter()
    for part in d.name.split("*"):
        if part.isdigit():
            static *= int(part)
        else:
            sym[part] += 1
    return static, sym


def _product_factors(dims: list[DimLike]) -> tuple[int, Counter]:
    static, sym = 1, Counter()
    for d in dims:
        s, c = _factors(d)
        static *= s
        sym += c
    return static, sym


def _from_factors(static: int, sym: Counter) -> DimLike:
    names = sorted(sym.elements())
    if not names:
        return static
    return dim_product([static] + [Dim(n) for n in names])


def resolve_reshape(op: str, in_shape: tuple[DimLike, ...], target: list[Any]) -> tuple[DimLike, ...]:
    """Output shape of reshaping ``in_shape`` to ``target`` (ints, -1, Dims, None).

    Raises
    ------
    ValueError
        For more than one -1, negative sizes, or static sizes that cannot match.
    """
    shown = "(" + ", ".join("?" if e is None else str(e) for e in target) + ")"
    if sum(1 for e in target if isinstance(e, int) and e == -1) > 1:
        raise ValueError(f"{op}: can only specify one unknown dimension (-1) in {shown}")
    for e in target:
        if isinstance(e, int) and e < -1:
            raise ValueError(f"{op}: negative size {e} in target shape {shown}")
    known = [e for e in target if e is not None and not (isinstance(e, int) and e == -1)]
    in_static, in_sym = _product_factors(list(in_shape))
    t_static, t_sym = _product_factors(known)
    all_known = all(e is not None for e in target)
    out: list[DimLike] = []
    for e in target:
        if e is None:
            out.append(fresh_dim("reshape"))
        elif isinstance(e, int) and e == -1:
            rest = in_sym - t_sym
            if all_known and not (t_sym - in_sym) and t_static != 0 and in_static % t_static == 0:
                out.append(_from_factors(in_static // t_static, rest))
            elif all_known and not in_sym and not t_sym:
                raise ValueError(
                    f"{op}: cannot reshape a tensor of shape {format_shape(in_shape)} "
                    f"({in_static} elements) into {shown}"
                )
            else:
                out.append(fresh_dim("reshape"))
        else:
            out.append(e)
    has_minus_one = any(isinstance(e, int) and e == -1 for e in target)
    if all_known and not has_minus_one and not in_sym and not t_sym and in_static != t_static:
        raise ValueError(
            f"{op}: cannot reshape a tensor of shape {format_shape(in_shape)} ({in_static} elements) "
            f"into {shown} ({t_static} elements)"
        )
    return tuple(out)


def _reshape_infer(types: list[TensorType], values: list[Any]) -> list[TensorType]:
    x, s = types
    target = _shape_vector_dims("reshape", s, values[1])
    return [TensorType(x.dtype, resolve_reshape("reshape", x.shape, target))]


def _reshape_eval(xs: list[np.ndarray]) -> list[np.ndarray]:
    x, s = xs
    try:
        return [x.reshape(tuple(int(v) for v in s))]
    except ValueError as exc:
        raise ValueError(f"reshape: cannot reshape a tensor of shape {x.shape} into {tuple(s.tolist())}") from exc


def _reshape_value(values: list[Any], types: list[TensorType]) -> Any:
    """A known scalar or vector stays known when reshaped to a scalar or a vector.

    Scalars' values are single entries and vectors' are tuples, so ``(n,)``
    reshaped to ``()`` knows ``n`` and ``n`` reshaped to ``(1,)`` knows ``(n,)``.
    """
    v = values[0]
    if v is None or types[0].ndim > 1:
        return None
    flat = tuple(v) if isinstance(v, tuple) else (v,)
    out_ndim = types[1].shape[0]
    if out_ndim == 0:
        return flat[0] if len(flat) == 1 else None
    return flat if out_ndim == 1 else None


register_op(
    "reshape",
    infer=_reshape_infer,
    eval=_reshape_eval,
    arity=2,
    uses_values=True,
    value=_reshape_value,
    doc="numpy reshape; the target is an int64 vector that may hold one -1",
)


# -- transpose ---------------------------------------------------------------
def _transpose_infer(types: list[TensorType], perm: tuple[int, ...]) -> list[TensorType]:
    (t,) = types
    if sorted(perm) != list(range(t.ndim)):
        raise ValueError(f"transpose: {perm} is not a permutation of the {t.ndim} axes of {format_shape(t.shape)}")
    return [TensorType(t.dtype, tuple(t.shape[p] for p in perm))]


register_op(
    "transpose",
    infer=_transpose_infer,
    eval=lambda xs, perm: [np.transpose(xs[0], perm)],
    arity=1,
    doc="permute axes",
)


# -- expand_dims / squeeze ---------------------------------------------------
def _expand_dims_infer(types: list[TensorType], axes: tuple[int, ...]) -> list[TensorType]:
    (t,) = types
    out_ndim = t.ndim + len(axes)
    if sorted(set(axes)) != list(axes) or any(not 0 <= a < out_ndim for a in axes):
        raise ValueError(f"expand_dims: axes {axes} must be sorted, distinct and in [0, {out_ndim})")
    dims = iter(t.shape)
    return [TensorType(t.dtype, tuple(1 if i in axes else next(dims) for i in range(out_ndim)))]


def _expand_dims_value(values: list[Any], types: list[TensorType], axes: tuple[int, ...]) -> Any:
    v = values[0]
    if types[0].ndim == 0 and axes == (0,) and v is not None:
        return (v,)
    return None


register_op(
    "expand_dims",
    infer=_expand_dims_infer,
    eval=lambda xs, axes: [np.expand_dims(xs[0], axes)],
    arity=1,
    value=_expand_dims_value,
    doc="insert size-1 axes at the given output positions",
)


def _squeeze_infer(types: list[TensorType], axes: tuple[int, ...]) -> list[TensorType]:
    (t,) = types
    if sorted(set(axes)) != list(axes) or any(not 0 <= a < t.ndim for a in axes):
        raise ValueError(f"squeeze: axes {axes} must be sorted, distinct and in [0, {t.ndim})")
    for a in axes:
        if t.shape[a] != 1:
            raise ValueError(
                f"squeeze: axis {a} of {format_shape(t.shape)} has size {t.shape[a]}; only axes of static size 1 can be dropped"
            )
    return [TensorType(t.dtype, tuple(d for i, d in enumerate(t.shape) if i not in axes))]


register_op(
    "squeeze",
    infer=_squeeze_infer,
    eval=lambda xs, axes: [np.squeeze(xs[0], axis=axes)],
    arity=1,
    value=lambda values, types, axes: values[0][0] if types[0].ndim == 1 and values[0] is not None else None,
    doc="drop axes of size 1",
)


# -- concat ------------------------------------------------------------------
def _concat_infer(types: list[TensorType], axis: int) -> list[TensorType]:
    if not types:
        raise ValueError("concat: needs at least one tensor")
    first = types[0]
    if not 0 <= axis < max(first.ndim, 1) or first.ndim == 0:
        raise ValueError(f"concat: axis {axis} is out of range for tensors of {first.ndim} dims")
    shapes = ", ".join(format_shape(t.shape) for t in types)
    out = list(first.shape)
    sizes: list[DimLike] = []
    for t in types:
        if t.dtype != first.dtype:
            raise TypeError(f"concat: dtypes differ ({first.dtype} and {t.dtype}); cast first")
        if t.ndim != first.ndim:
            raise ValueError(f"concat: tensors of shapes {shapes} have different numbers of dims")
        for i, (a, b) in enumerate(zip(out, t.shape)):
            if i == axis:
                continue
            if isinstance(a, int) and isinstance(b, int) and a != b:
                raise ValueError(f"concat along axis {axis}: shapes {shapes} differ on axis {i}")
            if isinstance(a, Dim) and isinstance(b, int):
                out[i] = b
        sizes.append(t.shape[axis])
    out[axis] = sum(sizes) if all(isinstance(s, int) for s in sizes) else fresh_dim("concat")  # type: ignore[arg-type]
    return [TensorType(first.dtype, tuple(out))]


def _concat_value(values: list[Any], types: list[TensorType], axis: int) -> Any:
    if axis != 0 or any(t.ndim != 1 for t in types) or any(v is None for v in values):
        return None
    return tuple(e for v in values for e in v)


register_op(
    "concat",
    infer=_concat_infer,
    eval=lambda xs, axis: [np.concatenate(xs, axis=axis)],
    value=_concat_value,
    doc="join tensors along an existing axis",
)


# -- full / expand / arange --------------------------------------------------
def _dims_from_vector(op: str, t: TensorType, known: Any) -> tuple[DimLike, ...]:
    entries = _shape_vector_dims(op, t, known)
    out: list[DimLike] = []
    for e in entries:
        if e is None:
            out.append(fresh_dim(op))
        elif isinstance(e, int) and e < 0:
            raise ValueError(f"{op}: negative size {e} in shape {tuple(entries)}")
        else:
            out.append(e)
    return tuple(out)


def _full_infer(types: list[TensorType], values: list[Any], value: Any, dtype: str) -> list[TensorType]:
    return [TensorType(dtype, _dims_from_vector("full", types[0], values[0]))]


register_op(
    "full",
    infer=_full_infer,
    eval=lambda xs, value, dtype: [np.full(tuple(int(v) for v in xs[0]), value, dtype=dtype)],
    arity=1,
    uses_values=True,
    doc="a tensor of the given shape filled with `value`",
)


def _expand_infer(types: list[TensorType], values: list[Any]) -> list[TensorType]:
    from ..types import broadcast_shapes

    x, s = types
    target = _dims_from_vector("expand", s, values[1])
    return [TensorType(x.dtype, broadcast_shapes(x.shape, target, what="operands of expand"))]


def _expand_eval(xs: list[np.ndarray]) -> list[np.ndarray]:
    x, s = xs
    shape = np.broadcast_shapes(x.shape, tuple(int(v) for v in s))
    return [np.broadcast_to(x, shape).copy()]


register_op(
    "expand",
    infer=_expand_infer,
    eval=_expand_eval,
    arity=2,
    uses_values=True,
    doc="broadcast x against a shape (ONNX Expand: sizes of 1 in the shape keep x's size)",
)


def _arange_infer(types: list[TensorType], values: list[Any]) -> list[TensorType]:
    dtypes = {t.dtype for t in types}
    if len(dtypes) != 1 or next(iter(dtypes)) not in NUMBERS:
        raise TypeError(f"arange: start, stop and step must share one number dtype, got {[t.dtype for t in types]}")
    if any(t.ndim != 0 for t in types):
        raise ValueError("arange: start, stop and step must be scalars")
    start, stop, step = values
    if all(isinstance(v, int) for v in values):
        if step == 0:
            raise ValueError("arange: step must not be 0")
        n: DimLike = max(0, math.ceil((stop - start) / step))
    else:
        n = fresh_dim("arange")
    return [TensorType(types[0].dtype, (n,))]


def _arange_value(values: list[Any], types: list[TensorType]) -> Any:
    if all(isinstance(v, int) for v in values) and values[2] != 0:
        r = range(*values)
        return tuple(r) if len(r) <= 64 else None
    return None


register_op(
    "arange",
    infer=_arange_infer,
    eval=lambda xs: [np.arange(xs[0], xs[1], xs[2], dtype=xs[0].dtype)],
    arity=3,
    uses_values=True,
    value=_arange_value,
    doc="evenly spaced values in [start, stop)",
)


# -- pad ---------------------------------------------------------------------
def _pad_infer(types: list[TensorType], pads: tuple[tuple[int, int], ...], value: float = 0.0) -> list[TensorType]:
    (t,) = types
    if len(pads) != t.ndim:
        raise ValueError(f"pad: {len(pads)} (before, after) pairs given for a tensor of shape {format_shape(t.shape)}")
    out: list[DimLike] = []
    for axis, ((lo, hi), d) in enumerate(zip(pads, t.shape)):
        if lo < 0 or hi < 0:
            raise ValueError(f"pad: negative padding ({lo}, {hi}) on axis {axis}")
        if isinstance(d, int):
            out.append(d + lo + hi)
        else:
            out.append(d if lo == hi == 0 else fresh_dim("pad"))
    return [TensorType(t.dtype, tuple(out))]


register_op(
    "pad",
    infer=_pad_infer,
    eval=lambda xs, pads, value=0.0: [np.pad(xs[0], pads, mode="constant", constant_values=value)],
    arity=1,
    doc="pad with a constant value: pads is one (before, after) pair per axis",
)
