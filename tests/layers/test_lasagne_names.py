"""Lasagne's module tree: names real code imports from where Lasagne defines them."""

from __future__ import annotations

import numpy as np
import pytest

import graphc.tensor as T
from graphc import utils
from graphc.layers import pool, special
from graphc.layers.inverse import InverseLayer


def test_inverse_layer_is_importable_from_special():
    assert special.InverseLayer is InverseLayer


def test_pool_module_exposes_the_pooling_functions():
    x = T.tensor4("x", shape=(None, 2, 6, 4))
    data = np.arange(2 * 2 * 6 * 4, dtype=np.float32).reshape(2, 2, 6, 4)
    got = pool.pool_2d(x, ws=(2, 2), ignore_border=True).eval({x: data})
    np.testing.assert_array_equal(got, data.reshape(2, 2, 3, 2, 2, 2).max(axis=(3, 5)))
    assert pool.pool_output_length(7, 2, 2, 0, ignore_border=True) == 3
    assert callable(pool.pool_3d)


def test_int_types_and_inspect_kwargs():
    assert isinstance(3, utils.int_types) and isinstance(np.int64(3), utils.int_types)
    assert not isinstance(3.0, utils.int_types)

    def f(a, b=1, *args, c, d=2, **kw):
        return a

    assert utils.inspect_kwargs(f) == ["b", "d"]
    with pytest.raises(TypeError, match="inspect_kwargs"):
        utils.inspect_kwargs(max)  # a builtin without a signature
