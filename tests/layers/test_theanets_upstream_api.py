"""theanets API points that upstream's own tests rely on, checked against numpy.

connect/build_graph return (outputs, updates); the activation is built in the
layer's constructor; util's seeds, matching helpers and ConfigurationError;
upstream's GRU/SCRN parameter names; Regularizer.build with a positional
weight; recurrent_norm/recurrent_state; monitors over output and parameter patterns.
"""

from __future__ import annotations

import numpy as np
import pytest

import graphc
import graphc.tensor as TT
from graphc import theanets
from graphc.theanets import regularizers as R
from graphc.theanets import util
from graphc.theanets.layers import base as layers_base

NI, NH, NO, B, T_ = 5, 7, 3, 4, 6


def _params(net):
    return {p.name: p.get_value().astype(np.float64) for p in net.params}


# -- group 1: connect / build_graph ----------------------------------------------------------------
def test_connect_returns_outputs_and_updates_with_numpy_values():
    net = theanets.Network([NI])
    layer = theanets.layers.Feedforward(size=NH, inputs="in", name="l", activation="tanh", rng=3)
    layer.bind(net)
    x = TT.matrix("x")
    out, upd = layer.connect({"in:out": x})
    assert sorted(out) == ["l:out", "l:pre"] and upd == []
    data = np.random.RandomState(0).randn(B, NI).astype("f")
    got_out, got_pre = graphc.function([x], [out["l:out"], out["l:pre"]])(data)
    w, b = layer.find("w").get_value(), layer.find("b").get_value()
    pre = data.astype(np.float64) @ w + b
    np.testing.assert_allclose(got_pre, pre, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got_out, np.tanh(pre), rtol=1e-5, atol=1e-6)


def test_build_graph_returns_outputs_and_updates():
    net = theanets.Autoencoder([NI, NH, NI])
    outputs, updates = net.build_graph()
    assert sorted(outputs) == ["hid1:out", "hid1:pre", "in:out", "out:out", "out:pre"]
    assert updates == [] and net.updates() == []
    # cached: the same outputs for equal options
    assert net.build_graph()[0] is outputs
    x = np.random.RandomState(1).randn(B, NI).astype("f")
    ff = net.feed_forward(x)
    got = graphc.function(net.inputs, outputs["out:out"])(x)
    np.testing.assert_allclose(got, ff["out:out"], rtol=1e-6)


def test_bidirectional_connect_passes_the_workers_updates():
    layer = theanets.Layer.build("bidirectional", size=6, name="l", inputs="in")
    layer.bind(theanets.Network([dict(size=NI, ndim=3)]))
    out, upd = layer.connect({"in:out": TT.tensor3("x")})
    assert upd == [] and {"l:out", "l:fw_out", "l:bw_out"} <= set(out)


# -- group 6: activations ---------------------------------------------------------------------------
def test_activation_is_built_in_the_constructor():
    a = theanets.layers.Feedforward(inputs="x", size=3, activation="relu").activate
    assert callable(a) and a.name == "relu" and a.params == []
    a = theanets.layers.Feedforward(inputs="x", size=3, activation="relu+norm:z").activate
    assert a.name == "norm:z(relu)" and a.params == []
    for act, names in [("prelu", ["l.leak"]), ("lgrelu", ["l.gain", "l.leak"]), ("maxout:4", ["l.intercept", "l.slope"])]:
        layer = theanets.layers.Feedforward(inputs="x", size=3, activation=act, name="l")
        assert sorted(p.name for p in layer.activate.params) == names


def test_activation_parameters_are_drawn_before_the_weights_and_kept_by_bind():
    layer = theanets.layers.Feedforward(inputs="in", size=NH, activation="prelu", name="l", rng=5)
    act = layer.activate
    layer.bind(theanets.Network([NI]))
    assert layer.activate is act  # the first bind keeps the constructor's activation
    rs = np.random.RandomState(5)
    np.testing.assert_allclose(layer.find("leak").get_value(), 0.1 * np.abs(rs.randn(NH)), rtol=1e-6)
    glorot = 1 / np.sqrt(NI + NH)
    np.testing.assert_allclose(layer.find("w").get_value(), glorot * rs.randn(NI, NH), rtol=1e-5)
    assert [p.name for p in layer.params] == ["l.w", "l.b", "l.leak"]


def test_lgrelu_values_and_initial_gain_as_upstream():
    layer = theanets.layers.Feedforward(inputs="x", size=NH, rng=13)
    f = theanets.activations.build("lgrelu", layer)
    rs = np.random.RandomState(13)
    gain, leak = 0.1 * np.abs(rs.randn(NH)), 0.1 * np.abs(rs.randn(NH))
    np.testing.assert_allclose(f.gain.get_value(), gain, rtol=1e-6)
    np.testing.assert_allclose(f.leak.get_value(), leak, rtol=1e-6)
    probe = np.array([[-10, -1, -0.1, 0, 0.1, 1, 10], [3, -2, 0.5, -0.5, 7, -7, 0.25]], "f")
    x = TT.matrix("x")
    got = graphc.function([x], f(x))(probe)
    np.testing.assert_allclose(got, np.where(probe > 0, gain * probe, leak * probe), rtol=1e-5, atol=1e-7)
    # upstream's own probe value: 0.1 -> 0.013451 for seed 13
    assert got[0, 4] == pytest.approx(0.013451, abs=1e-6)


# -- groups 7 and 10: util --------------------------------------------------------------------------
def test_random_matrix_and_vector_take_an_int_seed():
    a = util.random_matrix(6, 4, mean=1, std=2, rng=7)
    np.testing.assert_allclose(a, 1 + 2 * np.random.RandomState(7).randn(6, 4), rtol=1e-6)
    np.testing.assert_array_equal(a, util.random_matrix(6, 4, mean=1, std=2, rng=np.random.RandomState(7)))
    v = util.random_vector(9, mean=-1, std=0.5, rng=np.int64(4))
    np.testing.assert_allclose(v, -1 + 0.5 * np.random.RandomState(4).randn(9), rtol=1e-6)
    d = util.random_matrix(5, 3, diagonal=0.9, rng=4)
    assert d.sum() == pytest.approx(2.7) and d.shape == (5, 3)
    with pytest.raises(TypeError, match="rng"):
        util.random_vector(3, rng="seed")


def test_matching_helpers_live_in_util():
    assert R.params_matching is util.params_matching and R.outputs_matching is util.outputs_matching
    net = theanets.Autoencoder([NI, NH, 4, NI])
    assert [n for n, _ in sorted(util.params_matching(net.layers, "*.w"))] == ["hid1.w", "hid2.w", "out.w"]
    assert [n for n, _ in sorted(util.params_matching(net.layers, ("o*.?", "hid2.b")))] == ["hid2.b", "out.b", "out.w"]
    outputs, _ = net.build_graph()
    assert [n for n, _ in sorted(util.outputs_matching(outputs, "*:pre"))] == ["hid1:pre", "hid2:pre", "out:pre"]


def test_one_configuration_error_class():
    assert util.ConfigurationError is layers_base.ConfigurationError is theanets.ConfigurationError
    with pytest.raises(util.ConfigurationError):
        theanets.Regressor([NI, dict(size=NH, inputs="nope"), NO])


# -- group 14: GRU / SCRN parameter names --------------------------------------------------------------
@pytest.mark.parametrize("form, names", [
    ("gru", "xh xr xz hh hr hz bh br bz"),
    ("scrn", "xs xh sh hh ho so b r"),
])  # fmt: skip
def test_recurrent_parameter_names_as_upstream(form, names):
    layer = theanets.Layer.build(form, size=NH, name="l", inputs="in")
    layer.bind(theanets.Network([dict(size=NI, ndim=3)]))
    assert [p.name for p in layer.params] == [f"l.{n}" for n in names.split()]


def test_clockwork_spec_periods_is_a_tuple():
    layer = theanets.Layer.build("clockwork", size=6, name="l", inputs="in", periods=[4, 1, 2])
    layer.bind(theanets.Network([dict(size=NI, ndim=3)]))
    assert layer.to_spec()["periods"] == (1, 2, 4)


# -- groups 13 and 15: regularizers ---------------------------------------------------------------------
def test_regularizer_build_takes_a_positional_weight():
    reg = R.Regularizer.build("weight_l2", 0.01)
    assert isinstance(reg, R.WeightL2) and reg.weight == 0.01 and reg.pattern is None
    reg = R.Regularizer.build("weight_l1", "hid1.w", 0.5)
    assert reg.pattern == "hid1.w" and reg.weight == 0.5
    net = theanets.Regressor([NI, NH, NO])
    assert R.from_kwargs(net, regularizers=[reg]) == [reg]


def _seq_data():
    rng = np.random.RandomState(2)
    return rng.randn(B, T_, NI).astype("f"), rng.randn(B, T_, NO).astype("f")


def test_recurrent_norm_and_state_match_numpy():
    x, y = _seq_data()
    net = theanets.recurrent.Regressor([NI, (NH, "rnn"), NO])
    h = net.feed_forward(x)["hid1:out"].astype(np.float64)
    base = float(np.mean((net.predict(x).astype(np.float64) - y) ** 2))
    norms = (h * h).sum(axis=-1)
    norm_term = np.mean((norms[:, 1:] - norms[:, :-1]) ** 2)
    state_term = np.mean((h[:, 1:] - h[:, :-1]) ** 2)
    fn = lambda expr: float(graphc.function(net.variables, expr, on_unused_input="ignore")(x, y))  # noqa: E731
    got = fn(net.loss(recurrent_norm=dict(pattern="hid1:out", weight=0.1)))
    assert got == pytest.approx(base + 0.1 * norm_term, rel=1e-4)
    got = fn(net.loss(recurrent_state=dict(pattern="hid1:out", weight=0.3)))
    assert got == pytest.approx(base + 0.3 * state_term, rel=1e-4)
    for key in ("recurrent_norm", "recurrent_state"):
        with pytest.raises(util.ConfigurationError, match="pattern"):
            net.loss(**{key: 0.1})


# -- group 11: monitors ------------------------------------------------------------------------------
def test_monitors_match_output_and_parameter_patterns():
    net = theanets.Regressor([NI, NH, 4, NO])
    names = lambda mon: [n for n, _ in net.monitors(monitors=mon)]  # noqa: E731
    assert names({"hid1.w": 1}) == ["err", "hid1.w<1"]
    assert names({"*.w": 1}) == ["err", "hid1.w<1", "hid2.w<1", "out.w<1"]
    assert names({"hid?.w": 1}) == ["err", "hid1.w<1", "hid2.w<1"]
    assert names({"hid?:out": [2, 1]}) == ["err", "hid1:out<2", "hid1:out<1", "hid2:out<2", "hid2:out<1"]
    assert names({"hid10:out": 1}) == ["err"]
    (_, _), (name, expr) = net.monitors(monitors={"hid2.w": 0.1})
    w = net.find("hid2", "w").get_value()
    assert float(graphc.function([], expr)()) == pytest.approx(float((w < 0.1).mean()))
