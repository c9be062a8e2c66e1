"""Lowerings of matmul and the softmax family."""

from __future__ import annotations

from ..context import LoweringContext, LowerNode, lowering


@lowering("matmul")
def _matmul(ctx: LoweringContext, n: LowerNode) -> list[str]:
    return ctx.node("MatMul", n.inputs, name=n.name)


@lowering("softmax", "log_softmax")
def _softmax(ctx: LoweringContext, n: LowerNode) -> list[str]:
    op_type = "Softmax" if n.op == "softmax" else "LogSoftmax"
    return ctx.node(op_type, n.inputs, name=n.name, axis=n.attrs["axis"])
