"""Cancel the quotients the gradients of naive losses divide by (Theano's mul canonizer, restricted).

``graphc.grad`` differentiates expressions before any pass runs, so the
gradient of ``log(sigmoid(x))`` is ``(g / s) * s * (1 - s)`` with
``s = sigmoid(x)``: ``0 / 0`` once ``s`` underflows. This pass views a product
as ``sign * prod(numerators) / prod(denominators)`` (through ``mul``, ``div``
and ``neg``) and

* cancels a denominator that is also a numerator;
* distributes a product over a sum (``add``, ``sub``, ``neg``) when that lets a
  term cancel: ``(a / s - b / u) * s * u`` -> ``a * u - b * s`` (the gradient of
  ``binary_crossentropy(sigmoid(x), t)``), ``s * (a / s - r)`` -> ``a - s * r``
  (the softmax rule's ``y * (g - sum(g * y))``);
* turns ``exp(x) / (1 + exp(x))`` into ``sigmoid(x)``;
* cancels ``1 - sigmoid(y)`` against ``sigmoid(x)`` when ``x = -y`` (and ``sigmoid(y)``
  against ``sigmoid(x)`` when ``x = y`` as a signed sum: the gradient of the hand-written
  logistic ``1 / (1 + exp(-z))`` once the stabilize pass has made a sigmoid of it);
* moves a factor ``s`` into a scatter of a gathered quotient:
  ``take_along_axis_grad(e / take_along_axis(s, i), i) * s`` ->
  ``take_along_axis_grad(e, i)`` (categorical cross-entropy with integer targets).

Only denominators made by ``sigmoid``, ``softmax``, ``exp`` and ``1 - sigmoid`` are cancelled:
where they are finite and nonzero the result is exact, and where they
underflow to 0 it is the limit the quotient stands for.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..ir.graph import Graph, Value
from ..ir.types import TensorType
from .base import Pass, for_each_graph, log
from .pattern import emit, emit_const

__all__ = ["cancel_quotients", "CANCEL_QUOTIENTS", "linear_terms", "same_sum", "negates"]

#: producers of the denominators this pass cancels
CANCELLABLE = frozenset({"sigmoid", "softmax", "exp"})
MAX_TERMS = 16
MAX_FACTORS = 32


def _op(graph: Graph, v: Value) -> str | None:
    d = graph.data(v[0])
    return d.op if d.kind == "op" and v[1] == 0 else None


def _args(graph: Graph, v: Value) -> list[Value]:
    return graph.node_inputs(v[0])


@dataclass
class Mono:
    """``sign * prod(nums) / prod(dens)``."""

    sign: int = 1
    nums: list[Value] = field(default_factory=list)
    dens: list[Value] = field(default_factory=list)

    def times(self, other: Mono) -> Mono:
        return Mono(self.sign * other.sign, self.nums + other.nums, self.dens + other.dens)


def _mono(graph: Graph, v: Value, budget: list[int] | None = None) -> Mono:
    """``v`` as a monomial; at most :data:`MAX_FACTORS` nodes are opened (shared products such as
    repeated squaring would otherwise flatten into exponentially many factors)."""
    budget = [MAX_FACTORS] if budget is None else budget
    op = _op(graph, v)
    if budget[0] > 0 and op in ("mul", "div", "neg"):
        budget[0] -= 1
        if op == "mul":
            a, b = _args(graph, v)
            return _mono(graph, a, budget).times(_mono(graph, b, budget))
        if op == "div":
            a, b = _args(graph, v)
            den = _mono(graph, b, budget)
            return _mono(graph, a, budget).times(Mono(den.sign, den.dens, den.nums))
        m = _mono(graph, _args(graph, v)[0], budget)
        return Mono(-m.sign, m.nums, m.dens)
    return Mono(1, [v])


def _terms(
    graph: Graph, v: Value, sign: int = 1, out: list[tuple[int, Value]] | None = None, linear: bool = False
) -> list[tuple[int, Value]]:
    """``v`` as a signed sum of terms (through ``add``, ``sub`` and ``neg``; with ``linear``, see :func:`linear_terms`)."""
    out = [] if out is None else out
    op = _op(graph, v)
    if len(out) > MAX_TERMS:
        out.append((sign, v))
    elif op in ("add", "sub"):
        a, b = _args(graph, v)
        _terms(graph, a, sign, out, linear)
        _terms(graph, b, -sign if op == "sub" else sign, out, linear)
    elif op == "neg":
        _terms(graph, _args(graph, v)[0], -sign, out, linear)
    elif linear and op == "mul" and -1.0 in (_scalar_const(graph, _args(graph, v)[0]), _scalar_const(graph, _args(graph, v)[1])):
        a, b = _args(graph, v)
        _terms(graph, b if _scalar_const(graph, a) == -1.0 else a, -sign, out, linear)
    elif not linear or _scalar_const(graph, v) != 0.0:
        out.append((sign, v))
    return out


def _scalar_const(graph: Graph, v: Value) -> float | None:
    c = graph.data(v[0])
    if c.kind == "const" and c.value is not None and c.value.size == 1:
        return float(c.value.reshape(()))
    return None


def linear_terms(graph: Graph, v: Value, sign: int = 1, out: list[tuple[int, Value]] | None = None) -> list[tuple[int, Value]]:
    """``v`` as a signed sum (through ``add``, ``sub``, ``neg`` and ``mul`` by -1), zero constants dropped.

    The forms graphc builds for a negation: ``neg(x)``, ``-1 * x``, ``0 - x`` and ``-a - b``.
    """
    return _terms(graph, v, sign, out, linear=True)


def _signed(terms: list[tuple[int, Value]], flip: int = 1) -> list[tuple[int, Value]]:
    return sorted((s * flip, v) for s, v in terms)


def same_sum(graph: Graph, a: Value, b: Value) -> bool:
    """Whether ``a`` and ``b`` are the same signed sum of the same values (``x - y`` and ``-y + x``)."""
    return a == b or _signed(linear_terms(graph, a)) == _signed(linear_terms(graph, b))


def negates(graph: Graph, a: Value, b: Value) -> bool:
    """Whether ``a = -b`` as signed sums (``neg(x)``, ``-1 * x``, ``0 - x`` against ``x``; ``-a - b`` against ``a + b``)."""
    return _signed(linear_terms(graph, a)) == _signed(linear_terms(graph, b), -1)


def _as_sigmoid(graph: Graph, v: Value) -> tuple[Value, bool] | None:
    """``(x, False)`` for ``v = sigmoid(x)``, ``(x, True)`` for ``v = 1 - sigmoid(x)``, else None."""
    op = _op(graph, v)
    if op == "sigmoid":
        return _args(graph, v)[0], False
    if op == "sub":
        one, s = _args(graph, v)
        c = graph.data(one[0])
        if c.kind == "const" and c.value is not None and bool(np.all(c.value == 1)) and _op(graph, s) == "sigmoid":
            return _args(graph, s)[0], True
    return None


def _same_sigmoid(graph: Graph, den: Value, num: Value) -> bool:
    """Whether ``num`` and ``den`` are one sigmoid: ``sigmoid(x)`` against ``1 - sigmoid(-x)``, or two sigmoids of one sum."""
    a, b = _as_sigmoid(graph, num), _as_sigmoid(graph, den)
    if a is None or b is None or graph.type_of(num) != graph.type_of(den):
        return False
    (x, cx), (y, cy) = a, b
    # sigmoid(x) = 1 - sigmoid(-x)
    return same_sum(graph, x, y) if cx == cy else negates(graph, x, y)


def _cancellable(graph: Graph, v: Value) -> bool:
    op = _op(graph, v)
    if op == "sub":  # 1 - sigmoid(x): the other half of a binary cross-entropy
        one, s = _args(graph, v)
        c = graph.data(one[0])
        return c.kind == "const" and c.value is not None and bool(np.all(c.value == 1)) and _op(graph, s) == "sigmoid"
    return op in CANCELLABLE


def _scatter_cancel(graph: Graph, m: Mono) -> bool:
    """``take_along_axis_grad(e / take_along_axis(s, i), i) * s`` -> ``take_along_axis_grad(e, i)``, in place."""
    for k, scat in enumerate(m.nums):
        if _op(graph, scat) != "take_along_axis_grad":
            continue
        e, idx, shp = _args(graph, scat)
        axis = graph.data(scat[0]).attrs["axis"]
        expanded = _op(graph, e) == "expand_dims" and tuple(graph.data(e[0]).attrs["axes"]) == (axis,)
        inner = _mono(graph, _args(graph, e)[0] if expanded else e)
        for j, den in enumerate(inner.dens):
            gathered = den
            if expanded:
                if _op(graph, den) != "squeeze" or tuple(graph.data(den[0]).attrs["axes"]) != (axis,):
                    continue
                gathered = _args(graph, den)[0]
            if _op(graph, gathered) != "take_along_axis" or graph.data(gathered[0]).attrs["axis"] != axis:
                continue
            s, gidx = _args(graph, gathered)
            if gidx != idx or s not in m.nums or not _cancellable(graph, s):
                continue
            prov = graph.data(scat[0]).provenance
            rest = _build(graph, Mono(inner.sign, inner.nums, inner.dens[:j] + inner.dens[j + 1:]), graph.type_of(e).dtype, prov)
            if expanded:
                rest = emit(graph, "expand_dims", [rest], prov, axes=(axis,))
            m.nums[k] = emit(graph, "take_along_axis_grad", [rest, idx, shp], prov, axis=axis)
            # the same shape operand: the same (better known) static sizes as the scatter it replaces
            graph.data(m.nums[k][0]).types = [graph.type_of(scat)]
            m.nums.remove(s)
            return True
    return False


def _exp_over_one_plus_exp(graph: Graph, m: Mono) -> bool:
    """``exp(x) / (1 + exp(x))`` -> ``sigmoid(x)`` in place (the gradient of ``softplus`` written as a log)."""
    for d in m.dens:
        if _op(graph, d) != "add":
            continue
        a, b = _args(graph, d)
        for one, e in ((a, b), (b, a)):
            c = graph.data(one[0])
            is_one = c.kind == "const" and c.value is not None and c.value.ndim == 0 and c.value == 1
            if is_one and _op(graph, e) == "exp" and e in m.nums and graph.type_of(e) == graph.type_of(d):
                m.dens.remove(d)
                m.nums.remove(e)
                m.nums.append(emit(graph, "sigmoid", [_args(graph, e)[0]], graph.data(d[0]).provenance))
                return True
    return False


def _cancel(graph: Graph, m: Mono) -> bool:
    """Cancel in place what ``m`` allows; whether anything was cancelled."""
    changed = False
    while _exp_over_one_plus_exp(graph, m):
        changed = True
    for d in list(m.dens):
        if d in m.nums and _cancellable(graph, d):
            m.nums.remove(d)
            m.dens.remove(d)
            changed = True
            continue
        for n in m.nums:
            if _same_sigmoid(graph, d, n):
                m.nums.remove(n)
                m.dens.remove(d)
                changed = True
                break
    while _scatter_cancel(graph, m):
        changed = True
    return changed


def _build(graph: Graph, m: Mono, dtype: str, prov: str | None) -> Value:
    def product(vs: list[Value]) -> Value | None:
        out = None
        for v in vs:
            out = v if out is None else emit(graph, "mul", [out, v], prov)
        return out

    num = product(m.nums)
    if num is None:
        num = emit_const(graph, np.array(1, dtype=dtype))
    den = product(m.dens)
    out = num if den is None else emit(graph, "div", [num, den], prov)
    return emit(graph, "neg", [out], prov) if m.sign < 0 else out


def _distribute(graph: Graph, m: Mono, dtype: str, prov: str | None) -> Value | None:
    """Distribute ``m`` over one of its sum factors when that lets a term cancel."""
    for k, f in enumerate(m.nums):
        if _op(graph, f) not in ("add", "sub", "neg"):
            continue
        others = Mono(m.sign, m.nums[:k] + m.nums[k + 1:], list(m.dens))
        terms = _terms(graph, f)
        if len(terms) > MAX_TERMS:
            continue
        products = []
        hit = False
        for sign, t in terms:
            p = Mono(sign).times(_mono(graph, t)).times(others)
            hit = _cancel(graph, p) or hit
            products.append(p)
        if not hit:
            continue
        out: Value | None = None
        for p in products:
            term = _build(graph, Mono(1, p.nums, p.dens), dtype, prov)
            if out is None:
                out = term if p.sign > 0 else emit(graph, "neg", [term], prov)
            else:
                out = emit(graph, "add" if p.sign > 0 else "sub", [out, term], prov)
        return out
    return None


def _fits(old: TensorType, new: TensorType) -> bool:
    """Whether ``new`` can stand for ``old``: same dtype and rank, static sizes kept, no symbolic dim become 1."""
    if old.dtype != new.dtype or old.ndim != new.ndim:
        return False
    for a, b in zip(old.shape, new.shape):
        if isinstance(a, int) and a != b or not isinstance(a, int) and b == 1:
            return False
    return True


def _cancel_quotients(graph: Graph) -> int:
    changed = 0
    # outermost products first: a whole chain ``((g / q) / u) * s * u`` is flattened at once,
    # where rewriting its inner products first could strand a quotient away from its factor
    for nid in reversed(graph.toposort()):
        if nid not in graph:
            continue
        d = graph.data(nid)
        if d.kind != "op" or d.op not in ("mul", "div") or len(d.types) != 1:
            continue
        dtype = d.types[0].dtype
        m = _mono(graph, (nid, 0))
        new = _build(graph, m, dtype, d.provenance) if _cancel(graph, m) else _distribute(graph, m, dtype, d.provenance)
        if new is None:
            continue
        if not _fits(d.types[0], graph.type_of(new)):
            graph.prune()
            continue
        graph.replace_all_uses_with((nid, 0), new)
        graph.prune()  # what only the old product read is gone: not visited, not rewritten for nothing
        log.debug("cancel_quotients: node %d", nid)
        changed += 1
    graph.prune()
    return changed


def cancel_quotients(graph: Graph) -> int:
    """Cancel divisions by sigmoid, softmax and exp outputs in products (gradients of naive losses); return the count."""
    return for_each_graph(graph, _cancel_quotients)


CANCEL_QUOTIENTS = Pass(
    "cancel_quotients", cancel_quotients, "cancel (g / s) * s for s a sigmoid, 1 - sigmoid, softmax or exp output, through sums and gathers"
)
