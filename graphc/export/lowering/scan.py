"""Lowering of ``scan`` to an ONNX ``Loop``.

The trip count is read from the first sequence's shape outside the loop (or
is the step-count input); inside, sequence element ``t`` is ``Gather(seq, i)``
on the time-major sequence (``T - 1 - i`` when reversed, with ``T - 1``
computed once outside), carried states are loop-carried values, non-sequences
are read from the enclosing graph by name, and every body output is a scan
output stacked on axis 0.  The body holds no shape arithmetic.
"""

from __future__ import annotations

from onnx import helper

from ...ir.types import TensorType
from ..context import LoweringContext, LowerNode, lowering, onnx_dtype


def _any_shape(name: str, t: TensorType) -> object:
    # rank and dtype only: loop-carried sizes may be symbolic and differ by name
    return helper.make_tensor_value_info(name, onnx_dtype(t.dtype), [None] * t.ndim)


@lowering("scan")
def _scan(ctx: LoweringContext, n: LowerNode) -> list[str]:
    a = n.attrs
    body = a["body"]
    n_seqs, n_states, n_nonseqs = a["n_seqs"], a["n_states"], a["n_nonseqs"]
    seqs = n.inputs[:n_seqs]
    inits = n.inputs[n_seqs : n_seqs + n_states]
    nonseqs = n.inputs[n_seqs + n_states : n_seqs + n_states + n_nonseqs]
    label = a.get("name") or "scan"
    if a["has_n_steps"]:
        trip = n.inputs[-1]
    else:
        zero = ctx.const(0, dtype="int64")
        trip = ctx.op("Gather", ctx.op("Shape", seqs[0], name=label), zero, axis=0, name=label)
    last = ctx.op("Sub", trip, ctx.const(1, dtype="int64"), name=label) if a["reverse"] and n_seqs else None

    iter_name = ctx.fresh(f"{label}/i")
    cond_in = ctx.fresh(f"{label}/cond_in")
    state_in = [ctx.fresh(f"{label}/state{j}") for j in range(n_states)]
    with ctx.subgraph() as body_nodes:
        value_name: dict[tuple[int, int], str] = {}
        if n_seqs:
            idx = ctx.op("Sub", last, iter_name, name=label) if last else iter_name
            for k in range(n_seqs):
                value_name[(body.inputs[k], 0)] = ctx.op("Gather", seqs[k], idx, axis=0, name=f"{label}/seq{k}")
        for j in range(n_states):
            value_name[(body.inputs[n_seqs + j], 0)] = state_in[j]
        for m in range(n_nonseqs):
            value_name[(body.inputs[n_seqs + n_states + m], 0)] = nonseqs[m]
        ctx.lower(body, value_name)
        cond_out = ctx.op("Identity", cond_in, name=label)
        carried = [ctx.op("Identity", value_name[body.outputs[j][0]], name=f"{label}/carry") for j in range(n_states)]
        stacked = [ctx.op("Identity", value_name[v], name=f"{label}/out") for v, _ in body.outputs]
    state_types = [body.data(body.inputs[n_seqs + j]).types[0] for j in range(n_states)]
    out_types = [body.type_of(v) for v, _ in body.outputs]
    graph = helper.make_graph(
        body_nodes,
        f"{label}_body",
        [helper.make_tensor_value_info(iter_name, onnx_dtype("int64"), []),
         helper.make_tensor_value_info(cond_in, onnx_dtype("bool"), [])]
        + [_any_shape(s, t) for s, t in zip(state_in, state_types)],
        [helper.make_tensor_value_info(cond_out, onnx_dtype("bool"), [])]
        + [_any_shape(c, t) for c, t in zip(carried, state_types)]
        + [_any_shape(s, t) for s, t in zip(stacked, out_types)],
    )
    # an explicit true condition (rather than an empty input) keeps every ONNX runtime on the counted path
    keep_going = ctx.const(True, dtype="bool")
    outs = ctx.node("Loop", [trip, keep_going, *inits], n_out=n_states + len(stacked), name=label, body=graph)
    return outs[n_states:]
