"""graphc.init statistics with seeded generators, and graphc.nonlinearities against numpy."""

from __future__ import annotations

import math

import numpy as np
import pytest

import graphc
import graphc.tensor as T
from graphc import init, nonlinearities


@pytest.fixture(autouse=True)
def seeded():
    graphc.random.set_rng(np.random.RandomState(7))


def test_normal_uniform_constant():
    w = init.Normal(std=0.5, mean=1.0)((300, 400))
    assert w.dtype == np.float32 and w.shape == (300, 400)
    assert abs(w.mean() - 1.0) < 0.01 and abs(w.std() - 0.5) < 0.01
    u = init.Uniform(range=0.3)((300, 400))
    assert -0.3 <= u.min() and u.max() < 0.3 and abs(u.std() - 0.3 / math.sqrt(3)) < 0.005
    u2 = init.Uniform(range=(2.0, 5.0))((1000,))
    assert 2.0 <= u2.min() and u2.max() < 5.0
    u3 = init.Uniform(std=2.0, mean=1.0)((200, 300))
    assert abs(u3.std() - 2.0) < 0.05 and abs(u3.mean() - 1.0) < 0.05
    np.testing.assert_array_equal(init.Constant(3.5)((2, 3)), np.full((2, 3), 3.5, np.float32))


@pytest.mark.parametrize(
    ("cls", "shape", "std"),
    [
        (init.GlorotNormal, (300, 500), math.sqrt(2 / 800)),
        (init.GlorotUniform, (300, 500), math.sqrt(2 / 800)),
        (init.GlorotNormal, (40, 30, 3, 5), math.sqrt(2 / (70 * 15))),
        (init.HeNormal, (300, 500), math.sqrt(1 / 300)),
        (init.HeUniform, (40, 30, 3, 5), math.sqrt(1 / (30 * 15))),
    ],
)
def test_glorot_and_he_scales(cls, shape, std):
    w = cls()(shape)
    assert abs(w.std() - std) / std < 0.03
    w2 = cls(gain="relu")(shape)
    assert abs(w2.std() - std * math.sqrt(2)) / std < 0.05


def test_glorot_c01b_and_errors():
    w = init.GlorotUniform(c01b=True)((30, 3, 5, 40))
    std = math.sqrt(2 / ((30 + 40) * 15))
    assert abs(w.std() - std) / std < 0.05
    with pytest.raises(RuntimeError, match="only shapes of length 4 are accepted"):
        init.GlorotUniform(c01b=True)((3, 4))
    with pytest.raises(ValueError, match=r"shapes of length >= 2, got \(5,\)"):
        init.GlorotNormal()((5,))
    with pytest.raises(ValueError, match="gain must be a number or 'relu'"):
        init.HeNormal(gain="tanh")


def test_orthogonal_and_sparse():
    q = init.Orthogonal()((30, 50))
    np.testing.assert_allclose(q @ q.T, np.eye(30), atol=1e-5)
    q2 = init.Orthogonal(gain=2.0)((50, 30))
    np.testing.assert_allclose(q2.T @ q2, 4 * np.eye(30), atol=1e-4)
    q3 = init.Orthogonal()((6, 3, 2))
    flat = q3.reshape(6, 6)
    np.testing.assert_allclose(flat @ flat.T, np.eye(6), atol=1e-5)
    s = init.Sparse(sparsity=0.2, std=0.3)((50, 40))
    assert ((s != 0).sum(axis=0) == 10).all()
    with pytest.raises(RuntimeError, match="Sparse: this initializer only works with shapes of length 2"):
        init.Sparse()((2, 3, 4))


def test_same_seed_same_values():
    graphc.random.set_rng(3)
    a = init.GlorotUniform()((4, 5))
    graphc.random.set_rng(3)
    b = init.GlorotUniform()((4, 5))
    np.testing.assert_array_equal(a, b)


PROBE = np.array([[-10, -1, -0.1, 0, 0.1, 1, 10], [-3, -0.5, 0.2, 2, 4, -7, 0.7]], np.float32)


@pytest.mark.parametrize(
    ("fn", "ref"),
    [
        (nonlinearities.sigmoid, lambda x: 1 / (1 + np.exp(-x))),
        (nonlinearities.tanh, np.tanh),
        (nonlinearities.rectify, lambda x: np.maximum(x, 0)),
        (nonlinearities.leaky_rectify, lambda x: np.where(x > 0, x, 0.01 * x)),
        (nonlinearities.very_leaky_rectify, lambda x: np.where(x > 0, x, x / 3)),
        (nonlinearities.LeakyRectify(0.2), lambda x: np.where(x > 0, x, 0.2 * x)),
        (nonlinearities.ScaledTanH(2 / 3, 1.7159), lambda x: 1.7159 * np.tanh(2 / 3 * x)),
        (nonlinearities.elu, lambda x: np.where(x > 0, x, np.expm1(x))),
        (nonlinearities.selu, lambda x: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * np.expm1(x))),
        (nonlinearities.softplus, lambda x: np.logaddexp(0, x)),
        (nonlinearities.linear, lambda x: x),
        (nonlinearities.softmax, lambda x: np.exp(x - x.max(1, keepdims=True)) / np.exp(x - x.max(1, keepdims=True)).sum(1, keepdims=True)),
    ],
)
def test_nonlinearities_match_numpy(fn, ref):
    x = T.matrix("x")
    f = graphc.function([x], fn(x) * 1)
    np.testing.assert_allclose(f(PROBE), ref(PROBE.astype(np.float64)), rtol=1e-5, atol=1e-6)
