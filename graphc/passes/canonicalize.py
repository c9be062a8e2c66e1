"""Canonicalization: remove operations that do nothing and collapse trivial chains.

Rules, each proven by types: a cast to the dtype it already has; a transpose
by the identity permutation; two transposes in a row (composed into one); a
reshape to the shape it already has (both static); ``x * 1`` and ``x + 0``
with a constant that does not change ``x``'s type; ``shape(x)`` of a fully
static ``x`` (a constant); ``squeeze`` undoing ``expand_dims`` on the same axes;
a reversal of a reversal (``x[::-1][::-1]``); a transpose of a reversal becomes
the reversal of the transpose (so that a reversal of a loop's sequence lands on
its time axis, where the loop reads it backwards without a copy); and a reversal under a sum, mean,
max or min over the reversed axes (the order of what is reduced does not matter:
backpropagation through time reverses sequences that bias gradients then sum).
"""

from __future__ import annotations

import numpy as np

from ..ir.graph import Graph, NodeData, Value
from ..ir.types import TensorType
from .base import Pass, for_each_graph
from .pattern import FULL_SLICE, REVERSE_SLICE, emit, reduced_axes, reversed_axes


def _const_value(graph: Graph, v: Value) -> np.ndarray | None:
    d = graph.data(v[0])
    return d.value if d.kind == "const" else None


def _replacement(graph: Graph, nid: int) -> Value | None:
    """A value that ``nid``'s single output can be replaced by, or None."""
    d = graph.data(nid)
    ins = graph.node_inputs(nid)
    out_t = d.types[0]
    op = d.op
    if op == "cast" and graph.type_of(ins[0]).dtype == d.attrs["dtype"]:
        return ins[0]
    if op == "transpose" and tuple(d.attrs["perm"]) == tuple(range(len(d.attrs["perm"]))):
        return ins[0]
    if op == "reshape":
        src_t = graph.type_of(ins[0])
        if src_t.is_static and out_t.is_static and src_t.shape == out_t.shape:
            return ins[0]
    if op in ("mul", "add"):
        neutral = 1 if op == "mul" else 0
        for k in (0, 1):
            c = _const_value(graph, ins[k])
            other = ins[1 - k]
            if c is not None and graph.type_of(other) == out_t and np.all(c == neutral):
                return other
    if op == "getitem":
        outer, inner = reversed_axes(graph, (nid, 0)), reversed_axes(graph, ins[0])
        if outer is not None and inner is not None and outer == inner:
            return graph.node_inputs(ins[0][0])[0]
    if op == "squeeze":
        src = graph.data(ins[0][0])
        if src.kind == "op" and src.op == "expand_dims" and tuple(src.attrs["axes"]) == tuple(d.attrs["axes"]):
            return graph.node_inputs(ins[0][0])[0]
    return None


def _canonicalize(graph: Graph) -> int:
    changed = 0
    for nid in graph.toposort():
        if nid not in graph:
            continue
        d = graph.data(nid)
        if d.kind != "op" or len(d.types) != 1:
            continue
        ins = graph.node_inputs(nid)
        if d.op == "shape" and graph.type_of(ins[0]).is_static:
            arr = np.array(graph.type_of(ins[0]).shape, dtype=np.int64)
            arr.setflags(write=False)
            const = graph.add_node(NodeData("const", [TensorType("int64", arr.shape)], value=arr, name="shape"))
            graph.replace_all_uses_with((nid, 0), (const, 0))
            changed += 1
            continue
        if d.op == "transpose":
            src = graph.data(ins[0][0])
            if src.kind == "op" and src.op == "transpose" and len(graph.uses(ins[0])) == 1:
                inner = tuple(src.attrs["perm"])
                outer = tuple(d.attrs["perm"])
                d.attrs = {**d.attrs, "perm": tuple(inner[p] for p in outer)}
                graph.set_inputs(nid, graph.node_inputs(ins[0][0]))
                changed += 1
                ins = graph.node_inputs(nid)
            flipped = reversed_axes(graph, ins[0])
            if flipped and len(graph.uses(ins[0])) == 1 and not graph.output_uses(ins[0]):
                # transpose(x[::-1 on k]) -> transpose(x)[::-1 on perm^-1(k)]: a reversal met last lands on
                # the time axis a loop reads backwards (or writes reversed) for free
                perm = tuple(d.attrs["perm"])
                moved = emit(graph, "transpose", graph.node_inputs(ins[0][0]), d.provenance, perm=perm)
                index = tuple(REVERSE_SLICE if perm[k] in flipped else FULL_SLICE for k in range(len(perm)))
                graph.replace_all_uses_with((nid, 0), emit(graph, "getitem", [moved], d.provenance, index=index))
                changed += 1
                continue
        reduced = reduced_axes(graph, nid)
        if reduced is not None:
            flipped = reversed_axes(graph, ins[0])
            if flipped is not None and flipped <= reduced:
                graph.set_inputs(nid, [graph.node_inputs(ins[0][0])[0], *ins[1:]])
                changed += 1
                ins = graph.node_inputs(nid)
        new = _replacement(graph, nid)
        if new is not None and graph.type_of(new).dtype == d.types[0].dtype:
            graph.replace_all_uses_with((nid, 0), new)
            changed += 1
    if changed:
        graph.prune()
    return changed


def canonicalize(graph: Graph) -> int:
    """Apply the canonicalization rules; return how many rewrites were made."""
    return for_each_graph(graph, _canonicalize)


CANONICALIZE = Pass("canonicalize", canonicalize, "remove no-op casts, transposes, reshapes, reversals, x*1, x+0; fold static shapes")
