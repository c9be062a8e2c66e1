"""Lasagne is duck-typed: stand-ins for layers (wrappers, ``unittest.mock`` objects) work wherever a layer does.

Lasagne's ``Layer.__init__`` reads ``incoming.output_shape``, and its helpers walk ``input_layer`` /
``input_layers`` and call ``get_output_for`` / ``get_output_shape_for`` on whatever object is
there; graphc does the same (``graphc.layers.base.is_layer_like``).
"""

from unittest.mock import Mock, PropertyMock

import numpy as np
import pytest

import graphc
import graphc.tensor as T
from graphc.layers import (
    DenseLayer,
    InputLayer,
    Layer,
    MergeLayer,
    count_params,
    get_all_layers,
    get_all_params,
    get_output,
    get_output_shape,
)
from graphc.regularization import l2, regularize_layer_params


def layers():
    l1 = Mock(InputLayer((None,)))
    l2 = Mock(Layer(l1))
    l2.input_layer = l1
    l3 = Mock(Layer(l2))
    l3.input_layer = l2
    return l1, l2, l3

def test_chain():
    l1, l2, l3 = layers()
    out = get_output(l3)
    assert out is l3.get_output_for.return_value
    l3.get_output_for.assert_called_with(l2.get_output_for.return_value)
    l2.get_output_for.assert_called_with(l1.input_var)

def test_kwarg():
    l1, l2, l3 = layers()
    inputs, kwarg = T.matrix(), object()
    with pytest.warns(UserWarning, match="unused kwargs"):
        get_output(l3, inputs, kwarg=kwarg)
    l2.get_output_for.assert_called_with(inputs, kwarg=kwarg)

def test_mapping():
    l1, l2, l3 = layers()
    p = PropertyMock()
    type(l1).input_var = p
    inputs = {l3: T.matrix()}
    assert get_output(l3, inputs) is inputs[l3]
    assert p.call_count == 0

def test_from_shape():
    layer = Layer((None, 20))
    with pytest.raises(ValueError):
        get_output(layer)
    with pytest.raises(ValueError):
        get_output(layer, [1, 2])
    with pytest.raises(ValueError):
        get_output(layer, {Mock(): [1, 2]})
    inputs = {None: T.matrix()}
    layer.get_output_for = Mock()
    assert get_output(layer, inputs) is layer.get_output_for.return_value

def test_mock_incoming():
    dense = DenseLayer(Mock(output_shape=(2, 3, 4)), 5)
    assert dense.output_shape == (2, 5)
    x = T.tensor3("x", shape=(2, 3, 4))
    out = get_output(dense, {dense.input_layer: x})
    assert out.ndim == 2

def test_merge_mock():
    l1 = [Mock(InputLayer((None,))), Mock(InputLayer((None,)))]
    l2 = [Mock(Layer(l1[0])), Mock(Layer(l1[1]))]
    l2[0].input_layer = l1[0]
    l2[1].input_layer = l1[1]
    class Sum(MergeLayer):
        def get_output_shape_for(self, shapes):
            return shapes[0]
    l3 = Mock(Sum(l2))
    l3.input_layers = l2
    assert get_output(l3) is l3.get_output_for.return_value
    l3.get_output_for.assert_called_with([l2[0].get_output_for.return_value, l2[1].get_output_for.return_value])
    assert get_all_layers(l3) == [l1[0], l2[0], l1[1], l2[1], l3]

def test_shape_mock():
    l1, l2, l3 = layers()
    get_output_shape(l3, (3,))
    l3.get_output_shape_for.assert_called_with(l2.get_output_shape_for.return_value)


def test_a_stand_in_incoming_gives_real_values_and_parameters():
    stand_in = Mock(output_shape=(None, 3, 4))
    dense = DenseLayer(stand_in, 5, name="d")
    assert dense.input_layer is stand_in and dense.input_shape == (None, 3, 4)
    assert get_all_layers(dense) == [stand_in, dense]
    stand_in.get_params.return_value = []
    assert get_all_params(dense) == [dense.W, dense.b]
    assert count_params(dense) == 12 * 5 + 5
    x = T.tensor3("x", shape=(None, 3, 4))
    f = graphc.function([x], get_output(dense, {stand_in: x}))
    data = np.random.RandomState(0).randn(2, 3, 4).astype(np.float32)
    want = np.maximum(data.reshape(2, 12) @ dense.W.get_value() + dense.b.get_value(), 0)
    np.testing.assert_allclose(f(data), want, rtol=1e-5, atol=1e-6)
    penalty = graphc.function([], regularize_layer_params([stand_in, dense], l2))
    np.testing.assert_allclose(penalty(), np.sum(dense.W.get_value() ** 2), rtol=1e-5)


def test_an_input_layer_has_no_input_layer_attribute():
    layer = InputLayer((None, 3))
    assert not hasattr(layer, "input_layer") and not hasattr(layer, "input_shape")


def test_junk_is_still_refused():
    for junk in (None, "d", 3, np.ones(3)):
        with pytest.raises(TypeError, match="expected a Layer or a list of layers"):
            get_output(junk)
    with pytest.raises(TypeError, match="must map layers to expressions, got a key 'name'"):
        get_output(DenseLayer(InputLayer((None, 3)), 2), {"name": T.matrix()})
