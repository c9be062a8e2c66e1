"""Theano's type display (``str(x.type)``) and the complex constructors graphc refuses."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import graphc
import graphc.tensor as T
from graphc.tensor.complex_types import ComplexNotProvidedError


@pytest.mark.parametrize(
    ("make", "shown"),
    [
        (lambda: T.dscalar("a"), "TensorType(float64, scalar)"),
        (lambda: T.fmatrix("a"), "TensorType(float32, matrix)"),
        (lambda: T.ivector("a"), "TensorType(int32, vector)"),
        (lambda: T.drow("a"), "TensorType(float64, row)"),
        (lambda: T.lcol("a"), "TensorType(int64, col)"),
        (lambda: T.dtensor3("a"), "TensorType(float64, 3D)"),
        (lambda: T.btensor4("a"), "TensorType(int8, 4D)"),
        (lambda: T.TensorType("float64", (False, False, True))("a"), "TensorType(float64, (False, False, True))"),
        (lambda: T.TensorType("int16", (True,))("a"), "TensorType(int16, (True,))"),
        (lambda: T.dmatrix("a") > 0, "TensorType(bool, matrix)"),
        (lambda: T.dtensor3("a", shape=(2, 1, 3)), "TensorType(float64, (False, True, False))"),
    ],
)
def test_variable_types_print_as_theano(make, shown: str) -> None:
    v = make()
    assert str(v.type) == shown and repr(v.type) == shown
    if v.owner is None and not isinstance(v, graphc.tensor.TensorConstant):
        assert str(T.TensorType(v.dtype, v.broadcastable)) == shown  # the constructor's own type prints the same


def test_shared_and_expression_types() -> None:
    w = graphc.shared(np.zeros((3, 4)), name="w", strict=True)
    assert str(w.type) == "TensorType(float64, matrix)"
    x = T.fvector("x")
    assert str(T.sum(x).type) == "TensorType(float32, scalar)"
    assert str(x.dimshuffle("x", 0).type) == "TensorType(float32, row)"
    assert str(pickle.loads(pickle.dumps(x.type))) == "TensorType(float32, vector)"


def test_graphc_descriptions_keep_shapes() -> None:
    """repr of a variable and graphc's messages keep the dtype and the (symbolic) shape."""
    x = T.tensor("float32", 2, name="x", shape=("batch", 3))
    assert repr(x) == "<x: float32(batch, 3)>"
    assert x.type.compact == "float32(batch, 3)"
    with pytest.raises(ValueError, match=r"addbroadcast: axis 1 of float32\(batch, 3\) has size 3"):
        T.addbroadcast(x, 1)


COMPLEX_NAMES = [p + k for p in "cz" for k in ("scalar", "vector", "matrix", "row", "col", "tensor3", "tensor4", "tensor5")]


@pytest.mark.parametrize("name", COMPLEX_NAMES)
def test_complex_constructors_resolve_and_refuse(name: str) -> None:
    ctor = getattr(T, name)
    dtype = "complex64" if name[0] == "c" else "complex128"
    assert ctor.dtype == dtype and str(ctor).startswith(f"TensorType({dtype}, ")
    with pytest.raises(ComplexNotProvidedError, match=f"graphc does not provide complex tensors: T.{name} makes a {dtype} tensor"):
        ctor("z")
    plural = name[0] + ("matrices" if name.endswith("matrix") else name[1:] + "s")
    with pytest.raises(NotImplementedError, match=f"T.{plural} makes {dtype} tensors"):
        getattr(T, plural)("a", "b")


def test_complex_functions_and_dtypes_refuse() -> None:
    for fn, args in ((T.complex, (T.dvector(), T.dvector())), (T.complex_from_polar, (T.dvector(), T.dvector()))):
        with pytest.raises(ComplexNotProvidedError, match="graphc does not provide complex tensors"):
            fn(*args)
    with pytest.raises(TypeError, match=r"TensorType\('complex64', \.\.\.\) is a complex type"):
        T.TensorType("complex64", (False,))
    with pytest.raises(TypeError, match=r"dtype 'complex128' is not supported \(graphc does not provide complex tensors\)"):
        T.tensor("complex128", 2)
    assert issubclass(ComplexNotProvidedError, NotImplementedError) and issubclass(ComplexNotProvidedError, TypeError)
    assert T.zmatrix.ndim == 2 and T.crow.broadcastable == (True, False)
