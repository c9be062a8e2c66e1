"""Indexing ops: basic numpy indexing (``getitem``), ``take`` (gather along an
axis) and ``take_along_axis``.

``getitem``'s ``index`` attribute is a tuple with one entry per index element:

* ``("int", i)``: pick position ``i`` (the axis disappears),
* ``("slice", start, stop, step)``: numpy slice semantics,
* ``("newaxis",)``: insert an axis of size 1.

Bounds ``i``, ``start`` and ``stop`` are ints, None, or ``("in", k)`` naming
the op's input ``k`` (a symbolic int scalar); ``step`` is a static non-zero int.
Axes past the index are kept whole, as in numpy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..registry import register_op
from ..types import Dim, DimLike, TensorType, format_shape, fresh_dim

Index = tuple[tuple[Any, ...], ...]


def _is_dynamic(v: Any) -> bool:
    return isinstance(v, tuple) and len(v) == 2 and v[0] == "in"


def _static_bound(v: Any, values: list[Any] | None) -> Any:
    """The int value of a bound when known, else the marker ``'?'``."""
    if v is None or isinstance(v, int):
        return v
    if values is not None:
        known = values[v[1]]
        if isinstance(known, int):
            return known
    return "?"


def _consumed_axes(index: Index) -> int:
    return sum(1 for e in index if e[0] != "newaxis")


def _getitem_infer(types: list[TensorType], index: Index, values: list[Any] | None = None) -> list[TensorType]:
    x = types[0]
    for k, t in enumerate(types[1:], start=1):
        if t.ndim != 0 or t.dtype not in ("int32", "int64"):
            raise TypeError(f"getitem: bound input {k} must be an int scalar, got {t.compact}")
    if _consumed_axes(index) > x.ndim:
        raise IndexError(f"too many indices for a tensor of shape {format_shape(x.shape)}: {len(index)} given")
    out: list[DimLike] = []
    axis = 0
    for entry in index:
        kind = entry[0]
        if kind == "newaxis":
            out.append(1)
            continue
        d = x.shape[axis]
        if kind == "int":
            i = _static_bound(entry[1], values)
            if isinstance(i, int) and isinstance(d, int) and not -d <= i < d:
                raise IndexError(f"index {i} is out of bounds for axis {axis} of size {d} in {format_shape(x.shape)}")
        elif kind == "slice":
            _, start, stop, step = entry
            if not isinstance(step, int) or step == 0:
                raise ValueError(f"getitem: slice step must be a non-zero int, got {step!r}")
            s0, s1 = _static_bound(start, values), _static_bound(stop, values)
            if isinstance(d, int) and s0 != "?" and s1 != "?":
                out.append(len(range(*slice(s0, s1, step).indices(d))))
            elif s0 is None and s1 is None and abs(step) == 1:
                out.append(d)
            else:
                out.append(fresh_dim("slice"))
        else:
            raise ValueError(f"getitem: unknown index entry {entry!r}")
        axis += 1
    out.extend(x.shape[axis:])
    return [TensorType(x.dtype, tuple(out))]


def python_index(index: Index, dyn: list[Any]) -> tuple[Any, ...]:
    """The numpy index tuple for ``index``, reading dynamic bounds from ``dyn`` (input k at ``dyn[k]``)."""

    def bound(v: Any) -> Any:
        return int(dyn[v[1]]) if _is_dynamic(v) else v

    items: list[Any] = []
    for entry in index:
        if entry[0] == "newaxis":
            items.append(None)
        elif entry[0] == "int":
            items.append(bound(entry[1]))
        else:
            items.append(slice(bound(entry[1]), bound(entry[2]), entry[3]))
    return tuple(items)


def _getitem_eval(xs: list[np.ndarray], index: Index) -> list[np.ndarray]:
    return [np.array(xs[0][python_index(index, xs)])]


def _getitem_value(values: list[Any], types: list[TensorType], index: Index) -> Any:
    """x.shape[i] and x.shape[a:b] of a known shape vector stay known."""
    vec = values[0]
    if types[0].ndim != 1 or vec is None or len(index) != 1:
        return None
    entry = index[0]
    if entry[0] == "int" and isinstance(entry[1], int):
        return vec[entry[1]]
    if entry[0] == "slice" and all(e is None or isinstance(e, int) for e in entry[1:]):
        return tuple(vec[slice(*entry[1:])])
    return None


register_op(
    "getitem",
    infer=_getitem_infer,
    eval=_getitem_eval,
    uses_values=True,
    value=_getitem_value,
    doc="numpy basic indexing: ints, slices (negative bounds and steps), newaxis",
)


# -- take / take_along_axis ----------------------------------------------------
def _take_infer(types: list[TensorType], axis: int) -> list[TensorType]:
    x, idx = types
    if idx.dtype not in ("int32", "int64"):
        raise TypeError(f"take: indices must be int32 or int64, got {idx.dtype}")
    if not 0 <= axis < x.ndim:
        raise ValueError(f"take: axis {axis} is out of range for shape {format_shape(x.shape)}")
    return [TensorType(x.dtype, x.shape[:axis] + idx.shape + x.shape[axis + 1 :])]


register_op(
    "take",
    infer=_take_infer,
    eval=lambda xs, axis: [np.take(xs[0], xs[1], axis=axis)],
    arity=2,
    doc="gather whole slices along `axis` at integer indices (negative indices count from the end)",
)


def _take_along_infer(types: list[TensorType], axis: int) -> list[TensorType]:
    x, idx = types
    if idx.dtype not in ("int32", "int64"):
        raise TypeError(f"take_along_axis: indices must be int32 or int64, got {idx.dtype}")
    if idx.ndim != x.ndim:
        raise ValueError(
            f"take_along_axis: indices of shape {format_shape(idx.shape)} must have the rank of "
            f"x {format_shape(x.shape)}"
        )
    if not 0 <= axis < x.ndim:
        raise ValueError(f"take_along_axis: axis {axis} is out of range for shape {format_shape(x.shape)}")
    for i, (a, b) in enumerate(zip(x.shape, idx.shape)):
        if i != axis and isinstance(a, int) and isinstance(b, int) and a != b and not isinstance(b, Dim):
            raise ValueError(
                f"take_along_axis: indices {format_shape(idx.shape)} and x {format_shape(x.shape)} differ on axis {i}"
            )
    return [TensorType(x.dtype, idx.shape)]


register_op(
    "take_along_axis",
    infer=_take_along_infer,
    eval=lambda xs, axis: [np.take_along_axis(xs[0], xs[1], axis=axis)],
    arity=2,
    doc="pick one element per position along `axis` (ONNX GatherElements)",
)


# -- scatter-adds: the gradients of take and take_along_axis -----------------
def _scatter_infer(op: str):  # type: ignore[no-untyped-def]
    def infer(types: list[TensorType], values: list[Any], axis: int = 0) -> list[TensorType]:
        from .shape import _dims_from_vector

        g, idx, _shape = types
        if idx.dtype not in ("int32", "int64"):
            raise TypeError(f"{op}: indices must be int32 or int64, got {idx.dtype}")
        return [TensorType(g.dtype, _dims_from_vector(op, types[2], values[2]))]

    return infer


def _take_grad_eval(xs: list[np.ndarray], axis: int = 0) -> list[np.ndarray]:
    g, idx, shape = xs
    out = np.zeros(tuple(int(v) for v in shape), dtype=g.dtype)
    moved = np.moveaxis(out, axis, 0)
    gm = np.moveaxis(g, list(range(axis, axis + idx.ndim)), list(range(idx.ndim)))
    np.add.at(moved, idx, gm)
    return [out]


def _take_along_grad_eval(xs: list[np.ndarray], axis: int = 0) -> list[np.ndarray]:
    g, idx, shape = xs
    out = np.zeros(tuple(int(v) for v in shape), dtype=g.dtype)
    grids = list(np.indices(idx.shape, sparse=True))
    grids[axis] = idx
    np.add.at(out, tuple(grids), g)
    return [out]


register_op(
    "take_grad",
    infer=_scatter_infer("take_grad"),
    eval=_take_grad_eval,
    arity=3,
    uses_values=True,
    doc="zeros of `shape` with the slices g added at `indices` along `axis` (the gradient of take)",
)
register_op(
    "take_along_axis_grad",
    infer=_scatter_infer("take_along_axis_grad"),
    eval=_take_along_grad_eval,
    arity=3,
    uses_values=True,
    doc="zeros of `shape` with g added at `indices` along `axis` (the gradient of take_along_axis)",
)
