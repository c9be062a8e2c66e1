"""Gradient rule of matmul (numpy semantics: 1-d promotion, batch broadcasting)."""

from __future__ import annotations

from typing import Any

from ... import tensor as T
from ..registry import grad_rule
from .common import unbroadcast


def _swap(x: Any) -> Any:
    perm = list(range(x.ndim))
    perm[-1], perm[-2] = perm[-2], perm[-1]
    return T.transpose(x, perm)


@grad_rule("matmul")
def _matmul(node: Any, gs: list[Any]) -> list[Any]:
    a, b = node.inputs
    g = gs[0]
    if a.ndim == 1 and b.ndim == 1:
        return [g * b, g * a]
    if a.ndim == 1:  # (k,) @ (..., k, n) -> (..., n)
        ga = T.matmul(T.expand_dims(g, g.ndim - 1), _swap(b))  # (..., 1, k)
        gb = T.expand_dims(a, 1) * T.expand_dims(g, g.ndim - 1)  # (k, 1) * (..., 1, n)
        return [unbroadcast(T.squeeze(ga, ga.ndim - 2), a), unbroadcast(gb, b)]
    if b.ndim == 1:  # (..., m, k) @ (k,) -> (..., m)
        ga = T.expand_dims(g, g.ndim) * b  # (..., m, 1) * (k,)
        gb = T.matmul(_swap(a), T.expand_dims(g, g.ndim))  # (..., k, 1)
        return [unbroadcast(ga, a), unbroadcast(T.squeeze(gb, gb.ndim - 1), b)]
    if b.ndim == 2 and a.ndim > 2:
        # (..., m, k) @ (k, n): fold the leading axes into one product for db
        k = a.type.shape[-1]
        a2 = T.reshape(a, (-1, k if isinstance(k, int) else T.shape(a)[-1]))
        g2 = T.reshape(g, (-1, g.type.shape[-1] if isinstance(g.type.shape[-1], int) else T.shape(g)[-1]))
        return [T.matmul(g, b.T), T.matmul(a2.T, g2)]
    return [unbroadcast(T.matmul(g, _swap(b)), a), unbroadcast(T.matmul(_swap(a), g), b)]
