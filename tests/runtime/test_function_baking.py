"""Read-only functions asked to (``bake_params=True``) bake parameters that stay unchanged into a
session of their own (as initializers, which ONNX Runtime folds and pre-packs), and never serve
stale values.  Off by default: pre-packed GEMMs round differently in the last bit."""

from __future__ import annotations

import sys
import threading

import numpy as np
import pytest

import graphc
import graphc.tensor as T
from graphc.layers import DenseLayer, InputLayer, LSTMLayer, get_all_params, get_output
from graphc.runtime.baking import BAKE_AFTER_CALLS

RNG = np.random.default_rng(31)


def _mlp():
    graphc.random.set_rng(np.random.RandomState(5))
    l_in = InputLayer((None, 7))
    out = DenseLayer(DenseLayer(l_in, 9), 3, nonlinearity=T.nnet.softmax)
    return l_in, out


def _eager(fn):
    """Bake after the fewest calls the rule allows, whatever the measured costs."""
    if fn._binding:
        pytest.skip("baking is for the plain CPU path; GRAPHC_IOBINDING=1 forces binding")
    fn._baker.threshold = lambda: BAKE_AFTER_CALLS
    return fn


def _numpy_mlp(out, x):
    (w1, b1), (w2, b2) = [(lay.W.get_value(), lay.b.get_value()) for lay in (out.input_layer, out)]
    h = np.maximum(x @ w1 + b1, 0)
    z = h @ w2 + b2
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_a_read_only_function_bakes_and_keeps_its_values():
    l_in, out = _mlp()
    f = _eager(graphc.function([l_in.input_var], get_output(out), bake_params=True))
    x = RNG.normal(size=(4, 7)).astype(np.float32)
    want = _numpy_mlp(out, x)
    for _ in range(BAKE_AFTER_CALLS + 1):
        np.testing.assert_allclose(f(x), want, rtol=1e-5, atol=1e-6)
    assert f._baker.baked is not None
    for _ in range(3):  # served by the baked session
        np.testing.assert_allclose(f(x), want, rtol=1e-5, atol=1e-6)
        y = f.run_device(x)
        np.testing.assert_allclose(y.numpy(), want, rtol=1e-5, atol=1e-6)


def test_set_value_after_baking_is_seen_at_once():
    l_in, out = _mlp()
    f = _eager(graphc.function([l_in.input_var], get_output(out), bake_params=True))
    x = RNG.normal(size=(5, 7)).astype(np.float32)
    for _ in range(BAKE_AFTER_CALLS + 2):
        f(x)
    assert f._baker.baked is not None
    out.W.set_value(RNG.normal(size=(9, 3)).astype(np.float32))
    np.testing.assert_allclose(f(x), _numpy_mlp(out, x), rtol=1e-5, atol=1e-6)
    # and it bakes again once the new values have stayed put
    for _ in range(BAKE_AFTER_CALLS + 1):
        f(x)
    assert f._baker.baked is not None and any(ref() is out.W._storage() for ref in f._baker.baked[1])  # baked with the new W
    np.testing.assert_allclose(f(x), _numpy_mlp(out, x), rtol=1e-5, atol=1e-6)


def test_a_baked_predictor_follows_a_training_function():
    """The parameters change under another function (training steps): the predictor sees every step."""
    graphc.random.set_rng(np.random.RandomState(6))
    l_in = InputLayer((None, 5, 3))
    out = DenseLayer(LSTMLayer(l_in, 4, only_return_final=True), 2, nonlinearity=None)
    pred = get_output(out)
    y = T.matrix("y")
    cost = T.mean((pred - y) ** 2)
    params = get_all_params(out, trainable=True)
    step = graphc.function([l_in.input_var, y], cost, updates=graphc.updates.adam(cost, params, learning_rate=0.05))
    predict = _eager(graphc.function([l_in.input_var], pred, bake_params=True))
    reference = graphc.function([l_in.input_var], pred)  # never baked
    reference._baker.enabled = False
    x = RNG.normal(size=(6, 5, 3)).astype(np.float32)
    t = RNG.normal(size=(6, 2)).astype(np.float32)
    for _epoch in range(3):
        for _ in range(BAKE_AFTER_CALLS + 2):
            np.testing.assert_allclose(predict(x), reference(x), rtol=1e-5, atol=1e-6)
        assert predict._baker.baked is not None
        before = predict(x)
        step(x, t)
        after = predict(x)
        assert not np.allclose(before, after)
        np.testing.assert_allclose(after, reference(x), rtol=1e-5, atol=1e-6)


def test_baking_is_off_by_default_and_for_stateful_functions(monkeypatch):
    """Off unless asked (bitwise-reproducible calls by default); the argument beats the
    environment; a function with updates never bakes."""
    l_in, out = _mlp()
    monkeypatch.delenv("GRAPHC_BAKE_PARAMS", raising=False)
    default = graphc.function([l_in.input_var], get_output(out))
    monkeypatch.setenv("GRAPHC_BAKE_PARAMS", "1")
    from_env = graphc.function([l_in.input_var], get_output(out))
    refused = graphc.function([l_in.input_var], get_output(out), bake_params=False)
    monkeypatch.delenv("GRAPHC_BAKE_PARAMS")
    s = graphc.shared(np.float32(0), name="counter")
    counting = graphc.function([l_in.input_var], get_output(out), updates=[(s, s + 1)], bake_params=True)
    assert not default._baker.enabled and not refused._baker.enabled and not counting._baker.enabled
    assert from_env._baker.enabled or from_env._binding
    x = RNG.normal(size=(2, 7)).astype(np.float32)
    first = default(x)
    for _ in range(BAKE_AFTER_CALLS + 3):
        np.testing.assert_array_equal(default(x), first)  # bitwise the same call after call
        counting(x)
    assert default._baker.baked is None and counting._baker.baked is None
    assert float(s.get_value()) == BAKE_AFTER_CALLS + 3
    with pytest.raises(TypeError, match="bake_params must be True, False or None"):
        graphc.function([l_in.input_var], get_output(out), bake_params="yes")


def test_the_bake_rule_waits_for_its_cost_and_stops_when_baking_does_not_pay():
    l_in, out = _mlp()
    f = graphc.function([l_in.input_var], get_output(out), bake_params=True)
    assert f._baker.threshold() == float("inf")  # nothing measured yet
    f._baker.timing = [0.010, None]
    f._baker.cost = 0.5
    assert f._baker.threshold() == pytest.approx(0.5 / 0.002)  # a fifth of a call saved per call
    f._baker.timing = [0.010, 0.006]
    assert f._baker.threshold() == pytest.approx(0.5 / 0.004)
    f._baker.cost = 0.0
    assert f._baker.threshold() == BAKE_AFTER_CALLS
    f._baker.timing = [0.010, 0.011]  # the baked session was slower: never again
    assert f._baker.threshold() == float("inf")


def test_baked_calls_from_many_threads_while_values_change():
    l_in, out = _mlp()
    f = _eager(graphc.function([l_in.input_var], get_output(out), bake_params=True))
    x = RNG.normal(size=(3, 7)).astype(np.float32)
    weights = [RNG.normal(size=(9, 3)).astype(np.float32) for _ in range(2)]
    wants = []
    for w in weights:
        out.W.set_value(w)
        wants.append(_numpy_mlp(out, x))
    errors: list[str] = []

    def caller():
        for _ in range(60):
            got = f(x)
            if not any(np.allclose(got, w, rtol=1e-5, atol=1e-6) for w in wants):
                errors.append("a result matching neither set of weights")

    threads = [threading.Thread(target=caller) for _ in range(3)]
    for t in threads:
        t.start()
    for k in range(40):
        out.W.set_value(weights[k % 2])
        if k % 8 == 0:
            for _ in range(BAKE_AFTER_CALLS + 1):
                f(x)
    for t in threads:
        t.join()
    assert not errors


def test_a_bake_that_fails_leaves_the_function_working(monkeypatch):
    """Baking is an optimization: if the baked session cannot be built (parameters past
    protobuf's 2 GiB, say), the call still answers and baking is switched off."""
    module = sys.modules["graphc.runtime.baking"]
    l_in, out = _mlp()
    f = _eager(graphc.function([l_in.input_var], get_output(out), bake_params=True))

    def refuse(*args, **kwargs):
        raise ValueError("Message onnx.ModelProto exceeds maximum protobuf size of 2GB")

    monkeypatch.setattr(module, "graph_to_onnx", refuse)
    x = RNG.normal(size=(4, 7)).astype(np.float32)
    for _ in range(BAKE_AFTER_CALLS + 3):
        np.testing.assert_allclose(f(x), _numpy_mlp(out, x), rtol=1e-5, atol=1e-6)
    assert f._baker.baked is None and not f._baker.enabled
