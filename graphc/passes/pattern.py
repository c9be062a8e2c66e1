"""Matching graph values against templates, and emitting new ops from passes.

A template is a nested tuple:

* ``("in", name)``: any value, bound to ``name`` (a name bound twice must be
  the same value);
* ``("op", op, attrs, children)``: an op node with this op, whose attributes
  include ``attrs``, and whose inputs match ``children`` in order (either
  order for the commutative ops ``add`` and ``mul``);
* ``("act", slot, child)``: one of the unary activations in
  :data:`ACTIVATION_OPS`, recorded under ``slot`` (a slot bound twice must
  be the same activation);
* ``("const", value)``: a constant equal to ``value`` everywhere.

``grad_clip`` nodes in the matched graph are looked through: they are the
identity in the forward pass.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..ir.graph import Graph, NodeData, Value
from ..ir.registry import get_op, infer_types

__all__ = [
    "match", "emit", "emit_const", "ACTIVATION_OPS", "COMMUTATIVE", "FULL_SLICE", "REVERSE_SLICE", "REDUCTIONS",
    "reversed_axes", "reversed_in_time", "reduced_axes",
]  # fmt: skip

#: graphc op -> ONNX RNN activation name
ACTIVATION_OPS = {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "Relu"}
COMMUTATIVE = frozenset({"add", "mul"})

Template = tuple[Any, ...]


def _through_clip(graph: Graph, v: Value) -> Value:
    while True:
        d = graph.data(v[0])
        if d.kind == "op" and d.op == "grad_clip":
            v = graph.node_inputs(v[0])[0]
            continue
        return v


def match(graph: Graph, template: Template, v: Value, env: dict[str, Any]) -> bool:
    """Unify ``template`` with value ``v``; bindings go to ``env`` (left unchanged on failure)."""
    trial = dict(env)
    if _match(graph, template, v, trial):
        env.clear()
        env.update(trial)
        return True
    return False


def _match(graph: Graph, t: Template, v: Value, env: dict[str, Any]) -> bool:
    v = _through_clip(graph, v)
    kind = t[0]
    if kind == "in":
        bound = env.get(t[1])
        if bound is None:
            env[t[1]] = v
            return True
        return bound == v
    d = graph.data(v[0])
    if kind == "const":
        return d.kind == "const" and d.value is not None and bool(np.all(d.value == t[1]))
    if d.kind != "op" or v[1] != 0:
        return False
    if kind == "act":
        name = ACTIVATION_OPS.get(d.op or "")
        if name is None or env.setdefault(f"act:{t[1]}", name) != name:
            return False
        return _match(graph, t[2], graph.node_inputs(v[0])[0], env)
    _, op, attrs, children = t
    if d.op != op or any(d.attrs.get(k) != val for k, val in (attrs or {}).items()):
        return False
    ins = graph.node_inputs(v[0])
    if len(ins) != len(children):
        return False
    orders = [ins, ins[::-1]] if op in COMMUTATIVE and len(ins) == 2 else [ins]
    for order in orders:
        trial = dict(env)
        if all(_match(graph, c, i, trial) for c, i in zip(children, order)):
            env.clear()
            env.update(trial)
            return True
    return False


def emit(graph: Graph, op: str, inputs: list[Value], provenance: str | None = None, **attrs: Any) -> Value:
    """Add an op node (types inferred by the registry) and return its first output."""
    opdef = get_op(op)
    types = infer_types(opdef, [graph.type_of(v) for v in inputs], [None] * len(inputs), attrs)
    nid = graph.add_node(NodeData("op", types, op=op, attrs=attrs, provenance=provenance), inputs)
    return (nid, 0)


def emit_const(graph: Graph, value: np.ndarray) -> Value:
    """Add a constant node and return its value."""
    from ..ir.types import TensorType

    arr = np.array(value)
    arr.setflags(write=False)
    nid = graph.add_node(NodeData("const", [TensorType(arr.dtype.name, arr.shape)], value=arr))
    return (nid, 0)


# -- reversals and reductions (time order in loops) ------------------------------------------------
FULL_SLICE, REVERSE_SLICE = ("slice", None, None, 1), ("slice", None, None, -1)

#: the reductions whose result does not depend on the order of what they reduce
REDUCTIONS = frozenset({"reduce_sum", "reduce_mean", "reduce_max", "reduce_min"})


def reversed_axes(graph: Graph, v: Value) -> set[int] | None:
    """The axes a getitem made only of full slices and full reversals reverses (None: not such a getitem)."""
    d = graph.data(v[0])
    if d.kind != "op" or d.op != "getitem" or len(graph.node_inputs(v[0])) != 1:
        return None
    index = tuple(d.attrs["index"])
    if not index or any(e not in (FULL_SLICE, REVERSE_SLICE) for e in index):
        return None
    return {k for k, e in enumerate(index) if e == REVERSE_SLICE}


def reversed_in_time(graph: Graph, v: Value, provenance: str | None) -> Value:
    """``v[::-1]`` (``x`` itself for ``v = x[::-1]``)."""
    if reversed_axes(graph, v) == {0}:
        return graph.node_inputs(v[0])[0]  # x[::-1][::-1] is x
    return emit(graph, "getitem", [v], provenance, index=(REVERSE_SLICE,))


def reduced_axes(graph: Graph, nid: int) -> set[int] | None:
    """The axes the order-free reduction ``nid`` reduces (all of them without ``axes``), None for another node."""
    d = graph.data(nid)
    if d.kind != "op" or d.op not in REDUCTIONS:
        return None
    axes = d.attrs.get("axes")
    return set(range(graph.type_of(graph.node_inputs(nid)[0]).ndim)) if axes is None else set(axes)
