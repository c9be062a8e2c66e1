"""Every dtype graphc bridges around a missing ONNX Runtime kernel gives numpy's values."""

from __future__ import annotations

import math

import numpy as np
import pytest

import graphc
import graphc.tensor as T
from graphc.export.kernels import WIDEN
from graphc.tensor.variable import apply_op

A = np.array([[-3, 7, 3, 0], [4, -2, 6, 1], [2, 5, -1, 1]])
B = np.array([[2, 1, 3, 1], [1, 2, 0, 2], [1, 3, 2, 2]])


def _arrays(dtype):
    if dtype == "bool":
        return A > 0, B > 1
    if dtype == "uint8":
        return np.abs(A).astype(dtype), B.astype(dtype)
    return A.astype(dtype), B.astype(dtype)


# ONNX op -> (graphc expression of x, y, numpy oracle)
BUILDERS = {
    "Neg": (lambda x, y: -x, lambda a, b: -a),
    "Erf": (lambda x, y: T.erf(x), lambda a, b: np.vectorize(math.erf)(a).astype(a.dtype)),
    "Pow": (lambda x, y: x**y, lambda a, b: a**b),
    "Max": (lambda x, y: T.maximum(x, y), np.maximum),
    "Min": (lambda x, y: T.minimum(x, y), np.minimum),
    "Where": (lambda x, y: T.switch(T.gt(x, y), x, y), lambda a, b: np.where(a > b, a, b)),
    "ReduceSum": (lambda x, y: apply_op("reduce_sum", [x], axes=(1,), keepdims=False), lambda a, b: a.sum(1).astype(a.dtype)),
    "ReduceProd": (lambda x, y: apply_op("reduce_prod", [x], axes=(0,), keepdims=True), lambda a, b: a.prod(0, keepdims=True).astype(a.dtype)),
    "ReduceMax": (lambda x, y: x.max(axis=1), lambda a, b: a.max(1)),
    "ReduceMin": (lambda x, y: x.min(axis=0), lambda a, b: a.min(0)),
    "ArgMax": (lambda x, y: x.argmax(axis=1), lambda a, b: a.argmax(1)),
    "ArgMin": (lambda x, y: x.argmin(axis=0), lambda a, b: a.argmin(0)),
    "Range": (lambda x, y: T.arange(1, 9, 3, dtype=x.dtype), lambda a, b: np.arange(1, 9, 3, dtype=a.dtype)),
}

CASES = [(op, dt) for op, table in WIDEN.items() for dt in table]


def test_every_widening_has_a_case():
    assert set(WIDEN) == set(BUILDERS)


@pytest.mark.parametrize(("op_type", "dtype"), CASES, ids=[f"{o}-{d}" for o, d in CASES])
def test_widened_kernel_matches_numpy(op_type, dtype):
    build, oracle = BUILDERS[op_type]
    a, b = _arrays(dtype)
    if op_type == "Erf":
        a, b = a / 4.0, b / 4.0
    if op_type == "Where" and dtype == "bool":
        a, b = a.astype(np.int32), b.astype(np.int32)
        x, y = T.imatrix("x"), T.imatrix("y")
        out = T.switch(T.gt(x, y), T.gt(x, 0), T.gt(y, 1))
        want = np.where(a > b, a > 0, b > 1)
    else:
        x, y = T.tensor(dtype, 2, name="x"), T.tensor(dtype, 2, name="y")
        out = build(x, y)
        want = oracle(a, b)
    f = graphc.function([x, y], out, on_unused_input="ignore", optimize="O0")  # the lowering itself, unfolded
    assert any(n.op_type == "Cast" for n in f.onnx_model.graph.node)  # the bridge is really there
    got = f(a, b)
    assert got.dtype == np.asarray(want).dtype
    if op_type == "Erf":
        np.testing.assert_allclose(got, want, rtol=2e-7, atol=1e-7)  # computed in float32
    else:
        np.testing.assert_array_equal(got, want)
