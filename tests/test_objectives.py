"""graphc.objectives against independent numpy implementations of Lasagne's formulas."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import graphc
import graphc.tensor as T
from graphc import objectives as O

RNG = np.random.default_rng(1234)
N, C = 7, 5  # non-square everywhere


def _run(inputs, outputs, *values):
    return graphc.function(inputs, outputs)(*values)


def _probs(shape, dtype="float32"):
    p = RNG.uniform(0.05, 1.0, size=shape)
    return (p / p.sum(axis=-1, keepdims=True)).astype(dtype)


# -- numpy references ---------------------------------------------------------------
def np_bce(p, t):
    return -t * np.log(p) - (1 - t) * np.log(1 - p)


def np_hinge(p, t, delta=1.0):
    return np.maximum(0, delta - p * t)


def np_multiclass_hinge(p, idx, delta=1.0):
    rows = np.arange(p.shape[0])
    rest = p.copy()
    rest[rows, idx] = -np.inf
    return np.maximum(0, rest.max(axis=1) - p[rows, idx] + delta)


def np_huber(p, t, delta=1.0):
    d = np.abs(t - p)
    return np.where(d <= delta, 0.5 * d**2, delta * (d - delta / 2))


def np_top_k(p, idx, k):
    top = np.argsort(p, axis=1, kind="stable")[:, -k:]
    return np.any(top == idx[:, None], axis=1)


# -- elementwise losses ----------------------------------------------------------------
def test_binary_crossentropy_matrix_and_column():
    p, t = T.matrix("p"), T.matrix("t")
    pv, tv = T.vector("pv"), T.vector("tv")
    P = RNG.uniform(0.05, 0.95, (N, C)).astype("float32")
    Y = RNG.uniform(0, 1, (N, C)).astype("float32")
    col = O.binary_crossentropy(pv.dimshuffle(0, "x"), tv)
    assert col.ndim == 2
    out, out_col = _run([p, t, pv, tv], [O.binary_crossentropy(p, t), col], P, Y, P[:, 0], Y[:, 0])
    np.testing.assert_allclose(out, np_bce(P, Y), rtol=1e-5)
    assert out_col.shape == (N, 1)  # aligned, not broadcast to (N, N)
    np.testing.assert_allclose(out_col[:, 0], np_bce(P[:, 0], Y[:, 0]), rtol=1e-5)


@pytest.mark.parametrize("tdtype", ["float32", "int32", "uint8", "int64"])
def test_categorical_crossentropy(tdtype):
    p = T.matrix("p")
    P = _probs((N, C))
    if tdtype == "float32":
        t = T.matrix("t")
        Y = _probs((N, C))
        expected = -(Y * np.log(P)).sum(axis=-1)
    else:
        t = T.tensor(tdtype, 1, name="t")
        Y = RNG.integers(0, C, N).astype(tdtype)
        expected = -np.log(P[np.arange(N), Y])
    loss = O.categorical_crossentropy(p, t)
    assert loss.ndim == 1
    np.testing.assert_allclose(_run([p, t], loss, P, Y), expected, rtol=1e-5)


def test_categorical_crossentropy_3d_class_axis_last():
    p, t = T.tensor3("p"), T.imatrix("t")
    P = _probs((2, 3, C))
    Y = RNG.integers(0, C, (2, 3)).astype("int32")
    expected = -np.log(np.take_along_axis(P, Y[..., None], axis=-1)[..., 0])
    np.testing.assert_allclose(_run([p, t], O.categorical_crossentropy(p, t), P, Y), expected, rtol=1e-5)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_squared_error_values_and_dtype(dtype):
    a, b = T.matrix("a", dtype=dtype), T.matrix("b", dtype=dtype)
    X, Y = RNG.normal(size=(N, C)).astype(dtype), RNG.normal(size=(N, C)).astype(dtype)
    err = O.squared_error(a, b)
    assert err.dtype == dtype
    np.testing.assert_allclose(_run([a, b], err, X, Y), (X - Y) ** 2, rtol=1e-6)
    av, bv = T.vector("av", dtype=dtype), T.vector("bv", dtype=dtype)
    col = _run([av, bv], O.squared_error(av.dimshuffle(0, "x"), bv), X[:, 0], Y[:, 0])
    assert col.shape == (N, 1)
    np.testing.assert_allclose(col[:, 0], (X[:, 0] - Y[:, 0]) ** 2, rtol=1e-6)


@pytest.mark.parametrize("delta", [1.0, 0.3])
def test_huber_loss(delta):
    p, t = T.matrix("p"), T.matrix("t")
    P, Y = RNG.normal(size=(N, C)).astype("float32"), RNG.normal(size=(N, C)).astype("float32")
    d = np.abs(P - Y)
    assert (d <= delta).any() and (d > delta).any()  # both branches are exercised
    out = _run([p, t], O.huber_loss(p, t, delta=delta), P, Y)
    np.testing.assert_allclose(out, np_huber(P, Y, delta), rtol=1e-5, atol=1e-7)


# -- aggregate ------------------------------------------------------------------------------
def test_aggregate_modes():
    x, w = T.matrix("x"), T.matrix("w")
    X, W = RNG.normal(size=(N, C)).astype("float32"), RNG.uniform(0, 1, (N, C)).astype("float32")
    outs = _run(
        [x, w],
        [
            O.aggregate(x),
            O.aggregate(x, mode="sum"),
            O.aggregate(x, w),
            O.aggregate(x, w, mode="sum"),
            O.aggregate(x, w, mode="normalized_sum"),
        ],
        X,
        W,
    )
    expected = [X.mean(), X.sum(), (X * W).mean(), (X * W).sum(), (X * W).sum() / W.sum()]
    for got, want in zip(outs, expected):
        assert got.shape == ()
        np.testing.assert_allclose(got, want, rtol=1e-5)


def test_aggregate_broadcast_weights_mask_items():
    loss, mask = T.matrix("loss"), T.vector("mask")
    X = RNG.normal(size=(N, C)).astype("float32")
    M = (np.arange(C) % 2).astype("float32")
    out = _run([loss, mask], O.aggregate(loss, mask, mode="normalized_sum"), X, M)
    np.testing.assert_allclose(out, (X * M).sum() / M.sum(), rtol=1e-5)


def test_aggregate_invalid():
    with pytest.raises(ValueError, match="mode must be"):
        O.aggregate(T.matrix(), mode="asdf")
    with pytest.raises(ValueError, match="require weights"):
        O.aggregate(T.matrix(), mode="normalized_sum")
    with pytest.raises(ValueError, match="aggregate"):
        O.aggregate(T.tensor("float32", shape=(3, 4)), T.tensor("float32", shape=(3, 5)))


# -- hinge losses -----------------------------------------------------------------------------
@pytest.mark.parametrize("binary", [True, False])
@pytest.mark.parametrize("log_odds", [True, False])
def test_binary_hinge_loss(binary, log_odds):
    p, t = T.vector("p"), T.tensor("int8", 1, name="t")
    P = RNG.uniform(0.05, 0.95, N).astype("float32")
    Y = RNG.integers(0, 2, N).astype("int8")
    if not binary:
        Y = (2 * Y - 1).astype("int8")
    scores = P if log_odds else np.log(P / (1 - P))
    signs = 2 * Y - 1 if binary else Y
    out = _run([p, t], O.binary_hinge_loss(p, t, delta=0.7, log_odds=log_odds, binary=binary), P, Y)
    np.testing.assert_allclose(out, np_hinge(scores, signs, 0.7), rtol=1e-5, atol=1e-6)
    col = _run([p, t], O.binary_hinge_loss(p.dimshuffle(0, "x"), t, log_odds=log_odds, binary=binary), P, Y)
    assert col.shape == (N, 1)
    np.testing.assert_allclose(col[:, 0], np_hinge(scores, signs), rtol=1e-5, atol=1e-6)


def test_binary_hinge_loss_log_odds_unset_warns_and_means_true():
    p, t = T.vector("p"), T.tensor("int8", 1, name="t")
    with pytest.warns(FutureWarning, match="log_odds"):
        loss = O.binary_hinge_loss(p, t)
    P, Y = RNG.uniform(0, 1, N).astype("float32"), RNG.integers(0, 2, N).astype("int8")
    np.testing.assert_allclose(_run([p, t], loss, P, Y), np_hinge(P, 2 * Y - 1), rtol=1e-6)


@pytest.mark.parametrize("onehot", [False, True])
def test_multiclass_hinge_loss(onehot):
    p = T.matrix("p")
    P = RNG.normal(size=(N, C)).astype("float32")
    idx = RNG.integers(0, C, N)
    if onehot:
        t, Y = T.tensor("int8", 2, name="t"), np.eye(C, dtype="int8")[idx]
    else:
        t, Y = T.ivector("t"), idx.astype("int32")
    out = _run([p, t], O.multiclass_hinge_loss(p, t, delta=0.5), P, Y)
    np.testing.assert_allclose(out, np_multiclass_hinge(P, idx, 0.5), rtol=1e-6)


# -- accuracies ------------------------------------------------------------------------------
def test_binary_accuracy():
    p, t = T.vector("p"), T.tensor("int8", 1, name="t")
    P = RNG.uniform(0, 1, N).astype("float32")
    P[0] = 0.6  # exactly at the threshold counts as positive
    Y = RNG.integers(0, 2, N).astype("int8")
    acc, acc_col = _run(
        [p, t], [O.binary_accuracy(p, t, threshold=0.6), O.binary_accuracy(p.dimshuffle(0, "x"), t)], P, Y
    )
    np.testing.assert_array_equal(acc, (P >= 0.6) == Y)
    assert acc_col.shape == (N, 1)
    np.testing.assert_array_equal(acc_col[:, 0], (P >= 0.5) == Y)


def test_categorical_accuracy_int_and_onehot():
    p, t, t1 = T.matrix("p"), T.ivector("t"), T.tensor("int8", 2, name="t1")
    P = RNG.uniform(0, 1, (100, C)).astype("float32")
    idx = RNG.integers(0, C, 100)
    expected = P.argmax(axis=1) == idx
    a, b = _run(
        [p, t, t1],
        [O.categorical_accuracy(p, t), O.categorical_accuracy(p, t1)],
        P,
        idx.astype("int32"),
        np.eye(C, dtype="int8")[idx],
    )
    np.testing.assert_array_equal(a, expected)
    np.testing.assert_array_equal(b, expected)


@pytest.mark.parametrize("k", [2, 4, C + 2])
def test_categorical_accuracy_top_k(k):
    p, t, t1 = T.matrix("p"), T.ivector("t"), T.tensor("int8", 2, name="t1")
    P = RNG.uniform(0, 1, (N, C)).astype("float32")
    # the targets reach every rank, as in Lasagne's test
    idx = np.argsort(P, axis=1)[np.arange(N), -(np.arange(N) % C) - 1]
    a, b = _run(
        [p, t, t1],
        [O.categorical_accuracy(p, t, top_k=k), O.categorical_accuracy(p, t1, top_k=k)],
        P,
        idx.astype("int32"),
        np.eye(C, dtype="int8")[idx],
    )
    np.testing.assert_array_equal(a, np_top_k(P, idx, k))
    np.testing.assert_array_equal(b, np_top_k(P, idx, k))


def test_categorical_accuracy_ties_as_stable_argsort():
    p, t = T.matrix("p"), T.ivector("t")
    P = np.array([[0.2, 0.5, 0.5, 0.5, 0.1], [0.3, 0.3, 0.3, 0.3, 0.3], [0.9, 0.1, 0.1, 0.9, 0.0]], "float32")
    for k in (1, 2, 3):
        fn = graphc.function([p, t], O.categorical_accuracy(p, t, top_k=k))
        for cls in range(C):
            idx = np.full(3, cls, dtype="int32")
            expected = P.argmax(axis=1) == idx if k == 1 else np_top_k(P, idx, k)
            np.testing.assert_array_equal(fn(P, idx), expected, err_msg=f"k={k} class={cls}")


# -- errors ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "fn", [O.categorical_crossentropy, O.multiclass_hinge_loss, O.categorical_accuracy], ids=lambda f: f.__name__
)
def test_rank_mismatch(fn):
    with pytest.raises(TypeError, match="rank mismatch"):
        fn(T.vector(), T.matrix())
    with pytest.raises(TypeError, match="rank mismatch"):
        fn(T.tensor3(), T.vector())
    with pytest.raises(TypeError, match="integer class indices"):
        fn(T.matrix(), T.vector())


@pytest.mark.parametrize(
    "fn",
    [O.binary_crossentropy, O.squared_error, O.huber_loss, O.binary_accuracy, O.categorical_crossentropy],
    ids=lambda f: f.__name__,
)
def test_static_shape_mismatch_names_the_objective(fn):
    a, b = T.tensor("float32", shape=(3, 4)), T.tensor("float32", shape=(3, 5))
    with pytest.raises(ValueError, match=fn.__name__):
        fn(a, b)


def test_class_index_length_mismatch():
    p, t = T.tensor("float32", shape=(3, 4)), T.tensor("int32", shape=(5,))
    for fn in (O.categorical_crossentropy, O.multiclass_hinge_loss, O.categorical_accuracy):
        with pytest.raises(ValueError, match=fn.__name__):
            fn(p, t)


@pytest.mark.parametrize("k", [0, -1, 1.5, True])
def test_top_k_invalid(k):
    with pytest.raises(ValueError, match="top_k"):
        O.categorical_accuracy(T.matrix(), T.ivector(), top_k=k)


def test_explicit_log_odds_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        O.binary_hinge_loss(T.vector(), T.ivector(), log_odds=False)


def test_lasagne_namespace():
    import graphc as lasagne

    assert lasagne.objectives.huber_loss is O.huber_loss
    assert set(O.__all__) >= {"binary_crossentropy", "aggregate", "categorical_accuracy", "huber_loss"}
