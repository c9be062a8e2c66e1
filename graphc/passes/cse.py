"""Common-subexpression elimination: merge identical computations (as Theano's merge optimizer).

Two pure op nodes with the same op, attributes and inputs compute the same
values; so do two equal small constants.  The later one's uses move to the
earlier one, and it becomes dead.  Random ops are never merged.
"""

from __future__ import annotations

from typing import Any

from ..ir.graph import Graph
from ..ir.registry import OPS
from .base import Pass, for_each_graph, frozen_attrs

_MAX_CONST_BYTES = 1 << 16


def _cse(graph: Graph) -> int:
    seen: dict[Any, int] = {}
    merged = 0
    for nid in graph.toposort():
        d = graph.data(nid)
        if d.kind == "const" and d.value is not None and d.value.nbytes <= _MAX_CONST_BYTES:
            key: Any = ("const", d.value.dtype.str, d.value.shape, d.value.tobytes())
        elif d.kind == "op" and OPS[d.op].pure:  # type: ignore[index]
            key = ("op", d.op, frozen_attrs(d.attrs), tuple(graph.node_inputs(nid)))
        else:
            continue
        other = seen.get(key)
        if other is None:
            seen[key] = nid
            continue
        for port in range(len(d.types)):
            graph.replace_all_uses_with((nid, port), (other, port))
        merged += 1
    if merged:
        graph.prune()
    return merged


def cse(graph: Graph) -> int:
    """Merge identical computations; return how many nodes were merged away."""
    return for_each_graph(graph, _cse)


CSE = Pass("cse", cse, "merge identical computations and equal constants")
