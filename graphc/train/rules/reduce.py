"""Gradient rules of the reductions."""

from __future__ import annotations

from typing import Any

from ... import tensor as T
from ..registry import grad_rule, non_differentiable
from .common import dim

non_differentiable("argmax", "argmin")


def _axes(node: Any) -> tuple[int, ...]:
    axes = node.attrs.get("axes")
    return tuple(range(node.inputs[0].ndim)) if axes is None else tuple(axes)


def _expand(node: Any, v: Any) -> Any:
    """A reduced value with the reduced axes put back (size 1)."""
    if node.attrs.get("keepdims"):
        return v
    axes = _axes(node)
    return T.expand_dims(v, axes) if axes else v


@grad_rule("reduce_sum")
def _sum(node: Any, gs: list[Any]) -> list[Any]:
    (x,) = node.inputs
    return [_expand(node, gs[0]) + T.zeros_like(x)]


@grad_rule("reduce_mean")
def _mean(node: Any, gs: list[Any]) -> list[Any]:
    (x,) = node.inputs
    count: Any = 1
    for a in _axes(node):
        count = count * dim(x, a)
    scale = 1.0 / count if isinstance(count, int) else T.true_div(1.0, T.cast(count, x.dtype))
    return [(_expand(node, gs[0]) + T.zeros_like(x)) * scale]


def _extremum(node: Any, gs: list[Any]) -> list[Any]:
    (x,) = node.inputs
    y = _expand(node, node.outputs[0])
    return [_expand(node, gs[0]) * T.cast(T.eq(x, y), x.dtype)]


grad_rule("reduce_max", "reduce_min")(_extremum)


@grad_rule("reduce_prod")
def _prod(node: Any, gs: list[Any]) -> list[Any]:
    (x,) = node.inputs
    # d prod / d x_i = prod / x_i (inputs with zeros give nan, as Theano's default)
    return [_expand(node, gs[0]) * _expand(node, node.outputs[0]) / x]
