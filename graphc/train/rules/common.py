"""Helpers shared by gradient rules."""

from __future__ import annotations

from typing import Any

from ... import tensor as T
from ...ir.types import Dim
from ...tensor.variable import Variable


def unbroadcast(g: Variable, x: Variable) -> Variable:
    """Sum ``g`` over the axes along which ``x`` was broadcast to ``g``'s shape."""
    extra = g.ndim - x.ndim
    if extra > 0:
        g = T.sum(g, axis=tuple(range(extra)))
    axes = tuple(
        i for i, (dx, dg) in enumerate(zip(x.type.shape, g.type.shape)) if dx == 1 and dg != 1
    )
    if axes:
        g = T.sum(g, axis=axes, keepdims=True)
    return g


def dim(x: Variable, axis: int) -> Any:
    """A static int or the symbolic size of ``axis``."""
    d = x.type.shape[axis]
    return T.shape(x)[axis] if isinstance(d, Dim) else d


def zeros_shaped_like(g: Variable, axis: int, size: Any) -> Variable:
    """Zeros with ``g``'s shape except ``size`` on ``axis``."""
    return T.zeros([size if i == axis else dim(g, i) for i in range(g.ndim)], dtype=g.dtype)
