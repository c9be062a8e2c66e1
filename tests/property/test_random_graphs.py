"""Property tests: random expression graphs and random layer stacks keep their values through every
optimization level, through export to ONNX Runtime and onnx.reference, and their gradients match
finite differences.

Oracles: graphc's numpy evaluation of the unoptimized graph (independent of ONNX), ONNX Runtime
on the exported model, and onnx.reference on it.  ``--hypothesis-profile=deep`` runs thousands
of cases.
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
from hypothesis import given
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


@given(smooth_costs(), st.integers(0, 2**16))
def test_gradients_of_random_graphs_match_finite_differences(case, seed):
    (x, w), cost = case
    rng = np.random.default_rng(seed)
    xv, wv = rng.normal(size=(B, N)) * 0.7, rng.normal(size=(N, M)) * 0.7
    grads = graphc.grad(cost, [x, w], disconnected_inputs="ignore")
    f_cost = graphc.function([x, w], cost, on_unused_input="ignore")
    f_grad = graphc.function([x, w], grads, on_unused_input="ignore")
    gx, gw = f_grad(xv, wv)
    eps = 1e-6
    for k, (g, base) in enumerate(((gx, xv), (gw, wv))):
        d = rng.normal(size=base.shape)
        args_p, args_m = [xv, wv], [xv, wv]
        args_p[k], args_m[k] = base + eps * d, base - eps * d
        numeric = (f_cost(*args_p) - f_cost(*args_m)) / (2 * eps)
        np.testing.assert_allclose(np.sum(g * d), numeric, rtol=1e-5, atol=1e-7)
