"""Native recurrent ops with ONNX's exact semantics: ``lstm`` and ``gru``.

Only the native-lowering pass creates them, after proving that a ``scan``
computes exactly this cell.  Layout is ONNX's default (time-major), one
direction, no ``sequence_lens``; ``gru`` uses ``linear_before_reset=1``.

lstm inputs: X (T, B, I), W (1, 4H, I), R (1, 4H, H), B (1, 8H), initial_h (1, B, H),
initial_c (1, B, H), and optionally P (1, 3H); gates in ONNX order [i, o, f, c].
gru inputs: X, W (1, 3H, I), R (1, 3H, H), B (1, 6H), initial_h; gates [z, r, h].
Output: Y (T, 1, B, H), in input time order whatever the direction.

With ``zero_initial=True`` the initial states are zero and not inputs: lstm
takes X, W, R, B and optionally P; gru takes X, W, R, B.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np

from ..registry import register_op
from ..types import TensorType, format_shape

ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "Sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)),
    "Tanh": np.tanh,
    "Relu": lambda x: np.maximum(x, 0),
}


V = TypeVar("V")


def split_inputs(inputs: Sequence[V], n_states: int, zero_initial: bool) -> tuple[list[V] | None, list[V]]:
    """An lstm/gru node's initial states (None under ``zero_initial``) and the inputs after them (lstm: ``P``).

    The one place that knows where the states sit; the evaluator, the lowering
    and the gradient rule each supply their own zeros.
    """
    if zero_initial:
        return None, list(inputs[4:])
    return list(inputs[4 : 4 + n_states]), list(inputs[4 + n_states :])


def _rnn_infer(op: str, n_gates: int) -> Callable[..., list[TensorType]]:
    n_states = 2 if op == "lstm" else 1

    def infer(
        types: list[TensorType], hidden_size: int, direction: str, activations: tuple[str, ...], zero_initial: bool = False, **_: Any
    ) -> list[TensorType]:
        x = types[0]
        n = 4 + (0 if zero_initial else n_states)  # X, W, R, B and the initial states
        allowed = (n, n + 1) if op == "lstm" else (n,)  # lstm: optional peepholes P
        if len(types) not in allowed:
            raise ValueError(f"{op}: expected {' or '.join(map(str, allowed))} inputs (zero_initial={zero_initial}), got {len(types)}")
        if x.ndim != 3:
            raise ValueError(f"{op}: X must be (time, batch, input), got {format_shape(x.shape)}")
        if any(t.dtype != x.dtype for t in types):
            raise TypeError(f"{op}: all inputs must share X's dtype {x.dtype}")
        if direction not in ("forward", "reverse"):
            raise ValueError(f"{op}: direction must be 'forward' or 'reverse', got {direction!r}")
        for a in activations:
            if a not in ACTIVATIONS:
                raise ValueError(f"{op}: unsupported activation {a!r}")
        w = types[1]
        if w.ndim != 3 or w.shape[1] != n_gates * hidden_size:
            raise ValueError(f"{op}: W must be (1, {n_gates}*hidden, input), got {format_shape(w.shape)}")
        return [TensorType(x.dtype, (x.shape[0], 1, x.shape[1], hidden_size))]

    return infer


def _steps(n: int, direction: str) -> range:
    return range(n - 1, -1, -1) if direction == "reverse" else range(n)


def _initial(xs: list[np.ndarray], n: int, hidden_size: int, zero_initial: bool) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The initial states (zeros of (1, batch, hidden) when not given) and the inputs after them."""
    states, rest = split_inputs(xs, n, zero_initial)
    return states or [np.zeros((1, xs[0].shape[1], hidden_size), xs[0].dtype)] * n, rest


def _lstm_eval(
    xs: list[np.ndarray], hidden_size: int, direction: str, activations: tuple[str, ...], zero_initial: bool = False, **_: Any
) -> list[np.ndarray]:
    X, W, R, B = xs[:4]
    (h0, c0), rest = _initial(xs, 2, hidden_size, zero_initial)
    P = rest[0][0] if rest else np.zeros(3 * hidden_size, X.dtype)
    f, g, hact = (ACTIVATIONS[a] for a in activations)
    H = hidden_size
    bias = B[0, : 4 * H] + B[0, 4 * H :]
    h, c = h0[0], c0[0]
    Y = np.zeros((X.shape[0], 1) + h.shape, X.dtype)
    for t in _steps(X.shape[0], direction):
        gates = X[t] @ W[0].T + h @ R[0].T + bias
        i, o, fg, ct = (gates[:, k * H : (k + 1) * H] for k in range(4))
        i = f(i + P[:H] * c)
        fg = f(fg + P[2 * H :] * c)
        c = fg * c + i * g(ct)
        o = f(o + P[H : 2 * H] * c)
        h = o * hact(c)
        Y[t, 0] = h
    return [Y.astype(X.dtype)]


def _gru_eval(
    xs: list[np.ndarray], hidden_size: int, direction: str, activations: tuple[str, ...], zero_initial: bool = False, **_: Any
) -> list[np.ndarray]:
    X, W, R, B = xs[:4]
    (h0,), _ = _initial(xs, 1, hidden_size, zero_initial)
    f, g = (ACTIVATIONS[a] for a in activations)
    H = hidden_size
    wb, rb = B[0, : 3 * H], B[0, 3 * H :]
    h = h0[0]
    Y = np.zeros((X.shape[0], 1) + h.shape, X.dtype)
    for t in _steps(X.shape[0], direction):
        xw = X[t] @ W[0].T + wb
        hr = h @ R[0].T + rb
        z = f(xw[:, :H] + hr[:, :H])
        r = f(xw[:, H : 2 * H] + hr[:, H : 2 * H])
        hh = g(xw[:, 2 * H :] + r * hr[:, 2 * H :])  # linear_before_reset=1
        h = (1 - z) * hh + z * h
        Y[t, 0] = h
    return [Y.astype(X.dtype)]


register_op("lstm", infer=_rnn_infer("lstm", 4), eval=_lstm_eval, doc="ONNX LSTM (one direction, layout 0)")
register_op("gru", infer=_rnn_infer("gru", 3), eval=_gru_eval, doc="ONNX GRU (linear_before_reset=1)")
