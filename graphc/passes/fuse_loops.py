"""Loop fusion: independent scans over the same steps become one scan.

Each ONNX ``Scan`` (or ``Loop``) iteration costs a fixed overhead in ONNX Runtime
(subgraph dispatch, per-iteration output copies) on top of its nodes, and a
bidirectional recurrent layer runs two loops of the same length side by side,
its gradient two more.  This pass fuses two scans into one when

* neither depends on the other (no path between them, so the fused node
  creates no cycle and each body still sees exactly its own inputs),
* they run the same number of steps: the same symbolic or static step size
  (equal :class:`~graphc.ir.types.Dim` names are equal sizes, and a symbolic
  size the graph's ops fix, :func:`graphc.ir.unify.known_sizes`, is that
  static size), or the same step-count input,
* both are counted ``scan`` ops (a ``scan_until`` stops on its own condition).

When the two bodies are the same step on different values (a bidirectional
layer's two cells), the fused loop runs that step once on values stacked
along a new cell axis (:mod:`graphc.passes.batch_cells`).  Otherwise the
fused body is the disjoint union of the two bodies; its inputs are the
sequences, carried states and non-sequences of both (a non-sequence or a
sequence both read once), its outputs both scans' new states, then both
scans' per-step outputs.  The IR scan has a single ``reverse`` flag, so a
forward and a reverse scan fuse by feeding the reverse one's sequences
reversed (``x[::-1]``): a reverse scan over ``x`` and a forward scan over
``x[::-1]`` run the same steps on the same elements in the same order and
stack their outputs identically, so no output is flipped.  (The reversal is
one copy of each such sequence outside the loop; ``Scan`` lowering reads a
reversed outer sequence with ``scan_input_directions`` instead, without the
copy.)  Scans with a step-count input fuse only in the same direction: they
may read only the first ``n`` elements of longer sequences.

Scans that native RNN lowering (:mod:`graphc.passes.native_rnn`) could turn
into an ONNX ``LSTM``/``GRU`` are left alone: the native kernel is faster than
any loop, and fusing would hide the cell from it.  (The check runs the native
matcher on a copy, so it holds whether or not ``native_rnn`` is switched on.)

Fusion pays only while the loops' fixed per-iteration cost outweighs their
arithmetic: a fused pair runs batched matrix products on stacked weights and
copies its sequences and outputs once more outside the loop.  Measured on a
2-thread CPU (bidirectional LSTM training step, batch 100, 55 steps, Adam,
medians of 7 interleaved rounds against the unfused step): hidden 10 and 32
ran 4-8 % faster fused, hidden 64 and 128 10-40 % slower.  So scans fuse only
when their cells are at most :data:`MAX_FUSED_WIDTH` wide (the narrowest last
axis of their carried states).
"""

from __future__ import annotations

from ..ir.graph import Graph, NodeData, Value
from ..ir.types import Dim
from ..ir.unify import known_sizes
from .base import Pass, log, scan_nodes
from .batch_cells import batch_cells
from .pattern import reversed_in_time

__all__ = ["fuse_loops", "FUSE_LOOPS", "MAX_FUSED_WIDTH"]

#: the widest carried state (last axis) a scan may have to be fused; see the module docstring
MAX_FUSED_WIDTH = 32


def _narrow(graph: Graph, scan: int) -> bool:
    """Whether ``scan``'s cell is at most :data:`MAX_FUSED_WIDTH` wide: the narrowest static last
    axis of its carried states (a gradient scan also carries weight-shaped sums, wider than its
    cell; no static width at all counts as too wide)."""
    d = graph.data(scan)
    widths = [t.shape[-1] for t in d.types[: d.attrs["n_states"]] if t.shape and isinstance(t.shape[-1], int)]
    return bool(widths) and min(widths) <= MAX_FUSED_WIDTH


def _ancestors(graph: Graph, nid: int, memo: dict[int, frozenset[int]]) -> frozenset[int]:
    """Every node ``nid`` depends on (iteratively, so deep graphs do not exhaust the stack)."""
    if nid in memo:
        return memo[nid]
    stack = [nid]
    while stack:
        n = stack[-1]
        srcs = [src for src, _ in graph.node_inputs(n)]
        todo = [s for s in srcs if s not in memo]
        if todo:
            stack.extend(todo)
            continue
        stack.pop()
        if n in memo:
            continue
        acc: set[int] = set(srcs)
        for s in srcs:
            acc |= memo[s]
        memo[n] = frozenset(acc)
    return memo[nid]


def _step_key(graph: Graph, scan: int, known: dict[str, int]) -> tuple[object, ...] | None:
    """What fixes the scan's step count: equal keys, equal counts.

    ``known`` holds the sizes the graph's ops fix for symbolic dims
    (:func:`graphc.ir.unify.known_sizes`): a loop over ``x`` whose length some op
    fixes to 5 runs as many steps as a loop of static length 5.
    """
    d = graph.data(scan)
    a = d.attrs
    if a["has_n_steps"]:
        return ("n_steps", graph.node_inputs(scan)[-1])
    if not d.types:
        return None
    steps = d.types[0].shape[0]
    if isinstance(steps, Dim):
        steps = known.get(steps.name, steps)
    return ("length", steps)


def _native_could_lower(graph: Graph, scan: int) -> bool:
    """Whether native RNN lowering replaces ``scan`` (tried on a copy of the graph).

    Native lowering replaces a scan only when the native op gives everything the
    graph reads of it (a training graph's forward loop that also feeds the
    backward loop stashed per-step values stays a loop); the check that nothing
    reads the scan afterwards holds that to account.
    """
    from .native_rnn import _lower_one

    trial = graph.copy()
    if not _lower_one(trial, scan):
        return False
    return not any(trial.uses((scan, p)) or trial.output_uses((scan, p)) for p in range(len(trial.data(scan).types)))


def _fuse_pair(graph: Graph, first: int, second: int) -> int:
    """Replace scans ``first`` and ``second`` by one (their cells batched where they are the same step);
    return the fused node."""
    batched = batch_cells(graph, first, second)
    if batched is not None:
        return batched
    da, db = graph.data(first), graph.data(second)
    a, b = da.attrs, db.attrs
    ins_a, ins_b = graph.node_inputs(first), graph.node_inputs(second)
    body_a: Graph = a["body"]
    body_b: Graph = b["body"]
    flip_b = a["reverse"] != b["reverse"]  # the second's sequences are fed reversed
    seqs_a = ins_a[: a["n_seqs"]]
    seqs_b = [reversed_in_time(graph, v, db.provenance) if flip_b else v for v in ins_b[: b["n_seqs"]]]
    inits_a = ins_a[a["n_seqs"] : a["n_seqs"] + a["n_states"]]
    inits_b = ins_b[b["n_seqs"] : b["n_seqs"] + b["n_states"]]
    nons_a = ins_a[a["n_seqs"] + a["n_states"] : a["n_seqs"] + a["n_states"] + a["n_nonseqs"]]
    nons_b = ins_b[b["n_seqs"] + b["n_states"] : b["n_seqs"] + b["n_states"] + b["n_nonseqs"]]

    body = Graph()
    body.frozen_params, body.target = body_a.frozen_params, body_a.target
    value_of: dict[tuple[int, Value], Value] = {}  # (0 or 1, value in that body) -> value in the fused body
    outer_seqs: list[Value] = []
    outer_nons: list[Value] = []
    seq_inputs: list[int] = []
    state_inputs: list[int] = []
    non_inputs: list[int] = []

    def new_input(src: Graph, nid: int) -> int:
        old = src.data(nid)
        return body.add_node(NodeData("input", list(old.types), name=old.name, ref=old.ref, provenance=old.provenance))

    for side, (src, seqs) in enumerate([(body_a, seqs_a), (body_b, seqs_b)]):
        for k, outer in enumerate(seqs):
            if outer in outer_seqs:  # both read the same sequence the same way: one input
                value_of[(side, (src.inputs[k], 0))] = (seq_inputs[outer_seqs.index(outer)], 0)
                continue
            nid = new_input(src, src.inputs[k])
            outer_seqs.append(outer)
            seq_inputs.append(nid)
            value_of[(side, (src.inputs[k], 0))] = (nid, 0)
    for side, (src, attrs) in enumerate([(body_a, a), (body_b, b)]):
        for j in range(attrs["n_states"]):
            nid = new_input(src, src.inputs[attrs["n_seqs"] + j])
            state_inputs.append(nid)
            value_of[(side, (src.inputs[attrs["n_seqs"] + j], 0))] = (nid, 0)
    for side, (src, attrs, nons) in enumerate([(body_a, a, nons_a), (body_b, b, nons_b)]):
        for m, outer in enumerate(nons):
            inner = src.inputs[attrs["n_seqs"] + attrs["n_states"] + m]
            if outer in outer_nons:
                value_of[(side, (inner, 0))] = (non_inputs[outer_nons.index(outer)], 0)
                continue
            nid = new_input(src, inner)
            outer_nons.append(outer)
            non_inputs.append(nid)
            value_of[(side, (inner, 0))] = (nid, 0)
    body.inputs = seq_inputs + state_inputs + non_inputs

    for side, src in enumerate([body_a, body_b]):
        for nid in src.toposort():
            d = src.data(nid)
            if nid in src.inputs:
                continue
            if d.kind in ("const", "param"):
                new = body.add_node(NodeData(**{**d.__dict__, "types": list(d.types), "attrs": dict(d.attrs)}))
                value_of[(side, (nid, 0))] = (new, 0)
                continue
            new = body.add_node(
                NodeData("op", list(d.types), op=d.op, attrs=dict(d.attrs), name=d.name, provenance=d.provenance),
                [value_of[(side, v)] for v in src.node_inputs(nid)],
            )
            for port in range(len(d.types)):
                value_of[(side, (nid, port))] = (new, port)

    outs_a = [(value_of[(0, v)], name) for v, name in body_a.outputs]
    outs_b = [(value_of[(1, v)], name) for v, name in body_b.outputs]
    sa, sb = a["n_states"], b["n_states"]
    body.outputs = outs_a[:sa] + outs_b[:sb] + outs_a[sa:] + outs_b[sb:]
    port_a = list(range(sa)) + [sa + sb + p for p in range(len(outs_a) - sa)]
    port_b = [sa + q for q in range(sb)] + [sa + sb + len(outs_a) - sa + q for q in range(len(outs_b) - sb)]
    types = [None] * len(body.outputs)
    for p, t in zip(port_a, da.types):
        types[p] = t
    for q, t in zip(port_b, db.types):
        types[q] = t
    inputs = outer_seqs + inits_a + inits_b + outer_nons + ([ins_a[-1]] if a["has_n_steps"] else [])
    name = f"{a.get('name') or 'scan'}+{b.get('name') or 'scan'}"
    attrs = {
        **a,
        "body": body,
        "n_seqs": len(seq_inputs),
        "n_states": sa + sb,
        "n_nonseqs": len(non_inputs),
        "truncate_gradient": a["truncate_gradient"] if a["truncate_gradient"] == b["truncate_gradient"] else -1,
        "name": name,
        "step": None,  # the step function's expressions describe one cell, not the pair
    }
    fused = graph.add_node(NodeData("op", types, op="scan", attrs=attrs, provenance=da.provenance), inputs)  # type: ignore[arg-type]
    for p, new_p in enumerate(port_a):
        graph.replace_all_uses_with((first, p), (fused, new_p))
    for q, new_q in enumerate(port_b):
        graph.replace_all_uses_with((second, q), (fused, new_q))
    log.debug("fuse_loops: fused scans %s and %s into %s (%s)", first, second, fused, name)
    return fused


def _fuse_in(graph: Graph) -> int:
    fused = 0
    skip: set[int] = set()
    while True:
        scans = [s for s in scan_nodes(graph) if s not in skip]
        memo: dict[int, frozenset[int]] = {}
        known = known_sizes(graph) if len(scans) > 1 else {}
        pair = None
        for i, s in enumerate(scans):
            key = _step_key(graph, s, known)
            if key is None or not _narrow(graph, s):
                continue
            for t in scans[i + 1 :]:
                if _step_key(graph, t, known) != key or not _narrow(graph, t):
                    continue
                if key[0] == "n_steps" and graph.data(s).attrs["reverse"] != graph.data(t).attrs["reverse"]:
                    continue
                if s in _ancestors(graph, t, memo) or t in _ancestors(graph, s, memo):
                    continue
                pair = (s, t)
                break
            if pair:
                break
        if pair is None:
            break
        natives = [s for s in pair if _native_could_lower(graph, s)]
        if natives:
            skip.update(natives)
            continue
        new = _fuse_pair(graph, *pair)
        graph.prune()
        fused += 1
        skip.discard(new)
    return fused


def fuse_loops(graph: Graph) -> int:
    """Fuse independent scans over the same steps, in ``graph`` and in every loop body; return how many fusions."""
    fused = _fuse_in(graph)
    for scan in list(scan_nodes(graph)):
        fused += fuse_loops(graph.data(scan).attrs["body"])
    return fused


FUSE_LOOPS = Pass("fuse_loops", fuse_loops, "fuse independent loops over the same steps into one loop")
