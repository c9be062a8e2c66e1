"""Lowerings of the native recurrent ops to ONNX ``LSTM`` and ``GRU``."""

from __future__ import annotations

from ...ir.ops.rnn import split_inputs
from ..context import LoweringContext, LowerNode, lowering


def _initial(n: LowerNode, count: int) -> tuple[list[str], list[str]]:
    """ONNX's initial-state inputs (left empty, so zero, under ``zero_initial``) and the inputs after them."""
    states, rest = split_inputs(n.inputs, count, n.attrs.get("zero_initial", False))
    return states or [""] * count, rest


@lowering("lstm")
def _lstm(ctx: LoweringContext, n: LowerNode) -> list[str]:
    a = n.attrs
    states, rest = _initial(n, 2)
    ins = n.inputs[:4] + [""] + states + rest  # no sequence_lens
    return ctx.node(
        "LSTM", ins, name=n.name, hidden_size=a["hidden_size"], direction=a["direction"],
        activations=list(a["activations"]),
    )


@lowering("gru")
def _gru(ctx: LoweringContext, n: LowerNode) -> list[str]:
    a = n.attrs
    states, _ = _initial(n, 1)
    return ctx.node(
        "GRU", n.inputs[:4] + [""] + states, name=n.name, hidden_size=a["hidden_size"], direction=a["direction"],
        activations=list(a["activations"]), linear_before_reset=1,
    )
