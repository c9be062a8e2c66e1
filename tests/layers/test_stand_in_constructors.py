"""Every Lasagne layer constructor takes a stand-in incoming (any object with ``output_shape``), as Lasagne does."""

from unittest.mock import Mock

import numpy as np
import pytest

import graphc
import graphc.tensor as T
from graphc import layers as L


def _m(*shape):
    return Mock(output_shape=shape)


def _gate_layers():
    hid = L.DenseLayer(L.InputLayer((None, 6)), 6, nonlinearity=None)
    inp = L.DenseLayer(L.InputLayer((None, 3)), 6, nonlinearity=None)
    return inp, hid


# (constructor, incoming shape, output shape) for every layer class of lasagne.layers
CASES = {
    "DenseLayer": (lambda i: L.DenseLayer(i, 5), (2, 3, 4), (2, 5)),
    "NINLayer": (lambda i: L.NINLayer(i, 5), (2, 3, 4), (2, 5, 4)),
    "Conv1DLayer": (lambda i: L.Conv1DLayer(i, 4, 3), (2, 3, 9), (2, 4, 7)),
    "Conv2DLayer": (lambda i: L.Conv2DLayer(i, 4, (3, 2)), (2, 3, 6, 7), (2, 4, 4, 6)),
    "Conv3DLayer": (lambda i: L.Conv3DLayer(i, 4, 2), (2, 3, 4, 5, 6), (2, 4, 3, 4, 5)),
    "TransposedConv2DLayer": (lambda i: L.TransposedConv2DLayer(i, 4, 3, stride=2), (2, 3, 4, 5), (2, 4, 9, 11)),
    "TransposedConv3DLayer": (lambda i: L.TransposedConv3DLayer(i, 4, 2), (2, 3, 4, 5, 6), (2, 4, 5, 6, 7)),
    "DilatedConv2DLayer": (lambda i: L.DilatedConv2DLayer(i, 4, 3, dilation=2), (2, 3, 8, 9), (2, 4, 4, 5)),
    "LocallyConnected2DLayer": (lambda i: L.LocallyConnected2DLayer(i, 4, 3), (2, 3, 5, 6), (2, 4, 5, 6)),
    "MaxPool1DLayer": (lambda i: L.MaxPool1DLayer(i, 2), (2, 3, 9), (2, 3, 4)),
    "MaxPool2DLayer": (lambda i: L.MaxPool2DLayer(i, 2), (2, 3, 6, 7), (2, 3, 3, 3)),
    "MaxPool3DLayer": (lambda i: L.MaxPool3DLayer(i, 2), (2, 3, 4, 6, 8), (2, 3, 2, 3, 4)),
    "Pool2DLayer": (lambda i: L.Pool2DLayer(i, 2, mode="average_inc_pad"), (2, 3, 6, 7), (2, 3, 3, 3)),
    "Upscale2DLayer": (lambda i: L.Upscale2DLayer(i, 2), (2, 3, 4, 5), (2, 3, 8, 10)),
    "GlobalPoolLayer": (lambda i: L.GlobalPoolLayer(i), (2, 3, 4, 5), (2, 3)),
    "FeaturePoolLayer": (lambda i: L.FeaturePoolLayer(i, 2), (2, 6, 5), (2, 3, 5)),
    "FeatureWTALayer": (lambda i: L.FeatureWTALayer(i, 2), (2, 6, 5), (2, 6, 5)),
    "SpatialPyramidPoolingLayer": (lambda i: L.SpatialPyramidPoolingLayer(i, [1, 2]), (2, 3, 8, 8), (2, 3, 5)),
    "FlattenLayer": (lambda i: L.FlattenLayer(i), (2, 3, 4), (2, 12)),
    "ReshapeLayer": (lambda i: L.ReshapeLayer(i, ([0], -1)), (2, 3, 4), (2, 12)),
    "DimshuffleLayer": (lambda i: L.DimshuffleLayer(i, (0, 2, 1)), (2, 3, 4), (2, 4, 3)),
    "PadLayer": (lambda i: L.PadLayer(i, 1), (2, 3, 4, 5), (2, 3, 6, 7)),
    "SliceLayer": (lambda i: L.SliceLayer(i, slice(0, 2), axis=1), (2, 3, 4), (2, 2, 4)),
    "DropoutLayer": (lambda i: L.DropoutLayer(i), (2, 3), (2, 3)),
    "AlphaDropoutLayer": (lambda i: L.AlphaDropoutLayer(i), (2, 3), (2, 3)),
    "GaussianNoiseLayer": (lambda i: L.GaussianNoiseLayer(i), (2, 3), (2, 3)),
    "BatchNormLayer": (lambda i: L.BatchNormLayer(i), (2, 3, 4), (2, 3, 4)),
    "StandardizationLayer": (lambda i: L.StandardizationLayer(i), (2, 3, 4), (2, 3, 4)),
    "LocalResponseNormalization2DLayer": (lambda i: L.LocalResponseNormalization2DLayer(i), (2, 6, 4, 5), (2, 6, 4, 5)),
    "NonlinearityLayer": (lambda i: L.NonlinearityLayer(i), (2, 3), (2, 3)),
    "BiasLayer": (lambda i: L.BiasLayer(i), (2, 3, 4), (2, 3, 4)),
    "ScaleLayer": (lambda i: L.ScaleLayer(i), (2, 3, 4), (2, 3, 4)),
    "ExpressionLayer": (lambda i: L.ExpressionLayer(i, lambda x: 2 * x), (2, 3), (2, 3)),
    "ParametricRectifierLayer": (lambda i: L.ParametricRectifierLayer(i), (2, 3, 4), (2, 3, 4)),
    "RandomizedRectifierLayer": (lambda i: L.RandomizedRectifierLayer(i), (2, 3, 4), (2, 3, 4)),
    "EmbeddingLayer": (lambda i: L.EmbeddingLayer(i, 10, 4), (2, 3), (2, 3, 4)),
    "RecurrentLayer": (lambda i: L.RecurrentLayer(i, 6), (2, 5, 3), (2, 5, 6)),
    "LSTMLayer": (lambda i: L.LSTMLayer(i, 6), (2, 5, 3), (2, 5, 6)),
    "GRULayer": (lambda i: L.GRULayer(i, 6), (2, 5, 3), (2, 5, 6)),
    "CustomRecurrentLayer": (lambda i: L.CustomRecurrentLayer(i, *_gate_layers()), (2, 5, 3), (2, 5, 6)),
    "TransformerLayer": (
        lambda i: L.TransformerLayer(i, L.DenseLayer(L.FlattenLayer(L.InputLayer((None, 3, 4, 5))), 6)),
        (2, 3, 4, 5),
        (2, 3, 4, 5),
    ),
}


def test_every_lasagne_layer_is_covered():
    layer_classes = {
        name for name in dir(L) if name.endswith("Layer") and isinstance(getattr(L, name), type)
        and name not in ("InputLayer", "Layer", "MergeLayer", "InverseLayer", "ConcatLayer", "ElemwiseMergeLayer",
                         "ElemwiseSumLayer", "Deconv2DLayer", "Deconv3DLayer", "Pool1DLayer", "Pool3DLayer",
                         "Upscale1DLayer", "Upscale3DLayer", "TPSTransformerLayer")
    }  # fmt: skip
    assert layer_classes <= set(CASES), sorted(layer_classes - set(CASES))


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_stand_in_incoming_builds_every_layer(name):
    make, in_shape, out_shape = CASES[name]
    stand_in = _m(*in_shape)
    layer = make(stand_in)
    if isinstance(layer, L.MergeLayer):  # recurrent and transformer layers merge (mask, localization...)
        assert layer.input_layers[0] is stand_in and tuple(layer.input_shapes[0]) == in_shape
    else:
        assert layer.input_layer is stand_in and tuple(layer.input_shape) == in_shape
    assert tuple(layer.output_shape) == out_shape
    assert L.get_all_layers(layer)[-1] is layer and stand_in in L.get_all_layers(layer)
    stand_in.get_params.return_value = []
    L.get_all_params(layer)  # walks through the stand-in


@pytest.mark.parametrize("name", ["DenseLayer", "Conv2DLayer", "LSTMLayer", "BatchNormLayer", "EmbeddingLayer"])
def test_the_stand_in_gets_its_expression_from_the_inputs_dict(name):
    make, in_shape, _ = CASES[name]
    stand_in = _m(*in_shape)
    layer = make(stand_in)
    var = T.tensor("int32" if name == "EmbeddingLayer" else graphc.config.floatX, shape=in_shape, name="x")
    out = L.get_output(layer, {stand_in: var}, deterministic=True)
    data = (np.arange(np.prod(in_shape)) % 7).reshape(in_shape).astype(var.dtype)
    assert graphc.function([var], out)(data).shape == CASES[name][2]


def test_merge_layers_take_stand_ins():
    a, b = _m(2, 3), _m(2, 5)
    assert L.ConcatLayer([a, b]).output_shape == (2, 8)
    assert L.ElemwiseSumLayer([_m(2, 3), _m(2, 3)]).output_shape == (2, 3)
    assert L.ElemwiseMergeLayer([_m(2, 3), _m(None, 3)], T.maximum).output_shape == (2, 3)
