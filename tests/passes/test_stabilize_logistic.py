"""The stabilize phase on the hand-written logistic ``1 / (1 + exp(-z))`` (Theano's
``local_exp_over_1_plus_exp`` and ``local_sigm_times_exp``), and on its gradient.

Each form: the graph before and after agree where the naive form is finite (float64); at
|z| = 50 and 1000 the value and gradient are finite and match a float64 numpy oracle of the
stable formula, in ONNX Runtime (through ``graphc.function``) and in ``onnx.reference``; and
Theano's tutorial logistic regression trains to the oracle's costs and weights.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import onnx
import pytest

import graphc
import graphc.tensor as T
from graphc.export import to_onnx
from graphc.ir.build import build_graph
from graphc.ir.evaluate import evaluate
from graphc.ir.graph import Graph
from graphc.ir.verify import verify
from graphc.passes import optimize
from graphc.passes.stabilize import sigmoid_from_exp, stabilize
from graphc.passes.stabilize_grad import cancel_quotients, negates, same_sum

RNG = np.random.default_rng(19)
N, K = 5, 3
OFF = {"stabilize": False, "cancel_quotients": False}
T_SOFT = RNG.uniform(0, 1, size=(N, K))


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return np.exp(-_softplus(-x))


def _xent(p, t):
    return -t * T.log(p) - (1 - t) * T.log(1 - p)


# name -> (cost builder (z, t) -> scalar, oracle value, oracle gradient wrt z)
Case = tuple[Callable[..., object], Callable[..., float], Callable[..., np.ndarray]]
CASES: dict[str, Case] = {
    "tutorial_xent": (  # the doc's -a - b inside the exp, b a scalar
        lambda z, t: T.mean(_xent(1 / (1 + T.exp(-z - 0.25)), t)),
        lambda z, t: (t * _softplus(-z - 0.25) + (1 - t) * _softplus(z + 0.25)).mean(),
        lambda z, t: (_sigmoid(z + 0.25) - t) / z.size,
    ),
    "exp_plus_one_neg_mul": (  # 1 on the right, -1 * z
        lambda z, t: T.sum(_xent(1.0 / (T.exp(-1.0 * z) + 1.0), t)),
        lambda z, t: (t * _softplus(-z) + (1 - t) * _softplus(z)).sum(),
        lambda z, t: _sigmoid(z) - t,
    ),
    "exp_over_one_plus_exp": (
        lambda z, t: T.sum(_xent(T.exp(z) / (1.0 + T.exp(z)), t)),
        lambda z, t: (t * _softplus(-z) + (1 - t) * _softplus(z)).sum(),
        lambda z, t: _sigmoid(z) - t,
    ),
    "zero_minus_broadcast_one": (  # 0 - z, and a (1, 1) constant 1
        lambda z, t: T.sum(_xent(1.0 / (T.constant(np.ones((1, 1), dtype=z.dtype)) + T.exp(0.0 - z)), t)),
        lambda z, t: (t * _softplus(-z) + (1 - t) * _softplus(z)).sum(),
        lambda z, t: _sigmoid(z) - t,
    ),
    "scaled_numerator": (  # c / (1 + exp(x)) -> c * sigmoid(-x), the probability itself in the loss
        lambda z, t: T.sum(t / (1.0 + T.exp(z))),
        lambda z, t: (t * _sigmoid(-z)).sum(),
        lambda z, t: -t * _sigmoid(z) * _sigmoid(-z),
    ),
    "reciprocal": (
        lambda z, t: T.sum(_xent(T.inv(1.0 + T.exp(-z)), t)),
        lambda z, t: (t * _softplus(-z) + (1 - t) * _softplus(z)).sum(),
        lambda z, t: _sigmoid(z) - t,
    ),
    "power_minus_one": (
        lambda z, t: T.sum(_xent((1.0 + T.exp(-z)) ** -1, t)),
        lambda z, t: (t * _softplus(-z) + (1 - t) * _softplus(z)).sum(),
        lambda z, t: _sigmoid(z) - t,
    ),
}


def _vars(dtype: str) -> tuple[T.TensorVariable, T.TensorVariable]:
    return T.tensor(dtype, shape=(None, None), name="z"), T.tensor(dtype, shape=(None, None), name="t")


def _naive_divisions(g: Graph) -> int:
    """Divisions by ``1 + exp``, ``1 - p`` and the like: a quotient by an ``add``, ``sub`` or ``exp``."""
    count = 0
    for nid in g.op_nodes():
        d = g.data(nid)
        if d.op in ("div", "reciprocal"):
            den = g.data(g.node_inputs(nid)[-1][0])
            count += den.kind == "op" and den.op in ("add", "sub", "exp", "sigmoid")
        count += d.op == "pow"
    return count


@pytest.mark.parametrize("name", sorted(CASES))
def test_rewrites_keep_values_where_the_naive_form_is_finite(name):
    z, t = _vars("float64")
    cost = CASES[name][0](z, t)
    g = build_graph([(cost, "cost"), (graphc.grad(cost, z), "gz")], [z, t])
    optimize(g, "O1", passes=OFF, verify=True)  # simplified, not yet stabilized
    feeds = {"z": RNG.normal(size=(N, K)) * 3, "t": T_SOFT}
    before = evaluate(g, feeds)
    hist, n_before = g.op_histogram(), len(g)
    assert hist.get("exp", 0) >= 1 and _naive_divisions(g) >= 1
    changed = sigmoid_from_exp(g)
    verify(g)
    assert changed >= 2  # the value and its gradient
    changed = stabilize(g) + cancel_quotients(g)
    verify(g)
    optimize(g, "O1", verify=True)
    for a, b in zip(before, evaluate(g, feeds)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    after = g.op_histogram()
    assert after.get("exp", 0) == 0 and after.get("log", 0) == 0, after
    assert after.get("sigmoid", 0) >= 1
    assert _naive_divisions(g) == 0
    if "xent" in name or name not in ("scaled_numerator",):
        assert after.get("softplus", 0) == 2  # log(p) and log(1 - p)
    assert len(g) <= n_before + 4, (n_before, len(g))


def _logits(scale: float) -> np.ndarray:
    z = RNG.normal(size=(N, K)) * scale / 2
    z[0, 0], z[1, 1] = scale, -scale
    return z


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("scale", [50.0, 1000.0])
@pytest.mark.parametrize("name", sorted(CASES))
def test_value_and_gradient_stay_finite(name, scale, dtype):
    build, value, gradient = CASES[name]
    z, t = _vars(dtype)
    cost = build(z, t)
    gz = graphc.grad(cost, z)
    zv = _logits(scale)
    feeds = {"z": zv.astype(dtype), "t": T_SOFT.astype(dtype)}
    c, gv = graphc.function([z, t], [cost, gz])(*feeds.values())
    assert np.isfinite(c) and np.all(np.isfinite(gv)), (c, gv)
    np.testing.assert_allclose(c, value(zv, T_SOFT), rtol=2e-5, atol=1e-5)
    np.testing.assert_allclose(gv, gradient(zv, T_SOFT), rtol=2e-4, atol=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_tutorial_cost_in_onnx_reference(dtype):
    from graphc.testing import reference_evaluator

    build, value, gradient = CASES["tutorial_xent"]
    z, t = _vars(dtype)
    cost = build(z, t)
    gz = graphc.grad(cost, z)
    model = to_onnx({"cost": cost, "gz": gz}, [z, t])
    onnx.checker.check_model(model, full_check=True)
    ops = [n.op_type for n in model.graph.node]
    assert "Sigmoid" in ops and "Reciprocal" not in ops, ops
    for scale in (3.0, 50.0, 1000.0):
        zv = _logits(scale)
        c, gv = reference_evaluator(model).run(None, {"z": zv.astype(dtype), "t": T_SOFT.astype(dtype)})
        assert np.isfinite(c) and np.all(np.isfinite(gv))
        np.testing.assert_allclose(c, value(zv, T_SOFT), rtol=2e-5, atol=1e-5)
        np.testing.assert_allclose(gv, gradient(zv, T_SOFT), rtol=2e-4, atol=1e-6)


def test_without_the_phase_the_naive_logistic_overflows():
    z, t = _vars("float32")
    cost = CASES["tutorial_xent"][0](z, t)
    f = graphc.function([z, t], [cost, graphc.grad(cost, z)], passes=OFF)
    c, gv = f(_logits(50.0).astype(np.float32), T_SOFT.astype(np.float32))
    assert not np.isfinite(c) and not np.all(np.isfinite(gv))


def _oracle_training(xv, yv, w0, steps=10, lr=0.1):
    """Theano's tutorial in float64 numpy, with the stable (softplus) form of the cross-entropy."""
    w, b, costs = w0.astype(np.float64), 0.0, []
    for _ in range(steps):
        z = xv @ w + b
        costs.append((yv * _softplus(-z) + (1 - yv) * _softplus(z)).mean() + 0.01 * (w**2).sum())
        dz = (_sigmoid(z) - yv) / len(yv)
        w, b = w - lr * (xv.T @ dz + 0.02 * w), b - lr * dz.sum()
    return np.array(costs), w, b


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_theano_tutorial_logistic_regression_trains(dtype, monkeypatch):
    monkeypatch.setattr(graphc.config, "floatX", dtype)
    rng = np.random.default_rng(1234)
    n, feats = 400, 784
    xv, yv = rng.normal(size=(n, feats)), rng.integers(0, 2, size=n).astype(np.float64)
    w0 = rng.normal(size=feats)
    x, y = (T.dmatrix("x"), T.dvector("y")) if dtype == "float64" else (T.matrix("x"), T.vector("y"))
    w = graphc.shared(w0.astype(dtype), name="w")
    b = graphc.shared(np.asarray(0.0, dtype=dtype), name="b")
    p_1 = 1 / (1 + T.exp(-T.dot(x, w) - b))
    prediction = p_1 > 0.5
    xent = -y * T.log(p_1) - (1 - y) * T.log(1 - p_1)
    cost = xent.mean() + 0.01 * (w**2).sum()
    gw, gb = T.grad(cost, [w, b])
    train = graphc.function([x, y], [prediction, xent, cost], updates=((w, w - 0.1 * gw), (b, b - 0.1 * gb)))
    costs = []
    for _ in range(10):
        _, xe, c = train(xv.astype(dtype), yv.astype(dtype))
        assert np.all(np.isfinite(xe)) and np.isfinite(c)
        assert np.all(np.isfinite(w.get_value()))
        costs.append(float(c))
    want_costs, want_w, want_b = _oracle_training(xv, yv, w0)
    assert w.get_value().dtype == dtype
    rtol = 1e-9 if dtype == "float64" else 2e-4
    np.testing.assert_allclose(costs, want_costs, rtol=rtol)
    np.testing.assert_allclose(w.get_value(), want_w, rtol=rtol, atol=rtol * 10)
    np.testing.assert_allclose(b.get_value(), want_b, rtol=rtol, atol=rtol * 10)
    assert costs[-1] < costs[0]


def test_node_counts_of_the_tutorial_graph():
    x, y = T.dmatrix("x"), T.dvector("y")
    w = T.dvector("w")
    p_1 = 1 / (1 + T.exp(-T.dot(x, w) - 0.5))
    xent = -y * T.log(p_1) - (1 - y) * T.log(1 - p_1)
    cost = xent.mean()
    g = build_graph([(cost, "cost"), (graphc.grad(cost, w), "gw")], [x, y, w])
    optimize(g, "O1", passes=OFF, verify=True)
    before = g.op_histogram()
    assert before["exp"] == 1 and before["log"] == 2 and before["div"] == 5, before
    n_before = len(g)
    optimize(g, "O1", verify=True)
    after = g.op_histogram()
    # one sigmoid of -u (the probability) and one of u (the gradient's exp / (1 + exp)): the gradient is
    # (y * sigmoid(-u) * ... - (1 - y) * sigmoid(u) ...) with no quotient but the mean's
    assert "exp" not in after and "log" not in after and "reciprocal" not in after, after
    assert after["softplus"] == 2 and after["sigmoid"] == 2, after
    assert after["div"] == 2 and len(g) <= n_before, (after, n_before, len(g))  # the divisions left: the mean's 1 / n
    xv, yv, wv = RNG.normal(size=(7, 4)), RNG.integers(0, 2, size=7).astype(float), RNG.normal(size=4) * 40
    c, gw = evaluate(g, {"x": xv, "y": yv, "w": wv})
    u = xv @ wv + 0.5
    np.testing.assert_allclose(c, (yv * _softplus(-u) + (1 - yv) * _softplus(u)).mean(), rtol=1e-12)
    np.testing.assert_allclose(gw, xv.T @ (_sigmoid(u) - yv) / 7, rtol=1e-10, atol=1e-14)


def test_negations_are_recognized_in_every_form_graphc_builds():
    a, b = T.dvector("a"), T.dvector("b")
    forms = [-a, -1.0 * a, a * -1.0, 0.0 - a, -(a + b), -a - b, b - a, a + b, a - b]
    g = build_graph([(f, f"o{i}") for i, f in enumerate(forms)], [a, b])
    outs = [v for v, _ in g.outputs]
    av, bv = ((nid, 0) for nid in g.inputs)
    for o in outs[:4]:
        assert negates(g, o, av) and negates(g, av, o), o
    assert negates(g, outs[4], outs[7]) and negates(g, outs[5], outs[7]) and negates(g, outs[6], outs[8])
    assert same_sum(g, outs[4], outs[5]) and not negates(g, outs[4], outs[5])
    assert not negates(g, outs[6], av) and not same_sum(g, outs[6], bv) and not negates(g, outs[7], outs[8])


def test_what_is_not_a_logistic_is_left_alone():
    z, v = T.matrix("z"), T.vector("v")
    ones = T.constant(np.ones((4, 3), dtype=np.float32))
    outs = [
        1.0 / (2.0 + T.exp(z)),  # not 1 + exp
        (1.0 + T.exp(z)) * z,  # a factor, not a quotient
        1.0 / (ones + T.exp(v)),  # the constant broadcasts exp(v) to a larger shape
        (1.0 + T.exp(z)) ** 0.5,  # not an integer power
        T.exp(z) * T.nnet.sigmoid(z),  # sigmoid(z), not sigmoid(-z)
    ]
    g = build_graph([(o, f"o{i}") for i, o in enumerate(outs)], [z, v])
    n = len(g)
    assert sigmoid_from_exp(g) == 0 and len(g) == n
    verify(g)
