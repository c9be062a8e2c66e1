"""Lowering of ``scan`` to an ONNX ``Scan`` or ``Loop``.

A scan over sequences (its step count is their length) becomes an ONNX
``Scan``: ONNX Runtime hands the body each sequence element as a view of the
input (no copy) and writes each step's outputs straight into the stacked
result.  A scan with a step-count input (or no sequences) becomes a ``Loop``:
the trip count is read from the first sequence's shape outside the loop (or
is the step-count input), and sequence element ``t`` is ``Gather(seq, i)``
(``T - 1 - i`` when reversed, with ``T - 1`` computed once outside).

Either way carried states are loop-carried values, non-sequences are read
from the enclosing graph by name, and the body holds no shape arithmetic.
Only the stacked outputs something reads are produced (the stacked carried
states are often unused: the next step reads them, nobody else), an output
listed twice is stacked once, and body outputs are named after the values
that compute them, so the body copies nothing (``Identity`` only where ONNX
needs a distinct name).
"""

from __future__ import annotations

from onnx import helper

from ...ir.types import TensorType
from ..context import LoweringContext, LowerNode, lowering, onnx_dtype


def _any_shape(name: str, t: TensorType) -> object:
    # rank and dtype only: loop-carried sizes may be symbolic and differ by name
    return helper.make_tensor_value_info(name, onnx_dtype(t.dtype), [None] * t.ndim)


def _distinct(ctx: LoweringContext, names: list[str], produced: set[str], hint: str) -> list[str]:
    """Body output names: the values themselves where allowed, else fresh ``Identity`` copies."""
    out: list[str] = []
    for name in names:
        if name in out or name not in produced:
            name = ctx.op("Identity", name, name=hint)
        out.append(name)
    return out


@lowering("scan", "scan_until")
def _scan(ctx: LoweringContext, n: LowerNode) -> list[str]:
    a = n.attrs
    body = a["body"]
    n_seqs, n_states, n_nonseqs = a["n_seqs"], a["n_states"], a["n_nonseqs"]
    seqs = n.inputs[:n_seqs]
    inits = n.inputs[n_seqs : n_seqs + n_states]
    nonseqs = n.inputs[n_seqs + n_states : n_seqs + n_states + n_nonseqs]
    label = a.get("name") or "scan"
    until = n.op == "scan_until"  # the body's last output stops the loop: a Loop whose condition is its negation
    as_scan = n_seqs > 0 and not a["has_n_steps"] and not until
    used = n.used or [True] * len(body.outputs)

    # which stacked outputs to produce: used ones, each distinct value once
    first_port: dict[tuple[int, int], int] = {}
    stacked_ports: list[int] = []
    for port, (v, _) in enumerate(body.outputs):
        if used[port] and v not in first_port:
            first_port[v] = port
            stacked_ports.append(port)

    state_in = [ctx.fresh(f"{label}/state{j}") for j in range(n_states)]
    seq_in = [ctx.fresh(f"{label}/seq{k}") for k in range(n_seqs)] if as_scan else []
    iter_name = cond_in = ""
    last = None
    if not as_scan:
        if a["has_n_steps"]:
            trip = n.inputs[-1]
        else:
            zero = ctx.const(0, dtype="int64")
            trip = ctx.op("Gather", ctx.op("Shape", seqs[0], name=label), zero, axis=0, name=label)
        last = ctx.op("Sub", trip, ctx.const(1, dtype="int64"), name=label) if a["reverse"] and n_seqs else None
        iter_name = ctx.fresh(f"{label}/i")
        cond_in = ctx.fresh(f"{label}/cond_in")
    with ctx.subgraph() as body_nodes:
        value_name: dict[tuple[int, int], str] = {}
        if as_scan:
            for k in range(n_seqs):
                value_name[(body.inputs[k], 0)] = seq_in[k]
        elif n_seqs:
            idx = ctx.op("Sub", last, iter_name, name=label) if last else iter_name
            for k in range(n_seqs):
                value_name[(body.inputs[k], 0)] = ctx.op("Gather", seqs[k], idx, axis=0, name=f"{label}/seq{k}")
        for j in range(n_states):
            value_name[(body.inputs[n_seqs + j], 0)] = state_in[j]
        for m in range(n_nonseqs):
            value_name[(body.inputs[n_seqs + n_states + m], 0)] = nonseqs[m]
        ctx.lower(body, value_name)
        produced = {o for node in body_nodes for o in node.output}
        wanted = [value_name[body.outputs[j][0]] for j in range(n_states)]
        wanted += [value_name[body.outputs[p][0]] for p in stacked_ports]
        outs = _distinct(ctx, wanted, produced, f"{label}/out")
        cond_out = ctx.op("Identity", cond_in, name=label) if not as_scan else ""
        if until:
            cond_out = ctx.op("Not", value_name[body.outputs[-1][0]], name=label)
    carried, stacked = outs[:n_states], outs[n_states:]
    state_types = [body.data(body.inputs[n_seqs + j]).types[0] for j in range(n_states)]
    stacked_types = [body.type_of(body.outputs[p][0]) for p in stacked_ports]
    body_in = [_any_shape(s, t) for s, t in zip(state_in, state_types)]
    body_out = [_any_shape(c, t) for c, t in zip(carried, state_types)]
    body_out += [_any_shape(s, t) for s, t in zip(stacked, stacked_types)]
    n_out = n_states + len(stacked_ports)
    if as_scan:
        seq_types = [body.data(body.inputs[k]).types[0] for k in range(n_seqs)]
        body_in += [_any_shape(s, t) for s, t in zip(seq_in, seq_types)]
        graph = helper.make_graph(body_nodes, f"{label}_body", body_in, body_out)
        direction = [1 if a["reverse"] else 0] * n_seqs
        results = ctx.node(
            "Scan", [*inits, *seqs], n_out=n_out, name=label, body=graph, num_scan_inputs=n_seqs,
            scan_input_directions=direction,
        )  # fmt: skip
    else:
        graph = helper.make_graph(
            body_nodes,
            f"{label}_body",
            [helper.make_tensor_value_info(iter_name, onnx_dtype("int64"), []),
             helper.make_tensor_value_info(cond_in, onnx_dtype("bool"), [])] + body_in,
            [helper.make_tensor_value_info(cond_out, onnx_dtype("bool"), [])] + body_out,
        )  # fmt: skip
        # an explicit true condition (rather than an empty input) keeps every ONNX runtime on the counted path
        keep_going = ctx.const(True, dtype="bool")
        results = ctx.node("Loop", [trip, keep_going, *inits], n_out=n_out, name=label, body=graph)
    by_port = dict(zip(stacked_ports, results[n_states:]))
    return [by_port.get(first_port.get(v, -1), "") if used[p] else "" for p, (v, _) in enumerate(body.outputs)]
