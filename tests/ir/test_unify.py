"""Sizes the graph's ops fix (graphc.ir.unify): written into exported models, checked at call time."""

from __future__ import annotations

import numpy as np
import pytest

import graphc
import graphc.tensor as T
from graphc.export import to_onnx
from graphc.ir.build import build_graph
from graphc.ir.unify import known_sizes


def _dims(vi):
    return [d.dim_value if d.HasField("dim_value") else d.dim_param for d in vi.type.tensor_type.shape.dim]


def test_matmul_broadcast_and_concat_fix_sizes():
    x, v, z = T.matrix("x"), T.vector("v"), T.matrix("z")
    w = graphc.shared(np.ones((5, 3), np.float32), name="w")
    b = graphc.shared(np.ones(3, np.float32), name="b")
    y = T.dot(x, w) + v + b  # x's width is 5 (rows of w); v's size is 3 (broadcast against the static 3)
    out = T.concatenate([y, z], axis=0)  # z's width is 3 too
    model = to_onnx({"out": out}, [x, v, z])
    ins = {vi.name: _dims(vi) for vi in model.graph.input}
    assert ins["x"] == ["x_dim0", 5] and ins["v"] == [3] and ins["z"] == ["z_dim0", 3]
    g = build_graph([(out, "out")], [x, v, z])
    assert sorted(known_sizes(g).values()) == [3, 3, 5]


def test_symbolic_sizes_of_a_batch_stay_dynamic_and_one_broadcasts():
    x = T.matrix("x")
    col = T.tensor("float32", shape=(None, 1), name="col")  # a static 1 broadcasts: fixes nothing
    model = to_onnx({"y": x * col}, [x, col])
    assert [_dims(vi) for vi in model.graph.input] == [["x_dim0", "x_dim1"], ["col_dim0", 1]]


def test_a_wrong_width_is_a_clear_error_at_the_input():
    w = graphc.shared(np.ones((4, 2), np.float32), name="w")
    x = T.matrix("x")
    f = graphc.function([x], T.dot(x, w))
    assert f(np.ones((3, 4), np.float32)).shape == (3, 2)
    with pytest.raises(ValueError, match=r"input 'x' has shape \(3, 6\); expected \(x_dim0, 4\) \(axis 1 must be 4\)"):
        f(np.ones((3, 6), np.float32))
