"""theanets regularizers (graphc.regularizers): loss terms against numpy, graph noise, training."""

from __future__ import annotations

import numpy as np
import pytest

import graphc
from graphc import theanets
from graphc.theanets import regularizers as R

NI, NH1, NH2, NO, B = 5, 7, 4, 3, 9


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(B, NI)).astype("f")
    y = rng.normal(size=(B, NO)).astype("f")
    return x, y


def _value(net, expr, *arrays):
    return float(graphc.function(net.variables, expr, on_unused_input="ignore")(*arrays))


def _params(net):
    return {p.name: p.get_value().astype(np.float64) for p in net.params}


def _mse(net, x, y):
    return float(np.mean((net.predict(x).astype(np.float64) - y) ** 2))


def test_weight_l2_and_l1_match_numpy(data):
    x, y = data
    net = theanets.Regressor([NI, (NH1, "tanh"), (NH2, "relu"), NO])
    ps = _params(net)
    weights = [v for v in ps.values() if v.ndim > 1]
    assert len(weights) == 3
    l2 = np.mean([np.mean(w * w) for w in weights])
    l1 = np.mean([np.mean(np.abs(w)) for w in weights])
    base = _mse(net, x, y)
    assert _value(net, net.loss(weight_l2=0.3), x, y) == pytest.approx(base + 0.3 * l2, rel=1e-5)
    assert _value(net, net.loss(weight_decay=0.3, weight_l1=0.2), x, y) == pytest.approx(base + 0.3 * l2 + 0.2 * l1, rel=1e-5)
    # a pattern restricts the penalty; a dict passes constructor arguments
    only = np.mean(ps["hid1.w"] ** 2)
    assert _value(net, net.loss(weight_l2={"weight": 0.5, "pattern": "hid1.*"}), x, y) == pytest.approx(
        base + 0.5 * only, rel=1e-5
    )
    # the err monitor stays the unregularized loss
    (_, err), = net.monitors(weight_l2=0.3)
    assert _value(net, err, x, y) == pytest.approx(base, rel=1e-5)


def test_hidden_l1_covers_every_hidden_layer(data):
    x, y = data
    net = theanets.Regressor([NI, (NH1, "tanh"), (NH2, "tanh"), NO])
    out = net.feed_forward(x)
    hidden = np.mean([np.abs(out["hid1:out"]).mean(), np.abs(out["hid2:out"]).mean()])
    assert _value(net, net.loss(hidden_l1=0.7), x, y) == pytest.approx(_mse(net, x, y) + 0.7 * hidden, rel=1e-5)
    one = np.abs(out["hid2:out"]).mean()
    assert _value(net, net.loss(hidden_sparsity={"weight": 0.7, "pattern": "hid2:out"}), x, y) == pytest.approx(
        _mse(net, x, y) + 0.7 * one, rel=1e-5
    )


def test_contractive_penalty_matches_the_analytic_jacobian(data):
    x, y = data
    x64 = x.astype(np.float64)
    net = theanets.Regressor([NI, (NH1, "tanh"), NO])
    p = _params(net)
    h = np.tanh(x64 @ p["hid1.w"] + p["hid1.b"])
    # d mean(h) / dx = ((1 - h^2) / h.size) @ W^T
    jac = ((1 - h * h) / h.size) @ p["hid1.w"].T
    expected = _mse(net, x, y) + 0.4 * np.mean(jac * jac)
    assert _value(net, net.loss(contractive=0.4), x, y) == pytest.approx(expected, rel=1e-4)


def test_recurrent_l2_on_a_sequence_network():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 6, 2)).astype("f")
    y = rng.normal(size=(3, 6, 4)).astype("f")
    net = theanets.Regressor([2, (5, "rnn", "tanh"), 4])
    h = net.feed_forward(x)["hid1:out"].astype(np.float64)
    norms = (h * h).sum(-1)
    penalty = np.mean((norms[:, 1:] - norms[:, :-1]) ** 2)
    base = float(np.mean((net.predict(x).astype(np.float64) - y) ** 2))
    assert _value(net, net.loss(recurrent_l2=0.25), x, y) == pytest.approx(base + 0.25 * penalty, rel=1e-4)


def test_dropout_zeroes_outputs_without_rescaling():
    net = theanets.Regressor([NI, (400, "relu"), NO])
    x = np.abs(np.random.default_rng(2).normal(size=(50, NI))).astype("f") + 0.1
    out = net.feed_forward(x, hidden_dropout=0.3)
    kept, raw = out["hid1:out"], out["hid1:out-predrop"]
    alive = raw != 0
    dropped = (kept == 0) & alive
    assert 0.25 < dropped.sum() / alive.sum() < 0.35
    np.testing.assert_array_equal(kept[~dropped], raw[~dropped])  # no 1/(1-p) rescaling, as theanets
    # the rewritten output feeds the next layer
    p = _params(net)
    np.testing.assert_allclose(out["out:out"], kept @ p["out.w"] + p["out.b"], rtol=1e-4, atol=1e-4)
    # without options, nothing is dropped; predict takes the options too (Monte-Carlo dropout)
    assert "hid1:out-predrop" not in net.feed_forward(x)
    assert not np.allclose(net.predict(x, hidden_dropout=0.5), net.predict(x))


def test_input_noise_has_the_requested_deviation():
    net = theanets.Regressor([40, NO])
    x = np.zeros((500, 40), "f")
    out = net.feed_forward(x, input_noise=0.2)
    noise = out["in:out"] - out["in:out-prenoise"]
    assert abs(noise.std() - 0.2) < 0.01 and abs(noise.mean()) < 0.01
    explicit = net.feed_forward(x, noise={"in:out": 0.5})
    assert abs((explicit["in:out"]).std() - 0.5) < 0.02


def test_same_options_share_one_graph_and_seeded_streams_repeat(data):
    x, _ = data
    net = theanets.Regressor([NI, NH1, NO])
    assert net.build_graph(net.regularizers(hidden_dropout=0.5))[0] is net.build_graph(net.regularizers(hidden_dropout=0.5))[0]
    assert net.build_graph(net.regularizers(weight_l2=0.5))[0] is net.build_graph()[0]  # loss terms do not change the graph
    a = theanets.Regressor([NI, NH1, NO], rng=3).predict(x, hidden_dropout=0.5)
    b = theanets.Regressor([NI, NH1, NO], rng=3).predict(x, hidden_dropout=0.5)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "options",
    [dict(weight_l2=1e-3), dict(weight_l1=1e-3), dict(hidden_l1=1e-3), dict(contractive=1e-2),
     dict(hidden_dropout=0.1), dict(input_noise=0.05)],
    ids=lambda o: next(iter(o)),
)  # fmt: skip
def test_training_with_each_regularizer_reduces_the_error(options):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(128, NI)).astype("f")
    y = (x @ rng.normal(size=(NI, NO))).astype("f")
    net = theanets.Regressor([NI, (16, "tanh"), NO])
    before = _mse(net, x, y)
    train, valid = net.train([x, y], algo="adam", learning_rate=0.02, max_updates=20, batch_size=32, progress=False, **options)
    assert set(train) == {"loss", "err"}
    assert _mse(net, x, y) < 0.7 * before


def test_output_monitors_option(data):
    x, y = data
    net = theanets.Regressor([NI, (NH1, "relu"), NO])
    train, valid = net.train(
        [x, y], algo="sgd", max_updates=1, progress=False,
        monitors={"hid1:out": (0.1, ("max", lambda e: e.max()))},
    )  # fmt: skip
    h = net.feed_forward(x)["hid1:out"]
    assert valid["hid1:out<0.1"] == pytest.approx(float((h < 0.1).mean()), abs=1e-6)
    assert valid["hid1:out:max"] >= 0 and set(valid) >= {"loss", "err"}
    # as upstream: a name that matches nothing is dropped (with a logged warning)
    assert [n for n, _ in net.monitors(monitors={"hid9:out": 0.1})] == ["err"]


def test_custom_regularizer_by_subclassing_and_a_list(data):
    x, y = data

    class OutputL2(R.Regularizer):
        def loss(self, layers, outputs):
            return (outputs["out:out"] ** 2).mean()

    net = theanets.Regressor([NI, NH1, NO])
    pred = net.predict(x).astype(np.float64)
    expected = _mse(net, x, y) + 0.5 * np.mean(pred**2)
    assert _value(net, net.loss(outputl2=0.5), x, y) == pytest.approx(expected, rel=1e-5)
    assert _value(net, net.loss(regularizers=[OutputL2(weight=0.5)]), x, y) == pytest.approx(expected, rel=1e-5)


def test_bad_regularizer_options():
    net = theanets.Regressor([NI, NH1, NO])
    with pytest.raises(ValueError, match="weight must be a finite number >= 0, got -1"):
        net.loss(weight_l2=-1)
    with pytest.raises(ValueError, match="finite number >= 0, got nan"):
        net.loss(hidden_l1=float("nan"))
    with pytest.raises(ValueError, match="dropout probability must be < 1"):
        net.predict(np.zeros((1, NI), "f"), hidden_dropout=1.0)
    with pytest.raises(TypeError, match="unknown regularizer option"):
        net.predict(np.zeros((1, NI), "f"), hiden_dropout=0.5)
    with pytest.raises(TypeError, match="dropout: expected a dict"):
        net.loss(dropout=0.5)
    with pytest.raises(TypeError, match="expected Regularizer instances"):
        net.loss(regularizers=["weight_l2"])
    with pytest.raises(ValueError, match="unknown regularizer 'nope'"):
        R.Regularizer.build("nope")
    with pytest.raises(TypeError, match="unknown training option"):
        net.train([np.zeros((2, NI), "f"), np.zeros((2, NO), "f")], weight_l3=1, progress=False)
