"""Hoisting work out of loops (precompute_input, generalised; PyTensor's ``scan_push_out_seq``).

Inside a scan body every value is loop-invariant (it depends only on
non-sequences and constants), per-step (it depends on sequence elements but
not on carried states), or carried.  This pass moves

* loop-invariant computations out of the loop (computed once; their results
  become non-sequences), and
* per-step computations that batch over time (elementwise ops, ``x_t @ W``,
  slicing, transposes, reductions...) out of the loop as one op over all steps
  (their results become new sequences): the input projection of every step
  becomes one large matmul.

What stays in the body is what truly depends on the carried states.  Random
ops stay in the loop (each step draws its own samples).
"""

from __future__ import annotations

from typing import Any

from ..ir.graph import Graph, NodeData, Value
from ..ir.registry import OPS
from ..ir.types import TensorType
from .base import Pass, for_each_scan
from .pattern import emit

__all__ = ["hoist", "HOIST"]

_ELEMENTWISE = {
    name for name, op in OPS.items()
    if op.arity in (1, 2, 3) and name in {
        "neg", "abs", "sign", "exp", "log", "log1p", "sqrt", "tanh", "sigmoid", "softplus", "relu", "floor",
        "ceil", "round", "sin", "cos", "erf", "reciprocal", "logical_not", "add", "sub", "mul", "div",
        "floor_div", "mod", "pow", "maximum", "minimum", "eq", "neq", "lt", "le", "gt", "ge", "logical_and",
        "logical_or", "logical_xor", "where", "cast", "grad_clip",
    }
}


_MOVEMENT = frozenset({"getitem", "transpose", "expand_dims", "squeeze", "concat"})


def _time_attrs(
    op: str, attrs: dict[str, Any], in_types: list[TensorType], kinds: list[str], out_ndim: int
) -> dict[str, Any] | None:
    """The attributes of ``op`` applied over all steps at once (a new leading time axis), or None."""
    if op in _ELEMENTWISE:
        # the time axis lines up only where every per-step operand has the result's rank
        if any(k == "seq" and t.ndim != out_ndim for t, k in zip(in_types, kinds)):
            return None
        return dict(attrs)
    if op == "matmul":
        # x_t @ W with W loop-invariant and 2-d: (T, ..., F) @ (F, H)
        if kinds == ["seq", "inv"] and in_types[1].ndim == 2 and in_types[0].ndim >= 1:
            return dict(attrs)
        return None
    if any(k != "seq" for k in kinds[:1]):
        return None
    if op == "getitem":
        if any(k == "seq" for k in kinds[1:]):
            return None
        return {**attrs, "index": (("slice", None, None, 1),) + tuple(attrs["index"])}
    if op == "transpose":
        return {**attrs, "perm": (0,) + tuple(p + 1 for p in attrs["perm"])}
    if op in ("expand_dims", "squeeze"):
        return {**attrs, "axes": tuple(a + 1 for a in attrs["axes"])}
    if op.startswith("reduce_"):
        axes = attrs.get("axes")
        axes = tuple(range(in_types[0].ndim)) if axes is None else axes
        return {**attrs, "axes": tuple(a + 1 for a in axes)}
    if op in ("argmax", "argmin", "softmax", "log_softmax"):
        return {**attrs, "axis": attrs["axis"] + 1}
    if op == "concat" and all(k == "seq" for k in kinds):
        return {**attrs, "axis": attrs["axis"] + 1}
    if op == "take" and kinds[1:] == ["inv"]:
        return {**attrs, "axis": attrs["axis"] + 1}
    return None


def _classify(body: Graph, n_seqs: int, n_states: int) -> dict[int, str]:
    kinds: dict[int, str] = {}
    for k, nid in enumerate(body.inputs):
        kinds[nid] = "seq" if k < n_seqs else "state" if k < n_seqs + n_states else "inv"
    for nid in body.toposort():
        if nid in kinds:
            continue
        d = body.data(nid)
        if d.kind in ("const", "param"):
            kinds[nid] = "inv"
            continue
        ins = [kinds[src] for src, _ in body.node_inputs(nid)]
        if "state" in ins or not OPS[d.op].pure or d.op == "scan":  # type: ignore[index]
            kinds[nid] = "state"
        elif "seq" in ins:
            kinds[nid] = "seq"
        else:
            kinds[nid] = "inv"
    return kinds


def _hoist_one(graph: Graph, scan: int) -> int:
    d = graph.data(scan)
    a = d.attrs
    body: Graph = a["body"]
    n_seqs, n_states, n_nonseqs = a["n_seqs"], a["n_states"], a["n_nonseqs"]
    outer_in = graph.node_inputs(scan)
    kinds = _classify(body, n_seqs, n_states)
    # outer value of each hoisted body value; inputs first
    outer: dict[Value, Value] = {}
    for k, nid in enumerate(body.inputs):
        if kinds[nid] != "state":
            outer[(nid, 0)] = outer_in[k]
    hoisted: set[int] = set()
    for nid in body.toposort():
        bd = body.data(nid)
        if nid in body.inputs or kinds[nid] == "state":
            continue
        if bd.kind == "const":
            outer[(nid, 0)] = (graph.add_node(NodeData("const", list(bd.types), value=bd.value, name=bd.name)), 0)
            continue
        ins = body.node_inputs(nid)
        if any(v not in outer for v in ins):
            continue
        if kinds[nid] == "inv":
            new = graph.add_node(
                NodeData("op", list(bd.types), op=bd.op, attrs=dict(bd.attrs), provenance=bd.provenance),
                [outer[v] for v in ins],
            )
            for port in range(len(bd.types)):
                outer[(nid, port)] = (new, port)
            hoisted.add(nid)
            continue
        attrs = _time_attrs(
            bd.op, bd.attrs, [body.type_of(v) for v in ins], [kinds[v[0]] for v in ins], bd.types[0].ndim  # type: ignore[arg-type]
        )
        if attrs is None or len(bd.types) != 1:
            continue
        try:
            outer[(nid, 0)] = emit(graph, bd.op, [outer[v] for v in ins], bd.provenance, **attrs)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            continue
        hoisted.add(nid)
    # pure data movement (slices, transposes...) is worth hoisting only to feed hoisted compute:
    # left at the frontier it would just turn one per-step sequence into several
    changed = True
    while changed:
        changed = False
        for nid in list(hoisted):
            if kinds[nid] != "seq" or body.data(nid).op not in _MOVEMENT:
                continue
            if body.data(nid).op == "concat" and len(body.node_inputs(nid)) > 1:
                continue  # joining sequences outside leaves one per-step read instead of several
            users = [u for port in range(len(body.data(nid).types)) for u, _ in body.uses((nid, port))]
            if users and all(u not in hoisted for u in users) or (not users and body.output_uses((nid, 0))):
                hoisted.discard(nid)
                changed = True
    # frontier: hoisted values still read inside the loop (or returned by it)
    frontier: list[Value] = []
    for nid in hoisted:
        for port in range(len(body.data(nid).types)):
            v = (nid, port)
            users = [u for u, _ in body.uses(v) if u not in hoisted]
            if users or body.output_uses(v):
                frontier.append(v)
    if not hoisted:
        graph.prune()
        return 0
    new_seqs = [v for v in frontier if kinds[v[0]] == "seq"]
    new_invs = [v for v in frontier if kinds[v[0]] == "inv"]
    for v in new_seqs + new_invs:
        t = body.type_of(v)
        ph = body.add_node(NodeData("input", [t], name=f"hoisted{v[0]}"))
        body.replace_all_uses_with(v, (ph, 0))
        kinds[ph] = "seq" if v in new_seqs else "inv"
        outer[(ph, 0)] = outer[v]
        if v in new_seqs:
            body.inputs.insert(n_seqs, ph)
            n_seqs += 1
        else:
            body.inputs.append(ph)
            n_nonseqs += 1
    body.prune()
    # drop body inputs nothing reads any more (sequences and non-sequences only)
    keep = []
    for nid in body.inputs:
        is_state = kinds[nid] == "state"
        if is_state or body.uses((nid, 0)) or body.output_uses((nid, 0)):
            keep.append(nid)
    if not a["has_n_steps"] and not any(kinds[nid] == "seq" for nid in keep):
        # nothing per-step remains (every step computes the same): the first sequence, unread,
        # still gives the loop its length (the body was already rewritten, so bailing out is no option)
        keep.insert(0, body.inputs[0])
    dropped = [nid for nid in body.inputs if nid not in keep]
    seq_in = [nid for nid in keep if kinds[nid] == "seq"]
    body.inputs = keep
    for nid in dropped:
        body.remove_node(nid)
    state_in = [nid for nid in keep if kinds[nid] == "state"]
    inv_in = [nid for nid in keep if kinds[nid] == "inv"]
    body.inputs = seq_in + state_in + inv_in
    new_inputs = [outer[(nid, 0)] for nid in seq_in] + outer_in[a["n_seqs"] : a["n_seqs"] + a["n_states"]]
    new_inputs += [outer[(nid, 0)] for nid in inv_in]
    if a["has_n_steps"]:
        new_inputs.append(outer_in[-1])
    d.attrs = {**a, "n_seqs": len(seq_in), "n_nonseqs": len(inv_in)}
    graph.set_inputs(scan, new_inputs)
    graph.prune()
    return len(hoisted)


def hoist(graph: Graph) -> int:
    """Hoist loop-invariant and time-batchable per-step work out of every scan; return how many ops moved."""
    return for_each_scan(graph, _hoist_one)


HOIST = Pass("hoist", hoist, "move loop-invariant and per-step input work out of loops (precompute_input)")
