"""theano.In as an input of graphc.function: defaults, keywords, implicit and updated inputs."""

import numpy as np
import pytest

import graphc as theano
import graphc.tensor as T


def _fn():
    x, y, z = T.vector("x"), T.scalar("y"), T.scalar("z")
    return theano.function([x, theano.In(y, value=2.0), theano.In(z, name="scale", value=1.0)], (x + y) * z)


def test_trailing_inputs_take_their_defaults():
    f = _fn()
    np.testing.assert_allclose(f([1, 2]), [3, 4])
    np.testing.assert_allclose(f([1, 2], 3), [4, 5])
    np.testing.assert_allclose(f([1, 2], 3, 2), [8, 10])


def test_inputs_by_keyword():
    f = _fn()
    np.testing.assert_allclose(f([1, 2], scale=10), [30, 40])
    np.testing.assert_allclose(f(x=[1, 2], y=0, scale=2), [2, 4])


def test_keyword_errors():
    f = _fn()
    with pytest.raises(TypeError, match="unexpected input 'w'"):
        f([1, 2], w=1)
    with pytest.raises(TypeError, match="both by position and by name"):
        f([1, 2], 3, y=1)
    with pytest.raises(TypeError, match="missing input.*x"):
        f(y=1)
    with pytest.raises(TypeError, match="takes 3"):
        f([1], 1, 1, 1)


def test_plain_inputs_mix_with_in():
    a, b = T.matrix("a"), T.matrix("b")
    f = theano.function([a, theano.In(b, value=np.ones((2, 3), np.float32))], a - b)
    np.testing.assert_allclose(f(np.zeros((2, 3), np.float32)), -np.ones((2, 3)))
    np.testing.assert_allclose(f(np.zeros((2, 3)), b=np.full((2, 3), 2.0)), -2 * np.ones((2, 3)))


def test_update_makes_a_stateful_input():
    inc, acc = T.scalar("inc"), T.scalar("acc")
    g = theano.function([inc, theano.In(acc, value=0.0, update=acc + inc)], acc + inc)
    assert [float(g(v)) for v in (1, 2, 3)] == [1.0, 3.0, 6.0]


def test_shared_value_and_implicit_inputs():
    x, w = T.vector("x"), T.vector("w")
    store = theano.shared(np.array([1.0, 2.0], np.float32))
    f = theano.function([x, theano.In(w, value=store)], x * w)
    np.testing.assert_allclose(f([3, 3]), [3, 6])
    store.set_value(np.array([0.0, 1.0], np.float32))
    np.testing.assert_allclose(f([3, 3]), [0, 3])
    c = T.scalar("c")
    h = theano.function([x, theano.In(c, value=5.0, implicit=True)], x + c)
    np.testing.assert_allclose(h([1, 2]), [6, 7])
    with pytest.raises(TypeError):
        h([1, 2], 1.0)


def test_in_argument_errors():
    with pytest.raises(TypeError, match="symbolic variable"):
        theano.In(np.zeros(3))
    with pytest.raises(ValueError, match="initial value"):
        theano.In(T.scalar("s"), update=T.scalar("t"))


def test_functions_without_in_are_unchanged():
    x = T.vector("x")
    f = theano.function([x], x * 2)
    assert f._in_spec is None
    np.testing.assert_allclose(f(x=[1, 2]), [2, 4])
