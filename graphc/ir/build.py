"""Lowering expressions (small immutable Python objects) into a :class:`Graph`.

Only what the outputs depend on is lowered.  Leaf variables become ``input``
nodes (placeholders), ``param`` nodes (shared variables, recognised by their
``get_value`` method) or ``const`` nodes (constants, by their ``value``).
This module does not import the expression classes; it reads ``owner``,
``inputs``, ``op``, ``attrs``, ``type`` and ``name`` off them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .graph import Graph, NodeData
from .types import format_shape

__all__ = ["build_graph", "MissingInputError", "leaf_kind", "collect_leaves", "input_name"]


class MissingInputError(ValueError):
    """An output depends on an input placeholder that was not listed."""


def leaf_kind(v: Any) -> str:
    """``'param'``, ``'const'`` or ``'input'`` for an owner-less variable."""
    if hasattr(v, "get_value") and hasattr(v, "_storage"):
        return "param"
    if hasattr(v, "value"):
        return "const"
    return "input"


def input_name(v: Any) -> str | None:
    """The name an input placeholder takes in a graph and its ONNX model.

    A Lasagne ``InputLayer(name="x")`` names its default variable ``"x.input"``
    (as Lasagne does) and marks it with ``export_name = "x"``: the model's input is ``x``.
    """
    return getattr(v, "export_name", None) or v.name


def _postorder(outputs: Sequence[Any], replace: Mapping[int, Any] | None = None) -> list[Any]:
    """Apply nodes and leaves reachable from ``outputs``, producers first (iterative).

    ``replace`` maps ``id(variable)`` to the variable that stands in for it.
    """
    replace = replace or {}
    outputs = [replace.get(id(o), o) for o in outputs]
    seen: set[int] = set()
    order: list[Any] = []
    stack: list[tuple[Any, bool]] = [(o, False) for o in reversed(outputs)]
    while stack:
        item, expanded = stack.pop()
        key = id(item)
        if expanded:
            order.append(item)
            continue
        if key in seen:
            continue
        seen.add(key)
        stack.append((item, True))
        deps = (
            [replace.get(id(x), x) for x in item.inputs]
            if hasattr(item, "outputs")
            else ([item.owner] if item.owner is not None else [])
        )
        for d in reversed(deps):
            if id(d) not in seen:
                stack.append((d, False))
    return order


def collect_leaves(outputs: Sequence[Any]) -> list[Any]:
    """Owner-less variables the outputs depend on, in first-use order."""
    return [n for n in _postorder(outputs) if not hasattr(n, "outputs") and n.owner is None]


def build_graph(
    outputs: Sequence[tuple[Any, str]],
    inputs: Sequence[Any] | None = None,
    *,
    what: str = "function",
    replace: Mapping[Any, Any] | None = None,
) -> Graph:
    """Lower ``outputs`` (pairs of variable and output name) into a Graph.

    Parameters
    ----------
    outputs : sequence of (Variable, str)
    inputs : sequence of Variable, optional
        Placeholders in call order.  When None, every placeholder the outputs
        depend on becomes an input, in first-use order.
    what : str
        Used in error messages ("function", "export").
    replace : mapping, optional
        Theano's ``givens``: each key variable is computed as its value.

    Raises
    ------
    MissingInputError
        If ``inputs`` is given and an output needs a placeholder not in it.
    TypeError
        If an entry of ``inputs`` is not a placeholder.
    """
    subst = _check_replace(replace, what)
    g = Graph()
    value_of: dict[int, tuple[int, int]] = {}
    if inputs is not None:
        for i, v in enumerate(inputs):
            if getattr(v, "owner", 0) is not None or leaf_kind(v) != "input":
                kind = "a shared variable" if leaf_kind(v) == "param" and getattr(v, "owner", 1) is None else (
                    "a constant" if getattr(v, "owner", 1) is None else "a computed expression")
                raise TypeError(
                    f"{what} input {i} ({v!r}) is {kind}; inputs must be placeholders such as T.matrix('x')"
                    + ("; shared variables are used implicitly" if kind == "a shared variable" else "")
                )
            if id(v) in value_of:
                raise ValueError(f"{what} input {i} ({v!r}) is listed twice")
            nid = g.add_node(NodeData("input", [v.type], name=input_name(v), ref=v))
            g.inputs.append(nid)
            value_of[id(v)] = (nid, 0)
    for item in _postorder([o for o, _ in outputs], subst):
        if hasattr(item, "outputs"):
            ins = [value_of[id(subst.get(id(x), x))] for x in item.inputs]
            nid = g.add_node(
                NodeData("op", [o.type for o in item.outputs], op=item.op, attrs=dict(item.attrs),
                         provenance=item.provenance),
                ins,
            )
            for o in item.outputs:
                value_of[id(o)] = (nid, o.index)
            continue
        if item.owner is not None or id(item) in value_of:
            continue
        kind = leaf_kind(item)
        if kind == "input":
            if inputs is not None:
                raise MissingInputError(
                    f"{what}: an output depends on the input {item!r}, which is not in the inputs list "
                    f"{list(inputs)!r}"
                )
            nid = g.add_node(NodeData("input", [item.type], name=input_name(item), ref=item))
            g.inputs.append(nid)
        elif kind == "param":
            nid = g.add_node(NodeData("param", [item.type], name=item.name, ref=item))
        else:
            nid = g.add_node(NodeData("const", [item.type], name=item.name, value=item.value, ref=item))
        value_of[id(item)] = (nid, 0)
    g.outputs = [(value_of[id(subst.get(id(v), v))], name) for v, name in outputs]
    return g


def _check_replace(replace: Mapping[Any, Any] | None, what: str) -> dict[int, Any]:
    if not replace:
        return {}
    items = list(replace.items()) if isinstance(replace, Mapping) else list(replace)
    out: dict[int, Any] = {}
    for i, item in enumerate(items):
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise TypeError(
                f"{what} givens: entry {i} is {item!r}; givens must be a dict or a list of (old, new) pairs"
            )
        old, new = item
        if not hasattr(old, "type") or not hasattr(new, "type"):
            raise TypeError(f"{what} givens: both sides must be symbolic variables, got {old!r} -> {new!r}")
        if old.type.dtype != new.type.dtype or old.type.ndim != new.type.ndim:
            raise TypeError(f"{what} givens: {old!r} is replaced by {new!r} of a different dtype or rank")
        clash = [
            axis for axis, (a, b) in enumerate(zip(old.type.shape, new.type.shape))
            if isinstance(a, int) and isinstance(b, int) and a != b
        ]
        if clash:
            axis = clash[0]
            raise ValueError(
                f"{what} givens: {old!r} is replaced by {new!r}: their static sizes differ on axis {axis} "
                f"({old.type.shape[axis]} vs {new.type.shape[axis]}); the replacement must have shape "
                f"{format_shape(old.type.shape)}"
            )
        out[id(old)] = new
    _check_no_cycle(items, out, what)
    return out


def _check_no_cycle(items: Sequence[Any], subst: Mapping[int, Any], what: str) -> None:
    """Refuse givens whose replacements depend on what they replace (directly or through other givens)."""
    olds = {id(old): old for old, _ in items}
    needs = {k: [id(n) for n in _postorder([new]) if id(n) in olds] for k, new in subst.items()}
    path: list[int] = []  # the givens being expanded, outermost first
    done: set[int] = set()

    def visit(k: int) -> None:
        path.append(k)
        for dep in needs[k]:
            if dep in path:
                cycle = [olds[j] for j in path[path.index(dep):]]
                how = (
                    f"{cycle[0]!r} is replaced by an expression of {cycle[0]!r} itself" if len(cycle) == 1
                    else "the replacements form a cycle: " + " -> ".join(repr(v) for v in [*cycle, cycle[0]])
                )
                raise ValueError(f"{what} givens: {how}; a replacement must not depend on what it replaces")
            if dep not in done:
                visit(dep)
        path.pop()
        done.add(k)

    for k in subst:
        if k not in done:
            visit(k)
