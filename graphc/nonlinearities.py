"""Nonlinearities (Lasagne's ``lasagne.nonlinearities``): callables from an expression to an expression."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import tensor as T
from .tensor.variable import Variable

__all__ = [
    "sigmoid",
    "softmax",
    "tanh",
    "ScaledTanH",
    "ScaledTanh",
    "rectify",
    "LeakyRectify",
    "leaky_rectify",
    "very_leaky_rectify",
    "elu",
    "SELU",
    "selu",
    "softplus",
    "linear",
    "identity",
]


def sigmoid(x: Any) -> Variable:
    """``1 / (1 + exp(-x))``."""
    return T.nnet.sigmoid(x)


def softmax(x: Any) -> Variable:
    """Softmax over the last axis (each row of a matrix sums to 1)."""
    return T.nnet.softmax(x)


def tanh(x: Any) -> Variable:
    """Hyperbolic tangent."""
    return T.tanh(x)


class ScaledTanH:
    """``scale_out * tanh(scale_in * x)``; LeCun's choice is ``scale_in=2/3, scale_out=1.7159``."""

    def __init__(self, scale_in: float = 1, scale_out: float = 1) -> None:
        self.scale_in = scale_in
        self.scale_out = scale_out

    def __call__(self, x: Any) -> Variable:
        return T.tanh(x * self.scale_in) * self.scale_out


ScaledTanh = ScaledTanH


def rectify(x: Any) -> Variable:
    """``max(x, 0)``."""
    return T.relu(x)


class LeakyRectify:
    """``x`` for ``x > 0``, else ``leakiness * x``."""

    def __init__(self, leakiness: float = 0.01) -> None:
        if not isinstance(leakiness, Variable) and not np.isfinite(leakiness):
            raise ValueError(f"LeakyRectify: leakiness must be a finite number, got {leakiness!r}")
        self.leakiness = leakiness

    def __call__(self, x: Any) -> Variable:
        return T.relu(x, self.leakiness)


leaky_rectify = LeakyRectify()
very_leaky_rectify = LeakyRectify(1.0 / 3)


def elu(x: Any) -> Variable:
    """``x`` for ``x > 0``, else ``exp(x) - 1`` (Clevert et al., 2015)."""
    v = T.as_tensor_variable(x)
    return T.switch(T.gt(v, 0), v, T.expm1(v))


class SELU:
    """``scale * x`` for ``x > 0``, else ``scale * scale_neg * (exp(x) - 1)``."""

    def __init__(self, scale: float = 1, scale_neg: float = 1) -> None:
        self.scale = scale
        self.scale_neg = scale_neg

    def __call__(self, x: Any) -> Variable:
        v = T.as_tensor_variable(x)
        return T.switch(T.gt(v, 0), v, T.expm1(v) * self.scale_neg) * self.scale


selu = SELU(scale=1.0507009873554804934193349852946, scale_neg=1.6732632423543772848170429916717)


def softplus(x: Any) -> Variable:
    """``log(1 + exp(x))``."""
    return T.softplus(x)


def linear(x: Any) -> Any:
    """The identity."""
    return x


identity = linear
