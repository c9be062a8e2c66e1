"""Lowerings of the indexing ops.

``getitem`` becomes one ``Slice`` over every sliced axis (static int indices
are one-element slices), a ``Squeeze`` of the static-int axes, a ``Gather``
per dynamic int index, and an ``Unsqueeze`` for ``newaxis`` entries.
"""

from __future__ import annotations

from typing import Any

from ..context import INT64_MAX, INT64_MIN, LoweringContext, LowerNode, lowering


def _bound_name(ctx: LoweringContext, n: LowerNode, v: Any) -> str:
    """A 1-element int64 tensor for a static or dynamic bound (or the name of one)."""
    if isinstance(v, str):
        return v
    if isinstance(v, tuple):
        return ctx.op("Unsqueeze", n.inputs[v[1]], ctx.int64s([0]), name=n.name)
    return ctx.int64s([v])


def _negative_step_bounds(ctx: LoweringContext, n: LowerNode, axis: int, start: Any, stop: Any) -> tuple[Any, Any]:
    """Bounds of a negative-step slice that ONNX ``Slice`` reads as numpy does.

    For a negative step numpy empties the slice when ``start < -dim``, where ONNX
    clamps such a start to 0 (one element); an empty ``0:0`` slice stands in for it.
    """
    if isinstance(start, int) and start >= 0:
        return start, stop
    d = n.in_types[0].shape[axis]
    if isinstance(start, int) and isinstance(d, int):
        return (0, 0) if start < -d else (start, stop)
    s = _bound_name(ctx, n, start)
    dim = ctx.op("Shape", n.inputs[0], start=axis, end=axis + 1, name=n.name)
    zero = ctx.int64s([0])
    before = ctx.op("Less", ctx.op("Add", s, dim, name=n.name), zero, name=n.name)
    return (
        ctx.op("Where", before, zero, s, name=n.name),
        ctx.op("Where", before, zero, _bound_name(ctx, n, stop), name=n.name),
    )


def _vector(ctx: LoweringContext, n: LowerNode, entries: list[Any]) -> str:
    if all(isinstance(e, int) for e in entries):
        return ctx.int64s(entries)
    return ctx.op("Concat", *[_bound_name(ctx, n, e) for e in entries], axis=0, name=n.name)


@lowering("getitem")
def _getitem(ctx: LoweringContext, n: LowerNode) -> list[str]:
    starts: list[Any] = []
    ends: list[Any] = []
    axes: list[int] = []
    steps: list[int] = []
    static_int_axes: list[int] = []
    dynamic_int: list[tuple[int, Any]] = []
    newaxis_positions: list[int] = []
    axis = 0
    out_pos = 0
    for entry in n.attrs["index"]:
        kind = entry[0]
        if kind == "newaxis":
            newaxis_positions.append(out_pos)
            out_pos += 1
            continue
        if kind == "slice":
            _, start, stop, step = entry
            if (start, stop, step) != (None, None, 1):
                start = start if start is not None else (0 if step > 0 else INT64_MAX)
                stop = stop if stop is not None else (INT64_MAX if step > 0 else INT64_MIN)
                if step < 0:
                    start, stop = _negative_step_bounds(ctx, n, axis, start, stop)
                starts.append(start)
                ends.append(stop)
                axes.append(axis)
                steps.append(step)
            out_pos += 1
        elif isinstance(entry[1], tuple):
            dynamic_int.append((axis, entry[1]))
        else:
            i = entry[1]
            starts.append(i)
            ends.append(INT64_MAX if i == -1 else i + 1)
            axes.append(axis)
            steps.append(1)
            static_int_axes.append(axis)
        axis += 1
    x = n.inputs[0]
    if axes:
        x = ctx.op(
            "Slice", x, _vector(ctx, n, starts), _vector(ctx, n, ends), ctx.int64s(axes), ctx.int64s(steps), name=n.name
        )
    if static_int_axes:
        x = ctx.op("Squeeze", x, ctx.int64s(static_int_axes), name=n.name)
    for ax, ref in sorted(dynamic_int, reverse=True):
        shifted = ax - sum(1 for s in static_int_axes if s < ax)
        x = ctx.op("Gather", x, n.inputs[ref[1]], axis=shifted, name=n.name)
    if newaxis_positions:
        x = ctx.op("Unsqueeze", x, ctx.int64s(newaxis_positions), name=n.name)
    if x == n.inputs[0]:
        x = ctx.op("Identity", x, name=n.name)
    index = tuple(n.attrs["index"])
    if index and index[0] == ("slice", None, None, -1) and all(e == ("slice", None, None, 1) for e in index[1:]):
        ctx.reversed_from[x] = n.inputs[0]  # a loop over x[::-1] may read x backwards instead (lowering/scan.py)
    return [x]


@lowering("take")
def _take(ctx: LoweringContext, n: LowerNode) -> list[str]:
    return ctx.node("Gather", n.inputs, name=n.name, axis=n.attrs["axis"])


@lowering("take_along_axis")
def _take_along(ctx: LoweringContext, n: LowerNode) -> list[str]:
    return ctx.node("GatherElements", n.inputs, name=n.name, axis=n.attrs["axis"])


def _zeros(ctx: LoweringContext, n: LowerNode) -> str:
    import numpy as np
    from onnx import numpy_helper

    value = numpy_helper.from_array(np.zeros(1, dtype=n.out_types[0].dtype))
    return ctx.op("ConstantOfShape", n.inputs[2], value=value, name=n.name)


@lowering("take_grad")
def _take_grad(ctx: LoweringContext, n: LowerNode) -> list[str]:
    g, idx, _shape = n.inputs
    axis = n.attrs.get("axis", 0)
    if axis != 0:
        raise NotImplementedError("take_grad lowers along axis 0 only (the gradient rule moves the axis first)")
    idx64 = ctx.op("Cast", idx, to=7, name=n.name)
    indices = ctx.op("Unsqueeze", idx64, ctx.int64s([-1]), name=n.name)
    return ctx.node("ScatterND", [_zeros(ctx, n), indices, g], name=n.name, reduction="add")


@lowering("take_along_axis_grad")
def _take_along_grad(ctx: LoweringContext, n: LowerNode) -> list[str]:
    g, idx, _shape = n.inputs
    return ctx.node("ScatterElements", [_zeros(ctx, n), idx, g], name=n.name, axis=n.attrs["axis"], reduction="add")
