"""Errors raised while building expressions, before anything runs."""

import numpy as np
import pytest

import graphc
import graphc.tensor as T


def test_add_of_non_broadcastable_static_shapes_names_both():
    x, v = T.matrix("x", shape=(3, 4)), T.vector("v", shape=(5,))
    with pytest.raises(ValueError) as err:
        x + v
    assert "(3, 4)" in str(err.value) and "(5,)" in str(err.value)
    with pytest.raises(ValueError, match=r"\(3, 4\).*\(5,\)"):
        T.mul(x, v)


def test_broadcasting_static_shapes_that_fit():
    x = T.matrix("x", shape=(3, 4))
    assert (x + T.vector("v", shape=(4,))).type.shape == (3, 4)
    assert (x + T.matrix("c", shape=(3, 1))).type.shape == (3, 4)
    assert (T.matrix("r", shape=(1, 4)) * T.matrix("c", shape=(3, 1))).type.shape == (3, 4)
    assert (x + T.vector("s")).type.shape == (3, 4)  # a symbolic size is assumed to fit


def test_add_with_a_numpy_array_of_the_wrong_shape():
    with pytest.raises(ValueError):
        T.matrix("x", shape=(3, 4)) + np.ones((2, 4), np.float32)


@pytest.mark.parametrize(
    "a_shape,b_shape",
    [((3, 4), (3, 2)), ((3, 4), (5,)), ((4,), (3, 2)), ((2, 3, 4), (5, 2))],
)
def test_dot_of_misaligned_static_shapes_raises(a_shape, b_shape):
    a = T.tensor("float32", shape=a_shape, name="a")
    b = T.tensor("float32", shape=b_shape, name="b")
    with pytest.raises(ValueError):
        T.dot(a, b)
    with pytest.raises(ValueError):
        T.dot(np.ones(a_shape, np.float32), b)


def test_dot_of_aligned_static_shapes():
    a = T.matrix("a", shape=(3, 4))
    assert T.dot(a, T.matrix("b", shape=(4, 2))).type.shape == (3, 2)
    assert T.dot(a, T.vector("v", shape=(4,))).type.shape == (3,)
    assert T.dot(T.tensor3("t", shape=(2, 3, 4)), T.matrix("b", shape=(4, 5))).type.shape == (2, 3, 5)


def test_dot_values_match_numpy_dot():
    rng = np.random.default_rng(0)
    a, b, t, v = T.matrix("a"), T.matrix("b"), T.tensor3("t"), T.vector("v")
    t3 = T.tensor3("t3")
    f = graphc.function([a, b, t, v, t3], [T.dot(a, b), T.dot(a, v), T.dot(t, b), T.dot(v, b), T.dot(a, t3)])
    av, bv, tv, vv = (rng.standard_normal(s).astype(np.float32) for s in [(3, 4), (4, 2), (2, 3, 4), (4,)])
    t3v = rng.standard_normal((5, 4, 2)).astype(np.float32)
    got = f(av, bv, tv, vv, t3v)
    for g, w in zip(got, [np.dot(av, bv), np.dot(av, vv), np.dot(tv, bv), np.dot(vv, bv), np.dot(av, t3v)]):
        assert g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)


def test_truth_value_of_a_comparison_raises_type_error():
    """As Theano: a variable is true (``if W:``), a comparison has no truth value (``a < b < c``)."""
    x = T.matrix("x")
    assert bool(x) and bool(T.exp(x)) and (x or None) is x
    for cmp in (x > 0, x < 0, x >= 0, x <= 0, T.eq(x, 0), T.neq(x, 0)):
        with pytest.raises(TypeError, match="has no truth value"):
            bool(cmp)
    with pytest.raises(TypeError):
        _ = 0 < x < 1


def test_equality_is_identity():
    x, y = T.matrix("x"), T.matrix("x")
    assert (x == x) is True
    assert (x == y) is False
    assert {x: 1}[x] == 1
    assert isinstance(T.eq(x, y), T.Variable)


def test_elementwise_dtype_errors():
    with pytest.raises(TypeError):
        T.and_(T.fvector("f"), T.vector("b", dtype="bool"))
    with pytest.raises(TypeError):
        T.as_tensor_variable("abc")
    with pytest.raises(TypeError):
        T.as_tensor_variable(None)


def test_as_tensor_variable_ndim_check():
    with pytest.raises(ValueError):
        T.as_tensor_variable(np.zeros((2, 3)), ndim=1)
    assert T.as_tensor_variable(np.zeros((2, 3)), ndim=2).ndim == 2


def test_missing_and_unused_inputs():
    x, y = T.matrix("x"), T.matrix("y")
    with pytest.raises(graphc.MissingInputError):
        graphc.function([x], x + y)
    with pytest.raises(graphc.UnusedInputError):
        graphc.function([x, y], x * 2)
    f = graphc.function([x, y], x * 2, on_unused_input="ignore")
    np.testing.assert_array_equal(f(np.ones((2, 3)), np.ones((1, 1))), 2 * np.ones((2, 3), np.float32))


def test_wrong_input_shape_at_call_time():
    x = T.matrix("x", shape=(None, 3))
    f = graphc.function([x], x.sum())
    with pytest.raises(ValueError):
        f(np.ones((2, 4), np.float32))
    with pytest.raises(ValueError):
        f(np.ones(3, np.float32))
