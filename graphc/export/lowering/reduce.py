"""Lowerings of reductions (axes as attribute or input by opset)."""

from __future__ import annotations

from ..context import LoweringContext, LowerNode, lowering

REDUCE = {
    "reduce_sum": "ReduceSum",
    "reduce_mean": "ReduceMean",
    "reduce_max": "ReduceMax",
    "reduce_min": "ReduceMin",
    "reduce_prod": "ReduceProd",
}


@lowering(*REDUCE)
def _reduce(ctx: LoweringContext, n: LowerNode) -> list[str]:
    op_type = REDUCE[n.op]
    axes = n.attrs.get("axes")
    keepdims = int(bool(n.attrs.get("keepdims", False)))
    dt = n.in_types[0].dtype
    # ReduceSum takes axes as an input from opset 13, the others from opset 18.
    axes_as_input = op_type == "ReduceSum" or ctx.opset >= 18
    if axes is None:
        return ctx.node(op_type, n.inputs, name=n.name, dtype=dt, keepdims=keepdims)
    if axes_as_input:
        return ctx.node(op_type, [n.inputs[0], ctx.int64s(axes)], name=n.name, dtype=dt, keepdims=keepdims)
    return ctx.node(op_type, n.inputs, name=n.name, dtype=dt, keepdims=keepdims, axes=list(axes))


@lowering("argmax", "argmin")
def _arg(ctx: LoweringContext, n: LowerNode) -> list[str]:
    op_type = "ArgMax" if n.op == "argmax" else "ArgMin"
    keepdims = int(bool(n.attrs["keepdims"]))
    return ctx.node(op_type, n.inputs, name=n.name, dtype=n.in_types[0].dtype, axis=n.attrs["axis"], keepdims=keepdims)
