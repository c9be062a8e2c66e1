"""Indexing semantics of symbolic tensors against numpy's (Theano follows numpy)."""

import numpy as np
import pytest

import graphc
import graphc.tensor as T

RNG = np.random.default_rng(1234)
XV = RNG.standard_normal((5, 7)).astype(np.float32)
T3V = RNG.standard_normal((2, 3, 4)).astype(np.float32)


def _same(got, want):
    got = np.asarray(got)
    assert got.shape == want.shape, (got.shape, want.shape)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    np.testing.assert_array_equal(got, want)


STATIC_INDICES = [
    pytest.param(lambda a: a[:, -1], id="[:, -1]"),
    pytest.param(lambda a: a[::-1], id="[::-1]"),
    pytest.param(lambda a: a[1:-1:2], id="[1:-1:2]"),
    pytest.param(lambda a: a[-1], id="[-1]"),
    pytest.param(lambda a: a[None, :, 2], id="[None, :, 2]"),
    pytest.param(lambda a: a[..., 0], id="[..., 0]"),
    pytest.param(lambda a: a[..., None], id="[..., None]"),
    pytest.param(lambda a: a[[2, 0, 1]], id="[[2, 0, 1]]"),
    pytest.param(lambda a: a[:, [6, -1, 0, 0]], id="[:, [6, -1, 0, 0]]"),
    pytest.param(lambda a: a[::-2, 1:], id="[::-2, 1:]"),
    pytest.param(lambda a: a[:, 5:0:-2], id="[:, 5:0:-2]"),
    pytest.param(lambda a: a[-2:, :-5], id="[-2:, :-5]"),
    pytest.param(lambda a: a[10:], id="[10:] (empty)"),
    pytest.param(lambda a: a[:, -1:-100:-1], id="[:, -1:-100:-1]"),
    pytest.param(lambda a: a[1:3][::-1, 2], id="chained"),
    pytest.param(lambda a: a[(0,)], id="[(0,)]"),
    pytest.param(lambda a: a[np.int64(-2), np.int32(3)], id="numpy int scalars"),
    pytest.param(lambda a: a[1:4, [0, 2]], id="[1:4, [0, 2]]"),
    pytest.param(lambda a: a[[4, 1], 2:5], id="[[4, 1], 2:5]"),
    pytest.param(lambda a: a[np.array([[0, 1], [4, 3]])], id="2-d int array"),
    pytest.param(lambda a: a[[]], id="[[]] (empty)"),
    pytest.param(lambda a: a[:, np.array([], np.int64)], id="[:, empty int array]"),
]


@pytest.mark.parametrize("index", STATIC_INDICES)
def test_static_index_matches_numpy(index):
    x = T.matrix("x")
    f = graphc.function([x], index(x))
    _same(f(XV), index(XV))


@pytest.mark.parametrize("index", STATIC_INDICES[:8])
def test_static_index_on_static_shape_infers_shape(index):
    x = T.matrix("x", shape=XV.shape)
    out = index(x)
    assert out.type.shape == index(XV).shape


def test_symbolic_int_index():
    x, i = T.matrix("x"), T.lscalar("i")
    f = graphc.function([x, i], [x[i], x[:, i], x[i, -i]])
    for k in (0, 3, 4, -1, -5):
        row, col, elem = f(XV, k)
        _same(row, XV[k])
        _same(col, XV[:, k])
        _same(elem, XV[k, -k])


def test_symbolic_int32_index():
    x, i = T.matrix("x"), T.iscalar("i")
    f = graphc.function([x, i], x[i])
    _same(f(XV, np.int32(2)), XV[2])


@pytest.mark.parametrize("step", [1, 2, -1, -3])
def test_symbolic_slice_bounds(step):
    x, a, b = T.matrix("x"), T.lscalar("a"), T.lscalar("b")
    f = graphc.function([x, a, b], x[a:b:step])
    bounds = [-9, -5, -3, -1, 0, 1, 2, 4, 5, 9]
    for lo in bounds:
        if step < 0 and lo < -len(XV):
            continue  # test_negative_step_start_before_the_beginning
        for hi in bounds:
            _same(f(XV, lo, hi), XV[lo:hi:step])


def test_negative_step_start_before_the_beginning_static():
    x = T.matrix("x")
    f = graphc.function([x], [x[-9::-1], x[-6:-9:-2]])
    _same(f(XV)[0], XV[-9::-1])
    _same(f(XV)[1], XV[-6:-9:-2])


def test_negative_step_start_before_the_beginning_symbolic():
    x, a = T.matrix("x"), T.lscalar("a")
    f = graphc.function([x, a], x[a::-1])
    _same(f(XV, -9), XV[-9::-1])


def test_symbolic_slice_one_sided():
    x, a = T.matrix("x"), T.lscalar("a")
    f = graphc.function([x, a], [x[a:], x[:a], x[:, a::-1], x[a : a + 2]])
    for k in (-6, -2, 0, 1, 3, 5, 8):
        got = f(XV, k)
        for g, w in zip(got, [XV[k:], XV[:k], XV[:, k::-1], XV[k : k + 2]]):
            _same(g, w)


def test_int_vector_index():
    x, idx = T.matrix("x"), T.lvector("idx")
    f = graphc.function([x, idx], [x[idx], x[:, idx], x[1:, idx]])
    for iv in ([2, 0, 1], [4, -1, 4, 0], [6]):
        iv = np.array(iv)
        rows, cols, sub = f(XV, iv[iv < 5])
        _same(rows, XV[iv[iv < 5]])
        _same(cols, XV[:, iv[iv < 5]])
        _same(sub, XV[1:, iv[iv < 5]])


def test_int32_vector_index_and_take():
    x, idx = T.matrix("x"), T.ivector("idx")
    iv = np.array([3, 0, 3], np.int32)
    f = graphc.function([x, idx], [x[idx], T.take(x, idx, axis=1), T.take(x, idx, axis=-1)])
    rows, cols, cols2 = f(XV, iv)
    _same(rows, XV[iv])
    _same(cols, np.take(XV, iv, axis=1))
    _same(cols2, np.take(XV, iv, axis=1))


@pytest.mark.parametrize(
    "sym,ref",
    [
        # numpy's rule: scalars and the array are all advanced indices; when a slice or a newaxis
        # separates them, the array's dims go first, else they stay in place
        pytest.param(lambda t, i, v: t[0, :, v], lambda a, v: a[0, :, v], id="int-slice-array"),
        pytest.param(lambda t, i, v: t[i, :, v], lambda a, v: a[1, :, v], id="symint-slice-array"),
        pytest.param(lambda t, i, v: t[0, None, v % 3], lambda a, v: a[0, None, v % 3], id="int-newaxis-array"),
        pytest.param(lambda t, i, v: t[i, ..., v], lambda a, v: a[1, ..., v], id="int-ellipsis-array"),
        pytest.param(lambda t, i, v: t[v % 2, :, 0], lambda a, v: a[v % 2, :, 0], id="array-slice-int"),
        pytest.param(lambda t, i, v: t[:, 0, v], lambda a, v: a[:, 0, v], id="slice-int-array adjacent"),
        pytest.param(lambda t, i, v: t[0, v % 3, i], lambda a, v: a[0, v % 3, 1], id="int-array-int adjacent"),
        pytest.param(lambda t, i, v: t[None, i, v % 3], lambda a, v: a[None, 1, v % 3], id="newaxis-int-array"),
        pytest.param(lambda t, i, v: t[0, v % 3, None], lambda a, v: a[0, v % 3, None], id="int-array-newaxis"),
    ],
)
def test_mixed_int_and_array_index_placement(sym, ref):
    t, i, v = T.tensor3("t"), T.lscalar("i"), T.lvector("v")
    iv = np.array([0, 3, 2, 1, 3])
    f = graphc.function([t, i, v], sym(t, i, v), on_unused_input="ignore")
    _same(f(T3V, 1, iv), ref(T3V, iv))


def test_shape_unpacking_and_reshape():
    x = T.matrix("x")
    n, m = x.shape
    f = graphc.function([x], [n, m, T.reshape(x, (m, n)), T.reshape(x, (n * m,)), x.shape[-1]])
    for shape in ((5, 7), (2, 3)):
        a = RNG.standard_normal(shape).astype(np.float32)
        nv, mv, r, flat, last = f(a)
        assert int(nv) == shape[0] and int(mv) == shape[1] and int(last) == shape[1]
        assert nv.dtype == np.int64
        _same(r, a.reshape(shape[1], shape[0]))
        _same(flat, a.reshape(-1))


def test_shape_unpacking_keeps_symbolic_dims():
    x = T.matrix("x")
    n, m = x.shape
    assert T.reshape(x, (m, n)).type.shape == (x.type.shape[1], x.type.shape[0])
    t = T.tensor3("t", shape=(None, 3, 4))
    b, s, f = t.shape
    assert T.reshape(t, (b, s * f)).type.shape == (t.type.shape[0], 12)


def test_len_and_iteration_of_static_axis():
    x = T.matrix("x", shape=(3, 4))
    assert len(x) == 3
    rows = list(x)
    assert len(rows) == 3 and all(r.type.shape == (4,) for r in rows)
    f = graphc.function([x], rows)
    for got, want in zip(f(XV[:3, :4]), XV[:3, :4]):
        _same(got, want)
    s = T.matrix("s", shape=(2, None))
    assert [r.ndim for r in s] == [1, 1]


def test_len_and_iteration_of_symbolic_axis_raise():
    x = T.matrix("x")
    with pytest.raises(TypeError):
        len(x)
    with pytest.raises(TypeError):
        list(x)
    with pytest.raises(TypeError):
        len(T.scalar("s"))


@pytest.mark.parametrize(
    "index",
    [
        pytest.param(lambda a: a[1, 2, 3], id="3 indices for 2 dims"),
        pytest.param(lambda a: a[0, ..., 0, 0], id="3 indices with ellipsis"),
        pytest.param(lambda a: a[..., ...], id="two ellipses"),
        pytest.param(lambda a: a[3], id="static row out of bounds"),
        pytest.param(lambda a: a[-4], id="static negative row out of bounds"),
        pytest.param(lambda a: a[:, 4], id="static column out of bounds"),
        pytest.param(lambda a: a[:, -5], id="static negative column out of bounds"),
        pytest.param(lambda a: a[[0, 3]], id="static array index out of bounds"),
        pytest.param(lambda a: a[:, [-5, 1]], id="static negative array index out of bounds"),
        pytest.param(lambda a: a[1, [0, 4]], id="static array index out of bounds after an int"),
    ],
)
def test_index_errors_are_index_errors(index):
    x = T.matrix("x", shape=(3, 4))
    with pytest.raises(IndexError):
        index(x)
    with pytest.raises(IndexError):
        index(np.zeros((3, 4)))  # the same index really is an IndexError in numpy


def test_too_many_indices_on_symbolic_shape():
    with pytest.raises(IndexError, match="too many indices"):
        T.matrix("x")[0, 0, 0]


@pytest.mark.parametrize(
    "index",
    [
        pytest.param(lambda a: a[True], id="bool"),
        pytest.param(lambda a: a[1.0], id="float"),
        pytest.param(lambda a: a[:, 1.5], id="float in tuple"),
        pytest.param(lambda a: a[np.array([True, False, True])], id="bool mask"),
        pytest.param(lambda a: a[[1.0, 2.0]], id="float list"),
        pytest.param(lambda a: a[T.fscalar("f")], id="float scalar variable"),
        pytest.param(lambda a: a[T.vector("b", dtype="bool")], id="bool vector variable"),
        pytest.param(lambda a: a[T.fvector("f")], id="float vector variable"),
        pytest.param(lambda a: a[1 : T.fscalar("f")], id="float slice bound"),
    ],
)
def test_bool_and_float_indices_raise_type_error(index):
    with pytest.raises(TypeError):
        index(T.matrix("x", shape=(3, 4)))


def test_zero_slice_step_raises():
    with pytest.raises(ValueError):
        T.matrix("x")[::0]


def test_symbolic_index_out_of_bounds_fails_at_run_time():
    x, i = T.matrix("x"), T.lscalar("i")
    f = graphc.function([x, i], x[i])
    with pytest.raises(Exception):  # noqa: B017  (numpy raises IndexError; the runtime reports it its own way)
        f(XV, 5)


def test_take_static_out_of_bounds():
    x = T.matrix("x", shape=(3, 4))
    with pytest.raises(IndexError):
        T.take(x, [0, 4], axis=1)
    with pytest.raises(IndexError):
        T.take(x, T.constant(np.array([-4])), axis=0)
    assert T.take(x, [-3, 2], axis=0).type.shape == (2, 4)
