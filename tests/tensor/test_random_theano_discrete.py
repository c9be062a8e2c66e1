"""RandomStreams.multinomial / random_integers / permutation / choice: shapes, dtypes, frequencies, export."""

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import graphc
import graphc.tensor as T


def test_random_integers_inclusive_and_uniform():
    srng = T.RandomStreams(seed=10)
    r = srng.random_integers((20000,), low=-2, high=3)
    r32 = srng.random_integers((4, 5), 0, 1, dtype="int32")
    assert r.dtype == "int64" and r32.dtype == "int32"
    v, v32 = graphc.function([], [r, r32])()
    assert v.shape == (20000,) and v32.shape == (4, 5) and v32.dtype == np.int32
    assert set(np.unique(v)) == set(range(-2, 4))
    np.testing.assert_allclose(np.bincount(v + 2) / v.size, np.full(6, 1 / 6), atol=0.015)


def test_random_integers_symbolic_bounds_and_size():
    srng = T.RandomStreams(seed=11)
    x, hi = T.matrix("x"), T.lscalar("hi")
    f = graphc.function([x, hi], srng.random_integers(x.shape, 1, hi))
    v = f(np.zeros((300, 7), np.float32), 4)
    assert v.shape == (300, 7) and v.min() == 1 and v.max() == 4


def test_multinomial_counts_and_frequencies():
    srng = T.RandomStreams(seed=12)
    pv = [0.2, 0.3, 0.5]
    one = srng.multinomial(size=(20000,), pvals=pv)
    many = srng.multinomial(size=(5000,), n=4, pvals=pv, dtype="int32")
    assert one.dtype == "int64" and many.dtype == "int32"
    a, b = graphc.function([], [one, many])()
    assert a.shape == (20000, 3) and b.shape == (5000, 3) and b.dtype == np.int32
    assert (a.sum(axis=1) == 1).all() and (b.sum(axis=1) == 4).all() and b.min() >= 0
    np.testing.assert_allclose(a.mean(axis=0), pv, atol=0.015)
    np.testing.assert_allclose(b.mean(axis=0), 4 * np.array(pv), atol=0.05)


def test_multinomial_default_size_from_symbolic_pvals():
    """MRG-style use: one one-hot row per row of a softmax output."""
    srng = T.MRG_RandomStreams(seed=13)
    q = T.matrix("q")
    f = graphc.function([q], srng.multinomial(pvals=T.nnet.softmax(q)))
    logits = np.log(np.array([[0.1, 0.9, 1e-9, 1e-9], [0.25, 0.25, 0.25, 0.25], [1e-9, 1e-9, 1e-9, 1.0]], np.float32))
    draws = np.stack([f(logits) for _ in range(400)])
    assert draws.shape == (400, 3, 4) and (draws.sum(axis=-1) == 1).all()
    assert (draws[:, 2, 3] == 1).all() and draws[:, 0, 2:].sum() == 0
    np.testing.assert_allclose(draws[:, 0, 1].mean(), 0.9, atol=0.05)
    np.testing.assert_allclose(draws[:, 1].mean(axis=0), [0.25] * 4, atol=0.07)


def test_multinomial_default_pvals_and_batch_pvals():
    srng = T.RandomStreams(seed=14)
    d = graphc.function([], srng.multinomial((6000,)))()
    assert d.shape == (6000, 2) and abs(d[:, 0].mean() - 0.5) < 0.03
    pv = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
    v = graphc.function([], srng.multinomial((2000, 3), n=2, pvals=pv))()
    assert v.shape == (2000, 3, 2)
    assert (v[:, 0, 0] == 2).all() and (v[:, 1, 1] == 2).all() and abs(v[:, 2, 0].mean() - 1) < 0.06


def test_permutation_shapes_validity_and_uniformity():
    srng = T.RandomStreams(seed=15)
    p = srng.permutation((3000,), n=3)
    single = srng.permutation(n=7)
    assert p.dtype == "int64" and single.dtype == "int64"
    pv, sv = graphc.function([], [p, single])()
    assert pv.shape == (3000, 3) and sv.shape == (7,)
    assert (np.sort(pv, axis=1) == np.arange(3)).all() and sorted(sv) == list(range(7))
    codes = pv @ np.array([9, 3, 1])
    _, counts = np.unique(codes, return_counts=True)
    assert len(counts) == 6 and np.allclose(counts / 3000, 1 / 6, atol=0.025)
    np.testing.assert_allclose(pv.mean(axis=0), [1, 1, 1], atol=0.06)


def test_choice_with_replacement():
    srng = T.RandomStreams(seed=16)
    c = srng.choice((100, 200), a=5)
    w = srng.choice((20000,), a=3, p=[0.6, 0.1, 0.3])
    vals = srng.choice((3000,), a=np.array([1.5, 2.5]), dtype="float64")
    cv, wv, vv = graphc.function([], [c, w, vals])()
    assert cv.shape == (100, 200) and cv.dtype == np.int64 and set(np.unique(cv)) == set(range(5))
    np.testing.assert_allclose(np.bincount(wv, minlength=3) / wv.size, [0.6, 0.1, 0.3], atol=0.015)
    assert vv.dtype == np.float64 and set(np.unique(vv)) == {1.5, 2.5}


def test_choice_without_replacement():
    srng = T.RandomStreams(seed=17)
    full = srng.choice((2, 4), a=8, replace=False)
    part = srng.choice((2,), a=4, replace=False)
    weighted = srng.choice((2,), a=4, replace=False, p=[0.0, 0.0, 0.5, 0.5])
    f = graphc.function([], [full, part, weighted])
    firsts = []
    for _ in range(300):
        fv, pv, wv = f()
        assert fv.shape == (2, 4) and sorted(fv.ravel()) == list(range(8))
        assert pv[0] != pv[1] and sorted(wv) == [2, 3]
        firsts.append(pv[0])
    np.testing.assert_allclose(np.bincount(firsts, minlength=4) / 300, [0.25] * 4, atol=0.08)


def test_choice_weighted_without_replacement_order():
    """The first pick follows p; the second follows p renormalised without the first."""
    srng = T.RandomStreams(seed=18)
    f = graphc.function([], srng.choice((2,), a=3, replace=False, p=[0.7, 0.2, 0.1]))
    draws = np.array([f() for _ in range(1500)])
    np.testing.assert_allclose(np.bincount(draws[:, 0], minlength=3) / 1500, [0.7, 0.2, 0.1], atol=0.04)
    assert (draws[:, 0] != draws[:, 1]).all()


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda s: s.random_integers((3,), 4, 2), id="low>high"),
        pytest.param(lambda s: s.multinomial((3,), n=-1, pvals=[1.0]), id="negative n"),
        pytest.param(lambda s: s.multinomial((3,), pvals=[0.8, 0.8]), id="sum>1"),
        pytest.param(lambda s: s.multinomial((3,), pvals=[-0.1, 1.1]), id="negative p"),
        pytest.param(lambda s: s.multinomial((3,), pvals=[0.5, 0.5], ndim=3), id="ndim"),
        pytest.param(lambda s: s.permutation((2,), n=1.5), id="float n"),
        pytest.param(lambda s: s.choice((5,), a=4, replace=False), id="too many distinct"),
        pytest.param(lambda s: s.choice((5,), a=0), id="a=0"),
        pytest.param(lambda s: s.choice((5,), a=np.zeros((2, 2))), id="2-d a"),
    ],
)
def test_bad_arguments_raise_value_error(call):
    with pytest.raises(ValueError):
        call(T.RandomStreams(seed=1))


def test_export_runs_in_onnxruntime():
    srng = T.RandomStreams(seed=19)
    x = T.matrix("x")
    outs = [
        srng.multinomial((x.shape[0],), pvals=[0.5, 0.5]),
        srng.random_integers((x.shape[0], 2), 0, 9),
        srng.permutation((2,), n=5),
        srng.choice((3,), a=6, replace=False),
    ]
    model = graphc.export.to_onnx(outs, [x])
    onnx.checker.check_model(model, full_check=True)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    m, r, p, c = sess.run(None, {sess.get_inputs()[0].name: np.zeros((4, 3), np.float32)})
    assert m.shape == (4, 2) and (m.sum(axis=1) == 1).all()
    assert r.shape == (4, 2) and r.min() >= 0 and r.max() <= 9
    assert (np.sort(p, axis=1) == np.arange(5)).all()
    assert c.shape == (3,) and len(set(c.tolist())) == 3 and c.max() < 6
