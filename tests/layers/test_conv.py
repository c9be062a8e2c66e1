"""Convolution layers and T.nnet.conv* against numpy loops written from Lasagne's definitions.

The oracles follow Lasagne's own test suite: a convolution is a
cross-correlation with flipped kernels; a transposed convolution correlates
the stride-dilated input, padded by ``filter - 1 - crop``, with the
transposed weights (flipped when ``flip_filters=True``); a dilated convolution
correlates with the transposed weights spread by the dilation.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import onnx
import pytest
from conftest import run_layer

import graphc
import graphc.tensor as T
from graphc import layers as L
from graphc.export import to_onnx
from tests.tensor.oracles import run_exported

RNG = np.random.default_rng(11)
TOL = dict(rtol=2e-5, atol=2e-5)


# -- oracles ------------------------------------------------------------------------------------
def correlate(x: np.ndarray, w: np.ndarray, stride: Any = 1, begin: Any = 0, end: Any = 0, dil: Any = 1,
              groups: int = 1) -> np.ndarray:
    """y[b, f, o] = sum over c in f's group and kernel offsets u of xpad[b, c, o*stride + u*dil] * w[f, c, u]."""
    n = x.ndim - 2
    stride, begin, end, dil = (tuple(v) if isinstance(v, tuple) else (v,) * n for v in (stride, begin, end, dil))
    xp = np.pad(x.astype(np.float64), [(0, 0), (0, 0)] + list(zip(begin, end)))
    f, cg = w.shape[:2]
    k = w.shape[2:]
    out = [(xp.shape[2 + i] - (k[i] - 1) * dil[i] - 1) // stride[i] + 1 for i in range(n)]
    y = np.zeros((x.shape[0], f) + tuple(out))
    for o in itertools.product(*map(range, out)):
        for fi in range(f):
            g = fi // (f // groups)
            for u in itertools.product(*map(range, k)):
                pos = tuple(o[i] * stride[i] + u[i] * dil[i] for i in range(n))
                y[(slice(None), fi) + o] += xp[(slice(None), slice(g * cg, (g + 1) * cg)) + pos] @ w[(fi, slice(None)) + u]
    return y


def flip(w: np.ndarray) -> np.ndarray:
    return w[(slice(None), slice(None)) + (slice(None, None, -1),) * (w.ndim - 2)]


def lasagne_pad(pad: Any, k: tuple[int, ...]) -> tuple[int, ...]:
    if pad == "valid":
        return (0,) * len(k)
    if pad == "full":
        return tuple(f - 1 for f in k)
    if pad == "same":
        return tuple(f // 2 for f in k)
    return pad if isinstance(pad, tuple) else (pad,) * len(k)


def conv_oracle(x: np.ndarray, W: np.ndarray, b: np.ndarray | None, stride: Any, pad: Any, flip_filters: bool,
                groups: int = 1) -> np.ndarray:
    p = lasagne_pad(pad, W.shape[2:])
    y = correlate(x, flip(W) if flip_filters else W, stride, p, p, 1, groups)
    if b is not None:
        y = y + (b if b.ndim > 1 else b.reshape((-1,) + (1,) * (x.ndim - 2)))
    return y


def zero_insert(x: np.ndarray, stride: tuple[int, ...], extend: tuple[int, ...]) -> np.ndarray:
    """Insert stride - 1 zeros between elements of each spatial axis, then `extend` zeros at the end."""
    shape = x.shape[:2] + tuple((s - 1) * st + 1 + e for s, st, e in zip(x.shape[2:], stride, extend))
    out = np.zeros(shape, dtype=x.dtype)
    out[(slice(None), slice(None)) + tuple(slice(0, (s - 1) * st + 1, st) for s, st in zip(x.shape[2:], stride))] = x
    return out


def transposed_oracle(x: np.ndarray, W: np.ndarray, stride: tuple[int, ...], crop: Any, flip_filters: bool,
                      extend: tuple[int, ...] | None = None) -> np.ndarray:
    kernel = W.transpose((1, 0) + tuple(range(2, W.ndim)))  # (F, C, *k)
    k = kernel.shape[2:]
    pad = tuple(f - 1 - c for f, c in zip(k, lasagne_pad(crop, k)))
    xd = zero_insert(x, stride, extend or (0,) * len(k))
    return correlate(xd, flip(kernel) if flip_filters else kernel, 1, pad, pad)


# -- running ------------------------------------------------------------------------------------
def check_layer(layer: Any, x: np.ndarray, expected: np.ndarray, tol: dict[str, float] | None = None) -> None:
    """ONNX Runtime and onnx.reference give the oracle's values at two batch sizes; the shape is the layer's."""
    tol = tol or TOL
    shape = layer.output_shape
    assert len(shape) == expected.ndim
    assert all(s is None or s == e for s, e in zip(shape, expected.shape)), (shape, expected.shape)
    for batch in (x, x[:1]):
        got, ref = run_layer(layer, batch)
        want = expected[: len(batch)]
        np.testing.assert_allclose(got, want, err_msg="onnxruntime", **tol)
        np.testing.assert_allclose(ref, want, err_msg="onnx.reference", **tol)


def data(*shape: int, dtype: str = "float32") -> np.ndarray:
    return RNG.standard_normal(shape).astype(dtype)


# -- Conv2DLayer --------------------------------------------------------------------------------
PADS_2D = [0, 1, (2, 1), "valid", "full"]


@pytest.mark.parametrize("flip_filters", [True, False])
@pytest.mark.parametrize("stride", [(1, 1), (2, 3)])
@pytest.mark.parametrize("pad", PADS_2D, ids=str)
def test_conv2d_layer(pad: Any, stride: Any, flip_filters: bool) -> None:
    x = data(3, 2, 5, 7)
    W, b = data(4, 2, 3, 2), data(4)
    l_in = L.InputLayer((None, 2, 5, 7))
    layer = L.Conv2DLayer(l_in, 4, (3, 2), stride=stride, pad=pad, W=W, b=b, nonlinearity=None,
                          flip_filters=flip_filters)
    check_layer(layer, x, conv_oracle(x, W, b, stride, pad, flip_filters))


@pytest.mark.parametrize("stride", [1, (2, 1)])
def test_conv2d_layer_same(stride: Any) -> None:
    x = data(2, 3, 6, 5)
    W, b = data(2, 3, 3, 5), data(2)
    layer = L.Conv2DLayer(L.InputLayer((None, 3, 6, 5)), 2, (3, 5), stride=stride, pad="same", W=W, b=b)
    assert layer.output_shape == ((None, 2, 6, 5) if stride == 1 else (None, 2, 3, 5))
    check_layer(layer, x, np.maximum(conv_oracle(x, W, b, stride, "same", True), 0))


def test_conv2d_untied_biases_and_no_bias() -> None:
    x = data(2, 2, 5, 7)
    W = data(3, 2, 2, 3)
    l_in = L.InputLayer((None, 2, 5, 7))
    untied = L.Conv2DLayer(l_in, 3, (2, 3), stride=(1, 2), pad=(1, 0), untie_biases=True, W=W, b=data(3, 6, 3),
                           nonlinearity=None)
    assert untied.b.get_value().shape == (3, 6, 3)
    check_layer(untied, x, conv_oracle(x, W, untied.b.get_value(), (1, 2), (1, 0), True))
    none = L.Conv2DLayer(l_in, 3, (2, 3), W=W, b=None, nonlinearity=None)
    assert none.b is None and none.get_params() == [none.W]
    check_layer(none, x, conv_oracle(x, W, None, 1, 0, True))


@pytest.mark.parametrize("flip_filters", [True, False])
def test_conv2d_groups(flip_filters: bool) -> None:
    x = data(2, 6, 5, 4)
    W, b = data(4, 3, 2, 3), data(4)
    layer = L.Conv2DLayer(L.InputLayer((None, 6, 5, 4)), 4, (2, 3), pad=(1, 1), num_groups=2, W=W, b=b,
                          nonlinearity=None, flip_filters=flip_filters)
    assert layer.W.get_value().shape == (4, 3, 2, 3)
    check_layer(layer, x, conv_oracle(x, W, b, 1, (1, 1), flip_filters, groups=2))


def test_conv2d_symbolic_spatial_sizes() -> None:
    W, b = data(3, 2, 3, 2), data(3)
    l_in = L.InputLayer((None, 2, None, None))
    layer = L.Conv2DLayer(l_in, 3, (3, 2), stride=(2, 1), pad=(1, 0), W=W, b=b, nonlinearity=None)
    assert layer.output_shape == (None, 3, None, None)
    f = graphc.function([l_in.input_var], L.get_output(layer))
    for shape in [(2, 2, 5, 7), (1, 2, 8, 4)]:
        x = data(*shape)
        np.testing.assert_allclose(f(x), conv_oracle(x, W, b, (2, 1), (1, 0), True), **TOL)


def test_conv2d_float64() -> None:
    x = data(2, 3, 6, 5, dtype="float64")
    l_in = L.InputLayer((None, 3, 6, 5), input_var=T.tensor4("x", dtype="float64"))
    W, b = data(4, 3, 3, 2, dtype="float64"), data(4, dtype="float64")
    layer = L.Conv2DLayer(l_in, 4, (3, 2), stride=(2, 1), pad="full", W=W, b=b, nonlinearity=None)
    assert L.get_output(layer).dtype == "float64"
    W, b = layer.W.get_value().astype(np.float64), layer.b.get_value().astype(np.float64)  # parameters are floatX
    check_layer(layer, x, conv_oracle(x, W, b, (2, 1), "full", True), tol=dict(rtol=1e-12, atol=1e-12))


# -- Conv1DLayer, Conv3DLayer --------------------------------------------------------------------
@pytest.mark.parametrize("flip_filters", [True, False])
@pytest.mark.parametrize("pad,stride", [(0, 1), (2, 2), ("full", 3), ("same", 1), ("valid", 2)])
def test_conv1d_layer(pad: Any, stride: int, flip_filters: bool) -> None:
    x = data(3, 2, 9)
    W, b = data(4, 2, 3), data(4)
    layer = L.Conv1DLayer(L.InputLayer((None, 2, 9)), 4, 3, stride=stride, pad=pad, W=W, b=b, nonlinearity=None,
                          flip_filters=flip_filters)
    check_layer(layer, x, conv_oracle(x, W, b, stride, pad, flip_filters))


def test_conv1d_untied_groups() -> None:
    x = data(2, 4, 7)
    W, b = data(6, 2, 2), data(6, 8)
    layer = L.Conv1DLayer(L.InputLayer((None, 4, 7)), 6, 2, pad=1, untie_biases=True, num_groups=2, W=W, b=b,
                          nonlinearity=None)
    check_layer(layer, x, conv_oracle(x, W, b, 1, 1, True, groups=2))


@pytest.mark.parametrize("flip_filters", [True, False])
@pytest.mark.parametrize("pad,stride", [(0, (1, 2, 1)), ((1, 0, 2), (2, 1, 3)), ("full", 1), ("same", (2, 2, 1))])
def test_conv3d_layer(pad: Any, stride: Any, flip_filters: bool) -> None:
    x = data(2, 2, 4, 5, 6)
    W, b = data(3, 2, 3, 1, 3) if pad == "same" else data(3, 2, 2, 3, 2), data(3)
    layer = L.Conv3DLayer(L.InputLayer((None, 2, 4, 5, 6)), 3, W.shape[2:], stride=stride, pad=pad, W=W, b=b,
                          nonlinearity=None, flip_filters=flip_filters)
    check_layer(layer, x, conv_oracle(x, W, b, stride, pad, flip_filters))


# -- TransposedConv2DLayer, DilatedConv2DLayer ---------------------------------------------------
@pytest.mark.parametrize("flip_filters", [False, True])
@pytest.mark.parametrize(
    "crop,stride,filter_size",
    [(0, (1, 1), (3, 2)), (1, (2, 3), (3, 2)), ((2, 0), (2, 1), (3, 2)), ("valid", (1, 2), (2, 3)),
     ("full", (3, 2), (3, 2)), ("same", (2, 2), (3, 1))],
)
def test_transposed_conv2d_layer(crop: Any, stride: Any, filter_size: Any, flip_filters: bool) -> None:
    x = data(3, 2, 4, 5)
    W, b = data(2, 3, *filter_size), data(3)
    layer = L.TransposedConv2DLayer(L.InputLayer((None, 2, 4, 5)), 3, filter_size, stride=stride, crop=crop, W=W, b=b,
                                    nonlinearity=None, flip_filters=flip_filters)
    assert layer.W.get_value().shape == (2, 3) + tuple(filter_size)
    expected = transposed_oracle(x, W, stride, crop, flip_filters) + b.reshape(-1, 1, 1)
    check_layer(layer, x, expected)


@pytest.mark.parametrize("spatial", [(4, 5), (None, None)], ids=["static", "symbolic"])
@pytest.mark.parametrize("extend", [(0, 1), (1, 2)])
def test_transposed_conv2d_output_size(extend: Any, spatial: Any) -> None:
    x = data(2, 3, 4, 5)
    W = data(3, 2, 2, 3)
    stride = (2, 3)
    want = transposed_oracle(x, W, stride, 0, True, extend)
    l_in = L.InputLayer((None, 3) + spatial)
    layer = L.Deconv2DLayer(l_in, 2, (2, 3), stride=stride, W=W, b=None, nonlinearity=None, flip_filters=True,
                            output_size=want.shape[2:])
    assert layer.output_shape == (None, 2) + want.shape[2:]
    check_layer(layer, x, want)


def test_transposed_conv2d_untied_and_3d() -> None:
    x = data(2, 2, 3, 4)
    W = data(2, 3, 3, 2)
    layer = L.TransposedConv2DLayer(L.InputLayer((None, 2, 3, 4)), 3, (3, 2), stride=2, untie_biases=True, W=W,
                                    nonlinearity=None)
    assert layer.b.get_value().shape == (3, 7, 8)
    check_layer(layer, x, transposed_oracle(x, W, (2, 2), 0, False))
    x3 = data(2, 2, 3, 2, 4)
    W3 = data(2, 3, 2, 3, 2)
    layer3 = L.TransposedConv3DLayer(L.InputLayer((None, 2, 3, 2, 4)), 3, (2, 3, 2), stride=(1, 2, 2), crop=(1, 0, 1),
                                     W=W3, b=None, nonlinearity=None)
    check_layer(layer3, x3, transposed_oracle(x3, W3, (1, 2, 2), (1, 0, 1), False))


# A symbolic output_size: the layer computes the largest output and keeps the first `output_size` rows.
SYMBOLIC_CROPS = [0, 1, (2, 1), "same", "full", "valid"]


def extends(stride: tuple[int, ...]) -> list[tuple[int, ...]]:
    """Extra rows past the smallest output: none, one, and stride - 1 (the most the strides allow)."""
    return [(0,) * len(stride), (1,) * len(stride), tuple(s - 1 for s in stride)]


def symbolic_sizes(form: str, n: int) -> tuple[Any, list[Any], Any]:
    """``output_size`` in one of Lasagne's symbolic forms, the variables to feed, and a feeder."""
    if form == "vector":
        v = T.lvector("size")
        return v, [v], lambda size: [np.array(size, dtype="int64")]
    scalars = [T.lscalar(f"s{i}") for i in range(n)]
    return tuple(scalars), scalars, lambda size: [np.array(s, dtype="int64") for s in size]


@pytest.mark.parametrize("form", ["vector", "tuple"])
@pytest.mark.parametrize("stride", [(2, 3), (3, 2)], ids=str)
@pytest.mark.parametrize("crop", SYMBOLIC_CROPS, ids=str)
def test_transposed_conv2d_symbolic_output_size(crop: Any, stride: Any, form: str) -> None:
    """One compiled function serves every reachable size; the extra rows hold what the definition puts
    there (not zeros when the end is cropped), in graphc.function, ONNX Runtime and onnx.reference."""
    x = data(2, 2, 4, 5)
    W, b = data(2, 3, 3, 5), data(3)
    size, feed_vars, feed = symbolic_sizes(form, 2)
    l_in = L.InputLayer((None, 2, 4, 5))
    layer = L.TransposedConv2DLayer(l_in, 3, (3, 5), stride=stride, crop=crop, W=W, b=b, nonlinearity=None,
                                    output_size=size)
    assert layer.output_shape == (None, 3, None, None)
    assert layer.get_output_shape_for((2, 2, 4, 5)) == (2, 3, None, None)
    out = L.get_output(layer)
    fn = graphc.function([l_in.input_var] + feed_vars, out)
    smallest = transposed_oracle(x, W, stride, crop, False).shape[2:]
    for extend in extends(stride):
        want = transposed_oracle(x, W, stride, crop, False, extend) + b.reshape(-1, 1, 1)
        assert want.shape[2:] == tuple(m + e for m, e in zip(smallest, extend))
        np.testing.assert_allclose(fn(x, *feed(want.shape[2:])), want, **TOL)
        names = {l_in.input_var.name: x} | {v.name: a for v, a in zip(feed_vars, feed(want.shape[2:]))}
        (got,), (ref,) = run_exported({"y": out}, [l_in.input_var] + feed_vars, names)
        np.testing.assert_allclose(got, want, err_msg="onnxruntime", **TOL)
        np.testing.assert_allclose(ref, want, err_msg="onnx.reference", **TOL)


def test_transposed_symbolic_output_size_is_not_zero_padding() -> None:
    """With a cropped end the first extra row is not zero, so padding the smallest output would be wrong."""
    x, W = data(1, 1, 3, 4), data(1, 1, 3, 3)
    smallest = transposed_oracle(x, W, (2, 2), 1, False)
    extended = transposed_oracle(x, W, (2, 2), 1, False, (1, 1))
    assert np.abs(extended[:, :, -1, :]).max() > 0.1 and np.abs(extended[:, :, :, -1]).max() > 0.1
    np.testing.assert_allclose(extended[:, :, :-1, :-1], smallest, **TOL)
    size = T.lvector("size")
    layer = L.TransposedConv2DLayer(L.InputLayer((None, 1, None, None)), 1, 3, stride=2, crop=1, W=W, b=None,
                                    nonlinearity=None, output_size=size)
    fn = graphc.function([layer.input_layer.input_var, size], L.get_output(layer))
    np.testing.assert_allclose(fn(x, np.array(extended.shape[2:])), extended, **TOL)


def test_transposed_conv_mixed_and_shared_output_size() -> None:
    """A tuple mixing ints and symbolic scalars reports the ints; a shared vector (Lasagne's tests) works in 3-d."""
    x = data(2, 2, 4, 5)
    W = data(2, 3, 2, 3)
    rows = T.lscalar("rows")
    l_in = L.InputLayer((None, 2, None, None))
    layer = L.TransposedConv2DLayer(l_in, 3, (2, 3), stride=(2, 3), W=W, b=None, nonlinearity=None, flip_filters=True,
                                    output_size=(rows, 17))
    assert layer.output_shape == (None, 3, None, 17)
    assert layer.get_output_shape_for((2, 2, 4, 5)) == (2, 3, None, 17)
    want = transposed_oracle(x, W, (2, 3), 0, True, (1, 2))
    fn = graphc.function([l_in.input_var, rows], L.get_output(layer))
    np.testing.assert_allclose(fn(x, np.array(want.shape[2], dtype="int64")), want, **TOL)

    x3, W3 = data(2, 2, 3, 4, 2), data(2, 3, 2, 3, 2)
    stride3 = (2, 3, 2)
    want3 = transposed_oracle(x3, W3, stride3, (1, 0, 1), False, (1, 2, 0))
    sizes = graphc.shared(np.array(want3.shape[2:]))
    layer3 = L.Deconv3DLayer(L.InputLayer((None, 2, 3, 4, 2)), 3, (2, 3, 2), stride=stride3, crop=(1, 0, 1), W=W3,
                             b=None, nonlinearity=None, output_size=sizes)
    assert layer3.output_size is sizes
    assert layer3.output_shape == (None, 3, None, None, None)
    got = L.get_output(layer3, x3).eval()
    np.testing.assert_allclose(got, want3, **TOL)
    sizes.set_value(np.array(want3.shape[2:]) - (1, 2, 0))
    np.testing.assert_allclose(L.get_output(layer3, x3).eval(), transposed_oracle(x3, W3, stride3, (1, 0, 1), False),
                               **TOL)


@pytest.mark.parametrize("crop", [0, "same", (2, 1)], ids=str)
def test_transposed_conv_symbolic_output_size_gradients(crop: Any) -> None:
    """Gradients in x and W through the kept rows, against central differences along random directions."""
    rng = np.random.default_rng(3)
    stride = (2, 3)
    x, W = rng.standard_normal((2, 2, 3, 4)), rng.standard_normal((2, 3, 3, 5)) * 0.5
    # static input sizes keep the float64 lowering exact (with run-time sizes it computes in float32)
    xv, wv = T.tensor("float64", shape=x.shape, name="x"), T.tensor("float64", shape=W.shape, name="w")
    size, p = T.lvector("size"), T.tensor4("p", dtype="float64")
    layer = L.TransposedConv2DLayer(L.InputLayer(x.shape, input_var=xv), 3, (3, 5), stride=stride,
                                    crop=crop, W=wv, b=None, nonlinearity=T.tanh, output_size=size)
    cost = T.sum(L.get_output(layer) * p)
    f_cost = graphc.function([xv, wv, size, p], cost)
    f_grad = graphc.function([xv, wv, size, p], graphc.grad(cost, [xv, wv]))
    for extend in extends(stride):
        shape = transposed_oracle(x, W, stride, crop, False, extend).shape
        proj, sz = rng.standard_normal(shape), np.array(shape[2:])
        grads = f_grad(x, W, sz, proj)
        for k, a in enumerate((x, W)):
            v = rng.standard_normal(a.shape)
            plus, minus = [x, W], [x, W]
            plus[k], minus[k] = a + 1e-6 * v, a - 1e-6 * v
            numeric = (f_cost(*plus, sz, proj) - f_cost(*minus, sz, proj)) / 2e-6
            np.testing.assert_allclose(np.sum(grads[k] * v), numeric, rtol=1e-6, atol=1e-7)


def test_transposed_conv_output_size_from_input_shape() -> None:
    """Lasagne's autoencoder idiom: output_size=l_in.input_var.shape[2:] restores every input size at run time,
    including in the exported model."""
    import onnxruntime as ort

    l_in = L.InputLayer((None, 2, None, None), name="img")
    enc = L.Conv2DLayer(l_in, 4, 3, stride=2, pad=1, nonlinearity=None, name="enc")
    dec = L.TransposedConv2DLayer(enc, 2, 3, stride=2, crop=1, nonlinearity=None, output_size=l_in.input_var.shape[2:],
                                  name="dec")
    assert dec.output_shape == (None, 2, None, None)
    out = L.get_output(dec)
    fn = graphc.function([l_in.input_var], out)
    model = to_onnx({"y": out}, [l_in.input_var])
    onnx.checker.check_model(model, full_check=True)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (W1, b1), (W2, b2) = [(lyr.W.get_value(), lyr.b.get_value()) for lyr in (enc, dec)]
    for rows, cols in [(9, 12), (10, 13), (8, 11), (7, 7)]:
        x = data(2, 2, rows, cols)
        h = conv_oracle(x, W1, b1, 2, 1, True)
        smallest = transposed_oracle(h, W2, (2, 2), 1, False).shape[2:]
        extend = (rows - smallest[0], cols - smallest[1])
        want = transposed_oracle(h, W2, (2, 2), 1, False, extend) + b2.reshape(-1, 1, 1)
        assert want.shape == (2, 2, rows, cols)
        np.testing.assert_allclose(fn(x), want, **TOL)
        (got,) = sess.run(None, {model.graph.input[0].name: x})
        np.testing.assert_allclose(got, want, **TOL)


def test_nnet_conv2d_transpose_symbolic_output_shape() -> None:
    """T.nnet.conv2d_transpose takes Theano's symbolic output_shape (all four entries, or the spatial two)."""
    x, w = data(2, 3, 4, 5), data(3, 2, 3, 2)
    xv, shp = T.tensor4("x"), T.lvector("shp")
    fn4 = graphc.function([xv, shp], T.nnet.conv2d_transpose(xv, T.constant(w), output_shape=shp, border_mode=1,
                                                              input_dilation=(2, 3)))
    spatial = T.lvector("spatial")
    fn2 = graphc.function([xv, spatial], T.nnet.conv2d_transpose(xv, T.constant(w), output_shape=spatial,
                                                                  border_mode=1, input_dilation=(2, 3)))
    for extend in [(0, 0), (1, 0), (1, 2)]:
        want = transposed_oracle(x, w, (2, 3), 1, False, extend)
        np.testing.assert_allclose(fn4(x, np.array(want.shape)), want, **TOL)
        np.testing.assert_allclose(fn2(x, np.array(want.shape[2:])), want, **TOL)


@pytest.mark.parametrize("dilation,filter_size", [(1, (3, 2)), ((2, 3), (3, 2)), (3, (1, 3)), ((2, 1), (2, 2))])
def test_dilated_conv2d_layer(dilation: Any, filter_size: Any) -> None:
    x = data(2, 2, 9, 8)
    W, b = data(2, 3, *filter_size), data(3)
    layer = L.DilatedConv2DLayer(L.InputLayer((None, 2, 9, 8)), 3, filter_size, dilation=dilation, W=W, b=b,
                                 nonlinearity=None)
    assert layer.W.get_value().shape == (2, 3) + tuple(filter_size)
    dil = dilation if isinstance(dilation, tuple) else (dilation,) * 2
    expected = correlate(x, W.transpose(1, 0, 2, 3), 1, 0, 0, dil) + b.reshape(-1, 1, 1)
    check_layer(layer, x, expected)


# -- parameters, shapes and errors --------------------------------------------------------------
def test_conv_params_names_shapes_tags() -> None:
    l_in = L.InputLayer((None, 3, 8, 7))
    layer = L.Conv2DLayer(l_in, 5, (3, 2), name="conv")
    assert [p.name for p in layer.get_params()] == ["conv.W", "conv.b"]
    assert layer.W.get_value().shape == (5, 3, 3, 2) and layer.b.get_value().shape == (5,)
    assert layer.get_params(regularizable=False) == [layer.b]
    assert layer.get_params(regularizable=True) == [layer.W]
    assert layer.get_params(trainable=True) == [layer.W, layer.b]
    assert layer.nonlinearity is graphc.nonlinearities.rectify
    assert L.Conv2DLayer(l_in, 5, 3, nonlinearity=None).nonlinearity is graphc.nonlinearities.identity
    assert L.Conv1DLayer(L.InputLayer((2, 3, 9)), 4, 2).W.get_value().shape == (4, 3, 2)
    assert L.Conv3DLayer(L.InputLayer((2, 3, 4, 5, 6)), 4, (1, 2, 3)).W.get_value().shape == (4, 3, 1, 2, 3)
    assert L.DilatedConv2DLayer(l_in, 4, 2).b.get_value().shape == (4,)


@pytest.mark.parametrize(
    "in_shape,kwargs,out_shape",
    [
        ((None, 3, 13, 10), dict(num_filters=4, filter_size=5, stride=3), (None, 4, 3, 2)),
        ((None, 3, 13, 10), dict(num_filters=4, filter_size=5, stride=3, pad="full"), (None, 4, 6, 5)),
        ((None, 3, 13, 10), dict(num_filters=4, filter_size=5, stride=3, pad="same"), (None, 4, 5, 4)),
        ((None, 3, 13, 10), dict(num_filters=4, filter_size=5, stride=3, pad=2), (None, 4, 5, 4)),
        ((None, 3, None, 10), dict(num_filters=4, filter_size=(2, 3)), (None, 4, None, 8)),
    ],
)
def test_conv2d_output_shape(in_shape: Any, kwargs: Any, out_shape: Any) -> None:
    assert L.Conv2DLayer(in_shape, **kwargs).output_shape == out_shape


def test_output_length_helpers() -> None:
    from graphc.layers.conv import conv_input_length, conv_output_length

    assert [conv_output_length(13, 5, 3, p) for p in ("valid", 0, "full", "same", 2)] == [3, 3, 6, 5, 5]
    assert conv_output_length(None, 5, 3) is None
    assert [conv_input_length(*a) for a in [(2, 3, 1, "valid"), (6, 4, 1, 2), (2, 3, 2, 0), (3, 3, 2, "same"),
                                             (3, 3, 2, "full")]] == [4, 5, 5, 5, 3]
    with pytest.raises(ValueError, match="Invalid pad"):
        conv_output_length(13, 5, 3, "_nonexistent_mode")


@pytest.mark.parametrize(
    "build,excs,match",
    [
        (lambda i: L.Conv2DLayer(i, 4, (3, 3, 3), name="c"), (ValueError, TypeError), r"Conv2DLayer 'c'.*filter_size"),
        (lambda i: L.Conv2DLayer(i, 4, (4, 3), pad="same", name="c"), (ValueError, NotImplementedError),
         r"Conv2DLayer 'c'.*requires odd filter size"),
        (lambda i: L.Conv2DLayer(i, 4, 3, pad="_nonexistent_mode"), (ValueError, TypeError), r"iterable of int"),
        (lambda i: L.Conv2DLayer(i, 4, 3, num_groups=2), (ValueError,), r"num_groups \(here: 2\)"),
        (lambda i: L.Conv1DLayer(i, 4, 3), (ValueError,), r"Conv1DLayer.*Expected 3 input dimensions"),
        (lambda i: L.Conv3DLayer(i, 4, 3), (ValueError,), r"Conv3DLayer.*Expected 5 input dimensions"),
        (lambda i: L.Conv2DLayer(i, 0, 3), (ValueError,), r"num_filters"),
        (lambda i: L.Conv2DLayer(i, 4, 3, stride=0), (ValueError,), r"stride"),
        (lambda i: L.Conv2DLayer((None, None, 5, 7), 4, 3), (ValueError,), r"input channels"),
        (lambda i: L.Conv2DLayer((None, 3, None, 7), 4, 3, untie_biases=True), (ValueError,), r"untie_biases"),
        (lambda i: L.DilatedConv2DLayer(i, 2, 3, pad=1), (ValueError, NotImplementedError), r"requires pad=0"),
        (lambda i: L.DilatedConv2DLayer(i, 2, 3, pad="full"), (ValueError, NotImplementedError), r"requires pad=0"),
        (lambda i: L.DilatedConv2DLayer(i, 2, 3, flip_filters=True), (ValueError, NotImplementedError),
         r"requires flip_filters=False"),
        (lambda i: L.TransposedConv2DLayer(i, 2, 3, output_size=T.vector()), (ValueError, TypeError),
         r"TransposedConv2DLayer.*output_size.*integer vector"),
        (lambda i: L.TransposedConv2DLayer(i, 2, 3, output_size=graphc.shared(np.array([7, 9, 3]))),
         (ValueError, TypeError), r"output_size expected .* of length 2"),
        (lambda i: L.TransposedConv3DLayer(L.InputLayer((None, 3, 4, 5, 6)), 2, 3, output_size=(T.lscalar(), 7)),
         (ValueError, TypeError), r"TransposedConv3DLayer.*output_size.*length 3"),
        (lambda i: L.TransposedConv2DLayer(i, 2, 3, output_size=(T.scalar(), 7)), (ValueError, TypeError),
         r"symbolic integer scalars"),
        (lambda i: L.TransposedConv2DLayer(i, 2, 3, output_size=(T.lscalar(), 0)), (ValueError, TypeError),
         r"output_size entries must be >= 1"),
        (lambda i: L.TransposedConv2DLayer(i, 2, 3, untie_biases=True, output_size=T.lvector()), (ValueError,),
         r"untie_biases=True needs fixed output sizes"),
        (lambda i: L.get_output(L.TransposedConv2DLayer(i, 2, 3, stride=2, output_size=(9, 20))), (ValueError,),
         r"TransposedConv2DLayer.*not reachable"),
        (lambda i: L.get_output(L.Conv2DLayer(i, 2, 6)), (ValueError,), r"larger than the padded input"),
    ],
)
def test_conv_layer_errors(build: Any, excs: tuple[type, ...], match: str) -> None:
    l_in = L.InputLayer((None, 3, 5, 7))
    with pytest.raises(excs[0], match=match) as info:
        build(l_in)
    assert all(isinstance(info.value, e) for e in excs)


# -- T.nnet.conv1d / conv2d / conv3d / conv2d_transpose ------------------------------------------
@pytest.mark.parametrize(
    "border_mode,pads",
    [("valid", (0, 0)), ("full", (2, 1)), ("half", (1, 1)), (2, (2, 2)), ((1, 0), (1, 0)), (((2, 0), (1, 1)), None)],
)
@pytest.mark.parametrize("filter_flip", [True, False])
def test_nnet_conv2d(border_mode: Any, pads: Any, filter_flip: bool) -> None:
    x, w = data(2, 3, 5, 6), data(4, 3, 3, 2)
    xv, wv = T.tensor4("x"), T.tensor4("w", shape=(4, 3, 3, 2))
    y = T.nnet.conv2d(xv, wv, input_shape=(None, 3, 5, 6), filter_shape=(4, 3, 3, 2), border_mode=border_mode,
                      subsample=(2, 1), filter_flip=filter_flip)
    got = graphc.function([xv, wv], y)(x, w)
    begin, end = ((2, 1), (0, 1)) if pads is None else (pads, pads)
    np.testing.assert_allclose(got, correlate(x, flip(w) if filter_flip else w, (2, 1), begin, end), **TOL)


def test_nnet_conv_dilation_groups_and_other_ranks() -> None:
    x, w = data(2, 4, 7, 8), data(6, 2, 2, 3)
    xv, wv = T.tensor4("x"), T.tensor4("w")  # the filters' sizes are known only at run time
    y = T.nnet.conv2d(xv, wv, subsample=(1, 2), filter_dilation=(2, 1), num_groups=2)
    np.testing.assert_allclose(graphc.function([xv, wv], y)(x, w), correlate(x, flip(w), (1, 2), 0, 0, (2, 1), 2),
                               **TOL)
    x1, w1 = data(2, 3, 9), data(2, 3, 4)
    x1v = T.tensor3("a")
    y1 = T.nnet.conv1d(x1v, T.constant(w1), border_mode="full", subsample=(2,))
    np.testing.assert_allclose(graphc.function([x1v], y1)(x1), correlate(x1, flip(w1), 2, 3, 3), **TOL)
    x3, w3 = data(1, 2, 3, 4, 5), data(3, 2, 2, 1, 3)
    x3v = T.tensor5("c")
    y3 = T.nnet.conv3d(x3v, T.constant(w3), border_mode="half", filter_flip=False)
    np.testing.assert_allclose(graphc.function([x3v], y3)(x3), correlate(x3, w3, 1, (1, 0, 1), (1, 0, 1)), **TOL)


def test_nnet_conv2d_transpose() -> None:
    x, w = data(2, 3, 4, 5), data(3, 2, 3, 2)
    want = transposed_oracle(x, w, (2, 3), 1, False, (1, 0))
    xv = T.tensor4("x")
    y = T.nnet.conv2d_transpose(xv, T.constant(w), output_shape=(None, 2) + want.shape[2:], border_mode=1,
                                input_dilation=(2, 3))
    np.testing.assert_allclose(graphc.function([xv], y)(x), want, **TOL)


def test_nnet_conv_errors() -> None:
    x = T.tensor4("x", shape=(None, 3, 5, 7))
    with pytest.raises(ValueError, match=r"conv2d: input_shape .* does not match"):
        T.nnet.conv2d(x, T.tensor4("w", shape=(2, 3, 3, 3)), input_shape=(None, 4, 5, 7))
    with pytest.raises(ValueError, match=r"conv2d: input must be a 4-d tensor"):
        T.nnet.conv2d(T.tensor3("y"), T.tensor4("w"))
    with pytest.raises(ValueError, match=r"invalid border_mode 'sideways'"):
        T.nnet.conv2d(x, T.tensor4("w", shape=(2, 3, 3, 3)), border_mode="sideways")
    with pytest.raises(ValueError, match=r"needs the kernel size"):
        T.nnet.conv2d(x, T.tensor4("w"), border_mode="full")
    with pytest.raises(ValueError, match=r"channel mismatch"):
        T.nnet.conv2d(x, T.tensor4("w", shape=(2, 2, 3, 3)))


# -- a small network, exported --------------------------------------------------------------------
def test_exported_conv_network_dynamic_batch() -> None:
    import onnxruntime as ort

    l_in = L.InputLayer((None, 2, 11, 9), name="img")
    c1 = L.Conv2DLayer(l_in, 4, (3, 2), pad="full", name="c1")
    p1 = L.MaxPool2DLayer(c1, (2, 3), stride=(2, 2), ignore_border=False, name="p1")
    c2 = L.Conv2DLayer(p1, 5, (2, 3), stride=(1, 2), pad=1, flip_filters=False, name="c2")
    c3 = L.Conv2DLayer(c2, 3, 3, pad="same", num_groups=1, name="c3")
    out = L.DenseLayer(c3, 6, nonlinearity=graphc.nonlinearities.softmax, name="out")
    model = to_onnx({"probs": L.get_output(out)}, [l_in.input_var])
    onnx.checker.check_model(model, full_check=True)
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])

    (W1, b1), (W2, b2), (W3, b3), (W4, b4) = [(lyr.W.get_value(), lyr.b.get_value()) for lyr in (c1, c2, c3, out)]

    def oracle(x: np.ndarray) -> np.ndarray:
        h = np.maximum(conv_oracle(x, W1, b1, 1, "full", True), 0)  # (B, 4, 13, 10)
        h = np.stack([np.stack([h[:, :, i:i + 2, j:j + 3].max(axis=(2, 3)) for j in range(0, 10, 2)], -1)
                      for i in range(0, 13, 2)], -2)  # ignore_border=False: 7 x 5 windows, the last ones partial
        h = np.maximum(conv_oracle(h, W2, b2, (1, 2), 1, False), 0)
        h = np.maximum(conv_oracle(h, W3, b3, 1, "same", True), 0)
        z = h.reshape(len(h), -1) @ W4 + b4
        e = np.exp(z - z.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)

    for batch in (1, 3):
        x = data(batch, 2, 11, 9)
        (got,) = sess.run(None, {model.graph.input[0].name: x})
        np.testing.assert_allclose(got, oracle(x), rtol=1e-4, atol=1e-6)
