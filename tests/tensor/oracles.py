"""Independent oracles shared by the tensor tests: central differences, and exported models in ONNX Runtime and onnx.reference."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import onnx
from onnx.reference import ReferenceEvaluator

import graphc
import graphc.tensor as T


def check_grad(build: Callable[..., Any], *arrays: np.ndarray, eps: float = 1e-6, rtol: float = 1e-6, rng: Any = None) -> None:
    """graphc.grad of the scalar ``build(*vars)`` against central differences (float64, random directions).

    Sizes of 1 are static (Theano's broadcastable dims): symbolic sizes never broadcast.
    """
    rng = np.random.default_rng(0) if rng is None else rng
    xs = [T.tensor("float64", shape=[1 if d == 1 else None for d in a.shape], name=f"x{k}") for k, a in enumerate(arrays)]
    cost = build(*xs)
    f_cost = graphc.function(xs, cost)
    grads = graphc.function(xs, graphc.grad(cost, xs))(*arrays)
    for k, a in enumerate(arrays):
        assert grads[k].shape == a.shape
        v = rng.standard_normal(a.shape)
        plus, minus = list(arrays), list(arrays)
        plus[k], minus[k] = a + eps * v, a - eps * v
        numeric = (f_cost(*plus) - f_cost(*minus)) / (2 * eps)
        np.testing.assert_allclose(np.sum(grads[k] * v), numeric, rtol=rtol, atol=1e-7)


def run_exported(outs: Any, inputs: Any, feed: dict[str, np.ndarray]) -> tuple[list[Any], list[Any]]:
    """Export, check (full), and run in both ONNX Runtime and onnx.reference; returns both results."""
    import onnxruntime as ort

    model = graphc.export.to_onnx(outs, inputs)
    onnx.checker.check_model(model, full_check=True)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, feed), ReferenceEvaluator(model).run(None, feed)
