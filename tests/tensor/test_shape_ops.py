"""Shape manipulation: reshape, transpose, dimshuffle, flatten, concatenate,
stack, creation from shapes (zeros, ones, alloc, arange), squeeze, padding."""

import numpy as np
import pytest

import graphc
import graphc.tensor as T

RNG = np.random.default_rng(99)
XV = RNG.standard_normal((3, 4)).astype(np.float32)
T3V = RNG.standard_normal((2, 3, 5)).astype(np.float32)
T4V = RNG.standard_normal((2, 3, 4, 5)).astype(np.float32)


def _same(got, want, exact=True):
    got = np.asarray(got)
    assert got.shape == want.shape, (got.shape, want.shape)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    if exact:
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-6)


# -- reshape ---------------------------------------------------------------------------------
def test_reshape_with_minus_one():
    t = T.tensor3("t")
    f = graphc.function([t], [t.reshape((-1, 3)), T.reshape(t, (5, -1)), t.reshape(-1), t.reshape((2, -1, 5))])
    a, b, c, d = f(T3V)
    _same(a, T3V.reshape(-1, 3))
    _same(b, T3V.reshape(5, -1))
    _same(c, T3V.reshape(-1))
    _same(d, T3V.reshape(2, -1, 5))


def test_reshape_with_symbolic_sizes_runs_at_two_sizes():
    t = T.tensor3("t")
    b, s, k = t.shape
    f = graphc.function([t], [t.reshape((b, -1)), T.reshape(t, (b * s, k)), t.reshape((k, s, b))])
    for shape in ((2, 3, 5), (4, 1, 2)):
        v = RNG.standard_normal(shape).astype(np.float32)
        first, second, third = f(v)
        _same(first, v.reshape(shape[0], -1))
        _same(second, v.reshape(shape[0] * shape[1], shape[2]))
        _same(third, v.reshape(shape[2], shape[1], shape[0]))


def test_reshape_with_symbolic_scalar_input():
    x, n = T.vector("x"), T.lscalar("n")
    f = graphc.function([x, n], x.reshape((n, -1)))
    v = np.arange(12, dtype=np.float32)
    _same(f(v, 3), v.reshape(3, -1))
    _same(f(v, 6), v.reshape(6, -1))


def test_reshape_static_type():
    x = T.matrix("x", shape=(3, 4))
    assert x.reshape((6, -1)).type.shape == (6, 2)
    assert T.reshape(x, (2, 2, 3)).type.shape == (2, 2, 3)


@pytest.mark.parametrize("target", [(5, -1), (5, 3), (13,), (2, 2, 2)])
def test_invalid_static_reshape_names_the_shapes(target):
    x = T.matrix("x", shape=(3, 4))
    with pytest.raises(ValueError) as err:
        T.reshape(x, target)
    msg = str(err.value)
    assert "(3, 4)" in msg
    assert "(" + ", ".join(str(d) for d in target) in msg


def test_reshape_two_unknowns_raises():
    with pytest.raises(ValueError):
        T.matrix("x").reshape((-1, 2, -1))


def test_reshape_ndim_mismatch_raises():
    with pytest.raises(ValueError):
        T.reshape(T.matrix("x"), (2, -1), ndim=3)


# -- transpose / dimshuffle -----------------------------------------------------------------
def test_transpose_variants():
    x, t = T.matrix("x"), T.tensor3("t")
    f = graphc.function(
        [x, t],
        [x.T, T.transpose(x), t.T, t.transpose(2, 0, 1), T.transpose(t, (1, -1, 0)), t.transpose((0, 2, 1))],
    )
    got = f(XV, T3V)
    want = [XV.T, XV.T, T3V.T, T3V.transpose(2, 0, 1), T3V.transpose(1, 2, 0), T3V.transpose(0, 2, 1)]
    for g, w in zip(got, want):
        _same(g, w)
    assert T.matrix(shape=(3, 4)).T.type.shape == (4, 3)


def test_transpose_bad_permutation():
    with pytest.raises(ValueError):
        T.transpose(T.tensor3("t"), (0, 1, 1))


def test_dimshuffle_with_new_axes():
    t = T.tensor3("t", shape=(2, 3, 5))
    outs = [t.dimshuffle(2, "x", 0, 1), t.dimshuffle("x", 0, 1, 2, "x"), T.dimshuffle(t, (1, 0, 2))]
    assert outs[0].type.shape == (5, 1, 2, 3)
    assert outs[0].broadcastable == (False, True, False, False)
    f = graphc.function([t], outs)
    got = f(T3V)
    _same(got[0], T3V.transpose(2, 0, 1)[:, None])
    _same(got[1], T3V[None, ..., None])
    _same(got[2], T3V.transpose(1, 0, 2))


def test_dimshuffle_bias_row():
    b = T.vector("b")
    x = T.matrix("x")
    f = graphc.function([x, b], x + b.dimshuffle("x", 0))
    bv = np.arange(4, dtype=np.float32)
    _same(f(XV, bv), XV + bv[None, :])


def test_dimshuffle_drops_broadcastable_axes():
    c = T.tensor3("c", shape=(None, 1, 4))
    dropped = c.dimshuffle(2, 0)
    assert dropped.ndim == 2 and dropped.type.shape[0] == 4
    f = graphc.function([c], [dropped, c.dimshuffle(0, 2)])
    v = RNG.standard_normal((3, 1, 4)).astype(np.float32)
    got = f(v)
    _same(got[0], v[:, 0, :].T)
    _same(got[1], v[:, 0, :])
    b = T.tensor(dtype="float32", broadcastable=(True, False), name="b")
    assert b.dimshuffle(1).type.ndim == 1


@pytest.mark.parametrize("shape", [(3, 4), (None, None)])
def test_dimshuffle_dropping_a_non_broadcastable_axis_raises(shape):
    x = T.matrix("x", shape=shape)
    with pytest.raises(ValueError, match="drops axis 1"):
        x.dimshuffle(0)


def test_dimshuffle_bad_patterns():
    x = T.matrix("x")
    with pytest.raises(ValueError):
        x.dimshuffle(0, 2)
    with pytest.raises(ValueError):
        x.dimshuffle(0, 0)


# -- flatten -------------------------------------------------------------------------------
@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_flatten(ndim):
    t = T.tensor4("t")
    out = t.flatten(ndim)
    assert out.ndim == ndim
    f = graphc.function([t], [out, T.flatten(t, ndim)])
    want = T4V.reshape(T4V.shape[: ndim - 1] + (-1,))
    for g in f(T4V):
        _same(g, want)
    other = RNG.standard_normal((1, 2, 3, 2)).astype(np.float32)
    _same(f(other)[0], other.reshape(other.shape[: ndim - 1] + (-1,)))


def test_flatten_static_types_and_outdim():
    t = T.tensor3("t", shape=(2, 3, 5))
    assert t.flatten().type.shape == (30,)
    assert t.flatten(2).type.shape == (2, 15)
    assert t.flatten(outdim=2).type.shape == (2, 15)
    assert t.flatten(3).type.shape == (2, 3, 5)
    with pytest.raises(ValueError):
        t.flatten(4)
    with pytest.raises(ValueError):
        t.flatten(0)


# -- concatenate / stack ----------------------------------------------------------------------
def test_concatenate_negative_axis_and_promotion():
    x, i = T.matrix("x"), T.imatrix("i")
    iv = RNG.integers(-5, 5, (3, 2)).astype(np.int32)
    out = T.concatenate([x, i], axis=-1)
    assert out.dtype == "float32"
    f = graphc.function([x, i], [out, T.concatenate([x.T, i.T], axis=0)])
    got = f(XV, iv)
    _same(got[0], np.concatenate([XV, iv.astype(np.float32)], axis=-1))
    _same(got[1], np.concatenate([XV.T, iv.T.astype(np.float32)], axis=0))


def test_concatenate_int_widths_and_float64():
    i, k, d = T.ivector("i"), T.lvector("k"), T.dvector("d")
    ints = T.concatenate([i, k])
    floats = T.concatenate([i, d, T.fvector("f")])
    assert ints.dtype == "int64" and floats.dtype == "float64"
    f = graphc.function([i, k], ints)
    _same(f(np.array([1, 2], np.int32), np.array([3], np.int64)), np.array([1, 2, 3], np.int64))


def test_concatenate_static_shapes():
    a = T.matrix("a", shape=(3, 4))
    assert T.concatenate([a, T.matrix("b", shape=(3, 2))], axis=1).type.shape == (3, 6)
    assert T.concatenate([a, a, a], axis=-2).type.shape == (9, 4)
    with pytest.raises(ValueError):
        T.concatenate([a, T.matrix("b", shape=(2, 4))], axis=1)
    with pytest.raises(ValueError):
        T.concatenate([a, a], axis=2)


def test_stack():
    x = T.matrix("x")
    f = graphc.function([x], [T.stack([x, 2 * x, x + 1]), T.stack([x, -x], axis=1), T.stack([x, -x], axis=-1)])
    got = f(XV)
    _same(got[0], np.stack([XV, 2 * XV, XV + 1]))
    _same(got[1], np.stack([XV, -XV], axis=1))
    _same(got[2], np.stack([XV, -XV], axis=-1))


def test_stack_scalars_and_shape_entries():
    x = T.matrix("x")
    n, m = x.shape
    f = graphc.function([x], [T.stack([x.sum(), x.max(), x[0, 0]]), T.stack([m, n, 2])])
    got = f(XV)
    _same(got[0], np.array([XV.sum(), XV.max(), XV[0, 0]], np.float32), exact=False)
    _same(got[1], np.array([4, 3, 2], np.int64))


def test_stack_static_shape_mismatch_raises():
    with pytest.raises(ValueError):
        T.stack([T.vector("a", shape=(3,)), T.vector("b", shape=(4,))])


# -- creation -------------------------------------------------------------------------------
def test_zeros_ones_with_symbolic_sizes():
    x = T.matrix("x")
    n, m = x.shape
    outs = [T.zeros((m, 2, n)), T.ones((n,), dtype="int32"), T.zeros([n, m], dtype="int64"), T.ones((2, 3))]
    assert outs[0].dtype == "float32" and outs[3].type.shape == (2, 3)
    f = graphc.function([x], outs)
    for shape in ((3, 4), (1, 6)):
        got = f(np.zeros(shape, np.float32))
        _same(got[0], np.zeros((shape[1], 2, shape[0]), np.float32))
        _same(got[1], np.ones(shape[0], np.int32))
        _same(got[2], np.zeros(shape, np.int64))
        _same(got[3], np.ones((2, 3), np.float32))


def test_zeros_negative_static_size_raises():
    with pytest.raises(ValueError):
        T.zeros((2, -1))


def test_zeros_like_ones_like():
    x, i = T.matrix("x"), T.ivector("i")
    f = graphc.function(
        [x, i],
        [T.zeros_like(x), T.ones_like(x), T.ones_like(i), T.zeros_like(x, dtype="int64"), T.ones_like(i, "float64")],
    )
    iv = np.array([4, 5, 6], np.int32)
    got = f(XV, iv)
    _same(got[0], np.zeros_like(XV))
    _same(got[1], np.ones_like(XV))
    _same(got[2], np.ones_like(iv))
    _same(got[3], np.zeros(XV.shape, np.int64))
    _same(got[4], np.ones(3, np.float64))


def test_alloc():
    x, v = T.matrix("x"), T.vector("v")
    outs = [
        T.alloc(np.float32(2.5), x.shape[0], 5),
        T.alloc(v, 2, v.shape[0]),
        T.alloc(0.0, x.shape),
        T.alloc(T.matrix("c", shape=(3, 1)), 2, 3, 4),
    ]
    f = graphc.function([x, v, T.matrix("c", shape=(3, 1))], outs[:3], on_unused_input="ignore")
    vv = np.arange(5, dtype=np.float32)
    got = f(XV, vv, np.zeros((3, 1), np.float32))
    _same(got[0], np.full((3, 5), 2.5, np.float32))
    _same(got[1], np.broadcast_to(vv, (2, 5)).copy())
    _same(got[2], np.zeros_like(XV))
    assert outs[3].type.shape == (2, 3, 4)


def test_alloc_broadcasts_a_column():
    c = T.matrix("c", shape=(3, 1))
    f = graphc.function([c], T.alloc(c, 2, 3, 4))
    cv = np.arange(3, dtype=np.float32).reshape(3, 1)
    _same(f(cv), np.broadcast_to(cv, (2, 3, 4)).copy())


def test_alloc_too_few_dims_raises():
    with pytest.raises(ValueError):
        T.alloc(T.matrix("x"), 5)


def test_arange():
    n, x = T.lscalar("n"), T.matrix("x")
    f = graphc.function([n, x], [T.arange(n), T.arange(2, n, 3), T.arange(x.shape[1]), T.arange(n, -1, -2)])
    for k in (0, 7, 11):
        got = f(k, XV)
        _same(got[0], np.arange(k))
        _same(got[1], np.arange(2, k, 3))
        _same(got[2], np.arange(4))
        _same(got[3], np.arange(k, -1, -2))


def test_arange_static_and_float():
    assert T.arange(3, 10, 2).type.shape == (4,)
    assert T.arange(10, 2, -3).type.shape == (3,)
    assert T.arange(5).dtype == "int64"
    assert T.arange(1.5).dtype == "float32"
    assert T.arange(5, dtype="float32").dtype == "float32"
    s = T.fscalar("s")
    f = graphc.function([s], [T.arange(0.0, s, 0.5), T.arange(10, 2, -3)])
    got = f(np.float32(2.2))
    _same(got[0], np.arange(0, 2.2, 0.5, dtype=np.float32), exact=False)
    _same(got[1], np.arange(10, 2, -3))


def test_arange_zero_step_raises():
    with pytest.raises(ValueError):
        T.arange(0, 5, 0)


def test_squeeze_and_padding():
    s = T.tensor4("s", shape=(2, 1, 4, 1))
    outs = [
        T.squeeze(s),
        s.squeeze(),
        T.squeeze(s, axis=1),
        T.shape_padleft(s),
        T.shape_padright(s, 2),
        T.shape_padaxis(s, 2),
        T.shape_padleft(s, 0),
    ]
    assert [o.type.shape for o in outs] == [
        (2, 4),
        (2, 4),
        (2, 4, 1),
        (1, 2, 1, 4, 1),
        (2, 1, 4, 1, 1, 1),
        (2, 1, 1, 4, 1),
        (2, 1, 4, 1),
    ]
    f = graphc.function([s], outs[:6])
    v = RNG.standard_normal((2, 1, 4, 1)).astype(np.float32)
    got = f(v)
    want = [v.squeeze(), v.squeeze(), v.squeeze(1), v[None], v[..., None, None], np.expand_dims(v, 2)]
    for g, w in zip(got, want):
        _same(g, w)


def test_squeeze_of_a_non_unit_axis_raises():
    with pytest.raises(ValueError):
        T.squeeze(T.matrix("x", shape=(2, 3)), axis=0)


def test_padding_symbolic_input():
    x = T.matrix("x")
    f = graphc.function([x], [T.shape_padleft(x, 2), T.shape_padright(x)])
    got = f(XV)
    _same(got[0], XV[None, None])
    _same(got[1], XV[..., None])
    assert T.shape_padleft(x).broadcastable == (True, False, False)
