"""DropoutLayer (and its helpers), AlphaDropoutLayer and GaussianNoiseLayer: identities when deterministic, statistics otherwise."""

from __future__ import annotations

import math

import numpy as np
import pytest
from onnx.reference import ReferenceEvaluator

import graphc
import graphc.tensor as T
from graphc.export import to_onnx
from graphc.layers import (
    AlphaDropoutLayer,
    DropoutLayer,
    ExpressionLayer,
    GaussianNoiseLayer,
    InputLayer,
    NonlinearityLayer,
    alpha_dropout,
    dropout,
    dropout_channels,
    dropout_locations,
    get_output,
    spatial_dropout,
)
from graphc.random import get_rng, set_rng

RNG = np.random.default_rng(11)


def outputs(layer, x, **kwargs):
    """``layer``'s output for ``x`` by ONNX Runtime (graphc.function) and by onnx.reference."""
    l_in = layer.input_layer
    out = get_output(layer, **kwargs)
    got = graphc.function([l_in.input_var], out)(x)
    model = to_onnx({"y": out}, [l_in.input_var])
    ref = ReferenceEvaluator(model).run(None, {model.graph.input[0].name: x})[0]
    for o in (got, ref):
        assert o.shape == x.shape and o.dtype == x.dtype
        assert all(s is None or s == g for s, g in zip(layer.output_shape, o.shape))
    return got, ref


@pytest.fixture(autouse=True)
def _seeded_rng():
    """Layers draw their stream seeds from graphc.random: seed it, restore it afterwards."""
    old = get_rng()
    set_rng(np.random.RandomState(20240611))
    yield
    set_rng(old)


# -- DropoutLayer ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(200, 100), (None, 100)])
def test_dropout_deterministic_and_p0_are_identities(shape):
    x = RNG.normal(size=(200, 100)).astype(np.float32)
    layer = DropoutLayer(InputLayer(shape), p=0.4)
    for out in outputs(layer, x, deterministic=True):
        np.testing.assert_array_equal(out, x)
    assert get_output(layer, deterministic=True) is layer.input_layer.input_var
    for out in outputs(DropoutLayer(InputLayer(shape), p=0), x):
        np.testing.assert_array_equal(out, x)


@pytest.mark.parametrize("shape", [(200, 100), (None, 100)])
@pytest.mark.parametrize("p", [0.5, 0.2, 0.75])
def test_dropout_rate_and_rescale(shape, p):
    x = RNG.uniform(1.0, 2.0, size=(200, 100)).astype(np.float32)
    layer = DropoutLayer(InputLayer(shape), p=p)
    for out in outputs(layer, x):
        dropped = out == 0
        # 20000 Bernoulli draws: the rate is within 5 standard errors of p
        assert abs(dropped.mean() - p) < 5 * math.sqrt(p * (1 - p) / x.size)
        np.testing.assert_allclose(out[~dropped], x[~dropped] / (1 - p), rtol=1e-6)


def test_dropout_no_rescale_keeps_values_and_int_dtype():
    x = RNG.uniform(1.0, 2.0, size=(120, 50)).astype(np.float32)
    layer = DropoutLayer(InputLayer((None, 50)), p=0.3, rescale=False)
    for out in outputs(layer, x):
        kept = out != 0
        np.testing.assert_array_equal(out[kept], x[kept])
        assert abs(kept.mean() - 0.7) < 0.05
    ints = T.imatrix("ints")
    int_layer = DropoutLayer(InputLayer((None, 50), input_var=ints), rescale=False)
    out = get_output(int_layer)
    assert out.dtype == "int32"
    got = graphc.function([ints], out)(np.full((120, 50), 3, np.int32))
    assert got.dtype == np.int32 and set(np.unique(got)) == {0, 3}


@pytest.mark.parametrize("shared_axes", [(0,), (2, 3), (-1, -2), (1,), (0, 1, 3)])
@pytest.mark.parametrize("batch", [4, None])
def test_dropout_shared_axes_broadcast_the_mask(shared_axes, batch):
    x = np.ones((4, 6, 7, 5), np.float32)
    layer = DropoutLayer(InputLayer((batch, 6, 7, 5)), p=0.5, shared_axes=shared_axes)
    assert layer.shared_axes == shared_axes
    axes = tuple(a % 4 for a in shared_axes)
    for out in outputs(layer, x):
        # the mask is constant along the shared axes: the mean over them reproduces the output
        np.testing.assert_array_equal(out, np.broadcast_to(out.mean(axis=axes, keepdims=True), out.shape))
        assert set(np.unique(out)) == {0.0, 2.0}


def test_dropout_outputs_of_one_call_share_the_mask():
    x = RNG.uniform(1.0, 2.0, size=(30, 40)).astype(np.float32)
    l_in = InputLayer((None, 40))
    drop = DropoutLayer(l_in, p=0.5)
    a = NonlinearityLayer(drop, nonlinearity=None)
    b = ExpressionLayer(drop, lambda v: v * 3)
    out_a, out_b = get_output([a, b])
    fn = graphc.function([l_in.input_var], [out_a, out_b])
    got_a, got_b = fn(x)
    np.testing.assert_array_equal(got_a == 0, got_b == 0)
    np.testing.assert_allclose(got_b, 3 * got_a, rtol=1e-6)
    # every call draws a new mask; another get_output call samples its own
    again_a, _ = fn(x)
    assert not np.array_equal(again_a == 0, got_a == 0)
    other = graphc.function([l_in.input_var], get_output(a))(x)
    assert not np.array_equal(other == 0, got_a == 0)


def test_dropout_seeded_by_graphc_random():
    x = np.ones((50, 60), np.float32)

    def first_mask():
        layer = DropoutLayer(InputLayer((None, 60)))
        return graphc.function([layer.input_layer.input_var], get_output(layer))(x)

    set_rng(np.random.RandomState(99))
    one = first_mask()
    set_rng(np.random.RandomState(99))
    np.testing.assert_array_equal(first_mask(), one)
    assert not np.array_equal(first_mask(), one)


def test_dropout_symbolic_p():
    p = T.scalar("p")
    layer = DropoutLayer(InputLayer((None, 80)), p=p)
    out = get_output(layer)
    assert out.dtype == "float32"
    got = graphc.function([layer.input_layer.input_var, p], out)(np.ones((100, 80), np.float32), np.float32(0.25))
    assert abs((got == 0).mean() - 0.25) < 0.03
    np.testing.assert_allclose(got[got != 0], 1 / 0.75, rtol=1e-6)


def test_dropout_float64_input():
    x = T.dmatrix("x")
    layer = DropoutLayer(InputLayer((None, 30), input_var=x), p=0.5)
    out = get_output(layer)
    assert out.dtype == "float64"
    got = graphc.function([x], out)(np.ones((20, 30)))
    assert got.dtype == np.float64 and set(np.unique(got)) == {0.0, 2.0}


def test_dropout_errors():
    for p in (1.0, -0.1, 1.5):
        with pytest.raises(ValueError, match=r"DropoutLayer 'drop': the dropout probability p must lie in \[0, 1\)"):
            DropoutLayer((None, 5), p=p, name="drop")
    with pytest.raises(TypeError, match="DropoutLayer 'drop': p must be a number"):
        DropoutLayer((None, 5), p="half", name="drop")
    with pytest.raises(ValueError, match=r"DropoutLayer 'drop': shared_axes \(0, 2\) names axis 2, but the input has 2 dimensions"):
        DropoutLayer((None, 5), shared_axes=(0, 2), name="drop")
    with pytest.raises(ValueError, match=r"DropoutLayer: shared_axes must be an int or a tuple of ints"):
        DropoutLayer((None, 5), shared_axes="auto")
    assert DropoutLayer((None, 5), shared_axes=1).shared_axes == (1,)


def test_dropout_helpers():
    assert dropout is DropoutLayer
    assert spatial_dropout is dropout_channels
    assert dropout_channels((10, 20)).shared_axes == ()
    assert dropout_channels((None, None, None)).shared_axes == (2,)
    assert dropout_channels((1, 2, 3, 4)).shared_axes == (2, 3)
    assert dropout_channels(InputLayer((1, 2, 3, 4, 5, 6)), p=0.2).shared_axes == (2, 3, 4, 5)
    assert dropout_locations((10, 20)).shared_axes == (1,)
    assert dropout_locations((1, 2, 3, 4), p=0.3).p == 0.3
    x = np.ones((3, 8, 5, 4), np.float32)
    for out in outputs(spatial_dropout(InputLayer((None, 8, 5, 4))), x):
        np.testing.assert_array_equal(out, np.broadcast_to(out[:, :, :1, :1], out.shape))
    for out in outputs(dropout_locations(InputLayer((None, 8, 5, 4))), x):
        np.testing.assert_array_equal(out, np.broadcast_to(out[:, :1], out.shape))


# -- GaussianNoiseLayer ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(200, 100), (None, 100)])
def test_gaussian_noise_statistics(shape):
    x = RNG.normal(size=(200, 100)).astype(np.float32)
    layer = GaussianNoiseLayer(InputLayer(shape), sigma=0.3)
    for out in outputs(layer, x):
        noise = out - x
        assert abs(noise.mean()) < 5 * 0.3 / math.sqrt(x.size)
        assert abs(noise.std() - 0.3) < 0.03 * 0.3
        assert (noise != 0).all()
    for out in outputs(layer, x, deterministic=True):
        np.testing.assert_array_equal(out, x)
    for out in outputs(GaussianNoiseLayer(InputLayer(shape), sigma=0), x):
        np.testing.assert_array_equal(out, x)


def test_gaussian_noise_dtype_and_errors():
    x = T.dmatrix("x")
    out = get_output(GaussianNoiseLayer(InputLayer((None, 4), input_var=x)))
    assert out.dtype == "float64"
    with pytest.raises(ValueError, match="GaussianNoiseLayer 'g': sigma must be a finite non-negative number"):
        GaussianNoiseLayer((None, 4), sigma=-1.0, name="g")


# -- AlphaDropoutLayer -------------------------------------------------------------------------------------
SELU_ALPHA = -1.0507009873554804934193349852946 * 1.6732632423543772848170429916717


def alpha_affine(p, alpha=SELU_ALPHA):
    """The reference equations (Klambauer et al. 2017, eq. 14): ``a`` and ``b`` for drop rate ``p``."""
    q = 1 - p
    a = (q + alpha**2 * q * p) ** -0.5
    return a, -a * p * alpha


@pytest.mark.parametrize("shape", [(300, 70), (None, 70)])
def test_alpha_dropout_deterministic_and_p0_are_identities(shape):
    x = RNG.normal(size=(300, 70)).astype(np.float32)
    layer = AlphaDropoutLayer(InputLayer(shape), p=0.3)
    for out in outputs(layer, x, deterministic=True):
        np.testing.assert_array_equal(out, x)
    assert get_output(layer, deterministic=True) is layer.input_layer.input_var
    for out in outputs(AlphaDropoutLayer(InputLayer(shape), p=0), x):
        np.testing.assert_array_equal(out, x)


@pytest.mark.parametrize("shape", [(300, 70), (None, 70)])
@pytest.mark.parametrize(("p", "rescale"), [(0.1, False), (0.35, False), (0.1, True), (0.35, True)])
def test_alpha_dropout_values_follow_the_mask(shape, p, rescale):
    x = RNG.normal(size=(300, 70)).astype(np.float32)
    layer = AlphaDropoutLayer(InputLayer(shape), p=p, rescale=rescale)
    a, b = alpha_affine(p)
    kept_value = a * x / (1 - p) + b if rescale else a * x + b
    for out in outputs(layer, x):
        # a kept value lands on a * alpha + b with probability zero: the output gives the mask back
        dropped = np.isclose(out, a * SELU_ALPHA + b, rtol=0, atol=1e-6)
        assert abs(dropped.mean() - p) < 5 * math.sqrt(p * (1 - p) / x.size)
        np.testing.assert_allclose(out, np.where(dropped, a * SELU_ALPHA + b, kept_value), rtol=1e-5, atol=1e-6)


def test_alpha_dropout_self_normalizes():
    x = RNG.standard_normal(size=(500, 400)).astype(np.float32)
    for p in (0.05, 0.1, 0.3):
        for out in outputs(AlphaDropoutLayer(InputLayer((None, 400)), p=p, rescale=False), x):
            assert abs(out.mean()) < 0.01
            assert abs(out.var() - 1) < 0.02
    # upstream's rescale (divide by q first) keeps the mean but not the variance
    p, q = 0.1, 0.9
    expected_var = (1 / q + SELU_ALPHA**2 * p * q) / (q + SELU_ALPHA**2 * p * q)
    for out in outputs(AlphaDropoutLayer(InputLayer((None, 400)), p=p), x):
        assert abs(out.mean()) < 0.01
        assert abs(out.var() - expected_var) < 0.02


@pytest.mark.parametrize("shared_axes", [(0,), (2, 3), (-1, -2), (1,), (0, 1, 3)])
@pytest.mark.parametrize("batch", [4, None])
def test_alpha_dropout_shared_axes_broadcast_the_mask(shared_axes, batch):
    x = np.ones((4, 6, 7, 5), np.float32)
    layer = AlphaDropoutLayer(InputLayer((batch, 6, 7, 5)), p=0.5, shared_axes=shared_axes)
    assert layer.shared_axes == shared_axes
    axes = tuple(a % 4 for a in shared_axes)
    a, b = alpha_affine(0.5)
    for out in outputs(layer, x):
        np.testing.assert_allclose(out, np.broadcast_to(out.mean(axis=axes, keepdims=True), out.shape), rtol=1e-6)
        np.testing.assert_allclose(np.unique(out), sorted([a * SELU_ALPHA + b, a * 2 + b]), rtol=1e-6)


def test_alpha_dropout_alpha_argument():
    from graphc.nonlinearities import SELU, selu

    assert AlphaDropoutLayer((None, 3)).alpha == -1.7580993408473766
    assert AlphaDropoutLayer((None, 3), alpha=selu).alpha == pytest.approx(SELU_ALPHA)
    layer = AlphaDropoutLayer(InputLayer((None, 30)), p=0.2, alpha=SELU(scale=2.0, scale_neg=0.5), rescale=False)
    assert layer.alpha == -1.0
    a, b = alpha_affine(0.2, alpha=-1.0)
    x = RNG.normal(size=(50, 30)).astype(np.float32)
    for out in outputs(layer, x):
        dropped = np.isclose(out, b - a, rtol=0, atol=1e-6)
        assert dropped.any() and not dropped.all()
        np.testing.assert_allclose(out[~dropped], a * x[~dropped] + b, rtol=1e-5, atol=1e-6)


def test_alpha_dropout_symbolic_p_and_alpha():
    p, alpha = T.scalar("p"), T.scalar("alpha")
    layer = AlphaDropoutLayer(InputLayer((None, 80)), p=p, alpha=alpha, rescale=False)
    out = get_output(layer)
    assert out.dtype == "float32"
    x = RNG.normal(size=(100, 80)).astype(np.float32)
    got = graphc.function([layer.input_layer.input_var, p, alpha], out)(x, np.float32(0.25), np.float32(-1.5))
    a, b = alpha_affine(0.25, alpha=-1.5)
    dropped = np.isclose(got, a * -1.5 + b, rtol=0, atol=1e-6)
    assert abs(dropped.mean() - 0.25) < 0.03
    np.testing.assert_allclose(got[~dropped], a * x[~dropped] + b, rtol=1e-5, atol=1e-6)


def test_alpha_dropout_dtypes():
    layer = AlphaDropoutLayer(InputLayer((None, 30)), p=np.float32(0.5))
    assert get_output(layer).dtype == "float32"
    x = T.dmatrix("x")
    out = get_output(AlphaDropoutLayer(InputLayer((None, 30), input_var=x)))
    assert out.dtype == "float64"
    got = graphc.function([x], out)(np.ones((20, 30)))
    assert got.dtype == np.float64
    ints = T.imatrix("ints")
    out = get_output(AlphaDropoutLayer(InputLayer((None, 30), input_var=ints), rescale=False))
    assert out.dtype == "int32"
    assert graphc.function([ints], out)(np.ones((20, 30), np.int32)).dtype == np.int32


def test_alpha_dropout_gradient_is_a_times_the_mask():
    x = T.matrix("x")
    layer = AlphaDropoutLayer(InputLayer((None, 40), input_var=x), p=0.3, rescale=False)
    out = get_output(layer)
    fn = graphc.function([x], [out, T.grad(out.sum(), x)])
    xv = RNG.normal(size=(60, 40)).astype(np.float32)
    got, grad = fn(xv)
    a, b = alpha_affine(0.3)
    kept = ~np.isclose(got, a * SELU_ALPHA + b, rtol=0, atol=1e-6)
    np.testing.assert_allclose(grad, a * kept, rtol=1e-6)


def test_alpha_dropout_seeded_by_graphc_random():
    x = np.ones((50, 60), np.float32)

    def first_output():
        layer = AlphaDropoutLayer(InputLayer((None, 60)))
        return graphc.function([layer.input_layer.input_var], get_output(layer))(x)

    set_rng(np.random.RandomState(99))
    one = first_output()
    set_rng(np.random.RandomState(99))
    np.testing.assert_array_equal(first_output(), one)
    assert not np.array_equal(first_output(), one)


def test_alpha_dropout_errors_and_exports():
    for p in (1.0, -0.1, 1.5):
        with pytest.raises(ValueError, match=r"AlphaDropoutLayer 'ad': the dropout probability p must lie in \[0, 1\)"):
            AlphaDropoutLayer((None, 5), p=p, name="ad")
    with pytest.raises(TypeError, match="AlphaDropoutLayer 'ad': alpha must be a number"):
        AlphaDropoutLayer((None, 5), alpha="selu", name="ad")
    with pytest.raises(ValueError, match=r"AlphaDropoutLayer 'ad': shared_axes \(0, 2\) names axis 2"):
        AlphaDropoutLayer((None, 5), shared_axes=(0, 2), name="ad")
    layer = alpha_dropout((None, 5), shared_axes=1)
    assert alpha_dropout is AlphaDropoutLayer and isinstance(layer, DropoutLayer)
    assert (layer.p, layer.rescale, layer.shared_axes) == (0.1, True, (1,))
    assert layer.output_shape == (None, 5)
