"""Theano's ``theano.scan_module.scan_utils``: the names user code reaches for (``until``, ``clone``, ``equal_computations``)."""

from typing import Any

import numpy as np

from ..gof.graph import is_same_graph
from ..tensor.clone import clone
from ..tensor.scan_helpers import until
from ..tensor.variable import Variable

__all__ = ["until", "clone", "equal_computations"]


def equal_computations(xs: Any, ys: Any, in_xs: Any = None, in_ys: Any = None) -> bool:
    """Whether the expressions ``xs`` compute what ``ys`` compute, pair by pair, structurally.

    Parameters
    ----------
    xs, ys : list of Variable
        Compared in order (see :func:`graphc.gof.graph.is_same_graph`).
    in_xs, in_ys : list of Variable, optional
        Leaves taken as equal pairwise (``in_xs[i]`` stands for ``in_ys[i]``).

    Returns
    -------
    bool

    Raises
    ------
    ValueError
        If ``xs`` and ``ys`` (or ``in_xs`` and ``in_ys``) differ in length.
    """
    xs, ys = list(xs), list(ys)
    if len(xs) != len(ys):
        raise ValueError(f"equal_computations: xs has {len(xs)} expressions, ys has {len(ys)}")
    in_xs, in_ys = list(in_xs or []), list(in_ys or [])
    if len(in_xs) != len(in_ys):
        raise ValueError(f"equal_computations: in_xs has {len(in_xs)} variables, in_ys has {len(in_ys)}")
    givens = dict(zip(in_xs, in_ys))
    for x, y in zip(xs, ys):
        if isinstance(x, Variable) and isinstance(y, Variable):
            if not is_same_graph(x, y, givens=givens):
                return False
        elif isinstance(x, Variable) or isinstance(y, Variable) or not np.array_equal(x, y):
            return False
    return True
