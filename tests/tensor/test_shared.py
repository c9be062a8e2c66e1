"""Shared variables: value copies, set_value checks, use in compiled functions."""

import numpy as np
import pytest

import graphc
import graphc.tensor as T

RNG = np.random.default_rng(5)


def test_get_value_and_set_value_copy():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    w = graphc.shared(a, name="W")
    a[0, 0] = 100  # the initial value was copied
    assert w.get_value()[0, 0] == 0
    got = w.get_value()
    got[0, 1] = 55  # get_value returns a copy
    assert w.get_value()[0, 1] == 1
    assert w.get_value(borrow=True) is not w.get_value(borrow=True)
    new = np.ones((2, 3), np.float32)
    w.set_value(new)
    new[0, 0] = 9  # set_value copied too
    np.testing.assert_array_equal(w.get_value(), np.ones((2, 3), np.float32))


def test_attributes():
    w = graphc.shared(np.zeros((1, 3)), name="W")
    assert isinstance(w, graphc.SharedVariable) and isinstance(w, T.Variable)
    assert w.name == "W" and w.dtype == "float32" and w.type.shape == (1, 3)
    assert w.broadcastable == (True, False)
    assert T.shared is graphc.shared


def test_set_value_casts_within_kind():
    w = graphc.shared(np.zeros(3, np.float32), name="F")
    w.set_value(np.array([1.0, 2.0, 3.0]))  # float64 -> float32
    assert w.get_value().dtype == np.float32
    w.set_value(np.array([1, 2, 3]))  # ints fit a float variable
    np.testing.assert_array_equal(w.get_value(), [1, 2, 3])
    i = graphc.shared(np.zeros(3, np.int32), name="I")
    i.set_value(np.array([4, 5, 6], np.int64))
    assert i.get_value().dtype == np.int32


@pytest.mark.parametrize("value", [np.ones((3, 2)), np.ones(6), np.ones((2, 3, 1)), np.float32(1)])
def test_set_value_with_a_wrong_shape_names_the_variable(value):
    w = graphc.shared(np.zeros((2, 3), np.float32), name="W_hidden")
    with pytest.raises(ValueError, match="W_hidden"):
        w.set_value(value)
    np.testing.assert_array_equal(w.get_value(), np.zeros((2, 3)))


@pytest.mark.parametrize(
    "value",
    [np.ones(3, np.float32) * 1.5, np.array(["a", "b", "c"]), np.ones(3, np.complex64), T.vector("v")],
)
def test_set_value_with_an_uncastable_dtype_raises_type_error(value):
    i = graphc.shared(np.zeros(3, np.int32), name="counts")
    with pytest.raises(TypeError, match="counts"):
        i.set_value(value)


def test_shared_construction_errors():
    with pytest.raises(TypeError):
        graphc.shared("abc")
    with pytest.raises(TypeError):
        graphc.shared(None)
    with pytest.raises(TypeError):
        graphc.shared(np.zeros(3), name=3)
    with pytest.raises(TypeError):
        graphc.shared(np.zeros(3), foo=1)
    with pytest.raises(TypeError):
        graphc.shared(T.vector("v"))


def test_dot_with_a_shared_matrix():
    w = graphc.shared(RNG.standard_normal((2, 3)), name="W")
    x = T.matrix("x")
    y = T.dot(x, w)
    assert y.dtype == "float32"
    f = graphc.function([x], [y, x.dot(w), x @ w])
    xv = RNG.standard_normal((4, 2)).astype(np.float32)
    for got in f(xv):
        np.testing.assert_allclose(got, xv @ w.get_value(), rtol=1e-5, atol=1e-6)
    # a compiled function sees later set_value calls
    w.set_value(-np.ones((2, 3), np.float32))
    np.testing.assert_allclose(f(xv)[0], xv @ -np.ones((2, 3), np.float32), rtol=1e-6)
    with pytest.raises(ValueError):
        T.dot(T.matrix("z", shape=(4, 3)), w)


def test_updates_and_get_value_after_updates():
    acc = graphc.shared(np.zeros((2, 3), np.float32), name="acc")
    x = T.matrix("x")
    step = graphc.function([x], x.sum(), updates=[(acc, acc + x)])
    xv = RNG.standard_normal((2, 3)).astype(np.float32)
    step(xv)
    step(xv)
    np.testing.assert_allclose(acc.get_value(), 2 * xv, rtol=1e-6)
    out = acc.get_value()
    out += 100  # still a copy after the runtime owns the value
    np.testing.assert_allclose(acc.get_value(), 2 * xv, rtol=1e-6)
    acc.set_value(np.ones((2, 3), np.float32))
    step(xv)
    np.testing.assert_allclose(acc.get_value(), 1 + xv, rtol=1e-6)


def test_shared_values_do_not_alias_between_variables():
    a = np.zeros(3, np.float32)
    v1, v2 = graphc.shared(a), graphc.shared(a)
    v1.set_value(np.ones(3, np.float32))
    np.testing.assert_array_equal(v2.get_value(), np.zeros(3))
