"""Gradient rules, one per op name, registered beside the op (JAX's ``primitive_jvps`` idea).

A rule is called as ``rule(node, output_grads)`` where ``node`` is the
expression-level :class:`~graphc.tensor.variable.Apply` and ``output_grads`` has
one entry per output (None where no gradient flows).  It returns one entry per
input: an expression of the input's shape, or None (no gradient: integer
inputs, indices, disconnected).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["GRAD_RULES", "NON_DIFFERENTIABLE", "grad_rule", "non_differentiable"]

GradRule = Callable[[Any, list[Any]], list[Any]]
GRAD_RULES: dict[str, GradRule] = {}
#: ops whose outputs carry no gradient (comparisons, shapes, argmax, random draws...)
NON_DIFFERENTIABLE: set[str] = set()


def grad_rule(*names: str) -> Callable[[GradRule], GradRule]:
    """Register a gradient rule for the ops ``names``."""

    def deco(fn: GradRule) -> GradRule:
        for n in names:
            if n in GRAD_RULES or n in NON_DIFFERENTIABLE:
                raise ValueError(f"a gradient rule for op {n!r} is already registered")
            GRAD_RULES[n] = fn
        return fn

    return deco


def non_differentiable(*names: str) -> None:
    """Mark ops whose outputs have no gradient (their inputs receive none through them)."""
    for n in names:
        if n in GRAD_RULES:
            raise ValueError(f"op {n!r} already has a gradient rule")
        NON_DIFFERENTIABLE.add(n)
