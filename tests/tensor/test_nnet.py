"""T.nnet activations and losses against numpy implementations of Theano's equations."""

import numpy as np
import pytest

import graphc
import graphc.tensor as T

RNG = np.random.default_rng(2024)
XV = (RNG.standard_normal((3, 5)) * 3).astype(np.float32)
LABELS = np.array([4, 0, 2])


def np_softmax(a, axis=-1):
    a = np.asarray(a, np.float64)
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def np_log_softmax(a, axis=-1):
    a = np.asarray(a, np.float64)
    shifted = a - a.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def _close(got, want, rtol=1e-5, atol=1e-6, dtype=np.float32):
    got = np.asarray(got)
    assert got.dtype == dtype, got.dtype
    assert got.shape == np.shape(want), (got.shape, np.shape(want))
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


def test_softmax_rows():
    x = T.matrix("x")
    f = graphc.function([x], [T.nnet.softmax(x), T.nnet.softmax(x, axis=0), T.nnet.softmax(x * 100)])
    rows, cols, sharp = f(XV)
    _close(rows, np_softmax(XV))
    np.testing.assert_allclose(rows.sum(axis=1), np.ones(3), rtol=1e-6)
    _close(cols, np_softmax(XV, axis=0))
    np.testing.assert_allclose(cols.sum(axis=0), np.ones(5), rtol=1e-6)
    _close(sharp, np_softmax(XV.astype(np.float64) * 100))
    assert np.isfinite(sharp).all()


def test_softmax_3d_and_int_input():
    t, m = T.tensor3("t"), T.imatrix("m")
    tv = RNG.standard_normal((2, 3, 4)).astype(np.float32)
    mv = np.array([[1, 2, 3], [0, 0, 0]], np.int32)
    f = graphc.function([t, m], [T.nnet.softmax(t), T.nnet.softmax(m)])
    a, b = f(tv, mv)
    _close(a, np_softmax(tv))
    _close(b, np_softmax(mv))


def test_softmax_of_a_scalar_raises():
    with pytest.raises(ValueError):
        T.nnet.softmax(T.scalar("s"))


def test_log_softmax():
    x = T.matrix("x")
    f = graphc.function([x], [T.nnet.log_softmax(x), T.log_softmax(x * 100), T.nnet.logsoftmax(x, axis=0)])
    a, b, c = f(XV)
    _close(a, np_log_softmax(XV), atol=1e-5)
    _close(b, np_log_softmax(XV.astype(np.float64) * 100), atol=1e-3)  # finite where log(softmax) is -inf
    assert np.isfinite(b).all()
    _close(c, np_log_softmax(XV, axis=0), atol=1e-5)


def test_sigmoid_relu_softplus():
    x = T.matrix("x")
    f = graphc.function([x], [T.nnet.sigmoid(x), T.nnet.relu(x), T.nnet.relu(x, 0.1), T.nnet.softplus(x), T.tanh(x)])
    x64 = XV.astype(np.float64)
    sig, relu, leaky, sp, th = f(XV)
    _close(sig, 1 / (1 + np.exp(-x64)))
    _close(relu, np.maximum(XV, 0))
    _close(leaky, np.where(XV > 0, XV, 0.1 * x64))
    _close(sp, np.log1p(np.exp(x64)))
    _close(th, np.tanh(x64))


def test_softplus_and_sigmoid_do_not_overflow():
    x = T.vector("x")
    big = np.array([-1000, -100, -20, 0, 20, 100, 1000], np.float32)
    f = graphc.function([x], [T.nnet.softplus(x), T.nnet.sigmoid(x)])
    sp, sig = f(big)
    assert np.isfinite(sp).all() and np.isfinite(sig).all()
    _close(sp, np.logaddexp(0, big.astype(np.float64)))
    _close(sig, np.array([0, 0, 1 / (1 + np.exp(20.0)), 0.5, 1 / (1 + np.exp(-20.0)), 1, 1]))


def test_binary_crossentropy():
    p, t = T.matrix("p"), T.matrix("t")
    pv = RNG.uniform(0.05, 0.95, (3, 5)).astype(np.float32)
    tv = RNG.uniform(0, 1, (3, 5)).astype(np.float32)
    f = graphc.function([p, t], [T.nnet.binary_crossentropy(p, t), T.nnet.binary_crossentropy(p, t).mean()])
    p64, t64 = pv.astype(np.float64), tv.astype(np.float64)
    want = -(t64 * np.log(p64) + (1 - t64) * np.log(1 - p64))
    elem, mean = f(pv, tv)
    _close(elem, want)
    _close(mean, np.float32(want.mean()))


def test_binary_crossentropy_int_targets():
    p, t = T.vector("p"), T.ivector("t")
    f = graphc.function([p, t], T.nnet.binary_crossentropy(p, t))
    pv = np.array([0.2, 0.7, 0.9], np.float32)
    tv = np.array([0, 1, 0], np.int32)
    _close(f(pv, tv), -np.log(np.array([0.8, 0.7, 0.1])))


def test_categorical_crossentropy_one_hot():
    p, t = T.matrix("p"), T.matrix("t")
    probs = np_softmax(XV).astype(np.float32)
    onehot = np.eye(5, dtype=np.float32)[LABELS]
    f = graphc.function([p, t], T.nnet.categorical_crossentropy(p, t))
    want = -np.log(probs.astype(np.float64)[np.arange(3), LABELS])
    _close(f(probs, onehot), want)
    soft = np_softmax(RNG.standard_normal((3, 5))).astype(np.float32)
    _close(f(probs, soft), -(soft.astype(np.float64) * np.log(probs.astype(np.float64))).sum(axis=1))


@pytest.mark.parametrize("ctor", [T.lvector, T.ivector])
def test_categorical_crossentropy_class_indices(ctor):
    p, y = T.matrix("p"), ctor("y")
    probs = np_softmax(XV).astype(np.float32)
    f = graphc.function([p, y], T.nnet.categorical_crossentropy(p, y))
    want = -np.log(probs.astype(np.float64)[np.arange(3), LABELS])
    _close(f(probs, LABELS.astype(y.dtype)), want)


def test_categorical_crossentropy_indices_and_one_hot_agree():
    x, y = T.matrix("x"), T.lvector("y")
    probs = T.nnet.softmax(x)
    onehot = T.cast(T.eq(y.dimshuffle(0, "x"), T.arange(5).dimshuffle("x", 0)), "float32")
    f = graphc.function(
        [x, y], [T.nnet.categorical_crossentropy(probs, y), T.nnet.categorical_crossentropy(probs, onehot)]
    )
    a, b = f(XV, LABELS)
    np.testing.assert_allclose(a, b, rtol=1e-5)
    _close(a, -np_log_softmax(XV)[np.arange(3), LABELS], rtol=1e-5, atol=1e-5)


def test_categorical_crossentropy_bad_targets():
    p = T.matrix("p")
    with pytest.raises(TypeError):
        T.nnet.categorical_crossentropy(p, T.vector("t"))
    with pytest.raises(ValueError):
        T.nnet.categorical_crossentropy(p, T.tensor3("t"))


def test_hard_sigmoid_and_elu():
    x = T.matrix("x")
    f = graphc.function([x], [T.nnet.hard_sigmoid(x), T.nnet.elu(x), T.nnet.elu(x, alpha=0.5), T.nnet.selu(x)])
    hs, elu, elu_half, selu = f(XV)
    x64 = XV.astype(np.float64)
    _close(hs, np.clip(0.2 * x64 + 0.5, 0, 1))
    assert hs.min() == 0 and hs.max() == 1
    _close(elu, np.where(x64 > 0, x64, np.expm1(x64)))
    _close(elu_half, np.where(x64 > 0, x64, 0.5 * np.expm1(x64)))
    lam, alpha = 1.0507009873554805, 1.6732632423543772
    _close(selu, lam * np.where(x64 > 0, x64, alpha * np.expm1(x64)))
