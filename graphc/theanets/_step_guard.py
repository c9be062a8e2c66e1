"""Catching a non-finite training step in the step that produced it.

An infinite input can give a finite loss and NaN gradients (``tanh(inf) = 1``, but its
derivative times the input is ``0 * inf``), so watching the loss catches the damage one
iteration late, after the NaN parameters were checkpointed.  The compiled training step
therefore also returns a *probe*: the sum of every gradient's elements and of every new
parameter's elements.  A sum holding an infinite or NaN element is infinite or NaN
(``inf + -inf`` is NaN), so the probe is finite exactly when all of them are, except that
a sum of finite values past float32's range (elements near 1e32: a network that has
diverged) counts as non-finite too.  That is one reduction per tensor, reading values the
step computes anyway, with no temporary.  The optimizer state is not probed: it turns
non-finite only through a gradient (probed) or an overflow, and files refuse it then.

When the probe is not finite, the trainer puts back a :class:`Snapshot` taken at the start of
the iteration: the parameters, the optimizer state, the update counter, the generator
state and the position in the training data, so the trainer is exactly at the end of the
last good iteration (the state its last checkpoint holds) and stops there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .. import tensor as T

__all__ = ["finite_probe", "NonFiniteStepError", "Snapshot"]


def finite_probe(grads: Sequence[Any], updates: Sequence[tuple[Any, Any]], params: Sequence[Any]) -> Any:
    """A float scalar expression that is finite when every gradient and every new parameter value is.

    Parameters
    ----------
    grads : list of Variable
        The gradients, before any clipping (a clipped infinite gradient looks finite).
    updates : list of (SharedVariable, Variable)
        The step's updates; the new values of those in ``params`` are probed.
    params : list of SharedVariable
        The trained parameters.
    """
    owned = {id(p) for p in params}
    probed = [*grads, *(new for var, new in updates if id(var) in owned)]
    terms = [T.sum(v) for v in probed if np.dtype(v.dtype).kind == "f"]
    total = terms[0]
    for term in terms[1:]:
        total = total + T.cast(term, total.dtype)
    return total


class NonFiniteStepError(Exception):
    """A training step made a gradient or a new value non-finite (raised inside an iteration, caught by the trainer)."""

    def __init__(self, monitors: Mapping[str, float]) -> None:
        super().__init__("non-finite training step")
        self.monitors = dict(monitors)


class Snapshot:
    """What one iteration changes, copied at its start so a failed iteration can be undone.

    Parameters
    ----------
    trainer : Trainer
    train_set : Batches
    """

    def __init__(self, trainer: Any, train_set: Any) -> None:
        self.values = [v.get_value() for v in (*trainer.params, *trainer.state_variables)]
        self.updates = trainer.updates
        self.rng = trainer.rng.get_state() if trainer.rng is not None else None
        self.position = (train_set._index, train_set._order) if train_set.num_examples is not None else None

    def restore(self, trainer: Any, train_set: Any) -> None:
        """Put the parameters, the optimizer state, the update count, the generator and the data position back."""
        for var, value in zip((*trainer.params, *trainer.state_variables), self.values):
            var.set_value(value)
        trainer.updates = self.updates
        if self.rng is not None:
            trainer.rng.set_state(self.rng)
        if self.position is not None:
            train_set._index, train_set._order = self.position
