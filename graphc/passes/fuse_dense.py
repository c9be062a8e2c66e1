"""Horizontal dense fusion: matmuls that share their left operand become one.

``x @ W1``, ``x @ W2``, ... (2-d right operands with the same number of rows)
become ``x @ concat(W1, W2, ...)`` followed by slices: one large GEMM instead
of several small ones, which is how the separate gate projections of a
recurrent cell (``h @ W_hr``, ``h @ W_hz``) run as one product per step.  When
the weights are loop-invariant, the hoisting pass then moves their
concatenation out of the loop.  (ONNX Runtime already fuses MatMul + Add into
Gemm itself.)

Inside loop bodies every step pays per-op overhead, so fusion always pays.
Outside them the fused result must be sliced apart again, a pass over the
whole output: that pays only when the product is compute-heavy, so there the
pass fuses only when the shared inner dimension is static and at least
:data:`MIN_TOP_LEVEL_INNER` (not, say, the 2 input features of a sequence
projected by two recurrent layers, and not weight gradients ``X^T @ dG`` whose
inner dimension is every step of every example).
"""

from __future__ import annotations

from ..ir.graph import Graph
from .base import Pass, for_each_graph, scan_nodes
from .pattern import emit

__all__ = ["fuse_dense", "FUSE_DENSE", "MIN_TOP_LEVEL_INNER"]

MIN_TOP_LEVEL_INNER = 64
"""Outside loop bodies, the smallest shared inner dimension worth a fused product."""


def _fuse(graph: Graph, in_body: bool) -> int:
    fused = 0
    for nid in graph.toposort():
        if nid not in graph:
            continue
        for port in range(len(graph.data(nid).types)):
            x = (nid, port)
            users = sorted({u for u, pos in graph.uses(x) if pos == 0 and graph.data(u).op == "matmul"})
            groups: dict[tuple[object, str], list[int]] = {}
            for u in users:
                w = graph.node_inputs(u)[1]
                wt = graph.type_of(w)
                if wt.ndim != 2 or not isinstance(wt.shape[1], int) or graph.node_inputs(u)[0] == w:
                    continue
                if not in_body and not (isinstance(wt.shape[0], int) and wt.shape[0] >= MIN_TOP_LEVEL_INNER):
                    continue
                groups.setdefault((wt.shape[0], wt.dtype), []).append(u)
            for members in groups.values():
                if len(members) < 2:
                    continue
                weights = [graph.node_inputs(u)[1] for u in members]
                prov = graph.data(members[0]).provenance
                wcat = emit(graph, "concat", weights, prov, axis=1)
                big = emit(graph, "matmul", [x, wcat], prov)
                lead = (("slice", None, None, 1),) * (graph.type_of(big).ndim - 1)
                offset = 0
                for u, w in zip(members, weights):
                    n = graph.type_of(w).shape[1]
                    part = emit(graph, "getitem", [big], prov, index=lead + (("slice", offset, offset + n, 1),))
                    graph.replace_all_uses_with((u, 0), part)
                    offset += n  # type: ignore[operator]
                fused += len(members) - 1
    if fused:
        graph.prune()
    return fused


def fuse_dense(graph: Graph) -> int:
    """Fuse matmuls sharing a left operand; return how many matmuls were saved."""
    fused = _fuse(graph, in_body=False)
    return fused + sum(for_each_graph(graph.data(s).attrs["body"], lambda g: _fuse(g, in_body=True)) for s in scan_nodes(graph))


FUSE_DENSE = Pass("fuse_dense", fuse_dense, "fuse matmuls that share their input into one wider matmul")
