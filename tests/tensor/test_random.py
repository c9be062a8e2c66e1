"""Random streams: shapes, ranges, moments, freshness, independence, seeding, argument errors."""

import numpy as np
import pytest

import graphc
import graphc.tensor as T
from graphc.tensor.shared_randomstreams import RandomStreams as SharedRandomStreams


def test_module_paths():
    assert T.shared_randomstreams.RandomStreams is T.RandomStreams
    assert SharedRandomStreams is T.RandomStreams
    assert T.MRG_RandomStreams is not None


def test_shapes_ranges_and_moments():
    srng = T.RandomStreams(seed=123)
    x = T.matrix("x")
    u = srng.uniform(x.shape, low=-2.0, high=3.0)
    n = srng.normal((200, 300), avg=1.5, std=2.0)
    b = srng.binomial(size=(x.shape[0], 7), p=0.3)
    assert (u.dtype, n.dtype, b.dtype) == ("float32", "float32", "int64")
    assert n.type.shape == (200, 300)
    f = graphc.function([x], [u, n, b])
    uv, nv, bv = f(np.zeros((300, 200), np.float32))
    assert uv.shape == (300, 200) and nv.shape == (200, 300) and bv.shape == (300, 7)
    assert uv.dtype == np.float32 and nv.dtype == np.float32 and bv.dtype == np.int64
    assert uv.min() >= -2.0 and uv.max() < 3.0
    assert abs(uv.mean() - 0.5) < 0.05 and abs(uv.std() - 5 / np.sqrt(12)) < 0.05
    assert abs(nv.mean() - 1.5) < 0.05 and abs(nv.std() - 2.0) < 0.05
    assert set(np.unique(bv)) <= {0, 1} and abs(bv.mean() - 0.3) < 0.05
    # a symbolic size follows the input
    uv2, _, bv2 = f(np.zeros((3, 5), np.float32))
    assert uv2.shape == (3, 5) and bv2.shape == (3, 7)


def test_binomial_n_and_dtype():
    srng = T.RandomStreams(seed=3)
    b = srng.binomial((20000,), n=5, p=0.25)
    b32 = srng.binomial((4, 6), p=0.5, dtype="int32")
    f = graphc.function([], [b, b32])
    bv, b32v = f()
    assert bv.min() >= 0 and bv.max() <= 5
    assert abs(bv.mean() - 1.25) < 0.05 and abs(bv.var() - 0.9375) < 0.06
    assert b32v.dtype == np.int32 and b32v.shape == (4, 6)


def test_binomial_with_a_tensor_p():
    srng = T.RandomStreams(seed=4)
    p = T.vector("p")
    f = graphc.function([p], srng.binomial((5000, 3), p=p))
    out = f(np.array([0.0, 0.5, 1.0], np.float32))
    assert (out[:, 0] == 0).all() and (out[:, 2] == 1).all()
    assert abs(out[:, 1].mean() - 0.5) < 0.05


def test_tensor_parameters_broadcast():
    srng = T.RandomStreams(seed=8)
    lo, mu = T.vector("lo"), T.vector("mu")
    f = graphc.function(
        [lo, mu], [srng.uniform((4000, 2), low=lo, high=lo + 1), srng.normal((4000, 2), avg=mu, std=0.5)]
    )
    u, n = f(np.array([-10, 10], np.float32), np.array([-3, 3], np.float32))
    assert (u[:, 0] >= -10).all() and (u[:, 0] < -9).all() and (u[:, 1] >= 10).all() and (u[:, 1] < 11).all()
    np.testing.assert_allclose(n.mean(axis=0), [-3, 3], atol=0.05)
    np.testing.assert_allclose(n.std(axis=0), [0.5, 0.5], atol=0.05)


def test_float64_samples():
    srng = T.RandomStreams(seed=11)
    v = graphc.function([], srng.normal((20000,), dtype="float64"))()
    assert v.dtype == np.float64
    assert abs(v.mean()) < 0.05 and abs(v.std() - 1) < 0.05


def test_each_call_draws_fresh_samples():
    srng = T.RandomStreams(seed=1)
    f = graphc.function([], [srng.uniform((50,)), srng.normal((50,)), srng.binomial((200,))])
    first, second = f(), f()
    for a, b in zip(first, second):
        assert not np.array_equal(a, b)


def test_two_ops_are_independent():
    srng = T.RandomStreams(seed=5)
    a, b = srng.uniform((5000,)), srng.uniform((5000,))
    f = graphc.function([], [a, b, srng.normal((5000,)), srng.normal((5000,))])
    ua, ub, na, nb = f()
    assert not np.array_equal(ua, ub) and not np.array_equal(na, nb)
    assert abs(np.corrcoef(ua, ub)[0, 1]) < 0.05
    assert abs(np.corrcoef(na, nb)[0, 1]) < 0.05


def test_one_op_used_twice_is_one_sample():
    srng = T.RandomStreams(seed=6)
    u = srng.uniform((10,))
    f = graphc.function([], [u, u * 2])
    a, b = f()
    np.testing.assert_allclose(b, 2 * a)


def _draw(seed):
    srng = T.RandomStreams(seed=seed)
    return graphc.function([], [srng.normal((4, 3)), srng.uniform((5,)), srng.binomial((6,), p=0.5)])


def test_same_seed_same_samples():
    f, g, h = _draw(42), _draw(42), _draw(43)
    first_f, first_g, first_h = f(), g(), h()
    for a, b in zip(first_f, first_g):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first_f[0], first_h[0])
    # the sequences stay in step
    for a, b in zip(f(), g()):
        np.testing.assert_array_equal(a, b)


def test_reseeding_restarts_the_stream():
    srng = SharedRandomStreams(seed=1)
    srng.uniform((3,))
    srng.seed(99)
    a = graphc.function([], srng.uniform((3,)))()
    b = graphc.function([], SharedRandomStreams(seed=99).uniform((3,)))()
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda s: s.uniform((3,), low=2.0, high=1.0), id="low>high"),
        pytest.param(lambda s: s.uniform((3,), low=0.0, high=np.inf), id="inf high"),
        pytest.param(lambda s: s.normal((3,), std=-1.0), id="negative std"),
        pytest.param(lambda s: s.normal((3,), avg=np.nan), id="nan avg"),
        pytest.param(lambda s: s.binomial((3,), p=1.5), id="p>1"),
        pytest.param(lambda s: s.binomial((3,), p=-0.1), id="p<0"),
        pytest.param(lambda s: s.binomial((3,), n=-1), id="negative n"),
        pytest.param(lambda s: s.binomial((3,), n=1.5), id="float n"),
        pytest.param(lambda s: s.uniform(), id="no size"),
        pytest.param(lambda s: s.normal(None), id="size None"),
        pytest.param(lambda s: s.uniform((3, -1)), id="negative size"),
        pytest.param(lambda s: s.uniform((3, 4), ndim=3), id="ndim mismatch"),
    ],
)
def test_bad_arguments_raise_value_error(call):
    with pytest.raises(ValueError):
        call(T.RandomStreams(seed=1))


@pytest.mark.parametrize("seed", [-1, "a", 1.5])
def test_bad_seed_raises_value_error(seed):
    with pytest.raises(ValueError):
        T.RandomStreams(seed=seed)


def test_bad_size_entries_and_dtypes_raise_type_error():
    srng = T.RandomStreams(seed=1)
    with pytest.raises(TypeError):
        srng.uniform((2.5,))
    with pytest.raises(TypeError):
        srng.uniform((2,), dtype="int32")
