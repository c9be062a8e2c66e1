"""Numerically stable forms of the values a loss computes (Theano's and PyTensor's ``stabilize`` rewrites).

Rules, each exact in real arithmetic:

* ``log(sigmoid(x))`` -> ``-softplus(-x)`` and ``log(1 - sigmoid(x))`` -> ``-softplus(x)``
  (``1 - s`` rounds to 0 once ``x`` passes ~17 in float32): both halves of
  ``binary_crossentropy(sigmoid(z), t)``. ``1 - sigmoid(x)`` alone is left as it is: it is
  accurate in absolute terms, and the native recurrent lowering matches gates as written;
* ``log(sigmoid(x) / (1 - sigmoid(x)))`` -> ``x``;
* ``log(softmax(x))`` -> ``log_softmax(x)``, also through the gather
  ``categorical_crossentropy`` makes for integer targets:
  ``log(squeeze(take_along_axis(softmax(x), i)))`` -> ``squeeze(take_along_axis(log_softmax(x), i))``;
* ``log(1 + x)`` -> ``log1p(x)``; ``log(1 + exp(x))`` and ``log1p(exp(x))`` -> ``softplus(x)``;
* ``exp(x) - 1`` -> ``tanh(x / 2) * (exp(x) + 1)``, which is expm1 (ONNX has no Expm1).

Gradients are built from expressions before any pass runs, so the gradient of
the naive form still divides by ``sigmoid(x)`` or ``softmax(x)``; the companion
pass :mod:`graphc.passes.stabilize_grad` cancels those quotients.
"""

from __future__ import annotations

import numpy as np

from ..ir.graph import Graph, Value
from .base import Pass, for_each_graph, log
from .pattern import emit, emit_const

__all__ = ["stabilize", "STABILIZE"]


def _op(graph: Graph, v: Value) -> str | None:
    d = graph.data(v[0])
    return d.op if d.kind == "op" and v[1] == 0 else None


def _arg(graph: Graph, v: Value, k: int = 0) -> Value:
    return graph.node_inputs(v[0])[k]


def _is_one(graph: Graph, v: Value) -> bool:
    d = graph.data(v[0])
    return d.kind == "const" and d.value is not None and d.value.size > 0 and bool(np.all(d.value == 1))


def _log1p_of(graph: Graph, x: Value, prov: str | None) -> Value:
    """``log1p(x)``; ``softplus(y)`` for ``x = exp(y)`` (which overflows past y ~ 88 in float32)."""
    if _op(graph, x) == "exp":
        return emit(graph, "softplus", [_arg(graph, x)], prov)
    return emit(graph, "log1p", [x], prov)


def _log_of(graph: Graph, x: Value, prov: str | None) -> Value | None:
    """A stable value for ``log(x)``, or None."""
    op = _op(graph, x)
    if op == "sigmoid":
        inner = emit(graph, "neg", [_arg(graph, x)], prov)
        return emit(graph, "neg", [emit(graph, "softplus", [inner], prov)], prov)
    if op == "sub" and _is_one(graph, _arg(graph, x)) and _op(graph, _arg(graph, x, 1)) == "sigmoid":
        # log(1 - sigmoid(x)) = -softplus(x); 1 - sigmoid(x) itself stays (recurrent cells' gates
        # are matched as written by the native lowering, and it is accurate where it is not logged)
        return emit(graph, "neg", [emit(graph, "softplus", [_arg(graph, _arg(graph, x, 1))], prov)], prov)
    if op == "div":
        a, b = graph.node_inputs(x[0])
        if _op(graph, a) == "sigmoid" and _op(graph, b) == "sub" and _is_one(graph, _arg(graph, b)) and _arg(graph, b, 1) == a:
            return _arg(graph, a)  # the log-odds of sigmoid(x) are x (binary_hinge_loss with log_odds=False)
    if op == "softmax":
        return emit(graph, "log_softmax", [_arg(graph, x)], prov, axis=graph.data(x[0]).attrs["axis"])
    if op == "add":
        a, b = graph.node_inputs(x[0])
        for one, other in ((a, b), (b, a)):
            if _is_one(graph, one):
                return _log1p_of(graph, other, prov)
    squeeze = None
    if op == "squeeze":
        squeeze, x = x, _arg(graph, x)
    if _op(graph, x) == "take_along_axis" and _op(graph, _arg(graph, x)) == "softmax":
        sm = _arg(graph, x)
        d = graph.data(x[0])
        lsm = emit(graph, "log_softmax", [_arg(graph, sm)], prov, axis=graph.data(sm[0]).attrs["axis"])
        picked = emit(graph, "take_along_axis", [lsm, _arg(graph, x, 1)], prov, **d.attrs)
        if squeeze is None:
            return picked
        return emit(graph, "squeeze", [picked], prov, **graph.data(squeeze[0]).attrs)
    return None


def _expm1(graph: Graph, x: Value, exp: Value, one: Value, prov: str | None) -> Value:
    """``expm1(x)`` as ``tanh(x / 2) * (exp(x) + 1)``: exact in real arithmetic, and tanh keeps full
    relative precision near 0, where ``exp(x) - 1`` cancels (ONNX has no Expm1, so neither has graphc)."""
    half = emit_const(graph, np.array(0.5, dtype=graph.type_of(x).dtype))
    t = emit(graph, "tanh", [emit(graph, "mul", [x, half], prov)], prov)
    return emit(graph, "mul", [t, emit(graph, "add", [exp, one], prov)], prov)


def _replacement(graph: Graph, nid: int) -> tuple[Value, str] | None:
    d = graph.data(nid)
    ins = graph.node_inputs(nid)
    prov = d.provenance
    if d.op == "log":
        new = _log_of(graph, ins[0], prov)
        return None if new is None else (new, f"log({_op(graph, ins[0])}(...))")
    if d.op == "log1p" and _op(graph, ins[0]) == "exp":
        return _log1p_of(graph, ins[0], prov), "log1p(exp(x))"
    if d.op == "sub":
        a, b = ins
        if _is_one(graph, b) and _op(graph, a) == "exp":
            return _expm1(graph, _arg(graph, a), a, b, prov), "exp(x) - 1"
    return None


def _stabilize(graph: Graph) -> int:
    changed = 0
    for nid in graph.toposort():
        if nid not in graph:
            continue
        d = graph.data(nid)
        if d.kind != "op" or d.op not in ("log", "log1p", "sub") or len(d.types) != 1:
            continue
        found = _replacement(graph, nid)
        if found is None:
            continue
        new, what = found
        if graph.type_of(new) != d.types[0]:  # a constant 1 that broadcast x to a larger shape
            graph.prune()
            continue
        graph.replace_all_uses_with((nid, 0), new)
        log.debug("stabilize: %s at node %d", what, nid)
        changed += 1
    graph.prune()
    return changed


def stabilize(graph: Graph) -> int:
    """Rewrite logs of sigmoids, ``1 - sigmoid`` and softmaxes, ``log(1 + x)`` and ``exp(x) - 1``; return the count."""
    return for_each_graph(graph, _stabilize)


STABILIZE = Pass("stabilize", stabilize, "log(sigmoid(x)) -> -softplus(-x), log(1 - sigmoid(x)) -> -softplus(x), log(softmax) -> log_softmax, log1p, expm1")
