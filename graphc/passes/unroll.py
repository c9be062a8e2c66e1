"""Scan unrolling: a loop with a small static step count becomes a plain graph.

The choice between ONNX ``Scan`` and the unrolled graph follows a cost model
measured with ``bench/loop_cost.py`` (LSTM cells, batch 1 and 32, 2 threads,
ONNX Runtime 1.31; table in ``docs/performance-notes.md``):

- in inference graphs, unrolling saves the loop's per-iteration cost and was
  not slower up to about :data:`INFERENCE_MAX_NODES` unrolled body nodes
  (steps x body size); past that, the unrolled graph's size costs more than
  the iterations it saves, and compile time grows with it;
- in graphs that differentiate through the loop (a gradient scan is present),
  the loop form wins as soon as there are more than a couple of steps: the
  ``reassociate`` and ``stash`` passes turn the per-step weight gradients of
  a scan into one large GEMM over all steps, which unrolled steps lose (1.2-1.9x
  slower at 8-32 steps), so the budget is :data:`TRAINING_MAX_NODES`.

A scan is unrolled when its step count is a static int no larger than
:data:`AUTO_MAX_STEPS` and steps x body nodes fits the budget.  Scans that
native lowering can take are left to it (the pass runs after it).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

from ..ir.graph import Graph, NodeData, Value
from ..ir.ops.scan import GRADIENT_SCAN_SUFFIX
from .base import Pass, scan_nodes
from .pattern import emit

__all__ = ["unroll", "UNROLL", "AUTO_MAX_STEPS", "INFERENCE_MAX_NODES", "TRAINING_MAX_NODES", "unroll_limits"]

AUTO_MAX_STEPS = 16
INFERENCE_MAX_NODES = 128  # steps x body nodes: see the module docstring
TRAINING_MAX_NODES = 40


@contextlib.contextmanager
def unroll_limits(max_steps: int | None, max_nodes: int | None = None) -> Iterator[None]:
    """Within the block, unroll up to ``max_steps`` steps and ``max_nodes`` nodes (None: no limit).

    What ``graphc export --unroll always`` uses; not thread-safe (it sets the module's limits).
    """
    global AUTO_MAX_STEPS, INFERENCE_MAX_NODES, TRAINING_MAX_NODES
    saved = AUTO_MAX_STEPS, INFERENCE_MAX_NODES, TRAINING_MAX_NODES
    AUTO_MAX_STEPS = sys.maxsize if max_steps is None else max_steps
    INFERENCE_MAX_NODES = TRAINING_MAX_NODES = sys.maxsize if max_nodes is None else max_nodes
    try:
        yield
    finally:
        AUTO_MAX_STEPS, INFERENCE_MAX_NODES, TRAINING_MAX_NODES = saved


def _static_steps(graph: Graph, scan: int) -> int | None:
    steps = graph.data(scan).types[0].shape[0] if graph.data(scan).types else None
    return steps if isinstance(steps, int) else None


def _differentiates_loops(graph: Graph) -> bool:
    """Whether ``graph`` holds a gradient scan (it trains through a loop)."""
    return any(str(graph.data(s).attrs.get("name") or "").endswith(GRADIENT_SCAN_SUFFIX) for s in scan_nodes(graph))


def _unroll_one(graph: Graph, scan: int, budget: int) -> bool:
    d = graph.data(scan)
    a = d.attrs
    body: Graph = a["body"]
    steps = _static_steps(graph, scan)
    if steps is None or steps == 0 or steps > AUTO_MAX_STEPS:
        return False
    if steps * len(body.op_nodes()) > budget:
        return False
    n_seqs, n_states, n_nonseqs = a["n_seqs"], a["n_states"], a["n_nonseqs"]
    ins = graph.node_inputs(scan)
    seqs, states, nonseqs = ins[:n_seqs], list(ins[n_seqs : n_seqs + n_states]), ins[n_seqs + n_states : n_seqs + n_states + n_nonseqs]
    order = range(steps - 1, -1, -1) if a["reverse"] else range(steps)
    per_step: list[list[Value]] = [[] for _ in body.outputs]
    prov = d.provenance
    for t in order:
        mapping: dict[Value, Value] = {}
        for k, s in enumerate(seqs):
            mapping[(body.inputs[k], 0)] = emit(graph, "getitem", [s], prov, index=(("int", t),))
        for j, s in enumerate(states):
            mapping[(body.inputs[n_seqs + j], 0)] = s
        for m, s in enumerate(nonseqs):
            mapping[(body.inputs[n_seqs + n_states + m], 0)] = s
        for nid in body.toposort():
            bd = body.data(nid)
            if (nid, 0) in mapping and nid in body.inputs:
                continue
            if bd.kind == "const":
                mapping[(nid, 0)] = (graph.add_node(NodeData("const", list(bd.types), value=bd.value, name=bd.name)), 0)
                continue
            if bd.kind != "op":
                continue
            new = graph.add_node(
                NodeData("op", list(bd.types), op=bd.op, attrs=dict(bd.attrs), provenance=bd.provenance),
                [mapping[v] for v in body.node_inputs(nid)],
            )
            for port in range(len(bd.types)):
                mapping[(nid, port)] = (new, port)
        outs = [mapping[v] for v, _ in body.outputs]
        states = outs[:n_states]
        for k, o in enumerate(outs):
            per_step[k].append(emit(graph, "expand_dims", [o], prov, axes=(0,)))
    for k, parts in enumerate(per_step):
        stacked = parts[0] if len(parts) == 1 else emit(graph, "concat", parts, prov, axis=0)
        graph.replace_all_uses_with((scan, k), stacked)
    return True


def unroll(graph: Graph) -> int:
    """Unroll every scan whose static step count and size the cost model favours; return how many."""
    budget = TRAINING_MAX_NODES if _differentiates_loops(graph) else INFERENCE_MAX_NODES
    done = sum(1 for scan in list(scan_nodes(graph)) if _unroll_one(graph, scan, budget))
    if done:
        graph.prune()
    return done


UNROLL = Pass("unroll", unroll, "unroll loops with a short static step count where the measured cost model favours it")
