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
* ``exp(x) - 1`` -> ``tanh(x / 2) * (exp(x) + 1)``, which is expm1 (ONNX has no Expm1);
* the hand-written logistic (Theano's ``local_exp_over_1_plus_exp`` and ``local_sigm_times_exp``),
  over a whole product ``sign * prod(nums) / prod(dens)`` (through ``mul``, ``div``, ``neg``,
  ``reciprocal`` and integer powers of ``1 + exp(x)``), outermost product first:
  ``exp(x) / (1 + exp(x))`` -> ``sigmoid(x)``, ``c / (1 + exp(x))`` -> ``c * sigmoid(-x)`` and
  ``exp(x) * sigmoid(-x)`` -> ``sigmoid(x)``. ``1 + exp(x)`` may be written either way round,
  with a scalar or broadcast 1; ``-x`` is simplified through ``neg``, ``-1 * x``, ``0 - x`` and
  ``-a - b``. Whole products, because the gradient of ``1 / (1 + exp(u))`` is
  ``g * p / (1 + exp(u)) * exp(u)``: rewriting the quotient alone would leave ``exp(u) * sigmoid(-u)``,
  ``inf * 0`` once ``u`` passes ~88 in float32. A sum whose terms share a ``1 + exp(x)``
  denominator has the common factor taken out first (the two gradient paths of
  ``exp(x) / (1 + exp(x))``, through its numerator and its denominator, are
  ``X * e / q - X * e * e / (q * q)`` = ``X * sigmoid(x) * (1 - sigmoid(x))``).

Gradients are built from expressions before any pass runs, so the gradient of
the naive form still divides by ``sigmoid(x)`` or ``softmax(x)``; the companion
pass :mod:`graphc.passes.stabilize_grad` cancels those quotients.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import numpy as np

from ..ir.graph import Graph, Value
from .base import Pass, for_each_graph, log
from .pattern import emit, emit_const
from .stabilize_grad import MAX_FACTORS, Mono, _build, _fits, _terms, linear_terms, negates, same_sum

__all__ = ["stabilize", "sigmoid_from_exp", "STABILIZE"]


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


def _one_plus_exp(graph: Graph, v: Value) -> Value | None:
    """``x`` for ``v = 1 + exp(x)`` or ``exp(x) + 1`` (the 1 a constant that does not broadcast ``exp(x)``)."""
    if _op(graph, v) != "add":
        return None
    a, b = graph.node_inputs(v[0])
    for one, e in ((a, b), (b, a)):
        if _is_one(graph, one) and _op(graph, e) == "exp" and graph.type_of(e) == graph.type_of(v):
            return _arg(graph, e)
    return None


def _factors(graph: Graph, v: Value, budget: list[int]) -> Mono:
    """``v`` as ``sign * prod(nums) / prod(dens)``, opening at most ``budget[0]`` nodes."""
    op = _op(graph, v)
    if budget[0] <= 0 or op not in ("mul", "div", "neg", "reciprocal", "pow"):
        return Mono(1, [v])
    if op == "pow":
        base, k = graph.node_inputs(v[0])
        c = graph.data(k[0])
        n = float(c.value.reshape(())) if c.kind == "const" and c.value is not None and c.value.size == 1 else 0.5
        # only powers of 1 + exp(x), whose copies this pass turns into sigmoids
        if n != int(n) or not 0 < abs(n) <= 4 or _one_plus_exp(graph, base) is None or graph.type_of(base) != graph.type_of(v):
            return Mono(1, [v])
        budget[0] -= 1
        copies = [base] * int(abs(n))
        return Mono(1, copies) if n > 0 else Mono(1, [], copies)
    budget[0] -= 1
    ins = graph.node_inputs(v[0])
    if op == "mul":
        return _factors(graph, ins[0], budget).times(_factors(graph, ins[1], budget))
    if op == "neg":
        m = _factors(graph, ins[0], budget)
        return Mono(-m.sign, m.nums, m.dens)
    den = _factors(graph, ins[-1], budget)
    num = _factors(graph, ins[0], budget) if op == "div" else Mono()
    return num.times(Mono(den.sign, den.dens, den.nums))


class _Emitter:
    """Negations and sigmoids made once per argument, so that later cancellations see one node."""

    def __init__(self, graph: Graph, prov: str | None) -> None:
        self.graph, self.prov = graph, prov
        self.negs: dict[Value, Value] = {}
        self.sigmoids: dict[Value, Value] = {}

    def neg(self, x: Value) -> Value:
        """``-x``, with the negations graphc builds (``neg``, ``-1 * x``, ``0 - x``, ``-a - b``) taken apart."""
        if x not in self.negs or self.negs[x][0] not in self.graph:  # pruned with a rejected rewrite
            g = self.graph
            terms = linear_terms(g, x)
            new: Value | None = None
            if 0 < len(terms) <= 4:
                pos = [v for s, v in terms if s < 0]  # the signs flip
                negv = [v for s, v in terms if s > 0]
                new = pos[0] if pos else emit(g, "neg", [negv.pop(0)], self.prov)
                for v in pos[1:]:
                    new = emit(g, "add", [new, v], self.prov)
                for v in negv:
                    new = emit(g, "sub", [new, v], self.prov)
            if new is None or g.type_of(new) != g.type_of(x):
                new = emit(g, "neg", [x], self.prov)
            self.negs[x] = new
        return self.negs[x]

    def sigmoid(self, x: Value) -> Value:
        if x not in self.sigmoids or self.sigmoids[x][0] not in self.graph:
            self.sigmoids[x] = emit(self.graph, "sigmoid", [x], self.prov)
        return self.sigmoids[x]


def _find(graph: Graph, factors: list[Value], op: str, like: Value, arg_ok: Callable[[Value], bool]) -> Value | None:
    """The first factor made by ``op``, of the type of ``like``, whose argument passes ``arg_ok``."""
    for f in factors:
        if _op(graph, f) == op and graph.type_of(f) == graph.type_of(like) and arg_ok(_arg(graph, f)):
            return f
    return None


def _rewrite_exps(graph: Graph, m: Mono, em: _Emitter) -> list[str]:
    """Turn the ``1 + exp`` denominators of ``m`` and its ``exp(x) * sigmoid(-x)`` into sigmoids, in place."""
    done = []
    for d in list(m.dens):
        x = _one_plus_exp(graph, d)
        if x is None:
            continue
        m.dens.remove(d)
        e = _find(graph, m.nums, "exp", d, lambda arg, x=x: same_sum(graph, arg, x))
        if e is not None:
            m.nums.remove(e)
            m.nums.append(em.sigmoid(x))
            done.append("exp(x) / (1 + exp(x))")
        else:
            m.nums.append(em.sigmoid(em.neg(x)))
            done.append("c / (1 + exp(x))")
    for e in [n for n in m.nums if _op(graph, n) == "exp"]:
        s = _find(graph, m.nums, "sigmoid", e, lambda arg, e=e: negates(graph, arg, _arg(graph, e)))
        if s is not None:
            m.nums.remove(e)
            m.nums.remove(s)
            m.nums.append(em.sigmoid(_arg(graph, e)))
            done.append("exp(x) * sigmoid(-x)")
    # the 1 of ``1 / (1 + exp(x))``: a factor that changes nothing
    m.nums = [n for n in m.nums if not (_is_one(graph, n) and graph.data(n[0]).value.size == 1)] if done else m.nums
    return done


def _common(factor_lists: list[list[Value]]) -> list[Value]:
    common = Counter(factor_lists[0])
    for fs in factor_lists[1:]:
        common &= Counter(fs)
    return list(common.elements())


def _without(fs: list[Value], common: list[Value]) -> list[Value]:
    return list((Counter(fs) - Counter(common)).elements())


def _factor_sum(graph: Graph, v: Value, em: _Emitter) -> tuple[Value, list[str]] | None:
    """``common * sum(rest_i)`` for a sum whose terms share a ``1 + exp(x)`` denominator, its exps made sigmoids."""
    terms = _terms(graph, v)
    if not 2 <= len(terms) <= 4:
        return None
    monos = [Mono(sign).times(_factors(graph, t, [MAX_FACTORS])) for sign, t in terms]
    dens = _common([m.dens for m in monos])
    if not any(_one_plus_exp(graph, d) is not None for d in dens):
        return None
    nums = _common([m.nums for m in monos])
    rests = [Mono(m.sign, _without(m.nums, nums), _without(m.dens, dens)) for m in monos]
    common = Mono(1, nums, dens)
    done = _rewrite_exps(graph, common, em)
    for r in rests:
        done += _rewrite_exps(graph, r, em)
    dtype = graph.type_of(v).dtype
    total: Value | None = None
    for r in rests:
        t = _build(graph, Mono(1, r.nums, r.dens), dtype, em.prov)
        if total is None:
            total = t if r.sign > 0 else emit(graph, "neg", [t], em.prov)
        else:
            total = emit(graph, "add" if r.sign > 0 else "sub", [total, t], em.prov)
    assert total is not None
    done.append("common factor of a sum")
    return emit(graph, "mul", [_build(graph, common, dtype, em.prov), total], em.prov), done


def _sigmoid_from_exp(graph: Graph) -> int:
    changed = 0
    em = _Emitter(graph, None)
    # outermost products first: the gradient's ``g * p / (1 + exp(u)) * exp(u)`` is seen whole
    for nid in reversed(graph.toposort()):
        if nid not in graph:
            continue
        d = graph.data(nid)
        if d.kind != "op" or d.op not in ("mul", "div", "reciprocal", "pow", "add", "sub") or len(d.types) != 1:
            continue
        em.prov = d.provenance
        if d.op in ("add", "sub"):
            found = _factor_sum(graph, (nid, 0), em)
            if found is None:
                continue
            new, done = found
        else:
            m = _factors(graph, (nid, 0), [MAX_FACTORS])
            done = _rewrite_exps(graph, m, em)
            if not done:
                continue
            new = _build(graph, m, d.types[0].dtype, d.provenance)
        if not _fits(d.types[0], graph.type_of(new)):
            graph.prune()
            continue
        graph.replace_all_uses_with((nid, 0), new)
        graph.prune()  # what only the old product read is gone: not visited, not rewritten for nothing
        log.debug("stabilize: %s at node %d", ", ".join(done), nid)
        changed += 1
    graph.prune()
    return changed


def sigmoid_from_exp(graph: Graph) -> int:
    """Turn ``exp(x) / (1 + exp(x))``, ``c / (1 + exp(x))`` and ``exp(x) * sigmoid(-x)`` into sigmoids; return the count."""
    return for_each_graph(graph, _sigmoid_from_exp)


def stabilize(graph: Graph) -> int:
    """Make sigmoids of hand-written logistics, then rewrite logs of sigmoids, ``1 - sigmoid`` and softmaxes,
    ``log(1 + x)`` and ``exp(x) - 1``; return the count."""
    return sigmoid_from_exp(graph) + for_each_graph(graph, _stabilize)


STABILIZE = Pass(
    "stabilize",
    stabilize,
    "exp(x) / (1 + exp(x)) -> sigmoid(x), c / (1 + exp(x)) -> c * sigmoid(-x), log(sigmoid(x)) -> -softplus(-x), "
    "log(1 - sigmoid(x)) -> -softplus(x), log(softmax) -> log_softmax, log1p, expm1",
)
