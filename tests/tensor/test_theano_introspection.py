"""theano.scalar, T.specify_shape, config.warn / compute_test_value, and f.maker.fgraph."""

from __future__ import annotations

import numpy as np
import pytest

import graphc
import graphc.scalar as S
import graphc.tensor as T
from graphc import config
from graphc.tensor.variable import Apply


# -- theano.scalar -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "dtypes",
    [
        ("int32", "float32"),
        ("int8", "int16"),
        ("float32",),
        ("float32", "float64"),
        ("int64", "float32"),
        ("uint8", "int8"),
        ("bool", "int32"),
        ("int16", "float16"),
    ],
)
def test_upcast_is_numpy_promotion_of_0d_arrays(dtypes: tuple[str, ...]) -> None:
    expected = np.result_type(*[np.zeros((), d) for d in dtypes]).name
    assert S.upcast(*dtypes) == expected
    assert S.upcast(*[np.dtype(d) for d in dtypes]) == expected


def test_upcast_numpy_floatx_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config, "cast_policy", "numpy+floatX", raising=False)
    monkeypatch.setattr(config, "floatX", "float32")
    assert S.upcast("int32", "float32") == "float32"
    assert S.upcast("int64", "float64") == "float64"  # an explicit float64 stays
    assert S.upcast("int32", "int64") == "int64"


def test_scalar_types() -> None:
    assert S.float64.dtype == "float64" and S.int32.dtype == "int32"
    assert S.Scalar("float32") == S.float32 and S.float32 != S.float64
    assert repr(S.int8) == "Scalar(int8)" and str(S.int8) == "int8"
    assert S.Scalar("floatX").dtype == config.floatX
    assert S.float32.upcast(S.int64) == "float64"
    assert S.get_scalar_type("int16") == S.int16
    assert S.float64 in S.float_types and S.int32 in S.int_types and S.int32 in S.discrete_types
    assert "float32" in S.continuous_dtypes and "int64" in S.all_dtypes
    v = S.int32("k")
    assert v.ndim == 0 and v.dtype == "int32" and v.name == "k"


@pytest.mark.parametrize(
    "value, dtype",
    [(3, "int8"), (300, "int16"), (70000, "int32"), (2**40, "int64"), (1.5, "float32"), (0.1, "float64"), (True, "bool")],
)
def test_scalar_constant_dtype(value: object, dtype: str) -> None:
    c = S.constant(value)
    assert c.dtype == dtype and c.ndim == 0
    assert c.value == value


def test_scalar_constant_keeps_numpy_dtype_and_refuses_arrays() -> None:
    assert S.constant(np.float64(2.0)).dtype == "float64"
    assert S.constant(np.int16(7)).dtype == "int16"
    with pytest.raises(TypeError):
        S.constant(np.zeros(3))
    with pytest.raises(TypeError):
        S.constant("x")
    assert S.as_scalar(T.dscalar("s")).name == "s"
    with pytest.raises(TypeError):
        S.as_scalar(T.dvector("v"))


# -- specify_shape -----------------------------------------------------------------------
def test_specify_shape_makes_sizes_static() -> None:
    x = T.matrix("x")
    y = T.specify_shape(x, (2, 3))
    assert y.type.shape == (2, 3)
    f = graphc.function([x], (y**2).shape)
    np.testing.assert_array_equal(f(np.zeros((2, 3), "float32")), [2, 3])
    g = graphc.function([x], y * 2)
    xv = np.arange(6, dtype="float32").reshape(2, 3)
    np.testing.assert_allclose(g(xv), xv * 2)


@pytest.mark.parametrize("bad", [(3, 2), (1, 6), (2, 4)])
def test_specify_shape_checks_at_run_time(bad: tuple[int, int]) -> None:
    x = T.matrix("x")
    g = graphc.function([x], T.specify_shape(x, (2, 3)) + 1)
    with pytest.raises(ValueError):
        g(np.ones(bad, "float32"))


def test_specify_shape_partial_static_and_errors() -> None:
    x = T.tensor3("x")
    y = T.specify_shape(x, (None, 4, 5))
    assert y.type.shape[1:] == (4, 5) and not isinstance(y.type.shape[0], int)
    z = T.specify_shape(x, T.as_tensor_variable(np.array([2, 4, 5])))
    assert z.type.shape == (2, 4, 5)
    s = T.dmatrix("s", shape=(2, 3))
    assert T.specify_shape(s, (2, 3)) is s
    with pytest.raises(ValueError, match="static size"):
        T.specify_shape(s, (3, 2))
    with pytest.raises(ValueError, match="entries"):
        T.specify_shape(x, (2, 3))


def test_specify_shape_symbolic_size() -> None:
    x = T.matrix("x")
    n = T.iscalar("n")
    f = graphc.function([x, n], T.specify_shape(x, (n, 3)).sum())
    np.testing.assert_allclose(f(np.ones((4, 3), "float32"), 4), 12.0)
    with pytest.raises(ValueError):
        f(np.ones((4, 3), "float32"), 5)


# -- config ------------------------------------------------------------------------------
def test_config_warn_flags() -> None:
    assert config.warn.subtensor_merge_bug is False  # Theano 1.0's defaults
    assert config.warn.round is True
    assert config.warn.vm_gc_bug is False
    assert config.warn.ignore_bug_before == "0.8"
    old = config.warn.subtensor_merge_bug
    try:
        config.warn.subtensor_merge_bug = True
        assert config.warn.subtensor_merge_bug is True
        config.warn.subtensor_merge_bug = "False"
        assert config.warn.subtensor_merge_bug is False
    finally:
        config.warn.subtensor_merge_bug = old
    with pytest.raises(ValueError):
        config.warn.sum_sum_bug = "maybe"
    with pytest.raises(AttributeError):
        config.warn.no_such_flag = True


def test_config_compute_test_value() -> None:
    assert config.compute_test_value == "off"
    try:
        config.compute_test_value = "raise"
        assert config.compute_test_value == "raise"
    finally:
        config.compute_test_value = "off"


# -- f.maker.fgraph ----------------------------------------------------------------------
def test_maker_fgraph() -> None:
    x = T.dmatrix("x")
    w = graphc.shared(np.ones(3, dtype="float64"), name="w")
    y = (x * 2).sum(axis=1) + w
    f = graphc.function([x], y, updates=[(w, w + 1)])
    fg = f.maker.fgraph
    assert fg.inputs[0] is x and any(v is w for v in fg.inputs)
    assert fg.outputs[0] is y and len(fg.outputs) == 2  # the output, then the update
    nodes = fg.toposort()
    assert all(isinstance(n, Apply) for n in nodes)
    assert nodes[-2] is y.owner or nodes[-1] is y.owner
    seen: set[int] = set()
    for node in nodes:  # each node after the nodes it reads
        for inp in node.inputs:
            assert inp.owner is None or id(inp.owner) in seen
        seen.add(id(node))
        assert node.op and node.outputs
    assert [n.op for n in nodes].count("mul") == 1
    np.testing.assert_allclose(f(np.ones((3, 5))), np.full(3, 11.0))
    np.testing.assert_allclose(w.get_value(), np.full(3, 2.0))


def test_str_of_a_named_variable_is_its_name_as_in_theano():
    import graphc.tensor as T

    x = T.dmatrix("x")
    y = x * 2.0
    assert str(x) == "x" and f"{x}" == "x" and repr(x).startswith("<x: float64")
    assert str(y) == repr(y)  # an unnamed expression keeps graphc's description
    y.name = "twice"
    assert str(y) == "twice"
