"""Every dtype graphc accepts (graphc.ir.types.DTYPES) runs through the common ops in a
compiled function and gives numpy's values in numpy's dtype."""

import numpy as np
import pytest

import graphc
import graphc.tensor as T

INTS = ["int8", "uint8", "int16", "int32", "int64"]
FLOATS = ["float16", "float32", "float64"]


def _xfail(reason):
    return pytest.mark.xfail(strict=True, reason=reason)



# (dtype, op name) -> reason, for combinations graphc accepts at construction but cannot run
KNOWN_FAILURES: dict[tuple[str, str], str] = {}  # ONNX Runtime kernel gaps are bridged by graphc.export.kernels


def _data(dtype):
    if dtype == "uint8":
        return np.array([[1, 7, 3], [4, 2, 6]], dtype), np.array([[2, 1, 3], [1, 5, 2]], dtype)
    if dtype in INTS:
        return np.array([[-3, 7, 3], [4, -2, 6]], dtype), np.array([[2, -1, 3], [1, 5, -2]], dtype)
    return (
        np.array([[-1.5, 0.25, 3.0], [4.0, -2.5, 0.5]], dtype),
        np.array([[2.0, -1.0, 1.5], [0.5, 3.0, -2.0]], dtype),
    )


# name -> (symbolic, numpy); binary ops take (x, y)
COMMON = {
    "add": (lambda x, y: x + y, lambda a, b: a + b),
    "sub": (lambda x, y: x - y, lambda a, b: a - b),
    "mul": (lambda x, y: x * y, lambda a, b: a * b),
    "floor_div": (lambda x, y: x // y, lambda a, b: a // b),
    "mod": (lambda x, y: x % y, lambda a, b: a % b),
    "pow": (lambda x, y: x ** abs(y), lambda a, b: a ** np.abs(b)),
    "maximum": (lambda x, y: T.maximum(x, y), np.maximum),
    "minimum": (lambda x, y: T.minimum(x, y), np.minimum),
    "lt": (lambda x, y: x < y, lambda a, b: a < b),
    "eq": (lambda x, y: T.eq(x, y), lambda a, b: a == b),
    "switch": (lambda x, y: T.switch(x > y, x, y), lambda a, b: np.where(a > b, a, b)),
    "concat": (lambda x, y: T.concatenate([x, y], axis=-1), lambda a, b: np.concatenate([a, b], axis=-1)),
    "neg": (lambda x, y: -x, lambda a, b: -a),
    "abs": (lambda x, y: abs(x), lambda a, b: np.abs(a)),
    "sgn": (lambda x, y: T.sgn(x), lambda a, b: np.sign(a)),
    "sqr": (lambda x, y: T.sqr(x), lambda a, b: a * a),
    "relu": (lambda x, y: T.nnet.relu(x), lambda a, b: np.maximum(a, 0).astype(a.dtype)),
    "getitem": (lambda x, y: x[::-1, 1], lambda a, b: a[::-1, 1]),
    "take": (lambda x, y: x[:, [2, 0, 2]], lambda a, b: a[:, [2, 0, 2]]),
    "reshape": (lambda x, y: x.reshape((3, -1)).T, lambda a, b: a.reshape(3, -1).T),
    "alloc": (lambda x, y: T.alloc(x, 2, 2, 3), lambda a, b: np.broadcast_to(a, (2, 2, 3)).copy()),
    "sum": (lambda x, y: x.sum(axis=0), lambda a, b: a.sum(axis=0)),
    "prod": (lambda x, y: x.prod(axis=1), lambda a, b: a.prod(axis=1)),
    "max": (lambda x, y: x.max(axis=1), lambda a, b: a.max(axis=1)),
    "min": (lambda x, y: x.min(), lambda a, b: a.min()),
    "argmax": (lambda x, y: x.argmax(axis=1), lambda a, b: a.argmax(axis=1)),
    "argmin": (lambda x, y: x.argmin(axis=0), lambda a, b: a.argmin(axis=0)),
    "cast": (lambda x, y: T.cast(x, "float32"), lambda a, b: a.astype(np.float32)),
}
FLOAT_ONLY = {
    "div": (lambda x, y: x / y, lambda a, b: a / b),
    "exp": (lambda x, y: T.exp(x), lambda a, b: np.exp(a)),
    "log": (lambda x, y: T.log(abs(x)), lambda a, b: np.log(np.abs(a))),
    "sqrt": (lambda x, y: T.sqrt(abs(x)), lambda a, b: np.sqrt(np.abs(a))),
    "tanh": (lambda x, y: T.tanh(x), lambda a, b: np.tanh(a)),
    "sigmoid": (lambda x, y: T.nnet.sigmoid(x), lambda a, b: 1 / (1 + np.exp(-a))),
    "softplus": (lambda x, y: T.nnet.softplus(x), lambda a, b: np.logaddexp(0, a)),
    "floor": (lambda x, y: T.floor(x), lambda a, b: np.floor(a)),
    "round": (lambda x, y: T.round(x), lambda a, b: np.round(a)),
    "erf": (lambda x, y: T.erf(x), None),
    "softmax": (lambda x, y: T.nnet.softmax(x), lambda a, b: np.exp(a) / np.exp(a).sum(axis=-1, keepdims=True)),
    "mean": (lambda x, y: x.mean(axis=1), lambda a, b: a.mean(axis=1)),
}

CASES = [(dt, name) for dt in INTS + FLOATS for name in COMMON] + [(dt, name) for dt in FLOATS for name in FLOAT_ONLY]


def _erf(a):
    from math import erf

    return np.vectorize(erf)(a.astype(np.float64)).astype(a.dtype)


@pytest.mark.parametrize(
    "dtype,name",
    [
        pytest.param(dt, n, marks=_xfail(KNOWN_FAILURES[dt, n])) if (dt, n) in KNOWN_FAILURES else (dt, n)
        for dt, n in CASES
    ],
)
def test_op_runs_in_dtype(dtype, name):
    sym, ref = {**COMMON, **FLOAT_ONLY}[name]
    ref = ref or (lambda a, b: _erf(a))
    x, y = T.tensor(dtype, 2, name="x"), T.tensor(dtype, 2, name="y")
    out = sym(x, y)
    a, b = _data(dtype)
    want = np.asarray(ref(a, b))
    if name in ("sum", "prod") and dtype in INTS:
        want = want.astype(np.int64)  # ints accumulate in int64
    f = graphc.function([x, y], out, on_unused_input="ignore")
    got = np.asarray(f(a, b))
    assert got.dtype == want.dtype and out.dtype == want.dtype.name
    assert got.shape == want.shape
    tol = 2e-3 if dtype == "float16" else 1e-6
    np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), rtol=tol, atol=tol)
