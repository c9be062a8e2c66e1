"""Lowering of ``scan`` to an ONNX ``Scan`` or ``Loop``.

A scan over sequences (its step count is their length) becomes an ONNX
``Scan`` by default: ONNX Runtime hands the body each sequence element as a
view of the input (no copy) and writes each step's outputs straight into the
stacked result.  A scan with a step-count input (or no sequences), a scan that
stops on a condition, and every scan when the model is exported with
``loop_op='loop'`` become a ``Loop``: the trip count is read from the first
sequence's shape outside the loop (or is the step-count input), so a
zero-length sequence runs zero iterations (ONNX Runtime's ``Scan`` refuses
one), and sequence element ``t`` is ``Gather(seq, i)`` on the iteration
number (``T - 1 - i`` when reversed, with ``T - 1`` computed once outside).
The Loop's scan outputs are stacked in the order the iterations ran, which is
the IR scan's order (a reversed scan's outputs are stacked from the last
element's step on, as an ONNX ``Scan`` with forward output directions writes
them), so neither form flips anything.  A sequence given as ``x[::-1]`` (loop
fusion feeds a reverse scan's sequences so) is read backwards from ``x``
instead: ``scan_input_directions`` of a ``Scan``, ``Gather(x, T - 1 - i)`` in a
``Loop``, and the reversed copy is dropped when nothing else reads it.

A ``Loop`` that runs zero iterations cannot know the per-step shape of its
scan outputs (ONNX Runtime writes 0 for every size the body does not fix,
``onnx.reference`` a 1-d empty array), so with ``loop_op='loop'`` each stacked
output is reshaped to ``(steps, *step shape)`` after the loop (free for a
non-empty result): the step shape is the initial state's for a carried state,
else built from the scan inputs whose types carry the same sizes.

Either way carried states are loop-carried values, non-sequences are read
from the enclosing graph by name, and the body holds no shape arithmetic.
Only the stacked outputs something reads are produced (the stacked carried
states are often unused: the next step reads them, nobody else), an output
listed twice is stacked once, and body outputs are named after the values
that compute them, so the body copies nothing (``Identity`` only where ONNX
needs a distinct name).
"""

from __future__ import annotations

import numpy as np
from onnx import helper

from ...ir.graph import Graph
from ...ir.types import Dim, TensorType
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


def _size_of(ctx: LoweringContext, n: LowerNode, shapes: dict[int, str], name: str) -> str | None:
    """A 1-element int64 tensor holding the symbolic size ``name``, read from a scan input's shape, or None."""
    for k, t in enumerate(n.in_types):
        for axis, d in enumerate(t.shape):
            if isinstance(d, Dim) and d.name == name:
                if k not in shapes:
                    shapes[k] = ctx.op("Shape", n.inputs[k], name=f"{n.name}/step_shape")
                return ctx.op("Slice", shapes[k], ctx.int64s([axis]), ctx.int64s([axis + 1]), name=f"{n.name}/step_shape")
    return None


def _step_shape(ctx: LoweringContext, n: LowerNode, body: Graph, port: int, shapes: dict[int, str]) -> str | None:
    """The 1-d int64 shape of one step's output ``port``, computed outside the loop, or None if unknown there."""
    a = n.attrs
    n_seqs, n_states = a["n_seqs"], a["n_states"]
    value = body.outputs[port][0]
    for j in range(n_states):
        if body.outputs[j][0] == value:  # a carried state keeps the shape it starts with
            k = n_seqs + j
            if k not in shapes:
                shapes[k] = ctx.op("Shape", n.inputs[k], name=f"{n.name}/step_shape")
            return shapes[k]
    parts: list[str] = []
    for d in body.type_of(value).shape:
        if not isinstance(d, Dim):
            parts.append(ctx.int64s([d]))
            continue
        static, factors = 1, []
        for factor in d.name.split("*"):  # a product of sizes (graphc.ir.types.dim_product)
            if factor.isdigit():
                static *= int(factor)
                continue
            size = _size_of(ctx, n, shapes, factor)
            if size is None:
                return None
            factors.append(size)
        size = factors[0]
        for f in factors[1:]:
            size = ctx.op("Mul", size, f, name=f"{n.name}/step_shape")
        if static != 1:
            size = ctx.op("Mul", size, ctx.int64s([static]), name=f"{n.name}/step_shape")
        parts.append(size)
    if not parts:
        return ctx.const(np.zeros(0, dtype=np.int64), hint="scalar_shape")
    return parts[0] if len(parts) == 1 else ctx.op("Concat", *parts, axis=0, name=f"{n.name}/step_shape")


@lowering("scan", "scan_until")
def _scan(ctx: LoweringContext, n: LowerNode) -> list[str]:
    a = n.attrs
    body = a["body"]
    n_seqs, n_states, n_nonseqs = a["n_seqs"], a["n_states"], a["n_nonseqs"]
    seqs = list(n.inputs[:n_seqs])
    # a sequence given reversed (x[::-1], as loop fusion feeds a reverse scan's) is read backwards from x
    backwards = [bool(a["reverse"])] * n_seqs
    if not a["has_n_steps"]:  # (with a step count a loop may read only the first elements of a longer x)
        for k, s in enumerate(seqs):
            if s in ctx.reversed_from:
                seqs[k], backwards[k] = ctx.reversed_from[s], not backwards[k]
    inits = n.inputs[n_seqs : n_seqs + n_states]
    nonseqs = n.inputs[n_seqs + n_states : n_seqs + n_states + n_nonseqs]
    label = a.get("name") or "scan"
    until = n.op == "scan_until"  # the body's last output stops the loop: a Loop whose condition is its negation
    as_scan = n_seqs > 0 and not a["has_n_steps"] and not until and ctx.loop_op == "scan"
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
        last = ctx.op("Sub", trip, ctx.const(1, dtype="int64"), name=label) if any(backwards) else None
        iter_name = ctx.fresh(f"{label}/i")
        cond_in = ctx.fresh(f"{label}/cond_in")
    with ctx.subgraph() as body_nodes:
        value_name: dict[tuple[int, int], str] = {}
        if as_scan:
            for k in range(n_seqs):
                value_name[(body.inputs[k], 0)] = seq_in[k]
        elif n_seqs:
            back = ctx.op("Sub", last, iter_name, name=label) if last else ""  # T - 1 - i, once per step
            for k in range(n_seqs):
                idx = back if backwards[k] else iter_name
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
        direction = [int(b) for b in backwards]
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
    if ctx.loop_op == "loop" and not as_scan and not until and n_seqs:
        # zero iterations leave the stacked outputs' step shape unknown to the runtime: state it
        steps = ctx.op("Unsqueeze", trip, ctx.int64s([0]), name=label)
        shapes: dict[int, str] = {}
        fixed = list(results)
        for i, port in enumerate(stacked_ports):
            step_shape = _step_shape(ctx, n, body, port, shapes)
            if step_shape is not None:
                full = ctx.op("Concat", steps, step_shape, axis=0, name=f"{label}/step_shape")
                fixed[n_states + i] = ctx.op("Reshape", results[n_states + i], full, allowzero=1, name=label)
        results = fixed
    by_port = dict(zip(stacked_ports, results[n_states:]))
    return [by_port.get(first_port.get(v, -1), "") if used[p] else "" for p, (v, _) in enumerate(body.outputs)]
