"""Pooling layers and T.signal.pool against numpy loops written from Theano's/Lasagne's definitions.

The pooling oracle walks Theano's windows: starts ``j * stride`` in the padded
input; with ``ignore_border`` only whole windows, without it windows up to the
last one that covers a new element, clipped to the input.  A maximum ignores
the padding; ``average_inc_pad`` divides by the window's size inside the
padded input, ``average_exc_pad`` by its real elements; ``sum`` adds them.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
from conftest import run_layer

import graphc
import graphc.tensor as T
from graphc import layers as L
from graphc.tensor.signal import pool

RNG = np.random.default_rng(5)
TOL = dict(rtol=2e-5, atol=2e-5)


def lasagne_length(size: int, k: int, s: int, p: int, ignore_border: bool) -> int:
    """Lasagne's pool_output_length, written out."""
    if ignore_border:
        return (size + 2 * p - k + 1 + s - 1) // s
    if s >= k:
        return (size + s - 1) // s
    return max(0, (size - k + s - 1) // s) + 1


def pool_oracle(x: np.ndarray, ws: Any, st: Any, pad: Any, ignore_border: bool, mode: str) -> np.ndarray:
    """Pool the trailing len(ws) axes of x."""
    n = len(ws)
    sp = x.shape[-n:]
    counts = [lasagne_length(sp[i], ws[i], st[i], pad[i], ignore_border) for i in range(n)]
    y = np.zeros(x.shape[:-n] + tuple(counts))
    for o in itertools.product(*map(range, counts)):
        real, size = [], 1
        for i in range(n):
            lo = o[i] * st[i]
            hi = min(lo + ws[i], sp[i] + 2 * pad[i])
            size *= hi - lo
            real.append(slice(max(lo - pad[i], 0), min(hi - pad[i], sp[i])))
        region = x[(Ellipsis,) + tuple(real)].reshape(x.shape[:-n] + (-1,)).astype(np.float64)
        if mode == "max":
            value = region.max(-1)
        elif mode == "sum":
            value = region.sum(-1)
        elif mode == "average_inc_pad":
            value = region.sum(-1) / size
        else:
            value = region.mean(-1)
        y[(Ellipsis,) + o] = value
    return y


def check_layer(layer: Any, x: np.ndarray, expected: np.ndarray, reference: bool = True) -> None:
    """ONNX Runtime and onnx.reference give the oracle's values at two batch sizes; the shape is the layer's."""
    shape = layer.output_shape
    assert len(shape) == expected.ndim
    assert all(s is None or s == e for s, e in zip(shape, expected.shape)), (shape, expected.shape)
    for batch in (x, x[:1]):
        want = expected[: len(batch)]
        if not reference:
            (l_in,) = [lyr for lyr in L.get_all_layers(layer) if isinstance(lyr, L.InputLayer)]
            got = graphc.function([l_in.input_var], L.get_output(layer))(batch)
            np.testing.assert_allclose(got, want, err_msg="onnxruntime", **TOL)
            continue
        got, ref = run_layer(layer, batch)
        np.testing.assert_allclose(got, want, err_msg="onnxruntime", **TOL)
        np.testing.assert_allclose(ref, want, err_msg="onnx.reference", **TOL)


def data(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


MODES = ["max", "average_inc_pad", "average_exc_pad"]


# -- Pool2DLayer and friends --------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "pool_size,stride,pad,ignore_border",
    [((2, 3), None, (0, 0), True), ((3, 2), (2, 1), (1, 1), True), ((2, 3), (1, 2), (1, 2), True),
     ((2, 3), None, (0, 0), False), ((3, 2), (2, 1), (0, 0), False), ((2, 2), (3, 4), (0, 0), False),
     ((3, 3), (1, 1), (2, 0), True)],
)
def test_pool2d_layer(pool_size: Any, stride: Any, pad: Any, ignore_border: bool, mode: str) -> None:
    x = data(3, 2, 7, 9)
    layer = L.Pool2DLayer(L.InputLayer((None, 2, 7, 9)), pool_size, stride=stride, pad=pad,
                          ignore_border=ignore_border, mode=mode)
    # onnx.reference's MaxPool reads the pads in the wrong order when every stride is 1
    reference = not (mode == "max" and stride == (1, 1) and any(pad))
    check_layer(layer, x, pool_oracle(x, pool_size, stride or pool_size, pad, ignore_border, mode), reference)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("pool_size,stride,pad,ignore_border", [(3, 2, 1, True), (2, None, 0, False),
                                                                  (3, 4, 0, False), (2, 1, 1, True)])
def test_pool1d_layer(pool_size: int, stride: Any, pad: int, ignore_border: bool, mode: str) -> None:
    x = data(3, 2, 11)
    layer = L.Pool1DLayer(L.InputLayer((None, 2, 11)), pool_size, stride=stride, pad=pad, ignore_border=ignore_border,
                          mode=mode)
    reference = not (mode == "max" and stride == 1 and pad)  # onnx.reference's unit-stride MaxPool, as above
    check_layer(layer, x, pool_oracle(x, (pool_size,), (stride or pool_size,), (pad,), ignore_border, mode), reference)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("ignore_border,pad", [(True, (1, 0, 1)), (False, (0, 0, 0))])
def test_pool3d_layer(ignore_border: bool, pad: Any, mode: str) -> None:
    x = data(2, 2, 5, 4, 7)
    layer = L.Pool3DLayer(L.InputLayer((None, 2, 5, 4, 7)), (2, 3, 2), stride=(2, 1, 3), pad=pad,
                          ignore_border=ignore_border, mode=mode)
    check_layer(layer, x, pool_oracle(x, (2, 3, 2), (2, 1, 3), pad, ignore_border, mode))


def test_max_pool_layers_and_window_longer_than_input() -> None:
    x1, x2, x3 = data(2, 3, 10), data(2, 3, 5, 7), data(2, 1, 3, 4, 5)
    check_layer(L.MaxPool1DLayer(L.InputLayer((None, 3, 10)), 3, ignore_border=False), x1,
                pool_oracle(x1, (3,), (3,), (0,), False, "max"))
    check_layer(L.MaxPool2DLayer(L.InputLayer((None, 3, 5, 7)), (2, 3), stride=(1, 2), pad=(1, 1)), x2,
                pool_oracle(x2, (2, 3), (1, 2), (1, 1), True, "max"))
    check_layer(L.MaxPool3DLayer(L.InputLayer((None, 1, 3, 4, 5)), 2), x3, pool_oracle(x3, (2,) * 3, (2,) * 3, (0,) * 3,
                                                                                       True, "max"))
    # ignore_border=False with a window longer than the axis pools the whole axis (Theano)
    long_window = L.Pool2DLayer(L.InputLayer((None, 3, 5, 7)), (6, 2), stride=(6, 2), ignore_border=False,
                                mode="average_exc_pad")
    assert long_window.output_shape == (None, 3, 1, 4)
    check_layer(long_window, x2, pool_oracle(x2, (6, 2), (6, 2), (0, 0), False, "average_exc_pad"))


def test_pool_symbolic_spatial_sizes() -> None:
    l_in = L.InputLayer((None, 2, None, None))
    layer = L.Pool2DLayer(l_in, (3, 2), stride=(2, 1), ignore_border=False, mode="average_inc_pad")
    assert layer.output_shape == (None, 2, None, None)
    f = graphc.function([l_in.input_var], L.get_output(layer))
    for shape in [(2, 2, 7, 6), (1, 2, 4, 9)]:
        x = data(*shape)
        np.testing.assert_allclose(f(x), pool_oracle(x, (3, 2), (2, 1), (0, 0), False, "average_inc_pad"), **TOL)


@pytest.mark.parametrize(
    "in_shape,kwargs,out_shape",
    [
        ((None, 64, 24, 24), dict(pool_size=2), (None, 64, 12, 12)),
        ((32, None, 24, 24), dict(pool_size=2), (32, None, 12, 12)),
        ((32, 64, None, 24), dict(pool_size=2), (32, 64, None, 12)),
        ((None, 3, 17, 13), dict(pool_size=(3, 2), stride=(4, 1), ignore_border=False), (None, 3, 5, 12)),
        ((None, 3, 17, 13), dict(pool_size=(3, 2), stride=2, pad=(1, 1)), (None, 3, 9, 7)),
    ],
)
def test_pool_output_shape(in_shape: Any, kwargs: Any, out_shape: Any) -> None:
    assert L.MaxPool2DLayer(in_shape, **kwargs).output_shape == out_shape


# -- upscaling --------------------------------------------------------------------------------------
def upscale_oracle(x: np.ndarray, factors: Any, mode: str) -> np.ndarray:
    n = len(factors)
    if mode == "repeat":
        for i, f in enumerate(factors):
            x = np.repeat(x, f, axis=x.ndim - n + i)
        return x
    out = np.zeros(x.shape[:-n] + tuple(s * f for s, f in zip(x.shape[-n:], factors)), dtype=x.dtype)
    out[(Ellipsis,) + tuple(slice(None, None, f) for f in factors)] = x
    return out


@pytest.mark.parametrize("mode", ["repeat", "dilate"])
def test_upscale_layers(mode: str) -> None:
    x1, x2, x3 = data(2, 3, 5), data(2, 3, 4, 5), data(2, 2, 3, 2, 4)
    check_layer(L.Upscale1DLayer(L.InputLayer((None, 3, 5)), 3, mode=mode), x1, upscale_oracle(x1, (3,), mode))
    check_layer(L.Upscale2DLayer(L.InputLayer((None, 3, 4, 5)), (2, 3), mode=mode), x2,
                upscale_oracle(x2, (2, 3), mode))
    check_layer(L.Upscale2DLayer(L.InputLayer((None, 3, 4, 5)), (1, 2), mode=mode), x2,
                upscale_oracle(x2, (1, 2), mode))
    check_layer(L.Upscale3DLayer(L.InputLayer((None, 2, 3, 2, 4)), (2, 1, 3), mode=mode), x3,
                upscale_oracle(x3, (2, 1, 3), mode))
    sym = L.Upscale2DLayer(L.InputLayer((None, 3, None, 5)), (2, 3), mode=mode)
    assert sym.output_shape == (None, 3, None, 15)
    check_layer(sym, x2, upscale_oracle(x2, (2, 3), mode))


# -- feature pooling, WTA, global pooling -------------------------------------------------------------
@pytest.mark.parametrize("pool_size,axis", [(2, 1), (3, 1), (2, 2), (3, -1)])
def test_feature_pool_layer(pool_size: int, axis: int) -> None:
    x = data(3, 6, 4, 6)
    layer = L.FeaturePoolLayer(L.InputLayer((None, 6, 4, 6)), pool_size, axis=axis)
    ax = axis % 4
    want = x.reshape(x.shape[:ax] + (x.shape[ax] // pool_size, pool_size) + x.shape[ax + 1:]).max(axis=ax + 1)
    check_layer(layer, x, want)
    mean_layer = L.FeaturePoolLayer(L.InputLayer((None, 6, 4, 6)), pool_size, axis=axis, pool_function=T.mean)
    check_layer(mean_layer, x, x.reshape(want.shape[: ax + 1] + (pool_size,) + want.shape[ax + 1:]).mean(axis=ax + 1))


@pytest.mark.parametrize("pool_size,axis", [(2, 1), (3, 2)])
def test_feature_wta_layer(pool_size: int, axis: int) -> None:
    x = data(3, 6, 6, 5)
    want = np.zeros_like(x)
    moved = np.moveaxis(x, axis, -1)
    out = np.moveaxis(want, axis, -1)
    for idx in np.ndindex(*moved.shape[:-1]):
        for g in range(0, moved.shape[-1], pool_size):
            block = moved[idx][g:g + pool_size]
            out[idx][g + int(np.argmax(block))] = block.max()
    layer = L.FeatureWTALayer(L.InputLayer((None, 6, 6, 5)), pool_size, axis=axis)
    assert layer.output_shape == (None, 6, 6, 5)
    check_layer(layer, x, want)


def test_global_pool_layer() -> None:
    x = data(3, 4, 5, 2)
    check_layer(L.GlobalPoolLayer(L.InputLayer((None, 4, 5, 2))), x, x.reshape(3, 4, -1).mean(-1))
    check_layer(L.GlobalPoolLayer(L.InputLayer((None, 4, 5, 2)), pool_function=T.max), x, x.reshape(3, 4, -1).max(-1))
    x3 = data(3, 4, 7)
    check_layer(L.GlobalPoolLayer(L.InputLayer((None, 4, 7))), x3, x3.mean(-1))


# -- spatial pyramid pooling --------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["max", "average_exc_pad"])
@pytest.mark.parametrize("implementation,size", [("fast", (8, 12)), ("kaiming", (7, 10)), ("kaiming", (8, 12))])
def test_spp_layer(implementation: str, size: Any, mode: str) -> None:
    x = data(2, 3, *size)
    h, w = size
    parts = []
    for p in (4, 2, 1):
        for r, c in itertools.product(range(p), range(p)):
            region = x[:, :, r * h // p: -(-(r + 1) * h // p), c * w // p: -(-(c + 1) * w // p)]
            parts.append(region.max(axis=(2, 3)) if mode == "max" else region.mean(axis=(2, 3)))
    want = np.stack(parts, axis=2)
    if implementation == "fast":  # windows of ceil(size / p), strides of size // p
        want = np.concatenate([pool_oracle(x, (-(-h // p), -(-w // p)), (h // p, w // p), (0, 0), True, mode)
                               .reshape(2, 3, -1) for p in (4, 2, 1)], axis=2)
    layer = L.SpatialPyramidPoolingLayer(L.InputLayer((None, 3) + size), mode=mode, implementation=implementation)
    assert layer.output_shape == (None, 3, 21)
    check_layer(layer, x, want)


# -- T.signal.pool ----------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["max", "sum", "average_inc_pad", "average_exc_pad"])
@pytest.mark.parametrize("ignore_border,pad", [(True, (1, 2)), (False, (0, 0))])
def test_pool_2d_function(ignore_border: bool, pad: Any, mode: str) -> None:
    x = data(2, 3, 7, 8)
    v = T.tensor4("x", shape=(None, 3, 7, 8))
    got = graphc.function([v], pool.pool_2d(v, ws=(3, 3), ignore_border=ignore_border, stride=(2, 3), pad=pad,
                                            mode=mode))(x)
    np.testing.assert_allclose(got, pool_oracle(x, (3, 3), (2, 3), pad, ignore_border, mode), **TOL)


def test_pool_2d_and_3d_other_ranks() -> None:
    x5 = data(2, 3, 2, 7, 5)
    v5 = T.tensor5("x")
    got = graphc.function([v5], pool.pool_2d(v5, (2, 3), ignore_border=False))(x5)
    np.testing.assert_allclose(got, pool_oracle(x5, (2, 3), (2, 3), (0, 0), False, "max"), **TOL)
    x2 = data(7, 5)
    v2 = T.matrix("m")
    got = graphc.function([v2], pool.pool_2d(v2, ds=(2, 2), st=(1, 2), mode="average_exc_pad", ignore_border=True))(x2)
    np.testing.assert_allclose(got, pool_oracle(x2, (2, 2), (1, 2), (0, 0), True, "average_exc_pad"), **TOL)
    x3 = data(2, 3, 4, 5, 6)
    got = graphc.function([v5], pool.pool_3d(v5, (2, 2, 3), ignore_border=True, pad=(1, 0, 1), mode="sum"))(x3)
    np.testing.assert_allclose(got, pool_oracle(x3, (2, 2, 3), (2, 2, 3), (1, 0, 1), True, "sum"), **TOL)
    xi = RNG.integers(-50, 50, size=(2, 3, 5, 4)).astype(np.int32)
    vi = T.tensor("int32", shape=(None, 3, 5, 4), name="i")
    got = graphc.function([vi], pool.pool_2d(vi, (2, 2), ignore_border=False))(xi)
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got, pool_oracle(xi, (2, 2), (2, 2), (0, 0), False, "max"))


# -- errors -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "build,excs,match",
    [
        (lambda i: L.Pool2DLayer(i, 2, pad=1, ignore_border=False, name="p"), (ValueError, NotImplementedError),
         r"Pool2DLayer 'p'.*ignore_border=True"),
        (lambda i: L.Pool2DLayer(i, (2, 3), pad=(2, 0)), (ValueError,), r"pad must be smaller than the pool size"),
        (lambda i: L.Pool2DLayer(i, (9, 2)), (ValueError,), r"Pool2DLayer.*larger than the padded input"),
        (lambda i: L.Pool2DLayer(i, 2, mode="median"), (ValueError,), r"mode must be one of"),
        (lambda i: L.Pool2DLayer(i, (2, 2, 2)), (ValueError, TypeError), r"pool_size"),
        (lambda i: L.Pool1DLayer(i, 2), (ValueError,), r"Pool1DLayer.*Expected 3 input dimensions"),
        (lambda i: L.MaxPool3DLayer(i, 2), (ValueError,), r"Expected 5 input dimensions"),
        (lambda i: L.Upscale2DLayer(i, 0), (ValueError,), r"Scale factor must be >= 1"),
        (lambda i: L.Upscale2DLayer(i, 2, mode="nearest"), (ValueError,), r"Mode must be either 'repeat' or 'dilate'"),
        (lambda i: L.FeaturePoolLayer(i, 2), (ValueError,), r"FeaturePoolLayer.*\(3\) is not a multiple"),
        (lambda i: L.FeatureWTALayer(i, 4, axis=2), (ValueError,), r"FeatureWTALayer.*\(5\) is not a multiple"),
        # the rank is checked where it is used (Lasagne takes any stand-in as incoming)
        (lambda i: L.GlobalPoolLayer((None, 3)).output_shape, (ValueError,), r"GlobalPoolLayer.*at least 3 dims"),
        (lambda i: L.GlobalPoolLayer(i).get_output_for(T.matrix()), (ValueError,), r"GlobalPoolLayer.*at least 3"),
        (lambda i: L.SpatialPyramidPoolingLayer((None, 3, 7)), (ValueError,), r"Expected 4 input dimensions"),
        (lambda i: L.SpatialPyramidPoolingLayer((None, 3, 6, 7)), (ValueError,), r"implementation='kaiming'"),
        (lambda i: L.SpatialPyramidPoolingLayer(i, mode="sum"), (ValueError,), r"Mode must be either"),
    ],
)
def test_pool_layer_errors(build: Any, excs: tuple[type, ...], match: str) -> None:
    l_in = L.InputLayer((None, 3, 5, 7))
    with pytest.raises(excs[0], match=match) as info:
        build(l_in)
    assert all(isinstance(info.value, e) for e in excs)


def test_pool_function_errors() -> None:
    v = T.tensor4("x", shape=(None, 3, 5, 7))
    with pytest.raises(ValueError, match=r"pool_2d: padding works only with ignore_border=True"):
        pool.pool_2d(v, (2, 2), ignore_border=False, pad=(1, 1))
    with pytest.raises(ValueError, match=r"pool_2d: mode must be one of"):
        pool.pool_2d(v, (2, 2), mode="average")
    with pytest.raises(ValueError, match=r"larger than the padded input"):
        pool.pool_2d(v, (6, 2), ignore_border=True)
    with pytest.raises(ValueError, match=r"pool_2d: padding works only with ignore_border=True"):
        pool.pool_2d(v, (2, 2), ignore_border=False, pad=T.ivector())
    with pytest.raises(ValueError, match=r"pool_2d: ws must hold 2 entries"):
        pool.pool_2d(v, T.ivector(shape=(3,)))
    with pytest.raises(ValueError, match=r"pool_2d: stride must be an int or a tuple of 2 ints"):
        pool.pool_2d(v, (2, 2), stride=T.vector())
