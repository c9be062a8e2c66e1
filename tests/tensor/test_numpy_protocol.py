"""Numpy functions and ufuncs on symbolic variables build graphc ops (graphc.tensor.variable_numpy)."""

import numpy as np
import pytest

import graphc
import graphc.tensor as T
from graphc.tensor.variable import Variable

RNG = np.random.default_rng(7)
A = RNG.random((3, 4)).astype(np.float32) + 0.1
B = RNG.random((3, 4)).astype(np.float32)

CASES = {
    "sum": (lambda x, y: np.sum(x), lambda a, b: np.sum(a)),
    "sum_axis_keepdims": (lambda x, y: np.sum(x, axis=0, keepdims=True), lambda a, b: np.sum(a, 0, keepdims=True)),
    "sum_dtype": (lambda x, y: np.sum(x, dtype="float64"), lambda a, b: np.sum(a, dtype="float64")),
    "mean": (lambda x, y: np.mean(x, 1), lambda a, b: np.mean(a, 1)),
    "max": (lambda x, y: np.max(x), lambda a, b: np.max(a)),
    "amin_axis": (lambda x, y: np.amin(x, axis=1), lambda a, b: np.amin(a, axis=1)),
    "prod": (lambda x, y: np.prod(x, axis=0), lambda a, b: np.prod(a, axis=0)),
    "std_ddof": (lambda x, y: np.std(x, ddof=1), lambda a, b: np.std(a, ddof=1)),
    "var_axis": (lambda x, y: np.var(x, axis=1, keepdims=True), lambda a, b: np.var(a, axis=1, keepdims=True)),
    "argmax": (lambda x, y: np.argmax(x, axis=1), lambda a, b: np.argmax(a, axis=1)),
    "dot": (lambda x, y: np.dot(x, y.T), lambda a, b: np.dot(a, b.T)),
    "matmul_ufunc": (lambda x, y: np.matmul(x, y.T), lambda a, b: np.matmul(a, b.T)),
    "exp": (lambda x, y: np.exp(x), lambda a, b: np.exp(a)),
    "log_sqrt_abs": (lambda x, y: np.log(np.sqrt(np.abs(x))), lambda a, b: np.log(np.sqrt(np.abs(a)))),
    "tanh": (lambda x, y: np.tanh(x), lambda a, b: np.tanh(a)),
    "maximum": (lambda x, y: np.maximum(x, 0.5), lambda a, b: np.maximum(a, 0.5)),
    "ndarray_plus_var": (lambda x, y: np.ones((3, 4), np.float32) + x, lambda a, b: 1 + a),
    "ndarray_times_var": (lambda x, y: np.full((1, 4), 2, np.float32) * x, lambda a, b: 2 * a),
    "power": (lambda x, y: np.power(x, 2), lambda a, b: a**2),
    "less": (lambda x, y: np.less(x, y), lambda a, b: a < b),
    "add_reduce": (lambda x, y: np.add.reduce(x, axis=1), lambda a, b: np.add.reduce(a, axis=1)),
    "maximum_reduce": (lambda x, y: np.maximum.reduce(x), lambda a, b: np.maximum.reduce(a)),
    "where": (lambda x, y: np.where(x > 0.5, x, y), lambda a, b: np.where(a > 0.5, a, b)),
    "clip": (lambda x, y: np.clip(x, 0.3, 0.7), lambda a, b: np.clip(a, 0.3, 0.7)),
    "concatenate": (lambda x, y: np.concatenate([x, y], axis=1), lambda a, b: np.concatenate([a, b], axis=1)),
    "stack": (lambda x, y: np.stack([x, y]), lambda a, b: np.stack([a, b])),
    "transpose": (lambda x, y: np.transpose(x), lambda a, b: np.transpose(a)),
    "reshape": (lambda x, y: np.reshape(x, (4, 3)), lambda a, b: np.reshape(a, (4, 3))),
    "tensordot": (lambda x, y: np.tensordot(x, y, axes=([1], [1])), lambda a, b: np.tensordot(a, b, ([1], [1]))),
    "cumsum": (lambda x, y: np.cumsum(x, axis=1), lambda a, b: np.cumsum(a, axis=1)),
    "round": (lambda x, y: np.round(x * 4), lambda a, b: np.round(a * 4)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_numpy_call_builds_a_graph_and_matches_numpy(name):
    sym, ref = CASES[name]
    x, y = T.matrix("x"), T.matrix("y")
    out = sym(x, y)
    assert isinstance(out, Variable)
    got = graphc.function([x, y], out, on_unused_input="ignore")(A, B)
    expected = ref(A, B)
    np.testing.assert_allclose(got, expected, rtol=2e-5, atol=1e-6)
    assert got.shape == np.shape(expected)


def test_methods_take_numpy_keywords():
    x = T.matrix("x")
    outs = [x.sum(axis=0, dtype="float64", out=None), x.mean(dtype="float64"), x.max(axis=1, out=None, keepdims=True),
            x.std(axis=0, ddof=1, dtype="float64"), x.prod(dtype="float64")]
    assert [o.dtype for o in outs[:2]] == ["float64", "float64"] and outs[3].dtype == "float64"
    got = graphc.function([x], outs)(A)
    np.testing.assert_allclose(got[0], A.sum(0), rtol=1e-5)
    np.testing.assert_allclose(got[2], A.max(1, keepdims=True))
    np.testing.assert_allclose(got[3], A.std(0, ddof=1), rtol=1e-5)
    np.testing.assert_allclose(got[4], A.prod(), rtol=1e-5)


def test_theano_argument_order_of_methods():
    x = T.matrix("x")
    assert x.sum(0, "float64").dtype == "float64"  # Theano: sum(axis, dtype, keepdims)
    np.testing.assert_allclose(graphc.function([x], x.var(1, 1))(A), A.var(1, ddof=1), rtol=1e-5)


def test_out_is_a_type_error():
    x = T.matrix("x")
    buf = np.zeros((), np.float32)
    with pytest.raises(TypeError, match="out="):
        np.sum(x, out=buf)
    with pytest.raises(TypeError, match="out="):
        x.mean(out=buf)
    with pytest.raises(TypeError, match="out="):
        np.exp(x, out=np.zeros((3, 4), np.float32))


def test_unsupported_ufunc_methods_and_arguments_are_type_errors():
    x = T.vector("x")
    with pytest.raises(TypeError, match="accumulate"):
        np.add.accumulate(x)
    with pytest.raises(TypeError, match="where"):
        np.sum(x, where=np.ones(3, bool))
    with pytest.raises(TypeError, match="decimals"):
        np.round(x, 2)


def test_other_numpy_functions_keep_numpy_behaviour():
    x = T.matrix("x")
    assert np.ndim(x) == 2
    assert np.iterable([x])
