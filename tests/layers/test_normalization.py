"""BatchNormLayer (training, inference, running averages), batch_norm, StandardizationLayer,
instance_norm, layer_norm and LocalResponseNormalization2DLayer against numpy."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator

import graphc
import graphc.tensor as T
from graphc import nonlinearities
from graphc.export import to_onnx
from graphc.layers import (
    BatchNormLayer,
    BiasLayer,
    DenseLayer,
    InputLayer,
    LocalResponseNormalization2DLayer,
    NINLayer,
    NonlinearityLayer,
    ScaleLayer,
    StandardizationLayer,
    batch_norm,
    count_params,
    get_all_layers,
    get_all_params,
    get_output,
    instance_norm,
    layer_norm,
)

RNG = np.random.default_rng(3)
EPS = 1e-4


def data(*shape, scale=1.0, shift=0.0):
    return (RNG.normal(size=shape) * scale + shift).astype(np.float32)


def input_of(layer):
    while not isinstance(layer, InputLayer):
        layer = layer.input_layer
    return layer


def run(layer, x, **kwargs):
    """``layer``'s output for ``x`` by ONNX Runtime (graphc.function) and by onnx.reference."""
    var = input_of(layer).input_var
    out = get_output(layer, **kwargs)
    got = graphc.function([var], out, no_default_updates=True)(x)
    model = to_onnx({"y": out}, [var])
    ref = ReferenceEvaluator(model).run(None, {model.graph.input[0].name: x})[0]
    shape = layer.output_shape
    assert len(shape) == got.ndim and all(s is None or s == g for s, g in zip(shape, got.shape)), (shape, got.shape)
    return got, ref


def check(layer, x, want, rtol=1e-4, atol=1e-5, **kwargs):
    got, ref = run(layer, x, **kwargs)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg="onnxruntime")
    np.testing.assert_allclose(ref, want, rtol=rtol, atol=atol, err_msg="onnx.reference")


def expand(p, ndim, axes):
    """A parameter of the non-normalized axes, broadcastable against the input."""
    return np.expand_dims(p, axes) if axes else p


def bn_numpy(x, axes, gamma, beta, mean=None, inv_std=None):
    """Batch normalization by the reference equations (batch statistics when mean/inv_std are None)."""
    x64 = x.astype(np.float64)
    if mean is None:
        mean = x64.mean(axis=axes)
        inv_std = 1 / np.sqrt(x64.var(axis=axes) + EPS)
    e = lambda p: expand(np.asarray(p, np.float64), x.ndim, axes)  # noqa: E731
    return (x64 - e(mean)) * e(gamma) * e(inv_std) + e(beta)


# -- BatchNormLayer: parameters ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "in_shape, axes, param_shape",
    [((None, 3, 5, 4), "auto", (3,)), ((None, 6), "auto", (6,)), ((None, 3, 5), 0, (3, 5)), ((None, 3, 5, 4), (0, -1), (3, 5))],
)
def test_batch_norm_params(in_shape, axes, param_shape):
    layer = BatchNormLayer(InputLayer(in_shape), axes=axes, name="bn")
    names = {p.name: (p.get_value().shape, layer.params[p]) for p in layer.params}
    assert names == {
        "bn.beta": (param_shape, {"trainable"}),
        "bn.gamma": (param_shape, {"trainable", "regularizable"}),
        "bn.mean": (param_shape, set()),
        "bn.inv_std": (param_shape, set()),
    }
    assert [p.name for p in get_all_params(layer, trainable=True)] == ["bn.beta", "bn.gamma"]
    assert [p.name for p in get_all_params(layer, regularizable=True)] == ["bn.gamma"]
    assert [p.name for p in get_all_params(layer, trainable=False)] == ["bn.mean", "bn.inv_std"]
    assert count_params(layer) == 4 * int(np.prod(param_shape))
    for name, value in (("beta", 0), ("gamma", 1), ("mean", 0), ("inv_std", 1)):
        np.testing.assert_array_equal(getattr(layer, name).get_value(), np.full(param_shape, value, np.float32))
    assert layer.output_shape == in_shape


def test_batch_norm_without_beta_gamma():
    layer = BatchNormLayer(InputLayer((None, 4)), beta=None, gamma=None)
    assert layer.beta is None and layer.gamma is None
    assert [p.name for p in layer.get_params()] == ["mean", "inv_std"]
    assert get_all_params(layer, trainable=True) == []
    x = data(7, 4, scale=2, shift=1)
    check(layer, x, bn_numpy(x, (0,), 1.0, 0.0))


def test_batch_norm_errors():
    with pytest.raises(ValueError, match=r"BatchNormLayer 'bn' needs specified input sizes for all axes not normalized over"):
        BatchNormLayer(InputLayer((None, None, 5)), name="bn")
    with pytest.raises(ValueError, match=r"BatchNormLayer 'bn': axes \(0, 4\) names axis 4, but the input has 3 dimensions"):
        BatchNormLayer(InputLayer((None, 3, 5)), axes=(0, 4), name="bn")
    with pytest.raises(ValueError, match=r"BatchNormLayer 'bn': cannot initialize parameter 'bn.gamma': the provided numpy array has shape \(5,\), should be \(3,\)"):
        BatchNormLayer(InputLayer((None, 3, 5)), gamma=np.ones(5, np.float32), name="bn")
    with pytest.raises(ValueError, match=r"BatchNormLayer 'bn': alpha must be \[0.0, 1.0\]"):
        BatchNormLayer(InputLayer((None, 3)), alpha=1.5, name="bn")


# -- BatchNormLayer: outputs -------------------------------------------------------------------------------------
def _bn_with_values(in_shape, axes="auto"):
    layer = BatchNormLayer(InputLayer(in_shape), axes=axes, name="bn")
    shape = layer.beta.get_value().shape
    layer.beta.set_value(data(*shape))
    layer.gamma.set_value(RNG.uniform(0.5, 2, size=shape).astype(np.float32))
    layer.mean.set_value(data(*shape))
    layer.inv_std.set_value(RNG.uniform(0.5, 2, size=shape).astype(np.float32))
    return layer


@pytest.mark.parametrize("in_shape, axes, norm_axes", [((None, 3, 5, 4), "auto", (0, 2, 3)), ((None, 3, 5), 0, (0,)), ((None, 6), "auto", (0,))])
def test_batch_norm_training_and_deterministic_outputs(in_shape, axes, norm_axes):
    layer = _bn_with_values(in_shape, axes)
    x = data(6, *in_shape[1:], scale=3, shift=2)
    gamma, beta = layer.gamma.get_value(), layer.beta.get_value()
    check(layer, x, bn_numpy(x, norm_axes, gamma, beta))
    stored = (layer.mean.get_value(), layer.inv_std.get_value())
    check(layer, x, bn_numpy(x, norm_axes, gamma, beta, *stored), deterministic=True)
    # the keywords override deterministic
    check(layer, x, bn_numpy(x, norm_axes, gamma, beta, *stored), batch_norm_use_averages=True)
    check(layer, x, bn_numpy(x, norm_axes, gamma, beta), deterministic=True, batch_norm_use_averages=False)


def test_batch_norm_running_averages_update_through_compiled_function():
    alpha = 0.3
    layer = BatchNormLayer(InputLayer((None, 3, 5, 4)), alpha=alpha, name="bn")
    var = layer.input_layer.input_var
    train = graphc.function([var], get_output(layer))
    running_mean = np.zeros(3)
    running_inv_std = np.ones(3)
    for step in range(3):
        x = data(4 + step, 3, 5, 4, scale=1 + step, shift=step - 1)
        train(x)
        x64 = x.astype(np.float64)
        running_mean = (1 - alpha) * running_mean + alpha * x64.mean(axis=(0, 2, 3))
        running_inv_std = (1 - alpha) * running_inv_std + alpha / np.sqrt(x64.var(axis=(0, 2, 3)) + EPS)
        np.testing.assert_allclose(layer.mean.get_value(), running_mean, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(layer.inv_std.get_value(), running_inv_std, rtol=1e-5)
    # the parameters themselves carry no update: only the training expression's aliases do
    assert layer.mean.default_update is None and layer.inv_std.default_update is None
    assert [p.name for p in get_all_params(layer)] == ["bn.beta", "bn.gamma", "bn.mean", "bn.inv_std"]


def test_batch_norm_default_updates_join_explicit_updates():
    layer = BatchNormLayer(InputLayer((None, 5)), name="bn")
    var = layer.input_layer.input_var
    gamma0 = layer.gamma.get_value()
    step = graphc.function([var], get_output(layer).sum(), updates=[(layer.gamma, layer.gamma * 2)])
    x = data(6, 5, shift=1)
    step(x)
    np.testing.assert_allclose(layer.gamma.get_value(), gamma0 * 2)
    np.testing.assert_allclose(layer.mean.get_value(), 0.1 * x.mean(axis=0), rtol=1e-5, atol=1e-6)


def test_batch_norm_inference_function_leaves_averages_alone():
    layer = _bn_with_values((None, 3, 5, 4))
    var = layer.input_layer.input_var
    train_out = get_output(layer)
    test_out = get_output(layer, deterministic=True)  # built after the training expression, as scripts do
    train = graphc.function([var], train_out)
    test = graphc.function([var], test_out)
    mean, inv_std = layer.mean.get_value(), layer.inv_std.get_value()
    x = data(5, 3, 5, 4)
    test(x)
    np.testing.assert_array_equal(layer.mean.get_value(), mean)
    np.testing.assert_array_equal(layer.inv_std.get_value(), inv_std)
    train(x)
    assert not np.allclose(layer.mean.get_value(), mean)
    # the inference function reads the updated averages
    want = bn_numpy(x, (0, 2, 3), layer.gamma.get_value(), layer.beta.get_value(), layer.mean.get_value(), layer.inv_std.get_value())
    np.testing.assert_allclose(test(x), want, rtol=1e-4, atol=1e-5)


def test_batch_norm_update_switches():
    layer = _bn_with_values((None, 4))
    var = layer.input_layer.input_var
    mean, inv_std = layer.mean.get_value(), layer.inv_std.get_value()
    x = data(9, 4, scale=2)
    graphc.function([var], get_output(layer, batch_norm_update_averages=False))(x)
    graphc.function([var], get_output(layer), no_default_updates=True)(x)
    np.testing.assert_array_equal(layer.mean.get_value(), mean)
    # stored statistics in the output and the averages updated at once
    out = get_output(layer, batch_norm_use_averages=True, batch_norm_update_averages=True)
    got = graphc.function([var], out)(x)
    np.testing.assert_allclose(got, bn_numpy(x, (0,), layer.gamma.get_value(), layer.beta.get_value(), mean, inv_std), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(layer.mean.get_value(), 0.9 * mean + 0.1 * x.mean(axis=0), rtol=1e-5, atol=1e-6)
    # deterministic=True with an explicit update request
    graphc.function([var], get_output(layer, deterministic=True, batch_norm_update_averages=True))(x)
    np.testing.assert_allclose(layer.mean.get_value(), 0.81 * mean + 0.19 * x.mean(axis=0), rtol=1e-5, atol=1e-6)


def test_batch_norm_inv_std_storage():
    """Storing 1/sqrt(var + eps) of a batch makes inference on that batch equal training on it."""
    layer = BatchNormLayer(InputLayer((None, 3, 5)), axes=(0, 2))
    x = data(8, 3, 5, scale=2.5, shift=-1)
    x64 = x.astype(np.float64)
    layer.mean.set_value(x64.mean(axis=(0, 2)))
    layer.inv_std.set_value(1 / np.sqrt(x64.var(axis=(0, 2)) + EPS))
    train, _ = run(layer, x)
    test, _ = run(layer, x, deterministic=True)
    np.testing.assert_allclose(test, train, rtol=1e-4, atol=1e-5)
    # the variance the layer stands for: 1 / inv_std**2 - epsilon
    np.testing.assert_allclose(1 / layer.inv_std.get_value().astype(np.float64) ** 2 - EPS, x64.var(axis=(0, 2)), rtol=1e-4)


def test_batch_norm_helper():
    dense = DenseLayer(InputLayer((None, 6)), num_units=5, nonlinearity=nonlinearities.tanh, name="d")
    top = batch_norm(dense, alpha=0.2)
    assert [type(lyr).__name__ for lyr in get_all_layers(top)] == ["InputLayer", "DenseLayer", "BatchNormLayer", "NonlinearityLayer"]
    bn = top.input_layer
    assert (bn.name, top.name, bn.alpha) == ("d_bn", "d_bn_nonlin", 0.2)
    assert dense.b is None and dense.nonlinearity is nonlinearities.identity and top.nonlinearity is nonlinearities.tanh
    assert [p.name for p in get_all_params(top)] == ["d.W", "d_bn.beta", "d_bn.gamma", "d_bn.mean", "d_bn.inv_std"]
    x = data(7, 6)
    z = x @ dense.W.get_value()
    check(top, x, np.tanh(bn_numpy(z, (0,), 1.0, 0.0)))
    unnamed = batch_norm(DenseLayer(InputLayer((None, 6)), num_units=5), name="mine")
    assert (unnamed.name, unnamed.input_layer.name) == ("mine_nonlin", "mine")
    plain = batch_norm(BiasLayer(InputLayer((None, 6))))
    assert isinstance(plain, BatchNormLayer) and plain.name is None and plain.input_layer.b is None


# -- StandardizationLayer, instance_norm, layer_norm ---------------------------------------------------------------
def std_numpy(x, axes):
    x64 = x.astype(np.float64)
    return (x64 - x64.mean(axis=axes, keepdims=True)) / np.sqrt(x64.var(axis=axes, keepdims=True) + EPS)


@pytest.mark.parametrize(
    "in_shape, axes, norm_axes",
    [
        ((None, 6), "auto", (1,)),
        ((None, 3, 5, 4), "auto", (2, 3)),
        ((None, 3, 5, 4), "spatial", (2, 3)),
        ((None, 3, 5, 4), "features", (1, 2, 3)),
        ((None, 3, 5), -1, (2,)),
        ((None, 3, 5), (0, 2), (0, 2)),
    ],
)
def test_standardization_layer(in_shape, axes, norm_axes):
    layer = StandardizationLayer(InputLayer(in_shape), axes=axes)
    assert layer.axes == norm_axes and layer.get_params() == []
    x = data(4, *in_shape[1:], scale=2, shift=3)
    check(layer, x, std_numpy(x, norm_axes))
    check(layer, x, std_numpy(x, norm_axes), deterministic=True)


def test_standardization_errors():
    with pytest.raises(ValueError, match=r"StandardizationLayer 's': axes='spatial' leaves no axis to normalize over"):
        StandardizationLayer(InputLayer((None, 6)), axes="spatial", name="s")
    with pytest.raises(ValueError, match=r"StandardizationLayer 's': axes must be an int or a tuple of ints; got 'batch'"):
        StandardizationLayer(InputLayer((None, 6)), axes="batch", name="s")


def test_instance_norm():
    nin = NINLayer(InputLayer((None, 3, 5, 4)), num_units=6, nonlinearity=nonlinearities.rectify, name="c")
    top = instance_norm(nin)
    kinds = [type(lyr) for lyr in get_all_layers(top)][2:]
    assert kinds == [StandardizationLayer, ScaleLayer, BiasLayer, NonlinearityLayer]
    assert [lyr.name for lyr in get_all_layers(top)][2:] == ["c_in", "c_in_scale", "c_in_bias", "c_in_nonlin"]
    assert [p.name for p in get_all_params(top)] == ["c.W", "c_in_scale.scales", "c_in_bias.b"]
    assert top.input_layer.input_layer.input_layer.axes == (2, 3)
    scale, bias = top.input_layer.input_layer, top.input_layer
    scale.scales.set_value(RNG.uniform(0.5, 2, size=6).astype(np.float32))
    bias.b.set_value(data(6))
    x = data(2, 3, 5, 4)
    z = np.einsum("bcij,cu->buij", x, nin.W.get_value())
    want = np.maximum(std_numpy(z, (2, 3)) * scale.scales.get_value()[:, None, None] + bias.b.get_value()[:, None, None], 0)
    check(top, x, want)
    bare = instance_norm(NINLayer(InputLayer((None, 3, 5, 4)), 6, nonlinearity=None), learn_scale=False, learn_bias=False)
    assert isinstance(bare, NonlinearityLayer) and isinstance(bare.input_layer, StandardizationLayer)
    with pytest.raises(ValueError, match="leaves no axis to normalize over"):
        instance_norm(DenseLayer(InputLayer((None, 6)), 4))


def test_layer_norm():
    dense = DenseLayer(InputLayer((None, 6)), num_units=5, nonlinearity=nonlinearities.sigmoid, name="d")
    top = layer_norm(dense)
    assert [lyr.name for lyr in get_all_layers(top)][2:] == ["d_ln", "d_ln_scale", "d_ln_bias", "d_ln_nonlin"]
    assert [p.name for p in get_all_params(top)] == ["d.W", "d_ln_scale.scales", "d_ln_bias.b"]
    x = data(7, 6)
    z = x @ dense.W.get_value()
    check(top, x, 1 / (1 + np.exp(-std_numpy(z, (1,)))))
    conv_like = layer_norm(NINLayer(InputLayer((None, 3, 5, 4)), num_units=6))
    assert conv_like.input_layer.input_layer.input_layer.axes == (1, 2, 3)
    assert conv_like.input_layer.b.get_value().shape == (6,)


# -- LocalResponseNormalization2DLayer --------------------------------------------------------------------------
def lrn_numpy(x, alpha, k, beta, n):
    """The reference equation, one channel window at a time."""
    x64 = x.astype(np.float64)
    out = np.empty_like(x64)
    channels = x.shape[1]
    for c in range(channels):
        lo, hi = max(0, c - n // 2), min(channels, c + n // 2 + 1)
        out[:, c] = x64[:, c] / (k + alpha * (x64[:, lo:hi] ** 2).sum(axis=1)) ** beta
    return out


@pytest.mark.parametrize("n", [5, 3, 1, 9])
@pytest.mark.parametrize("shape", [(None, 7, 3, 4), (2, 7, 3, 4), (None, None, None, None)])
def test_lrn_values(n, shape):
    x = data(2, 7, 3, 4, scale=2)
    layer = LocalResponseNormalization2DLayer(InputLayer(shape), alpha=1.5, k=2, beta=0.75, n=n)
    assert layer.output_shape == shape and layer.get_params() == []
    check(layer, x, lrn_numpy(x, 1.5, 2, 0.75, n))


def test_lrn_float64_and_onnx_lrn_relation():
    var = T.tensor4("x", dtype="float64")
    layer = LocalResponseNormalization2DLayer(InputLayer((None, 6, 3, 5), input_var=var), alpha=0.01, k=1, beta=0.5, n=3)
    x = RNG.normal(size=(2, 6, 3, 5)) * 3
    got = graphc.function([var], get_output(layer))(x)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, lrn_numpy(x, 0.01, 1, 0.5, 3), rtol=1e-12)
    # ONNX's LRN divides alpha by the window size: Lasagne's alpha is ONNX's alpha / n
    node = helper.make_node("LRN", ["x"], ["y"], size=3, alpha=0.01 * 3, beta=0.5, bias=1.0)
    graph = helper.make_graph(
        [node], "lrn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape)], [helper.make_tensor_value_info("y", TensorProto.FLOAT, x.shape)]
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=8)
    (onnx_lrn,) = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x.astype(np.float32)})
    np.testing.assert_allclose(onnx_lrn, got, rtol=1e-5, atol=1e-6)


def test_lrn_errors():
    with pytest.raises(NotImplementedError, match="LocalResponseNormalization2DLayer 'lrn': only odd n"):
        LocalResponseNormalization2DLayer(InputLayer((None, 7, 3, 4)), n=4, name="lrn")
    with pytest.raises(ValueError, match=r"LocalResponseNormalization2DLayer 'lrn' needs a 4-dimensional input"):
        LocalResponseNormalization2DLayer(InputLayer((None, 7, 3)), name="lrn")
    with pytest.raises(ValueError, match="n must be a positive odd int"):
        LocalResponseNormalization2DLayer(InputLayer((None, 7, 3, 4)), n=0)
