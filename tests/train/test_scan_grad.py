"""Backpropagation through time: gradients of scans and recurrent layers against finite differences (float64)."""

from __future__ import annotations

import numpy as np
import pytest

import graphc
import graphc.tensor as T
from graphc.layers import GRULayer, InputLayer, LSTMLayer, RecurrentLayer, get_all_params, get_output

RNG = np.random.default_rng(17)


@pytest.fixture(autouse=True)
def float64():
    graphc.config.floatX = "float64"
    yield
    graphc.config.floatX = "float32"


def _fd_check(inputs, arrays, cost, wrt_shared, eps=1e-6, rtol=1e-5):
    grads = graphc.grad(cost, wrt_shared)
    f = graphc.function(inputs, [cost] + grads)
    fc = graphc.function(inputs, cost)
    got = f(*arrays)[1:]
    for p, g in zip(wrt_shared, got):
        v = RNG.normal(size=g.shape)
        p0 = p.get_value()
        p.set_value(p0 + eps * v)
        cp = fc(*arrays)
        p.set_value(p0 - eps * v)
        cm = fc(*arrays)
        p.set_value(p0)
        np.testing.assert_allclose(np.sum(g * v), (cp - cm) / (2 * eps), rtol=rtol, atol=1e-8, err_msg=p.name)


@pytest.mark.parametrize(
    ("cls", "kw"),
    [
        (LSTMLayer, {"mask": True, "backwards": True, "learn_init": True}),
        (LSTMLayer, {"peepholes": False, "only_return_final": True, "precompute_input": False}),
        (GRULayer, {"mask": True, "learn_init": True}),
        (GRULayer, {"backwards": True, "unroll_scan": True}),
        (RecurrentLayer, {"mask": True, "nonlinearity": T.tanh}),
    ],
)
def test_recurrent_layer_gradients(cls, kw):
    kw = dict(kw)
    use_mask = kw.pop("mask", False)
    T_ = 5
    l_in = InputLayer((None, T_ if kw.get("unroll_scan") else None, 3))
    l_mask = InputLayer((None, None))
    layer = cls(l_in, 4, mask_input=l_mask if use_mask else None, **kw)
    out = get_output(layer)
    cost = T.sum(out**2) + T.sum(out * np.arange(out.ndim, dtype=np.float64).sum())
    params = get_all_params(layer, trainable=True)
    x = RNG.normal(size=(2, T_, 3))
    m = (RNG.random((2, T_)) > 0.3).astype(np.float64)
    m[:, 0] = 1
    inputs = [l_in.input_var] + ([l_mask.input_var] if use_mask else [])
    arrays = [x] + ([m] if use_mask else [])
    _fd_check(inputs, arrays, cost, params)


def test_truncate_gradient_stops_early_steps():
    x = T.matrix("x")  # (time, features)
    w = graphc.shared(RNG.normal(size=(3, 3)) * 0.5, name="w")

    def run(truncate):
        hs, _ = graphc.scan(lambda x_t, h: T.tanh(x_t + T.dot(h, w)), sequences=x, outputs_info=[T.zeros((3,))], truncate_gradient=truncate)
        return graphc.function([x], graphc.grad(T.sum(hs[-1]), x))

    xv = RNG.normal(size=(6, 3))
    full = run(-1)(xv)
    cut = run(2)(xv)
    np.testing.assert_allclose(cut[-2:], full[-2:], rtol=1e-10)  # the last two steps backpropagate as usual
    np.testing.assert_array_equal(cut[:-2], np.zeros((4, 3)))  # earlier steps get nothing


def test_scan_with_non_sequences_and_extra_outputs():
    x = T.matrix("x")
    k = graphc.shared(np.array([0.5, -1.0, 2.0]), name="k")
    (hs, ys), _ = graphc.scan(
        lambda x_t, h, kk: [h * 0.9 + x_t * kk, T.sum(h * x_t)], sequences=x, outputs_info=[T.zeros((3,)), None], non_sequences=[k]
    )
    cost = T.sum(ys) + T.sum(hs[2] ** 2)
    _fd_check([x], [RNG.normal(size=(4, 3))], cost, [k])


def test_truncate_gradient_matches_an_explicitly_truncated_unrolled_computation():
    T_, k = 7, 3
    x = T.matrix("x")  # (time, features)
    w = graphc.shared(RNG.normal(size=(3, 3)) * 0.6, name="w_trunc")
    u = graphc.shared(RNG.normal(size=(3, 3)) * 0.6, name="u_trunc")

    def step(x_t, h):
        return T.tanh(T.dot(x_t, u) + T.dot(h, w))

    hs, _ = graphc.scan(step, sequences=x, outputs_info=[T.zeros((3,))], truncate_gradient=k)
    cost = T.sum(hs[-1] ** 2) + T.sum(hs[T_ - k :] * 0.5)  # only outputs of the last k steps
    scan_grads = graphc.function([x], graphc.grad(cost, [w, u, x]))

    # the same recurrence unrolled, with the state entering the last k steps held constant
    h = T.zeros((3,))
    states = []
    for t in range(T_):
        h = step(x[t], h)
        states.append(h)
    cut = states[T_ - k - 1]
    unrolled = T.stack(states)
    cost_u = T.sum(unrolled[-1] ** 2) + T.sum(unrolled[T_ - k :] * 0.5)
    unrolled_grads = graphc.function([x], graphc.grad(cost_u, [w, u, x], consider_constant=[cut]))
    xv = RNG.normal(size=(T_, 3))
    for a, b in zip(scan_grads(xv), unrolled_grads(xv)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
