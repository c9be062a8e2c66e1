"""Gate grouping: a loop step runs one ``sigmoid`` over all its sigmoid gates.

An LSTM step computes its gate pre-activations as one matrix,
``gates = x_t + h_prev @ W_hid`` (the input projection precomputed), slices it
into column blocks and applies a nonlinearity per block: Lasagne's layout is
``[i, f, c, o]``, with a sigmoid on ``i``, ``f``, ``o`` and a tanh on ``c``.
Each of those is one ONNX Runtime kernel per step.  This pass permutes the
columns of the step's sequence and weight so that the sigmoid blocks come
first, ``[i, f, o | c]``, and replaces the separate sigmoids by one over the
leading block, sliced afterwards: the step runs one ``Sigmoid`` instead of
three (one node fewer per step: three slices of the grouped result replace
three sigmoids, and the four gate slices become two).

The rewrite is exact: a column permutation of a matrix product permutes the
columns of its result (each column is the same dot products), and a sigmoid
is elementwise.  It applies to a body value ``gates = add(seq_t, matmul(p, W))``
(either order) where ``seq_t`` is a sequence element and ``W`` a non-sequence
that nothing else in the body reads, ``gates`` has a static last axis, every
use of ``gates`` is a slice of a block of its last axis, the blocks tile it,
and at least two blocks are read only by sigmoids.  The permutation is pushed
into the producers outside the loop where that is free (a concatenation of
per-gate parameters or projections is reordered, through additions, matrix
products, stacking and time reversal that only that path reads); elsewhere
the outer value is reassembled once per call by slices and a concatenation.
A GRU step's reset and update gates read sums of two slices over adjacent
column blocks, ``sigmoid(x_t[:, r] + (h @ W)[:, r])``: those become one sum and
one sigmoid over the joined block, sliced (two nodes fewer per step; nothing
changes outside the loop).

The pass runs in the ``layout`` phase, after the performance passes reached
their fixed point: native RNN lowering, stashing and loop fusion have taken
the cells they match as written (with ``native_rnn`` switched off, a cell it
would have taken stays a loop and is grouped).
"""

from __future__ import annotations

import numpy as np

from ..ir.graph import Graph, Value
from .base import Pass, log, scan_nodes
from .pattern import emit, emit_const

__all__ = ["group_gates", "GROUP_GATES"]

FULL = ("slice", None, None, 1)
Ranges = list[tuple[int, int]]


def _is_op(graph: Graph, v: Value, op: str) -> bool:
    d = graph.data(v[0])
    return d.kind == "op" and d.op == op


def _block(graph: Graph, nid: int, ndim: int, width: int) -> tuple[int, int] | None:
    """The ``(start, stop)`` column block a getitem reads of the last axis (others whole), or None."""
    d = graph.data(nid)
    if d.kind != "op" or d.op != "getitem" or len(graph.node_inputs(nid)) != 1:
        return None
    index = d.attrs["index"]
    if len(index) != ndim or any(e != FULL for e in index[:-1]):
        return None
    kind, start, stop, *step = index[-1]
    if kind != "slice" or step != [1]:
        return None
    start = 0 if start is None else start
    stop = width if stop is None else stop
    if not (isinstance(start, int) and isinstance(stop, int) and 0 <= start < stop <= width):
        return None
    return start, stop


def _cols(graph: Graph, v: Value, a: int, b: int, prov: str | None) -> Value:
    ndim = graph.type_of(v).ndim
    return emit(graph, "getitem", [v], prov, index=(FULL,) * (ndim - 1) + (("slice", a, b, 1),))


def _single_use(graph: Graph, v: Value) -> bool:
    return len(graph.uses(v)) == 1 and not graph.output_uses(v) and len(graph.data(v[0]).types) == 1


def _permuted(graph: Graph, v: Value, order: Ranges, prov: str | None) -> Value:
    """``v`` with its last-axis column blocks ``order`` (old coordinates) laid side by side in that order."""
    t = graph.type_of(v)
    last = t.ndim - 1
    d = graph.data(v[0])
    ins = graph.node_inputs(v[0]) if d.kind == "op" else []
    if d.kind == "const" and d.value is not None:
        return emit_const(graph, np.concatenate([d.value[..., a:b] for a, b in order], axis=-1))
    if d.kind == "op" and d.op == "concat" and d.attrs["axis"] == last:
        # the same parts in another order: one concatenation, as the original was (used elsewhere or not)
        widths = [graph.type_of(x).shape[last] for x in ins]
        if all(isinstance(w, int) for w in widths):
            starts = [int(s) for s in np.cumsum([0] + widths[:-1])]
            parts: list[Value] = []
            for a, b in order:
                inside = [x for x, s, w in zip(ins, starts, widths) if a <= s and s + w <= b]
                if sum(graph.type_of(x).shape[last] for x in inside) != b - a:
                    break
                parts.extend(inside)
            else:
                return emit(graph, "concat", parts, prov, axis=last)
    if d.kind == "op" and _single_use(graph, v):
        if d.op == "concat" or (d.op == "getitem" and len(ins) == 1 and _keeps_last(graph, v)):
            return emit(graph, d.op, [_permuted(graph, x, order, prov) for x in ins], prov, **d.attrs)
        elif d.op == "expand_dims" and last not in d.attrs["axes"]:
            return emit(graph, "expand_dims", [_permuted(graph, ins[0], order, prov)], prov, **d.attrs)
        elif d.op in ("add", "sub", "mul") and len(ins) == 2:
            width = t.shape[last]
            new_ins = []
            for x in ins:
                tx = graph.type_of(x)
                if tx.ndim == 0 or tx.shape[-1] == 1:
                    new_ins.append(x)  # broadcast along the columns: the same for every block
                elif tx.shape[-1] == width:
                    new_ins.append(_permuted(graph, x, order, prov))
                else:
                    break
            else:
                return emit(graph, d.op, new_ins, prov, **d.attrs)
        elif d.op == "matmul" and len(ins) == 2 and graph.type_of(ins[1]).ndim >= 2:
            return emit(graph, "matmul", [ins[0], _permuted(graph, ins[1], order, prov)], prov, **d.attrs)
    return emit(graph, "concat", [_cols(graph, v, a, b, prov) for a, b in order], prov, axis=last)


def _keeps_last(graph: Graph, v: Value) -> bool:
    """Whether a getitem keeps the last axis whole and in place (it indexes leading axes only)."""
    index = graph.data(v[0]).attrs["index"]
    src_ndim = graph.type_of(graph.node_inputs(v[0])[0]).ndim
    consumed = [e for e in index if e[0] != "newaxis"]
    return len(consumed) < src_ndim or (len(consumed) == src_ndim and index[-1] == FULL)


def _group_in(graph: Graph, scan: int) -> bool:
    """Group the sigmoid gates of one gate matrix in ``scan``'s body; whether anything changed."""
    a = graph.data(scan).attrs
    body: Graph = a["body"]
    n_seqs, n_states = a["n_seqs"], a["n_states"]
    seq_inputs = body.inputs[:n_seqs]
    nonseq_inputs = body.inputs[n_seqs + n_states : n_seqs + n_states + a["n_nonseqs"]]
    body_out_values = {v for v, _ in body.outputs}
    for g in body.op_nodes():
        gates = (g, 0)
        if body.data(g).op != "add" or gates in body_out_values:
            continue
        t = body.type_of(gates)
        width = t.shape[-1] if t.ndim else None
        if not isinstance(width, int):
            continue
        blocks: dict[tuple[int, int], list[int]] = {}
        for u, _ in body.uses(gates):
            blk = _block(body, u, t.ndim, width)
            if blk is None:
                break
            blocks.setdefault(blk, []).append(u)
        else:
            ranges = sorted(blocks)
            if not ranges or ranges[0][0] != 0 or ranges[-1][1] != width or any(p[1] != q[0] for p, q in zip(ranges, ranges[1:])):
                continue
            sig = [r for r in ranges if all(_only_sigmoids(body, u, body_out_values) for u in blocks[r])]
            if len(sig) < 2:
                continue
            order = sig + [r for r in ranges if r not in sig]
            if order != ranges and not _permute_sources(graph, scan, body, g, order, seq_inputs, nonseq_inputs):
                continue
            _rewrite_body(body, gates, blocks, order, sig)
            return True
    return False


def _only_sigmoids(body: Graph, nid: int, outs: set[Value]) -> bool:
    uses = body.uses((nid, 0))
    return bool(uses) and (nid, 0) not in outs and all(body.data(u).op == "sigmoid" for u, _ in uses)


def _permute_sources(graph: Graph, scan: int, body: Graph, g: int, order: Ranges, seq_inputs: list[int], nonseq_inputs: list[int]) -> bool:
    """Permute the outer sequence and weight behind ``gates = seq_t + p @ W``; False when it has another form."""
    x, y = body.node_inputs(g)
    for s, m in ((x, y), (y, x)):
        if s[0] in seq_inputs and _is_op(body, m, "matmul") and len(body.uses(m)) == 1:
            w = body.node_inputs(m[0])[1]
            if w[0] not in nonseq_inputs or len(body.uses(s)) != 1 or len(body.uses(w)) != 1:
                continue
            if body.type_of(s).shape[-1] != body.type_of((g, 0)).shape[-1] or body.type_of(w).shape[-1] != body.type_of(m).shape[-1]:
                continue
            outer = list(graph.node_inputs(scan))
            k_seq, k_w = body.inputs.index(s[0]), body.inputs.index(w[0])
            if outer.count(outer[k_seq]) != 1 or outer.count(outer[k_w]) != 1:
                continue
            prov = graph.data(scan).provenance
            outer[k_seq] = _permuted(graph, outer[k_seq], order, prov)
            outer[k_w] = _permuted(graph, outer[k_w], order, prov)
            graph.set_inputs(scan, outer)
            return True
    return False


def _rewrite_body(body: Graph, gates: Value, blocks: dict[tuple[int, int], list[int]], order: Ranges, sig: Ranges) -> None:
    """``gates`` now has its columns in ``order``: one sigmoid over the leading sigmoid blocks, sliced."""
    width = body.type_of(gates).shape[-1]
    new_at: dict[tuple[int, int], tuple[int, int]] = {}
    pos = 0
    for a, b in order:
        new_at[(a, b)] = (pos, pos + b - a)
        pos += b - a
    n_sig = sum(b - a for a, b in sig)
    first_sigmoid = next(u for u, _ in body.uses((blocks[sig[0]][0], 0)))
    prov = body.data(first_sigmoid).provenance
    lead = gates if n_sig == width else _cols(body, gates, 0, n_sig, prov)
    grouped = emit(body, "sigmoid", [lead], prov)
    for r, getitems in blocks.items():
        p, q = new_at[r]
        if r in sig:
            part = _cols(body, grouped, p, q, prov)
            for gi in getitems:
                for u, _ in list(body.uses((gi, 0))):
                    body.replace_all_uses_with((u, 0), part)
        elif (p, q) != r:
            part = _cols(body, gates, p, q, body.data(getitems[0]).provenance)
            for gi in getitems:
                body.replace_all_uses_with((gi, 0), part)
    body.prune()


def _summed_blocks(body: Graph, sig: int, outs: set[Value]) -> tuple[Value, Value, tuple[int, int]] | None:
    """``(A, B, block)`` when sigmoid ``sig`` reads ``A[..., block] + B[..., block]`` (slices used only there)."""
    (pre,) = body.node_inputs(sig)
    if not _is_op(body, pre, "add") or len(body.uses(pre)) != 1 or pre in outs:
        return None
    parts = body.node_inputs(pre[0])
    if len(parts) != 2 or any(len(body.uses(p)) != 1 or p in outs for p in parts) or parts[0][0] == parts[1][0]:
        return None
    t = body.type_of(pre)
    found = []
    for p in parts:
        src = body.node_inputs(p[0])[0] if _is_op(body, p, "getitem") else None
        width = body.type_of(src).shape[-1] if src is not None else None
        blk = _block(body, p[0], t.ndim, width) if isinstance(width, int) and body.type_of(p).shape == t.shape else None
        if blk is None or body.type_of(src).ndim != t.ndim:
            return None
        found.append((src, blk))
    (a, blk_a), (b, blk_b) = found
    if blk_a != blk_b or body.type_of(a).shape[-1] != body.type_of(b).shape[-1]:
        return None
    return (a, b, blk_a) if a <= b else (b, a, blk_a)


def _group_summed(body: Graph) -> bool:
    """Sigmoids of ``A[..., blk] + B[..., blk]`` over adjacent blocks of the same ``A``, ``B`` (a GRU's reset
    and update gates): one sum and one sigmoid over the joined block, sliced."""
    outs = {v for v, _ in body.outputs}
    groups: dict[tuple[Value, Value], list[tuple[tuple[int, int], int]]] = {}
    for nid in body.op_nodes():
        if body.data(nid).op == "sigmoid":
            found = _summed_blocks(body, nid, outs)
            if found is not None:
                groups.setdefault(found[:2], []).append((found[2], nid))
    for (a, b), members in groups.items():
        members.sort()
        blocks = [blk for blk, _ in members]
        if len(members) < 2 or any(p[1] != q[0] for p, q in zip(blocks, blocks[1:])):
            continue
        lo, hi = blocks[0][0], blocks[-1][1]
        prov = body.data(members[0][1]).provenance
        width = body.type_of(a).shape[-1]
        joined = [v if (lo, hi) == (0, width) else _cols(body, v, lo, hi, prov) for v in (a, b)]
        grouped = emit(body, "sigmoid", [emit(body, "add", joined, prov)], prov)
        for (start, stop), nid in members:
            body.replace_all_uses_with((nid, 0), _cols(body, grouped, start - lo, stop - lo, prov))
        body.prune()
        return True
    return False


def group_gates(graph: Graph) -> int:
    """Group the sigmoid gates of loop steps (in ``graph`` and nested bodies); return how many groups."""
    changed = 0
    for scan in list(scan_nodes(graph)):
        while _group_in(graph, scan) or _group_summed(graph.data(scan).attrs["body"]):
            changed += 1
            log.debug("group_gates: grouped sigmoid gates in scan %s (%s)", scan, graph.data(scan).attrs.get("name"))
    for scan in list(scan_nodes(graph)):
        changed += group_gates(graph.data(scan).attrs["body"])
    if changed:
        graph.prune()
    return changed


GROUP_GATES = Pass("group_gates", group_gates, "run one sigmoid over the sigmoid gates of a loop step (gate columns regrouped)")
