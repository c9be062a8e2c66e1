"""``Variable.eval``: compile an expression and compute it once (Theano's ``eval``).

As in Theano, the compiled function is cached on the variable, keyed by the
set of inputs given a value, so evaluating the same expression again with
new values of the same inputs only runs the compiled session.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .variable import Variable

__all__ = ["eval_variable"]


def eval_variable(var: Variable, inputs_to_values: Mapping[Variable, Any] | None = None) -> np.ndarray:
    """Compute ``var`` with the given input values and return the numpy result.

    Parameters
    ----------
    var : Variable
        The expression to compute.
    inputs_to_values : dict, optional
        Maps each symbolic input the expression needs to its value.  Shared
        variables are read where they live and need no entry.

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    TypeError
        If ``inputs_to_values`` is not a dict of symbolic variables.
    graphc.MissingInputError
        If the expression needs an input that has no value, naming it.
    """
    from ..ir.build import MissingInputError
    from ..runtime import function

    if inputs_to_values is None:
        inputs_to_values = {}
    if not isinstance(inputs_to_values, Mapping):
        raise TypeError(f"inputs_to_values should be a dict of variables to values, got {type(inputs_to_values).__name__}")
    for k in inputs_to_values:
        if not isinstance(k, Variable):
            raise TypeError(f"inputs_to_values keys must be symbolic variables, got {k!r}")
    # Theano's key: the inputs sorted by id, so a dict's order does not matter
    inputs = tuple(sorted(inputs_to_values, key=id))
    cache: dict[tuple[Variable, ...], Any] = var.__dict__.setdefault("_fn_cache", {})
    fn = cache.get(inputs)
    if fn is None:
        from ..ir.build import leaf_kind

        # as Theano: any variable may be given a value (a computed one, a shared one, the expression itself);
        # the graph is cut there, each such key standing in for a new placeholder of its type
        # (of any sizes: Theano's types fix only the rank)
        from .basic import tensor

        cut = {
            k: tensor(k.dtype, shape=(None,) * k.ndim, name=k.name)
            for k in inputs
            if k.owner is not None or leaf_kind(k) != "input"
        }
        target = var
        if cut:
            from .clone import clone

            target = cut[var] if var in cut else clone([var], cut)[0]
        try:
            fn = function([cut.get(k, k) for k in inputs], target, on_unused_input="ignore")
        except MissingInputError as e:
            raise MissingInputError(
                f"{var!r}.eval(): {e}; give it a value in inputs_to_values, e.g. expr.eval({{x: value}})"
            ) from None
        cache[inputs] = fn
    return fn(*[inputs_to_values[k] for k in inputs])
