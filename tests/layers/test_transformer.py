"""TransformerLayer and TPSTransformerLayer against independent numpy samplers, by finite differences and in ONNX."""

from __future__ import annotations

import numpy as np
import pytest

import graphc
import graphc.tensor as T
from graphc.layers import (
    DenseLayer,
    InputLayer,
    ReshapeLayer,
    TPSTransformerLayer,
    TransformerLayer,
    get_all_params,
    get_output,
)
from tests.tensor.oracles import check_grad, run_exported

SHAPE = (2, 3, 5, 7)  # batch, channels, rows, columns: all different
MODES = ["nearest", "mirror", "wrap"]
IDENTITY = np.array([1, 0, 0, 0, 1, 0], dtype=np.float32)


# ---------------------------------------------------------------- numpy oracle


def remap(i: np.ndarray, size: int, mode: str) -> np.ndarray:
    """Integer pixel indices mapped into [0, size) by the border mode."""
    if mode == "nearest":
        return np.clip(i, 0, size - 1)
    if mode == "wrap":
        return np.mod(i, size)
    if size == 1:
        return np.zeros_like(i)
    period = 2 * (size - 1)
    r = np.mod(i, period)
    return np.where(r <= size - 1, r, period - r)  # reflect about the last pixel


def sample(im: np.ndarray, xs: np.ndarray, ys: np.ndarray, out_hw: tuple[int, int], mode: str) -> np.ndarray:
    """Bilinear sampling, one point at a time: -1/1 are the first/last pixel centres."""
    im = im.astype(np.float64)
    nb, nc, h, w = im.shape
    out = np.zeros((nb, nc, xs.shape[1]))
    for b in range(nb):
        for p in range(xs.shape[1]):
            px = (xs[b, p] + 1) / 2 * (w - 1)
            py = (ys[b, p] + 1) / 2 * (h - 1)
            fx, fy = np.floor(px), np.floor(py)
            for dx in (0, 1):
                for dy in (0, 1):
                    weight = (1 - abs(px - (fx + dx))) * (1 - abs(py - (fy + dy)))
                    cx = remap(np.array(int(fx) + dx), w, mode)
                    cy = remap(np.array(int(fy) + dy), h, mode)
                    out[b, :, p] += weight * im[b, :, cy, cx]
    return out.reshape(nb, nc, *out_hw)


def target_grid(out_h: int, out_w: int) -> np.ndarray:
    xs, ys = np.meshgrid(np.linspace(-1, 1, out_w), np.linspace(-1, 1, out_h))
    return np.stack([xs.ravel(), ys.ravel()])


def affine_oracle(im, theta, out_hw, mode):
    grid = target_grid(*out_hw)
    pts = np.einsum(
        "bij,jp->bip", theta.reshape(-1, 2, 3).astype(np.float64), np.vstack([grid, np.ones(grid.shape[1])])
    )
    return sample(im, pts[:, 0], pts[:, 1], out_hw, mode)


def tps_oracle(im, offsets, n, out_hw, mode):
    """Thin-plate spline by solving Bookstein's system [[K, P], [P^T, 0]] [w; a] = [v; 0] per batch."""
    side = int(round(np.sqrt(n)))
    sx, sy = np.meshgrid(np.linspace(-1, 1, side), np.linspace(-1, 1, side))
    src = np.stack([sx.ravel(), sy.ravel()], axis=1)  # (n, 2)

    def kernel(a, b):
        r2 = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)
        return np.where(r2 > 0, r2 * np.log(np.where(r2 > 0, r2, 1)), 0.0)

    P = np.hstack([np.ones((n, 1)), src])
    system = np.block([[kernel(src, src), P], [P.T, np.zeros((3, 3))]])
    grid = target_grid(*out_hw).T  # (points, 2)
    basis = np.hstack([kernel(grid, src), np.ones((len(grid), 1)), grid])
    pts = []
    for off in offsets.astype(np.float64).reshape(-1, 2, n):
        dest = src.T + off  # (2, n)
        coeffs = np.linalg.solve(system, np.vstack([dest.T, np.zeros((3, 2))]))  # (n + 3, 2)
        pts.append((basis @ coeffs).T)
    pts = np.array(pts)
    return sample(im, pts[:, 0], pts[:, 1], out_hw, mode)


def evaluate(layer, *arrays):
    in_layers = getattr(layer, "input_layers", None) or [layer.input_layer]
    return graphc.function([lyr.input_var for lyr in in_layers], get_output(layer))(*arrays)


def rng():
    return np.random.default_rng(11)


def random_theta(r, batch, scale=0.4):
    return (np.tile(IDENTITY, (batch, 1)) + r.normal(scale=scale, size=(batch, 6))).astype(np.float32)


# ---------------------------------------------------------------- imports


def test_lasagne_import_paths():
    import graphc.compat

    graphc.compat.install()
    from lasagne.layers import TPSTransformerLayer as A
    from lasagne.layers import TransformerLayer as B
    from lasagne.layers.special import TPSTransformerLayer as C
    from lasagne.layers.special import TransformerLayer as D

    assert A is C is TPSTransformerLayer and B is D is TransformerLayer
    import graphc.layers.special as special

    assert {"TransformerLayer", "TPSTransformerLayer"} <= set(special.__all__)


# ---------------------------------------------------------------- affine


@pytest.mark.parametrize("mode", MODES)
def test_affine_identity(mode):
    x = rng().normal(size=SHAPE).astype(np.float32)
    layer = TransformerLayer(InputLayer(SHAPE), InputLayer((SHAPE[0], 6)), border_mode=mode)
    out = evaluate(layer, x, np.tile(IDENTITY, (SHAPE[0], 1)))
    np.testing.assert_allclose(out, x, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("factor", [1, 2, (2, 1), (0.7, 2.3)])
@pytest.mark.parametrize("static", [True, False])
def test_affine_values(mode, factor, static):
    r = rng()
    x = r.normal(size=SHAPE).astype(np.float32)
    theta = random_theta(r, SHAPE[0], scale=0.6)  # reaches well outside the image
    shape = SHAPE if static else (None, 3, None, None)
    layer = TransformerLayer(InputLayer(shape), InputLayer((shape[0], 6)), downsample_factor=factor, border_mode=mode)
    fh, fw = factor if isinstance(factor, tuple) else (factor, factor)
    out_hw = (int(SHAPE[2] // fh), int(SHAPE[3] // fw))
    assert layer.output_shape == (shape[0], 3) + (out_hw if static else (None, None))
    out = evaluate(layer, x, theta)
    assert out.shape == SHAPE[:2] + out_hw
    np.testing.assert_allclose(out, affine_oracle(x, theta, out_hw, mode), rtol=1e-4, atol=1e-4)


def test_affine_downsample_fixed_and_variable_sizes_agree():
    """Upstream's test: (0.7, 2.3) on 28x28, fixed and symbolic row counts, same localization weights."""
    x = rng().random((4, 3, 28, 28)).astype(np.float32)
    l_in = InputLayer((None, 3, 28, 28))
    l_loc = DenseLayer(l_in, num_units=6)
    fixed = TransformerLayer(l_in, l_loc, downsample_factor=(0.7, 2.3))
    assert fixed.output_shape == (None, 3, int(28 // 0.7), int(28 // 2.3))
    l_in2 = InputLayer((None, 3, None, 28))
    l_loc2 = DenseLayer(ReshapeLayer(l_in2, ([0], 3 * 28 * 28)), num_units=6, W=l_loc.W, b=l_loc.b)
    variable = TransformerLayer(l_in2, l_loc2, downsample_factor=(0.7, 2.3))
    assert variable.output_shape == (None, 3, None, int(28 // 2.3))
    a = graphc.function([l_in.input_var], get_output(fixed))(x)
    b = graphc.function([l_in2.input_var], get_output(variable))(x)
    assert a.shape == (4,) + fixed.output_shape[1:]
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_affine_params_come_from_the_localization_network():
    l_in = InputLayer((None,) + SHAPE[1:])
    l_loc = DenseLayer(l_in, num_units=6, W=graphc.init.Constant(0.0), b=IDENTITY, nonlinearity=None)
    layer = TransformerLayer(l_in, l_loc, name="st")
    assert layer.params == {} and layer.get_params() == []
    assert get_all_params(layer) == [l_loc.W, l_loc.b]
    assert get_all_params(layer, trainable=True) == [l_loc.W, l_loc.b]
    x = rng().normal(size=SHAPE).astype(np.float32)
    out = graphc.function([l_in.input_var], get_output(layer))(x)
    np.testing.assert_allclose(out, x, rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------- thin-plate spline


@pytest.mark.parametrize("precompute", [True, False])
@pytest.mark.parametrize("points", [4, 16])
def test_tps_zero_offsets_are_identity(precompute, points):
    x = rng().normal(size=SHAPE).astype(np.float32)
    layer = TPSTransformerLayer(
        InputLayer(SHAPE), InputLayer((None, 2 * points)), control_points=points, precompute_grid=precompute
    )
    assert layer.precompute_grid is precompute
    out = evaluate(layer, x, np.zeros((SHAPE[0], 2 * points), np.float32))
    np.testing.assert_allclose(out, x, atol=5e-4)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("factor", [1, 2, (1, 2.5)])
@pytest.mark.parametrize("shape", [SHAPE, (None, 3, None, None)])
def test_tps_values(mode, factor, shape):
    r = rng()
    x = r.normal(size=SHAPE).astype(np.float32)
    offsets = r.normal(scale=0.3, size=(SHAPE[0], 18)).astype(np.float32)
    layer = TPSTransformerLayer(InputLayer(shape), InputLayer((None, 18)), factor, control_points=9, border_mode=mode)
    assert layer.precompute_grid is (shape[2] is not None)
    fh, fw = factor if isinstance(factor, tuple) else (factor, factor)
    out_hw = (int(SHAPE[2] // fh), int(SHAPE[3] // fw))
    assert layer.output_shape == shape[:2] + (out_hw if shape[2] else (None, None))
    out = evaluate(layer, x, offsets)
    np.testing.assert_allclose(out, tps_oracle(x, offsets, 9, out_hw, mode), rtol=1e-4, atol=1e-4)


def test_tps_precompute_true_and_false_agree():
    """Upstream zeroes the radial part when the grid is not precomputed; here both paths agree."""
    r = rng()
    x = r.normal(size=SHAPE).astype(np.float32)
    offsets = r.normal(scale=0.3, size=(SHAPE[0], 32)).astype(np.float32)
    outs = [
        evaluate(TPSTransformerLayer(InputLayer(SHAPE), InputLayer((None, 32)), precompute_grid=p), x, offsets)
        for p in (True, False)
    ]
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-5, atol=1e-5)


def test_tps_attributes_and_params():
    l_in = InputLayer(SHAPE)
    l_loc = DenseLayer(l_in, num_units=32, W=graphc.init.Constant(0.0), b=graphc.init.Constant(0.0), nonlinearity=None)
    layer = TPSTransformerLayer(l_in, l_loc)
    assert layer.control_points == 16 and layer.downsample_factor == (1, 1) and layer.border_mode == "nearest"
    assert layer.params == {} and get_all_params(layer) == [l_loc.W, l_loc.b]
    assert (layer.out_height, layer.out_width) == SHAPE[2:]
    assert layer.source_points.eval().shape == (2, 16) and layer.L_inv.eval().shape == (19, 19)
    assert layer.right_mat.eval().shape == (19, SHAPE[2] * SHAPE[3])
    variable = TPSTransformerLayer(InputLayer((None, 3, None, 7)), InputLayer((None, 32)))
    assert variable.precompute_grid is False and variable.right_mat is None and variable.out_height is None


# ---------------------------------------------------------------- gradients


def _weighted(layer_cls, extra, loc_width, out_hw, seed=3):
    weights = np.random.default_rng(seed).normal(size=(SHAPE[0], SHAPE[1]) + out_hw)

    def build(img, loc):
        layer = layer_cls(InputLayer((None, 3, None, None)), InputLayer((None, loc_width)), **extra)
        return T.sum(get_output(layer, {layer.input_layers[0]: img, layer.input_layers[1]: loc}) * weights)

    return build


@pytest.mark.parametrize("mode", MODES)
def test_affine_gradients_by_finite_differences(mode):
    r = rng()
    x = r.normal(size=SHAPE)
    theta = random_theta(r, SHAPE[0], scale=0.5).astype(np.float64)
    check_grad(
        _weighted(TransformerLayer, {"border_mode": mode, "downsample_factor": (1, 2)}, 6, (5, 3)), x, theta, rtol=1e-5
    )


@pytest.mark.parametrize("mode", MODES)
def test_tps_gradients_by_finite_differences(mode):
    r = rng()
    x = r.normal(size=SHAPE)
    offsets = r.normal(scale=0.3, size=(SHAPE[0], 8))
    extra = {"border_mode": mode, "control_points": 4, "precompute_grid": False}
    check_grad(_weighted(TPSTransformerLayer, extra, 8, SHAPE[2:]), x, offsets, rtol=1e-5)


def test_localization_parameter_gradients():
    """d cost / d (W, b) of a dense localization network is the chain rule through the offsets
    (whose gradient the float64 finite-difference tests check): X^T g and the column sums of g."""
    r = rng()
    l_in = InputLayer(SHAPE)
    l_loc = DenseLayer(l_in, 32, W=r.normal(scale=0.002, size=(105, 32)).astype(np.float32), nonlinearity=None)
    layer = TPSTransformerLayer(l_in, l_loc)
    weights = r.normal(size=SHAPE).astype(np.float32)
    x = r.normal(size=SHAPE).astype(np.float32)
    g_w, g_b = graphc.function([l_in.input_var], graphc.grad(T.sum(get_output(layer) * weights), [l_loc.W, l_loc.b]))(x)
    offsets = T.matrix("offsets")
    cost = T.sum(get_output(layer, {l_loc: offsets}) * weights)
    g_off = graphc.function([l_in.input_var, offsets], graphc.grad(cost, offsets))(x, evaluate(l_loc, x))
    assert np.abs(g_off).max() > 0
    np.testing.assert_allclose(g_w, x.reshape(2, -1).T @ g_off, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(g_b, g_off.sum(axis=0), rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------- ONNX


@pytest.mark.parametrize("tps", [False, True])
def test_exported_model_runs_with_dynamic_sizes(tps):
    r = rng()
    x = r.normal(size=SHAPE).astype(np.float32)
    l_in = InputLayer((None, 3, None, None), name="img")
    if tps:
        l_loc = InputLayer((None, 8), name="loc")
        layer = TPSTransformerLayer(l_in, l_loc, control_points=4, border_mode="mirror")
        loc = r.normal(scale=0.3, size=(SHAPE[0], 8)).astype(np.float32)
        want = tps_oracle(x, loc, 4, SHAPE[2:], "mirror")
    else:
        l_loc = InputLayer((None, 6), name="loc")
        layer = TransformerLayer(l_in, l_loc, border_mode="wrap")
        loc = random_theta(r, SHAPE[0], scale=0.6)
        want = affine_oracle(x, loc, SHAPE[2:], "wrap")
    feed = {"img": x, "loc": loc}  # exported inputs carry the layer names
    got_ort, got_ref = run_exported({"y": get_output(layer)}, [l_in.input_var, l_loc.input_var], feed)
    np.testing.assert_allclose(got_ort[0], want, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(got_ref[0], want, rtol=1e-4, atol=1e-4)


# ---------------------------------------------------------------- errors


def test_affine_errors():
    l_in = InputLayer((None, 3, 28, 28))
    with pytest.raises(ValueError, match="localization network must have output shape"):
        TransformerLayer(l_in, DenseLayer(l_in, num_units=5))
    with pytest.raises(ValueError, match="localization network must have output shape"):
        TransformerLayer(l_in, InputLayer((None, 2, 3)))
    l_in3 = InputLayer((3, 28, 28))
    with pytest.raises(ValueError, match="4-dimensional"):
        TransformerLayer(l_in3, DenseLayer(l_in3, num_units=6))
    with pytest.raises(ValueError, match="border_mode must be one of"):
        TransformerLayer(l_in, InputLayer((None, 6)), border_mode="reflect")
    with pytest.raises(ValueError):
        TransformerLayer(l_in, InputLayer((None, 6)), downsample_factor=(1, 2, 3))


def test_tps_errors():
    l_in = InputLayer((None, 3, 28, 28))
    with pytest.raises(ValueError, match="localization network must have output shape"):
        TPSTransformerLayer(l_in, DenseLayer(l_in, num_units=16), control_points=16)
    with pytest.raises(ValueError, match="perfect square"):
        TPSTransformerLayer(l_in, DenseLayer(l_in, num_units=10), control_points=5)
    l_in3 = InputLayer((3, 28, 28))
    with pytest.raises(ValueError, match="4-dimensional"):
        TPSTransformerLayer(l_in3, DenseLayer(l_in3, num_units=32))
    l_var = InputLayer((None, 3, None, 28))
    with pytest.raises(ValueError, match="Grid can only be precomputed"):
        TPSTransformerLayer(l_var, InputLayer((None, 32)), precompute_grid=True)
    with pytest.raises(ValueError, match="border_mode must be one of"):
        TPSTransformerLayer(l_in, InputLayer((None, 32)), border_mode="constant")
