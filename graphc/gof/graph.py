"""``theano.gof.graph``: walking expression graphs (``inputs``, ``ancestors``, ``is_same_graph``...)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from ..tensor.variable import Apply, TensorConstant, Variable

__all__ = ["Variable", "Constant", "Apply", "ancestors", "inputs", "variables", "io_toposort", "is_same_graph"]

Constant = TensorConstant


def _as_list(variables: Any) -> list[Variable]:
    return [variables] if isinstance(variables, Variable) else list(variables)


def ancestors(variable_list: Any, blockers: Iterable[Variable] | None = None) -> list[Variable]:
    """Every variable the given ones depend on, themselves included, outputs first (depth-first).

    Parameters
    ----------
    variable_list : Variable or list of Variable
    blockers : list of Variable, optional
        Variables whose own ancestors are not followed.

    Returns
    -------
    list of Variable
    """
    stop = {id(b) for b in blockers or ()}
    seen: set[int] = set()
    order: list[Variable] = []
    stack = list(reversed(_as_list(variable_list)))
    while stack:
        v = stack.pop()
        if id(v) in seen:
            continue
        seen.add(id(v))
        order.append(v)
        if v.owner is not None and id(v) not in stop:
            stack.extend(reversed(v.owner.inputs))
    return order


def inputs(variable_list: Any, blockers: Iterable[Variable] | None = None) -> list[Variable]:
    """The leaves the given variables depend on: placeholders, shared variables and constants.

    Parameters
    ----------
    variable_list : Variable or list of Variable
    blockers : list of Variable, optional
        Treated as leaves.

    Returns
    -------
    list of Variable
        In the order a depth-first walk meets them.
    """
    stop = {id(b) for b in blockers or ()}
    return [v for v in ancestors(variable_list, blockers) if v.owner is None or id(v) in stop]


def variables(i: Any, o: Any) -> list[Variable]:
    """The variables on the paths from the inputs ``i`` to the outputs ``o``, ``i`` and ``o`` included."""
    return ancestors(o, blockers=_as_list(i))


def io_toposort(i: Any, o: Any) -> list[Apply]:
    """The nodes between ``i`` and ``o``, each after the nodes it depends on."""
    stop = {id(v) for v in _as_list(i)}
    order: list[Apply] = []
    done: set[int] = set()

    def visit(v: Variable) -> None:
        node = v.owner
        if node is None or id(v) in stop or id(node) in done:
            return
        done.add(id(node))
        for inp in node.inputs:
            visit(inp)
        order.append(node)

    for out in _as_list(o):
        visit(out)
    return order


def is_same_graph(
    var1: Variable, var2: Variable, givens: Mapping[Variable, Variable] | None = None, debug: bool = False
) -> bool:
    """Whether two expressions compute the same thing structurally.

    Leaves match when they are the same object, or are paired in ``givens``; constants
    match by dtype and value; nodes match by op, attributes and inputs in order.

    Parameters
    ----------
    var1, var2 : Variable
    givens : dict, optional
        ``{leaf of var1: leaf of var2}`` (or the other way round) taken as equal.
    debug : bool
        Accepted for Theano compatibility.

    Returns
    -------
    bool
    """
    pairs = {id(a): b for a, b in (givens or {}).items()} | {id(b): a for a, b in (givens or {}).items()}
    memo: dict[tuple[int, int], bool] = {}

    def same(a: Variable, b: Variable) -> bool:
        if a is b:
            return True
        key = (id(a), id(b))
        if key in memo:
            return memo[key]
        if pairs.get(id(a)) is b:
            result = True
        elif isinstance(a, TensorConstant) and isinstance(b, TensorConstant):
            va, vb = np.asarray(a.value), np.asarray(b.value)
            result = (
                va.dtype == vb.dtype
                and va.shape == vb.shape
                and bool(np.array_equal(va, vb, equal_nan=va.dtype.kind == "f"))
            )
        elif a.owner is None or b.owner is None:
            result = False
        else:
            na, nb = a.owner, b.owner
            result = (
                na.op == nb.op
                and a.index == b.index
                and _attrs_equal(na.attrs, nb.attrs)
                and len(na.inputs) == len(nb.inputs)
                and all(same(x, y) for x, y in zip(na.inputs, nb.inputs))
            )
        memo[key] = result
        return result

    return same(var1, var2)


def _attrs_equal(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    if a.keys() != b.keys():
        return False
    for k in a:
        x, y = a[k], b[k]
        if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            if not np.array_equal(x, y):
                return False
        elif x != y:
            return False
    return True
