"""The dtype rules of graphc/tensor/elemwise.py, variable constructors, casts, shared casts."""

import numpy as np
import pytest

import graphc
import graphc.tensor as T
from graphc import config

IV = np.array([-7, -3, 0, 5, 9], np.int32)
JV = np.array([2, -2, 3, 4, -5], np.int32)
FV = np.array([-2.7, -0.5, 0.0, 1.5, 2.5], np.float32)


@pytest.fixture
def floatx():
    """Restore config.floatX after a test changes it."""
    old = config.floatX
    yield config
    config.floatX = old


def _same(got, want, **kw):
    got = np.asarray(got)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, **kw)


@pytest.mark.parametrize(
    "expr,dtype",
    [
        (lambda i, k, f, d, b: i + f, "float32"),
        (lambda i, k, f, d, b: k + f, "float32"),
        (lambda i, k, f, d, b: i + k, "int64"),
        (lambda i, k, f, d, b: f + d, "float64"),
        (lambda i, k, f, d, b: b + i, "int32"),
        (lambda i, k, f, d, b: i * 2, "int32"),
        (lambda i, k, f, d, b: 2 * i, "int32"),
        (lambda i, k, f, d, b: i * 2.5, "float32"),
        (lambda i, k, f, d, b: f * 2.5, "float32"),
        (lambda i, k, f, d, b: f + 2, "float32"),
        (lambda i, k, f, d, b: d * 0.5, "float64"),
        (lambda i, k, f, d, b: b + 1, "int64"),
        (lambda i, k, f, d, b: b + 1.5, "float32"),
        (lambda i, k, f, d, b: i / i, "float32"),
        (lambda i, k, f, d, b: k / 2, "float32"),
        (lambda i, k, f, d, b: T.true_div(i, k), "float32"),
        (lambda i, k, f, d, b: d / i, "float64"),
        (lambda i, k, f, d, b: i // 2, "int32"),
        (lambda i, k, f, d, b: T.int_div(i, k), "int64"),
        (lambda i, k, f, d, b: i % 3, "int32"),
        (lambda i, k, f, d, b: i**2, "int32"),
        (lambda i, k, f, d, b: i**0.5, "float32"),
        (lambda i, k, f, d, b: f**2, "float32"),
        (lambda i, k, f, d, b: i < 1, "bool"),
        (lambda i, k, f, d, b: T.eq(f, d), "bool"),
        (lambda i, k, f, d, b: T.neq(i, 1.5), "bool"),
        (lambda i, k, f, d, b: b & (i > 0), "bool"),
        (lambda i, k, f, d, b: ~b, "bool"),
        (lambda i, k, f, d, b: T.exp(i), "float32"),
        (lambda i, k, f, d, b: T.sqrt(k), "float32"),
        (lambda i, k, f, d, b: T.exp(d), "float64"),
        (lambda i, k, f, d, b: abs(i), "int32"),
        (lambda i, k, f, d, b: T.maximum(i, 0.5), "float32"),
        (lambda i, k, f, d, b: T.cast(f, "int32"), "int32"),
        (lambda i, k, f, d, b: T.cast(i, "float64"), "float64"),
        (lambda i, k, f, d, b: f.astype("int8"), "int8"),
        (lambda i, k, f, d, b: T.switch(i, f, 0), "float32"),
        (lambda i, k, f, d, b: T.switch(b, i, k), "int64"),
        (lambda i, k, f, d, b: T.mean(i), "float32"),
    ],
)
def test_promotion_rules(expr, dtype):
    i, k, f, d, b = T.ivector("i"), T.lvector("l"), T.fvector("f"), T.dvector("d"), T.vector("b", dtype="bool")
    assert expr(i, k, f, d, b).dtype == dtype


def test_small_int_kinds():
    i8, u8 = T.tensor("int8", 1, name="i8"), T.tensor("uint8", 1, name="u8")
    assert (i8 + u8).dtype == "int16"
    assert (u8 + 1).dtype == "uint8"


def test_values_follow_the_promoted_dtypes():
    i, j, f = T.ivector("i"), T.ivector("j"), T.fvector("f")
    fn = graphc.function(
        [i, j, f],
        [i / j, i // j, i % j, f // 2, f % -1.5, i + f, i * 2.5, i < 1, (i > 0) + 1, i**2, T.maximum(i, 0.5)],
    )
    got = fn(IV, JV, FV)
    want = [
        (IV / JV).astype(np.float32),
        IV // JV,
        IV % JV,
        FV // np.float32(2),
        FV % np.float32(-1.5),
        IV.astype(np.float32) + FV,
        (IV * 2.5).astype(np.float32),
        IV < 1,
        (IV > 0).astype(np.int64) + 1,
        IV**2,
        np.maximum(IV, 0.5).astype(np.float32),
    ]
    for g, w in zip(got, want):
        _same(g, w, rtol=1e-6)


def test_cast_values():
    f = T.fvector("f")
    fn = graphc.function([f], [T.cast(f, "int32"), T.cast(f, "bool"), T.cast(f, "float64"), T.cast(f * 100, "int8")])
    got = fn(FV)
    _same(got[0], FV.astype(np.int32))  # truncation towards zero, as numpy
    _same(got[1], FV.astype(bool))
    _same(got[2], FV.astype(np.float64))
    _same(got[3], (FV * 100).astype(np.int8))


def test_cast_to_the_same_dtype_is_a_no_op():
    f = T.fvector("f")
    assert T.cast(f, "float32") is f
    with pytest.raises(TypeError):
        T.cast(f, "complex64")


def test_switch_with_non_bool_condition():
    i, f = T.ivector("i"), T.fvector("f")
    fn = graphc.function([i, f], [T.switch(i, f, -1.0), T.switch(f, 1, 0), T.where(i - 5, i, 100)])
    a, b, c = fn(IV, FV)
    _same(a, np.where(IV != 0, FV, np.float32(-1)))
    _same(b, np.where(FV != 0, 1, 0).astype(np.int64))
    _same(c, np.where(IV - 5 != 0, IV, 100).astype(np.int32))


def test_logical_ops_need_bool():
    with pytest.raises(TypeError):
        T.ivector("i") & T.vector("b", dtype="bool")
    with pytest.raises(TypeError):
        ~T.fvector("f")


def test_constructor_dtypes():
    assert T.matrix().dtype == "float32"
    assert T.matrix("m").type.ndim == 2
    assert T.scalar().dtype == T.vector().dtype == T.tensor3().dtype == T.tensor4().dtype == "float32"
    assert (T.dmatrix().dtype, T.dvector().dtype, T.dscalar().dtype) == ("float64",) * 3
    assert (T.fmatrix().dtype, T.fvector().dtype, T.fscalar().dtype, T.ftensor3().dtype) == ("float32",) * 4
    assert (T.imatrix().dtype, T.ivector().dtype, T.iscalar().dtype) == ("int32",) * 3
    assert (T.lmatrix().dtype, T.lvector().dtype, T.lscalar().dtype) == ("int64",) * 3
    assert (T.bmatrix().dtype, T.bvector().dtype) == ("int8", "int8")  # Theano: b is int8
    assert T.matrix(dtype="int16").dtype == "int16"
    t = T.tensor("int16", 3)
    assert (t.dtype, t.ndim) == ("int16", 3)
    t = T.tensor(dtype="float64", ndim=2, name="t")
    assert (t.dtype, t.ndim, t.name) == ("float64", 2, "t")
    assert T.tensor(ndim=4).dtype == "float32"
    assert T.tensor("float32", broadcastable=(True, False)).broadcastable == (True, False)
    assert T.tensor("float32", shape=(None, 3)).type.shape[1] == 3


def test_constructor_errors():
    with pytest.raises(TypeError):
        T.tensor("complex64", 2)
    with pytest.raises(TypeError):
        T.tensor("float32")
    with pytest.raises(ValueError):
        T.tensor("float32", 2, shape=(3,))
    with pytest.raises(ValueError):
        T.matrix(shape=(3, -2))


def test_floatx_setting_drives_defaults(floatx):
    floatx.floatX = "float64"
    assert T.matrix().dtype == "float64"
    assert (T.ivector() / 2).dtype == "float64"
    assert (T.ivector() * 0.5).dtype == "float64"
    assert T.constant(1.5).dtype == "float64"
    assert graphc.shared(np.zeros(3)).dtype == "float64"
    with pytest.raises(ValueError):
        floatx.floatX = "int32"


def test_constants():
    assert T.constant(1.5).dtype == "float32"
    assert T.constant(2).dtype == "int64"
    assert T.constant(np.float64(1.5)).dtype == "float64"
    assert T.constant(np.arange(3, dtype=np.int16)).dtype == "int16"
    assert T.constant([1, 2], dtype="float32").dtype == "float32"
    with pytest.raises(TypeError):
        T.constant("abc")


def test_numpy_operands_are_strong():
    f = T.fvector("f")
    assert (np.ones(3) * f).dtype == "float64"
    assert (np.ones(3, np.float32) + T.ivector("i")).dtype == "float32"
    assert isinstance(np.ones(3, np.float32) + f, T.Variable)


def test_shared_float64_becomes_floatx():
    assert graphc.shared(np.zeros((2, 3))).dtype == "float32"
    assert graphc.shared(np.zeros((2, 3)), strict=True).dtype == "float64"
    assert graphc.shared(np.zeros((2, 3)), dtype="float64").dtype == "float64"
    assert graphc.shared(np.zeros(3, np.float32), dtype="int32").dtype == "int32"
    assert graphc.shared(1.5).dtype == "float32"
    assert graphc.shared(3).dtype == "int64"
    assert graphc.shared(np.zeros(3, np.int32)).dtype == "int32"
    assert graphc.shared(np.zeros(3, np.float16)).dtype == "float16"
    w = graphc.shared(np.arange(6.0).reshape(2, 3))
    assert w.get_value().dtype == np.float32


def test_function_casts_inputs_of_the_same_kind():
    x = T.fvector("x")
    f = graphc.function([x], x * 2)
    _same(f(np.array([1.0, 2.0])), np.array([2.0, 4.0], np.float32))
    _same(f([1, 2]), np.array([2.0, 4.0], np.float32))
    i = T.ivector("i")
    g = graphc.function([i], i * 1)
    with pytest.raises(TypeError):
        g(np.array([1.5, 2.0]))  # float -> int changes the kind
