"""Lowerings of the shape ops and the shape-driven creation ops."""

from __future__ import annotations

import numpy as np
from onnx import numpy_helper

from ..context import LoweringContext, LowerNode, lowering


@lowering("shape")
def _shape(ctx: LoweringContext, n: LowerNode) -> list[str]:
    return ctx.node("Shape", n.inputs, name=n.name)


@lowering("reshape")
def _reshape(ctx: LoweringContext, n: LowerNode) -> list[str]:
    # allowzero=1: a 0 in the target means size 0 (numpy), not "copy the input's size".
    return ctx.node("Reshape", n.inputs, name=n.name, allowzero=1)


@lowering("transpose")
def _transpose(ctx: LoweringContext, n: LowerNode) -> list[str]:
    return ctx.node("Transpose", n.inputs, name=n.name, perm=list(n.attrs["perm"]))


@lowering("expand_dims")
def _expand_dims(ctx: LoweringContext, n: LowerNode) -> list[str]:
    return ctx.node("Unsqueeze", [n.inputs[0], ctx.int64s(n.attrs["axes"])], name=n.name)


@lowering("squeeze")
def _squeeze(ctx: LoweringContext, n: LowerNode) -> list[str]:
    return ctx.node("Squeeze", [n.inputs[0], ctx.int64s(n.attrs["axes"])], name=n.name)


@lowering("concat")
def _concat(ctx: LoweringContext, n: LowerNode) -> list[str]:
    return ctx.node("Concat", n.inputs, name=n.name, axis=n.attrs["axis"])


@lowering("full")
def _full(ctx: LoweringContext, n: LowerNode) -> list[str]:
    value = numpy_helper.from_array(np.full(1, n.attrs["value"], dtype=n.attrs["dtype"]))
    return ctx.node("ConstantOfShape", n.inputs, name=n.name, value=value)


@lowering("expand")
def _expand(ctx: LoweringContext, n: LowerNode) -> list[str]:
    return ctx.node("Expand", n.inputs, name=n.name)


@lowering("arange")
def _arange(ctx: LoweringContext, n: LowerNode) -> list[str]:
    return ctx.node("Range", n.inputs, name=n.name, dtype=n.in_types[0].dtype)


@lowering("pad")
def _pad(ctx: LoweringContext, n: LowerNode) -> list[str]:
    pads = n.attrs["pads"]
    flat = [lo for lo, _ in pads] + [hi for _, hi in pads]
    value = ctx.const(np.array(n.attrs.get("value", 0.0), dtype=n.in_types[0].dtype))
    return ctx.node("Pad", [n.inputs[0], ctx.int64s(flat), value], name=n.name, mode="constant")
