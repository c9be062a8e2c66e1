"""Structural and type checks of a :class:`Graph`, run after every pass in tests."""

from __future__ import annotations

from typing import Any

from .graph import Graph
from .registry import OPS, infer_types, infer_value
from .types import Dim, TensorType

__all__ = ["verify", "VerificationError"]


class VerificationError(ValueError):
    """The graph breaks an invariant."""


def _compatible(declared: TensorType, inferred: TensorType) -> bool:
    if declared.dtype != inferred.dtype or declared.ndim != inferred.ndim:
        return False
    # a fresh symbolic dim may be named differently after re-inference
    return all(a == b or isinstance(a, Dim) or isinstance(b, Dim) for a, b in zip(declared.shape, inferred.shape))


def verify(graph: Graph) -> None:
    """Check the graph: acyclic, known ops, arity, input ports, types, outputs.

    Raises
    ------
    VerificationError
        Naming the node and what is wrong.
    """
    values: dict[tuple[int, int], Any] = {}
    for nid in graph.toposort():
        d = graph.data(nid)
        ins = graph.node_inputs(nid)
        if d.kind in ("input", "param", "const"):
            if ins:
                raise VerificationError(f"{d.kind} node {nid} ({d.name}) has inputs")
            if d.kind == "const" and d.value is not None:
                values[(nid, 0)] = (
                    int(d.value) if d.value.ndim == 0 and d.value.dtype.kind in "iu" else
                    tuple(int(v) for v in d.value) if d.value.ndim == 1 and d.value.dtype.kind in "iu" else None
                )
            continue
        if d.kind != "op":
            raise VerificationError(f"node {nid} has unknown kind {d.kind!r}")
        if d.op not in OPS:
            raise VerificationError(f"node {nid} uses unregistered op {d.op!r}")
        op = OPS[d.op]
        if op.arity is not None and len(ins) != op.arity:
            raise VerificationError(f"node {nid} ({d.op}) has {len(ins)} inputs, expected {op.arity}")
        for pos, (src, port) in enumerate(ins):
            if port >= len(graph.data(src).types):
                raise VerificationError(f"node {nid} ({d.op}) input {pos} reads missing port {port} of node {src}")
        in_types = [graph.type_of(v) for v in ins]
        known = [values.get(v) for v in ins]
        try:
            inferred = infer_types(op, in_types, known, d.attrs)
        except (TypeError, ValueError, IndexError) as exc:
            raise VerificationError(f"node {nid} ({d.op}) no longer type-checks: {exc}") from exc
        if len(inferred) != len(d.types):
            raise VerificationError(f"node {nid} ({d.op}) declares {len(d.types)} outputs, op gives {len(inferred)}")
        for port, (a, b) in enumerate(zip(d.types, inferred)):
            if not _compatible(a, b):
                raise VerificationError(f"node {nid} ({d.op}) output {port} is declared {a.compact} but infers as {b.compact}")
        if len(d.types) == 1:
            values[(nid, 0)] = infer_value(op, in_types, known, d.attrs)
    for v, name in graph.outputs:
        if v[0] not in graph or v[1] >= len(graph.data(v[0]).types):
            raise VerificationError(f"output {name!r} reads a missing value {v}")
    names = [name for _, name in graph.outputs]
    if len(set(names)) != len(names):
        raise VerificationError(f"output names are not unique: {names}")
