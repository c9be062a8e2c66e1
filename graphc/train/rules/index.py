"""Gradient rules of indexing: getitem (zeros around the picked part), take and take_along_axis (scatter-adds),
and of the scatter-adds themselves (gathers: second derivatives through embeddings and max pooling)."""

from __future__ import annotations

from typing import Any

from ... import tensor as T
from ...tensor.variable import apply_op
from ..registry import grad_rule
from .common import dim, zeros_shaped_like


def _norm(v: Any, size: Any, default: Any) -> Any:
    """A slice bound normalised as Python's ``slice.indices`` does for a positive step."""
    if v is None:
        return default
    if isinstance(v, int) and isinstance(size, int):
        v = v + size if v < 0 else v
        return min(max(v, 0), size)
    v = T.switch(T.lt(v, 0), v + size, v)
    return T.minimum(T.maximum(v, 0), size)


def _norm_reverse(v: Any, size: Any, default: Any) -> Any:
    """A slice bound normalised as Python's ``slice.indices`` does for a negative step (into [-1, size-1])."""
    if v is None:
        return default
    if isinstance(v, int) and isinstance(size, int):
        v = v + size if v < 0 else v
        return min(max(v, -1), size - 1)
    v = T.switch(T.lt(v, 0), v + size, v)
    return T.minimum(T.maximum(v, -1), size - 1)


@grad_rule("getitem")
def _getitem(node: Any, gs: list[Any]) -> list[Any]:
    x = node.inputs[0]
    g = gs[0]
    dyn = node.inputs

    def bound(v: Any) -> Any:
        return dyn[v[1]] if isinstance(v, tuple) else v

    entries = node.attrs["index"]
    # 1. drop the axes newaxis added
    out_axis = 0
    squeeze_axes = []
    for e in entries:
        if e[0] == "newaxis":
            squeeze_axes.append(out_axis)
            out_axis += 1
        elif e[0] == "slice":
            out_axis += 1
    if squeeze_axes:
        g = T.squeeze(g, tuple(squeeze_axes))
    # 2. put back the axes an int index removed, and 3. zeros around each picked region
    axis = 0
    static_pads: list[tuple[int, int, int]] = []
    for e in entries:
        if e[0] == "newaxis":
            continue
        size = dim(x, axis)
        if e[0] == "int":
            i = bound(e[1])
            g = T.expand_dims(g, axis)
            start = _norm(i, size, 0)
            stop = start + 1
            before, after = start, size - stop
        else:
            _, lo, hi, step = e
            if step == 1:
                start = _norm(bound(lo), size, 0)
                if hi is None:  # to the end: nothing after, whatever the (symbolic) size
                    before, after = start, 0
                else:
                    stop = _norm(bound(hi), size, size)
                    stop = max(stop, start) if isinstance(stop, int) and isinstance(start, int) else T.maximum(stop, start)
                    before, after = start, size - stop
            elif step == -1 and lo is None and hi is None:  # a whole reversal: nothing around it
                before, after = 0, 0
                g = g[(slice(None),) * axis + (slice(None, None, -1),)]
            elif step == -1:
                # elements start, start-1, ..., stop+1: reversed, they cover [stop + 1, stop + 1 + count)
                first = _norm_reverse(bound(lo), size, size - 1)
                last = _norm_reverse(bound(hi), size, -1)
                if isinstance(first, int) and isinstance(last, int):
                    count: Any = max(first - last, 0)
                else:
                    count = T.maximum(first - last, 0)
                before = last + 1
                after = size - before - count
                g = g[(slice(None),) * axis + (slice(None, None, -1),)]
            else:
                raise NotImplementedError(f"grad: slices with step {step} have no gradient rule yet")
        if isinstance(before, int) and isinstance(after, int):
            static_pads.append((axis, before, after))  # one Pad for all static borders, below
        else:
            if not (isinstance(before, int) and before == 0):
                g = T.concatenate([zeros_shaped_like(g, axis, before), g], axis=axis)
            if not (isinstance(after, int) and after == 0):
                g = T.concatenate([g, zeros_shaped_like(g, axis, after)], axis=axis)
        axis += 1
    if static_pads:
        widths = [(0, 0)] * g.ndim
        for ax, lo, hi in static_pads:
            widths[ax] = (lo, hi)
        g = T.pad(g, widths)
    return [g] + [None] * (len(node.inputs) - 1)


def _shape_of(x: Any) -> Any:
    return list(x.type.shape) if x.type.is_static else T.shape(x)


@grad_rule("take")
def _take(node: Any, gs: list[Any]) -> list[Any]:
    x, idx = node.inputs
    axis = node.attrs["axis"]
    g = gs[0]
    if axis == 0:
        from ...tensor.shape import shape_vector

        return [apply_op("take_grad", [g, idx, shape_vector(_shape_of(x))], axis=0), None]
    # move the axis to the front, scatter there, move it back
    perm = [axis] + [i for i in range(x.ndim) if i != axis]
    xt = T.transpose(x, perm)
    gperm = list(range(axis, axis + idx.ndim)) + [i for i in range(g.ndim) if not axis <= i < axis + idx.ndim]
    from ...tensor.shape import shape_vector

    gt = apply_op("take_grad", [T.transpose(g, gperm), idx, shape_vector(_shape_of(xt))], axis=0)
    inverse = [0] * len(perm)
    for i, p in enumerate(perm):
        inverse[p] = i
    return [T.transpose(gt, inverse), None]


@grad_rule("take_along_axis")
def _take_along(node: Any, gs: list[Any]) -> list[Any]:
    from ...tensor.shape import shape_vector

    x, idx = node.inputs
    return [apply_op("take_along_axis_grad", [gs[0], idx, shape_vector(_shape_of(x))], axis=node.attrs["axis"]), None]


@grad_rule("take_grad")
def _take_grad(node: Any, gs: list[Any]) -> list[Any]:
    # a scatter-add of g is linear in g: its gradient gathers the same positions back
    return [apply_op("take", [gs[0], node.inputs[1]], axis=node.attrs["axis"]), None, None]


@grad_rule("take_along_axis_grad")
def _take_along_grad(node: Any, gs: list[Any]) -> list[Any]:
    return [apply_op("take_along_axis", [gs[0], node.inputs[1]], axis=node.attrs["axis"]), None, None]
