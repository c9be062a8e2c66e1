"""``Variable.eval`` (Theano's): values against numpy, the per-input-set cache, errors."""

import numpy as np
import onnx
import pytest

import graphc
import graphc.tensor as T

from .oracles import check_grad as _check_grad

RNG = np.random.default_rng(7)


def check_grad(build, *arrays, eps=1e-6, rtol=1e-6):
    """Central differences (tests/tensor/oracles.py) with this file's direction generator."""
    _check_grad(build, *arrays, eps=eps, rtol=rtol, rng=RNG)


XV = RNG.standard_normal((3, 5)).astype(np.float32)
YV = RNG.standard_normal((5,)).astype(np.float32)


def test_eval_with_inputs_matches_numpy():
    x, y = T.matrix("x"), T.vector("y")
    out = (x * y).sum(axis=1)
    np.testing.assert_allclose(out.eval({x: XV, y: YV}), (XV * YV).sum(axis=1), rtol=1e-6)
    # the dict order does not matter, and a second call reuses the compiled function
    np.testing.assert_allclose(out.eval({y: YV, x: 2 * XV}), (2 * XV * YV).sum(axis=1), rtol=1e-6)
    assert len(out._fn_cache) == 1


def test_eval_constant_and_shared():
    np.testing.assert_array_equal(T.constant(np.arange(6).reshape(2, 3)).T.eval(), np.arange(6).reshape(2, 3).T)
    w = graphc.shared(XV, name="W")
    np.testing.assert_array_equal(w.eval(), XV)
    np.testing.assert_allclose((w * 2).eval(), XV * 2)
    w.set_value(XV + 1)
    np.testing.assert_array_equal(w.eval(), XV + 1)  # the cached function reads the new value


def test_eval_missing_input_names_it():
    x, y = T.matrix("x"), T.vector("yvec")
    with pytest.raises(graphc.MissingInputError, match="yvec"):
        (x + y).eval({x: XV})


def test_eval_bad_argument():
    x = T.matrix("x")
    with pytest.raises(TypeError, match="dict"):
        x.eval([XV])
    with pytest.raises(TypeError, match="symbolic"):
        x.eval({"x": XV})


# -- several integer-array indices (numpy advanced indexing) ---------------------------
X3 = RNG.standard_normal((4, 5, 6)).astype(np.float32)
I4 = np.array([3, 0, -1, 2])
J4 = np.array([4, 4, 0, -5])

MULTI = [
    pytest.param(lambda a, i, j: a[i, j], id="[i, j]"),
    pytest.param(lambda a, i, j: a[i, :, j], id="[i, :, j] (dims first)"),
    pytest.param(lambda a, i, j: a[:, j, i], id="[:, j, i] (dims in place)"),
    pytest.param(lambda a, i, j: a[1, j, i], id="[1, j, i]"),
    pytest.param(lambda a, i, j: a[i, 2, j], id="[i, 2, j]"),
    pytest.param(lambda a, i, j: a[i[:, None], j[None, :2]], id="broadcast 4x2"),
    pytest.param(lambda a, i, j: a[::-1, j[:3], [0, 5, 1]], id="slice + list"),
    pytest.param(lambda a, i, j: a[..., i[:2], [1, 0]], id="ellipsis"),
    pytest.param(lambda a, i, j: a[i, j, i + 2], id="three arrays"),
]


@pytest.mark.parametrize("index", MULTI)
def test_several_int_arrays_match_numpy(index):
    x = T.tensor3("x")
    i, j = T.lvector("i"), T.lvector("j")
    want = index(X3, I4, J4)
    got = graphc.function([x, i, j], index(x, i, j), on_unused_input="ignore")(X3, I4, J4)
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)
    # constant index arrays, on a statically shaped x
    xs = T.tensor("float32", shape=X3.shape, name="xs")
    const = index(xs, I4, J4)
    assert const.type.shape == want.shape
    np.testing.assert_array_equal(const.eval({xs: X3}), want)


def test_tutorial_negative_log_likelihood_and_gradient():
    p, y = T.matrix("p"), T.lvector("y")
    nll = -T.mean(T.log(p)[T.arange(y.shape[0]), y])
    pv = RNG.uniform(0.1, 1.0, size=(6, 3))
    yv = np.array([0, 2, 1, 2, 2, 0])
    np.testing.assert_allclose(nll.eval({p: pv.astype(np.float32), y: yv}), -np.mean(np.log(pv)[np.arange(6), yv]), rtol=1e-6)
    pd = T.dmatrix("pd")
    g = graphc.grad(-T.mean(T.log(pd)[T.arange(y.shape[0]), y]), pd).eval({pd: pv, y: yv})
    want = np.zeros_like(pv)
    np.add.at(want, (np.arange(6), yv), -1.0 / (6 * pv[np.arange(6), yv]))
    np.testing.assert_allclose(g, want, rtol=1e-12)


@pytest.mark.parametrize("index", MULTI)
def test_several_int_arrays_gradient(index):
    w = RNG.standard_normal(index(X3, I4, J4).shape)
    check_grad(lambda x: (index(x, I4, J4) * w).sum(), X3.astype(np.float64))


def test_several_int_arrays_export_reference_evaluator():
    from onnx.reference import ReferenceEvaluator

    x, i, j = T.tensor3("x"), T.lvector("i"), T.lvector("j")
    outs = [x[i, :, j], x[:, j, i], x[i[:, None], 1, j[None, :]]]
    model = graphc.export.to_onnx(outs, [x, i, j])
    onnx.checker.check_model(model, full_check=True)
    got = ReferenceEvaluator(model).run(None, {"x": X3, "i": I4, "j": J4})
    for g, w in zip(got, [X3[I4, :, J4], X3[:, J4, I4], X3[I4[:, None], 1, J4[None, :]]]):
        np.testing.assert_array_equal(g, w)


def test_several_int_arrays_errors():
    x = T.tensor("float32", shape=(4, 5), name="x")
    with pytest.raises(IndexError, match="out of bounds"):
        x[[0, 1], [5, 0]]
    with pytest.raises(IndexError, match="broadcast"):
        x[[0, 1, 2], [1, 0]]
    with pytest.raises(TypeError, match="boolean"):
        x[[0, 1], np.array([True, False])]


# -- set_subtensor / inc_subtensor --------------------------------------------------
XM = RNG.standard_normal((4, 6)).astype(np.float32)


def _np_set(a, index, v):
    out = a.copy()
    out[index] = v
    return out


def _np_inc(a, index, v):
    out = a.copy()
    np.add.at(out, index, v)
    return out


# (index, shape of the value written: broadcast to the subtensor)
SUB = [
    pytest.param((slice(1, 3),), (6,), id="[1:3] row broadcast"),
    pytest.param((slice(None), 2), (4,), id="[:, 2]"),
    pytest.param((slice(None, None, -2), slice(1, None, 2)), (2, 3), id="[::-2, 1::2]"),
    pytest.param((-1, slice(None)), (), id="[-1, :] scalar"),
    pytest.param((slice(None),), (1, 6), id="[:] (whole)"),
    pytest.param(([3, 0, 3, 1],), (4, 6), id="[[3, 0, 3, 1]] repeated rows"),
    pytest.param((slice(1, None), [5, 0, 5]), (3, 1), id="[1:, [5, 0, 5]]"),
    pytest.param(([0, 2, 0], [1, 1, 1]), (3,), id="[[0, 2, 0], [1, 1, 1]] repeated points"),
    pytest.param((np.array([[0], [3]]), np.array([[1, -1, 1]])), (2, 3), id="broadcast 2x3 points"),
    pytest.param((None, 1, slice(0, 4)), (4,), id="[None, 1, 0:4]"),
    pytest.param((slice(-3, -1), slice(None, None, -1)), (2, 6), id="[-3:-1, ::-1]"),
    pytest.param((slice(5, 0, -2), [0, -1]), (2, 2), id="[5:0:-2, [0, -1]]"),
    pytest.param(([1, 2], None, slice(-2, None)), (2, 1, 2), id="[[1, 2], None, -2:] (dims first)"),
]


@pytest.mark.parametrize("index,vshape", SUB)
@pytest.mark.parametrize("static", [False, True])
def test_set_and_inc_subtensor_match_numpy(index, vshape, static):
    x = T.tensor("float32", shape=XM.shape if static else (None, None), name="x")
    y = T.tensor("float32", shape=[1 if d == 1 else None for d in vshape], name="y")
    yv = RNG.standard_normal(vshape).astype(np.float32)
    sub = x[index]
    inc = T.inc_subtensor(sub, y)
    assert inc.type.dtype == "float32" and inc.ndim == 2
    np.testing.assert_allclose(inc.eval({x: XM, y: yv}), _np_inc(XM, index, np.broadcast_to(yv, XM[index].shape)), rtol=1e-6)
    np.testing.assert_array_equal(T.set_subtensor(sub, y).eval({x: XM, y: yv}), _np_set(XM, index, yv))


def test_set_and_inc_with_symbolic_indices():
    x, i, j, a = T.matrix("x"), T.lvector("i"), T.lvector("j"), T.lscalar("a")
    iv, jv = np.array([2, 0, 2, -1]), np.array([1, 5, 1, 0])
    yv = np.float32([1, 2, 3, 4])
    f = graphc.function(
        [x, i, j, a],
        [T.set_subtensor(x[i, j], yv), T.inc_subtensor(x[i, j], yv), T.set_subtensor(x[a:, -a], 7.0),
         T.inc_subtensor(x[i], 1.0)],
    )
    s, n, b, r = f(XM, iv, jv, 1)
    np.testing.assert_array_equal(s, _np_set(XM, (iv, jv), yv))  # the last of the repeated (2, 1) wins
    np.testing.assert_allclose(n, _np_inc(XM, (iv, jv), yv), rtol=1e-6)  # repeated indices accumulate
    np.testing.assert_array_equal(b, _np_set(XM, (slice(1, None), -1), 7.0))
    np.testing.assert_allclose(r, _np_inc(XM, iv, np.ones((4, 6), np.float32)), rtol=1e-6)


def test_set_subtensor_int_tensor_and_keywords():
    v = T.lvector("v")
    out = T.set_subtensor(v[1:3], 9, inplace=True, tolerate_inc_all_increments=True)
    assert out.dtype == "int64"
    np.testing.assert_array_equal(out.eval({v: np.arange(5)}), [0, 9, 9, 3, 4])
    inc = T.inc_subtensor(v[[0, 0]], 2, set_instead_of_inc=False)
    np.testing.assert_array_equal(inc.eval({v: np.arange(5)}), [4, 1, 2, 3, 4])
    from graphc.tensor.subtensor import inc_subtensor

    assert inc_subtensor is T.inc_subtensor


@pytest.mark.parametrize("index,vshape", SUB)
def test_set_and_inc_subtensor_gradients(index, vshape):
    wv = RNG.standard_normal(XM.shape)
    yv = RNG.standard_normal(vshape)
    check_grad(lambda x, y: (T.inc_subtensor(x[index], y) ** 2 * wv).sum(), XM.astype(np.float64), yv)
    check_grad(lambda x, y: (T.set_subtensor(x[index], y) ** 2 * wv).sum(), XM.astype(np.float64), yv)


def test_set_subtensor_gradient_of_overwritten_values_is_zero():
    x, y = T.dmatrix("x"), T.dvector("y")
    cost = T.set_subtensor(x[[1, 1, 0], [2, 2, 3]], y).sum()
    gx, gy = graphc.function([x, y], graphc.grad(cost, [x, y]))(XM.astype(np.float64), np.ones(3))
    np.testing.assert_array_equal(gy, [0, 1, 1])
    want = np.ones(XM.shape)
    want[1, 2] = want[0, 3] = 0
    np.testing.assert_array_equal(gx, want)


def test_set_and_inc_subtensor_export_reference_evaluator():
    from onnx.reference import ReferenceEvaluator

    x, i, y = T.matrix("x"), T.lvector("i"), T.vector("y")
    outs = [T.inc_subtensor(x[i, 2], y), T.set_subtensor(x[1:, i[:2]], 0.5), T.inc_subtensor(x[::2], y[0])]
    model = graphc.export.to_onnx(outs, [x, i, y])
    onnx.checker.check_model(model, full_check=True)
    iv, yv = np.array([3, 1, 3]), np.float32([1, 2, 3])
    got = ReferenceEvaluator(model).run(None, {"x": XM, "i": iv, "y": yv})
    wants = [_np_inc(XM, (iv, 2), yv), _np_set(XM, (slice(1, None), iv[:2]), 0.5), _np_inc(XM, slice(None, None, 2), yv[0])]
    for g, w in zip(got, wants):
        np.testing.assert_allclose(g, w, rtol=1e-6)


def test_set_and_inc_subtensor_errors():
    x = T.tensor("float32", shape=(4, 6), name="x")
    with pytest.raises(TypeError, match="result of a subtensor"):
        T.set_subtensor(x, 1.0)
    with pytest.raises(TypeError, match="2-dimensional subtensor with a 3"):
        T.inc_subtensor(x[1:], np.zeros((1, 1, 6), np.float32))
    with pytest.raises(ValueError, match="shape mismatch"):
        T.set_subtensor(x[1:], np.zeros((2, 6), np.float32))
    with pytest.raises(TypeError, match="float64 cannot be written"):
        T.set_subtensor(T.lvector("v")[1:], T.dvector("d"))


def test_row_updates_of_a_large_tensor_embed_no_position_table():
    w = T.tensor("float32", shape=(50000, 30), name="w")
    i, a = T.lvector("i"), T.lscalar("a")
    outs = [T.inc_subtensor(w[i], 1.0), T.set_subtensor(w[i, 3:5], 0.0), T.inc_subtensor(w[a:, 2], 1.0)]
    model = graphc.export.to_onnx(outs, [w, i, a])
    assert model.ByteSize() < 100_000  # no 50000-row (or 1.5M-element) position constant
    wv = RNG.standard_normal((50000, 30)).astype(np.float32)
    iv = np.array([7, 49999, 7])
    f = graphc.function([w, i, a], outs)
    got = f(wv, iv, 49990)
    np.testing.assert_allclose(got[0], _np_inc(wv, iv, np.ones((3, 30), np.float32)), rtol=1e-6)
    np.testing.assert_array_equal(got[1], _np_set(wv, (iv, slice(3, 5)), 0.0))
    np.testing.assert_allclose(got[2], _np_inc(wv, (slice(49990, None), 2), 1.0), rtol=1e-6)


def test_set_subtensor_of_a_scalar_and_symbolic_bounds_on_static_shape():
    s = T.dscalar("s")
    np.testing.assert_array_equal(T.set_subtensor(s[()], 4.0).eval({s: 1.0}), 4.0)
    x, a = T.tensor("float32", shape=(4, 6), name="x"), T.lscalar("a")
    out = T.set_subtensor(x[a : a + 2, ::3], -1.0)
    np.testing.assert_array_equal(out.eval({x: XM, a: 1}), _np_set(XM, (slice(1, 3), slice(None, None, 3)), -1.0))


def test_int32_arrays_and_symbolic_scalar_beside_arrays():
    x, i, j, k = T.tensor3("x"), T.ivector("i"), T.lvector("j"), T.lscalar("k")
    i32 = I4.astype(np.int32)
    f = graphc.function([x, i, j, k], [x[i, j], x[k, j, i], x[i, k, j], x[:, k, j]])
    wants = [X3[i32, J4], X3[-1, J4, i32], X3[i32, -1, J4], X3[:, -1, J4]]
    for got, want in zip(f(X3, i32, J4, -1), wants):
        assert got.shape == want.shape
        np.testing.assert_array_equal(got, want)


def test_sparse_row_update_of_a_shared_variable():
    """The classic embedding step: updates=[(W, T.inc_subtensor(W[idx], -lr * g))]."""
    wv = RNG.standard_normal((9, 4)).astype(np.float32)
    w = graphc.shared(wv, name="W")
    idx, g = T.lvector("idx"), T.matrix("g")
    step = graphc.function([idx, g], [], updates=[(w, T.inc_subtensor(w[idx], -0.5 * g))])
    iv, gv = np.array([2, 8, 2]), RNG.standard_normal((3, 4)).astype(np.float32)
    step(iv, gv)
    np.testing.assert_allclose(w.get_value(), _np_inc(wv, iv, -0.5 * gv), rtol=1e-6)
    emb = T.set_subtensor(w[idx], 0.0)[idx].sum()  # set then read back the rows: zeros
    assert float(emb.eval({idx: iv})) == 0.0
