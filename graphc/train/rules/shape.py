"""Gradient rules of the shape ops."""

from __future__ import annotations

from typing import Any

from ... import tensor as T
from ..registry import grad_rule, non_differentiable
from .common import dim, unbroadcast

non_differentiable("shape", "full", "arange", "random_uniform", "random_normal")


@grad_rule("reshape")
def _reshape(node: Any, gs: list[Any]) -> list[Any]:
    x = node.inputs[0]
    target = list(x.type.shape) if x.type.is_static else T.shape(x)
    return [T.reshape(gs[0], target), None]


@grad_rule("transpose")
def _transpose(node: Any, gs: list[Any]) -> list[Any]:
    perm = node.attrs["perm"]
    inverse = [0] * len(perm)
    for i, p in enumerate(perm):
        inverse[p] = i
    return [T.transpose(gs[0], inverse)]


@grad_rule("expand_dims")
def _expand_dims(node: Any, gs: list[Any]) -> list[Any]:
    g = gs[0]
    axes = node.attrs["axes"]
    if all(g.type.shape[a] == 1 for a in axes):
        return [T.squeeze(g, axes)]
    # the cotangent's new axes are 1 at run time but not known statically (a slice
    # g[i:i + 1] with a symbolic i, from a second derivative through x[i]): reshape
    x = node.inputs[0]
    return [T.reshape(g, [dim(x, k) for k in range(x.ndim)])]


@grad_rule("squeeze")
def _squeeze(node: Any, gs: list[Any]) -> list[Any]:
    return [T.expand_dims(gs[0], node.attrs["axes"])]


@grad_rule("expand")
def _expand(node: Any, gs: list[Any]) -> list[Any]:
    return [unbroadcast(gs[0], node.inputs[0]), None]


@grad_rule("concat")
def _concat(node: Any, gs: list[Any]) -> list[Any]:
    axis = node.attrs["axis"]
    g = gs[0]
    out: list[Any] = []
    start: Any = 0
    for x in node.inputs:
        size = dim(x, axis)
        stop = start + size
        index = (slice(None),) * axis + (slice(start, stop),)
        piece = g[index]
        if isinstance(size, int) and piece.type.shape[axis] != size:
            # a symbolic start hides the static size of the slice: restore it
            piece = T.reshape(piece, [size if k == axis else dim(piece, k) for k in range(piece.ndim)])
        out.append(piece)
        start = stop
    return out


@grad_rule("pad")
def _pad(node: Any, gs: list[Any]) -> list[Any]:
    (x,) = node.inputs
    index = []
    for axis, (lo, _hi) in enumerate(node.attrs["pads"]):
        index.append(slice(lo, lo + dim(x, axis)))
    return [gs[0][tuple(index)]]
