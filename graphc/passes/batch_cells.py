"""Batching the cells of two fused loops: one op per step for both, on stacked values.

Used by :mod:`graphc.passes.fuse_loops`.  When two scans fused into one run
the same step (their bodies are the same graph up to the values they read: the
forward and backward cells of a bidirectional layer), the fused body need not
hold both cells side by side: it can run one cell on values stacked along a
new leading "cell" axis of size 2.  Carried states become ``(2, ...)``
stacks, sequences ``(time, 2, ...)`` stacks (built once outside the loop, the
reverse cell's reversed), and non-sequences the two cells read differently
(their weights) ``(2, ...)`` stacks; values both read (a shared input) stay
as they are and broadcast.  Each op of the step then runs once for both
cells: ``h @ W_hid`` becomes one batched matmul of ``(2, batch, h)`` by
``(2, h, 4h)`` (the same products, so the same values up to the GEMM's
rounding), each gate nonlinearity one op over both cells' gates, the mask's
``where`` one op.  The loop's stacked outputs are ``(time, 2, ...)``; each
scan's outputs are its slice of them.

Batching is exact by construction (every op computes per cell what it
computed before) and applies only where each op has a known form over a
leading axis: elementwise ops (lower-rank stacked operands get unit axes so
that broadcasting lines up), 2-d matmuls, and the data movement and
reductions of :func:`graphc.passes.hoist._time_attrs`.  Anything else (shape
reads, random draws, nested loops, ops of several outputs) leaves the fused
loop holding the two cells side by side.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..ir.graph import Graph, NodeData, Value
from ..ir.registry import OPS
from ..ir.types import TensorType
from .base import frozen_attrs, log
from .hoist import _ELEMENTWISE, _time_attrs
from .pattern import emit, reversed_in_time

__all__ = ["batch_cells", "pair_bodies"]



def pair_bodies(body_a: Graph, body_b: Graph) -> dict[int, int] | None:
    """Node ``a -> b`` correspondence when the two bodies compute the same step from their inputs, else None.

    Inputs correspond by position; every node an output depends on must have
    a twin with the same op, attributes, output types (dtype and rank) and
    corresponding inputs in order; constants must be equal, parameters the same.
    """
    if len(body_a.inputs) != len(body_b.inputs) or len(body_a.outputs) != len(body_b.outputs):
        return None
    pair: dict[int, int] = {}
    back: dict[int, int] = {}
    for x, y in zip(body_a.inputs, body_b.inputs):
        tx, ty = body_a.data(x).types[0], body_b.data(y).types[0]
        if tx != ty:
            return None
        pair[x], back[y] = y, x
    stack: list[tuple[Value, Value]] = [(va, vb) for (va, _), (vb, _) in zip(body_a.outputs, body_b.outputs)]
    while stack:
        (na, pa), (nb, pb) = stack.pop()
        if pa != pb:
            return None
        if na in pair or nb in back:
            if pair.get(na) != nb:
                return None
            continue
        da, db = body_a.data(na), body_b.data(nb)
        if da.kind != db.kind or [(t.dtype, t.ndim) for t in da.types] != [(t.dtype, t.ndim) for t in db.types]:
            return None
        if da.kind == "const":
            if da.value is None or db.value is None or da.value.dtype != db.value.dtype:
                return None
            if not np.array_equal(da.value, db.value):
                return None
        elif da.kind == "param":
            if da.ref is not db.ref:
                return None
        elif da.kind == "op":
            if da.op != db.op or da.op in ("scan", "scan_until") or not OPS[da.op].pure:  # type: ignore[index]
                return None
            if frozen_attrs(da.attrs) != frozen_attrs(db.attrs):
                return None
            ins_a, ins_b = body_a.node_inputs(na), body_b.node_inputs(nb)
            if len(ins_a) != len(ins_b):
                return None
            stack.extend(zip(ins_a, ins_b))
        else:
            return None
        pair[na], back[nb] = nb, na
    return pair


def _stacked_op(body: Graph, d: NodeData, args: list[tuple[Value, bool]], in_types: list[TensorType]) -> Value | None:
    """``d``'s op over both cells at once (stacked operands carry a leading cell axis), or None."""
    out_ndim = d.types[0].ndim
    values = [v for v, _ in args]
    prov = d.provenance
    if d.op in _ELEMENTWISE:
        lined_up = []
        for (v, stacked), t in zip(args, in_types):
            if stacked and t.ndim < out_ndim:  # (2, h) against (2, batch, h): unit axes after the cell axis
                v = emit(body, "expand_dims", [v], prov, axes=tuple(range(1, 1 + out_ndim - t.ndim)))
            lined_up.append(v)
        return emit(body, d.op, lined_up, prov, **d.attrs)
    if d.op == "matmul":
        if any(t.ndim != 2 for t in in_types):
            return None
        return emit(body, "matmul", values, prov, **d.attrs)  # a batched product over the cell axis
    kinds = ["seq" if stacked else "inv" for _, stacked in args]
    attrs = _time_attrs(d.op, d.attrs, in_types, kinds, out_ndim)  # type: ignore[arg-type]
    if attrs is None:
        return None
    return emit(body, d.op, values, prov, **attrs)  # type: ignore[arg-type]


def _batched_body(body_a: Graph, pair: dict[int, int], stacked_in: list[bool]) -> tuple[Graph, list[bool]] | None:
    """Body A rewritten over stacked values, and which of its outputs are stacked; None where an op has no stacked form."""
    body = Graph()
    body.frozen_params, body.target = body_a.frozen_params, body_a.target
    val: dict[Value, tuple[Value, bool]] = {}
    for k, nid in enumerate(body_a.inputs):
        old = body_a.data(nid)
        t = old.types[0]
        if stacked_in[k]:
            t = TensorType(t.dtype, (2, *t.shape))
        ph = body.add_node(NodeData("input", [t], name=old.name, ref=old.ref, provenance=old.provenance))
        val[(nid, 0)] = ((ph, 0), stacked_in[k])
    body.inputs = [val[(nid, 0)][0][0] for nid in body_a.inputs]
    for nid in body_a.toposort():
        if nid in body_a.inputs or nid not in pair:
            continue
        d = body_a.data(nid)
        if d.kind != "op":
            new = body.add_node(NodeData(**{**d.__dict__, "types": list(d.types), "attrs": dict(d.attrs)}))
            val[(nid, 0)] = ((new, 0), False)
            continue
        ins = body_a.node_inputs(nid)
        args = [val[v] for v in ins]
        if not any(stacked for _, stacked in args):  # the same for both cells: computed once
            new = body.add_node(
                NodeData("op", list(d.types), op=d.op, attrs=dict(d.attrs), name=d.name, provenance=d.provenance),
                [v for v, _ in args],
            )
            for port in range(len(d.types)):
                val[(nid, port)] = ((new, port), False)
            continue
        if len(d.types) != 1:
            return None
        try:
            out = _stacked_op(body, d, args, [body_a.type_of(v) for v in ins])
        except (TypeError, ValueError):
            return None
        if out is None:
            return None
        val[(nid, 0)] = (out, True)
    outs = [val[v] for v, _ in body_a.outputs]
    body.outputs = [(v, name) for (v, _), (_, name) in zip(outs, body_a.outputs)]
    return body, [stacked for _, stacked in outs]


def _stackable(ta: TensorType, tb: TensorType, time_axis: bool) -> bool:
    """Whether values of these types stack: provably equal shapes.

    A sequence of a scan without a step count is as long as the scan runs (ONNX
    ``Scan`` requires its sequences to be equally long), so its time axis may
    differ in name only (the gradient's sequences get fresh names for it).
    """
    if ta.dtype != tb.dtype or ta.ndim != tb.ndim:
        return False
    return all(
        x == y or (axis == 0 and time_axis and not (isinstance(x, int) and isinstance(y, int)))
        for axis, (x, y) in enumerate(zip(ta.shape, tb.shape))
    )


def _stack(graph: Graph, a: Value, b: Value, axis: int, prov: str | None) -> Value:
    parts = [emit(graph, "expand_dims", [v], prov, axes=(axis,)) for v in (a, b)]
    return emit(graph, "concat", parts, prov, axis=axis)


def batch_cells(graph: Graph, first: int, second: int) -> int | None:
    """Replace scans ``first`` and ``second`` (independent, same steps) by one scan running both cells
    as one on stacked values; return the new node, or None (nothing changed) when the bodies differ
    or an op of the step has no stacked form."""
    da, db = graph.data(first), graph.data(second)
    a, b = da.attrs, db.attrs
    if any(a[k] != b[k] for k in ("n_seqs", "n_states", "n_nonseqs", "has_n_steps")):
        return None
    body_a: Graph = a["body"]
    body_b: Graph = b["body"]
    pair = pair_bodies(body_a, body_b)
    if pair is None:
        return None
    n_seqs, n_states, n_nonseqs = a["n_seqs"], a["n_states"], a["n_nonseqs"]
    ins_a, ins_b = graph.node_inputs(first), graph.node_inputs(second)
    flip_b = a["reverse"] != b["reverse"]
    n_in = n_seqs + n_states + n_nonseqs
    stacked_in = []
    for k in range(n_in):
        va, vb = ins_a[k], ins_b[k]
        is_seq = k < n_seqs
        same = va == vb and not (flip_b and is_seq) and not n_seqs <= k < n_seqs + n_states  # states: per cell
        if not same and not _stackable(graph.type_of(va), graph.type_of(vb), is_seq and not a["has_n_steps"]):
            return None
        stacked_in.append(not same)
    built = _batched_body(body_a, pair, stacked_in)
    if built is None:
        return None
    body, stacked_out = built
    if not all(stacked_out[:n_states]):
        return None  # a state the step replaces by a shared value: keep the cells apart
    prov = da.provenance
    inputs: list[Value] = []
    for k in range(n_in):
        va, vb = ins_a[k], ins_b[k]
        if not stacked_in[k]:
            inputs.append(va)
        elif k < n_seqs:
            inputs.append(_stack(graph, va, reversed_in_time(graph, vb, db.provenance) if flip_b else vb, 1, prov))
        else:
            inputs.append(_stack(graph, va, vb, 0, prov))
    if a["has_n_steps"]:
        inputs.append(ins_a[-1])
    steps = da.types[0].shape[0]
    types = [TensorType(body.type_of(v).dtype, (steps, *body.type_of(v).shape)) for v, _ in body.outputs]
    attrs: dict[str, Any] = {
        **a,
        "body": body,
        "truncate_gradient": a["truncate_gradient"] if a["truncate_gradient"] == b["truncate_gradient"] else -1,
        "name": f"{a.get('name') or 'scan'}+{b.get('name') or 'scan'}",
        "step": None,  # the step function's expressions describe one cell
    }
    fused = graph.add_node(NodeData("op", types, op="scan", attrs=attrs, provenance=prov), inputs)
    every = ("slice", None, None, 1)
    for port, stacked in enumerate(stacked_out):
        for old, cell in ((first, 0), (second, 1)):
            new = emit(graph, "getitem", [(fused, port)], prov, index=(every, ("int", cell))) if stacked else (fused, port)
            graph.replace_all_uses_with((old, port), new)
    log.debug("fuse_loops: batched the cells of scans %s and %s into %s (%s)", first, second, fused, attrs["name"])
    return fused
