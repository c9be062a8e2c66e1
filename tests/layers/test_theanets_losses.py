"""theanets losses (graphc.theanets.losses): values against numpy, registration, training progress."""

from __future__ import annotations

import numpy as np
import pytest

import graphc
import graphc.tensor as TT
from graphc import theanets
from graphc.theanets import losses

RNG = np.random.RandomState(7)
B, K = 6, 4  # examples, classes/features: non-square


def _value(loss, out, *arrays, ndim=2, name="out:out"):
    x = TT.tensor("float32", ndim, name="x")
    fn = graphc.function([x, *loss.variables], loss({name: x}))
    return float(fn(out, *arrays))


# -- numpy oracles -----------------------------------------------------------------------------
def np_hinge(out, t, w=None):
    flat = out.reshape(-1, out.shape[-1])
    true = flat[np.arange(len(flat)), t.reshape(-1)]
    err = np.maximum(0, (flat - true[:, None]).max(axis=-1))
    return err.mean() if w is None else (w.reshape(-1) * err).sum() / w.sum()


def np_kl(out, t, w=None):
    eps = 1e-8
    tc = np.clip(t, eps, 1 - eps)
    kl = tc * np.log(tc / np.clip(out, eps, 1 - eps))
    return np.abs(kl).mean() if w is None else np.abs(w * kl).sum() / w.sum()


def np_mmd(out, t, bw=1.0, w=None):
    def k(a, b):
        return np.exp(-((a[:, None] - b[None]) ** 2).sum(-1) / bw)

    if w is None:
        return k(t, t).mean() - 2 * k(t, out).mean() + k(out, out).mean()
    we = w.mean(axis=-1)
    p = we[:, None] * we[None]
    return ((p * k(t, t)).sum() - 2 * (p * k(t, out)).sum() + (p * k(out, out)).sum()) / p.sum()


def np_gll(mean, covar, y, eps=1e-3, w=None):
    sigma = np.abs(covar) + eps
    elem = 0.5 * (np.log(2 * np.pi) + np.log(sigma) + (y - mean) ** 2 / sigma)
    if w is None:
        return elem.sum(-1).mean()
    return mean.shape[-1] * (w * elem).sum() / w.sum()


def test_hinge_values_plain_weighted_and_3d():
    out = RNG.randn(B, K).astype("f")
    t = RNG.randint(K, size=B)
    assert _value(losses.Loss.build("hinge", target=1), out, t) == pytest.approx(np_hinge(out, t), rel=1e-5)
    w = RNG.rand(B).astype("f")
    got = _value(losses.Loss.build("hinge", target=1, weighted=True), out, t, w)
    assert got == pytest.approx(np_hinge(out, t, w), rel=1e-5)
    out3, t3 = RNG.randn(3, 5, K).astype("f"), RNG.randint(K, size=(3, 5))
    assert _value(losses.Hinge(target=2), out3, t3, ndim=3) == pytest.approx(np_hinge(out3, t3), rel=1e-5)


def test_hinge_is_zero_when_the_target_scores_highest():
    out = np.eye(K, dtype="f")[:3] * 5
    assert _value(losses.Hinge(target=1), out, np.arange(3)) == 0


def test_kl_values():
    out = RNG.dirichlet(np.ones(K), size=B).astype("f")
    t = RNG.dirichlet(np.ones(K), size=B).astype("f")
    assert _value(losses.Loss.build("kl", target=2), out, t) == pytest.approx(np_kl(out, t), rel=1e-5)
    w = RNG.rand(B, K).astype("f")
    got = _value(losses.Loss.build("kld", target=2, weighted=True), out, t, w)
    assert got == pytest.approx(np_kl(out, t, w), rel=1e-5)


@pytest.mark.parametrize("bw", [1, 2.5])
def test_mmd_values(bw):
    out, t = RNG.randn(B, K).astype("f"), RNG.randn(B, K).astype("f")
    got = _value(losses.Loss.build("mmd", target=2, kernel=bw), out, t)
    assert got == pytest.approx(np_mmd(out, t, bw), rel=1e-4)
    w = RNG.rand(B, K).astype("f")
    got = _value(losses.MaximumMeanDiscrepancy(target=2, kernel=bw, weighted=True), out, t, w)
    assert got == pytest.approx(np_mmd(out, t, bw, w), rel=1e-4)
    # equal weights: the unweighted value
    got = _value(losses.MaximumMeanDiscrepancy(target=2, kernel=bw, weighted=True), out, t, np.ones_like(w))
    assert got == pytest.approx(np_mmd(out, t, bw), rel=1e-4)


def test_mmd_of_identical_samples_is_zero_and_a_kernel_callable_is_used():
    x = RNG.randn(B, K).astype("f")
    assert _value(losses.MaximumMeanDiscrepancy(target=2), x, x) == pytest.approx(0, abs=1e-6)
    lin = losses.MaximumMeanDiscrepancy(target=2, kernel=lambda a, b: TT.dot(a, b.T))
    out, t = RNG.randn(B, K).astype("f"), RNG.randn(B, K).astype("f")
    expect = (t @ t.T).mean() - 2 * (t @ out.T).mean() + (out @ out.T).mean()
    assert _value(lin, out, t) == pytest.approx(expect, rel=1e-4)
    with pytest.raises(TypeError, match="kernel"):
        losses.MaximumMeanDiscrepancy(target=2, kernel="rbf")


def test_gll_values():
    mean, covar, y = (RNG.randn(B, K).astype("f") for _ in range(3))
    m, c = TT.matrix("m"), TT.matrix("c")
    loss = losses.Loss.build("gll", target=2, mean_name="mu", covar_name="sig:out")
    assert (loss.mean_name, loss.covar_name) == ("mu:out", "sig:out")
    fn = graphc.function([m, c, *loss.variables], loss({"mu:out": m, "sig:out": c}))
    assert float(fn(mean, covar, y)) == pytest.approx(np_gll(mean, covar, y), rel=1e-5)
    w = RNG.rand(B, K).astype("f")
    wl = losses.GaussianLogLikelihood(target=2, mean_name="mu", covar_name="sig", covar_eps=0.1, weighted=True)
    fn = graphc.function([m, c, *wl.variables], wl({"mu:out": m, "sig:out": c}))
    assert float(fn(mean, covar, y, w)) == pytest.approx(np_gll(mean, covar, y, 0.1, w), rel=1e-5)
    assert float(fn(mean, covar, y, np.ones_like(w))) == pytest.approx(np_gll(mean, covar, y, 0.1), rel=1e-5)


def test_gll_missing_output_names_it():
    loss = losses.GaussianLogLikelihood(target=2)
    with pytest.raises(KeyError, match="mean:out"):
        loss({"out:out": TT.matrix()})


def test_crossentropy_accuracy_value():
    out = RNG.rand(B, K).astype("f")
    t = RNG.randint(K, size=B)
    loss = losses.CrossEntropy(target=1)
    x = TT.matrix("x")
    acc = graphc.function([x, loss._target], loss.accuracy({"out:out": x}))(out, t)
    assert float(acc) == pytest.approx(np.mean(out.argmax(-1) == t))


# -- registration --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name, cls",
    [
        ("hinge", losses.Hinge),
        ("mmd", losses.MaximumMeanDiscrepancy),
        ("MMD", losses.MaximumMeanDiscrepancy),
        ("maximummeandiscrepancy", losses.MaximumMeanDiscrepancy),
        ("kl", losses.KullbackLeiblerDivergence),
        ("kld", losses.KullbackLeiblerDivergence),
        ("gll", losses.GaussianLogLikelihood),
        ("gaussianloglikelihood", losses.GaussianLogLikelihood),
    ],
)
def test_registered_names(name, cls):
    loss = losses.build(name, target=2)
    assert type(loss) is cls
    assert len(loss.variables) == 1
    assert len(losses.Loss.build(name, target=2, weighted=True).variables) == 2


def test_hinge_targets_are_int_and_classifier_monitors_accuracy():
    net = theanets.Classifier([5, 4, 3], loss="hinge")
    assert isinstance(net.losses[0], losses.Hinge)
    assert net.losses[0].variables[0].dtype.startswith("int") and net.losses[0].variables[0].ndim == 1
    assert [n for n, _ in net.monitors()] == ["err", "acc"]


def test_add_loss_and_set_loss_find_them():
    net = theanets.Regressor([5, 4, (3, "softmax")])
    net.add_loss("kl", weight=0.5)
    assert [type(x) for x in net.losses] == [losses.MeanSquaredError, losses.KullbackLeiblerDivergence]
    net.set_loss("mmd", kernel=2)
    assert [type(x) for x in net.losses] == [losses.MaximumMeanDiscrepancy]


def _progress(net, data, **kw):
    gen = net.itertrain(data, algo="sgd", learning_rate=0.05, batch_size=64, progress=False, **kw)
    _, valid0 = next(gen)
    for _ in range(5):
        train, _ = next(gen)
    gen.close()
    assert train["loss"] < valid0["loss"]


X = RNG.randn(64, 5).astype("f")


def test_training_reduces_each_loss():
    y = RNG.randn(64, 3).astype("f")
    labels = RNG.randint(3, size=64)
    _progress(theanets.Classifier([5, 6, 3], loss="hinge"), [X, labels])
    _progress(theanets.Regressor([5, 6, 3], loss="mmd"), [X, y])
    _progress(
        theanets.Regressor([5, 6, (3, "softmax")], loss="kl"), [X, RNG.dirichlet(np.ones(3), size=64).astype("f")]
    )
    net = theanets.Regressor([
        5,
        dict(name="hid", size=6),
        dict(name="covar", activation="relu", inputs="hid", size=3),
        dict(name="mean", activation="linear", inputs="hid", size=3),
    ])  # fmt: skip
    net.set_loss("gll", target=2, mean_name="mean", covar_name="covar")
    _progress(net, [X, y], max_gradient_norm=1)


# -- negative class labels (upstream's Theano indexing counts them from the end) -----------------
def np_xe(out, t, w=None):
    flat = out.reshape(-1, out.shape[-1]).astype(np.float64)
    nlp = -np.log(np.clip(flat[np.arange(len(flat)), t.reshape(-1)], 1e-8, 1))  # numpy wraps negative indices
    return nlp.mean() if w is None else (w.reshape(-1) * nlp).sum() / w.sum()


@pytest.mark.parametrize("form, oracle", [("xe", np_xe), ("hinge", np_hinge)])
def test_negative_labels_count_from_the_end_in_runtime_and_onnx(form, oracle):
    from graphc.export import to_onnx
    from graphc.testing import reference_evaluator

    out = RNG.dirichlet(np.ones(K), size=(3, 5)).astype("f")
    t = RNG.randint(-K, K, size=(3, 5)).astype("int64")
    t[0, :2] = [-K, K - 1]  # both ends of the range
    w = RNG.rand(3, 5).astype("f")
    loss = losses.Loss.build(form, target=2, weighted=True)
    x = TT.tensor("float32", 3, name="x")
    expr = loss({"out:out": x})
    want = oracle(out, t, w)
    assert float(graphc.function([x, *loss.variables], expr)(out, t, w)) == pytest.approx(want, rel=1e-5)
    model = to_onnx(expr, [x, *loss.variables])
    (got,) = reference_evaluator(model).run(None, {"x": out, "target": t, "weights": w})
    assert float(got) == pytest.approx(want, rel=1e-5)
    # the gradient of a label -k is that of the label K - k
    g = graphc.function([x, *loss.variables], TT.grad(expr, x))
    np.testing.assert_allclose(g(out, t, w), g(out, t % K, w), rtol=1e-6)


def test_classifier_trains_on_negative_labels_and_refuses_labels_below_minus_classes(capsys):
    x = RNG.randn(12, 3).astype("f")
    y = np.array([-3, -2, -1, 0, 1, 2] * 2, "int32")
    net = theanets.Classifier([3, 4, 3], rng=5)
    want = np_xe(net.predict_proba(x), y)
    train, valid = next(net.itertrain([x, y], algo="sgd", learning_rate=0.1, batch_size=4))
    assert np.isfinite(train["loss"]) and valid["loss"] == pytest.approx(want, rel=1e-5)  # validated before training
    with pytest.raises(ValueError, match=r"class labels from -4 to 2; the network has 3 classes"):
        net.train([x, np.where(y == -3, -4, y)], algo="sgd", max_updates=1)
    # score compares the labels as they are (upstream): a negative label is never the predicted class
    pred = net.predict(x)
    assert net.score(x, y) == pytest.approx(np.mean(pred == y))
    assert net.score(x, pred - 3) == 0.0
    w = RNG.rand(12)
    assert net.score(x, y, w) == pytest.approx((w * (pred == y)).sum() / w.sum())
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 2\] \(or \[-3, -1\]"):
        net.score(x, np.full(12, -4))
    with pytest.raises(ValueError, match=r"weights of shape \(5,\) do not match the predicted classes of shape \(12,\)"):
        net.score(x, y, w[:5])
