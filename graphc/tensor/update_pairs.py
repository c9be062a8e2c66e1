"""The updates of a compiled function: checking the user's pairs, adding the default updates.

An update is a ``(shared variable, new value)`` pair; every new value of a
call is computed from the values before the call (Theano's semantics), and
the variable keeps its dtype and shape.  Shared variables the computation
reads that carry a ``default_update`` (random streams, batch-normalization
statistics) get it unless an explicit update or ``no_default_updates`` says
otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..ir.build import collect_leaves
from ..ir.types import format_shape
from .basic import as_tensor_variable
from .elemwise import cast
from .shared import SharedVariable
from .variable import Variable

__all__ = ["normalize_updates", "default_updates"]


def normalize_updates(updates: Any) -> list[tuple[SharedVariable, Variable]]:
    """The updates as a list of ``(shared variable, expression)`` pairs, checked.

    Parameters
    ----------
    updates : list of pairs, dict or None

    Returns
    -------
    list of (SharedVariable, Variable)
        A new value of another float dtype is cast to the variable's dtype.

    Raises
    ------
    TypeError
        For something that is not a pair, a target that is not a shared variable, or a
        new value of another kind of dtype (int for a float variable).
    ValueError
        For a variable updated twice, or a new value of another shape.
    """
    if updates is None:
        return []
    if isinstance(updates, Mapping):
        pairs = list(updates.items())
    else:
        try:
            pairs = [tuple(p) for p in updates]
        except TypeError:
            raise TypeError(f"updates must be a list of (shared, expression) pairs or a dict, got {type(updates).__name__}") from None
    out: list[tuple[SharedVariable, Variable]] = []
    seen: set[int] = set()
    for i, pair in enumerate(pairs):
        if len(pair) != 2:
            raise TypeError(f"update {i} must be a (shared variable, new value) pair, got {pair!r}")
        var, expr = pair
        if not isinstance(var, SharedVariable):
            raise TypeError(f"update {i}: {var!r} is not a shared variable; only shared variables can be updated")
        if id(var) in seen:
            raise ValueError(f"update {i}: shared variable {var!r} is updated twice")
        seen.add(id(var))
        new = as_tensor_variable(expr)
        if new.dtype != var.dtype:
            if np.dtype(new.dtype).kind != np.dtype(var.dtype).kind:  # float64 -> float32 is fine, int -> float is not
                raise TypeError(
                    f"update {i}: the new value of {var!r} has dtype {new.dtype}; expected {var.dtype} "
                    f"(cast it with T.cast(expr, '{var.dtype}'))"
                )
            new = cast(new, var.dtype)
        if new.ndim != var.ndim:
            raise ValueError(
                f"update {i}: the new value of {var!r} has shape {format_shape(new.type.shape)}; "
                f"expected {format_shape(var.type.shape)}"
            )
        for a, b in zip(new.type.shape, var.type.shape):
            if isinstance(a, int) and isinstance(b, int) and a != b:
                raise ValueError(
                    f"update {i}: the new value of {var!r} has shape {format_shape(new.type.shape)}; "
                    f"expected {format_shape(var.type.shape)}"
                )
        out.append((var, new))
    return out


def default_updates(
    outputs: Sequence[Variable], explicit: list[tuple[SharedVariable, Variable]], disabled: Any
) -> list[tuple[SharedVariable, Variable]]:
    """Updates from the ``default_update`` of shared variables the computation reads.

    Followed to a fixed point, since a default update may read more shared variables.

    Parameters
    ----------
    outputs : list of Variable
    explicit : list of (SharedVariable, Variable)
        The explicit updates (normalized): their variables keep them.
    disabled : bool or list of SharedVariable
        ``no_default_updates``: True skips them all, a list skips those variables.
    """
    if disabled is True:
        return []
    skip = {id(v) for v in (disabled or [])} | {id(v) for v, _ in explicit}
    found: list[tuple[SharedVariable, Variable]] = []
    frontier = list(outputs) + [new for _, new in explicit]
    while frontier:
        added = []
        for leaf in collect_leaves(frontier):
            if isinstance(leaf, SharedVariable) and leaf.default_update is not None and id(leaf) not in skip:
                skip.add(id(leaf))
                pair = normalize_updates([(leaf, leaf.default_update)])[0]
                found.append(pair)
                added.append(pair[1])
        frontier = added
    return found
