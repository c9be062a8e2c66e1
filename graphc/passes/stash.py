"""Stash instead of recompute: let a forward loop emit per-step products the backward pass needs.

The backward pass of a scan recomputes each forward step from the step's
starting states, ``prev = concat(init[None], states[:-1])``; hoisting then
turns the recomputed ``prev_h @ W_hid`` of every step into one large matmul
over all steps after the loop.  The forward loop computed exactly those
products already (``h_{t-1} @ W_hid``, inside its step).  This pass finds an
outer ``matmul(prev_k, W)`` whose per-step twin ``matmul(state_k, W)`` is in
the forward body, makes the twin an extra stacked output of the forward
scan, and reads that instead: the forward loop writes a value it computes
anyway (ONNX ``Scan`` writes it in place) and the large matmul is gone.

Values are the forward step's own, so the gradient matches the forward pass
bit for bit (recomputing in another blocking could differ in the last bits).
"""

from __future__ import annotations

from ..ir.graph import Graph, Value
from ..ir.types import TensorType
from .base import Pass, scan_nodes

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


def _twin(graph: Graph, scan: int, k: int, use: int, pos: int) -> int | None:
    """The body node of ``scan`` computing ``use`` per step, with carried state ``k`` at input ``pos``."""
    a = graph.data(scan).attrs
    body: Graph = a["body"]
    outer_in = graph.node_inputs(scan)
    n_seqs, n_states = a["n_seqs"], a["n_states"]
    inner_of = {outer_in[n_seqs + n_states + m]: body.inputs[n_seqs + n_states + m] for m in range(a["n_nonseqs"])}
    want: list[Value | None] = []
    for i, v in enumerate(graph.node_inputs(use)):
        if i == pos:
            want.append((body.inputs[n_seqs + k], 0))
        else:
            inner = inner_of.get(v)
            if inner is None:
                return None
            want.append((inner, 0))
    for nid in body.op_nodes():
        d = body.data(nid)
        if d.op == "matmul" and d.attrs == graph.data(use).attrs and body.node_inputs(nid) == want:
            return nid
    return None


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


def stash(graph: Graph) -> int:
    """Replace recomputed per-step matmuls by stacked outputs of the forward scans; return how many."""
    changed = 0
    for nid in graph.op_nodes():
        d = graph.data(nid)
        if d.op != "matmul":
            continue
        for pos, v in enumerate(graph.node_inputs(nid)):
            found = _prev_of(graph, v)
            if found is None:
                continue
            scan, k = found
            twin = _twin(graph, scan, k, nid, pos)
            if twin is None:
                continue
            graph.replace_all_uses_with((nid, 0), _add_output(graph, scan, twin))
            changed += 1
            break
    for scan in list(scan_nodes(graph)):
        changed += stash(graph.data(scan).attrs["body"])
    if changed:
        graph.prune()
    return changed


STASH = Pass("stash", stash, "let forward loops emit the per-step products the backward pass would recompute")
