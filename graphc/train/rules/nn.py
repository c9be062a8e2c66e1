"""Gradient rules of softmax and log-softmax."""

from __future__ import annotations

from typing import Any

from ... import tensor as T
from ..registry import grad_rule


@grad_rule("softmax")
def _softmax(node: Any, gs: list[Any]) -> list[Any]:
    y, g = node.outputs[0], gs[0]
    axis = node.attrs["axis"]
    return [y * (g - T.sum(g * y, axis=axis, keepdims=True))]


@grad_rule("log_softmax")
def _log_softmax(node: Any, gs: list[Any]) -> list[Any]:
    y, g = node.outputs[0], gs[0]
    axis = node.attrs["axis"]
    return [g - T.exp(y) * T.sum(g, axis=axis, keepdims=True)]
