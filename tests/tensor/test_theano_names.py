"""Theano's elementwise, sorting and Variable-method names (graphc.tensor.extra_math): values
against numpy, gradients against central differences, and exported models run by ONNX Runtime
and onnx.reference."""

import numpy as np
import pytest

import graphc
import graphc.tensor as T

from .oracles import check_grad as _check_grad
from .oracles import run_exported

RNG = np.random.default_rng(15)


def check_grad(build, *arrays, eps=1e-6, rtol=1e-6):
    """Central differences (tests/tensor/oracles.py) with this file's direction generator."""
    _check_grad(build, *arrays, eps=eps, rtol=rtol, rng=RNG)


A = RNG.standard_normal((3, 5)).astype(np.float32)
A3 = RNG.standard_normal((2, 3, 4)).astype(np.float32)


# -- elementwise -------------------------------------------------------------------------


def test_isnan_isinf():
    x = T.matrix("x")
    v = np.array([[1.0, np.nan, np.inf], [-np.inf, 0.0, -2.0]], np.float32)
    np.testing.assert_array_equal(T.isnan(x).eval({x: v}), np.isnan(v))
    np.testing.assert_array_equal(T.isinf(x).eval({x: v}), np.isinf(v))
    assert T.isnan(x).dtype == "bool" and T.isinf(x).dtype == "bool"
    i = T.lvector("i")
    iv = np.array([0, 3, -2])
    assert not T.isnan(i).eval({i: iv}).any() and not T.isinf(i).eval({i: iv}).any()


@pytest.mark.parametrize("name", ["log2", "log10"])
def test_log2_log10(name):
    x = T.matrix("x")
    v = np.abs(A) + 0.1
    np.testing.assert_allclose(getattr(T, name)(x).eval({x: v}), getattr(np, name)(v), rtol=2e-6)
    exact = np.array([[1.0, 2.0, 1024.0], [0.5, 100.0, 1e-3]], np.float32)
    np.testing.assert_allclose(getattr(T, name)(x).eval({x: exact}), getattr(np, name)(exact), rtol=1e-6)
    assert getattr(T, name)(T.lvector()).dtype == graphc.config.floatX
    check_grad(lambda a: getattr(T, name)(a).sum(), np.abs(A.astype(np.float64)) + 0.5)


def test_expm1_is_exported():
    x = T.matrix("x")
    v = np.array([[1e-7, -1e-6, 0.5], [2.0, -3.0, 0.0]], np.float32)
    np.testing.assert_allclose(T.expm1(x).eval({x: v}), np.expm1(v), rtol=1e-6)


@pytest.mark.parametrize("name", ["gammaln", "erfinv"])
def test_gammaln_erfinv_name_the_missing_onnx_op(name):
    with pytest.raises(NotImplementedError, match=name):
        getattr(T, name)(T.matrix())


def test_round_modes():
    x = T.vector("x")
    v = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 2.4, -2.6], np.float32)
    np.testing.assert_array_equal(T.round(x).eval({x: v}), np.round(v))
    np.testing.assert_array_equal(T.round(x, "half_to_even").eval({x: v}), np.round(v))
    away = np.sign(v) * np.floor(np.abs(v) + 0.5)
    np.testing.assert_array_equal(T.round(x, mode="half_away_from_zero").eval({x: v}), away)
    np.testing.assert_array_equal(x.round(mode="half_away_from_zero").eval({x: v}), away)
    np.testing.assert_array_equal(x.round().eval({x: v}), np.round(v))
    with pytest.raises(ValueError, match="mode"):
        T.round(x, "up")


# -- sort / argsort ----------------------------------------------------------------------


@pytest.mark.parametrize("axis", [-1, 0, 1, 2, None])
def test_sort_argsort_values(axis):
    x = T.tensor3("x")
    np.testing.assert_array_equal(T.sort(x, axis).eval({x: A3}), np.sort(A3, axis))
    got = T.argsort(x, axis).eval({x: A3})
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, np.argsort(A3, axis, kind="stable"))


def test_sort_defaults_ties_ints_and_methods():
    x, i = T.matrix("x"), T.lmatrix("i")
    np.testing.assert_array_equal(x.sort().eval({x: A}), np.sort(A, -1))
    np.testing.assert_array_equal(x.argsort(axis=0).eval({x: A}), np.argsort(A, 0, kind="stable"))
    iv = np.array([[3, 1, 3, 0, 1], [2, 2, 2, -1, 5]])
    np.testing.assert_array_equal(T.argsort(i).eval({i: iv}), np.argsort(iv, kind="stable"))  # ties keep their order
    np.testing.assert_array_equal(T.sort(i, axis=None).eval({i: iv}), np.sort(iv, None))
    b = T.tensor("bool", shape=(None, None), name="b")
    bv = np.array([[True, False, True, False, False]])
    np.testing.assert_array_equal(T.sort(b).eval({b: bv}), np.sort(bv))
    np.testing.assert_array_equal(T.argsort(b).eval({b: bv}), np.argsort(bv, kind="stable"))
    inf = np.array([[np.inf, 1.0, -np.inf, 0.0]], np.float32)
    np.testing.assert_array_equal(T.sort(x).eval({x: inf}), np.sort(inf))
    with pytest.raises(ValueError, match="out of range"):
        T.sort(x, axis=2)
    with pytest.raises(ValueError, match="order"):
        T.argsort(x, order="f")


def test_sort_gradient():
    w = RNG.standard_normal((3, 5))
    check_grad(lambda a: (T.sort(a, axis=1) * w).sum(), A.astype(np.float64))
    check_grad(lambda a: (T.sort(a, axis=0) * w).sum(), A.astype(np.float64))


# -- Variable methods --------------------------------------------------------------------


def test_norm_any_all_ravel_copy_cumsum():
    x = T.matrix("x")
    np.testing.assert_allclose(x.norm(2).eval({x: A}), np.linalg.norm(A), rtol=1e-6)
    np.testing.assert_allclose(x.norm(2, axis=1).eval({x: A}), np.linalg.norm(A, axis=1), rtol=1e-6)
    np.testing.assert_allclose(x.norm(1, axis=0).eval({x: A}), np.abs(A).sum(0), rtol=1e-6)
    np.testing.assert_allclose(x.norm(3).eval({x: A}), (np.abs(A) ** 3).sum() ** (1 / 3), rtol=1e-5)
    with pytest.raises(NotImplementedError):
        x.norm(0)
    b = (A > 0).astype(np.float32)
    np.testing.assert_array_equal(x.any(axis=1).eval({x: b}), b.any(1))
    np.testing.assert_array_equal(x.all(axis=0, keepdims=True).eval({x: b}), b.all(0, keepdims=True))
    assert bool(x.any().eval({x: b})) and not bool(x.all().eval({x: b}))
    np.testing.assert_array_equal(x.ravel().eval({x: A}), A.ravel())
    c = x.copy(name="c")
    assert c is not x and c.name == "c" and x.name == "x" and c.type == x.type
    np.testing.assert_array_equal(c.eval({x: A}), A)
    np.testing.assert_allclose(x.cumsum(axis=1).eval({x: A}), np.cumsum(A, 1), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(x.cumsum().eval({x: A}), np.cumsum(A), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(x.repeat(2, axis=1).eval({x: A}), np.repeat(A, 2, 1))


def test_norm_and_copy_gradients():
    check_grad(lambda a: a.norm(2, axis=1).sum(), A.astype(np.float64))
    check_grad(lambda a: (a.copy() * a).sum(), A.astype(np.float64))


# -- export ------------------------------------------------------------------------------


def test_export_runs_in_onnx_runtime_and_reference():
    x, i = T.matrix("x"), T.lmatrix("i")
    v = A.copy()
    v[0, 1], v[2, 3] = np.nan, -np.inf
    iv = np.array([[3, 1, 3, 0, 1], [2, 2, 2, -1, 5], [0, 0, 0, 0, 0]])
    outs = [
        T.isnan(x),
        T.isinf(x),
        T.log2(abs(x) + 1),
        T.log10(abs(x) + 1),
        T.round(x * 3, "half_away_from_zero"),
        T.sort(i, axis=1),
        T.argsort(i, axis=0),
        T.argsort(i, axis=None),
        x.norm(2, axis=1),
        i.any(axis=1),
        x.copy(),
    ]
    want = [
        np.isnan(v),
        np.isinf(v),
        np.log2(np.abs(v) + 1),
        np.log10(np.abs(v) + 1),
        np.sign(v * 3) * np.floor(np.abs(v * 3) + 0.5),
        np.sort(iv, 1),
        np.argsort(iv, 0, kind="stable"),
        np.argsort(iv, None, kind="stable"),
        np.sqrt((v * v).sum(1)),
        iv.any(1),
        v,
    ]
    for got in run_exported(outs, [x, i], {"x": v, "i": iv}):
        for g, w in zip(got, want):
            assert g.shape == w.shape and g.dtype == w.dtype, (g.shape, w.shape, g.dtype, w.dtype)
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
    s = T.matrix("s")
    for got in run_exported([T.sort(s, axis=0), T.argsort(s)], [s], {"s": A}):
        np.testing.assert_array_equal(got[0], np.sort(A, 0))
        np.testing.assert_array_equal(got[1], np.argsort(A, kind="stable"))


def test_theano_0x_param_out_tag_dot_rop_and_vector_softmax():
    import graphc as theano

    x, W = T.vector("x"), T.matrix("W")
    f = theano.function([theano.Param(x, default=np.ones(3, np.float32), name="xx")], theano.Out(x * 2, borrow=True))
    np.testing.assert_array_equal(f(), [2, 2, 2])
    np.testing.assert_array_equal(f(xx=np.arange(3, dtype=np.float32)), [0, 2, 4])
    with pytest.raises(TypeError, match="Out\\(\\) needs a symbolic variable"):
        theano.Out(3)
    x.tag.test_value = np.ones(3)
    assert x.tag.test_value.shape == (3,)
    w = np.arange(6, dtype=np.float32).reshape(3, 2)
    v = np.ones(3, np.float32)
    np.testing.assert_allclose(theano.function([x, W], theano.dot(x, W))(v, w), v @ w)
    V = T.matrix("V")
    jvp = theano.function([x, W, V], T.Rop(T.dot(x, W), W, V), on_unused_input="ignore")
    np.testing.assert_allclose(jvp(v, w, 2 * w), v @ (2 * w), rtol=1e-6)  # linear in W: the Rop along V is x . V
    sm = T.nnet.softmax(x)
    assert sm.ndim == 2
    out = theano.function([x], sm)(np.array([1.0, 2.0, 3.0], np.float32))
    assert out.shape == (1, 3)
    np.testing.assert_allclose(out[0], np.exp([1, 2, 3]) / np.exp([1, 2, 3]).sum(), rtol=1e-6)
