"""The stabilize phase: stable forms of log-sigmoid, log-softmax, the cross-entropies, log1p and expm1,
and of their gradients (taken before the passes run, so they are rewritten too).

Each rewrite: the graph before and after agree where the naive form is finite (float64); at
|z| = 50 and 1000 the value and gradient are finite and match a float64 numpy oracle of the stable
formula, in ONNX Runtime (through ``graphc.function``) and in ``onnx.reference``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import onnx
import pytest
from onnx.reference.ops.op_log_softmax import LogSoftmax as _NaiveLogSoftmax

import graphc
import graphc.tensor as T
from graphc.export import to_onnx
from graphc.ir.build import build_graph
from graphc.ir.evaluate import evaluate
from graphc.ir.graph import Graph
from graphc.ir.verify import verify
from graphc.passes import optimize
from graphc.passes.stabilize import stabilize
from graphc.passes.stabilize_grad import cancel_quotients
from graphc.testing import reference_evaluator

RNG = np.random.default_rng(15)
N, K = 5, 3  # non-square
OFF = {"stabilize": False, "cancel_quotients": False}


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return np.exp(-_softplus(-x))


def _log_softmax(x: np.ndarray) -> np.ndarray:
    m = x - x.max(axis=-1, keepdims=True)
    return m - np.log(np.exp(m).sum(axis=-1, keepdims=True))


def _targets() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ti = RNG.integers(0, K, size=N)
    onehot = np.eye(K)[ti]
    soft = RNG.uniform(0, 1, size=(N, K))
    return ti, onehot, soft


TI, ONEHOT, SOFT = _targets()
W = RNG.normal(size=(N, K))


# name -> (cost builder (z, t) -> scalar, target fed (or None), oracle value, oracle gradient wrt z)
Case = tuple[Callable[..., object], np.ndarray | None, Callable[..., float], Callable[..., np.ndarray]]
CASES: dict[str, Case] = {
    "log_sigmoid": (
        lambda z, t: T.sum(T.log(T.nnet.sigmoid(z))),
        None,
        lambda z, t: -_softplus(-z).sum(),
        lambda z, t: _sigmoid(-z),
    ),
    "log_one_minus_sigmoid": (
        lambda z, t: T.sum(T.log(1.0 - T.nnet.sigmoid(z))),
        None,
        lambda z, t: -_softplus(z).sum(),
        lambda z, t: -_sigmoid(z),
    ),
    "binary_crossentropy": (
        lambda z, t: T.mean(T.nnet.binary_crossentropy(T.nnet.sigmoid(z), t)),
        SOFT,
        lambda z, t: (t * _softplus(-z) + (1 - t) * _softplus(z)).mean(),
        lambda z, t: (_sigmoid(z) - t) / z.size,
    ),
    "softplus_as_log": (
        lambda z, t: T.sum(T.log(1.0 + T.exp(z))),
        None,
        lambda z, t: _softplus(z).sum(),
        lambda z, t: _sigmoid(z),
    ),
    "softplus_as_log1p": (
        lambda z, t: T.sum(T.log1p(T.exp(z))),
        None,
        lambda z, t: _softplus(z).sum(),
        lambda z, t: _sigmoid(z),
    ),
    "lasagne_binary_crossentropy": (
        lambda z, t: graphc.objectives.aggregate(graphc.objectives.binary_crossentropy(T.nnet.sigmoid(z), t)),
        SOFT,
        lambda z, t: (t * _softplus(-z) + (1 - t) * _softplus(z)).mean(),
        lambda z, t: (_sigmoid(z) - t) / z.size,
    ),
    "lasagne_categorical_crossentropy_onehot": (
        lambda z, t: graphc.objectives.aggregate(
            graphc.objectives.categorical_crossentropy(graphc.nonlinearities.softmax(z), t), mode="sum"
        ),
        ONEHOT,
        lambda z, t: -(t * _log_softmax(z)).sum(),
        lambda z, t: np.exp(_log_softmax(z)) - t,
    ),
    "lasagne_binary_hinge_of_probabilities": (
        lambda z, t: T.sum(graphc.objectives.binary_hinge_loss(T.nnet.sigmoid(z), t, log_odds=False) * 0.5),
        SOFT,
        lambda z, t: 0.5 * np.maximum(0.0, 1 - z * (2 * t - 1)).sum(),
        lambda z, t: -0.5 * (2 * t - 1) * (1 - z * (2 * t - 1) > 0),
    ),
    "log_softmax": (
        lambda z, t: T.sum(t * T.log(T.nnet.softmax(z))),
        W,
        lambda z, t: (t * _log_softmax(z)).sum(),
        lambda z, t: t - np.exp(_log_softmax(z)) * t.sum(axis=-1, keepdims=True),
    ),
    "categorical_crossentropy_onehot": (
        lambda z, t: T.mean(T.nnet.categorical_crossentropy(T.nnet.softmax(z), t)),
        ONEHOT,
        lambda z, t: -(t * _log_softmax(z)).sum(axis=-1).mean(),
        lambda z, t: (np.exp(_log_softmax(z)) - t) / len(z),
    ),
    "categorical_crossentropy_int": (
        lambda z, t: T.mean(T.nnet.categorical_crossentropy(T.nnet.softmax(z), t)),
        TI,
        lambda z, t: -_log_softmax(z)[np.arange(len(z)), t].mean(),
        lambda z, t: (np.exp(_log_softmax(z)) - np.eye(K)[t]) / len(z),
    ),
}


def _vars(name: str, dtype: str) -> tuple[T.TensorVariable, T.TensorVariable | None]:
    z = T.tensor(dtype, shape=(None, None), name="z")
    target = CASES[name][1]
    if target is None:
        return z, None
    if target.dtype.kind == "i":
        return z, T.tensor("int64", shape=(None,), name="t")
    return z, T.tensor(dtype, shape=(None, None), name="t")


def _feeds(name: str, zv: np.ndarray, dtype: str) -> dict[str, np.ndarray]:
    target = CASES[name][1]
    feeds = {"z": zv.astype(dtype)}
    if target is not None:
        feeds["t"] = target if target.dtype.kind == "i" else target.astype(dtype)
    return feeds


class LogSoftmax(_NaiveLogSoftmax):
    """onnx.reference's LogSoftmax takes the log of its Softmax (-inf once logits differ by ~100);
    ONNX defines LogSoftmax as ``x - max - log(sum(exp(x - max)))``, which this computes."""

    op_domain = ""

    def _run(self, X, axis=None):  # type: ignore[override]
        axis = self.axis if axis is None else axis
        m = X - X.max(axis=axis, keepdims=True)
        return (m - np.log(np.exp(m).sum(axis=axis, keepdims=True)),)


def _divides_by(g: Graph, ops: set[str]) -> int:
    """How many divisions in ``g`` have a denominator produced by one of ``ops``."""
    count = 0
    for nid in g.op_nodes():
        if g.data(nid).op == "div":
            den = g.data(g.node_inputs(nid)[1][0])
            count += den.kind == "op" and den.op in ops
    return count


@pytest.mark.parametrize("name", sorted(CASES))
def test_rewrites_keep_values_where_the_naive_form_is_finite(name):
    build = CASES[name][0]
    z, t = _vars(name, "float64")
    cost = build(z, t)
    inputs = [v for v in (z, t) if v is not None]
    g = build_graph([(cost, "cost"), (graphc.grad(cost, z), "gz")], inputs)
    optimize(g, "O1", passes=OFF, verify=True)  # simplified, not yet stabilized
    feeds = _feeds(name, RNG.normal(size=(N, K)) * 3, "float64")
    before = evaluate(g, feeds)
    hist = g.op_histogram()
    n_before = len(g)
    changed = stabilize(g)
    verify(g)
    changed += cancel_quotients(g)
    verify(g)
    optimize(g, "O1", verify=True)
    for a, b in zip(before, evaluate(g, feeds)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    after = g.op_histogram()
    assert changed >= 2  # the value and its gradient
    assert hist.get("log", 0) + hist.get("log1p", 0) >= 1
    assert after.get("log", 0) == 0 and after.get("log1p", 0) == 0
    assert _divides_by(g, {"sigmoid", "softmax", "exp", "add", "sub"}) == 0
    if "softmax" in name or "categorical" in name:
        assert after.get("log_softmax", 0) == 1
    elif "hinge" not in name:  # the hinge's log-odds of sigmoid(z) are z itself
        assert after.get("softplus", 0) >= 1
    assert len(g) <= n_before + 8, (n_before, len(g))


def _oracle(name: str, zv: np.ndarray) -> tuple[float, np.ndarray]:
    _, target, value, gradient = CASES[name]
    return value(zv, target), gradient(zv, target)


def _logits(scale: float) -> np.ndarray:
    z = RNG.normal(size=(N, K)) * scale / 2
    z[0, 0], z[1, 1] = scale, -scale  # the extremes themselves
    return z


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("scale", [50.0, 1000.0])
@pytest.mark.parametrize("name", sorted(CASES))
def test_value_and_gradient_stay_finite_in_onnx_runtime_and_onnx_reference(name, scale, dtype):
    build = CASES[name][0]
    z, t = _vars(name, dtype)
    cost = build(z, t)
    gz = graphc.grad(cost, z)
    inputs = [v for v in (z, t) if v is not None]
    zv = _logits(scale)
    feeds = _feeds(name, zv, dtype)
    value, gradient = _oracle(name, zv)

    f = graphc.function(inputs, [cost, gz])
    got = f(*feeds.values())
    model = to_onnx({"cost": cost, "gz": gz}, inputs)
    onnx.checker.check_model(model, full_check=True)
    ref = reference_evaluator(model, new_ops=[LogSoftmax]).run(None, feeds)
    for runtime, (c, g) in (("onnxruntime", got), ("onnx.reference", ref)):
        assert np.isfinite(c) and np.all(np.isfinite(g)), (runtime, c, g)
        np.testing.assert_allclose(c, value, rtol=2e-5, atol=1e-5, err_msg=runtime)
        np.testing.assert_allclose(g, gradient, rtol=2e-4, atol=1e-6, err_msg=runtime)


def test_without_the_phase_the_naive_forms_overflow():
    z, t = _vars("binary_crossentropy", "float32")
    cost = CASES["binary_crossentropy"][0](z, t)
    f = graphc.function([z, t], [cost, graphc.grad(cost, z)], passes=OFF)
    c, g = f(*_feeds("binary_crossentropy", _logits(50.0), "float32").values())
    assert not np.isfinite(c) and not np.all(np.isfinite(g))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_log1p_and_expm1_keep_precision_for_tiny_arguments(dtype):
    x = T.tensor(dtype, shape=(None,), name="x")
    naive = [T.log(1.0 + x), T.exp(x) - 1.0]
    grads = [graphc.grad(T.sum(e), x) for e in naive]
    xv = np.array([1e-12, -3e-9, 2e-6, 0.5, -0.75, 50.0], dtype=dtype)
    g = build_graph([(e, f"o{i}") for i, e in enumerate(naive + grads)], [x])
    before = evaluate(g, {"x": xv.astype(dtype)})
    assert stabilize(g) == 2
    hist = g.op_histogram()
    assert hist.get("log1p") == 1 and hist.get("tanh") == 1 and "log" not in hist and "sub" not in hist
    after = evaluate(g, {"x": xv})
    np.testing.assert_allclose(after[0], np.log1p(xv.astype(np.float64)), rtol=1e-6)
    np.testing.assert_allclose(after[1], np.expm1(xv.astype(np.float64)), rtol=1e-6)
    np.testing.assert_allclose(after[2:], before[2:], rtol=1e-6)  # gradients: 1 / (1 + x) and exp(x)
    assert np.abs(before[0][0] / 1e-12 - 1) > 1e-5  # the naive log(1 + x) had lost it
    model = to_onnx({"log1p": naive[0], "expm1": naive[1], "g1": grads[0], "g2": grads[1]}, [x])
    onnx.checker.check_model(model, full_check=True)
    oracle = [np.log1p(xv.astype(np.float64)), np.expm1(xv.astype(np.float64)), 1 / (1 + xv.astype(np.float64)), np.exp(xv.astype(np.float64))]
    rtol = 1e-5 if dtype == "float32" else 1e-12
    f = graphc.function([x], naive + grads)
    for runtime, outs in (("onnxruntime", f(xv)), ("onnx.reference", reference_evaluator(model).run(None, {"x": xv}))):
        for got, want in zip(outs, oracle):
            np.testing.assert_allclose(got, want, rtol=rtol, atol=0, err_msg=runtime)


def test_what_is_not_a_stable_form_is_left_alone():
    x = T.matrix("x")
    b = T.tanh(x) + 2.0
    ones = T.constant(np.ones((4, 3), dtype=np.float32))
    outs = [T.log(x * x + 0.5), (x / b) * b, ones - T.nnet.sigmoid(T.vector("v"))]
    v = outs[2].owner.inputs[1].owner.inputs[0]
    g = build_graph([(o, f"o{i}") for i, o in enumerate(outs)], [x, v])
    n = len(g)
    assert stabilize(g) == 0 and cancel_quotients(g) == 0 and len(g) == n


def test_user_level_binary_crossentropy_trains_finite():
    z, t = T.matrix("z"), T.matrix("t")
    w = graphc.shared(np.ones((K,), dtype=np.float32), name="w")
    loss = T.mean(T.nnet.binary_crossentropy(T.nnet.sigmoid(z * w), t))
    step = graphc.function([z, t], loss, updates=[(w, w - 0.1 * graphc.grad(loss, w))])
    zv = _logits(1000.0).astype(np.float32)
    tv = (RNG.uniform(size=(N, K)) > 0.5).astype(np.float32)
    for _ in range(3):
        assert np.isfinite(step(zv, tv))
        assert np.all(np.isfinite(w.get_value()))
    wv = w.get_value().astype(np.float64)
    expected = (tv * _softplus(-zv * wv) + (1 - tv) * _softplus(zv * wv)).mean()
    np.testing.assert_allclose(graphc.function([z, t], loss)(zv, tv), expected, rtol=1e-5)


def test_lasagne_softmax_classifier_trains_finite():
    lasagne = graphc
    x, y = T.matrix("x"), T.ivector("y")
    l_in = lasagne.layers.InputLayer((None, 4), x)
    l_out = lasagne.layers.DenseLayer(l_in, K, nonlinearity=lasagne.nonlinearities.softmax)
    prediction = lasagne.layers.get_output(l_out)
    loss = lasagne.objectives.categorical_crossentropy(prediction, y).mean()
    params = lasagne.layers.get_all_params(l_out, trainable=True)
    train = graphc.function([x, y], loss, updates=lasagne.updates.sgd(loss, params, 0.01))
    rng = np.random.default_rng(7)
    params[0].set_value(rng.normal(size=(4, K)).astype(np.float32))
    xv = (rng.normal(size=(N, 4)) * 300).astype(np.float32)  # logits differ by hundreds
    yv = TI.astype(np.int32)
    for _ in range(3):
        assert np.isfinite(train(xv, yv))
        assert all(np.all(np.isfinite(p.get_value())) for p in params)
    wv, bv = (p.get_value().astype(np.float64) for p in params)
    expected = -_log_softmax(xv @ wv + bv)[np.arange(N), yv].mean()
    np.testing.assert_allclose(graphc.function([x, y], loss)(xv, yv), expected, rtol=1e-4, atol=1e-3)


def test_loop_bodies_are_stabilized_forward_and_backward():
    x = T.tensor("float32", shape=(None, None), name="x")
    w = graphc.shared(np.float32(1.0), name="w")
    out, _ = graphc.scan(
        lambda xt, acc: acc + T.sum(T.log(T.nnet.sigmoid(xt * w))),
        sequences=[x],
        outputs_info=[T.constant(np.float32(0))],
    )
    cost = out[-1]
    f = graphc.function([x], [cost, *graphc.grad(cost, [x, w])])
    xv = np.array([[50, -50, 1000], [-1000, 3, -2]], np.float32)
    c, gx, gw = f(xv)
    x64 = xv.astype(np.float64)
    np.testing.assert_allclose(c, -_softplus(-x64).sum(), rtol=1e-6)
    np.testing.assert_allclose(gx, _sigmoid(-x64), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(gw, (x64 * _sigmoid(-x64)).sum(), rtol=1e-6)


@pytest.mark.parametrize("target", ["ones_like", "zeros_like", "scalar_one", "scalar_zero"])
def test_gan_losses_with_constant_targets_stay_finite(target):
    z = T.matrix("z")
    p = T.nnet.sigmoid(z)
    t = {"ones_like": T.ones_like(p), "zeros_like": T.zeros_like(p), "scalar_one": 1.0, "scalar_zero": 0.0}[target]
    cost = T.mean(T.nnet.binary_crossentropy(p, t))
    f = graphc.function([z], [cost, graphc.grad(cost, z)])
    zv = _logits(1000.0).astype(np.float32)
    tv = 1.0 if target in ("ones_like", "scalar_one") else 0.0
    z64 = zv.astype(np.float64)
    c, g = f(zv)
    np.testing.assert_allclose(c, (tv * _softplus(-z64) + (1 - tv) * _softplus(z64)).mean(), rtol=1e-5)
    np.testing.assert_allclose(g, (_sigmoid(z64) - tv) / zv.size, rtol=1e-4, atol=1e-7)


def test_sequence_softmax_cross_entropy_with_integer_targets():
    z, t = T.tensor3("z"), T.imatrix("t")  # (batch, time, classes): the gather on axis 2
    cost = T.mean(T.nnet.categorical_crossentropy(T.nnet.softmax(z), t))
    f = graphc.function([z, t], [cost, graphc.grad(cost, z)])
    rng = np.random.default_rng(0)
    zv = (rng.normal(size=(2, 4, K)) * 500).astype(np.float32)
    tv = rng.integers(0, K, size=(2, 4)).astype(np.int32)
    c, g = f(zv, tv)
    ls, onehot = _log_softmax(zv.astype(np.float64)), np.eye(K)[tv]
    np.testing.assert_allclose(c, -(ls * onehot).sum(-1).mean(), rtol=1e-5)
    np.testing.assert_allclose(g, (np.exp(ls) - onehot) / 8, rtol=1e-4, atol=1e-7)
