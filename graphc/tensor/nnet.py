"""``T.nnet``: activations and losses as Theano's ``theano.tensor.nnet``."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..config import config
from .basic import as_tensor_variable
from .elemwise import cast, clip, log, mul, relu, sigmoid, softplus, sub, tanh
from .reduction import sum as _sum
from .variable import Variable, apply_op

__all__ = [
    "sigmoid",
    "ultra_fast_sigmoid",
    "hard_sigmoid",
    "softplus",
    "relu",
    "tanh",
    "softmax",
    "log_softmax",
    "logsoftmax",
    "binary_crossentropy",
    "categorical_crossentropy",
    "elu",
    "selu",
]


def _float(x: Any) -> Variable:
    v = as_tensor_variable(x)
    return v if np.dtype(v.dtype).kind == "f" else cast(v, config.floatX)


def softmax(x: Any, axis: int = -1) -> Variable:
    """Softmax along ``axis`` (the last axis by default, as Theano's rows); a vector gives a ``(1, n)`` row."""
    v = _float(x)
    if v.ndim == 0:
        raise ValueError(f"softmax: expected at least 1 dim, got {v!r}")
    if v.ndim == 1 and axis == -1:
        v = v.dimshuffle("x", 0)  # as Theano: a vector is one row, and its softmax a (1, n) matrix
    return apply_op("softmax", [v], axis=axis % v.ndim)  # type: ignore[return-value]


def log_softmax(x: Any, axis: int = -1) -> Variable:
    """``log(softmax(x))`` along ``axis``, computed stably."""
    v = _float(x)
    if v.ndim == 0:
        raise ValueError(f"log_softmax: expected at least 1 dim, got {v!r}")
    return apply_op("log_softmax", [v], axis=axis % v.ndim)  # type: ignore[return-value]


logsoftmax = log_softmax
ultra_fast_sigmoid = sigmoid  # Theano's approximation; the exact sigmoid is as fast in ONNX Runtime


def hard_sigmoid(x: Any) -> Variable:
    """Theano's piecewise-linear sigmoid ``clip(0.2 * x + 0.5, 0, 1)``."""
    v = _float(x)
    return clip(v * 0.2 + 0.5, 0.0, 1.0)


def elu(x: Any, alpha: float = 1.0) -> Variable:
    """Exponential linear unit: ``x`` if ``x > 0`` else ``alpha * (exp(x) - 1)``."""
    from .elemwise import exp, gt, switch

    v = _float(x)
    return switch(gt(v, 0), v, mul(sub(exp(v), 1.0), alpha))


def selu(x: Any) -> Variable:
    """Scaled exponential linear unit (Klambauer et al., 2017)."""
    return mul(elu(x, alpha=1.6732632423543772), 1.0507009873554805)


def binary_crossentropy(output: Any, target: Any) -> Variable:
    """Elementwise ``-(t * log(o) + (1 - t) * log(1 - o))``."""
    o, t = _float(output), _float(target)
    return -(t * log(o) + (1.0 - t) * log(1.0 - o))


def categorical_crossentropy(coding_dist: Any, true_dist: Any) -> Variable:
    """Cross-entropy between predicted distributions and targets.

    Parameters
    ----------
    coding_dist : tensor
        Predicted probabilities, the classes on the last axis.
    true_dist : tensor
        Either target distributions of the same shape, or integer class
        indices with one dim fewer.

    Returns
    -------
    Variable
        ``-sum(t * log(o), axis=-1)``, or ``-log(o[..., t])`` for indices.
    """
    o = _float(coding_dist)
    t = as_tensor_variable(true_dist)
    if t.ndim == o.ndim:
        return -_sum(cast(t, o.dtype) * log(o), axis=-1)
    if t.ndim == o.ndim - 1:
        if np.dtype(t.dtype).kind not in "iu":
            raise TypeError(
                f"categorical_crossentropy: targets with one dim fewer than the predictions must be "
                f"integer class indices, got {t!r}"
            )
        from .shape import expand_dims, squeeze

        picked = apply_op("take_along_axis", [o, expand_dims(cast(t, "int64"), o.ndim - 1)], axis=o.ndim - 1)
        return -log(squeeze(picked, o.ndim - 1))
    raise ValueError(
        f"categorical_crossentropy: predictions {o!r} need targets of the same rank or one fewer, got {t!r}"
    )


relu = relu
softplus = softplus
tanh = tanh


# convolutions live in their own module; Theano reaches them as T.nnet.conv2d etc.
from .conv import conv1d, conv2d, conv2d_transpose, conv3d, conv3d_transpose  # noqa: E402

__all__ += ["conv1d", "conv2d", "conv3d", "conv2d_transpose", "conv3d_transpose"]
