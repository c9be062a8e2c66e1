"""Collective ops: all-reduce across the ranks of a data-parallel job.

``allreduce_mean(x)`` is the elementwise mean of ``x`` over all ranks and
``allreduce_sum(x)`` its sum; every rank gets the same result.  Their values
depend on the other ranks' inputs, so no single process can compute them:
the numpy ``eval`` here is the identity, which is exact when one process runs
(a job of size 1), and the ONNX lowering is an ``Identity`` node that a
single-process session runs as is.  Under MPI, :func:`graphc.function` cuts the
graph at these nodes: one session computes their inputs, MPI reduces those
buffers, and a second session goes on from the reduced values.

The ops are pure (a function of the inputs of all ranks, the same on every
rank), so two all-reduces of the same value may be merged; but they must never
be constant-folded: a constant input may differ from rank to rank, and the
eval of one process is not the reduction.  Each op's :attr:`OpDef.extra`
carries ``"collective"`` (the reduction: ``"mean"`` or ``"sum"``) so passes and
the runtime find them without a list of names.
"""

from __future__ import annotations

import numpy as np

from ..registry import register_op
from ..types import TensorType
from .elemwise import FLOATS, NUMBERS

__all__ = ["COLLECTIVE_OPS", "ALLREDUCE_MEAN", "ALLREDUCE_SUM", "is_collective"]

ALLREDUCE_MEAN = "allreduce_mean"
ALLREDUCE_SUM = "allreduce_sum"
#: op name -> the reduction it applies across ranks
COLLECTIVE_OPS: dict[str, str] = {ALLREDUCE_MEAN: "mean", ALLREDUCE_SUM: "sum"}


def _allreduce_infer(op: str, allowed: tuple[str, ...]):  # type: ignore[no-untyped-def]
    def infer(types: list[TensorType]) -> list[TensorType]:
        (t,) = types
        if t.dtype not in allowed:
            raise TypeError(f"{op}: input has dtype {t.dtype}, expected one of {', '.join(allowed)}")
        return [TensorType(t.dtype, t.shape)]

    return infer


def _identity_eval(xs: list[np.ndarray]) -> list[np.ndarray]:
    # one process: the reduction over a single rank is the value itself
    return [np.array(xs[0], copy=True)]


def is_collective(op: str) -> bool:
    """True when ``op`` names a collective (an op whose value needs all ranks)."""
    return op in COLLECTIVE_OPS


# the mean divides by the number of ranks: integer inputs would need a rounding rule
_mean = register_op(
    ALLREDUCE_MEAN,
    infer=_allreduce_infer(ALLREDUCE_MEAN, FLOATS),
    eval=_identity_eval,
    arity=1,
    doc="elementwise mean of x over all ranks (the identity in one process)",
)
_mean.extra["collective"] = "mean"
_sum = register_op(
    ALLREDUCE_SUM,
    infer=_allreduce_infer(ALLREDUCE_SUM, NUMBERS),
    eval=_identity_eval,
    arity=1,
    doc="elementwise sum of x over all ranks (the identity in one process)",
)
_sum.extra["collective"] = "sum"
