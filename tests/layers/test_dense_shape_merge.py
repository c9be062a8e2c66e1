"""DenseLayer, NINLayer, the shape layers and the merge layers against numpy."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import run_layer

import graphc as lasagne
import graphc.tensor as T
from graphc.layers import (
    ConcatLayer,
    DenseLayer,
    DimshuffleLayer,
    ElemwiseMergeLayer,
    ElemwiseSumLayer,
    FlattenLayer,
    InputLayer,
    NINLayer,
    PadLayer,
    ReshapeLayer,
    SliceLayer,
)


def _check(layer, x, want, *more):
    got, ref = run_layer(layer, x, *more)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ref, want, rtol=1e-5, atol=1e-6)
    shape = layer.output_shape
    assert len(shape) == got.ndim and all(s is None or s == g for s, g in zip(shape, got.shape))


@pytest.mark.parametrize("lead", [1, 2, -1])
def test_dense_num_leading_axes(rng, lead):
    x = rng.normal(size=(3, 4, 5, 2)).astype(np.float32)
    l_in = InputLayer((None, 4, 5, 2))
    layer = DenseLayer(l_in, num_units=6, num_leading_axes=lead, nonlinearity=T.tanh, name="d")
    W, b = layer.W.get_value(), layer.b.get_value()
    k = lead % 4 if lead < 0 else lead
    want = np.tanh(x.reshape(x.shape[:k] + (-1,)) @ W + b)
    _check(layer, x, want)
    assert layer.output_shape == (None, 4, 5)[:k] + (6,)
    assert {p.name: layer.params[p] for p in layer.params} == {"d.W": {"trainable", "regularizable"}, "d.b": {"trainable"}}


def test_dense_errors():
    with pytest.raises(ValueError, match=r"DenseLayer 'd': got num_leading_axes=2 for a 2-dimensional input"):
        DenseLayer(InputLayer((None, 3)), 4, num_leading_axes=2, name="d")
    with pytest.raises(ValueError, match=r"DenseLayer needs a fixed input shape for all but the first 1"):
        DenseLayer(InputLayer((None, None)), 4)
    with pytest.raises(ValueError, match=r"DenseLayer 'd': cannot initialize parameter 'd.W': the provided numpy array has shape \(3, 5\), should be \(3, 4\)"):
        DenseLayer(InputLayer((None, 3)), 4, W=np.zeros((3, 5)), name="d")
    with pytest.raises(ValueError, match="num_units must be a positive int"):
        DenseLayer(InputLayer((None, 3)), 0)
    with pytest.raises(ValueError, match="non-positive"):
        InputLayer((None, 0))


@pytest.mark.parametrize("untie", [False, True])
def test_nin_layer(rng, untie):
    x = rng.normal(size=(2, 3, 4, 5)).astype(np.float32)
    layer = NINLayer(InputLayer((None, 3, 4, 5)), num_units=6, untie_biases=untie)
    W, b = layer.W.get_value(), layer.b.get_value()
    bias = b[None] if untie else b[None, :, None, None]
    want = np.maximum(np.einsum("bchw,cu->buhw", x, W) + bias, 0)
    _check(layer, x, want)
    assert layer.b.get_value().shape == ((6, 4, 5) if untie else (6,))


def test_flatten_reshape_dimshuffle(rng):
    x = rng.normal(size=(2, 3, 4, 5)).astype(np.float32)
    l_in = InputLayer((None, 3, 4, 5))
    _check(FlattenLayer(l_in), x, x.reshape(2, -1))
    _check(FlattenLayer(l_in, outdim=3), x, x.reshape(2, 3, -1))
    assert FlattenLayer(l_in, outdim=3).output_shape == (None, 3, 20)
    r = ReshapeLayer(l_in, ([0], [2], -1))
    assert r.output_shape == (None, 4, 15)  # the referenced sizes cancel: 3 * 5 remain for -1
    _check(r, x, x.reshape(2, 4, -1))
    r2 = ReshapeLayer(l_in, (-1, 20))
    assert r2.output_shape == (None, 20)
    _check(r2, x, x.reshape(-1, 20))
    d = DimshuffleLayer(l_in, (0, 3, "x", 1, 2))
    assert d.output_shape == (None, 5, 1, 3, 4)
    _check(d, x, x.transpose(0, 3, 1, 2)[:, :, None])
    with pytest.raises(ValueError, match="cannot reshape an input of shape"):
        ReshapeLayer(InputLayer((2, 3)), (4, -1))
    with pytest.raises(ValueError, match="cannot reshape an input of shape"):
        ReshapeLayer(l_in, ([0], 3, 12))  # 3 * 4 * 5 != 3 * 12 whatever the batch size
    with pytest.raises(ValueError, match="cannot contain multiple -1"):
        ReshapeLayer(l_in, (-1, -1))
    with pytest.raises(ValueError, match="drops input dim 1, whose size is 3"):
        DimshuffleLayer(l_in, (0, 2, 3))


def test_reshape_with_symbolic_sizes_as_in_the_recurrent_tutorial(rng):
    l_in = InputLayer((None, None, 2))
    n_batch, n_time_steps, n_features = l_in.input_var.shape
    l_flat = ReshapeLayer(l_in, (-1, 2))
    l_dense = DenseLayer(l_flat, num_units=1, nonlinearity=T.tanh)
    l_out = ReshapeLayer(l_dense, (n_batch, n_time_steps))
    assert l_out.output_shape == (None, None)
    f = lasagne.function([l_in.input_var], lasagne.layers.get_output(l_out))
    W, b = l_dense.W.get_value(), l_dense.b.get_value()
    for shape in [(3, 7, 2), (5, 2, 2)]:
        x = rng.normal(size=shape).astype(np.float32)
        np.testing.assert_allclose(f(x), np.tanh(x.reshape(-1, 2) @ W + b).reshape(shape[:2]), rtol=1e-5)


def test_pad_and_slice(rng):
    x = rng.normal(size=(2, 3, 4)).astype(np.float32)
    l_in = InputLayer((None, 3, 4))
    p = PadLayer(l_in, width=[(1, 2)], val=-1, batch_ndim=2)
    assert p.output_shape == (None, 3, 7)
    _check(p, x, np.pad(x, [(0, 0), (0, 0), (1, 2)], constant_values=-1))
    _check(PadLayer(l_in, 1, batch_ndim=1), x, np.pad(x, [(0, 0), (1, 1), (1, 1)]))
    s = SliceLayer(l_in, indices=slice(-3, None, 2), axis=-1)
    assert s.output_shape == (None, 3, 2)
    _check(s, x, x[:, :, -3::2])
    s2 = SliceLayer(l_in, indices=-1, axis=1)
    assert s2.output_shape == (None, 4)
    _check(s2, x, x[:, -1])


def test_concat_sum_merge_and_cropping(rng):
    a = rng.normal(size=(2, 3, 5)).astype(np.float32)
    b = rng.normal(size=(2, 4, 5)).astype(np.float32)
    la, lb = InputLayer((None, 3, 5)), InputLayer((None, 4, 5))
    c = ConcatLayer([la, lb], axis=1)
    assert c.output_shape == (None, 7, 5)
    _check(c, a, np.concatenate([a, b], 1), b)
    b2 = rng.normal(size=(2, 3, 5)).astype(np.float32)
    lb2 = InputLayer((None, 3, 5))
    s = ElemwiseSumLayer([la, lb2], coeffs=[2, -0.5])
    _check(s, a, 2 * a - 0.5 * b2, b2)
    m = ElemwiseMergeLayer([la, lb2], T.maximum)
    _check(m, a, np.maximum(a, b2), b2)
    with pytest.raises(ValueError, match="must be the same except in the concatenation axis"):
        ConcatLayer([la, InputLayer((None, 3, 6))], axis=1)
    with pytest.raises(ValueError, match="mismatch"):
        ElemwiseSumLayer([la, lb])
    with pytest.raises(ValueError, match="got 3 coeffs for 2 incomings"):
        ElemwiseSumLayer([la, lb2], coeffs=[1, 2, 3])
    # cropping: lower / center / upper on axis 1 and 2
    big = rng.normal(size=(2, 6, 7)).astype(np.float32)
    lbig = InputLayer((None, 6, 7))
    crop = ConcatLayer([la, lbig], axis=0, cropping=[None, "center", "upper"])
    assert crop.output_shape == (None, 3, 5)
    _check(crop, a, np.concatenate([a, big[:, 1:4, 2:7]], 0), big)
    crop2 = ElemwiseSumLayer([la, lbig], cropping=[None, "lower", "center"])
    _check(crop2, a, a + big[:, :3, 1:6], big)
