"""Every snippet of ../shared/seeds/lasagne-layers.txt, run with imports changed to graphc."""

from __future__ import annotations

import numpy as np
import pytest

import graphc as lasagne
import graphc as theano
import graphc.tensor as T


def _relu(x):
    return np.maximum(x, 0)


def _softmax(z):
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


@pytest.fixture
def l_in():
    return lasagne.layers.InputLayer((100, 50))


def test_creating_a_layer_and_an_mlp(l_in):
    l = lasagne.layers.DenseLayer(l_in, num_units=100)
    assert l.output_shape == (100, 100)
    l_hidden = lasagne.layers.DenseLayer(l_in, num_units=200)
    l_out = lasagne.layers.DenseLayer(l_hidden, num_units=10, nonlinearity=T.nnet.softmax)
    f = theano.function([l_in.input_var], lasagne.layers.get_output(l_out))
    x = np.random.default_rng(0).normal(size=(100, 50)).astype(np.float32)
    W1, b1, W2, b2 = lasagne.layers.get_all_param_values(l_out)
    np.testing.assert_allclose(f(x), _softmax(_relu(x @ W1 + b1) @ W2 + b2), rtol=1e-5, atol=1e-6)
    assert l_out.output_shape == (100, 10)


def test_naming_layers(l_in):
    l_hidden = lasagne.layers.DenseLayer(l_in, num_units=200, name="hidden_layer")
    assert l_hidden.name == "hidden_layer"
    assert [p.name for p in l_hidden.get_params()] == ["hidden_layer.W", "hidden_layer.b"]


def test_initializer_and_the_three_manual_forms(l_in):
    lasagne.random.set_rng(np.random.RandomState(42))
    l = lasagne.layers.DenseLayer(l_in, num_units=100, W=lasagne.init.Normal(0.01))
    assert abs(l.W.get_value().std() - 0.01) < 0.001
    W = theano.shared(np.random.normal(0, 0.01, (50, 100)))
    l = lasagne.layers.DenseLayer(l_in, num_units=100, W=W)
    assert l.W is W  # used unchanged
    W_init = np.random.normal(0, 0.01, (50, 100))
    l = lasagne.layers.DenseLayer(l_in, num_units=100, W=W_init)
    np.testing.assert_allclose(l.W.get_value(), W_init.astype(np.float32))
    l = lasagne.layers.DenseLayer(l_in, num_units=100, W=lasagne.init.Normal(0.01))

    def init_W(shape):
        return np.random.normal(0, 0.01, shape)

    l = lasagne.layers.DenseLayer(l_in, num_units=100, W=init_W)
    assert l.W.get_value().shape == (50, 100)


def test_no_bias(l_in):
    l = lasagne.layers.DenseLayer(l_in, num_units=100, b=None)
    assert l.b is None and l.get_params() == [l.W]
    x = np.ones((100, 50), np.float32)
    out = theano.function([l_in.input_var], lasagne.layers.get_output(l))(x)
    np.testing.assert_allclose(out, _relu(x @ l.W.get_value()), rtol=1e-5)


def test_parameter_sharing(l_in):
    l1 = lasagne.layers.DenseLayer(l_in, num_units=100)
    l2 = lasagne.layers.DenseLayer(l_in, num_units=100, W=l1.W)
    assert l2.W is l1.W and l2.b is not l1.b
    merged = lasagne.layers.ElemwiseSumLayer([l1, l2])
    params = lasagne.layers.get_all_params(merged)
    assert params == [l1.W, l1.b, l2.b]  # shared W listed once


def test_get_output_forms(l_in):
    l_hidden = lasagne.layers.DenseLayer(l_in, num_units=200)
    l_out = lasagne.layers.DenseLayer(l_hidden, num_units=10, nonlinearity=T.nnet.softmax)
    y = lasagne.layers.get_output(l_out)
    f = theano.function([l_in.input_var], y)
    x = T.matrix("x")
    y2 = lasagne.layers.get_output(l_out, x)
    f2 = theano.function([x], y2)
    xv = np.random.default_rng(1).normal(size=(100, 50)).astype(np.float32)
    np.testing.assert_allclose(f(xv), f2(xv), rtol=1e-6)
    # a different batch size through the explicit input expression
    assert f2(xv[:7]).shape == (7, 10)


def test_dict_input_form_with_two_input_layers():
    l_in1 = lasagne.layers.InputLayer((None, 4))
    l_in2 = lasagne.layers.InputLayer((None, 4))
    l_out = lasagne.layers.ElemwiseSumLayer([lasagne.layers.DenseLayer(l_in1, 3), lasagne.layers.DenseLayer(l_in2, 3)])
    x1 = T.matrix("x1")
    x2 = T.matrix("x2")
    y = lasagne.layers.get_output(l_out, {l_in1: x1, l_in2: x2})
    f = theano.function([x1, x2], y)
    a = np.arange(8, dtype=np.float32).reshape(2, 4)
    b = -np.arange(8, dtype=np.float32).reshape(2, 4) / 3
    W1, b1, W2, b2 = lasagne.layers.get_all_param_values(l_out)
    np.testing.assert_allclose(f(a, b), _relu(a @ W1 + b1) + _relu(b @ W2 + b2), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="single input expression on a network with multiple input layers"):
        lasagne.layers.get_output(l_out, x1)


def test_deterministic_and_two_outputs_sharing_one_dropout_sample():
    l_in = lasagne.layers.InputLayer((None, 50))
    l_drop = lasagne.layers.DropoutLayer(l_in, p=0.5)
    l_out1 = lasagne.layers.DenseLayer(l_drop, num_units=20, W=np.eye(50, 20), b=None, nonlinearity=None)
    l_out2 = lasagne.layers.DenseLayer(l_drop, num_units=20, W=np.eye(50, 20), b=None, nonlinearity=None)
    y = lasagne.layers.get_output(l_out1, deterministic=True)
    x = np.ones((30, 50), np.float32)
    np.testing.assert_allclose(theano.function([l_in.input_var], y)(x), x[:, :20])
    y1, y2 = lasagne.layers.get_output([l_out1, l_out2])
    a, b = theano.function([l_in.input_var], [y1, y2])(x)
    np.testing.assert_array_equal(a, b)  # one sample serves both outputs
    assert set(np.unique(a)) <= {0.0, 2.0} and 0.2 < (a == 0).mean() < 0.8
    # separate calls draw separate samples
    z1 = lasagne.layers.get_output(l_out1)
    z2 = lasagne.layers.get_output(l_out2)
    c, d = theano.function([l_in.input_var], [z1, z2])(x)
    assert not np.array_equal(c, d)
