"""Reductions (sum, mean, max, min, prod, argmax, argmin, var, std) against numpy."""

import numpy as np
import pytest

import graphc
import graphc.tensor as T

RNG = np.random.default_rng(7)
T3V = RNG.standard_normal((2, 3, 5)).astype(np.float32)
IV = RNG.integers(-4, 5, (3, 4)).astype(np.int32)

AXES = [None, 0, 1, -1, (0, 2), (-1, 0), (0, 1, 2), [1]]
FLOAT_REDUCTIONS = {
    "sum": (T.sum, np.sum),
    "mean": (T.mean, np.mean),
    "max": (T.max, np.max),
    "min": (T.min, np.min),
    "prod": (T.prod, np.prod),
    "var": (T.var, np.var),
    "std": (T.std, np.std),
}


def _close(got, want, rtol=1e-5, atol=1e-6):
    got = np.asarray(got)
    want = np.asarray(want)
    assert got.shape == want.shape, (got.shape, want.shape)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


def _ref_axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


@pytest.mark.parametrize("name", sorted(FLOAT_REDUCTIONS))
def test_float_reductions(name):
    fn, ref = FLOAT_REDUCTIONS[name]
    t = T.tensor3("t")
    cases = [(axis, keepdims) for axis in AXES for keepdims in (False, True)]
    f = graphc.function([t], [fn(t, axis=axis, keepdims=keepdims) for axis, keepdims in cases])
    x64 = T3V.astype(np.float64)
    for (axis, keepdims), got in zip(cases, f(T3V)):
        want = ref(x64, axis=_ref_axis(axis), keepdims=keepdims).astype(np.float32)
        _close(got, want, rtol=2e-5, atol=1e-5)


def test_reduction_static_shapes():
    t = T.tensor3("t", shape=(2, 3, 5))
    assert T.sum(t, axis=1).type.shape == (2, 5)
    assert T.mean(t, axis=(0, 2), keepdims=True).type.shape == (1, 3, 1)
    assert T.max(t).type.shape == ()
    assert T.argmax(t, axis=-1).type.shape == (2, 3)
    assert T.argmin(t, axis=None, keepdims=True).type.shape == (1, 1, 1)
    assert T.var(t, axis=-1, keepdims=True).type.shape == (2, 3, 1)


@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_arg_reductions(name):
    fn, ref = getattr(T, name), getattr(np, name)
    t = T.tensor3("t")
    cases = [(axis, keepdims) for axis in (None, 0, 1, 2, -1, -3) for keepdims in (False, True)]
    f = graphc.function([t], [fn(t, axis=axis, keepdims=keepdims) for axis, keepdims in cases])
    for (axis, keepdims), got in zip(cases, f(T3V)):
        _close(got, ref(T3V, axis=axis, keepdims=keepdims).astype(np.int64))


def test_arg_reductions_pick_the_first_of_ties():
    m = T.imatrix("m")
    v = np.array([[1, 3, 3, 0], [2, 2, 2, 2], [0, 5, 0, 5]], np.int32)
    f = graphc.function([m], [m.argmax(axis=1), m.argmin(axis=1), T.argmax(m, axis=0), m.argmax()])
    got = f(v)
    for g, w in zip(got, [v.argmax(1), v.argmin(1), v.argmax(0), v.argmax()]):
        _close(g, np.asarray(w, np.int64))


def test_arg_reduction_over_several_axes_raises():
    with pytest.raises(ValueError):
        T.argmax(T.matrix("x"), axis=(0, 1))


@pytest.mark.parametrize("ddof", [0, 1, 2])
@pytest.mark.parametrize("static", [False, True])
def test_var_std_ddof(ddof, static):
    t = T.tensor3("t", shape=T3V.shape if static else None)
    axes = [None, 1, -1, (0, 2)]
    outs = [T.var(t, axis=a, ddof=ddof) for a in axes] + [t.std(axis=a, ddof=ddof, keepdims=True) for a in axes]
    f = graphc.function([t], outs)
    got = f(T3V)
    x64 = T3V.astype(np.float64)
    want = [np.var(x64, axis=a, ddof=ddof) for a in axes] + [
        np.std(x64, axis=a, ddof=ddof, keepdims=True) for a in axes
    ]
    for g, w in zip(got, want):
        _close(g, w.astype(np.float32), rtol=1e-4, atol=1e-6)


def test_var_corrected_is_ddof_1():
    t = T.tensor3("t")
    f = graphc.function([t], [T.var(t, axis=1, corrected=True), T.std(t, corrected=True)])
    v, s = f(T3V)
    _close(v, np.var(T3V.astype(np.float64), axis=1, ddof=1).astype(np.float32), rtol=1e-4)
    _close(s, np.float32(np.std(T3V.astype(np.float64), ddof=1)), rtol=1e-4)


def test_sum_of_bool_counts_as_int64():
    t = T.tensor3("t")
    b = T.gt(t, 0)
    outs = [b.sum(), T.sum(b, axis=1), T.sum(T.eq(t, t), axis=(0, 2), keepdims=True), T.mean(b, axis=-1)]
    assert [o.dtype for o in outs] == ["int64", "int64", "int64", "float32"]
    f = graphc.function([t], outs)
    got = f(T3V)
    _close(got[0], np.sum(T3V > 0))
    _close(got[1], np.sum(T3V > 0, axis=1))
    _close(got[2], np.full((1, 3, 1), 10, np.int64))
    _close(got[3], np.mean(T3V > 0, axis=-1).astype(np.float32))


def test_integer_reductions():
    m = T.imatrix("m")
    outs = [
        m.sum(axis=0),
        m.prod(axis=1),
        m.max(axis=1),
        m.min(),
        m.mean(axis=0),
        m.var(axis=1),
        m.sum(dtype="float64"),
    ]
    assert [o.dtype for o in outs] == ["int64", "int64", "int32", "int32", "float32", "float32", "float64"]
    f = graphc.function([m], outs)
    got = f(IV)
    want = [
        IV.sum(axis=0, dtype=np.int64),
        IV.prod(axis=1, dtype=np.int64),
        IV.max(axis=1),
        IV.min(),
        IV.mean(axis=0).astype(np.float32),
        IV.var(axis=1).astype(np.float32),
        IV.sum(dtype=np.float64),
    ]
    for g, w in zip(got, want):
        _close(g, w)


def test_small_int_sum_does_not_wrap():
    u = T.tensor("uint8", 2, name="u")
    f = graphc.function([u], u.sum())
    v = np.full((4, 5), 200, np.uint8)
    _close(f(v), np.int64(4000))


def test_any_all():
    m = T.imatrix("m")
    f = graphc.function([m], [T.any(m, axis=1), T.all(m > -4, axis=0), T.max(m > 0, axis=1), T.all(m)])
    got = f(IV)
    for g, w in zip(got, [np.any(IV, axis=1), np.all(IV > -4, axis=0), np.max(IV > 0, axis=1), np.all(IV)]):
        _close(g, np.asarray(w))


def test_variable_methods():
    t = T.tensor3("t")
    f = graphc.function(
        [t],
        [
            t.sum(axis=1),
            t.mean(),
            t.argmax(axis=-1),
            t.std(),
            t.max(axis=0, keepdims=True),
            t.min(axis=(1, 2)),
            t.prod(axis=-1),
            t.var(),
            t.argmin(),
            t.size,
        ],
    )
    got = f(T3V)
    x64 = T3V.astype(np.float64)
    want = [
        x64.sum(axis=1).astype(np.float32),
        np.float32(x64.mean()),
        T3V.argmax(axis=-1),
        np.float32(x64.std()),
        T3V.max(axis=0, keepdims=True),
        T3V.min(axis=(1, 2)),
        x64.prod(axis=-1).astype(np.float32),
        np.float32(x64.var()),
        np.int64(T3V.argmin()),
        np.int64(T3V.size),
    ]
    for g, w in zip(got, want):
        _close(g, w, rtol=1e-5, atol=1e-6)


def test_empty_axis_tuple_is_the_identity():
    t = T.tensor3("t")
    assert T.sum(t, axis=()) is t
    f = graphc.function([t], T.max(t, axis=()))
    _close(f(T3V), T3V)


@pytest.mark.parametrize("axis", [3, -4, (0, 0), (1, -2)])
def test_bad_axes_raise(axis):
    with pytest.raises(ValueError):
        T.sum(T.tensor3("t"), axis=axis)
