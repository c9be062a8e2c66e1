"""Gradient rules of the elementwise ops."""

from __future__ import annotations

import math
from typing import Any

from ... import tensor as T
from ..registry import grad_rule, non_differentiable
from .common import unbroadcast

non_differentiable(
    "eq", "neq", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_xor", "logical_not",
)


def _unary(fn: Any) -> Any:
    def rule(node: Any, gs: list[Any]) -> list[Any]:
        (g,) = gs
        (x,) = node.inputs
        return [fn(x, node.outputs[0], g)]

    return rule


UNARY = {
    "neg": lambda x, y, g: -g,
    "abs": lambda x, y, g: g * T.sign(x),
    "exp": lambda x, y, g: g * y,
    "log": lambda x, y, g: g / x,
    "log1p": lambda x, y, g: g / (x + 1.0),
    "sqrt": lambda x, y, g: g * 0.5 / y,
    "tanh": lambda x, y, g: g * (1.0 - y * y),
    "sigmoid": lambda x, y, g: g * y * (1.0 - y),
    "softplus": lambda x, y, g: g * T.nnet.sigmoid(x),
    "relu": lambda x, y, g: g * T.cast(T.gt(x, 0), g.dtype),
    "sin": lambda x, y, g: g * T.cos(x),
    "cos": lambda x, y, g: -g * T.sin(x),
    "erf": lambda x, y, g: g * (2.0 / math.sqrt(math.pi)) * T.exp(-(x * x)),
    "reciprocal": lambda x, y, g: -g * y * y,
    # piecewise constant: zero gradient, as Theano
    "sign": lambda x, y, g: T.zeros_like(x),
    "floor": lambda x, y, g: T.zeros_like(x),
    "ceil": lambda x, y, g: T.zeros_like(x),
    "round": lambda x, y, g: T.zeros_like(x),
}
for _name, _fn in UNARY.items():
    grad_rule(_name)(_unary(_fn))


@grad_rule("grad_clip")
def _grad_clip(node: Any, gs: list[Any]) -> list[Any]:
    return [T.clip(gs[0], node.attrs["lo"], node.attrs["hi"])]


@grad_rule("cast")
def _cast(node: Any, gs: list[Any]) -> list[Any]:
    return [gs[0]]  # the driver casts it back to the input's dtype


@grad_rule("add")
def _add(node: Any, gs: list[Any]) -> list[Any]:
    a, b = node.inputs
    return [unbroadcast(gs[0], a), unbroadcast(gs[0], b)]


@grad_rule("sub")
def _sub(node: Any, gs: list[Any]) -> list[Any]:
    a, b = node.inputs
    return [unbroadcast(gs[0], a), unbroadcast(-gs[0], b)]


@grad_rule("mul")
def _mul(node: Any, gs: list[Any]) -> list[Any]:
    a, b = node.inputs
    g = gs[0]
    return [unbroadcast(g * b, a), unbroadcast(g * a, b)]


@grad_rule("div")
def _div(node: Any, gs: list[Any]) -> list[Any]:
    a, b = node.inputs
    g = gs[0]
    return [unbroadcast(g / b, a), unbroadcast(-g * node.outputs[0] / b, b)]


@grad_rule("pow")
def _pow(node: Any, gs: list[Any]) -> list[Any]:
    a, b = node.inputs
    g, y = gs[0], node.outputs[0]
    return [unbroadcast(g * b * a ** (b - 1.0), a), unbroadcast(g * y * T.log(a), b)]


def _extremum(node: Any, gs: list[Any]) -> list[Any]:
    # every operand equal to the result gets the gradient (Theano's rule at ties)
    a, b = node.inputs
    g, y = gs[0], node.outputs[0]
    return [unbroadcast(g * T.cast(T.eq(a, y), g.dtype), a), unbroadcast(g * T.cast(T.eq(b, y), g.dtype), b)]


grad_rule("maximum", "minimum")(_extremum)


@grad_rule("where")
def _where(node: Any, gs: list[Any]) -> list[Any]:
    c, a, b = node.inputs
    g = gs[0]
    zero = T.zeros_like(g)
    return [None, unbroadcast(T.switch(c, g, zero), a), unbroadcast(T.switch(c, zero, g), b)]


@grad_rule("mod")
def _mod(node: Any, gs: list[Any]) -> list[Any]:
    a, b = node.inputs
    g = gs[0]
    return [unbroadcast(g, a), unbroadcast(-g * T.floor(a / b), b)]


@grad_rule("floor_div")
def _floor_div(node: Any, gs: list[Any]) -> list[Any]:
    a, b = node.inputs
    return [T.zeros_like(a), T.zeros_like(b)]
