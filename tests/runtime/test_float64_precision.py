"""float64 graphs keep float64 precision through ONNX Runtime's graph rewrites (its MatMulScaleFusion
folds a scale into a matmul as a 32-bit float, so it is switched off)."""

from __future__ import annotations

import numpy as np

import graphc
import graphc.tensor as T
from graphc.runtime.providers import DISABLED_ORT_OPTIMIZERS


def test_scaled_float64_products_match_numpy_to_float64_precision():
    w = np.random.default_rng(0).normal(size=(5, 7))
    v = np.random.default_rng(1).normal(size=(7, 3))
    W, V = T.dmatrix("W"), T.dmatrix("V")
    f = graphc.function([W, V], [T.dot(W, W.T) * 0.3, 1.7 * T.dot(W, V)])
    got_sq, got_wv = f(w, v)
    np.testing.assert_allclose(got_sq, (w @ w.T) * 0.3, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(got_wv, 1.7 * (w @ v), rtol=1e-13, atol=1e-14)
    assert "MatMulScaleFusion" in DISABLED_ORT_OPTIMIZERS
