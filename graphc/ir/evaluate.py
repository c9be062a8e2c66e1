"""Reference evaluation of a :class:`Graph` with each op's numpy ``eval``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .graph import Graph
from .registry import get_op

__all__ = ["evaluate"]


def evaluate(graph: Graph, feeds: Mapping[Any, np.ndarray], params: Mapping[Any, np.ndarray] | None = None) -> list[np.ndarray]:
    """Run ``graph`` in numpy and return its outputs.

    Parameters
    ----------
    graph : Graph
    feeds : mapping
        Values of the input nodes, keyed by node id, by input name, or by the
        placeholder variable.
    params : mapping, optional
        Values of ``param`` nodes keyed the same way; by default each shared
        variable's current value.

    Raises
    ------
    KeyError
        If an input has no value.
    """
    params = params or {}
    vals: dict[tuple[int, int], np.ndarray] = {}

    def lookup(table: Mapping[Any, np.ndarray], nid: int) -> Any:
        d = graph.data(nid)
        for key in (nid, d.name, d.ref):
            try:
                if key is not None and key in table:
                    return table[key]
            except TypeError:
                continue
        return None

    for nid in graph.toposort():
        d = graph.data(nid)
        if d.kind == "input":
            v = lookup(feeds, nid)
            if v is None:
                raise KeyError(f"no value given for input {d.name or nid}")
            vals[(nid, 0)] = np.asarray(v, dtype=d.types[0].dtype)
        elif d.kind == "param":
            v = lookup(params, nid)
            vals[(nid, 0)] = np.asarray(d.ref.get_value() if v is None else v)
        elif d.kind == "const":
            vals[(nid, 0)] = d.value  # type: ignore[assignment]
        else:
            ins = [vals[v] for v in graph.node_inputs(nid)]
            outs = get_op(d.op).eval(ins, **d.attrs)  # type: ignore[arg-type]
            for port, o in enumerate(outs):
                vals[(nid, port)] = np.asarray(o)
    return [vals[v] for v, _ in graph.outputs]
