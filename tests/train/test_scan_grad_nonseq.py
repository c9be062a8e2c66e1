"""Scan gradients when non-sequences depend on one another (``V = 2 * W`` beside ``W``).

Each non-sequence's gradient must hold only its direct part: the outer graph adds the part
through the expression it was computed from.  Oracles: central finite differences in float64,
and the same recurrence unrolled in Python (no scan).
"""

from __future__ import annotations

import numpy as np
import pytest

import graphc
import graphc.tensor as T

RNG = np.random.default_rng(23)
STEPS, N_IN, N_HID = 5, 3, 4


@pytest.fixture(autouse=True)
def float64():
    graphc.config.floatX = "float64"
    yield
    graphc.config.floatX = "float32"


def _shared(shape, name):
    return graphc.shared(RNG.normal(size=shape) * 0.5, name=name)


def _fd_directional(f_cost, param, grad_value, eps=1e-6):
    """Central difference of ``f_cost`` along a random direction of ``param``, and ``<grad, direction>``."""
    d = RNG.normal(size=grad_value.shape)
    p0 = param.get_value()
    param.set_value(p0 + eps * d)
    plus = f_cost()
    param.set_value(p0 - eps * d)
    minus = f_cost()
    param.set_value(p0)
    return (plus - minus) / (2 * eps), float(np.sum(grad_value * d))


def _run_both(step, x, h0, non_sequences, wrt, arrays):
    """Gradients of sum(outputs) through scan and through the Python-unrolled recurrence."""
    hs, _ = graphc.scan(step, sequences=x, outputs_info=h0, non_sequences=non_sequences)
    cost = T.sum(hs**2) + T.sum(hs)
    h, outs = h0, []
    for t in range(STEPS):
        h = step(x[t], h, *non_sequences)
        outs.append(h)
    unrolled = sum(T.sum(o**2) + T.sum(o) for o in outs)
    f = graphc.function([x, h0], [cost, unrolled] + graphc.grad(cost, wrt) + graphc.grad(unrolled, wrt))
    got = f(*arrays)
    np.testing.assert_allclose(got[0], got[1], rtol=1e-12)
    n = len(wrt)
    return got[2 : 2 + n], got[2 + n :], graphc.function([x, h0], cost)


def test_non_sequence_computed_from_another_listed_one():
    """V = 2 * W.T beside W (Theano's pattern of a tied weight): the step reads both."""
    x, h0 = T.dmatrix("x"), T.dvector("h0")
    W = _shared((N_HID, N_HID), "W")
    U = _shared((N_HID, N_IN), "U")
    V = 2 * U.T  # (N_IN, N_HID), from U

    def step(x_t, h, W_, U_, V_):
        return T.tanh(T.dot(h, W_) + T.dot(x_t, V_) + T.dot(T.dot(h, U_), V_) * 0.1)

    arrays = [RNG.normal(size=(STEPS, N_IN)), RNG.normal(size=N_HID)]
    scanned, unrolled, f_cost = _run_both(step, x, h0, [W, U, V], [W, U], arrays)
    for p, g_scan, g_unrolled in zip([W, U], scanned, unrolled):
        assert g_scan.shape == p.get_value().shape
        np.testing.assert_allclose(g_scan, g_unrolled, rtol=1e-9, atol=1e-12, err_msg=p.name)
        fd, analytic = _fd_directional(lambda: f_cost(*arrays), p, g_scan)
        np.testing.assert_allclose(analytic, fd, rtol=1e-6, err_msg=p.name)


def test_non_sequences_read_from_outside_one_computed_from_the_other():
    """The step reads W and B = tanh(W @ W.T) without listing them (both implicit non-sequences)."""
    x, h0 = T.dmatrix("x"), T.dvector("h0")
    W = _shared((N_HID, N_IN), "W")
    B = T.tanh(T.dot(W, W.T))  # (N_HID, N_HID)

    def step(x_t, h):
        return T.tanh(0.5 * T.dot(h, B) + T.dot(W, x_t))

    arrays = [RNG.normal(size=(STEPS, N_IN)), RNG.normal(size=N_HID)]
    scanned, unrolled, f_cost = _run_both(step, x, h0, [], [W], arrays)
    np.testing.assert_allclose(scanned[0], unrolled[0], rtol=1e-9, atol=1e-12)
    fd, analytic = _fd_directional(lambda: f_cost(*arrays), W, scanned[0])
    np.testing.assert_allclose(analytic, fd, rtol=1e-6)


def test_listed_non_sequence_and_an_outside_value_computed_from_it():
    """W is listed; the step reads B = tanh(W @ W.T) from outside (computed per step from W's placeholder)."""
    x, h0 = T.dmatrix("x"), T.dvector("h0")
    W = _shared((N_HID, N_IN), "W")
    B = T.tanh(T.dot(W, W.T))

    def step(x_t, h, W_):
        return T.tanh(0.5 * T.dot(h, B) + T.dot(W_, x_t))

    arrays = [RNG.normal(size=(STEPS, N_IN)), RNG.normal(size=N_HID)]
    scanned, unrolled, f_cost = _run_both(step, x, h0, [W], [W], arrays)
    np.testing.assert_allclose(scanned[0], unrolled[0], rtol=1e-9, atol=1e-12)
    fd, analytic = _fd_directional(lambda: f_cost(*arrays), W, scanned[0])
    np.testing.assert_allclose(analytic, fd, rtol=1e-6)


def test_a_non_sequence_listed_twice_counts_once():
    x, h0 = T.dmatrix("x"), T.dvector("h0")
    W = _shared((N_IN, N_HID), "W")

    def step(x_t, h, W1, W2):
        return T.tanh(T.dot(x_t, W1) + 0.5 * h * T.sum(W2, axis=0))

    arrays = [RNG.normal(size=(STEPS, N_IN)), RNG.normal(size=N_HID)]
    scanned, unrolled, f_cost = _run_both(step, x, h0, [W, W], [W], arrays)
    np.testing.assert_allclose(scanned[0], unrolled[0], rtol=1e-9, atol=1e-12)
    fd, analytic = _fd_directional(lambda: f_cost(*arrays), W, scanned[0])
    np.testing.assert_allclose(analytic, fd, rtol=1e-6)


def test_batched_weight_gradient_of_a_derived_non_sequence():
    """Minibatch steps: the gradient of V = W.T * 2 (an x_t^T @ dH product, summed after the loop)."""
    x = T.dtensor3("x")  # (time, batch, features)
    h0 = T.dmatrix("h0")
    W = _shared((N_HID, N_IN), "W")
    R = _shared((N_HID, N_HID), "R")
    V = W.T * 2

    def step(x_t, h, V_, W_, R_):
        return T.tanh(T.dot(x_t, V_) + T.dot(h, R_) + T.dot(T.dot(h, W_), V_) * 0.05)

    hs, _ = graphc.scan(step, sequences=x, outputs_info=h0, non_sequences=[V, W, R])
    cost = T.sum(hs**2)
    grads = graphc.grad(cost, [W, R])
    xv, h0v = RNG.normal(size=(STEPS, 2, N_IN)), RNG.normal(size=(2, N_HID))
    got = graphc.function([x, h0], grads)(xv, h0v)
    f_cost = graphc.function([x, h0], cost)
    for p, g in zip([W, R], got):
        fd, analytic = _fd_directional(lambda: f_cost(xv, h0v), p, g)
        np.testing.assert_allclose(analytic, fd, rtol=1e-6, err_msg=p.name)


def test_non_sequence_computed_from_the_sequence():
    """m = mean of x over time feeds every step: x's gradient has its per-step and its mean parts."""
    x, h0 = T.dmatrix("x"), T.dvector("h0")
    W = _shared((N_IN, N_HID), "W")
    m = T.mean(x, axis=0)

    def step(x_t, h, m_, W_):
        return T.tanh(T.dot(x_t - m_, W_) + 0.5 * h)

    hs, _ = graphc.scan(step, sequences=x, outputs_info=h0, non_sequences=[m, W])
    cost = T.sum(hs**2)
    f = graphc.function([x, h0], [cost, graphc.grad(cost, x)])
    xv, h0v = RNG.normal(size=(STEPS, N_IN)), RNG.normal(size=N_HID)
    _, gx = f(xv, h0v)
    eps, d = 1e-6, RNG.normal(size=xv.shape)
    fd = (f(xv + eps * d, h0v)[0] - f(xv - eps * d, h0v)[0]) / (2 * eps)
    np.testing.assert_allclose(np.sum(gx * d), fd, rtol=1e-6)
