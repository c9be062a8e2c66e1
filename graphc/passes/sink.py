"""Sinking per-step work after the loop: stacked outputs computed over all steps at once.

:mod:`graphc.passes.hoist` moves work that does not depend on the carried
states *before* a loop.  Some work that does depend on them is needed only by
what the loop stacks: the peephole gradients of a Lasagne LSTM are, at every
backward step, ``sum over the batch of (gate gradient * cell state)``, an
elementwise product and a reduction on the step's values whose only reader is
the stacked output.  When such an op reads at most one value that depends on
the carried states (the rest being sequence elements or loop invariants), that
value is stacked instead and the op runs once over all steps after the loop
(one op over the whole sequence instead of one per step; the stacked value
costs the loop a copy, no node), and again for the op that computed its
input, while the same holds.

Stacked outputs follow the order the steps ran, which for a reverse scan is
the reverse of its sequences' order: the sunk op then reads the new stacked
output reversed (which the export writes reversed for free:
:mod:`graphc.export.loop_outputs`) and its result is reversed back, unless
everything that reads it reduces over time (whose order then does not
matter).  Scans with a step-count input are left alone (their sequences may be
longer than the loop).
"""

from __future__ import annotations

from ..ir.graph import Graph, NodeData, Value
from ..ir.registry import OPS
from .base import Pass, for_each_scan
from .hoist import _classify, _time_attrs
from .pattern import emit, reduced_axes, reversed_axes, reversed_in_time
from .stash import _add_output

__all__ = ["sink", "SINK"]

def _time_free(graph: Graph, v: Value) -> bool:
    """Whether everything that reads ``v`` reduces over its axis 0 (so its order along it does not matter)."""
    uses = graph.uses(v)
    if not uses or graph.output_uses(v):
        return False
    return all(0 in (reduced_axes(graph, user) or ()) for user, _ in uses)


def _read_in_step_order(graph: Graph, old: Value, result: Value, provenance: str | None) -> None:
    """Make the readers of ``old`` (a reverse scan's stacked output) read ``result`` (the same values in
    the sequences' order): reversals of ``old`` read ``result`` itself, reductions over time too."""
    for user, _ in list(graph.uses(old)):
        if reversed_axes(graph, (user, 0)) == {0}:
            graph.replace_all_uses_with((user, 0), result)
    if graph.uses(old) or graph.output_uses(old):
        graph.replace_all_uses_with(old, result if _time_free(graph, old) else reversed_in_time(graph, result, provenance))


def _operand_kinds(body: Graph, ins: list[Value], kinds: dict[int, str], position: dict[int, int], n_seqs: int) -> list[str] | None:
    """How the op after the loop reads each operand: 'stacked' (a new stacked output), 'seq' (the
    scan's sequence), 'inv' (an invariant: a non-sequence or a constant); None when one is none of these."""
    reads = []
    for v in ins:
        if kinds[v[0]] == "state":
            if v[0] in position or v[1] != 0:
                return None  # a carried state itself, or a port of a multi-output node
            reads.append("stacked")
        elif v[0] in position:
            reads.append("seq" if position[v[0]] < n_seqs else "inv")
        elif body.data(v[0]).kind == "const":
            reads.append("inv")
        else:
            return None  # computed in the loop from sequences or invariants: hoisting's work
    return reads


def _sink_one(graph: Graph, scan: int) -> int:
    d = graph.data(scan)
    a = d.attrs
    if d.op != "scan" or a["has_n_steps"]:
        return 0
    body: Graph = a["body"]
    n_seqs, n_states = a["n_seqs"], a["n_states"]
    outer_in = graph.node_inputs(scan)
    kinds = _classify(body, n_seqs, n_states)
    position = {nid: k for k, nid in enumerate(body.inputs)}
    for port in range(n_states, len(body.outputs)):
        value = body.outputs[port][0]
        nid = value[0]
        bd = body.data(nid)
        if bd.kind != "op" or kinds[nid] != "state" or len(bd.types) != 1 or not OPS[bd.op].pure:  # type: ignore[index]
            continue
        others = [q for q, (v, _) in enumerate(body.outputs) if v == value and q != port]
        if body.uses(value) or not graph.uses((scan, port)) or any(graph.uses((scan, q)) or q < n_states for q in others):
            continue
        ins = body.node_inputs(nid)
        reads = _operand_kinds(body, ins, kinds, position, n_seqs)
        if reads is None or len({v for v, r in zip(ins, reads) if r == "stacked"}) != 1:
            continue  # one operand to stack: the loop then copies one value a step instead of running the op
        time_kinds = ["inv" if r == "inv" else "seq" for r in reads]
        attrs = _time_attrs(bd.op, bd.attrs, [body.type_of(v) for v in ins], time_kinds, bd.types[0].ndim)  # type: ignore[arg-type]
        if attrs is None:
            continue
        operand = next(v for v, r in zip(ins, reads) if r == "stacked")
        reverse, prov = bool(a["reverse"]), bd.provenance
        new_port = _add_output(graph, scan, operand[0])
        stack = reversed_in_time(graph, new_port, prov) if reverse else new_port
        outer: list[Value] = []
        for v, r in zip(ins, reads):
            if r == "stacked":
                outer.append(stack)
            elif v[0] in position:
                outer.append(outer_in[position[v[0]]])
            else:
                c = body.data(v[0])
                outer.append((graph.add_node(NodeData("const", list(c.types), value=c.value, name=c.name)), 0))
        try:
            result = emit(graph, bd.op, outer, prov, **attrs)
        except (TypeError, ValueError):
            graph.prune()
            continue
        if reverse:
            _read_in_step_order(graph, (scan, port), result, prov)
        else:
            graph.replace_all_uses_with((scan, port), result)
        # nothing reads the port (nor its duplicates) any more: they stack the operand too, so the op
        # leaves the loop
        for q in [port, *others]:
            body.outputs[q] = (operand, body.outputs[q][1])
            d.types[q] = d.types[new_port[1]]
        body.prune()
        graph.prune()
        return 1 + _sink_one(graph, scan)
    return 0


def sink(graph: Graph) -> int:
    """Sink per-step ops that only feed stacked outputs to after their loops; return how many moved."""
    return for_each_scan(graph, _sink_one)


SINK = Pass("sink", sink, "compute stacked outputs' last per-step ops over all steps after the loop (peephole gradients)")
