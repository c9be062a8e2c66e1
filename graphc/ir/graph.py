"""The IR graph: op nodes over a networkx MultiDiGraph behind a small API.

Nodes are ints.  A node is one of

* ``input``: a graph input (a user placeholder variable),
* ``param``: a shared variable (parameter or state), exported as an
  initializer or a graph input,
* ``const``: a constant array,
* ``op``: an application of a registered op.

A value is a pair ``(node, port)``.  Edges run from producer to consumer and
carry ``src`` (the producer's output port) and ``dst`` (the consumer's input
position), so ``mul(x, x)`` is two parallel edges.  Passes use only the methods
here, never networkx directly.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np

from .types import TensorType

__all__ = ["Graph", "Value", "NodeData"]

Value = tuple[int, int]


@dataclass
class NodeData:
    """What a node holds.

    Attributes
    ----------
    kind : str
        ``'input'``, ``'param'``, ``'const'`` or ``'op'``.
    types : list of TensorType
        One per output port.
    op : str or None
        Registry name for ``op`` nodes.
    attrs : dict
        Op attributes.
    name : str or None
        User-facing name (inputs, params) or a debug name.
    value : numpy.ndarray or None
        The array of a ``const`` node.
    ref : object
        The expression variable an ``input``/``param`` node stands for.
    provenance : str or None
        The layer that emitted it.
    """

    kind: str
    types: list[TensorType]
    op: str | None = None
    attrs: dict[str, Any] = field(default_factory=dict)
    name: str | None = None
    value: np.ndarray | None = None
    ref: Any = None
    provenance: str | None = None


class Graph:
    """A dataflow graph of IR nodes.

    Attributes
    ----------
    inputs : list of int
        Input nodes, in the order a caller feeds them.
    outputs : list of (Value, str)
        Output values with their names.
    """

    def __init__(self) -> None:
        self._g = nx.MultiDiGraph()
        self._data: dict[int, NodeData] = {}  # node id -> data (networkx holds the structure only)
        self._ids = itertools.count()
        self.inputs: list[int] = []
        self.outputs: list[tuple[Value, str]] = []
        # True when the shared variables' current values are final (an inference model exported with
        # its parameters as initializers): passes may then rely on those values
        self.frozen_params = False
        # where the model will run: 'cpu', 'cuda', or 'any' (unknown: an export served elsewhere);
        # passes that rely on one runtime's kernels check it
        self.target = "any"
        self._reset_caches()

    def _reset_caches(self) -> None:
        """Forget derived structure (topological order, input lists)."""
        self._order: list[int] | None = None
        self._inputs_of: dict[int, list[Value]] = {}

    def _touched(self, *nodes: int) -> None:
        """A mutation changed the inputs of ``nodes`` (and so, maybe, the topological order)."""
        self._order = None
        for n in nodes:
            self._inputs_of.pop(n, None)

    # -- construction ------------------------------------------------------
    def add_node(self, data: NodeData, inputs: Iterable[Value] = ()) -> int:
        """Add a node fed by ``inputs`` (in order) and return its id."""
        nid = next(self._ids)
        self._touched(nid)
        self._g.add_node(nid)
        self._data[nid] = data
        for pos, (src, port) in enumerate(inputs):
            if src not in self._g:
                raise KeyError(f"input {pos} of new node comes from unknown node {src}")
            self._g.add_edge(src, nid, src=port, dst=pos)
        return nid

    def remove_node(self, nid: int) -> None:
        """Remove a node; it must have no remaining uses."""
        if any(True for _ in self._g.out_edges(nid)):
            raise ValueError(f"node {nid} ({self.data(nid).op}) still has uses")
        self._touched(nid)
        self._g.remove_node(nid)
        del self._data[nid]
        self.inputs = [i for i in self.inputs if i != nid]

    def set_inputs(self, nid: int, inputs: Iterable[Value]) -> None:
        """Replace all inputs of ``nid``."""
        self._touched(nid)
        for src, dst, key in list(self._g.in_edges(nid, keys=True)):
            self._g.remove_edge(src, dst, key)
        for pos, (src, port) in enumerate(inputs):
            self._g.add_edge(src, nid, src=port, dst=pos)

    # -- queries -----------------------------------------------------------
    def data(self, nid: int) -> NodeData:
        """The :class:`NodeData` of a node."""
        return self._data[nid]

    def type_of(self, value: Value) -> TensorType:
        """Type of a value."""
        return self.data(value[0]).types[value[1]]

    def node_inputs(self, nid: int) -> list[Value]:
        """The values feeding ``nid``, in input order."""
        cached = self._inputs_of.get(nid)
        if cached is None:
            edges = sorted(self._g.in_edges(nid, data=True), key=lambda e: e[2]["dst"])
            cached = self._inputs_of[nid] = [(src, d["src"]) for src, _, d in edges]
        return list(cached)

    def uses(self, value: Value) -> list[tuple[int, int]]:
        """``(consumer, input position)`` pairs that read ``value``."""
        nid, port = value
        return [(dst, d["dst"]) for _, dst, d in self._g.out_edges(nid, data=True) if d["src"] == port]

    def output_uses(self, value: Value) -> list[int]:
        """Positions in :attr:`outputs` that are ``value``."""
        return [i for i, (v, _) in enumerate(self.outputs) if v == value]

    def nodes(self) -> Iterator[int]:
        """All node ids (no particular order)."""
        return iter(self._g.nodes)

    def __contains__(self, nid: int) -> bool:
        return nid in self._g

    def __len__(self) -> int:
        return self._g.number_of_nodes()

    def op_nodes(self) -> list[int]:
        """The op nodes, in topological order."""
        return [n for n in self.toposort() if self.data(n).kind == "op"]

    def toposort(self) -> list[int]:
        """All nodes in a deterministic topological order (among ready nodes, the smallest id first).

        Raises
        ------
        ValueError
            If the graph has a cycle.
        """
        if self._order is None:
            g = self._g
            pending = {n: g.in_degree(n) for n in g.nodes}
            ready = [n for n, k in pending.items() if k == 0]
            heapq.heapify(ready)
            order: list[int] = []
            while ready:
                n = heapq.heappop(ready)
                order.append(n)
                for _, succ in g.out_edges(n):
                    pending[succ] -= 1
                    if pending[succ] == 0:
                        heapq.heappush(ready, succ)
            if len(order) != len(pending):
                cycle = nx.find_cycle(g)
                raise ValueError(f"graph has a cycle through nodes {[e[0] for e in cycle]}")
            self._order = order
        return list(self._order)

    def op_histogram(self) -> dict[str, int]:
        """Count of op nodes by op name."""
        hist: dict[str, int] = {}
        for n in self._g.nodes:
            d = self.data(n)
            if d.kind == "op":
                hist[d.op] = hist.get(d.op, 0) + 1  # type: ignore[index]
        return dict(sorted(hist.items()))

    # -- rewriting ---------------------------------------------------------
    def replace_all_uses_with(self, old: Value, new: Value) -> None:
        """Make every consumer (and graph output) of ``old`` read ``new``."""
        if old == new:
            return
        if self.type_of(old).dtype != self.type_of(new).dtype:
            raise TypeError(f"cannot replace {self.type_of(old)} with {self.type_of(new)}")
        onid, oport = old
        self._order = None
        for _, dst, key, d in list(self._g.out_edges(onid, keys=True, data=True)):
            if d["src"] == oport:
                self._inputs_of.pop(dst, None)
                self._g.remove_edge(onid, dst, key)
                self._g.add_edge(new[0], dst, src=new[1], dst=d["dst"])
        self.outputs = [((new if v == old else v), name) for v, name in self.outputs]

    def prune(self) -> int:
        """Remove nodes no output depends on (graph inputs are kept); return how many."""
        live: set[int] = set(self.inputs)
        stack = [v[0] for v, _ in self.outputs]
        while stack:
            n = stack.pop()
            if n in live:
                continue
            live.add(n)
            stack.extend(src for src, _ in self.node_inputs(n))
        dead = [n for n in self._g.nodes if n not in live]
        if dead:
            self._touched(*dead)
        self._g.remove_nodes_from(dead)
        for n in dead:
            del self._data[n]
        return len(dead)

    def copy(self) -> Graph:
        """A structural copy (node data objects are copied shallowly)."""
        g = Graph()
        g._g = self._g.copy()
        g._reset_caches()
        g._data = {n: NodeData(**{**old.__dict__, "attrs": dict(old.attrs), "types": list(old.types)}) for n, old in self._data.items()}
        g._ids = itertools.count(max(self._g.nodes, default=-1) + 1)
        g.inputs = list(self.inputs)
        g.outputs = list(self.outputs)
        g.frozen_params = self.frozen_params
        g.target = self.target
        return g

    def subgraph_copy(self, nodes: Iterable[int]) -> Graph:
        """A copy holding only ``nodes`` and the edges between them (no inputs/outputs set)."""
        keep = set(nodes)
        g = self.copy()
        gone = [n for n in list(g._g.nodes) if n not in keep]
        g._g.remove_nodes_from(gone)
        for n in gone:
            del g._data[n]
        g._reset_caches()
        g.inputs = [i for i in g.inputs if i in keep]
        g.outputs = [(v, name) for v, name in g.outputs if v[0] in keep]
        return g

    def __repr__(self) -> str:
        return f"Graph({len(self)} nodes, {len(self.inputs)} inputs, {len(self.outputs)} outputs)"
