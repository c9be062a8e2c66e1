"""Second derivatives through ``y[i]`` with a symbolic ``i``, and Theano's Jacobian/Hessian loops.

Oracles: closed-form derivatives in numpy and central finite differences (float64).
Vectors have lengths known only at run time, as in Theano's tutorial.
"""

from __future__ import annotations

import numpy as np
import pytest

import graphc
import graphc.tensor as T
from graphc.gradient import hessian, jacobian

RNG = np.random.default_rng(41)


@pytest.fixture(autouse=True)
def float64():
    graphc.config.floatX = "float64"
    yield
    graphc.config.floatX = "float32"


def test_grad_of_a_grad_through_an_element_picked_by_a_symbolic_index():
    x, i = T.dvector("x"), T.iscalar("i")
    y = x**3
    g = T.grad(y[i], x)
    h = T.grad(g.sum(), x)
    f = graphc.function([x, i], [g, h])
    xv = RNG.normal(size=5)
    for k in (0, 3, -1):
        gv, hv = f(xv, k)
        one = np.zeros(5)
        one[k] = 1
        np.testing.assert_allclose(gv, 3 * xv**2 * one, rtol=1e-12)
        np.testing.assert_allclose(hv, 6 * xv * one, rtol=1e-12)


def test_grad_of_a_grad_through_a_row_picked_by_a_symbolic_index():
    """A (3, 4) matrix's row i: the second-order cotangent is sliced with a symbolic start."""
    x, i = T.dmatrix("x"), T.iscalar("i")
    g = T.grad(T.sum(T.sin(x[i]) * x[i]), x)
    cost2 = T.sum(g**2)
    h = T.grad(cost2, x)
    f = graphc.function([x, i], [cost2, h])
    xv = RNG.normal(size=(3, 4))
    _, hv = f(xv, 2)
    d, eps = RNG.normal(size=xv.shape), 1e-6
    fd = (f(xv + eps * d, 2)[0] - f(xv - eps * d, 2)[0]) / (2 * eps)
    np.testing.assert_allclose(np.sum(hv * d), fd, rtol=1e-6)
    assert np.all(hv[[0, 1]] == 0)


def _jacobian_by_scan(y, x):
    """Theano's tutorial loop: one row ``grad(y[i], x)`` per element of ``y``."""
    rows, updates = graphc.scan(lambda i, y_, x_: T.grad(y_[i], x_), sequences=T.arange(y.shape[0]), non_sequences=[y, x])
    assert not updates
    return rows


def test_tutorial_jacobian_of_a_non_square_map():
    x = T.dvector("x")
    A = RNG.normal(size=(4, 3))
    y = T.dot(A, x) ** 2  # 4 outputs of 3 inputs
    f = graphc.function([x], [_jacobian_by_scan(y, x), jacobian(y, x)])
    xv = RNG.normal(size=3)
    expected = 2 * (A @ xv)[:, None] * A
    for got in f(xv):
        assert got.shape == (4, 3)
        np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_tutorial_hessian_by_scan_and_gradient_hessian():
    x = T.dvector("x")
    cost = T.sum(x**3 * T.roll(x, 1)) + T.sum(T.exp(x))
    gy = T.grad(cost, x)
    f = graphc.function([x], [_jacobian_by_scan(gy, x), hessian(cost, x)])
    xv = RNG.normal(size=5)
    n = len(xv)
    expected = np.diag(6 * xv * np.roll(xv, 1) + np.exp(xv))
    for k in range(n):  # x_k^3 x_{k-1}: the cross terms
        expected[k, k - 1] += 3 * xv[k] ** 2
        expected[k - 1, k] += 3 * xv[k] ** 2
    for got in f(xv):
        np.testing.assert_allclose(got, expected, rtol=1e-12)
    np.testing.assert_allclose(graphc.function([x], hessian(cost, x))(xv[:3]).shape, (3, 3))  # any length


def test_jacobian_of_a_run_time_length_vector():
    x = T.dvector("x")
    J = jacobian(x**2, x)
    f = graphc.function([x], J)
    for n in (2, 5):
        xv = RNG.normal(size=n)
        np.testing.assert_allclose(f(xv), np.diag(2 * xv), rtol=1e-12)


def test_gradient_through_a_jacobian_loop():
    """d/dx of sum(J * C), J the scan Jacobian of y = x**3 * sum(x) (non-sequences y and x, y computed from x)."""
    x = T.dvector("x")
    y = x**3 * T.sum(x)
    J = _jacobian_by_scan(y, x)
    C = T.dmatrix("C")
    cost = T.sum(J * C)
    f = graphc.function([x, C], [cost, T.grad(cost, x)])
    xv, Cv = RNG.normal(size=4), RNG.normal(size=(4, 4))
    _, gx = f(xv, Cv)
    d, eps = RNG.normal(size=4), 1e-6
    fd = (f(xv + eps * d, Cv)[0] - f(xv - eps * d, Cv)[0]) / (2 * eps)
    np.testing.assert_allclose(np.sum(gx * d), fd, rtol=1e-6)
