"""theanets layers and activations against numpy implementations of the reference equations."""

from __future__ import annotations

import numpy as np
import pytest

import graphc
import graphc.tensor as TT
from graphc import theanets
from graphc.theanets import activations as acts
from graphc.theanets.layers import (
    Classifier,
    Concatenate,
    ConfigurationError,
    Feedforward,
    Flatten,
    Input,
    Product,
    Reshape,
    Tied,
)
from graphc.theanets.layers import Layer as TheanetsLayer

PROBE = np.array([-10, -1, -0.1, 0, 0.1, 1, 10], "f")
ROWS = np.stack([PROBE, -2 * PROBE[::-1]])  # two examples, norms are per example


def chain(*layers):
    for i, layer in enumerate(layers):
        layer.bind(layers[:i])
    return layers


def run(layers, *arrays):
    """Every output of the connected ``layers`` for ``arrays`` fed to their Input layers."""
    outputs = {}
    for layer in layers:
        outputs.update(layer.connect(outputs)[0])
    names = sorted(outputs)
    ins = [lyr.input for lyr in layers if isinstance(lyr, Input)]
    values = graphc.function(ins, [outputs[n] for n in names], on_unused_input="ignore")(*arrays)
    return dict(zip(names, values))


def relu(x):
    return np.maximum(x, 0)


def softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


@pytest.fixture
def rng():
    return np.random.default_rng(7)


# -- activations --------------------------------------------------------------------------------
def _softplus(x):
    return np.logaddexp(0, x)


def _std(x):
    return x.std(-1, keepdims=True)


PLAIN = {
    "linear": lambda x: x,
    "logistic": lambda x: 1 / (1 + np.exp(-x)),
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "tanh": np.tanh,
    "softmax": softmax,
    "softplus": _softplus,
    "relu": relu,
    "rect:max": relu,
    "rect:min": lambda x: np.minimum(x, 1),
    "rect:minmax": lambda x: np.clip(x, 0, 1),
    "norm:mean": lambda x: x - x.mean(-1, keepdims=True),
    "norm:max": lambda x: x / (np.abs(x).max(-1, keepdims=True) + 1e-8),
    "norm:std": lambda x: x / (_std(x) + 1e-8),
    "norm:z": lambda x: (x - x.mean(-1, keepdims=True)) / (_std(x) + 1e-8),
    "relu+tanh": lambda x: np.tanh(relu(x)),
    "softplus+norm:z": lambda x: (_softplus(x) - _softplus(x).mean(-1, keepdims=True)) / (_std(_softplus(x)) + 1e-8),
    "tanh+relu+rect:min": lambda x: np.minimum(relu(np.tanh(x)), 1),
}


def _activation(name, size=7, layer_name="l"):
    layer = Feedforward(inputs="in", size=size, name=layer_name, rng=13)
    chain(Input(size=3), layer)
    return layer, acts.build(name, layer)


def _apply(act, data):
    x = TT.matrix("x", shape=(None, data.shape[1]))
    return graphc.function([x], act(x))(data)


@pytest.mark.parametrize("name", sorted(PLAIN))
def test_plain_activations_on_probe(name):
    _, act = _activation(name)
    assert act.params == []
    np.testing.assert_allclose(_apply(act, ROWS), PLAIN[name](ROWS.astype(np.float64)), rtol=1e-5, atol=1e-6)


def test_parametric_activations_on_probe():
    _, prelu = _activation("prelu")
    leak = prelu.leak.get_value()
    assert leak.shape == (7,) and (leak >= 0).all()
    np.testing.assert_allclose(_apply(prelu, ROWS), np.where(ROWS > 0, ROWS, leak * ROWS), rtol=1e-6, atol=1e-7)

    _, lgrelu = _activation("lgrelu")
    gain, leak = lgrelu.gain.get_value(), lgrelu.leak.get_value()
    np.testing.assert_allclose(_apply(lgrelu, ROWS), np.where(ROWS > 0, gain * ROWS, leak * ROWS), rtol=1e-6, atol=1e-7)

    _, elu = _activation("elu")
    gain = elu.gain.get_value()
    np.testing.assert_allclose(_apply(elu, ROWS), np.where(ROWS > 0, ROWS, gain * np.expm1(ROWS)), rtol=1e-5, atol=1e-7)

    _, maxout = _activation("maxout:3")
    slope, intercept = maxout.slope.get_value(), maxout.intercept.get_value()
    assert slope.shape == intercept.shape == (7, 3)
    want = (ROWS[..., None] * slope + intercept).max(-1)
    np.testing.assert_allclose(_apply(maxout, ROWS), want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "name, params",
    [("prelu", ["l.leak"]), ("lgrelu", ["l.gain", "l.leak"]), ("elu", ["l.gain"]), ("maxout:4", ["l.slope", "l.intercept"])],
)
def test_activation_parameters_belong_to_the_layer(name, params):
    layer = Feedforward(inputs="in", size=5, name="l", activation=name, rng=1)
    chain(Input(size=3), layer)
    assert [p.name for p in layer.params] == ["l.w", "l.b"] + params
    assert layer.find(params[0].split(".")[1]) is layer.params[2]
    k = 4 if name.startswith("maxout") else 1
    assert layer.num_params == 3 * 5 + 5 + len(params) * 5 * k


def test_composition_applies_left_to_right_and_collects_params():
    _, act = _activation("prelu+norm:z")
    assert act.name == "norm:z(prelu)"
    leak = act.params[0].get_value()
    pre = np.where(ROWS > 0, ROWS, leak * ROWS)
    want = (pre - pre.mean(-1, keepdims=True)) / (pre.std(-1, keepdims=True) + 1e-8)
    np.testing.assert_allclose(_apply(act, ROWS), want, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="twice"):
        _activation("prelu+prelu")


@pytest.mark.parametrize("bad", ["relux", "relu+nope", "maxout", "maxout:0", "maxout:x", ""])
def test_unknown_activation_names_layer_and_string(bad):
    with pytest.raises(ValueError, match="layer 'hidden'") as err:
        Feedforward(inputs="in", size=3, name="hidden", activation=bad)
    if bad.startswith("relu"):
        assert repr(bad.split("+")[-1]) in str(err.value)


# -- registration -------------------------------------------------------------------------------
def test_user_subclass_is_buildable_by_name_and_alias():
    class Doubler(TheanetsLayer):
        __extra_registration_keys__ = ("twice",)

        def transform(self, inputs):
            return 2 * inputs

    assert TheanetsLayer.is_registered("doubler") and TheanetsLayer.is_registered("TWICE")
    layer = theanets.Layer.build("twice", size=4, inputs="in", name="d")
    assert isinstance(layer, Doubler) and layer.name == "d"
    inp = Input(size=4)
    chain(inp, layer)
    x = np.arange(8, dtype="f").reshape(2, 4)
    np.testing.assert_allclose(run([inp, layer], x)["d:out"], 2 * x)


@pytest.mark.parametrize("form, cls", [("ff", Feedforward), ("feedforward", Feedforward), ("classifier", Classifier),
                                       ("softmax", Classifier), ("flat", Flatten), ("concat", Concatenate),
                                       ("prod", Product), ("tied", Tied), ("input", Input), ("reshape", Reshape)])
def test_builtin_forms_are_registered(form, cls):
    assert TheanetsLayer._registry[form] is cls


def test_build_unknown_form():
    with pytest.raises(ConfigurationError, match="unknown layer form 'nope'"):
        theanets.Layer.build("nope", size=3)


def test_layer_names_and_outputs():
    layer = Feedforward(size=3, inputs="in")
    assert layer.name.startswith("feedforward") and layer.output_name == f"{layer.name}:out"
    with pytest.raises(ConfigurationError, match="not bound"):
        layer.connect({"in:out": TT.matrix("x")})
    with pytest.raises(ConfigurationError, match="bound into a network"):
        _ = layer.input_size


# -- feedforward family -------------------------------------------------------------------------
def test_feedforward_values_params_and_outputs(rng):
    inp, ff = chain(Input(size=5), Feedforward(inputs="in", size=3, name="l", activation="tanh", rng=2))
    assert [p.name for p in ff.params] == ["l.w", "l.b"]
    assert [p.type.shape for p in ff.params] == [(5, 3), (3,)]
    assert ff.input_size == 5 and ff.output_size == 3 and ff.num_params == 18
    x = rng.normal(size=(4, 5)).astype("f")
    out = run([inp, ff], x)
    assert sorted(out) == ["in:out", "l:out", "l:pre"]
    w, b = ff.find("w").get_value(), ff.find(1).get_value()
    np.testing.assert_allclose(out["l:pre"], x @ w + b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["l:out"], np.tanh(x @ w + b), rtol=1e-5, atol=1e-6)
    with pytest.raises(KeyError, match="no parameter 'v'"):
        ff.find("v")


def test_feedforward_on_3d_inputs(rng):
    inp, ff = chain(Input(size=5, ndim=3), Feedforward(inputs="in", size=3, name="l", rng=2))
    assert ff.output_shape == (None, 3)
    x = rng.normal(size=(2, 4, 5)).astype("f")
    out = run([inp, ff], x)["l:out"]
    np.testing.assert_allclose(out, relu(x @ ff.find("w").get_value() + ff.find("b").get_value()), rtol=1e-5, atol=1e-6)


def test_feedforward_with_several_inputs(rng):
    a, b_ = Input(size=5, name="a"), Input(size=2, name="b")
    ff = Feedforward(inputs=("a", "b:out"), size=3, name="l", activation="linear", rng=3)
    chain(a, b_, ff)
    assert [p.name for p in ff.params] == ["l.w_a:out", "l.w_b:out", "l.b"]
    assert [p.type.shape for p in ff.params] == [(5, 3), (2, 3), (3,)]
    assert ff.input_size == 5 and ff.input_shapes == {"a:out": (5,), "b:out": (2,)}  # the first input's size
    xa, xb = rng.normal(size=(4, 5)).astype("f"), rng.normal(size=(4, 2)).astype("f")
    out = run([a, b_, ff], xa, xb)["l:out"]
    want = xa @ ff.find("w_a:out").get_value() + xb @ ff.find("w_b:out").get_value() + ff.find("b").get_value()
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-6)


def test_classifier_forces_softmax(rng):
    inp, clf = chain(Input(size=4), Classifier(inputs="in", size=6, name="c", activation="tanh", rng=1))
    assert clf.activation == "softmax"
    x = rng.normal(size=(3, 4)).astype("f")
    out = run([inp, clf], x)
    w, b = clf.find("w").get_value(), clf.find("b").get_value()
    np.testing.assert_allclose(out["c:out"], softmax(x @ w + b), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["c:pre"], x @ w + b, rtol=1e-5, atol=1e-6)


def test_tied_uses_the_transpose_of_its_partner(rng):
    inp = Input(size=5)
    enc = Feedforward(inputs="in", size=3, name="enc", rng=4)
    dec = Tied(partner="enc", inputs="enc", name="dec", activation="logistic", rng=4)
    chain(inp, enc, dec)
    assert dec.size == 5 and [p.name for p in dec.params] == ["dec.b"] and dec.partner is enc
    assert dec.find("b").type.shape == (5,)
    x = rng.normal(size=(4, 5)).astype("f")
    out = run([inp, enc, dec], x)
    w = enc.find("w").get_value()
    h = relu(x @ w + enc.find("b").get_value())
    np.testing.assert_allclose(out["dec:out"], 1 / (1 + np.exp(-(h @ w.T + dec.find("b").get_value()))), rtol=1e-5)
    assert dec.to_spec()["partner"] == "enc"


def test_tied_errors(capsys):
    with pytest.raises(ConfigurationError, match="needs a partner"):
        Tied(inputs="in", name="t")
    inp, enc = chain(Input(size=5), Feedforward(inputs="in", size=3, name="enc"))
    with pytest.raises(ConfigurationError, match="cannot find its partner 'nope'"):
        Tied(partner="nope", inputs="enc", name="t").bind([inp, enc])
    with pytest.raises(ConfigurationError, match="input 'in:out' has size 5, but partner 'enc' has 3 units"):
        Tied(partner=enc, inputs="in", name="t").bind([inp, enc])
    # upstream takes the partner's input size whatever the size given: a warning, then that size
    tied = Tied(partner=enc, inputs="enc", name="t", size=4)
    tied.bind([inp, enc])
    assert tied.size == 5 and tied.find("b").type.shape == (5,)
    assert "layer 't': size 4 does not match the size 5 its inputs give; using size 5" in capsys.readouterr().err


def test_concatenate_product_flatten_reshape(rng, capsys):
    a, b_ = Input(size=3, name="a"), Input(size=3, name="b")
    cat = Concatenate(inputs=("a", "b"), name="cat")
    prod = Product(inputs=("a", "b"), name="prod")
    chain(a, b_, cat, prod)
    assert cat.size == 6 and prod.size == 3 and cat.params == [] and prod.params == []
    xa, xb = rng.normal(size=(4, 3)).astype("f"), rng.normal(size=(4, 3)).astype("f")
    out = run([a, b_, cat, prod], xa, xb)
    np.testing.assert_allclose(out["cat:out"], np.concatenate([xa, xb], -1))
    np.testing.assert_allclose(out["prod:out"], xa * xb, rtol=1e-6)

    img = Input(shape=(4, 2, 3), name="img")
    flat = Flatten(inputs="img", name="flat")
    rs = Reshape(inputs="flat", shape=(6, 4), name="rs")
    chain(img, flat, rs)
    assert img.ndim == 4 and flat.size == 24 and flat.output_shape == (24,) and rs.size == 4
    assert rs.output_shape == (6, 4)
    x = rng.normal(size=(5, 4, 2, 3)).astype("f")
    out = run([img, flat, rs], x)
    np.testing.assert_allclose(out["flat:out"], x.reshape(5, -1))
    np.testing.assert_allclose(out["rs:out"], x.reshape(5, 6, 4))
    # as upstream, a reshape that cannot fit binds (with a warning); connecting it fails
    bad = Reshape(inputs="flat", shape=(5, 5), name="bad")
    bad.bind([img, flat])
    assert "layer 'bad': cannot reshape input of shape (24,)" in capsys.readouterr().err
    assert bad.to_spec() == dict(form="reshape", name="bad", size=5, shape=[5, 5], inputs=("flat:out",), activation="relu")
    with pytest.raises(ConfigurationError, match=r"cannot reshape input of shape \(24,\) \(24 values per example\)"):
        bad.connect({"flat:out": graphc.tensor.matrix("x")})
    with pytest.raises(ConfigurationError, match="different sizes"):
        Product(inputs=("a", "cat"), name="p2").bind([a, b_, cat])
    # a size other than the inputs give is kept, as upstream (with a warning); the output is what the inputs give
    for cls, want in ((Concatenate, 6), (Product, 3), (Flatten, 3)):
        odd = cls(inputs=("a", "b") if cls is not Flatten else "a", name="c2", size=5)
        odd.bind([a, b_])
        assert odd.size == 5 and odd.to_spec()["size"] == 5
        assert f"layer 'c2': size 5 does not match the size {want} its inputs give; using size 5" in capsys.readouterr().err
        va, vb = graphc.tensor.matrix("xa"), graphc.tensor.matrix("xb")
        out, _ = odd.connect({"a:out": va, "b:out": vb})
        assert out["c2:out"].eval({va: xa, vb: xb}).shape == (4, want)


def test_inputs_dict_acts_as_single_expression():
    class Probe(TheanetsLayer):
        def transform(self, inputs):
            assert set(inputs) >= set(self.inputs)
            return {"sum": inputs + 1, "first": inputs[:, 0], "shape0": TT.cast(inputs.shape[0], "float32"),
                    "neg": -inputs, "byname": inputs[self.inputs[0]] * 3}

    inp, probe = chain(Input(size=3), Probe(inputs="in", size=3, name="p"))
    x = np.arange(6, dtype="f").reshape(2, 3)
    out = run([inp, probe], x)
    np.testing.assert_allclose(out["p:sum"], x + 1)
    np.testing.assert_allclose(out["p:first"], x[:, 0])
    assert out["p:shape0"] == 2
    np.testing.assert_allclose(out["p:byname"], 3 * x)

    class Bad(TheanetsLayer):
        def transform(self, inputs):
            return TT.dot(inputs, np.ones((3, 3), "f"))

    a, b_ = Input(size=3, name="a"), Input(size=3, name="b")
    bad = Bad(inputs=("a", "b"), size=3, name="bad")
    chain(a, b_, bad)
    with pytest.raises(TypeError, match="several inputs"):
        run([a, b_, bad], x, x)


def test_initialization_options():
    inp = Input(size=40)
    layer = Feedforward(inputs="in", size=30, name="l", mean=2.0, std=0.5, std_b=0.0, mean_b=-1.0, rng=5)
    chain(inp, layer)
    w, b = layer.find("w").get_value(), layer.find("b").get_value()
    assert w.dtype == np.float32 and abs(w.mean() - 2.0) < 0.05 and abs(w.std() - 0.5) < 0.05
    np.testing.assert_array_equal(b, -np.ones(30, "f"))

    default = Feedforward(inputs="in", size=30, name="d", rng=5)
    chain(inp, default)
    assert abs(default.find("w").get_value().std() - 1 / np.sqrt(70)) < 0.02
    assert abs(default.find("b").get_value().std() - 1) < 0.4

    sparse = Feedforward(inputs="in", size=30, name="s", sparsity_w=0.9, rng=5)
    chain(inp, sparse)
    assert 0.8 < (sparse.find("w").get_value() == 0).mean() < 0.95

    diag = Feedforward(inputs="in", size=30, name="g", diagonal=3.0, rng=5)
    chain(inp, diag)
    np.testing.assert_array_equal(diag.find("w").get_value(), 3 * np.eye(40, 30, dtype="f"))

    again = Feedforward(inputs="in", size=30, name="l", mean=2.0, std=0.5, rng=np.random.RandomState(5))
    chain(inp, again)
    np.testing.assert_array_equal(again.find("w").get_value(), w)

    with pytest.raises(ConfigurationError, match="rng must be"):
        Feedforward(inputs="in", size=3, rng="seed")
    with pytest.raises(ConfigurationError, match="size must be a positive int"):
        Feedforward(inputs="in", size=0)


def test_random_matrix_radius():
    from graphc.theanets.layers.base import random_matrix

    m = random_matrix(6, 4, radius=1.5, rng=np.random.RandomState(0))
    assert np.isclose(np.linalg.svd(m, compute_uv=False)[0], 1.5, rtol=1e-5)


def test_to_spec_round_trips_through_build():
    layer = Feedforward(inputs="in", size=3, name="l", activation="tanh", rng=3, std=0.1)
    chain(Input(size=4), layer)
    spec = layer.to_spec()
    assert spec == dict(form="feedforward", name="l", size=3, inputs=("in:out",), activation="tanh", rng=3, std=0.1)
    form = spec.pop("form")
    clone = theanets.Layer.build(form, **spec)
    chain(Input(size=4), clone)
    np.testing.assert_array_equal(clone.find("w").get_value(), layer.find("w").get_value())
