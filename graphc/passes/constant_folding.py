"""Constant folding: compute at compile time what depends only on constants.

Pure ops whose inputs are all constants are evaluated with their numpy
``eval`` and replaced by a constant, unless the result is large (folding would
bloat the model with data it can compute from a few bytes).  Collectives
(all-reduces) are never folded: their value needs every rank's input.
"""

from __future__ import annotations

import numpy as np

from ..ir.graph import Graph, NodeData
from ..ir.registry import OPS
from ..ir.types import TensorType
from .base import Pass, for_each_graph

MAX_FOLDED_ELEMENTS = 1 << 16


def _fold(graph: Graph) -> int:
    folded = 0
    for nid in graph.toposort():
        d = graph.data(nid)
        if d.kind != "op" or d.op == "scan" or not OPS[d.op].pure:  # type: ignore[index]
            continue
        if OPS[d.op].extra.get("collective"):  # type: ignore[index]
            continue  # an all-reduce's value needs every rank's input: one process's eval is not it
        ins = graph.node_inputs(nid)
        if not ins or any(graph.data(src).kind != "const" for src, _ in ins):
            continue
        values = [graph.data(src).value for src, _ in ins]
        outs = OPS[d.op].eval(values, **d.attrs)  # type: ignore[index]
        if any(np.asarray(o).size > MAX_FOLDED_ELEMENTS for o in outs):
            continue
        for port, (o, t) in enumerate(zip(outs, d.types)):
            arr = np.asarray(o, dtype=t.dtype)
            arr.setflags(write=False)
            const = graph.add_node(NodeData("const", [TensorType(t.dtype, arr.shape)], value=arr, name=f"folded_{d.op}", provenance=d.provenance))
            graph.replace_all_uses_with((nid, port), (const, 0))
        folded += 1
    if folded:
        graph.prune()
    return folded


def constant_folding(graph: Graph) -> int:
    """Fold constant subexpressions; return how many ops were folded."""
    return for_each_graph(graph, _fold)


CONSTANT_FOLDING = Pass("constant_folding", constant_folding, "evaluate constant subexpressions at compile time")
