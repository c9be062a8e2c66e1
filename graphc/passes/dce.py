"""Dead-code elimination: drop nodes no output depends on (in loop bodies too)."""

from __future__ import annotations

from ..ir.graph import Graph
from .base import Pass, for_each_graph


def _prune(graph: Graph) -> int:
    return graph.prune()


def dce(graph: Graph) -> int:
    """Remove dead nodes; return how many."""
    return for_each_graph(graph, _prune)


DCE = Pass("dce", dce, "remove computations no output depends on")
