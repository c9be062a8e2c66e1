"""Behaviours that upstream Lasagne's own tests rely on, for the shape and pooling layers.

- Flatten/Pad/GlobalPool check the input's rank where they use it, not in
  ``__init__`` (Lasagne's tests build them on ``Mock(output_shape=(None,))``).
- ReshapeLayer: Lasagne's ``-1`` rule (an unknown size copied twice cancels
  once), the "mismatch" wording, symbolic entries in the spec and in the shape.
- DimshuffleLayer may drop an axis of unknown size; the size is checked at run time.
- ``pool_2d`` with symbolic ``ws``/``stride``/``pad`` (Theano 0.9+), and spatial
  pyramid pooling of inputs of unknown rows and cols, against the numpy
  oracle of ``test_pool.py``, through ONNX, and by finite differences.
"""

from __future__ import annotations

import itertools
from typing import Any
from unittest.mock import Mock

import numpy as np
import pytest
from test_pool import pool_oracle

import graphc
import graphc.tensor as T
from graphc import layers as L
from graphc.tensor.signal import pool
from tests.tensor.oracles import check_grad, run_exported

RNG = np.random.default_rng(11)
TOL = dict(rtol=2e-5, atol=2e-5)


def data(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


# -- rank checks where the rank is used ---------------------------------------------------------------
def test_layers_on_a_stand_in_check_the_rank_where_they_use_it() -> None:
    stand_in = Mock(output_shape=(None,))
    flat = L.FlattenLayer(stand_in, outdim=3)
    assert flat.get_output_shape_for((2, 3, None, 5)) == (2, 3, None)
    x = data(2, 3, 4, 5)
    np.testing.assert_array_equal(flat.get_output_for(T.constant(x)).eval(), x.reshape(2, 3, 20))
    padded = L.PadLayer(stand_in, width=((1, 2), 3))
    assert padded.get_output_shape_for((2, 3, 4, None)) == (2, 3, 7, None)
    np.testing.assert_array_equal(padded.get_output_for(T.constant(x)).eval(),
                                  np.pad(x, [(0, 0), (0, 0), (1, 2), (3, 3)]))
    assert padded.width == ((1, 2), 3)  # kept as given, as Lasagne
    pooled = L.GlobalPoolLayer(stand_in)
    assert pooled.get_output_shape_for((2, 3, 4, 5)) == (2, 3)
    np.testing.assert_allclose(pooled.get_output_for(T.constant(x)).eval(), x.reshape(2, 3, -1).mean(-1), **TOL)


@pytest.mark.parametrize(
    "build,match",
    [
        (lambda: L.FlattenLayer((None, 3), outdim=3).output_shape, r"FlattenLayer: outdim=3 exceeds the 2 input dims"),
        (lambda: L.FlattenLayer(Mock(output_shape=(None,)), outdim=3).get_output_for(T.matrix()), r"exceeds the 2"),
        (lambda: L.PadLayer((None, 3), 1, batch_ndim=3).output_shape, r"batch_ndim=3 exceeds the input's 2 dims"),
        (lambda: L.PadLayer((None, 3, 4), (1, 2)).output_shape, r"2 widths given for 1 padded axes"),
        (lambda: L.PadLayer(Mock(output_shape=(None,)), (1, 2)).get_output_for(T.tensor3()), r"2 widths given for 1"),
        (lambda: L.PadLayer((None, 3, 4), -1), r"non-negative"),
        (lambda: L.PadLayer((None, 3, 4), [(1, 2, 3)]), r"\(before, after\) pairs"),
        (lambda: L.FlattenLayer((None, 3), outdim=0), r"outdim must be >= 1"),
    ],
)
def test_rank_errors(build: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        build()


# -- ReshapeLayer ---------------------------------------------------------------------------------------
def test_reshape_unknown_size_referenced_twice() -> None:
    l_in = L.InputLayer((6, 3, None, None, 8))
    layer = L.ReshapeLayer(l_in, (-1, [1], [2], [3], 2, [2]))
    assert layer.output_shape == (None, 3, None, None, 2, None)  # the second [2] keeps the -1 unknown
    x = data(6, 3, 4, 7, 8)
    got = graphc.function([l_in.input_var], L.get_output(layer))(x)
    np.testing.assert_array_equal(got, x.reshape(6, 3, 4, 7, 2, 4))
    once = L.ReshapeLayer(l_in, (-1, [1], [2], [3], 2))
    assert once.output_shape == (24, 3, None, None, 2)


def test_reshape_mismatch_says_mismatch() -> None:
    with pytest.raises(ValueError, match=r"cannot reshape an input of shape \(6, 3, None, None, 10\).*mismatch"):
        L.ReshapeLayer(L.InputLayer((6, 3, None, None, 10)), (7, 3, [2], [3], -1))
    with pytest.raises(ValueError, match="mismatch"):
        L.ReshapeLayer(L.InputLayer((None, 3, 4)), ([0], 5, 3))


def test_reshape_symbolic_entries() -> None:
    x = T.tensor3("x")
    n, t, f = x.shape
    layer = L.ReshapeLayer(L.InputLayer((None, None, None)), (n * t, [2]))
    assert layer.get_output_shape_for((n, t, f)) == (None, None)  # symbolic sizes count as unknown
    out = L.get_output(layer, x)
    for shape in [(3, 5, 6), (4, 2, 7)]:
        v = data(*shape)
        np.testing.assert_array_equal(out.eval({x: v}), v.reshape(shape[0] * shape[1], shape[2]))


# -- DimshuffleLayer ------------------------------------------------------------------------------------
def test_dimshuffle_drops_an_unknown_axis_checked_at_run_time() -> None:
    l_in = L.InputLayer((2, 3, None, 5, 7))
    layer = L.DimshuffleLayer(l_in, (4, 0, 1, 3))
    assert layer.output_shape == (7, 2, 3, 5)
    f = graphc.function([l_in.input_var], L.get_output(layer))
    x = data(2, 3, 1, 5, 7)
    np.testing.assert_array_equal(f(x), x[:, :, 0].transpose(3, 0, 1, 2))
    with pytest.raises(ValueError, match="could not run"):  # the runtime's reshape refuses a size of 2
        f(data(2, 3, 2, 5, 7))
    with pytest.raises(ValueError, match="drops input dim 1, whose size is 3"):
        L.DimshuffleLayer(l_in, (0, 2, 3, 4))


# -- pool_2d with symbolic sizes ------------------------------------------------------------------------
CASES = [  # ws, stride, pad, ignore_border
    ((3, 2), (2, 3), (1, 0), True),
    ((3, 3), (1, 2), (2, 1), True),
    ((6, 2), (6, 2), (0, 0), False),  # a window longer than the axis
    ((2, 4), (3, 1), (0, 0), False),
]


@pytest.mark.parametrize("mode", ["max", "sum", "average_inc_pad", "average_exc_pad"])
@pytest.mark.parametrize("ws,stride,pad,ignore_border", CASES)
def test_pool_2d_symbolic_sizes(ws: Any, stride: Any, pad: Any, ignore_border: bool, mode: str) -> None:
    x, w, s, p = T.tensor4("x"), T.ivector("ws"), T.ivector("st"), T.ivector("pad")
    y = pool.pool_2d(x, ws=w, stride=s, pad=p if ignore_border else None, ignore_border=ignore_border, mode=mode)
    inputs = [x, w, s] + ([p] if ignore_border else [])
    f = graphc.function(inputs, y)
    for shape in [(2, 3, 7, 5), (1, 2, 9, 11)]:
        xv = data(*shape)
        args = [xv, np.array(ws, np.int32), np.array(stride, np.int32)] + ([np.array(pad, np.int32)] if ignore_border
                                                                          else [])
        np.testing.assert_allclose(f(*args), pool_oracle(xv, ws, stride, pad, ignore_border, mode), **TOL)


def test_pool_symbolic_sizes_other_ranks_and_dtypes() -> None:
    v5 = T.tensor5("x")
    h = v5.shape[3]
    x5 = data(2, 3, 2, 7, 5)
    got = pool.pool_2d(v5, (h // 2, 2), ignore_border=False, stride=(2, 1)).eval({v5: x5})
    np.testing.assert_allclose(got, pool_oracle(x5, (3, 2), (2, 1), (0, 0), False, "max"), **TOL)
    m = T.matrix("m")
    x2 = data(7, 5)
    got = pool.pool_2d(m, T.constant(np.array([2, 3], np.int32)) * 1, ignore_border=True,
                       mode="average_exc_pad").eval({m: x2})
    np.testing.assert_allclose(got, pool_oracle(x2, (2, 3), (2, 3), (0, 0), True, "average_exc_pad"), **TOL)
    vi = T.tensor("int32", shape=(None, 3, None, None), name="i")
    xi = RNG.integers(-50, 50, size=(2, 3, 5, 4)).astype(np.int32)
    k = T.iscalar("k")
    got = graphc.function([vi, k], pool.pool_2d(vi, k, ignore_border=True, pad=(1, 1)))(xi, 2)
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got, pool_oracle(xi, (2, 2), (2, 2), (1, 1), True, "max"))


def test_pool_sum_without_border_on_unknown_sizes() -> None:
    x = T.tensor4("y")
    f = graphc.function([x], pool.pool_2d(x, (2, 3), ignore_border=False, mode="sum"))
    for shape in [(2, 3, 5, 7), (1, 1, 4, 8)]:
        xv = data(*shape)
        np.testing.assert_allclose(f(xv), pool_oracle(xv, (2, 3), (2, 3), (0, 0), False, "sum"), **TOL)


@pytest.mark.parametrize("mode", ["max", "average_inc_pad"])
def test_pool_symbolic_sizes_exported(mode: str) -> None:
    x, w, s = T.tensor4("x"), T.ivector("ws"), T.ivector("st")
    y = pool.pool_2d(x, ws=w, stride=s, pad=(1, 0), ignore_border=True, mode=mode)
    xv = data(2, 3, 7, 5)
    feed = {"x": xv, "ws": np.array([3, 2], np.int32), "st": np.array([2, 1], np.int32)}
    ort_out, ref_out = run_exported([y], [x, w, s], feed)
    want = pool_oracle(xv, (3, 2), (2, 1), (1, 0), True, mode)
    np.testing.assert_allclose(ort_out[0], want, **TOL)
    np.testing.assert_allclose(ref_out[0], want, **TOL)


@pytest.mark.parametrize("mode", ["max", "sum", "average_exc_pad"])
def test_pool_symbolic_sizes_gradient(mode: str) -> None:
    def build(x: Any) -> Any:
        ws = (x.shape[2] // 2, 2)  # 3 x 2 windows, known only at run time
        y = pool.pool_2d(x, ws, ignore_border=mode != "sum", stride=(2, 1), pad=(1, 0) if mode != "sum" else 0,
                         mode=mode)
        return T.sum(y * y)

    check_grad(build, np.random.default_rng(3).standard_normal((2, 3, 7, 5)))


# -- spatial pyramid pooling of unknown spatial sizes ---------------------------------------------------
def spp_oracle(x: np.ndarray, pool_dims: Any, mode: str, implementation: str) -> np.ndarray:
    """Lasagne's SPP, written out: kaiming bins [floor(i*size/p), ceil((i+1)*size/p)), or fast windows."""
    n, c, h, w = x.shape
    parts = []
    for p in pool_dims:
        if implementation == "fast":
            parts.append(pool_oracle(x, (-(-h // p), -(-w // p)), (h // p, w // p), (0, 0), True, mode).reshape(n, c, -1))
            continue
        for r, q in itertools.product(range(p), range(p)):
            region = x[:, :, r * h // p: -(-(r + 1) * h // p), q * w // p: -(-(q + 1) * w // p)]
            parts.append((region.max(axis=(2, 3)) if mode == "max" else region.mean(axis=(2, 3)))[:, :, None])
    return np.concatenate(parts, axis=2)


@pytest.mark.parametrize("mode", ["max", "average_exc_pad"])
@pytest.mark.parametrize("implementation", ["fast", "kaiming"])
def test_spp_unknown_spatial_sizes(implementation: str, mode: str) -> None:
    l_in = L.InputLayer((None, 3, None, None))
    layer = L.SpatialPyramidPoolingLayer(l_in, pool_dims=(3, 2, 1), mode=mode, implementation=implementation)
    assert layer.output_shape == (None, 3, 14)
    out = L.get_output(layer)
    f = graphc.function([l_in.input_var], out)
    for shape in [(2, 3, 17, 13), (1, 3, 9, 7)]:
        x = data(*shape)
        np.testing.assert_allclose(f(x), spp_oracle(x, (3, 2, 1), mode, implementation), **TOL)
    x = data(2, 3, 11, 8)
    ort_out, ref_out = run_exported([out], [l_in.input_var], {l_in.input_var.name: x})
    want = spp_oracle(x, (3, 2, 1), mode, implementation)
    np.testing.assert_allclose(ort_out[0], want, **TOL)
    np.testing.assert_allclose(ref_out[0], want, **TOL)


@pytest.mark.parametrize("implementation", ["fast", "kaiming"])
def test_spp_unknown_spatial_sizes_gradient(implementation: str) -> None:
    layer = L.SpatialPyramidPoolingLayer((None, 2, None, None), pool_dims=(2, 1), mode="average_exc_pad",
                                         implementation=implementation)
    check_grad(lambda x: T.sum(T.sqr(layer.get_output_for(x))), np.random.default_rng(4).standard_normal((2, 2, 7, 5)))


def test_spp_fast_rejects_known_sizes_it_cannot_grid() -> None:
    layer = L.SpatialPyramidPoolingLayer((None, 3, None, None), pool_dims=(4,))
    with pytest.raises(ValueError, match="implementation='kaiming'"):
        layer.get_output_for(T.tensor("float32", shape=(None, 3, 6, 7)))
