"""Rebuilding expressions with some variables replaced (Theano's ``theano.clone``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .variable import Variable, apply_op

__all__ = ["clone"]


def clone(outputs: Any, replace: Mapping[Any, Any] | None = None) -> Any:
    """Copies of ``outputs`` with the variables in ``replace`` swapped for their values.

    Parameters
    ----------
    outputs : Variable or list of Variable
    replace : dict
        ``{old: new}``; ``new`` must have ``old``'s dtype and rank.

    Returns
    -------
    Variable or list of Variable
        Shaped like ``outputs``; parts that do not depend on a replaced
        variable are shared, not copied.

    Raises
    ------
    TypeError
        When a replacement's dtype or rank differs.
    """
    single = isinstance(outputs, Variable)
    outs: Sequence[Variable] = [outputs] if single else list(outputs)
    subst: dict[int, Variable] = {}
    for old, new in (replace or {}).items():
        if old.dtype != new.dtype or old.ndim != new.ndim:
            raise TypeError(f"clone: {old!r} cannot be replaced by {new!r} of another dtype or rank")
        subst[id(old)] = new
    done: dict[int, Variable] = {}

    def rebuild(v: Variable) -> Variable:
        stack: list[tuple[Variable, bool]] = [(v, False)]
        while stack:
            cur, expanded = stack.pop()
            key = id(cur)
            if key in done:
                continue
            if key in subst:
                done[key] = subst[key]
                continue
            if cur.owner is None:
                done[key] = cur
                continue
            if not expanded:
                stack.append((cur, True))
                stack.extend((i, False) for i in cur.owner.inputs if id(i) not in done)
                continue
            node = cur.owner
            new_inputs = [done[id(i)] for i in node.inputs]
            if all(a is b for a, b in zip(new_inputs, node.inputs)):
                for o in node.outputs:
                    done[id(o)] = o
                continue
            made = apply_op(node.op, new_inputs, **node.attrs)
            made_list = made if isinstance(made, list) else [made]
            for o, m in zip(node.outputs, made_list):
                done[id(o)] = m
        return done[id(v)]

    result = [rebuild(o) for o in outs]
    return result[0] if single else result
