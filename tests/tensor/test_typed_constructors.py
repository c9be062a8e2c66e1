"""Theano's prefixed constructors are TensorType instances: callable, comparable with ``x.type``, Theano's repr."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import graphc
import graphc.tensor as T

PREFIX_DTYPES = {"b": "int8", "w": "int16", "i": "int32", "l": "int64", "f": "float32", "d": "float64"}
KINDS = {
    "scalar": (),
    "vector": (False,),
    "matrix": (False, False),
    "row": (True, False),
    "col": (False, True),
    "tensor3": (False,) * 3,
    "tensor4": (False,) * 4,
}


@pytest.mark.parametrize("prefix", sorted(PREFIX_DTYPES))
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_prefixed_constructor_is_a_tensor_type(prefix: str, kind: str) -> None:
    typ = getattr(T, prefix + kind)
    assert isinstance(typ, T.TensorType)
    assert typ.dtype == PREFIX_DTYPES[prefix]
    assert typ.broadcastable == KINDS[kind]
    assert typ.ndim == len(KINDS[kind])
    x = typ("x")
    assert x.name == "x" and x.dtype == typ.dtype and x.broadcastable == KINDS[kind]
    assert x.type == typ and typ == x.type
    assert not (x.type != typ)
    assert isinstance(x.type, T.TensorType)


def test_theano_repr() -> None:
    assert str(T.dscalar) == repr(T.dscalar) == "TensorType(float64, scalar)"
    assert repr(T.fvector) == "TensorType(float32, vector)"
    assert repr(T.imatrix) == "TensorType(int32, matrix)"
    assert repr(T.drow) == "TensorType(float64, row)"
    assert repr(T.lcol) == "TensorType(int64, col)"
    assert repr(T.ftensor3) == "TensorType(float32, 3D)"
    assert repr(T.TensorType("int8", (True, False, False))) == "TensorType(int8, (True, False, False))"
    assert str(T.TensorType("float32", (False,), name="myvec")) == "myvec"


def test_type_equality_follows_dtype_and_pattern() -> None:
    assert T.dscalar("x").type == T.dscalar
    assert (-T.ivector()).type == T.ivector
    assert T.dscalar("x").type != T.fscalar
    assert T.dmatrix("m").type != T.dvector
    assert T.dmatrix("m").type != T.drow  # axis 0 is not statically 1
    assert T.TensorType("float64", (False, False)) == T.dmatrix
    assert T.TensorType("float64", (True, False)) != T.dmatrix
    assert hash(T.TensorType("float64", (False, False))) == hash(T.dmatrix)
    assert T.fmatrix != "TensorType(float32, matrix)"
    assert len({T.dmatrix, T.TensorType("float64", (False, False)), T.drow}) == 2


def test_equality_ignores_graphc_static_sizes() -> None:
    assert T.dmatrix("m", shape=(3, 5)).type == T.dmatrix
    assert T.matrix("m", dtype="float64", shape=(2, 7)).type == T.dmatrix
    one_row = T.dmatrix("m", shape=(1, 5))
    assert one_row.type == T.dmatrix and one_row.type == T.drow
    x = T.dmatrix("x")
    assert T.dot(x, T.dmatrix("w", shape=(4, 3))).type == T.dmatrix
    assert (x.sum(axis=0)).type == T.dvector
    assert T.ivector("i").type != T.lvector


def test_existing_call_forms_still_work() -> None:
    assert T.fmatrix("a", dtype="float64").dtype == "float64"
    assert T.fmatrix("a", "float64").dtype == "float64"
    assert T.dvector(name="v").name == "v"
    assert T.dmatrix("m", shape=(2, 5)).type.shape == (2, 5)
    assert T.dmatrix().name is None
    assert T.matrix("x", dtype="float64").type == T.dmatrix
    assert T.dmatrix.make_variable("z").type == T.dmatrix
    a, b = T.dmatrices("a", "b")
    assert a.type == T.dmatrix and b.type == T.dmatrix
    assert [v.type == T.ivector for v in T.ivectors(3)] == [True] * 3
    assert T.TensorType("floatX", (False,)).dtype == graphc.config.floatX
    # the unprefixed constructors stay functions of config.floatX, as in Theano
    assert not isinstance(T.matrix, T.TensorType)
    assert T.matrix("m").dtype == graphc.config.floatX


def test_tensor_type_pickles() -> None:
    back = pickle.loads(pickle.dumps(T.fmatrix))
    assert back == T.fmatrix and repr(back) == "TensorType(float32, matrix)"


def test_variables_from_a_type_compute() -> None:
    x = T.dmatrix("x")
    y = T.dvector("y")
    f = graphc.function([x, y], x * 2 + y)
    xv = np.arange(6.0).reshape(2, 3)
    yv = np.array([1.0, -1.0, 0.5])
    np.testing.assert_allclose(f(xv, yv), xv * 2 + yv)
    assert f(xv, yv).dtype == np.float64
