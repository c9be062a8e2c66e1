"""Gradient rules of the native recurrent ops ``lstm`` and ``gru``: backpropagation through an equal scan.

The native-lowering pass creates these ops after proving a scan computes exactly
the cell, so graphs differentiated before optimization never contain them.  A
graph differentiated after it (an exported inference model read back, say)
still gets exact gradients: the rule rebuilds the cell as a ``scan`` with
ONNX's equations (gate order ``[i, o, f, c]`` / ``[z, r, h]``, peepholes,
``linear_before_reset=1``) from the op's own inputs and backpropagates through
it with the scan rule.
"""

from __future__ import annotations

from typing import Any

from ... import tensor as T
from ...ir.ops.rnn import split_inputs
from ...tensor.nnet import relu, sigmoid
from ..registry import grad_rule

_ACTIVATIONS = {"Sigmoid": sigmoid, "Tanh": T.tanh, "Relu": relu}


def _stacked(hs: Any, direction: str) -> Any:
    """The scan's states (in the order the steps ran) as ONNX's Y: input time order, a direction axis."""
    return T.expand_dims(hs[::-1] if direction == "reverse" else hs, 1)


def _initial(inputs: list[Any], n: int, hidden_size: int, zero_initial: bool) -> tuple[list[Any], list[Any]]:
    """The initial states, (batch, hidden) (zeros under ``zero_initial``), and the inputs after them."""
    states, rest = split_inputs(inputs, n, zero_initial)
    if states is None:
        return [T.zeros((inputs[0].shape[1], hidden_size), dtype=inputs[0].dtype)] * n, rest
    return [s[0] for s in states], rest


def _lstm_forward(inputs: list[Any], hidden_size: int, direction: str, activations: tuple[str, ...], zero_initial: bool) -> Any:
    x, w, r, b = inputs[:4]
    (h0, c0), rest = _initial(inputs, 2, hidden_size, zero_initial)
    p = rest[0][0] if rest else None
    f, g, act_h = (_ACTIVATIONS[a] for a in activations)
    n = hidden_size
    w_t, r_t = T.transpose(w[0]), T.transpose(r[0])
    bias = b[0, : 4 * n] + b[0, 4 * n :]

    def step(x_t: Any, h: Any, c: Any) -> list[Any]:
        gates = T.dot(x_t, w_t) + T.dot(h, r_t) + bias
        i, o, fg, ct = (gates[:, k * n : (k + 1) * n] for k in range(4))
        if p is not None:
            i, fg = i + p[:n] * c, fg + p[2 * n :] * c
        c_new = f(fg) * c + f(i) * g(ct)
        if p is not None:
            o = o + p[n : 2 * n] * c_new
        return [f(o) * act_h(c_new), c_new]

    (hs, _), _ = T.scan(step, sequences=x, outputs_info=[h0, c0], go_backwards=direction == "reverse")
    return _stacked(hs, direction)


def _gru_forward(inputs: list[Any], hidden_size: int, direction: str, activations: tuple[str, ...], zero_initial: bool) -> Any:
    x, w, r, b = inputs[:4]
    (h0,), _ = _initial(inputs, 1, hidden_size, zero_initial)
    f, g = (_ACTIVATIONS[a] for a in activations)
    n = hidden_size
    w_t, r_t = T.transpose(w[0]), T.transpose(r[0])
    wb, rb = b[0, : 3 * n], b[0, 3 * n :]

    def step(x_t: Any, h: Any) -> Any:
        xw = T.dot(x_t, w_t) + wb
        hr = T.dot(h, r_t) + rb
        z = f(xw[:, :n] + hr[:, :n])
        reset = f(xw[:, n : 2 * n] + hr[:, n : 2 * n])
        candidate = g(xw[:, 2 * n :] + reset * hr[:, 2 * n :])  # linear_before_reset=1
        return (1 - z) * candidate + z * h

    hs, _ = T.scan(step, sequences=x, outputs_info=[h0], go_backwards=direction == "reverse")
    return _stacked(hs, direction)


def _through(forward: Any) -> Any:
    def rule(node: Any, gs: list[Any]) -> list[Any]:
        from ..grad import grad

        a = node.attrs
        y = forward(list(node.inputs), a["hidden_size"], a["direction"], tuple(a["activations"]), a.get("zero_initial", False))
        return list(grad(None, list(node.inputs), known_grads={y: gs[0]}, disconnected_inputs="ignore"))

    return rule


grad_rule("lstm")(_through(_lstm_forward))
grad_rule("gru")(_through(_gru_forward))
