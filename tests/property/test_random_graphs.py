"""Property tests: random expression graphs and random layer stacks keep their values through every
optimization level, through export to ONNX Runtime and onnx.reference, and their gradients match
finite differences.

Oracles: graphc's numpy evaluation of the unoptimized graph (independent of ONNX), ONNX Runtime
on the exported model, and onnx.reference on it.  ``--hypothesis-profile=deep`` runs thousands
of cases.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import onnxruntime as ort
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import graphc
import graphc.tensor as T
from graphc.export import to_onnx
from graphc.ir.build import build_graph
from graphc.ir.evaluate import evaluate
from graphc.testing import reference_evaluator

B, N, M = 3, 4, 5  # non-square everywhere

UNARY = [T.tanh, T.nnet.sigmoid, lambda v: T.exp(T.clip(v, -3, 3)), abs, lambda v: v * v, T.nnet.softplus, lambda v: -v]
BINARY = [lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b, T.maximum, T.minimum]


@st.composite
def expressions(draw: st.DrawFn) -> tuple[list, object]:
    """A random DAG over x (B, N), v (N,), w (N, M): elementwise chains, broadcasts, products, reductions, slices."""
    x = T.tensor("float32", shape=(B, N), name="x")
    v = T.tensor("float32", shape=(N,), name="v")
    w = graphc.shared(np.linspace(-1, 1, N * M, dtype=np.float32).reshape(N, M), name="w")
    pool = [x, x + v, T.dot(x, w)[:, :N]]
    for _ in range(draw(st.integers(2, 8))):
        kind = draw(st.sampled_from(["unary", "binary", "matmul", "reduce", "slice", "concat", "reverse"]))
        a = draw(st.sampled_from(pool))
        if kind == "unary":
            pool.append(draw(st.sampled_from(UNARY))(a))
        elif kind == "binary":
            pool.append(draw(st.sampled_from(BINARY))(a, draw(st.sampled_from(pool + [v]))))
        elif kind == "matmul":
            pool.append(T.dot(a, w)[:, :N] * 0.5)
        elif kind == "reduce":
            r = draw(st.sampled_from([T.sum, T.mean, T.max]))(a, axis=1, keepdims=True)
            pool.append(a - r)
        elif kind == "slice":
            k = draw(st.integers(1, N - 1))
            pool.append(T.concatenate([a[:, k:], a[:, :k]], axis=1))
        elif kind == "concat":
            pool.append(T.concatenate([a, draw(st.sampled_from(pool))], axis=0)[::2][:B])
        else:
            pool.append(a[::-1])
    outs = draw(st.lists(st.sampled_from(pool[2:] or pool), min_size=1, max_size=3, unique_by=id))
    return [x, v], outs + [T.tanh(v)]  # every input is used


def _feeds(seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(B, N)).astype(np.float32), rng.normal(size=(N,)).astype(np.float32)]


@given(expressions(), st.integers(0, 2**16), st.sampled_from(["O0", "O1", "O2"]))
def test_random_graphs_keep_their_values_at_every_level(case, seed, level):
    inputs, outs = case
    arrays = _feeds(seed)
    g = build_graph([(o, f"out{i}") for i, o in enumerate(outs)], inputs)
    want = evaluate(g, dict(zip(g.inputs, arrays)))
    got = graphc.function(inputs, outs, optimize=level)(*arrays)
    model = to_onnx({f"out{i}": o for i, o in enumerate(outs)}, inputs, optimize=level)
    feeds = {"x": arrays[0], "v": arrays[1]}
    ref = reference_evaluator(model).run(None, feeds)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feeds)
    for w, a, b, c in zip(want, got, ref, sess):
        np.testing.assert_allclose(a, w, rtol=2e-4, atol=2e-5)
        np.testing.assert_allclose(b, w, rtol=2e-4, atol=2e-5)
        np.testing.assert_allclose(c, w, rtol=2e-4, atol=2e-5)


SMOOTH_UNARY = [T.tanh, T.nnet.sigmoid, lambda v: v * v, T.nnet.softplus, lambda v: T.exp(0.3 * v), T.sin]
SMOOTH_BINARY = [lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b]


@st.composite
def smooth_costs(draw: st.DrawFn) -> tuple[object, object]:
    x = T.tensor("float64", shape=(B, N), name="x")
    w = T.tensor("float64", shape=(N, M), name="w")
    pool = [x, T.dot(x, w)[:, :N]]
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["unary", "binary", "matmul", "reduce", "slice"]))
        a = draw(st.sampled_from(pool))
        if kind == "unary":
            pool.append(draw(st.sampled_from(SMOOTH_UNARY))(a))
        elif kind == "binary":
            pool.append(draw(st.sampled_from(SMOOTH_BINARY))(a, draw(st.sampled_from(pool))))
        elif kind == "matmul":
            pool.append(T.dot(a, w)[:, 1 : N + 1])
        elif kind == "reduce":
            pool.append(a - T.mean(a, axis=0, keepdims=True))
        else:
            pool.append(a[:, ::-1])
    return (x, w), T.sum(draw(st.sampled_from(pool)) * T.cos(pool[-1]))


def ridders(phi: Callable[[float], float], h0: float, shrink: float = 1.6, steps: int = 16) -> tuple[float, float]:
    """``phi'(0)`` by Ridders' method: central differences at steps ``h0 / shrink**i``, extrapolated to a zero step.

    Richardson's tableau removes the h^2, h^4, ... error terms one by one; the estimate kept is
    the entry that changed least from its neighbours, and that change is its error estimate.  The
    steps shrink until the estimates grow apart again (round-off has taken over).

    Returns
    -------
    (float, float)
        The derivative and an estimate of its absolute error.
    """
    table = np.full((steps, steps), np.nan)
    h = h0
    best, err = np.nan, np.inf
    with np.errstate(all="ignore"):
        table[0, 0] = (phi(h) - phi(-h)) / (2 * h)
        for i in range(1, steps):
            h /= shrink
            table[0, i] = (phi(h) - phi(-h)) / (2 * h)
            fac = shrink**2
            for j in range(1, i + 1):
                table[j, i] = (table[j - 1, i] * fac - table[j - 1, i - 1]) / (fac - 1)
                fac *= shrink**2
                change = max(abs(table[j, i] - table[j - 1, i]), abs(table[j, i] - table[j - 1, i - 1]))
                if change <= err:
                    best, err = table[j, i], change
            if abs(table[i, i] - table[i - 1, i - 1]) >= 2 * err:
                break
    return float(best), float(err)


SMALLEST_STEP = 1e-6 / 1.6**15
"""The smallest step :func:`directional_derivative` takes (Ridders from 1e-6, 16 steps shrinking by 1.6)."""


def directional_derivative(phi: Callable[[float], float]) -> tuple[float, float]:
    """``phi'(0)`` and its error estimate: the best of Ridders' method started at steps 1e-1 .. 1e-6.

    One starting step cannot suit every cost: a steep one (third derivative ~1e12) needs steps
    below 1e-4 before the differences make sense, a gentle one converges from 1e-1.
    """
    return min((ridders(phi, h0) for h0 in (1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6)), key=lambda r: (np.isnan(r[1]), r[1]))


def check_directional_gradient(phi: Callable[[float], float], analytic: float, what: str = "gradient") -> tuple[float, float]:
    """Assert that ``analytic`` is ``phi'(0)``, to the accuracy the finite differences reached.

    The tolerance is 8 times Ridders' error estimate (at least 1e-7 relative, 1e-9 absolute), and
    the check refuses to pass when that tolerance is over 1e-4 relative: a gradient off by 0.1 %
    always fails, and a case whose differences do not converge fails as such rather than passing
    loosely.  Returns the finite-difference estimate and the tolerance used.
    """
    estimate, err = directional_derivative(phi)
    scale = max(abs(estimate), abs(analytic))
    tol = max(8 * err, 1e-7 * scale, 1e-9)
    assert tol <= 1e-4 * scale + 1e-8, f"{what}: finite differences did not converge: {estimate!r} +- {err:.3g}"
    assert abs(analytic - estimate) <= tol, (
        f"{what}: analytic {analytic!r}, finite differences {estimate!r} +- {err:.3g} (tolerance {tol:.3g})"
    )
    return estimate, tol


@given(smooth_costs(), st.integers(0, 2**16))
def test_gradients_of_random_graphs_match_finite_differences(case, seed):
    (x, w), cost = case
    rng = np.random.default_rng(seed)
    xv, wv = rng.normal(size=(B, N)) * 0.7, rng.normal(size=(N, M)) * 0.7
    grads = graphc.grad(cost, [x, w], disconnected_inputs="ignore")
    f_cost = graphc.function([x, w], cost, on_unused_input="ignore")
    f_grad = graphc.function([x, w], grads, on_unused_input="ignore")
    gx, gw = f_grad(xv, wv)
    for k, (g, base) in enumerate(((gx, xv), (gw, wv))):
        d = rng.normal(size=base.shape)

        def phi(t: float, k: int = k, base: np.ndarray = base, d: np.ndarray = d) -> float:
            args = [xv, wv]
            args[k] = base + t * d
            return float(f_cost(*args))

        # a cost that moves by a thousandth of its size over the smallest step the differences take
        # (cos of exp(24), say: it oscillates faster than float64 steps can follow) cannot be checked
        # by finite differences; a smooth cost with a wrong gradient still moves little there, and fails
        smallest = SMALLEST_STEP
        assume(abs(phi(smallest) - phi(-smallest)) <= 1e-3 * max(1.0, abs(phi(0.0))))
        check_directional_gradient(phi, float(np.sum(g * d)), f"d cost / d {'xw'[k]}")


def test_the_gradient_check_converges_on_steep_costs_and_catches_wrong_gradients():
    """A cost as steep as the deep run's (third derivative ~1e12 along the direction) passes with its true
    gradient, where one central difference at 1e-6 does not; the same check fails a gradient scaled by
    1.001 and one with a single coordinate's sign flipped."""
    x = T.tensor("float64", shape=(B, N), name="x")
    cost = T.sum(T.exp(1e4 * x)) * 1e-4 - T.sum(T.sin(x))
    f_cost = graphc.function([x], cost)
    f_grad = graphc.function([x], graphc.grad(cost, x))
    rng = np.random.default_rng(0)
    xv, d = rng.normal(size=(B, N)) * 1e-4, rng.normal(size=(B, N))
    g = f_grad(xv)

    def phi(t: float) -> float:
        return float(f_cost(xv + t * d))

    exact = float(np.sum((np.exp(1e4 * xv) - np.cos(xv)) * d))  # the derivative, by hand
    assert abs(float(np.sum(g * d)) - exact) <= 1e-9 * abs(exact)
    naive = (phi(1e-6) - phi(-1e-6)) / 2e-6
    assert abs(naive - exact) > 1e-5 * abs(exact)  # the old check: not converged on this cost
    estimate, tol = check_directional_gradient(phi, float(np.sum(g * d)))
    assert abs(estimate - exact) <= tol
    worst = np.unravel_index(np.argmax(np.abs(g * d)), g.shape)
    flipped = g.copy()
    flipped[worst] *= -1
    for wrong in (g * 1.001, flipped):
        with pytest.raises(AssertionError, match="analytic"):
            check_directional_gradient(phi, float(np.sum(wrong * d)))
    f_gentle = graphc.function([x], T.sum(T.tanh(x) * x))
    f_gentle_grad = graphc.function([x], graphc.grad(T.sum(T.tanh(x) * x), x))
    for smooth_seed in range(3):  # and on gentle costs, the same sharpness
        xs = np.random.default_rng(smooth_seed).normal(size=(B, N))
        g2 = f_gentle_grad(xs)

        def gentle(t: float, xs: np.ndarray = xs) -> float:
            return float(f_gentle(xs + t * d))

        check_directional_gradient(gentle, float(np.sum(g2 * d)))
        with pytest.raises(AssertionError, match="analytic"):
            check_directional_gradient(gentle, float(np.sum(g2 * d)) * 1.001)
