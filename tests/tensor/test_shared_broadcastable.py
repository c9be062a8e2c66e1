"""graphc.shared(..., broadcastable=...): checked against the value's shape and recorded."""

import pickle

import numpy as np
import pytest

import graphc
import graphc.tensor as T


def test_pattern_is_recorded():
    b = graphc.shared(np.zeros((1, 4), np.float32), name="b", broadcastable=(True, False))
    assert b.broadcastable == (True, False)
    assert b.type.broadcastable == (True, False)
    c = graphc.shared(np.zeros((1, 4)), broadcastable=[False, False])
    assert c.broadcastable == (False, False)
    assert graphc.shared(np.zeros((1, 4))).broadcastable == (True, False)  # no pattern: follows the shape
    assert graphc.shared(3.0, broadcastable=()).broadcastable == ()


def test_pattern_survives_alias_and_pickle():
    b = graphc.shared(np.zeros((1, 3), np.float32), broadcastable=(False, False))
    assert b.alias().broadcastable == (False, False)
    assert pickle.loads(pickle.dumps(b)).broadcastable == (False, False)


def test_broadcastable_bias_computes_as_before():
    bias = graphc.shared(np.arange(3, dtype=np.float32).reshape(1, 3), broadcastable=(True, False))
    x = T.matrix("x")
    out = graphc.function([x], x + bias)(np.ones((2, 3), np.float32))
    np.testing.assert_allclose(out, [[1, 2, 3], [1, 2, 3]])


def test_true_axis_of_size_other_than_one_is_a_value_error():
    with pytest.raises(ValueError, match="axis 0.*size is 2"):
        graphc.shared(np.zeros((2, 3)), name="W", broadcastable=(True, False))


def test_wrong_length_is_a_value_error():
    with pytest.raises(ValueError, match="2 dimensions"):
        graphc.shared(np.zeros((1, 3)), broadcastable=(True,))


@pytest.mark.parametrize("pattern", ["TF", (1, 0), True])
def test_non_bool_pattern_is_a_type_error(pattern):
    with pytest.raises(TypeError, match="broadcastable"):
        graphc.shared(np.zeros((1, 1)), broadcastable=pattern)
