"""theanets models: layer specs, forward values, losses, save/load and ONNX export."""

from __future__ import annotations

import os

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx.reference import ReferenceEvaluator

import graphc
from graphc import theanets
from graphc.theanets.layers import ConfigurationError, Feedforward, Input, Tied

NI, NH1, NH2, NO = 5, 4, 3, 2


def relu(x):
    return np.maximum(x, 0)


def softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


@pytest.fixture
def x():
    return np.random.default_rng(3).normal(size=(6, NI)).astype("f")


def _value(net, layer, param):
    return net.find(layer, param).get_value()


def _mlp(net, x, out_act=lambda z: z):
    h1 = relu(x @ _value(net, "hid1", "w") + _value(net, "hid1", "b"))
    h2 = relu(h1 @ _value(net, "hid2", "w") + _value(net, "hid2", "b"))
    pre = h2 @ _value(net, "out", "w") + _value(net, "out", "b")
    return h1, h2, pre, out_act(pre)


# -- specs --------------------------------------------------------------------------------------
def test_spec_forms_and_defaults():
    net = theanets.Regressor([NI, (NH1, "tanh"), dict(size=NH2, form="ff", std=0.01), NO])
    assert [lyr.name for lyr in net.layers] == ["in", "hid1", "hid2", "out"]
    assert [type(lyr).__name__ for lyr in net.layers] == ["Input", "Feedforward", "Feedforward", "Feedforward"]
    assert [lyr.activation for lyr in net.layers[1:]] == ["tanh", "relu", "linear"]
    assert net.layers[2].kwargs["std"] == 0.01
    assert net.layers[2].inputs == ("hid1:out",)
    assert [p.name for p in net.params] == ["hid1.w", "hid1.b", "hid2.w", "hid2.b", "out.w", "out.b"]
    assert [p.type.shape for p in net.params] == [(NI, NH1), (NH1,), (NH1, NH2), (NH2,), (NH2, NO), (NO,)]
    assert net.num_params == (NI + 1) * NH1 + (NH1 + 1) * NH2 + (NH2 + 1) * NO
    assert theanets.Classifier([NI, NO]).layers[-1].activation == "softmax"


def test_spec_shapes_classes_instances_and_form_strings(x):
    net = theanets.Regressor([(2, NI), (NH1, Feedforward, "linear"), "flat", NO])
    assert net.layers[0].ndim == 3 and net.layers[0].output_shape == (2, NI)
    assert net.layers[2].size == 2 * NH1
    assert net.predict(np.stack([x, x], 1)).shape == (6, NO)

    custom = Feedforward(size=NH1, name="mine", activation="logistic")
    net = theanets.Regressor([NI, custom, dict(size=NO, inputs=("in", "mine"))])
    assert custom.inputs == ("in:out",) and net.layers[1] is custom
    assert [p.name for p in net.layers[2].params] == ["out.w_in:out", "out.w_mine:out", "out.b"]
    assert net.predict(x).shape == (6, NO)


def test_rng_makes_models_reproducible_and_layers_distinct():
    a, b = theanets.Regressor([NI, NH1, NH1, NO]), theanets.Regressor([NI, NH1, NH1, NO])
    for p, q in zip(a.params, b.params):
        np.testing.assert_array_equal(p.get_value(), q.get_value())
    assert not np.array_equal(_value(a, "hid2", "b"), _value(a, "hid1", "b"))
    c = theanets.Regressor([NI, NH1, NH1, NO], rng=np.random.RandomState(99))
    assert not np.array_equal(_value(c, "hid1", "w"), _value(a, "hid1", "w"))


def test_tied_partner_by_stack_counting(x):
    net = theanets.Autoencoder([NI, NH1, NH2, (NH1, "tied"), (NI, "tied", "linear")])
    assert [lyr.partner.name for lyr in net.layers[3:]] == ["hid2", "hid1"]
    assert [p.name for p in net.params] == ["hid1.w", "hid1.b", "hid2.w", "hid2.b", "hid3.b", "out.b"]
    w1, w2 = _value(net, "hid1", "w"), _value(net, "hid2", "w")
    h1 = relu(x @ w1 + _value(net, "hid1", "b"))
    h2 = relu(h1 @ w2 + _value(net, "hid2", "b"))
    h3 = relu(h2 @ w2.T + _value(net, "hid3", "b"))
    np.testing.assert_allclose(net.predict(x), h3 @ w1.T + _value(net, "out", "b"), rtol=1e-5, atol=1e-5)
    explicit = theanets.Regressor([NI, NH1, dict(form="tied", partner="hid1")])
    assert explicit.layers[2].partner is explicit.layers[1]


@pytest.mark.parametrize(
    "layers, match",
    [
        ([NI, dict(form="nope", size=3), NO], "layer 'hid1': unknown layer form 'nope'"),
        ([NI, (3, "relux"), NO], "layer 'hid1': unknown activation 'relux'"),
        ([NI, NH1, dict(size=NO, inputs="hid2")], "layer 'out' cannot resolve input 'hid2'"),
        ([NI, NH1, dict(size=NO, inputs=("in", "hid1:pre", "nope:out"))], "cannot resolve input 'nope:out'"),
        ([NI, (NH1, "tied")], "layer 'out': cannot find a partner"),
        ([NI, (NH1, "tied"), (NH1, "tied"), (NI, "tied")], "layer 'hid1': cannot find a partner"),
        ([NI, dict(size=3, name="hid"), dict(size=3, name="hid")], "layer 'hid': the network already has"),
        ([NI, dict(form="tied", partner="hid1", size=3)], "cannot find its partner 'hid1'"),
        ([dict(form="ff", size=3)], "first layer of a network must be an input"),
    ],
)
def test_configuration_errors_name_the_layer(layers, match):
    with pytest.raises(ValueError, match=match):
        theanets.Regressor(layers)


def test_output_reference_errors():
    net = theanets.Regressor([NI, NH1, dict(size=NO, inputs="hid1:nope")], loss=None)
    with pytest.raises(ConfigurationError, match="layer 'out': input.*'hid1:nope'"):
        net.build_graph()


# -- forward ------------------------------------------------------------------------------------
def test_feed_forward_and_predict_values(x):
    net = theanets.Regressor([NI, NH1, NH2, NO])
    outs = net.feed_forward(x)
    assert sorted(outs) == ["hid1:out", "hid1:pre", "hid2:out", "hid2:pre", "in:out", "out:out", "out:pre"]
    h1, h2, pre, out = _mlp(net, x)
    for key, want in [("in:out", x), ("hid1:out", h1), ("hid2:out", h2), ("out:pre", pre), ("out:out", out)]:
        np.testing.assert_allclose(outs[key], want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(net.predict(x), out, rtol=1e-5, atol=1e-5)
    y = np.random.default_rng(1).normal(size=(6, NO)).astype("f")
    u, v = y - out, y - y.mean()
    assert net.score(x, y) == pytest.approx(1 - (u * u).sum() / (v * v).sum(), rel=1e-4)
    w = np.linspace(0.5, 2, 12).reshape(6, NO)
    assert net.score(x, y, w) == pytest.approx(1 - (w * u * u).sum() / (w * v * v).sum(), rel=1e-4)


def test_classifier_methods(x):
    net = theanets.Classifier([NI, NH1, NH2, 7])
    h1, h2, pre, proba = _mlp(net, x, softmax)
    np.testing.assert_allclose(net.predict_proba(x), proba, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(net.predict_logit(x), pre, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(net.predict(x), proba.argmax(-1))
    y = np.array([0, 1, 2, 3, 4, 5])
    assert net.score(x, y) == pytest.approx((proba.argmax(-1) == y).mean())
    w = np.array([1, 0, 0, 0, 0, 1.0])
    assert net.score(x, y, w) == pytest.approx(((proba.argmax(-1) == y) * w).sum() / 2)


def test_autoencoder_encode_decode(x):
    net = theanets.Autoencoder([NI, NH1, NH2, NH1, NI])
    outs = net.feed_forward(x)
    np.testing.assert_allclose(net.encode(x), outs["hid2:out"], rtol=1e-6)
    np.testing.assert_allclose(net.encode(x, "hid1"), outs["hid1:out"], rtol=1e-6)
    np.testing.assert_allclose(net.encode(x, "hid1:pre"), outs["hid1:pre"], rtol=1e-6)
    np.testing.assert_allclose(net.decode(net.encode(x)), net.predict(x), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(net.decode(net.encode(x, 1), 1), net.predict(x), rtol=1e-5, atol=1e-6)
    z = np.random.default_rng(0).normal(size=(3, NH2)).astype("f")
    h3 = relu(z @ _value(net, "hid3", "w") + _value(net, "hid3", "b"))
    np.testing.assert_allclose(net.decode(z), h3 @ _value(net, "out", "w") + _value(net, "out", "b"), rtol=1e-5, atol=1e-5)
    u, v = x - net.predict(x), x - x.mean()
    assert net.score(x) == pytest.approx(1 - (u * u).sum() / (v * v).sum(), rel=1e-4)
    skip = theanets.Autoencoder([NI, NH1, NH2, dict(size=NI, inputs=("hid1", "hid2"))])
    with pytest.raises(ConfigurationError, match="cannot decode from 'hid2:out'"):
        skip.decode(z, "hid2")


def test_find_and_params():
    net = theanets.Regressor([NI, NH1, NO])
    assert net.find("hid1", "w").name == "hid1.w" and net.find(2, 0).name == "out.w"
    for which, param in [("hid4", "w"), (0, 0), (1, 3)]:
        with pytest.raises(KeyError):
            net.find(which, param)


# -- losses -------------------------------------------------------------------------------------
def _evaluate(net, expr, *arrays):
    return float(graphc.function(net.variables, expr, on_unused_input="ignore")(*arrays))


def test_regression_losses(x):
    y = np.random.default_rng(2).normal(size=(6, NO)).astype("f")
    w = np.random.default_rng(4).uniform(size=(6, NO)).astype("f")
    for form, err in [("mse", lambda e: e * e), ("mae", np.abs)]:
        net = theanets.Regressor([NI, NH1, NO], loss=form)
        assert net.losses[0].output_name == "out:out"
        e = net.predict(x) - y
        assert _evaluate(net, net.loss(), x, y) == pytest.approx(err(e).mean(), rel=1e-5)
        wnet = theanets.Regressor([NI, NH1, NO], loss=form, weighted=True)
        assert [v.name for v in wnet.variables] == ["in", "target", "weights"]
        assert _evaluate(wnet, wnet.loss(), x, y, w) == pytest.approx((err(e) * w).sum() / w.sum(), rel=1e-5)
    assert [name for name, _ in net.monitors()] == ["err"]
    assert net.updates() == []


def test_classifier_loss_and_accuracy(x):
    net = theanets.Classifier([NI, NH1, 4], weighted=True)
    y = np.array([0, 1, 2, 3, 0, 1])
    w = np.array([1, 2, 0, 1, 1, 0.5], "f")
    p = net.predict_proba(x)
    nlp = -np.log(np.clip(p[np.arange(6), y], 1e-8, 1))
    assert _evaluate(net, net.loss(), x, y, w) == pytest.approx((w * nlp).sum() / w.sum(), rel=1e-5)
    (_, err), (_, acc) = net.monitors()
    assert _evaluate(net, acc, x, y, w) == pytest.approx((w * (p.argmax(-1) == y)).sum() / w.sum(), rel=1e-5)


def test_autoencoder_loss_targets_the_input(x):
    net = theanets.Autoencoder([NI, NH1, NI], loss="mae")
    assert net.variables == net.inputs
    assert _evaluate(net, net.loss(), x) == pytest.approx(np.abs(net.predict(x) - x).mean(), rel=1e-5)
    with pytest.raises(ValueError, match="unknown loss 'nope'"):
        theanets.Regressor([NI, NO], loss="nope")
    with pytest.raises(TypeError, match="unknown regularizer option.*'weight_l3'"):
        net.loss(weight_l3=0.1)


# -- persistence --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "cls, layers",
    [
        (theanets.Regressor, [NI, (NH1, "prelu"), dict(size=NH2, activation="maxout:2", std_w=0.3), NO]),
        (theanets.Classifier, [(3, NI), (NH1, "lgrelu+norm:z"), "flat", 7]),
        (theanets.Autoencoder, [NI, NH1, (NH2, "elu"), (NH1, "tied"), (NI, "tied", "linear")]),
        (theanets.Network, [NI, NH1, dict(size=NO, inputs=("in", "hid1:pre"), form="ff")]),
    ],
)
def test_save_load_round_trip(tmp_path, cls, layers):
    net = cls(layers, weighted=cls is theanets.Classifier)
    data = np.random.default_rng(5).normal(size=(4,) + tuple(net.layers[0].output_shape)).astype("f")
    path = tmp_path / "model.npz"
    net.save(path)
    assert sorted(os.listdir(tmp_path)) == ["model.npz"]  # atomic write leaves no temporaries
    with np.load(path, allow_pickle=False) as raw:
        assert "__graphc_model__" in raw.files and {p.name for p in net.params} <= set(raw.files)
    loaded = theanets.Network.load(path)
    assert type(loaded) is cls
    assert [lyr.name for lyr in loaded.layers] == [lyr.name for lyr in net.layers]
    assert [p.name for p in loaded.params] == [p.name for p in net.params]
    assert [lo.form for lo in loaded.losses] == [lo.form for lo in net.losses]
    np.testing.assert_array_equal(loaded.predict(data), net.predict(data))
    again = cls.load(str(path))
    np.testing.assert_array_equal(again.predict(data), net.predict(data))


def test_load_errors(tmp_path):
    net = theanets.Regressor([NI, NH1, NO])
    path = tmp_path / "m.npz"
    net.save(path)
    with np.load(path, allow_pickle=False) as raw:
        arrays = {k: raw[k] for k in raw.files}
    bad = dict(arrays, **{"hid1.w": np.zeros((NH1, NI), "f")})
    np.savez(tmp_path / "bad.npz", **bad)
    with pytest.raises(ValueError, match=r"layer 'hid1': parameter 'hid1.w' has shape \(4, 5\) in the file, expected \(5, 4\)"):
        theanets.Network.load(tmp_path / "bad.npz")
    missing = {k: v for k, v in arrays.items() if k != "out.b"}
    np.savez(tmp_path / "missing.npz", **missing)
    with pytest.raises(ValueError, match="layer 'out': no values for parameter 'out.b'"):
        theanets.Network.load(tmp_path / "missing.npz")
    np.savez(tmp_path / "plain.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match="not a graphc model file"):
        theanets.Network.load(tmp_path / "plain.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a graphc model file"):
        theanets.Network.load(tmp_path / "junk.npz")
    with pytest.raises(TypeError, match="holds a Regressor, not a Classifier"):
        theanets.Classifier.load(path)


def test_save_rejects_unserializable_options(tmp_path):
    net = theanets.Regressor([NI, dict(size=NH1, note=object()), NO])
    with pytest.raises(TypeError, match="layer 'hid1': option 'note'"):
        net.save(tmp_path / "m.npz")
    assert not (tmp_path / "m.npz").exists()


# -- export -------------------------------------------------------------------------------------
def test_export_onnx_dynamic_batch(tmp_path):
    net = theanets.Classifier([NI, (NH1, "prelu"), Feedforward(size=NH2, name="mid", activation="norm:z"), 7])
    path = tmp_path / "clf.onnx"
    model = net.export(path, outputs=["out:out", "mid", "out:pre"])
    onnx.checker.check_model(onnx.load(path), full_check=True)
    assert [i.name for i in model.graph.input] == ["in"]
    assert [o.name for o in model.graph.output] == ["out:out", "mid:out", "out:pre"]
    assert {init.name for init in model.graph.initializer} >= {p.name for p in net.params}
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    ref = ReferenceEvaluator(model)
    for n in (1, 9):
        data = np.random.default_rng(n).normal(size=(n, NI)).astype("f")
        got = session.run(None, {"in": data})
        outs = net.feed_forward(data)
        for name, value in zip(["out:out", "mid:out", "out:pre"], got):
            np.testing.assert_allclose(value, outs[name], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(ref.run(None, {"in": data})[0], outs["out:out"], rtol=1e-4, atol=1e-6)
    assert len(net.to_onnx("all").graph.output) == len(net.build_graph()[0])
    with pytest.raises(KeyError, match="no output 'nope'"):
        net.to_onnx("nope")


def test_layer_instances_and_tied_layer_objects(x):
    enc = Feedforward(size=NH1, inputs="in", name="enc", rng=1)
    net = theanets.Autoencoder([Input(size=NI), enc, Tied(partner=enc, name="dec", activation="linear")])
    w = enc.find("w").get_value()
    h = relu(x @ w + enc.find("b").get_value())
    np.testing.assert_allclose(net.predict(x), h @ w.T + net.find("dec", "b").get_value(), rtol=1e-5, atol=1e-5)
    assert [line.split()[:2] for line in repr(net).splitlines()[2:5]] == [["in", "Input"], ["enc", "Feedforward"], ["dec", "Tied"]]


def test_network_with_two_inputs():
    net = theanets.Regressor([dict(size=3, name="a"), dict(form="input", size=2, name="b"),
                              dict(size=4, inputs=("a", "b"), activation="linear"), NO])
    xa = np.random.default_rng(0).normal(size=(5, 3)).astype("f")
    xb = np.random.default_rng(1).normal(size=(5, 2)).astype("f")
    h = xa @ _value(net, "hid2", "w_a:out") + xb @ _value(net, "hid2", "w_b:out") + _value(net, "hid2", "b")
    want = h @ _value(net, "out", "w") + _value(net, "out", "b")
    np.testing.assert_allclose(net.predict([xa, xb]), want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(net.predict({"b": xb, "a": xa}), want, rtol=1e-5, atol=1e-5)
    assert [v.name for v in net.variables] == ["a", "b", "target"]
    assert [i.name for i in net.to_onnx().graph.input] == ["a", "b"]
    with pytest.raises(ValueError, match="2 inputs"):
        net.predict(xa)


def test_network_repr_is_a_summary_table():
    net = theanets.Autoencoder([NI, (NH1, "linear"), ("tied", "linear")])
    text = repr(net)
    lines = text.splitlines()
    assert lines[0].split() == ["layer", "form", "inputs", "size", "activation", "params"]
    assert lines[2].split() == ["in", "Input", "-", str(NI), "-", "0"]
    assert lines[3].split() == ["hid1", "Feedforward", "in:out", str(NH1), "linear", f"{NI * NH1 + NH1:,}"]
    assert lines[4].split() == ["out", "Tied", "hid1:out", str(NI), "linear", str(NI)]
    assert lines[-1].startswith(f"Autoencoder: {NI * NH1 + NH1 + NI:,} parameters in 3 layers; loss ")
    assert net.summary() == text
