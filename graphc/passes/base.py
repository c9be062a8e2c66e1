"""What a pass is, and helpers passes share."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ..ir.graph import Graph

__all__ = ["Pass", "log", "frozen_attrs", "scan_nodes", "own_bodies", "for_each_graph"]

log = logging.getLogger("graphc.passes")


@dataclass(frozen=True)
class Pass:
    """A rewrite of a graph in place.

    Attributes
    ----------
    name : str
        The switch that turns it on or off (``passes={'cse': False}``).
    run : callable
        ``run(graph) -> int``: the number of changes made (0: nothing changed).
    doc : str
        One line saying what it does.
    """

    name: str
    run: Callable[[Graph], int]
    doc: str


def frozen_attrs(attrs: dict[str, Any]) -> tuple[Any, ...]:
    """A hashable key for op attributes (graphs by identity, containers recursively)."""

    def freeze(v: Any) -> Any:
        if isinstance(v, Graph):
            return ("graph", id(v))
        if isinstance(v, dict):
            return tuple(sorted((k, freeze(x)) for k, x in v.items()))
        if isinstance(v, (list, tuple)):
            return tuple(freeze(x) for x in v)
        try:
            hash(v)
        except TypeError:
            return ("repr", repr(v))
        return v

    return tuple(sorted((k, freeze(v)) for k, v in attrs.items()))


def scan_nodes(graph: Graph) -> Iterator[int]:
    """The ``scan`` op nodes of ``graph`` (not of nested bodies), in topological order.

    Most graphs the passes visit (loop bodies) hold no scan: those are found
    without sorting the graph, which a pass's mutations keep invalidating.
    """
    scans = [nid for nid in graph.nodes() if graph.data(nid).op == "scan"]
    if len(scans) > 1:
        rank = {nid: i for i, nid in enumerate(graph.toposort())}
        scans.sort(key=rank.__getitem__)
    return iter(scans)


def own_bodies(graph: Graph) -> None:
    """Give every scan node (recursively) its own copy of its body.

    Expressions share body graphs with the IR built from them; the pass
    manager calls this once so passes may rewrite bodies in place without
    touching the user's expressions.
    """
    for nid in list(scan_nodes(graph)):
        d = graph.data(nid)
        body = d.attrs["body"].copy()
        d.attrs = {**d.attrs, "body": body}
        own_bodies(body)


def for_each_graph(graph: Graph, fn: Callable[[Graph], int]) -> int:
    """Apply ``fn`` to ``graph`` and to every scan body inside it; sum the changes."""
    changed = fn(graph)
    for nid in list(scan_nodes(graph)):
        changed += for_each_graph(graph.data(nid).attrs["body"], fn)
    return changed


def for_each_scan(graph: Graph, fn: Callable[[Graph, int], int]) -> int:
    """Apply ``fn(graph, scan)`` to every scan node of ``graph``, then inside its body; sum the changes."""
    changed = 0
    for scan in list(scan_nodes(graph)):
        changed += fn(graph, scan)
        changed += for_each_scan(graph.data(scan).attrs["body"], fn)
    return changed
