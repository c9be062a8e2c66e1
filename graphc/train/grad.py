"""Reverse-mode automatic differentiation over expressions (``graphc.grad``, Theano's ``theano.grad``).

Gradients are expressions built from registered ops, so they compile, export
and optimize like everything else.  Contributions to a variable used several
times are summed.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..config import config
from ..ir.types import format_shape
from ..tensor.basic import as_tensor_variable
from ..tensor.variable import Variable
from . import rules  # noqa: F401  (registers the gradient rules)
from .registry import GRAD_RULES, NON_DIFFERENTIABLE

__all__ = ["grad", "DisconnectedInputError"]


class DisconnectedInputError(ValueError):
    """The cost does not depend on a variable a gradient was asked for."""


def _topo(roots: Sequence[Variable]) -> list[Any]:
    """Apply nodes reachable from ``roots``, producers first (iterative DFS)."""
    order: list[Any] = []
    seen: set[int] = set()
    stack: list[tuple[Any, bool]] = [(r.owner, False) for r in roots if r.owner is not None]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        for i in node.inputs:
            if i.owner is not None and id(i.owner) not in seen:
                stack.append((i.owner, False))
    return order


def _symbolic(value: Any, what: str) -> Variable:
    """``value`` when it is a symbolic variable; else a TypeError naming the argument ``what``."""
    if not isinstance(value, Variable):
        text = repr(value)
        shown = f"{text} ({type(value).__name__})" if len(text) <= 60 else f"a {type(value).__name__} of shape {np.shape(value)}"
        raise TypeError(
            f"grad: {what} is {shown}; expected a symbolic variable "
            "(a shared variable, an input placeholder or an expression)"
        )
    return value


def _check_known_grad(var: Variable, g: Variable) -> None:
    """A known gradient must have its expression's rank and static sizes."""
    clash = g.ndim != var.ndim or any(
        isinstance(a, int) and isinstance(b, int) and a != b for a, b in zip(var.type.shape, g.type.shape)
    )
    if clash:
        raise ValueError(
            f"grad: known_grads gives {g!r} as the gradient of {var!r}; expected a gradient of the expression's "
            f"shape {format_shape(var.type.shape)}"
        )


def _is_float(v: Variable) -> bool:
    return np.dtype(v.dtype).kind == "f"


def grad(
    cost: Any,
    wrt: Any,
    consider_constant: Sequence[Any] | None = None,
    disconnected_inputs: str = "raise",
    known_grads: Mapping[Any, Any] | None = None,
    return_disconnected: str = "zero",
    **kwargs: Any,
) -> Any:
    """Symbolic gradient of a scalar ``cost`` with respect to ``wrt``.

    Parameters
    ----------
    cost : scalar Variable or None
        None is allowed with ``known_grads``.
    wrt : Variable or list of Variable
        Usually shared variables (parameters) or inputs.
    consider_constant : list of Variable, optional
        Gradients do not flow through these (they are treated as constants).
    disconnected_inputs : {'raise', 'warn', 'ignore'}
        What to do when the cost does not depend on an entry of ``wrt``.
    known_grads : dict, optional
        ``{variable: gradient}`` to start from (added to the cost's).
    return_disconnected : {'zero', 'None'}
        What to return for a disconnected entry.

    Returns
    -------
    Variable or list of Variable
        One gradient per ``wrt`` entry, of its shape and dtype.

    Raises
    ------
    TypeError
        For a non-scalar cost.  (Integer costs and integer ``wrt`` entries get zero
        gradients, as in Theano: ``wrt`` integers as ``config.floatX`` zeros.)
    DisconnectedInputError
        For a disconnected ``wrt`` with ``disconnected_inputs='raise'``.
    NotImplementedError
        When the path to ``wrt`` crosses an op that has no gradient rule yet.
    """
    kwargs.pop("add_names", None)
    if kwargs:
        raise TypeError(f"grad() got unexpected arguments: {', '.join(sorted(kwargs))}")
    if disconnected_inputs not in ("raise", "warn", "ignore"):
        raise ValueError(f"disconnected_inputs must be 'raise', 'warn' or 'ignore', got {disconnected_inputs!r}")
    single = not isinstance(wrt, (list, tuple))
    targets = [_symbolic(w, "wrt" if single else f"wrt[{i}]") for i, w in enumerate([wrt] if single else wrt)]
    grads: dict[int, list[Variable]] = {}
    roots: list[Variable] = []
    if cost is not None:
        c = as_tensor_variable(cost)
        if c.ndim != 0:
            raise TypeError(f"grad: the cost must be a scalar, got {c!r}; sum or average it first")
        if _is_float(c):  # an integer cost has zero gradients everywhere, as in Theano
            from ..tensor.shape import ones_like

            grads[id(c)] = [ones_like(c)]
            roots.append(c)
    for var, g in (known_grads or {}).items():
        v = _symbolic(var, "a known_grads key")
        gv = as_tensor_variable(g)
        _check_known_grad(v, gv)
        if gv.dtype != v.dtype:
            from ..tensor.elemwise import cast

            gv = cast(gv, v.dtype)
        grads.setdefault(id(v), []).append(gv)
        roots.append(v)
    if not roots and cost is None:
        raise TypeError("grad: give a cost or known_grads")
    if consider_constant is not None and not isinstance(consider_constant, (list, tuple, set)):
        raise TypeError(f"grad: consider_constant must be a list of variables, got {type(consider_constant).__name__}")
    constant = {id(_symbolic(v, f"consider_constant[{i}]")) for i, v in enumerate(consider_constant or [])}
    wanted = {id(w) for w in targets}

    def total(v: Variable) -> Variable | None:
        parts = grads.get(id(v))
        if not parts:
            return None
        out = parts[0]
        for p in parts[1:]:
            out = out + p
        if len(parts) > 1:
            grads[id(v)] = [out]
        return out

    for node in reversed(_topo(roots)):
        out_grads = [total(o) if id(o) not in constant else None for o in node.outputs]
        if all(g is None for g in out_grads):
            continue
        if node.op in NON_DIFFERENTIABLE:
            continue
        if not any(_is_float(i) for i in node.inputs):
            continue
        rule = GRAD_RULES.get(node.op)
        if rule is None:
            raise NotImplementedError(f"grad: op {node.op!r} has no gradient rule yet")
        in_grads = rule(node, out_grads)
        for inp, g in zip(node.inputs, in_grads):
            if g is None or not _is_float(inp) or id(inp) in constant:
                continue
            g = as_tensor_variable(g)
            if g.dtype != inp.dtype:
                from ..tensor.elemwise import cast

                g = cast(g, inp.dtype)
            grads.setdefault(id(inp), []).append(g)

    results = []
    for w in targets:
        if not _is_float(w) or (cost is not None and not _is_float(as_tensor_variable(cost))):
            # as Theano: integers change in steps, so their gradient (and that of an integer cost) is zero
            from ..tensor.shape import zeros_like

            results.append(zeros_like(w, dtype=w.dtype if _is_float(w) else config.floatX))
            continue
        g = total(w)
        if g is None:
            msg = f"grad: the cost does not depend on {w!r} (it is not part of the computational graph of the cost)"
            if disconnected_inputs == "raise":
                raise DisconnectedInputError(msg + "; pass disconnected_inputs='ignore' to get zeros")
            if disconnected_inputs == "warn":
                warnings.warn(msg, stacklevel=2)
            if return_disconnected == "None":
                results.append(None)
                continue
            from ..tensor.shape import zeros_like

            g = zeros_like(w)
        results.append(g)
    del wanted
    return results[0] if single else results
