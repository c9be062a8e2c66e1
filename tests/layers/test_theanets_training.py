"""theanets training: Network.train/itertrain and graphc.theanets.trainer.Trainer."""

from __future__ import annotations

import os

import numpy as np
import pytest

import graphc.tensor as TT
from graphc import theanets
from graphc.theanets._trainers import make_trainer
from graphc.theanets.layers.base import Layer
from graphc.theanets.trainer import ALGORITHMS, Trainer, progress_enabled

QUIET = dict(progress=False)


@pytest.fixture(autouse=True)
def _no_progress_env(monkeypatch):
    monkeypatch.delenv("GRAPHC_PROGRESS", raising=False)


@pytest.fixture(scope="module")
def linear_data():
    rng = np.random.RandomState(0)
    x = rng.randn(128, 3).astype("f")
    y = (x @ rng.randn(3, 2)).astype("f")
    return x, y


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.RandomState(1)
    labels = rng.randint(0, 2, size=200)
    centers = np.array([[-2.0, -1.0], [2.0, 1.0]])
    x = (centers[labels] + 0.7 * rng.randn(200, 2)).astype("f")
    return x, labels.astype("int64")


def mse(net, x, y):
    return float(np.mean((net.predict(x) - y) ** 2))


# -- algorithms ---------------------------------------------------------------------------------
HYPER = {
    "sgd": dict(learning_rate=0.05),
    "nag": dict(learning_rate=0.05, momentum=0.9),
    "rmsprop": dict(learning_rate=0.01),
    "adam": dict(learning_rate=0.01),
    "adadelta": dict(epsilon=1e-4),
    "adagrad": dict(learning_rate=0.1),
    "rprop": dict(learning_rate=0.01, rprop_increase=1.2, rprop_decrease=0.5),
    "esgd": dict(learning_rate=0.05),
}


@pytest.mark.parametrize("algo", ALGORITHMS)
def test_each_algorithm_reduces_the_loss(algo, linear_data):
    x, y = linear_data
    net = theanets.Regressor([3, 5, 2])
    before = mse(net, x, y)
    train, valid = net.train([x, y], algo=algo, max_updates=10, validate_every=1, **HYPER[algo], **QUIET)
    after = mse(net, x, y)
    assert after < 0.5 * before
    # the restored (best) parameters are at least as good as the last validated ones
    assert after <= valid["loss"] * (1 + 1e-5)
    assert set(train) == {"loss", "err"}


def test_momentum_gradient_clipping_and_gradient_monitors(linear_data):
    x, y = linear_data
    net = theanets.Regressor([3, 5, 2])
    before = mse(net, x, y)
    trainer = Trainer(
        net,
        "sgd",
        learning_rate=0.05,
        momentum=0.5,
        max_gradient_norm=1.0,
        monitor_gradients=True,
        max_updates=3,
        **QUIET,
    )
    assert trainer.monitor_names == ["loss", "err", "grad(hid1.w)", "grad(hid1.b)", "grad(out.w)", "grad(out.b)"]
    train, _ = trainer.train([x, y])
    assert all(train[k] > 0 for k in trainer.monitor_names)
    assert mse(net, x, y) < before
    net = theanets.Regressor([3, 5, 2])
    net.train([x, y], algo="rmsprop", learning_rate=0.01, max_gradient_elem=0.1, max_updates=3, **QUIET)
    assert mse(net, x, y) < before


def test_unknown_algorithm_lists_the_known_ones():
    net = theanets.Regressor([3, 2])
    with pytest.raises(ValueError, match="known algorithms: sgd, nag, rmsprop, adam, adadelta, adagrad"):
        net.train([np.zeros((4, 3)), np.zeros((4, 2))], algo="bfgs")
    with pytest.raises(ValueError, match="pretrainers sample, layerwise"):
        Trainer(net, "bfgs")
    with pytest.raises(TypeError, match="learning_rte"):
        make_trainer(net, "layerwise", learning_rte=0.1)
    with pytest.raises(ValueError, match="hv_method must be"):
        Trainer(net, "esgd", hv_method="fd")
    with pytest.raises(TypeError, match="learning_rte"):
        Trainer(net, "sgd", learning_rte=0.1)


def test_theanets_spellings_are_accepted(linear_data):
    x, y = linear_data
    net = theanets.Regressor([3, 5, 2])
    with pytest.warns(DeprecationWarning, match="algo"):
        train, _ = net.train([x, y], algorithm=["sgd"], learning_rate=0.01, max_updates=1, **QUIET)
    assert set(train) == {"loss", "err"}
    # unset regularizers are ignored, as theanets does; downhill's hyper-parameter names work
    net.train([x, y], algo="adam", weight_l2=0, hidden_dropout=0.0, beta1_halflife=7, rms_regularizer=1e-8,
              max_updates=1, **QUIET)  # fmt: skip
    # rms_halflife h means rho = exp(-ln 2 / h)
    nets = [theanets.Regressor([3, 5, 2]) for _ in range(2)]
    nets[0].train([x, y], algo="rmsprop", learning_rate=0.01, rms_halflife=1, max_updates=2, **QUIET)
    nets[1].train([x, y], algo="rmsprop", learning_rate=0.01, rho=0.5, max_updates=2, **QUIET)
    for a, b in zip(nets[0].params, nets[1].params):
        np.testing.assert_allclose(a.get_value(), b.get_value(), rtol=1e-6)


# -- classifier and autoencoder -----------------------------------------------------------------
def test_classifier_separable_problem(blobs):
    x, labels = blobs
    net = theanets.Classifier([2, 8, 2])
    train, valid = net.train([x, labels], algo="adam", learning_rate=0.05, max_updates=10, validate_every=2, **QUIET)
    assert set(train) == set(valid) == {"loss", "err", "acc"}
    assert valid["acc"] > 0.9 and net.score(x, labels) > 0.9
    assert valid["acc"] == pytest.approx(net.score(x, labels), abs=1e-6)


@pytest.fixture
def nobias():
    """The seed's custom layer, registered for the test only (the seed test module has its own)."""
    previous = Layer._registry.get("nobias")

    class NoBias(theanets.Layer):
        def transform(self, inputs):
            return TT.dot(inputs, self.find("w"))

        def setup(self):
            self.add_weights("w", nin=self.input_size, nout=self.output_size)

    yield NoBias
    if previous is None:
        Layer._registry.pop("nobias", None)
    else:
        Layer._registry["nobias"] = previous


def test_seed_autoencoder_learns_the_principal_subspace(nobias):
    rng = np.random.RandomState(2)
    x = rng.randn(512, 3) @ rng.randn(3, 4) + 0.05 * rng.randn(512, 4)
    x = (x - x.mean(axis=0)).astype("f")
    eig = np.linalg.eigvalsh(np.cov(x.T, bias=True))
    pca_mse, total = eig[0] / 4, eig.sum() / 4  # best rank-3 reconstruction error; error of predicting 0
    net = theanets.Autoencoder(layers=(4, (3, "nobias", "linear"), (4, "tied", "linear")))
    assert isinstance(net.layers[1], nobias)
    before = mse(net, x, x)
    train, valid = net.train(x, algo="adam", learning_rate=0.02, max_updates=40, validate_every=5, **QUIET)
    assert set(train) == {"loss", "err"}
    assert valid["loss"] < 1.5 * pca_mse < 0.01 * total < before
    # the best parameters are restored; the monitors are those of the last iteration
    assert mse(net, x, x) <= valid["loss"] * (1 + 1e-5)


# -- stopping, best parameters, saving ---------------------------------------------------------
def test_patience_stops_after_patience_failed_validations(linear_data):
    x, y = linear_data
    net = theanets.Regressor([3, 5, 2])
    # a zero learning rate never improves: validation 1 is the best, then `patience` failures
    # are tolerated and the next one stops training
    trainer = Trainer(net, "sgd", learning_rate=0.0, validate_every=1, patience=2, **QUIET)
    yielded = list(trainer.itertrain([x, y]))
    assert trainer.validations == 4 and trainer.iterations == 3 and len(yielded) == 3
    assert trainer.best_iteration == 0

    trainer = Trainer(net, "sgd", learning_rate=0.0, validate_every=3, patience=1, **QUIET)
    yielded = list(trainer.itertrain([x, y]))
    assert trainer.validations == 3 and trainer.iterations == 6 and len(yielded) == 6


def test_min_improvement_counts_small_gains_as_failures(linear_data):
    x, y = linear_data
    kw = dict(algo="sgd", learning_rate=0.001, validate_every=1, patience=1, max_updates=30, **QUIET)
    net = theanets.Regressor([3, 5, 2])
    assert len(list(net.itertrain([x, y], **kw))) == 30  # slow but steady progress
    net = theanets.Regressor([3, 5, 2])
    assert len(list(net.itertrain([x, y], min_improvement=0.5, **kw))) == 2  # no halving of the loss


def test_max_updates_caps_iterations_and_train_batches(linear_data):
    x, y = linear_data
    net = theanets.Regressor([3, 5, 2])
    trainer = Trainer(net, "rmsprop", learning_rate=0.01, max_updates=3, batch_size=32, **QUIET)
    assert len(list(trainer.itertrain([x, y]))) == 3
    assert trainer.iterations == 3 and trainer.updates == 3 * (128 // 32)
    assert trainer.validations == 2  # before training and after the last iteration

    trainer = Trainer(net, "rmsprop", max_updates=5, max_epochs=2, train_batches=3, batch_size=50, **QUIET)
    list(trainer.itertrain([x, y]))
    assert trainer.iterations == 2 and trainer.updates == 6

    trainer = Trainer(net, "sgd", max_updates=0, **QUIET)
    assert trainer.train([x, y]) == ({}, trainer.last_validation) and trainer.updates == 0


def test_best_parameters_are_restored(linear_data):
    x, y = linear_data
    net = theanets.Regressor([3, 5, 2])
    trainer = Trainer(net, "sgd", learning_rate=0.5, validate_every=1, max_updates=5, patience=10, **QUIET)
    losses = [valid["loss"] for _, valid in trainer.itertrain([x, y])]
    assert trainer.best_loss == min(losses) < losses[-1]  # the last parameters are not the best
    assert trainer.best_iteration == 1 + losses.index(min(losses))
    assert mse(net, x, y) == pytest.approx(trainer.best_loss, rel=1e-5)


def test_interrupting_the_generator_keeps_the_current_parameters(linear_data):
    x, y = linear_data
    net = theanets.Regressor([3, 5, 2])
    gen = net.itertrain([x, y], algo="sgd", learning_rate=0.5, validate_every=1, **QUIET)
    for _ in range(3):
        _, valid = next(gen)
    gen.close()
    assert mse(net, x, y) == pytest.approx(valid["loss"], rel=1e-5)


def test_save_every_writes_a_loadable_model(tmp_path, linear_data):
    x, y = linear_data
    path = tmp_path / "progress.npz"
    net = theanets.Regressor([3, 5, 2])
    seen = {}
    for i, _ in enumerate(
        net.itertrain(
            [x, y], algo="adam", learning_rate=0.01, max_updates=4, save_every=2, save_progress=str(path), **QUIET
        ),
        start=1,
    ):
        # upstream's timing: saved after the yield of iteration 3 (the i=2 one, counting from 0)
        assert path.exists() == (i >= 4)
        seen[i] = {p.name: p.get_value() for p in net.params}
        if i == 4:
            loaded = theanets.Regressor.load(path)
            for p in loaded.params:
                np.testing.assert_array_equal(p.get_value(), seen[3][p.name])
    loaded = theanets.Network.load(path)
    assert isinstance(loaded, theanets.Regressor)
    for p in loaded.params:
        np.testing.assert_array_equal(p.get_value(), seen[4][p.name])


def test_save_every_minutes_and_timestamped_names(tmp_path, linear_data):
    x, y = linear_data
    net = theanets.Regressor([3, 5, 2])
    net.train([x, y], max_updates=2, save_every=1e-9, save_progress=str(tmp_path / "net-{}.npz"), **QUIET)
    files = sorted(os.listdir(tmp_path))
    assert files and all(f.startswith("net-") and f[4:-4].isdigit() for f in files)
    assert theanets.Regressor.load(tmp_path / files[-1]).predict(x).shape == y.shape


# -- data ---------------------------------------------------------------------------------------
def test_itertrain_yields_monitor_dicts_and_validation_data(linear_data, blobs):
    x, y = linear_data
    net = theanets.Regressor([3, 5, 2])
    pairs = list(
        net.itertrain(
            [x[:96], y[:96]], [x[96:], y[96:]], algo="sgd", learning_rate=0.05, max_updates=4, validate_every=2, **QUIET
        )
    )
    assert len(pairs) == 4
    for train, valid in pairs:
        assert list(train) == list(valid) == ["loss", "err"]
        assert all(isinstance(v, float) for v in (*train.values(), *valid.values()))
    # validated before training and after iterations 2 and 4: the latest validation is yielded
    assert pairs[0][1] != pairs[1][1] == pairs[2][1] != pairs[3][1]
    assert pairs[3][1]["loss"] == pytest.approx(mse(net, x[96:], y[96:]), rel=1e-5)
    assert net.train([x, y], max_updates=1, **QUIET)[0]["loss"] > 0


def test_callable_dataset(linear_data):
    x, y = linear_data
    state = {"calls": 0}

    def batches():
        state["calls"] += 1
        i = np.random.RandomState(state["calls"]).randint(0, 128, size=16)
        return x[i], y[i]

    net = theanets.Regressor([3, 5, 2])
    before = mse(net, x, y)
    trainer = Trainer(net, "adam", learning_rate=0.01, max_updates=3, train_batches=10, valid_batches=4, **QUIET)
    trainer.train(batches, [x, y])
    assert state["calls"] == 30 and trainer.updates == 30
    assert mse(net, x, y) < before


def test_data_errors(linear_data, blobs):
    x, y = linear_data
    net = theanets.Regressor([3, 5, 2])
    with pytest.raises(ValueError, match=r"same number of examples.*in: 128, target: 100"):
        net.train([x, y[:100]], **QUIET)
    with pytest.raises(ValueError, match=r"expected 2 array\(s\), for \['in', 'target'\], got 1"):
        net.train([x], **QUIET)
    with pytest.raises(ValueError, match="valid data: 'target' has 1 dimension"):
        net.train([x, y], [x, y[:, 0]], **QUIET)
    with pytest.raises(ValueError, match="axis 1 must be 3"):
        net.train([x[:, :2], y], **QUIET)
    xc, labels = blobs
    clf = theanets.Classifier([2, 4, 2])
    with pytest.raises(TypeError, match=r"integer class labels \(int64\), got float32.*astype\('int64'\)"):
        clf.train([xc, labels.astype("f")], **QUIET)
    with pytest.raises(ValueError, match=r"labels from 0 to 2; the network has 2 classes"):
        clf.train([xc, np.where(labels == 1, 2, 0)], **QUIET)
    with pytest.raises(ValueError, match="batch_size must be an integer"):
        clf.train([xc, labels], batch_size=2.5, **QUIET)
    with pytest.raises(ValueError, match="patience must be an integer >= 0"):
        clf.train([xc, labels], patience=-1, **QUIET)


# -- progress bar -------------------------------------------------------------------------------
def test_progress_false_prints_nothing(capsys, linear_data):
    x, y = linear_data
    theanets.Regressor([3, 2]).train([x, y], max_updates=2, progress=False)
    assert capsys.readouterr() == ("", "")


def test_progress_bar_when_forced_and_the_environment_switch(capsys, monkeypatch, linear_data):
    x, y = linear_data
    net = theanets.Regressor([3, 2])
    net.train([x, y], max_updates=2)  # not a terminal: off by default
    assert capsys.readouterr() == ("", "")
    net.train([x, y], max_updates=2, progress=True)
    captured = capsys.readouterr()
    assert captured.out == "" and "2/2" in captured.err and "loss=" in captured.err
    monkeypatch.setenv("GRAPHC_PROGRESS", "0")
    net.train([x, y], max_updates=2, progress=True)
    assert capsys.readouterr() == ("", "")
    monkeypatch.setenv("GRAPHC_PROGRESS", "1")
    net.train([x, y], max_updates=2)
    assert "2/2" in capsys.readouterr().err


class _Stream:
    def __init__(self, tty):
        self.tty = tty

    def isatty(self):
        return self.tty


def test_progress_enabled_rules(monkeypatch):
    assert progress_enabled(None, _Stream(True)) and not progress_enabled(None, _Stream(False))
    assert not progress_enabled(False, _Stream(True)) and progress_enabled(True, _Stream(False))
    monkeypatch.setenv("GRAPHC_PROGRESS", "off")
    assert not progress_enabled(True, _Stream(True))
    monkeypatch.setenv("GRAPHC_PROGRESS", "1")
    assert progress_enabled(None, _Stream(False)) and not progress_enabled(False, _Stream(True))


# -- theanets' pretrainers ----------------------------------------------------------------------
from graphc.theanets._pretrain import SampleTrainer, SupervisedPretrainer, UnsupervisedPretrainer  # noqa: E402

PRE = dict(learning_rate=0.05, max_updates=3, validate_every=1, batch_size=16, **QUIET)


def test_pretrainer_names_dispatch():
    net = theanets.Regressor([3, 4, 2])
    assert isinstance(make_trainer(net, "layerwise"), SupervisedPretrainer)
    assert isinstance(make_trainer(net, "supervised"), SupervisedPretrainer)
    assert isinstance(make_trainer(net, "pretrain"), UnsupervisedPretrainer)
    assert isinstance(make_trainer(net, "unsupervised"), UnsupervisedPretrainer)
    assert isinstance(make_trainer(net, "sample"), SampleTrainer)
    assert make_trainer(net, "layerwise", subalgo="adam").subalgo == "adam"
    assert type(make_trainer(net, "sgd", subalgo="adam")) is Trainer  # subalgo is ignored there
    with pytest.raises(ValueError, match="through Network.train"):
        Trainer(net, "layerwise")


def test_layerwise_trains_growing_prefixes_and_restores_the_network(linear_data):
    x, y = linear_data
    net = theanets.Regressor([3, 6, 5, 2])
    layers, out_name = list(net.layers), net.losses[0].output_name
    stages, losses_ = [], []
    for train, _ in net.itertrain([x, y], algo="layerwise", **PRE):
        stages.append(tuple(lyr.name for lyr in net.layers))
        losses_.append(train["loss"])
    assert stages == [("in", "hid1", "lwout")] * 3 + [("in", "hid1", "hid2", "out")] * 3
    assert net.layers == layers and net.losses[0].output_name == out_name
    assert losses_[2] < losses_[0] and losses_[5] < losses_[3]
    assert net.predict(x).shape == y.shape


def test_layerwise_tied_autoencoder_stages(linear_data):
    x, _ = linear_data
    net = theanets.Autoencoder([3, 5, 4, (5, "tied"), (3, "tied")])
    stages, losses_ = [], []
    gen = net.itertrain([x], algo="layerwise", **PRE)
    for train, _ in gen:
        stages.append(tuple(lyr.name for lyr in net.layers))
        losses_.append(train["loss"])
    assert stages[0] == ("in", "hid1", "lwtied0") and stages[-1] == ("in", "hid1", "hid2", "hid3", "out")
    assert len(stages) == 6 and losses_[2] < losses_[0]


def test_layerwise_stage_without_hidden_layers_trains_the_network(linear_data):
    x, y = linear_data
    net = theanets.Regressor([3, 2])
    pairs = list(net.itertrain([x, y], algo="layerwise", **PRE))
    assert len(pairs) == 3 and pairs[-1][0]["loss"] < pairs[0][0]["loss"]


def test_unsupervised_pretrain_copies_hidden_weights(blobs):
    x, labels = blobs
    net = theanets.Classifier([2, 5, 4, 2])
    before = {p.name: p.get_value() for p in net.params}
    pairs = list(net.itertrain([x, labels], algo="pretrain", **PRE))  # labels are dropped
    assert len(pairs) == 6 and pairs[2][0]["loss"] < pairs[0][0]["loss"]
    after = {p.name: p.get_value() for p in net.params}
    for name in ("hid1.w", "hid1.b", "hid2.w", "hid2.b"):
        assert not np.array_equal(before[name], after[name]), name
    for name in ("out.w", "out.b"):
        np.testing.assert_array_equal(before[name], after[name])
    net.train([x, labels], algo="sgd", learning_rate=0.05, max_updates=2, **QUIET)  # still trains


def test_sample_sets_weights_to_normalized_data_samples():
    rng = np.random.RandomState(3)
    x = rng.randn(50, 4).astype("f")
    y = rng.randn(50, 3).astype("f")
    net = theanets.Regressor([4, 6, 5, 3])
    pairs = list(net.itertrain([x, y], algo="sample", rng=1))
    assert pairs == [({"loss": 0.0}, {"loss": 0.0})]
    w1 = net.find("hid1", "w").get_value()  # (4, 6): columns are unit-norm input examples
    np.testing.assert_allclose(np.linalg.norm(w1, axis=0), 1, rtol=1e-5)
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    assert all(np.isclose(xn, col, atol=1e-6).all(axis=1).any() for col in w1.T)
    h1 = net.feed_forward(x)["hid1:out"]
    w2 = net.find("hid2", "w").get_value()  # (6, 5): columns are unit-norm hid1 outputs
    hn = h1 / np.maximum(np.linalg.norm(h1, axis=1, keepdims=True), 1e-30)
    assert all(np.isclose(hn, col, atol=1e-5).all(axis=1).any() for col in w2.T)
    wo = net.find("out", "w").get_value()  # (5, 3): rows are unit-norm targets
    yn = y / np.linalg.norm(y, axis=1, keepdims=True)
    assert all(np.isclose(yn, row, atol=1e-6).all(axis=1).any() for row in wo)


def test_sample_pads_with_noisy_copies_and_skips_class_labels(blobs):
    x, labels = blobs
    net = theanets.Classifier([2, 300, 2])
    out_before = net.find("out", "w").get_value()
    net.train([x[:10], labels[:10]], algo="sample")
    w = net.find("hid1", "w").get_value()
    assert w.shape == (2, 300) and np.isfinite(w).all()
    np.testing.assert_allclose(np.linalg.norm(w, axis=0), 1, rtol=1e-5)
    np.testing.assert_array_equal(net.find("out", "w").get_value(), out_before)


def test_save_every_follows_upstream_timing(tmp_path, linear_data):
    x, _ = linear_data
    net = theanets.Autoencoder([3, 2, 3])
    path = tmp_path / "model.npz"
    train = net.itertrain([x], save_every=2, save_progress=str(path), **QUIET)
    seen = []
    for _ in zip(train, range(9)):
        seen.append(path.exists())
        if path.exists():
            path.unlink()
    assert [i for i, s in enumerate(seen) if s] == [3, 5, 7]


def test_batches_are_runs_of_consecutive_examples_in_a_new_order_each_pass():
    # downhill's Dataset: a batch is always the same slice; only the order of the batches is shuffled
    from graphc.theanets._training_data import Batches

    x = np.arange(11, dtype="f")[:, None] * np.ones((1, 2), "f")
    var = TT.matrix("x")
    batches = Batches([x], [var], "train", batch_size=3, rng=np.random.RandomState(4))
    slices = {(0.0, 1.0, 2.0), (3.0, 4.0, 5.0), (6.0, 7.0, 8.0), (9.0, 10.0)}
    orders = []
    for _ in range(6):
        got = [tuple(b[0][:, 0]) for b in batches.iteration()]
        assert set(got) == slices and got[-1] == (9.0, 10.0)  # the short batch stays last
        orders.append(tuple(got))
    assert len(set(orders)) > 1  # the order changes from pass to pass
    plain = Batches([x], [var], "valid", batch_size=3)
    assert [tuple(b[0][:, 0]) for b in plain.iteration(shuffle=False)] == sorted(slices)
