"""Lowerings of the native recurrent ops to ONNX ``LSTM`` and ``GRU``."""

from __future__ import annotations

from ..context import LoweringContext, LowerNode, lowering


@lowering("lstm")
def _lstm(ctx: LoweringContext, n: LowerNode) -> list[str]:
    a = n.attrs
    x, w, r, b, h0, c0 = n.inputs[:6]
    ins = [x, w, r, b, "", h0, c0] + ([n.inputs[6]] if len(n.inputs) > 6 else [])
    return ctx.node(
        "LSTM", ins, name=n.name, hidden_size=a["hidden_size"], direction=a["direction"],
        activations=list(a["activations"]),
    )


@lowering("gru")
def _gru(ctx: LoweringContext, n: LowerNode) -> list[str]:
    a = n.attrs
    x, w, r, b, h0 = n.inputs
    return ctx.node(
        "GRU", [x, w, r, b, "", h0], name=n.name, hidden_size=a["hidden_size"], direction=a["direction"],
        activations=list(a["activations"]), linear_before_reset=1,
    )
