"""Cutting a compiled graph at its collectives into stages that run one after another.

A collective (``allreduce_mean``, ``allreduce_sum``; see
:mod:`graphc.ir.ops.collective`) needs the values of every rank, so no session
can compute it.  Under MPI, :func:`graphc.function` cuts the optimized graph
there:

* stage 0 computes everything the first collectives need, and everything else
  that does not depend on a collective (as early as possible);
* round 0 all-reduces the inputs of those collectives across the ranks (one
  fused all-reduce per dtype, see :mod:`graphc.runtime.partitioned`; :func:`graphc.export.training_model`
  writes the stages as models of their own);
* stage 1 goes on from the reduced values, ... and the last stage computes the
  function's outputs and the new values of its shared variables.

A usual data-parallel step (``dist.mean(T.grad(cost, params))`` fed to an
update rule) has one round and two stages: forward and backward, then the
optimizer.  A collective whose input depends on another collective (a
gradient norm summed after averaging the gradients) needs one more round.

Each stage is an IR graph of its own: it reads the function's inputs and
shared variables it needs, plus the *boundary values* computed by earlier
stages or reduced by earlier rounds, as graph inputs; it outputs the values
later stages and rounds need.  Boundary values are named by the value
``(node, port)`` of the full graph they stand for.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .graph import Graph, NodeData, Value
from .ops.collective import COLLECTIVE_OPS
from .types import Dim, TensorType, format_shape

__all__ = ["Reduction", "Stage", "Partition", "partition_at_collectives", "has_collectives", "graph_fingerprint"]

#: the name of a stage input that stands for a value of the full graph: ``boundary/<node>_<port>``
BOUNDARY_PREFIX = "boundary/"


@dataclass(frozen=True)
class Reduction:
    """One collective of the full graph: the value it reduces and the value it stands for.

    Attributes
    ----------
    source : Value
        The collective's input (in the full graph): what this rank contributes.
    target : Value
        The collective's output: the reduced value, the same on every rank.
    kind : {'mean', 'sum'}
    type : graphc.ir.types.TensorType
    round : int
        The all-reduce round it belongs to (0 for the first).
    in_place : bool
        Whether the stage before the round may write ``source`` straight into the
        all-reduce buffer: its shape is static, it is computed by that stage, and
        nothing but this collective reads it afterwards (the buffer then holds the
        reduced value).
    """

    source: Value
    target: Value
    kind: str
    type: TensorType
    round: int
    in_place: bool = False

    def describe(self) -> str:
        """E.g. ``mean float32(5, 3)``; a symbolic size is ``?`` (its name differs from process to process)."""
        return f"{self.kind} {self.type.dtype}{format_shape(tuple(d if isinstance(d, int) else Dim('?') for d in self.type.shape))}"


@dataclass
class Stage:
    """One session's part of a partitioned step.

    Attributes
    ----------
    index : int
    graph : graphc.ir.Graph
        The stage's own graph (its params are the full graph's shared variables).
    sources : list
        Aligned with ``graph.inputs``: ``('arg', i)`` for the function's ``i``-th
        input, ``('value', v)`` for the boundary value ``v`` of the full graph.
    produces : list of Value
        Aligned with ``graph.outputs``: the full graph's value each output is.
        The last stage's outputs are the full graph's outputs, in order.
    """

    index: int
    graph: Graph
    sources: list[tuple[str, Any]] = field(default_factory=list)
    produces: list[Value] = field(default_factory=list)


@dataclass
class Partition:
    """A graph cut at its collectives: ``stages[k]`` runs, then ``rounds[k]`` is reduced, ...

    Attributes
    ----------
    stages : list of Stage
        One more than ``rounds``; the last computes the full graph's outputs.
    rounds : list of list of Reduction
        The collectives reduced after each stage but the last, in a fixed order
        (the full graph's topological order, the same on every rank).
    fingerprint : str
        :func:`graph_fingerprint` of the full graph.
    """

    stages: list[Stage]
    rounds: list[list[Reduction]]
    fingerprint: str

    @property
    def n_collectives(self) -> int:
        return sum(len(r) for r in self.rounds)


def _is_collective(graph: Graph, nid: int) -> bool:
    d = graph.data(nid)
    return d.kind == "op" and d.op in COLLECTIVE_OPS


def _bodies(value: Any) -> Iterable[Graph]:
    if isinstance(value, Graph):
        yield value
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _bodies(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _bodies(v)


def has_collectives(graph: Graph) -> bool:
    """Whether ``graph`` holds a collective op (loop bodies included)."""
    for n in graph.nodes():
        d = graph.data(n)
        if d.kind != "op":
            continue
        if d.op in COLLECTIVE_OPS or any(has_collectives(b) for v in d.attrs.values() for b in _bodies(v)):
            return True
    return False


def _refuse_nested(graph: Graph, where: str) -> None:
    """A collective inside a loop body would need one all-reduce per step of the loop: refused."""
    for n in graph.nodes():
        d = graph.data(n)
        if d.kind != "op":
            continue
        for body in (b for v in d.attrs.values() for b in _bodies(v)):
            for m in body.nodes():
                bd = body.data(m)
                if bd.kind == "op" and bd.op in COLLECTIVE_OPS:
                    label = f" (layer {d.provenance!r})" if d.provenance else ""
                    raise ValueError(
                        f"{where}: a collective ({bd.op}) sits inside the body of a {d.op}{label}; collectives "
                        "must be outside loops (all-reduce what the loop computes, after it)"
                    )
            _refuse_nested(body, where)


def _copy_data(d: NodeData) -> NodeData:
    return NodeData(**{**d.__dict__, "attrs": dict(d.attrs), "types": list(d.types)})


def partition_at_collectives(graph: Graph, where: str = "graphc.function", defer_state: bool = False) -> Partition | None:
    """Cut ``graph`` at its collectives (see the module docstring); None when it has none.

    Parameters
    ----------
    graph : graphc.ir.Graph
        An optimized function graph (outputs ``out0...`` then ``update0...``); not changed.
    where : str
        For error messages.
    defer_state : bool
        Place the ops that read neither an input of the graph nor a collective
        (arithmetic on shared variables alone: an optimizer's moments scaled, its
        step counter advanced) in the latest stage that can compute them, not the
        earliest, unless a collective needs them.  A later stage then reads those
        shared variables itself instead of values handed on from stage 0 (what
        exported stages want: see :mod:`graphc.export.training_stages`).

    Raises
    ------
    ValueError
        If a collective sits inside a loop body.
    """
    _refuse_nested(graph, where)
    order = graph.toposort()
    collectives = [n for n in order if _is_collective(graph, n)]
    if not collectives:
        return None
    # level: how many collectives lie on the longest path into a node (its earliest stage)
    level: dict[int, int] = {}
    for n in order:
        if graph.data(n).kind != "op":
            continue
        lv = 0
        for p, _ in graph.node_inputs(n):
            if graph.data(p).kind == "op":
                lv = max(lv, level[p] + (1 if _is_collective(graph, p) else 0))
        level[n] = lv
    n_rounds = max(level[c] for c in collectives) + 1
    placed = _deferred_stages(graph, order, level, n_rounds) if defer_state else level

    def stage_of(nid: int) -> int | None:
        """The stage computing node ``nid``; None for leaves and collectives (available to all later)."""
        d = graph.data(nid)
        return None if d.kind != "op" or d.op in COLLECTIVE_OPS else placed[nid]

    # values read after the stage that computes them by anything but one collective
    read_later: set[Value] = {v for v, _ in graph.outputs}
    reduced: dict[Value, int] = {}
    for n in order:
        for v in graph.node_inputs(n):
            if _is_collective(graph, n):
                reduced[v] = reduced.get(v, 0) + 1
            elif stage_of(v[0]) != stage_of(n):
                read_later.add(v)
    rounds: list[list[Reduction]] = [[] for _ in range(n_rounds)]
    for c in collectives:
        (source,) = graph.node_inputs(c)
        kind = COLLECTIVE_OPS[graph.data(c).op]  # type: ignore[index]
        t = graph.type_of((c, 0))
        in_place = (
            stage_of(source[0]) == level[c] and source not in read_later and reduced[source] == 1 and t.is_static
        )
        rounds[level[c]].append(Reduction(source, (c, 0), kind, t, level[c], in_place))

    members: list[list[int]] = [[] for _ in range(n_rounds + 1)]
    for n in order:
        s = stage_of(n)
        if s is not None:
            members[s].append(n)
    # what each stage hands on: values later stages read, collective inputs, the full graph's outputs
    hands_on: list[dict[Value, None]] = [{} for _ in range(n_rounds + 1)]
    for n in order:
        s = stage_of(n)
        if s is None:
            continue
        for v in graph.node_inputs(n):
            ps = stage_of(v[0])
            if ps is not None and ps < s:
                hands_on[ps][v] = None
    for r, reductions in enumerate(rounds):
        for red in reductions:
            ps = stage_of(red.source[0])
            if ps is not None:
                hands_on[ps][red.source] = None
            elif not _is_collective(graph, red.source[0]):
                hands_on[r][red.source] = None  # a leaf reduced as it is: the stage outputs it
    for v, _ in graph.outputs:
        ps = stage_of(v[0])
        if ps is not None and ps < n_rounds:
            hands_on[ps][v] = None
    stages = []
    for s in range(n_rounds + 1):
        if s == n_rounds:
            outputs = list(graph.outputs)
        else:
            outputs = [(v, f"{BOUNDARY_PREFIX}{v[0]}_{v[1]}") for v in hands_on[s]]
        stages.append(_stage_graph(graph, s, members[s], outputs, order))
    return Partition(stages, rounds, graph_fingerprint(graph))


def _deferred_stages(graph: Graph, order: list[int], level: dict[int, int], n_rounds: int) -> dict[int, int]:
    """Each op's stage when ops on shared variables alone run as late as their readers allow.

    An op reads "data" when an input of the graph or a collective lies upstream of it;
    such ops keep their earliest stage (``level``).  The others go to the earliest
    stage among their readers: a collective's stage is the stage before its round,
    the graph's outputs are read by the last stage.
    """
    data: set[int] = set(graph.inputs)
    readers: dict[int, list[int]] = {}
    for n in order:
        d = graph.data(n)
        ins = [p for p, _ in graph.node_inputs(n)]
        for p in ins:
            readers.setdefault(p, []).append(n)
        if d.kind == "op" and (d.op in COLLECTIVE_OPS or any(p in data for p in ins)):
            data.add(n)
    output_nodes = {v[0] for v, _ in graph.outputs}
    placed = dict(level)
    for n in reversed(order):
        if n in data or graph.data(n).kind != "op":
            continue
        need = [level[m] if _is_collective(graph, m) else placed[m] for m in readers.get(n, [])]
        if n in output_nodes or not need:
            need.append(n_rounds)
        placed[n] = min(need)
    return placed


def _stage_graph(graph: Graph, index: int, members: list[int], outputs: list[tuple[Value, str]], order: list[int]) -> Stage:
    """The graph of one stage: its member nodes, the leaves they read, boundary values as inputs."""
    g = Graph()
    g.target, g.frozen_params = graph.target, graph.frozen_params
    stage = Stage(index, g)
    arg_of = {nid: i for i, nid in enumerate(graph.inputs)}
    inside = set(members)
    vmap: dict[Value, Value] = {}

    def value(v: Value) -> Value:
        got = vmap.get(v)
        if got is not None:
            return got
        p, port = v
        d = graph.data(p)
        if d.kind == "input":
            nid = g.add_node(_copy_data(d))
            g.inputs.append(nid)
            stage.sources.append(("arg", arg_of[p]))
        elif d.kind in ("param", "const"):
            nid = g.add_node(_copy_data(d))
        else:  # computed by an earlier stage, or reduced by an earlier round
            assert p not in inside, "members are added in topological order"
            nid = g.add_node(NodeData("input", [graph.type_of(v)], name=f"{BOUNDARY_PREFIX}{p}_{port}"))
            g.inputs.append(nid)
            stage.sources.append(("value", v))
        vmap[v] = (nid, 0)
        return vmap[v]

    for n in order:
        if n not in inside:
            continue
        ins = [value(v) for v in graph.node_inputs(n)]
        new = g.add_node(_copy_data(graph.data(n)), ins)
        for port in range(len(graph.data(n).types)):
            vmap[(n, port)] = (new, port)
    g.outputs = [(value(v), name) for v, name in outputs]
    stage.produces = [v for v, _ in outputs]
    return stage


def _stable(value: Any, depth: int = 0) -> Any:
    """A description of an attribute that is the same in every process (no ids, no addresses)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Dim):
        return "?"  # symbolic dim names carry process-local counters
    if isinstance(value, TensorType):
        return ("T", value.dtype, tuple(_stable(d) for d in value.shape))
    if isinstance(value, np.ndarray):
        return ("array", str(value.dtype), value.shape)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return tuple(_stable(v, depth) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((str(k), _stable(v, depth)) for k, v in value.items()))
    if isinstance(value, Graph):
        return ("graph", _describe(value, depth + 1)) if depth < 8 else ("graph",)
    return type(value).__name__


def _describe(graph: Graph, depth: int = 0) -> list[Any]:
    """The structure of ``graph``, without names (they may carry counters that differ between processes)."""
    order = graph.toposort()
    index = {n: i for i, n in enumerate(order)}
    out: list[Any] = []
    for n in order:
        d = graph.data(n)
        item: list[Any] = [d.kind, d.op, [_stable(t) for t in d.types], [(index[p], port) for p, port in graph.node_inputs(n)]]
        if d.kind == "op":
            item.append(_stable({k: v for k, v in d.attrs.items() if k != "name"}, depth))
        out.append(item)
    out.append(("inputs", [index[n] for n in graph.inputs]))
    out.append(("outputs", [(index[v[0]], v[1]) for v, _ in graph.outputs]))
    return out


def graph_fingerprint(graph: Graph) -> str:
    """A hash of the graph's structure that two processes building the same graph agree on.

    Ops, attributes, types (symbolic dims as ``?``) and edges; not the names of inputs,
    shared variables or ops, nor the values of constants or parameters.
    """
    return hashlib.sha256(repr(_describe(graph)).encode()).hexdigest()[:16]
