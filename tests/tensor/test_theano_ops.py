"""``node.op`` as Theano programs inspect it: Theano's names and classes on graphc's op strings."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

import graphc
import graphc.tensor as T
from graphc.tensor import theano_ops as O


def test_tutorial_graph_structure() -> None:
    x = T.dmatrix("x")
    y = x * 2.0
    op = y.owner.op
    assert op.name == "Elemwise{mul,no_inplace}"
    assert isinstance(op, T.Elemwise) and op.__class__.__name__ == "Elemwise"
    assert op.scalar_op.name == "mul" and type(op.scalar_op).__name__ == "Mul" and str(op.scalar_op) == "mul"
    assert len(y.owner.inputs) == 2 and y.owner.inputs[0] is x


def test_op_is_still_graphcs_name() -> None:
    """graphc's code compares, looks up and prints ops as their registry names."""
    y = T.dvector("v") + 1.0
    op = y.owner.op
    assert op == "add" and isinstance(op, str) and hash(op) == hash("add")
    assert {"add": 1}[op] == 1 and op in {"add", "sub"}
    assert f"{op}" == "add" and repr(op) == "'add'" and str(op) == "add"
    assert op == (T.dvector("w") + 2.0).owner.op  # same op, as Theano's Elemwise{add} == Elemwise{add}
    assert op != (T.dvector("w") * 2.0).owner.op


@pytest.mark.parametrize(
    ("build", "cls", "name"),
    [
        (lambda x, v: x - 1, T.Elemwise, "Elemwise{sub,no_inplace}"),
        (lambda x, v: x / 3, T.Elemwise, "Elemwise{true_div,no_inplace}"),
        (lambda x, v: abs(x), T.Elemwise, "Elemwise{abs_,no_inplace}"),
        (lambda x, v: T.switch(x > 0, x, 0), T.Elemwise, "Elemwise{switch,no_inplace}"),
        (lambda x, v: T.cast(x, "float32"), T.Elemwise, "Elemwise{Cast{float32}}"),
        (lambda x, v: T.nnet.sigmoid(x), T.Elemwise, "sigmoid"),
        (lambda x, v: v.dimshuffle("x", 0), T.DimShuffle, "DimShuffle{x,0}"),
        (lambda x, v: v.dimshuffle(0, "x"), T.DimShuffle, "DimShuffle{0,x}"),
        (lambda x, v: x.T, T.DimShuffle, "DimShuffle{1,0}"),
        (lambda x, v: x.sum(axis=0), T.elemwise.Sum, "Sum{axis=[0], acc_dtype=float64}"),
        (lambda x, v: x.sum(), T.CAReduce, "Sum{acc_dtype=float64}"),
        (lambda x, v: T.cast(x, "int32").sum(axis=1), T.elemwise.Sum, "Sum{axis=[1], acc_dtype=int64}"),
        (lambda x, v: x.max(axis=1), T.elemwise.Max, "Max{axis=[1], acc_dtype=float64}"),
        (lambda x, v: T.dot(x, x.T), T.Dot, "dot"),
        (lambda x, v: x[1], T.Subtensor, "Subtensor"),
        (lambda x, v: x[T.ivector("i")], T.AdvancedSubtensor1, "AdvancedSubtensor1"),
        (lambda x, v: x.reshape((-1,)), T.Reshape, "Reshape{1}"),
        (lambda x, v: T.concatenate([x, x]), T.Join, "Join"),
        (lambda x, v: T.arange(v.shape[0]), T.ARange, "ARange{dtype=int64}"),
        (lambda x, v: T.nnet.softmax(x), O.Softmax, "Softmax"),
    ],
)
def test_theano_classes_and_names(build, cls: type, name: str) -> None:
    y = build(T.dmatrix("x"), T.dvector("v"))
    op = y.owner.op
    assert isinstance(op, cls) and op.name == name


def test_dimshuffle_and_reduce_parameters() -> None:
    v = T.dvector("v")
    op = v.dimshuffle("x", 0).owner.op
    assert op.new_order == ("x", 0) and op.input_broadcastable == (False,) and op.inplace is False
    s = T.dtensor3("t").sum(axis=(0, 2)).owner.op
    assert s.axis == (0, 2) and s.scalar_op.name == "add" and s.acc_dtype == "float64"
    assert T.dmatrix("m").prod(axis=0).owner.op.scalar_op.name == "mul"


def test_a_theano_style_graph_walk_counts_ops() -> None:
    """The kind of walk Theano programs do: count elementwise multiplications in a cost."""
    x, w = T.dmatrix("x"), T.dvector("w")
    cost = T.sum(T.tanh(T.dot(x, w)) * 2.0 * w.sum())
    counts: dict[str, int] = {}
    stack, seen = [cost], set()
    while stack:
        v = stack.pop()
        if v.owner is None or id(v.owner) in seen:
            continue
        seen.add(id(v.owner))
        op = v.owner.op
        if isinstance(op, T.Elemwise):
            counts[op.scalar_op.name] = counts.get(op.scalar_op.name, 0) + 1
        stack.extend(v.owner.inputs)
    assert counts == {"mul": 2, "tanh": 1}
    f = graphc.function([x, w], cost)
    xv, wv = np.arange(6.0).reshape(2, 3) / 10, np.array([0.5, -1.0, 2.0])
    np.testing.assert_allclose(f(xv, wv), np.sum(np.tanh(xv @ wv) * 2.0 * wv.sum()))


def test_ops_survive_pickle_copy_and_clone() -> None:
    x = T.dmatrix("x")
    y = x.dimshuffle(0, "x", 1) * 3.0
    for again in (pickle.loads(pickle.dumps(y)), copy.deepcopy(y), graphc.clone(y, replace={x: T.dmatrix("z")})):
        assert again.owner.op.name == "Elemwise{mul,no_inplace}"
        assert again.owner.inputs[0].owner.op.name == "DimShuffle{0,x,1}"
    xv = np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(graphc.function([x], y)(xv), xv[:, None, :] * 3.0)


def test_ops_theano_lacked_keep_graphcs_name() -> None:
    x = T.dtensor3("x")
    op = T.nnet.relu(x).owner.op
    assert isinstance(op, T.Elemwise) and op.name == "Elemwise{relu,no_inplace}"
    plain = O.theano_op("lstm")
    assert type(plain) is O.Op and plain.name == "lstm" and plain == "lstm"
