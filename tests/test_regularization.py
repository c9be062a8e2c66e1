"""graphc.regularization: penalty values against numpy, and which parameters each helper takes."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

import graphc
import graphc.tensor as T
from graphc import regularization as R
from graphc.layers import DenseLayer, InputLayer


def _eval(expr):
    return graphc.function([], expr)()


@pytest.fixture
def layers():
    l_1 = InputLayer((None, 10))
    l_2 = DenseLayer(l_1, num_units=20, b=graphc.init.Uniform(1.0))
    l_3 = DenseLayer(l_2, num_units=30, b=graphc.init.Uniform(1.0))
    return l_1, l_2, l_3


@pytest.mark.parametrize("name, ref", [("l1", lambda x: np.abs(x).sum()), ("l2", lambda x: (x**2).sum())])
def test_penalty_values(name, ref):
    X = T.matrix("X")
    X0 = np.random.default_rng(0).uniform(-3, 3, (6, 9)).astype("float32")
    out = graphc.function([X], getattr(R, name)(X))(X0)
    assert out.shape == ()
    np.testing.assert_allclose(out, ref(X0), rtol=1e-5)


def test_penalty_of_a_shared_variable():
    w = graphc.shared(np.arange(-6, 6, dtype="float64").reshape(3, 4), name="w")
    assert _eval(R.l2(w)) == pytest.approx(float((w.get_value() ** 2).sum()))
    assert _eval(R.l1(w)) == pytest.approx(float(np.abs(w.get_value()).sum()))


def test_apply_penalty_forms():
    a = graphc.shared(np.array([1.0, -2.0, 3.0], "float32"))
    b = graphc.shared(np.ones((2, 5), "float32"))
    assert _eval(R.apply_penalty(a, R.l2)) == pytest.approx(14.0)  # a tensor is penalized whole
    assert _eval(R.apply_penalty([a, b], R.l2)) == pytest.approx(24.0)
    assert _eval(R.apply_penalty((a, b), R.l1)) == pytest.approx(16.0)
    assert _eval(R.apply_penalty([], R.l2)) == 0.0


def test_apply_penalty_passes_kwargs():
    def lp(x, p):
        return T.sum(abs(x) ** p)

    a = graphc.shared(np.array([1.0, -2.0, 3.0], "float32"))
    assert _eval(R.apply_penalty([a], lp, p=3)) == pytest.approx(36.0)
    with pytest.raises(TypeError, match="callable"):
        R.apply_penalty([a], "l2")


class _Recorder:
    def __init__(self):
        self.calls = []

    def __call__(self, x, **kwargs):
        self.calls.append((x, kwargs))
        return 0


def test_regularize_layer_params_single_layer(layers):
    _, l_2, _ = layers
    rec = _Recorder()
    R.regularize_layer_params(l_2, rec, scale=2)
    assert [c[0] for c in rec.calls] == [l_2.W]  # biases are not regularizable
    assert rec.calls[0][1] == {"scale": 2}
    value = _eval(R.regularize_layer_params(l_2, R.l2))
    np.testing.assert_allclose(value, (l_2.W.get_value() ** 2).sum(), rtol=1e-5)


def test_regularize_layer_params_multiple_layers_and_tags(layers):
    l_1, l_2, l_3 = layers
    rec = _Recorder()
    R.regularize_layer_params([l_1, l_2, l_3], rec)
    assert [c[0] for c in rec.calls] == [l_2.W, l_3.W]
    rec = _Recorder()
    R.regularize_layer_params([l_2, l_3], rec, tags={"regularizable": False})
    assert [c[0] for c in rec.calls] == [l_2.b, l_3.b]
    rec = _Recorder()
    R.regularize_layer_params(l_3, rec, tags={})
    assert [c[0] for c in rec.calls] == [l_3.W, l_3.b]


def test_regularize_network_params(layers):
    _, l_2, l_3 = layers
    rec = _Recorder()
    R.regularize_network_params(l_3, rec)
    assert [c[0] for c in rec.calls] == [l_2.W, l_3.W]
    value = _eval(R.regularize_network_params(l_3, R.l1))
    expected = np.abs(l_2.W.get_value()).sum() + np.abs(l_3.W.get_value()).sum()
    np.testing.assert_allclose(value, expected, rtol=1e-5)


def test_regularize_network_params_counts_shared_weights_once(layers):
    l_1, l_2, _ = layers
    tied = DenseLayer(l_2, num_units=20, W=graphc.shared(np.ones((20, 20), "float32")))
    tied2 = DenseLayer(tied, num_units=20, W=tied.W)
    rec = _Recorder()
    R.regularize_network_params(tied2, rec)
    assert [c[0] for c in rec.calls] == [l_2.W, tied.W]


def test_regularize_layer_params_weighted(layers):
    _, l_2, l_3 = layers
    weights = OrderedDict([(l_2, 0.1), (l_3, 0.5)])
    value = _eval(R.regularize_layer_params_weighted(weights, R.l2))
    expected = 0.1 * (l_2.W.get_value() ** 2).sum() + 0.5 * (l_3.W.get_value() ** 2).sum()
    np.testing.assert_allclose(value, expected, rtol=1e-5)
    coeff = graphc.shared(np.float32(2.0))  # a symbolic coefficient
    value = _eval(R.regularize_layer_params_weighted({l_2: coeff}, R.l1))
    np.testing.assert_allclose(value, 2 * np.abs(l_2.W.get_value()).sum(), rtol=1e-5)
    assert _eval(R.regularize_layer_params_weighted({}, R.l2)) == 0.0


def test_default_tags_are_read_only():
    assert dict(R.REGULARIZABLE) == {"regularizable": True}
    with pytest.raises(TypeError):
        R.REGULARIZABLE["regularizable"] = False  # type: ignore[index]


def test_errors(layers):
    with pytest.raises(TypeError, match="Layer"):
        R.regularize_layer_params("not a layer", R.l2)
    with pytest.raises(TypeError, match="Layer"):
        R.regularize_layer_params([layers[1], 3], R.l2)
    with pytest.raises(TypeError, match="dict"):
        R.regularize_layer_params_weighted([layers[1]], R.l2)
    with pytest.raises(TypeError, match="Layer"):
        R.regularize_layer_params_weighted({"x": 1.0}, R.l2)


def test_lasagne_example_in_a_loss(layers):
    l_1, l_2, l_3 = layers
    x, y = T.matrix("x"), T.ivector("y")
    out = graphc.layers.get_output(l_3, x)
    loss = T.mean(T.nnet.categorical_crossentropy(T.nnet.softmax(out), y))
    penalty = (
        R.regularize_layer_params_weighted({l_2: 0.1, l_3: 0.5}, R.l2) + R.regularize_layer_params(l_3, R.l1) * 1e-4
    )
    total = graphc.function([x, y], [loss, loss + penalty])
    X = np.random.default_rng(1).normal(size=(4, 10)).astype("float32")
    plain, regularized = total(X, np.array([0, 3, 29, 7], "int32"))
    W2, W3 = l_2.W.get_value(), l_3.W.get_value()
    expected = 0.1 * (W2**2).sum() + 0.5 * (W3**2).sum() + 1e-4 * np.abs(W3).sum()
    np.testing.assert_allclose(regularized - plain, expected, rtol=1e-4)
