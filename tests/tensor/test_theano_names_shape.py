"""Theano's layout names (graphc.tensor.extra_shape): eye, tile, repeat, roll, batched_dot,
join and the stacks, mgrid/ogrid, nonzero, and the broadcast-pattern functions; values against
numpy, gradients against central differences, exported models in ONNX Runtime and onnx.reference."""

import numpy as np
import pytest

import graphc
import graphc.tensor as T

from .oracles import check_grad as _check_grad
from .oracles import run_exported

RNG = np.random.default_rng(16)


def check_grad(build, *arrays, eps=1e-6, rtol=1e-6):
    """Central differences (tests/tensor/oracles.py) with this file's direction generator."""
    _check_grad(build, *arrays, eps=eps, rtol=rtol, rng=RNG)


A = RNG.standard_normal((3, 5)).astype(np.float32)
A3 = RNG.standard_normal((2, 3, 4)).astype(np.float32)
D = A.astype(np.float64)


@pytest.mark.parametrize(("n", "m", "k"), [(3, None, 0), (3, 5, 1), (4, 2, -1), (2, 6, 7)])
def test_eye(n, m, k):
    got = T.eye(n, m, k).eval()
    np.testing.assert_array_equal(got, np.eye(n, m, k, dtype=graphc.config.floatX))
    assert T.eye(n, m, k, dtype="int32").eval().dtype == np.int32
    s = T.lscalar("s")
    np.testing.assert_array_equal(T.eye(s, m, k).eval({s: n}), np.eye(n, m, k, dtype=graphc.config.floatX))


@pytest.mark.parametrize("reps", [(2, 3), (1, 2), (2, 1, 3), (3,)])
def test_tile(reps):
    x = T.matrix("x")
    np.testing.assert_array_equal(T.tile(x, reps).eval({x: A}), np.tile(A, reps))
    r = T.lscalar("r")
    np.testing.assert_array_equal(T.tile(x, (r, 2)).eval({x: A, r: 3}), np.tile(A, (3, 2)))
    assert T.tile(x, (2, 3), ndim=3).ndim == 3
    with pytest.raises(ValueError, match="ndim"):
        T.tile(x, (2, 3), ndim=1)
    w = RNG.standard_normal(np.tile(A, (2, 3)).shape)
    check_grad(lambda a: (T.tile(a, (2, 3)) * w).sum(), D)


@pytest.mark.parametrize("axis", [None, 0, 1, -1])
def test_repeat_scalar(axis):
    x, r = T.matrix("x"), T.lscalar("r")
    np.testing.assert_array_equal(T.repeat(x, 2, axis).eval({x: A}), np.repeat(A, 2, axis))
    np.testing.assert_array_equal(T.repeat(x, r, axis).eval({x: A, r: 3}), np.repeat(A, 3, axis))
    np.testing.assert_array_equal(x.repeat(2, axis).eval({x: A}), np.repeat(A, 2, axis))
    w = RNG.standard_normal(np.repeat(A, 2, axis).shape)
    check_grad(lambda a: (T.repeat(a, 2, axis) * w).sum(), D)


def test_repeat_vector():
    x, r = T.matrix("x"), T.lvector("r")
    np.testing.assert_array_equal(T.repeat(x, [1, 0, 3], axis=0).eval({x: A}), np.repeat(A, [1, 0, 3], 0))
    rv = np.array([2, 0, 1, 3, 1])
    np.testing.assert_array_equal(T.repeat(x, r, axis=1).eval({x: A, r: rv}), np.repeat(A, rv, 1))
    w = RNG.standard_normal((3, 7))
    check_grad(lambda a: (T.repeat(a, rv, axis=1) * w).sum(), D)
    with pytest.raises(TypeError, match="integers"):
        T.repeat(x, 1.5)


@pytest.mark.parametrize(("shift", "axis"), [(2, None), (-1, 0), (7, 1), (0, 1), (-13, None)])
def test_roll(shift, axis):
    x, s = T.matrix("x"), T.lscalar("s")
    np.testing.assert_array_equal(T.roll(x, shift, axis).eval({x: A}), np.roll(A, shift, axis))
    np.testing.assert_array_equal(T.roll(x, s, axis).eval({x: A, s: shift}), np.roll(A, shift, axis))
    w = RNG.standard_normal(A.shape)
    check_grad(lambda a: (T.roll(a, shift, axis) * w).sum(), D)


def test_batched_dot_shapes_and_gradient():
    a3, b3 = RNG.standard_normal((2, 3, 4)), RNG.standard_normal((2, 4, 5))
    a2, b2 = RNG.standard_normal((2, 3)), RNG.standard_normal((2, 4))
    v = RNG.standard_normal(2)
    cases = [
        ((a3, b3), np.einsum("bij,bjk->bik", a3, b3)),
        ((a3, b2), np.einsum("bij,bj->bi", a3, b2)),
        ((a2, a3), np.einsum("bi,bij->bj", a2, a3)),
        ((a2, a2), (a2 * a2).sum(1)),
        ((v, a3), v[:, None, None] * a3),
        ((a2, v), a2 * v[:, None]),
    ]
    for (p, q), want in cases:
        xp, xq = T.tensor("float64", shape=(None,) * p.ndim), T.tensor("float64", shape=(None,) * q.ndim)
        np.testing.assert_allclose(T.batched_dot(xp, xq).eval({xp: p, xq: q}), want, rtol=1e-12)
    w = RNG.standard_normal((2, 3, 5))
    check_grad(lambda p, q: (T.batched_dot(p, q) * w).sum(), a3, b3)
    check_grad(lambda p, q: (T.batched_dot(p, q) ** 2).sum(), a2, RNG.standard_normal((2, 3)))
    with pytest.raises(TypeError, match="batch"):
        T.batched_dot(T.scalar(), T.matrix())
    with pytest.raises(NotImplementedError):
        T.batched_dot(T.tensor4(), T.tensor3())


def test_join_and_stacks():
    x, y = T.matrix("x"), T.matrix("y")
    b = RNG.standard_normal((3, 2)).astype(np.float32)
    c = RNG.standard_normal((4, 5)).astype(np.float32)
    np.testing.assert_array_equal(T.join(1, x, y).eval({x: A, y: b}), np.concatenate([A, b], 1))
    np.testing.assert_array_equal(T.join(-2, x, y).eval({x: A, y: c}), np.concatenate([A, c], 0))
    np.testing.assert_array_equal(T.horizontal_stack(x, y).eval({x: A, y: b}), np.hstack([A, b]))
    np.testing.assert_array_equal(T.vertical_stack(x, y, x).eval({x: A, y: c}), np.vstack([A, c, A]))
    with pytest.raises(ValueError, match="2-d"):
        T.horizontal_stack(x, T.vector())
    check_grad(lambda p, q: (T.horizontal_stack(p, q) ** 2).sum(), D, b.astype(np.float64))


def test_mgrid_ogrid():
    for got, want in zip(T.mgrid[0:3, 1:9:2], np.mgrid[0:3, 1:9:2]):
        np.testing.assert_array_equal(got.eval(), want)
    for got, want in zip(T.ogrid[0:3, 1:9:2, 2:4], np.ogrid[0:3, 1:9:2, 2:4]):
        np.testing.assert_array_equal(got.eval(), want)
    n = T.lscalar("n")
    rows, cols = T.mgrid[0:n, 0:2]
    np.testing.assert_array_equal(cols.eval({n: 4}), np.mgrid[0:4, 0:2][1])
    with pytest.raises(ValueError, match="slice"):
        T.mgrid[0:3, 2]


def test_nonzero():
    x = T.tensor3("x")
    v = np.where(RNG.random(A3.shape) > 0.6, A3, 0).astype(np.float32)
    for got, want in zip(T.nonzero(x), np.nonzero(v)):
        np.testing.assert_array_equal(got.eval({x: v}), want)
    np.testing.assert_array_equal(T.nonzero(x, return_matrix=True).eval({x: v}), np.array(np.nonzero(v)))
    np.testing.assert_array_equal(x.nonzero(return_matrix=True).eval({x: v}), np.array(np.nonzero(v)))
    np.testing.assert_array_equal(T.flatnonzero(x).eval({x: v}), np.flatnonzero(v))
    np.testing.assert_array_equal(T.nonzero_values(x).eval({x: v}), v[v != 0])
    assert T.flatnonzero(x).eval({x: np.zeros((2, 1, 3), np.float32)}).shape == (0,)
    with pytest.raises(ValueError, match="dimension"):
        T.nonzero(T.scalar())


def test_broadcast_patterns():
    x, r = T.matrix("x"), T.matrix("r")
    row = T.addbroadcast(r, 0)
    assert row.broadcastable == (True, False)
    np.testing.assert_array_equal((row + x).eval({r: A[:1], x: A}), A[:1] + A)
    assert T.patternbroadcast(r, (True, False)).broadcastable == (True, False)
    assert T.unbroadcast(row, 0) is row and T.unbroadcast(x, 1) is x
    static = T.tensor("float32", shape=(1, 4))
    assert T.addbroadcast(static, 0) is static
    with pytest.raises(ValueError, match="not 1"):
        T.addbroadcast(static, 1)
    with pytest.raises(ValueError, match="out of range"):
        T.unbroadcast(x, 2)
    with pytest.raises(ValueError, match="entries"):
        T.patternbroadcast(x, (True,))
    with pytest.raises(Exception):  # noqa: B017  (the run-time check: the axis is not of size 1)
        T.addbroadcast(r, 0).eval({r: A})
    check_grad(lambda p: (T.addbroadcast(p[1:], 0) ** 2 * D).sum(), D[:2])  # p[1:] has a symbolic size


def test_export_runs_in_onnx_runtime_and_reference():
    x, r, s, n = T.matrix("x"), T.lvector("r"), T.lscalar("s"), T.lscalar("n")
    y = T.tensor3("y")
    rv = np.array([2, 0, 1, 3, 1])
    nz = np.where(A > 0.3, A, 0).astype(np.float32)
    outs = [
        T.eye(n, 5, 1),
        T.tile(x, (2, n)),
        T.repeat(x, r, axis=1),
        T.repeat(x, n, axis=0),
        T.roll(x, s, axis=1),
        T.roll(x, 4),
        T.batched_dot(y, y.dimshuffle(0, 2, 1)),
        T.join(0, x, x * 2),
        T.mgrid[0:n, 0:2][0],
        T.nonzero(x, return_matrix=True),
        T.addbroadcast(x[:1], 0) + x,
    ]
    want = [
        np.eye(3, 5, 1, dtype=np.float32),
        np.tile(nz, (2, 3)),
        np.repeat(nz, rv, 1),
        np.repeat(nz, 3, 0),
        np.roll(nz, -2, 1),
        np.roll(nz, 4),
        np.einsum("bij,bkj->bik", A3, A3),
        np.concatenate([nz, nz * 2]),
        np.mgrid[0:3, 0:2][0],
        np.array(np.nonzero(nz)),
        nz[:1] + nz,
    ]
    feed = {"x": nz, "r": rv, "s": np.array(-2), "n": np.array(3), "y": A3}
    for got in run_exported(outs, [x, r, s, n, y], feed):
        for g, w in zip(got, want):
            assert g.shape == w.shape and g.dtype == w.dtype, (g.shape, w.shape, g.dtype, w.dtype)
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
