"""The Graph API, lowering from expressions, the verifier and numpy evaluation."""

from __future__ import annotations

import numpy as np
import pytest

import graphc
import graphc.tensor as T
from graphc.ir.build import build_graph
from graphc.ir.evaluate import evaluate
from graphc.ir.graph import Graph, NodeData
from graphc.ir.types import Dim, TensorType
from graphc.ir.verify import VerificationError, verify


def test_mul_x_x_keeps_both_ports_and_evaluates():
    x = T.vector("x")
    g = build_graph([(x * x, "y")])
    (mul,) = g.op_nodes()
    assert g.node_inputs(mul) == [(g.inputs[0], 0), (g.inputs[0], 0)]
    assert len(g.uses((g.inputs[0], 0))) == 2
    verify(g)
    np.testing.assert_allclose(evaluate(g, {"x": np.array([1.0, -2.0, 3.0], np.float32)})[0], [1.0, 4.0, 9.0])


def test_shared_subexpressions_lower_once_and_input_order_matters():
    x = T.matrix("x")
    y = T.matrix("y")
    h = x - y
    g = build_graph([(h * h + h, "out")], [y, x])
    assert g.op_histogram() == {"add": 1, "mul": 1, "sub": 1}
    assert [g.data(i).name for i in g.inputs] == ["y", "x"]
    xv = np.arange(6, dtype=np.float32).reshape(2, 3)
    yv = np.ones((2, 3), np.float32)
    (out,) = evaluate(g, {"x": xv, "y": yv})
    np.testing.assert_allclose(out, (xv - yv) ** 2 + (xv - yv))


def test_replace_all_uses_with_and_prune():
    x = T.vector("x")
    a = T.exp(x)
    b = T.log(x)
    g = build_graph([(a + 1, "out")])
    add = next(n for n in g.op_nodes() if g.data(n).op == "add")
    exp = next(n for n in g.op_nodes() if g.data(n).op == "exp")
    # rewire the add to read x directly, leaving exp dead
    g.replace_all_uses_with((exp, 0), (g.inputs[0], 0))
    assert g.prune() == 1
    assert g.op_histogram() == {"add": 1}
    verify(g)
    np.testing.assert_allclose(evaluate(g, {"x": np.array([1.0, 2.0], np.float32)})[0], [2.0, 3.0])
    del b, add


def test_verify_catches_broken_graphs():
    g = Graph()
    t = TensorType("float32", (3,))
    i = g.add_node(NodeData("input", [t], name="x"))
    g.inputs.append(i)
    bad = g.add_node(NodeData("op", [TensorType("float32", (4,))], op="exp"), [(i, 0)])
    g.outputs = [((bad, 0), "y")]
    with pytest.raises(VerificationError, match=r"declared float32\(4,\) but infers as float32\(3,\)"):
        verify(g)
    g2 = Graph()
    i2 = g2.add_node(NodeData("input", [t], name="x"))
    n2 = g2.add_node(NodeData("op", [t], op="add"), [(i2, 0)])
    g2.outputs = [((n2, 0), "y")]
    with pytest.raises(VerificationError, match=r"has 1 inputs, expected 2"):
        verify(g2)
    g3 = Graph()
    n3 = g3.add_node(NodeData("op", [t], op="no_such_op"))
    g3.outputs = [((n3, 0), "y")]
    with pytest.raises(VerificationError, match="unregistered op 'no_such_op'"):
        verify(g3)


def test_cycles_are_refused():
    g = Graph()
    t = TensorType("float32", (2,))
    i = g.add_node(NodeData("input", [t], name="x"))
    a = g.add_node(NodeData("op", [t], op="neg"), [(i, 0)])
    b = g.add_node(NodeData("op", [t], op="neg"), [(a, 0)])
    g.set_inputs(a, [(b, 0)])
    with pytest.raises(ValueError, match="graph has a cycle"):
        g.toposort()


def test_shared_and_constant_leaves():
    w = graphc.shared(np.arange(3.0), name="w")
    x = T.vector("x")
    g = build_graph([(x * w + 2.5, "out")])
    kinds = sorted(g.data(n).kind for n in g.nodes())
    assert kinds == ["const", "input", "op", "op", "param"]
    out = evaluate(g, {"x": np.ones(3, np.float32)})[0]
    np.testing.assert_allclose(out, np.arange(3.0) + 2.5)
    out = evaluate(g, {"x": np.ones(3, np.float32)}, params={"w": np.zeros(3, np.float32)})[0]
    np.testing.assert_allclose(out, np.full(3, 2.5))


def test_symbolic_dims_flow_through_shape_arithmetic():
    x = T.tensor3("x")
    n, t, f = x.shape
    y = T.reshape(x, (n * t, f))
    d0, d1, d2 = x.type.shape
    assert y.type.shape == (Dim(f"{d0}*{d1}"), d2)
    z = T.reshape(y, (n, -1))
    assert z.type.shape[0] == d0
    assert str(z.type.shape[1]) == f"{d1}*{d2}"
    # exported models name the dims after the input whatever the internal labels
    from graphc.export import to_onnx

    model = to_onnx({"z": z}, [x])
    dims = [d.dim_param for d in model.graph.output[0].type.tensor_type.shape.dim]
    assert dims == ["x_dim0", "x_dim1*x_dim2"]
