"""Neural-network ops with dedicated ONNX lowerings: softmax and log-softmax."""

from __future__ import annotations

import numpy as np

from ..registry import register_op
from ..types import TensorType, format_shape
from .elemwise import FLOATS


def _softmax_infer(op: str):  # type: ignore[no-untyped-def]
    def infer(types: list[TensorType], axis: int) -> list[TensorType]:
        (t,) = types
        if t.dtype not in FLOATS:
            raise TypeError(f"{op}: input has dtype {t.dtype}, expected a float type")
        if not 0 <= axis < t.ndim:
            raise ValueError(f"{op}: axis {axis} is out of range for shape {format_shape(t.shape)}")
        return [t]

    return infer


def _softmax(x: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    z = x - x.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


register_op(
    "softmax",
    infer=_softmax_infer("softmax"),
    eval=lambda xs, axis: [_softmax(xs[0], axis).astype(xs[0].dtype)],
    arity=1,
    doc="exp(x) / sum(exp(x)) along `axis`",
)
register_op(
    "log_softmax",
    infer=_softmax_infer("log_softmax"),
    eval=lambda xs, axis: [_log_softmax(xs[0], axis).astype(xs[0].dtype)],
    arity=1,
    doc="log(softmax(x)) along `axis`, computed stably",
)
