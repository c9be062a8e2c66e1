"""LocallyConnected2DLayer against numpy loops written from Lasagne's definition.

Output position ``(r, c)`` of filter ``f`` sums ``x[b, ch, r + u - fh // 2, c + v - fw // 2]``
(zero outside the image) times ``W[f, ch, u', v', r, c]``, where ``(u', v')`` is
``(u, v)`` or, with ``flip_filters``, ``(fh - 1 - u, fw - 1 - v)``; channelwise
layers pair filter ``f`` with input channel ``f`` only.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from typing import Any

import numpy as np
import onnx
import pytest
from conftest import run_layer

import graphc
import graphc.tensor as T
from graphc import layers as L
from graphc.export import to_onnx

RNG = np.random.default_rng(23)
TOL = dict(rtol=2e-5, atol=2e-5)


def data(*shape: int, dtype: str = "float32") -> np.ndarray:
    return RNG.standard_normal(shape).astype(dtype)


# -- oracle -------------------------------------------------------------------------------------
def local_oracle(
    x: np.ndarray, W: np.ndarray, b: np.ndarray | None, flip_filters: bool, channelwise: bool
) -> np.ndarray:
    """Explicit loops over batch, filters, output positions and filter taps (float64)."""
    batch, channels, rows, cols = x.shape
    if channelwise:
        W = np.stack([W] * channels, axis=1) * np.eye(channels)[:, :, None, None, None, None]
    nf, _, fh, fw = W.shape[:4]
    y = np.zeros((batch, nf, rows, cols))
    for n in range(batch):
        for f in range(nf):
            for r in range(rows):
                for c in range(cols):
                    total = 0.0
                    for u in range(fh):
                        for v in range(fw):
                            i, j = r + u - fh // 2, c + v - fw // 2
                            if not (0 <= i < rows and 0 <= j < cols):
                                continue
                            wu, wv = (fh - 1 - u, fw - 1 - v) if flip_filters else (u, v)
                            for ch in range(channels):
                                total += float(x[n, ch, i, j]) * float(W[f, ch, wu, wv, r, c])
                    y[n, f, r, c] = total
    if b is not None:
        y = y + (b if b.ndim == 3 else b[:, None, None])
    return y


def check_layer(layer: Any, x: np.ndarray, expected: np.ndarray, tol: dict[str, float] | None = None) -> None:
    """ONNX Runtime and onnx.reference match the oracle at two batch sizes; the shape is the layer's."""
    tol = tol or TOL
    assert layer.output_shape[1:] == expected.shape[1:]
    for batch in (x, x[:1]):
        got, ref = run_layer(layer, batch)
        assert got.shape == (len(batch),) + layer.output_shape[1:]
        np.testing.assert_allclose(got, expected[: len(batch)], err_msg="onnxruntime", **tol)
        np.testing.assert_allclose(ref, expected[: len(batch)], err_msg="onnx.reference", **tol)


# -- values -------------------------------------------------------------------------------------
@pytest.mark.parametrize("filter_size", [(3, 5), (5, 1), 3, (1, 1)], ids=str)
@pytest.mark.parametrize("untie_biases", [False, True])
@pytest.mark.parametrize("channelwise", [False, True])
@pytest.mark.parametrize("flip_filters", [True, False])
def test_values(flip_filters: bool, channelwise: bool, untie_biases: bool, filter_size: Any) -> None:
    fs = filter_size if isinstance(filter_size, tuple) else (filter_size,) * 2
    x = data(3, 2, 5, 7)
    nf = 2 if channelwise else 3
    W = data(nf, *([] if channelwise else [2]), *fs, 5, 7)
    b = data(nf, 5, 7) if untie_biases else data(nf)
    layer = L.LocallyConnected2DLayer(
        L.InputLayer((None, 2, 5, 7)),
        nf,
        filter_size,
        untie_biases=untie_biases,
        W=W,
        b=b,
        nonlinearity=None,
        flip_filters=flip_filters,
        channelwise=channelwise,
    )
    assert layer.W.get_value().shape == W.shape and layer.b.get_value().shape == b.shape
    check_layer(layer, x, local_oracle(x, W, b, flip_filters, channelwise))


def test_defaults_rectify_no_bias_and_float64() -> None:
    x = data(2, 3, 4, 6)
    l_in = L.InputLayer((None, 3, 4, 6))
    layer = L.LocallyConnected2DLayer(l_in, 2, 3, b=None)
    assert layer.b is None and layer.get_params() == [layer.W]
    assert layer.nonlinearity is graphc.nonlinearities.rectify and layer.flip_filters and not layer.channelwise
    W = layer.W.get_value()
    check_layer(layer, x, np.maximum(local_oracle(x, W, None, True, False), 0))

    x64 = data(2, 3, 4, 6, dtype="float64")
    l64 = L.InputLayer((None, 3, 4, 6), input_var=T.tensor4("x", dtype="float64"))
    layer = L.LocallyConnected2DLayer(
        l64, 4, (1, 3), W=data(4, 3, 1, 3, 4, 6, dtype="float64"), nonlinearity=None, flip_filters=False
    )
    assert L.get_output(layer).dtype == "float64"
    W64 = layer.W.get_value().astype(np.float64)  # parameters are floatX
    check_layer(layer, x64, local_oracle(x64, W64, layer.b.get_value(), False, False), dict(rtol=1e-12, atol=1e-12))


def test_one_pixel_and_one_channel_filters() -> None:
    """A 1x1 image under a 3x3 filter sees only the centre tap: a dense layer of the centre weights."""
    x = data(4, 3, 1, 1)
    W = data(2, 3, 3, 3, 1, 1)
    layer = L.LocallyConnected2DLayer(L.InputLayer((None, 3, 1, 1)), 2, 3, W=W, b=None, nonlinearity=None)
    check_layer(layer, x, np.einsum("bc,fc->bf", x[:, :, 0, 0], W[:, :, 1, 1, 0, 0])[:, :, None, None])


# -- shapes and parameters ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "in_shape,kwargs,W_shape,out_shape",
    [
        ((None, 2, 5, 7), dict(num_filters=3, filter_size=(3, 5)), (3, 2, 3, 5, 5, 7), (None, 3, 5, 7)),
        ((4, 2, 5, 7), dict(num_filters=2, filter_size=1, channelwise=True), (2, 1, 1, 5, 7), (4, 2, 5, 7)),
        ((None, 1, 6, 3), dict(num_filters=5, filter_size=[1, 3], stride=1), (5, 1, 1, 3, 6, 3), (None, 5, 6, 3)),
    ],
)
def test_shapes(in_shape: Any, kwargs: Any, W_shape: Any, out_shape: Any) -> None:
    l_in = L.InputLayer(in_shape)
    layer = L.LocallyConnected2DLayer(l_in, **kwargs)
    assert layer.get_W_shape() == W_shape and layer.W.get_value().shape == W_shape
    assert layer.output_shape == out_shape == L.get_output_shape(layer)
    assert layer.get_output_shape_for((9,) + in_shape[1:]) == (9,) + out_shape[1:]
    assert L.get_output(layer).type.shape[1:] == out_shape[1:]


def test_params_names_tags_counts() -> None:
    l_in = L.InputLayer((None, 2, 5, 7))
    layer = L.LocallyConnected2DLayer(l_in, 3, (3, 5), untie_biases=True, name="lc")
    assert isinstance(layer, L.Conv2DLayer)  # as in Lasagne
    assert [p.name for p in layer.get_params()] == ["lc.W", "lc.b"]
    assert layer.W.get_value().shape == (3, 2, 3, 5, 5, 7) and layer.b.get_value().shape == (3, 5, 7)
    assert layer.get_params(regularizable=True) == [layer.W]
    assert layer.get_params(regularizable=False) == [layer.b]
    assert layer.get_params(trainable=True) == [layer.W, layer.b]
    assert L.count_params(layer) == 3 * 2 * 3 * 5 * 5 * 7 + 3 * 5 * 7
    np.testing.assert_array_equal(layer.b.get_value(), 0)
    W = layer.W.get_value()
    bound = np.sqrt(6.0 / ((2 * 15 * 35) + (3 * 15 * 35)))  # GlorotUniform over Lasagne's fan-in and fan-out
    assert W.std() > bound / 4 and np.abs(W).max() <= bound
    cw = L.LocallyConnected2DLayer(l_in, 2, 3, channelwise=True)
    assert [p.name for p in cw.get_params()] == ["W", "b"] and cw.b.get_value().shape == (2,)
    assert L.count_params(cw) == 2 * 9 * 35 + 2


def check_grad(build: Any, *arrays: np.ndarray, eps: float = 1e-6, rtol: float = 1e-6) -> None:
    """graphc.grad of the scalar ``build(*vars)`` against central differences along random directions (float64)."""
    rng = np.random.default_rng(0)
    xs = [T.tensor("float64", shape=a.shape, name=f"x{k}") for k, a in enumerate(arrays)]
    cost = build(*xs)
    f_cost = graphc.function(xs, cost)
    grads = graphc.function(xs, graphc.grad(cost, xs))(*arrays)
    for k, a in enumerate(arrays):
        v = rng.standard_normal(a.shape)
        plus, minus = list(arrays), list(arrays)
        plus[k], minus[k] = a + eps * v, a - eps * v
        numeric = (f_cost(*plus) - f_cost(*minus)) / (2 * eps)
        np.testing.assert_allclose(np.sum(grads[k] * v), numeric, rtol=rtol, atol=1e-7)


# -- gradients ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs",
    [
        dict(),
        dict(flip_filters=False, untie_biases=True),
        dict(channelwise=True),
        dict(channelwise=True, flip_filters=False),
    ],
    ids=["default", "corr-untied", "channelwise", "channelwise-corr"],
)
def test_gradients(kwargs: Any) -> None:
    """W and b given as expressions, the cost a random projection of a tanh layer, in float64."""
    rng = np.random.default_rng(5)
    channelwise = kwargs.get("channelwise", False)
    nf = 2 if channelwise else 3
    W = rng.standard_normal((nf,) + (() if channelwise else (2,)) + (3, 1, 4, 5)) * 0.5
    b = rng.standard_normal((nf, 4, 5) if kwargs.get("untie_biases") else (nf,))
    x = rng.standard_normal((2, 2, 4, 5))
    proj = rng.standard_normal((2, nf, 4, 5))

    def build(xv: Any, wv: Any, bv: Any) -> Any:
        layer = L.LocallyConnected2DLayer((2, 2, 4, 5), nf, (3, 1), W=wv, b=bv, nonlinearity=T.tanh, **kwargs)
        return T.sum(layer.get_output_for(xv) * proj)

    check_grad(build, x, W, b, rtol=1e-6)


def test_gradient_of_shared_weights_matches_numpy() -> None:
    """d sum(out * R) / dW[f, c, u', v', r, c'] is sum_b R[b, f, r, c'] * (input under tap (u, v))."""
    x, R = data(3, 2, 4, 5), data(3, 2, 4, 5)
    layer = L.LocallyConnected2DLayer(L.InputLayer((None, 2, 4, 5)), 2, (3, 3), nonlinearity=None)
    cost = T.sum(L.get_output(layer) * R)
    gW, gb = graphc.function([layer.input_layer.input_var], graphc.grad(cost, [layer.W, layer.b]))(x)
    xp = np.pad(x.astype(np.float64), [(0, 0), (0, 0), (1, 1), (1, 1)])
    want = np.zeros((2, 2, 3, 3, 4, 5))
    for u in range(3):
        for v in range(3):
            want[:, :, 2 - u, 2 - v] = np.einsum("bfrc,bkrc->fkrc", R, xp[:, :, u : u + 4, v : v + 5])
    np.testing.assert_allclose(gW, want, **TOL)
    np.testing.assert_allclose(gb, R.sum(axis=(0, 2, 3)), **TOL)


# -- export ---------------------------------------------------------------------------------------
def test_exported_network_dynamic_batch() -> None:
    import onnxruntime as ort

    l_in = L.InputLayer((None, 2, 5, 7), name="img")
    lc1 = L.LocallyConnected2DLayer(l_in, 3, (3, 5), untie_biases=True, name="lc1")
    lc2 = L.LocallyConnected2DLayer(
        lc1, 3, (1, 3), channelwise=True, flip_filters=False, name="lc2", nonlinearity=T.tanh
    )
    model = to_onnx({"y": L.get_output(lc2)}, [l_in.input_var])
    onnx.checker.check_model(model, full_check=True)
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (W1, b1), (W2, b2) = [(lyr.W.get_value(), lyr.b.get_value()) for lyr in (lc1, lc2)]
    for batch in (1, 4):
        x = data(batch, 2, 5, 7)
        (got,) = sess.run(None, {model.graph.input[0].name: x})
        h = np.maximum(local_oracle(x, W1, b1, True, False), 0)
        np.testing.assert_allclose(got, np.tanh(local_oracle(h, W2, b2, False, True)), **TOL)


# -- errors ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("pad", ["valid", "full", 1, (1, 1), (0, 2)], ids=str)
def test_pad_other_than_same_is_refused(pad: Any) -> None:
    with pytest.raises(NotImplementedError, match="requires pad='same'") as exc:
        L.LocallyConnected2DLayer(L.InputLayer((10, 2, 5, 7)), 2, 3, pad=pad)
    assert repr(pad) in str(exc.value)


@pytest.mark.parametrize("stride", [2, (1, 2), (2, 1)], ids=str)
def test_stride_other_than_one_is_refused(stride: Any) -> None:
    with pytest.raises(NotImplementedError, match=r"requires stride=1 / \(1, 1\)"):
        L.LocallyConnected2DLayer(L.InputLayer((10, 2, 5, 7)), 2, 3, stride=stride)


@pytest.mark.parametrize(
    "in_shape,args,kwargs,excs,match",
    [
        (
            (10, 2, 4, 4),
            (4, 3),
            dict(channelwise=True),
            (ValueError,),
            "num_filters and the number of input channels should match",
        ),
        (
            (10, None, 4, 4),
            (4, 3),
            dict(channelwise=True),
            (ValueError,),
            r"requires a fixed input shape \(except for the batch size\)",
        ),
        (
            (None, 2, None, 4),
            (4, 3),
            dict(),
            (ValueError,),
            r"requires a fixed input shape \(except for the batch size\)",
        ),
        ((None, 2, 5, None), (4, 3), dict(channelwise=True), (ValueError,), "fixed input shape"),
        ((None, 2, 5, 7), (4, (3, 2)), dict(), (NotImplementedError, ValueError), "odd filter size"),
        ((None, 2, 5, 7), (4, 2), dict(), (NotImplementedError,), "odd filter size"),
        ((None, 2, 5, 7), (4, 3), dict(num_groups=2), (NotImplementedError, ValueError), "num_groups"),
        ((None, 2, 5, 7), (4, 3), dict(W=np.zeros((4, 2, 3, 3, 5, 6))), (ValueError,), "shape"),
        ((None, 2, 5, 7), (4, 3), dict(untie_biases=True, b=np.zeros((4,))), (ValueError,), "shape"),
        ((None, 2, 7), (4, 3), dict(), (ValueError,), "input dimensions"),
        ((None, 2, 5, 7), (0, 3), dict(), (ValueError,), "num_filters"),
        ((None, 2, 5, 7), (4, "3"), dict(), (TypeError,), "filter_size"),
    ],
)
def test_errors(in_shape: Any, args: Any, kwargs: Any, excs: tuple[type, ...], match: str) -> None:
    with pytest.raises(excs, match=match):
        L.LocallyConnected2DLayer(L.InputLayer(in_shape), *args, **kwargs)


def test_wrong_input_rank_at_get_output_for() -> None:
    layer = L.LocallyConnected2DLayer((None, 2, 5, 7), 3, 3, name="lc")
    with pytest.raises(ValueError, match="LocallyConnected2DLayer 'lc' expects a 4-d input"):
        layer.get_output_for(T.tensor3("x"))


# -- the Lasagne import path ------------------------------------------------------------------------
def test_lasagne_module_path() -> None:
    code = textwrap.dedent(
        """
        import graphc, graphc.compat
        graphc.compat.install()
        import lasagne.layers.local
        from lasagne.layers import LocallyConnected2DLayer
        from lasagne.layers.local import LocallyConnected2DLayer as L2
        assert LocallyConnected2DLayer is L2 is graphc.layers.local.LocallyConnected2DLayer
        assert lasagne.layers.local.__all__ == ["LocallyConnected2DLayer"]
        """
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
