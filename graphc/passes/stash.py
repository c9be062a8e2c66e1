"""Stash instead of recompute: let a forward loop emit the per-step values the backward pass needs.

The backward pass of a scan recomputes each forward step from the step's
starting states, ``prev = concat(init[None], states[:-1])``; hoisting then
turns that recomputation into ops over all steps after the loop: the
``prev_h @ W_hid`` of every step as one large matmul, the gate
pre-activations, their slices and nonlinearities.  The forward loop computed
exactly those values already.  This pass matches outer computations with
their per-step twins in the forward body (starting from the loop's stacked
outputs, its sequences, in iteration order, and the stacks of starting
states; through ops with the same attributes over loop invariants and equal
constants), makes each twin at the frontier an extra stacked output of the
forward scan, and reads that instead: the forward loop writes values it
computes anyway (ONNX ``Scan`` writes them in place) and the recomputation is
gone.

Values are the forward step's own, so the gradient matches the forward pass
bit for bit (recomputing in another blocking could differ in the last bits).
"""

from __future__ import annotations

import numpy as np

from ..ir.graph import Graph, Value
from ..ir.registry import OPS
from ..ir.types import TensorType
from .base import Pass, scan_nodes
from .hoist import _time_attrs

__all__ = ["stash", "STASH"]

_PREV_SLICE = (("slice", None, -1, 1),)


def _is(graph: Graph, v: Value, op: str) -> bool:
    d = graph.data(v[0])
    return d.kind == "op" and d.op == op


def _prev_of(graph: Graph, p: Value) -> tuple[int, int] | None:
    """``(scan, k)`` when ``p`` is ``concat(init_k[None], scan.out_k[:-1])`` for a carried state ``k``."""
    if not _is(graph, p, "concat") or graph.data(p[0]).attrs.get("axis") != 0:
        return None
    ins = graph.node_inputs(p[0])
    if len(ins) != 2 or not _is(graph, ins[0], "expand_dims") or not _is(graph, ins[1], "getitem"):
        return None
    if tuple(graph.data(ins[0][0]).attrs["axes"]) != (0,) or graph.data(ins[1][0]).attrs["index"] != _PREV_SLICE:
        return None
    (init,) = graph.node_inputs(ins[0][0])
    src = graph.node_inputs(ins[1][0])[0]
    if not _is(graph, src, "scan"):
        return None
    a = graph.data(src[0]).attrs
    k = src[1]
    if k >= a["n_states"] or graph.node_inputs(src[0])[a["n_seqs"] + k] != init:
        return None
    return src[0], k


def _add_output(graph: Graph, scan: int, node: int) -> Value:
    d = graph.data(scan)
    body: Graph = d.attrs["body"]
    value = (node, 0)
    for port, (v, _) in enumerate(body.outputs):
        if v == value and port >= d.attrs["n_states"]:
            return (scan, port)
    body.outputs.append((value, f"stash{node}"))
    steps = d.types[0].shape[0]
    t = body.type_of(value)
    d.types.append(TensorType(t.dtype, (steps, *t.shape)))
    return (scan, len(body.outputs) - 1)


_REVERSE = (("slice", None, None, -1),)


def _seeds(graph: Graph, scan: int) -> tuple[dict[Value, Value], dict[Value, Value]]:
    """Outer values that are, step by step, body values of ``scan`` (``twin``), and loop invariants (``inv``)."""
    a = graph.data(scan).attrs
    body: Graph = a["body"]
    outer_in = graph.node_inputs(scan)
    n_seqs, n_states = a["n_seqs"], a["n_states"]
    inv = {outer_in[n_seqs + n_states + m]: (body.inputs[n_seqs + n_states + m], 0) for m in range(a["n_nonseqs"])}
    twin: dict[Value, Value] = {}
    for k in range(n_seqs):
        s = outer_in[k]
        if not a["reverse"]:
            twin[s] = (body.inputs[k], 0)
            continue
        for u, pos in graph.uses(s):  # a reversed scan's steps read s[::-1] in order
            if pos == 0 and _is(graph, (u, 0), "getitem") and graph.data(u).attrs["index"] == _REVERSE:
                twin[(u, 0)] = (body.inputs[k], 0)
    for nid in graph.op_nodes():
        found = _prev_of(graph, (nid, 0))
        if found is not None and found[0] == scan:
            twin[(nid, 0)] = (body.inputs[n_seqs + found[1]], 0)
    for port, (v, _) in enumerate(body.outputs):
        twin[(scan, port)] = v
    return twin, inv


def _ancestors(graph: Graph, nid: int) -> set[int]:
    seen: set[int] = set()
    stack = [src for src, _ in graph.node_inputs(nid)]
    while stack:
        n = stack.pop()
        if n not in seen:
            seen.add(n)
            stack.extend(src for src, _ in graph.node_inputs(n))
    return seen


def _same_const(graph: Graph, outer: Value, body: Graph, inner: Value) -> bool:
    a, b = graph.data(outer[0]), body.data(inner[0])
    return (
        a.kind == b.kind == "const" and a.value is not None and b.value is not None
        and a.value.dtype == b.value.dtype and a.value.shape == b.value.shape and bool(np.array_equal(a.value, b.value))
    )  # fmt: skip


def _stash_recomputed(graph: Graph, scan: int) -> int:
    """Outer computations repeating, over all steps, what ``scan``'s body computes per step: read them from the loop."""
    body: Graph = graph.data(scan).attrs["body"]
    twin, inv = _seeds(graph, scan)
    seeds = set(twin)
    by_op: dict[str, list[int]] = {}
    for m in body.op_nodes():
        if OPS[body.data(m).op].pure and len(body.data(m).types) == 1:  # type: ignore[index]
            by_op.setdefault(body.data(m).op, []).append(m)  # type: ignore[arg-type]
    for nid in graph.op_nodes():
        d = graph.data(nid)
        ins = graph.node_inputs(nid)
        if d.op not in by_op or len(d.types) != 1 or not any(v in twin for v in ins):
            continue
        for m in by_op[d.op]:
            m_ins = body.node_inputs(m)
            if len(m_ins) != len(ins):
                continue
            kinds = []
            for v, bv in zip(ins, m_ins):
                if v in twin and twin[v] == bv:
                    kinds.append("seq")
                elif (v in inv and inv[v] == bv) or _same_const(graph, v, body, bv):
                    kinds.append("inv")
                else:
                    break
            else:
                bd = body.data(m)
                attrs = _time_attrs(bd.op, bd.attrs, [body.type_of(v) for v in m_ins], kinds, bd.types[0].ndim)  # type: ignore[arg-type]
                if attrs is not None and attrs == d.attrs:
                    twin[(nid, 0)] = (m, 0)
                    break
    upstream = _ancestors(graph, scan)  # what the loop reads cannot come from the loop
    changed = 0
    for v, inner in list(twin.items()):
        if v in seeds or graph.data(v[0]).kind != "op" or v[0] in upstream:
            continue
        outside = [u for u, _ in graph.uses(v) if (u, 0) not in twin] or graph.output_uses(v)
        if outside:
            graph.replace_all_uses_with(v, _add_output(graph, scan, inner[0]))
            changed += 1
    return changed


def stash(graph: Graph) -> int:
    """Replace outer recomputations of forward-loop values by stacked outputs of those loops; return how many."""
    changed = 0
    for scan in list(scan_nodes(graph)):
        changed += _stash_recomputed(graph, scan)
    for scan in list(scan_nodes(graph)):
        changed += stash(graph.data(scan).attrs["body"])
    if changed:
        graph.prune()
    return changed


STASH = Pass("stash", stash, "let forward loops emit the per-step products the backward pass would recompute")
