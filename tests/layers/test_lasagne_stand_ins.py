"""Behaviours Lasagne's own tests rely on: stand-in layers, shape-only arithmetic, numpy in numpy out."""

import subprocess
import sys
from unittest.mock import Mock

import numpy as np
import pytest

import graphc
import graphc.tensor as T
from graphc.layers import (
    BiasLayer,
    ConcatLayer,
    Conv2DLayer,
    CustomRecurrentLayer,
    DenseLayer,
    ElemwiseSumLayer,
    InputLayer,
    Layer,
    RandomizedRectifierLayer,
    get_output,
    get_output_shape,
)


def test_merge_layers_accept_stand_in_incomings_and_compute_from_shapes():
    concat = ConcatLayer([Mock(), Mock()], axis=1)
    assert concat.get_output_shape_for([(3, 2), (3, 5)]) == (3, 7)
    with pytest.raises(ValueError, match="mismatch"):
        concat.get_output_shape_for([(4, None), (3, 5)])
    summed = ElemwiseSumLayer([Mock(), Mock()], coeffs=[2, -1])
    a, b = np.ones((2, 3), np.float32), np.full((2, 3), 4, np.float32)
    np.testing.assert_array_equal(summed.get_output_for([T.constant(a), T.constant(b)]).eval(), 2 * a - b)
    with pytest.raises(ValueError, match="coeffs"):
        ElemwiseSumLayer([Mock(), Mock()], coeffs=[1, 2, 3])
    # real shapes are still checked when the layer is built
    with pytest.raises(ValueError, match="mismatch"):
        ConcatLayer([InputLayer((2, 3)), InputLayer((4, 3))], axis=1)


def test_concat_never_crops_its_own_axis():
    layer = ConcatLayer([Mock(), Mock()], axis=0, cropping=["lower"] * 2)
    assert layer.get_output_shape_for([(3, 2), (4, 5)]) == (7, 2)
    x0, x1 = np.arange(15.0).reshape(5, 3), np.arange(8.0).reshape(4, 2)
    got = layer.get_output_for([T.constant(x0), T.constant(x1)]).eval()
    np.testing.assert_array_equal(got, np.concatenate([x0[:, :2], x1[:, :2]], axis=0))


def test_get_output_passes_expressions_for_stand_ins_unchecked_but_checks_real_layers():
    stand_in = Mock(spec=Layer, output_shape=(None,))  # isinstance(stand_in, Layer) holds: type() tells
    x = T.matrix("x")
    assert get_output(stand_in, {stand_in: x}) is x
    real = InputLayer((None, 4))
    with pytest.raises(ValueError, match="has 3 dims; the layer's output shape"):
        get_output(DenseLayer(real, 2), T.tensor3())


def test_get_output_shape_with_an_empty_mapping_is_the_layers_own():
    layer = Mock(output_shape=(None, 3))
    assert get_output_shape(layer, {}) == (None, 3)
    layer.get_output_shape_for.assert_not_called()


def test_dense_output_shape_is_shape_arithmetic_only():
    layer = DenseLayer((2, 3, 4), 3)
    assert layer.get_output_shape_for((5, 6, 7)) == (5, 3)
    with pytest.raises(ValueError, match="42 features; expected 12"):
        layer.get_output_for(T.constant(np.ones((5, 6, 7), np.float32)))


def test_layers_refuse_non_positive_sizes_from_stand_ins_and_symbolic_output_shapes():
    with pytest.raises(ValueError, match="non-positive input_shape dimension"):
        Layer(Mock(output_shape=(None, -1, -1)))

    class Symbolic(Layer):
        def get_output_shape_for(self, input_shape):
            return (T.vector().shape[0],)

    with pytest.raises(ValueError, match="symbolic output shape"):
        _ = Symbolic((2, 3)).output_shape


def test_input_layer_allow_broadcast_patterns_a_given_variable():
    v = T.tensor4("v")
    layer = InputLayer((2, 1, 10, 10), v, allow_broadcast=True)
    assert layer.input_var.broadcastable == (False, True, False, False)
    assert InputLayer((2, 1, 10, 10), v).input_var is v
    x = np.ones((2, 1, 10, 10), np.float32)
    np.testing.assert_array_equal(graphc.function([v], get_output(layer) * 2)(x), 2 * x)


def test_bias_layer_without_bias_hands_back_its_input():
    x = np.ones((2, 3), np.float32)
    assert BiasLayer((2, 3), b=None).get_output_for(x) is x


def test_randomized_rectifier_on_numpy_input_gives_numpy_output():
    x = -np.ones((3, 4, 5), np.float32)
    out = RandomizedRectifierLayer(x.shape, lower=0.4, upper=0.6).get_output_for(x, deterministic=True)
    assert isinstance(out, np.ndarray) and out.dtype == np.float32
    np.testing.assert_allclose(out, -0.5)
    np.testing.assert_array_equal(T.nnet.relu(np.array([-2, 3])), [0.0, 3.0])  # Theano's 0.5 * (x + |x|)
    assert isinstance(T.nnet.relu(T.vector()), graphc.tensor.variable.Variable)


def test_eval_takes_any_variable_as_a_key():
    x = T.matrix("x")
    y = T.exp(x) * 2
    z = y + 1
    np.testing.assert_array_equal(z.eval({y: np.ones((2, 3), np.float32)}), np.full((2, 3), 2))
    other = np.zeros((4, 5), np.float32)  # the expression itself: any shape of its rank, as in Theano
    np.testing.assert_array_equal(y.eval({y: other}), other)
    w = graphc.shared(np.ones(3, np.float32), name="w")
    np.testing.assert_array_equal((w * 3).eval({w: np.arange(3, dtype=np.float32)}), [0, 3, 6])
    np.testing.assert_array_equal(w.get_value(), np.ones(3))  # the shared value itself is untouched


def test_custom_recurrent_layer_checks_the_leading_size_of_input_to_hidden():
    n_batch, n_steps, channels, w, h, filters = 2, 3, 4, 5, 6, 7
    l_in = InputLayer((n_batch, n_steps, channels, w, h))
    hid = Conv2DLayer(InputLayer((n_batch, filters, w, h)), filters, 3, pad="same")
    per_batch = Conv2DLayer(InputLayer((n_batch, channels, w, h)), filters, 3, pad="same")
    with pytest.raises(ValueError, match="must be None or 6"):
        CustomRecurrentLayer(l_in, per_batch, hid, precompute_input=True)
    CustomRecurrentLayer(l_in, per_batch, hid, precompute_input=False)
    other_batch = Conv2DLayer(InputLayer((n_batch + 1, channels, w, h)), filters, 3, pad="same")
    with pytest.raises(ValueError, match="must be None or match hidden_to_hidden"):
        CustomRecurrentLayer(l_in, other_batch, hid, precompute_input=False)


def test_aliased_modules_import_without_import_warnings():
    code = (
        "import warnings, graphc.compat; graphc.compat.install()\n"
        "import lasagne, theano.tensor as T\n"
        "l = lasagne.layers.InputLayer((None, 3))\n"
        "with warnings.catch_warnings(record=True) as seen:\n"
        "    warnings.simplefilter('always')\n"
        "    lasagne.layers.get_output(lasagne.layers.DenseLayer(l, 2))\n"
        "assert not seen, [str(w.message) for w in seen]\n"
        "assert lasagne.layers.helper.__spec__.name == 'graphc.layers.helper'\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
