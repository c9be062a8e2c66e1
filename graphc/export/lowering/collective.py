"""Lowering of the all-reduce collectives: ``Identity``.

An ONNX graph runs in one process, where the all-reduce over a single rank is
the value itself, so a single-process session runs the ``Identity`` as is.
Under MPI the multi-rank runtime cuts the graph at these nodes instead: one
session computes their inputs, MPI reduces those buffers, and a second session
reads the reduced values where the ``Identity`` outputs were.
"""

from __future__ import annotations

from ...ir.ops.collective import ALLREDUCE_MEAN, ALLREDUCE_SUM
from ..context import LoweringContext, LowerNode, lowering


@lowering(ALLREDUCE_MEAN, ALLREDUCE_SUM)
def _allreduce(ctx: LoweringContext, n: LowerNode) -> list[str]:
    return ctx.node("Identity", n.inputs, name=n.name)
