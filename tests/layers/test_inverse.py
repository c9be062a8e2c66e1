"""InverseLayer against the transposed maps written out in numpy."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import run_layer

import graphc.tensor as T
from graphc.layers import DenseLayer, InputLayer, InverseLayer, ReshapeLayer


def test_inverse_of_dense_layers_and_shapes(rng):
    l_in = InputLayer((None, 5))
    lin = DenseLayer(l_in, 3, nonlinearity=None)
    inv = InverseLayer(lin, lin)
    assert inv.output_shape == (None, 5)
    x = rng.normal(size=(4, 5)).astype(np.float32)
    W = lin.W.get_value()
    got, ref = run_layer(inv, x)
    np.testing.assert_allclose(got, (x @ W + lin.b.get_value()) @ W.T, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ref, got, rtol=1e-5, atol=1e-6)

    th = DenseLayer(l_in, 3, nonlinearity=T.tanh)
    u = DenseLayer(th, 3, nonlinearity=None)  # some other signal shaped like th's output
    inv2 = InverseLayer(u, th)
    W2, b2 = th.W.get_value(), th.b.get_value()
    pre = x @ W2 + b2
    uu = np.tanh(pre) @ u.W.get_value() + u.b.get_value()
    got2, _ = run_layer(inv2, x)
    np.testing.assert_allclose(got2, (uu * (1 - np.tanh(pre) ** 2)) @ W2.T, rtol=1e-4, atol=1e-5)


def test_inverse_of_a_reshape_and_errors(rng):
    l_in = InputLayer((None, 2, 3))
    flat = ReshapeLayer(l_in, ([0], 6))
    inv = InverseLayer(flat, flat)
    x = rng.normal(size=(4, 2, 3)).astype(np.float32)
    got, _ = run_layer(inv, x)
    np.testing.assert_allclose(got, x)
    with pytest.raises(ValueError, match="must match the inverted layer's output shape"):
        InverseLayer(l_in, flat)
    with pytest.raises(TypeError, match="must be a layer with one input layer"):
        InverseLayer(flat, "flat")
