"""Gradient rules of the all-reduce collectives.

With ``y = allreduce_mean(x)``, every rank ``r`` holds the same ``y`` and its own
incoming gradient ``g_r = dL_r/dy``.  The objective of a data-parallel step is
the sum of the ranks' losses, so ``dL/dx_r = sum_s g_s / n``: the gradient of a
mean all-reduce is the mean all-reduce of the incoming gradient, and that of a
sum all-reduce is the sum all-reduce.  In one process both are the identity.
"""

from __future__ import annotations

from typing import Any

from ...ir.ops.collective import ALLREDUCE_MEAN, ALLREDUCE_SUM
from ...tensor.variable import apply_op
from ..registry import grad_rule


@grad_rule(ALLREDUCE_MEAN, ALLREDUCE_SUM)
def _allreduce(node: Any, gs: list[Any]) -> list[Any]:
    if gs[0] is None:
        return [None]
    return [apply_op(node.op, [gs[0]])]
