"""Finite-difference checks (float64, random directions) of parameter and input gradients for Lasagne's layers."""

from __future__ import annotations

import numpy as np
import pytest

import graphc
import graphc.layers as L
import graphc.tensor as T

RNG = np.random.default_rng(23)


@pytest.fixture(autouse=True)
def float64():
    graphc.config.floatX = "float64"
    graphc.random.set_rng(np.random.RandomState(5))
    yield
    graphc.config.floatX = "float32"


def _builders():
    def conv_net(l_in):
        c = L.Conv2DLayer(l_in, 3, (3, 3), pad="same", nonlinearity=T.tanh)
        return L.MaxPool2DLayer(c, 2, ignore_border=False)

    return {
        "dense": ((2, 3, 4), lambda x: L.DenseLayer(x, 5, nonlinearity=T.tanh, num_leading_axes=2)),
        "nin": ((2, 3, 4, 5), lambda x: L.NINLayer(x, 2, untie_biases=True, nonlinearity=T.nnet.sigmoid)),
        "conv_pool": ((2, 2, 5, 6), conv_net),
        "conv1d_avgpool": ((2, 3, 7), lambda x: L.Pool1DLayer(L.Conv1DLayer(x, 2, 3, stride=2, nonlinearity=T.tanh), 2, mode="average_exc_pad")),
        "transposed_conv": ((2, 3, 4, 3), lambda x: L.TransposedConv2DLayer(x, 2, (2, 3), stride=(2, 1), nonlinearity=T.tanh)),
        "global_pool": ((2, 3, 4, 5), lambda x: L.GlobalPoolLayer(L.Conv2DLayer(x, 2, 2, nonlinearity=None), pool_function=T.max)),
        "upscale_featurepool": ((2, 4, 3, 2), lambda x: L.FeaturePoolLayer(L.Upscale2DLayer(x, 2), 2)),
        "batch_norm": ((4, 3, 2), lambda x: L.batch_norm(L.DenseLayer(x, 5, num_leading_axes=2, nonlinearity=T.tanh))),
        "layer_norm": ((4, 6), lambda x: L.layer_norm(L.DenseLayer(x, 5, nonlinearity=T.tanh))),
        "bias_scale_prelu": ((3, 4, 5), lambda x: L.prelu(L.ScaleLayer(L.BiasLayer(x, shared_axes=(0, 2))))),
        "lrn": ((2, 6, 3, 3), lambda x: L.LocalResponseNormalization2DLayer(L.Conv2DLayer(x, 6, 1, nonlinearity=None), n=3)),
        "shape_layers": ((2, 3, 4), lambda x: L.SliceLayer(L.PadLayer(L.DimshuffleLayer(L.ReshapeLayer(L.DenseLayer(x, 6, num_leading_axes=2), ([0], 2, 9)), (0, 2, 1)), 1), slice(1, -1), axis=1)),
        "merge": ((2, 3), lambda x: L.ConcatLayer([L.ElemwiseSumLayer([L.DenseLayer(x, 4), L.DenseLayer(x, 4, nonlinearity=T.tanh)], coeffs=[0.5, -2]), L.ElemwiseMergeLayer([L.DenseLayer(x, 4), L.DenseLayer(x, 4)], T.maximum)])),
        "dropout_deterministic_gauss": ((3, 4), lambda x: L.GaussianNoiseLayer(L.DropoutLayer(L.DenseLayer(x, 5), p=0.3))),
        "expression": ((3, 4), lambda x: L.ExpressionLayer(L.DenseLayer(x, 5, nonlinearity=T.tanh), T.sqr)),
    }


@pytest.mark.parametrize("name", sorted(_builders()))
def test_layer_gradients_match_finite_differences(name):
    shape, build = _builders()[name]
    l_in = L.InputLayer((None,) + shape[1:])
    layer = build(l_in)
    out = L.get_output(layer, deterministic=True)
    probe = RNG.normal(size=[s if s is not None else shape[0] for s in layer.output_shape])
    cost = T.sum(out * probe)
    params = L.get_all_params(layer, trainable=True)
    wrt = params + [l_in.input_var]
    grads = graphc.grad(cost, wrt)
    f = graphc.function([l_in.input_var], grads)
    fc = graphc.function([l_in.input_var], cost)
    x = RNG.normal(size=shape)
    got = f(x)
    eps = 1e-6
    for p, g in zip(params, got[:-1]):
        v = RNG.normal(size=g.shape)
        p0 = p.get_value()
        p.set_value(p0 + eps * v)
        cp = fc(x)
        p.set_value(p0 - eps * v)
        cm = fc(x)
        p.set_value(p0)
        np.testing.assert_allclose(np.sum(g * v), (cp - cm) / (2 * eps), rtol=2e-5, atol=1e-7, err_msg=p.name)
    v = RNG.normal(size=x.shape)
    np.testing.assert_allclose(np.sum(got[-1] * v), (fc(x + eps * v) - fc(x - eps * v)) / (2 * eps), rtol=2e-5, atol=1e-7)


def test_embedding_gradient_scatters_rows():
    l_in = L.InputLayer((None, 3), input_var=T.lmatrix("ids"))
    emb = L.EmbeddingLayer(l_in, input_size=5, output_size=2)
    ids = np.array([[0, 4, 0], [2, 2, 1]])
    cost = T.sum(L.get_output(emb) * np.arange(6.0).reshape(1, 3, 2))
    g = graphc.function([l_in.input_var], graphc.grad(cost, emb.W))(ids)
    want = np.zeros((5, 2))
    for r in range(2):
        for c in range(3):
            want[ids[r, c]] += np.arange(6.0).reshape(3, 2)[c]
    np.testing.assert_allclose(g, want)
