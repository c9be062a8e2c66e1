"""NonlinearityLayer, BiasLayer, ScaleLayer, standardize, ExpressionLayer, PReLU and RReLU against numpy."""

from __future__ import annotations

import numpy as np
import pytest
from onnx.reference import ReferenceEvaluator

import graphc
import graphc.tensor as T
from graphc import nonlinearities
from graphc.export import to_onnx
from graphc.layers import (
    BiasLayer,
    DenseLayer,
    ExpressionLayer,
    InputLayer,
    NonlinearityLayer,
    ParametricRectifierLayer,
    RandomizedRectifierLayer,
    ScaleLayer,
    count_params,
    get_all_params,
    get_output,
    prelu,
    rrelu,
    standardize,
)

RNG = np.random.default_rng(7)
SHAPE = (2, 3, 5, 4)  # batch, channels, rows, cols: every size different


def run(layer, x, **kwargs):
    """``layer``'s output for ``x`` by ONNX Runtime (graphc.function) and by onnx.reference."""
    l_in = layer
    while not isinstance(l_in, InputLayer):
        l_in = l_in.input_layer
    out = get_output(layer, **kwargs)
    got = graphc.function([l_in.input_var], out)(x)
    model = to_onnx({"y": out}, [l_in.input_var])
    ref = ReferenceEvaluator(model).run(None, {model.graph.input[0].name: x})[0]
    shape = layer.output_shape
    assert len(shape) == got.ndim and all(s is None or s == g for s, g in zip(shape, got.shape)), (shape, got.shape)
    return got, ref


def check(layer, x, want, rtol=1e-5, atol=1e-6, **kwargs):
    got, ref = run(layer, x, **kwargs)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg="onnxruntime")
    np.testing.assert_allclose(ref, want, rtol=rtol, atol=atol, err_msg="onnx.reference")


def data(*shape):
    return RNG.normal(size=shape).astype(np.float32)


def tags(layer):
    return {p.name: layer.params[p] for p in layer.params}


# -- NonlinearityLayer -------------------------------------------------------------------------------
def test_nonlinearity_layer():
    x = data(*SHAPE)
    layer = NonlinearityLayer(InputLayer((None, 3, 5, 4)), nonlinearity=nonlinearities.tanh, name="nl")
    check(layer, x, np.tanh(x))
    assert layer.output_shape == (None, 3, 5, 4) and layer.get_params() == []
    check(NonlinearityLayer(InputLayer((None, 3, 5, 4))), x, np.maximum(x, 0))  # rectify by default
    check(NonlinearityLayer(InputLayer((None, 3, 5, 4)), nonlinearity=None), x, x)
    # taken as given (Lasagne's batch_norm moves any object); refused when the output is built
    lazy = NonlinearityLayer((None, 3), nonlinearity="tanh", name="n")
    with pytest.raises(TypeError, match="NonlinearityLayer 'n': nonlinearity must be callable"):
        lazy.get_output_for(T.matrix())


# -- BiasLayer / ScaleLayer ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "shared_axes, param_shape, expand",
    [
        ("auto", (3,), (0, 2, 3)),
        ((0, 2), (3, 4), (0, 2)),
        (0, (3, 5, 4), (0,)),
        ((-1, 0, -2), (3,), (0, 2, 3)),
    ],
)
def test_bias_and_scale_shared_axes(shared_axes, param_shape, expand):
    x = data(*SHAPE)
    l_in = InputLayer((None, 3, 5, 4))
    bias = BiasLayer(l_in, b=data(*param_shape), shared_axes=shared_axes, name="bias")
    scale = ScaleLayer(l_in, scales=data(*param_shape), shared_axes=shared_axes, name="scale")
    assert bias.b.get_value().shape == param_shape and scale.scales.get_value().shape == param_shape
    assert bias.shared_axes == scale.shared_axes and set(bias.shared_axes) == set(expand)
    b = np.expand_dims(bias.b.get_value(), expand)
    s = np.expand_dims(scale.scales.get_value(), expand)
    check(bias, x, x + b)
    check(scale, x, x * s)
    assert tags(bias) == {"bias.b": {"trainable"}}
    assert tags(scale) == {"scale.scales": {"trainable"}}
    assert count_params(bias) == count_params(scale) == int(np.prod(param_shape))


def test_bias_defaults_and_none():
    x = data(4, 6)
    layer = BiasLayer(InputLayer((None, 6)))
    np.testing.assert_array_equal(layer.b.get_value(), np.zeros(6, np.float32))
    assert layer.b.name == "b" and layer.get_params(regularizable=True) == []
    check(layer, x, x)
    nobias = BiasLayer(InputLayer((None, 6)), b=None)
    assert nobias.b is None and nobias.get_params() == []
    check(nobias, x, x)
    np.testing.assert_array_equal(ScaleLayer(InputLayer((None, 6))).scales.get_value(), np.ones(6, np.float32))


@pytest.mark.parametrize("cls", [BiasLayer, ScaleLayer, ParametricRectifierLayer])
def test_shared_axes_errors(cls):
    l_in = InputLayer((None, 3, 5))
    with pytest.raises(ValueError, match=rf"{cls.__name__} 'p': shared_axes \(0, 3\) names axis 3, but the input has 3 dimensions"):
        cls(l_in, shared_axes=(0, 3), name="p")
    with pytest.raises(ValueError, match=rf"{cls.__name__} 'p': shared_axes \(1, -2\) repeats an axis"):
        cls(l_in, shared_axes=(1, -2), name="p")
    with pytest.raises(ValueError, match=rf"{cls.__name__} 'p': shared_axes must be"):
        cls(l_in, shared_axes="none", name="p")
    with pytest.raises(ValueError, match=rf"{cls.__name__} 'p' needs specified input sizes for all axes"):
        cls(l_in, shared_axes=(1,), name="p")  # axis 0 (None) not shared
    with pytest.raises(ValueError, match=rf"{cls.__name__} 'p': cannot initialize parameter 'p\.\w+': the provided numpy array has shape \(5,\), should be \(3,\)"):
        cls(l_in, np.ones(5, np.float32), name="p")


def test_standardize():
    x = data(6, 4, 5)
    offset = RNG.normal(size=(4, 5)).astype(np.float32)
    scale = RNG.uniform(0.5, 2.0, size=(4, 5)).astype(np.float32)
    layer = standardize(InputLayer((None, 4, 5)), offset, scale, shared_axes=0)
    assert isinstance(layer, ScaleLayer) and isinstance(layer.input_layer, BiasLayer)
    check(layer, x, (x - offset) / scale, rtol=1e-5, atol=1e-5)
    bias = layer.input_layer
    assert bias.params[bias.b] == set() and layer.params[layer.scales] == set()
    assert get_all_params(layer, trainable=True) == []
    # shared statistics stay shared: changing them changes the output
    off = graphc.shared(offset, name="off")
    sc = graphc.shared(scale, name="sc")
    layer = standardize(InputLayer((None, 4, 5)), off, sc, shared_axes=0)
    assert {p.name for p in get_all_params(layer)} == {"off", "sc"}
    off.set_value(offset + 1)
    check(layer, x, (x - offset - 1) / scale, rtol=1e-5, atol=1e-5)


# -- ExpressionLayer -------------------------------------------------------------------------------------
def test_expression_layer_output_shapes():
    x = data(2, 5, 4)
    l_in = InputLayer((None, 5, 4))
    same = ExpressionLayer(l_in, lambda X: X * 2)
    assert same.output_shape == (None, 5, 4)
    check(same, x, x * 2)
    auto = ExpressionLayer(l_in, lambda X: X.mean(-1), output_shape="auto")
    assert auto.output_shape == (None, 5)
    check(auto, x, x.mean(-1))
    flat = ExpressionLayer(l_in, lambda X: X.reshape((X.shape[0], -1)), output_shape="auto")
    assert flat.output_shape == (None, 20)
    check(flat, x, x.reshape(2, 20))
    assert ExpressionLayer(InputLayer((3, 5, 4)), lambda X: X[:, 1:].sum(0), output_shape="auto").output_shape == (4, 4)
    fixed = ExpressionLayer(l_in, lambda X: X.dimshuffle(0, 2, 1), output_shape=(None, 4, 5))
    assert fixed.output_shape == (None, 4, 5)
    check(fixed, x, x.transpose(0, 2, 1))
    call = ExpressionLayer(l_in, lambda X: X[:, :, :2], output_shape=lambda s: s[:2] + (2,))
    assert call.output_shape == (None, 5, 2)
    assert graphc.layers.get_output_shape(call, (7, 5, 4)) == (7, 5, 2)
    check(call, x, x[:, :, :2])
    with pytest.raises(ValueError, match="ExpressionLayer 'e': output_shape must be None, a tuple, a callable or 'auto'"):
        ExpressionLayer(l_in, abs, output_shape="same", name="e")
    with pytest.raises(TypeError, match="ExpressionLayer 'e': function must be callable"):
        ExpressionLayer(l_in, None, name="e")


# -- ParametricRectifierLayer ------------------------------------------------------------------------------
@pytest.mark.parametrize("shared_axes, param_shape, expand", [("auto", (3,), (0, 2, 3)), ("all", (), (0, 1, 2, 3)), ((0, 3), (3, 5), (0, 3))])
def test_prelu_values(shared_axes, param_shape, expand):
    x = data(*SHAPE)
    alpha = RNG.uniform(0.05, 0.9, size=param_shape).astype(np.float32)
    layer = ParametricRectifierLayer(InputLayer((None, 3, 5, 4)), alpha=alpha, shared_axes=shared_axes, name="pr")
    a = np.expand_dims(alpha, expand)
    check(layer, x, np.maximum(x, 0) + a * np.minimum(x, 0))
    assert layer.alpha.get_value().shape == param_shape
    assert tags(layer) == {"pr.alpha": {"trainable"}}


def test_prelu_default_and_helper():
    dense = DenseLayer(InputLayer((None, 6)), num_units=4, nonlinearity=nonlinearities.tanh, name="d")
    layer = prelu(dense, name="p")
    assert dense.nonlinearity is nonlinearities.identity
    np.testing.assert_allclose(layer.alpha.get_value(), np.full(4, 0.25, np.float32))
    x = data(5, 6)
    z = x @ dense.W.get_value() + dense.b.get_value()
    check(layer, x, np.where(z > 0, z, 0.25 * z), atol=1e-5)
    assert [p.name for p in get_all_params(layer)] == ["d.W", "d.b", "p.alpha"]


# -- RandomizedRectifierLayer -----------------------------------------------------------------------------------
def test_rrelu_deterministic_uses_mean_slope():
    x = data(*SHAPE)
    layer = RandomizedRectifierLayer(InputLayer((None, 3, 5, 4)), lower=0.2, upper=0.6)
    check(layer, x, np.where(x > 0, x, 0.4 * x), deterministic=True)
    assert layer.get_params() == []
    fixed = RandomizedRectifierLayer(InputLayer((None, 3, 5, 4)), lower=0.3, upper=0.3)
    check(fixed, x, np.where(x > 0, x, 0.3 * x))  # lower == upper: no sampling even in training


@pytest.mark.parametrize("shared_axes, varying", [("auto", (1,)), ("all", ()), ((0, 2), (1, 3))])
def test_rrelu_training_slopes(shared_axes, varying):
    x = -RNG.uniform(0.5, 2.0, size=(6, 3, 5, 4)).astype(np.float32)
    x[0, 0, 0, 0] = 1.5  # positive inputs pass unchanged
    layer = RandomizedRectifierLayer(InputLayer((None, 3, 5, 4)), lower=0.2, upper=0.7, shared_axes=shared_axes)
    for out in run(layer, x):
        assert out[0, 0, 0, 0] == pytest.approx(1.5)
        slopes = (out / x)[1:]
        assert slopes.min() >= 0.2 - 1e-6 and slopes.max() <= 0.7 + 1e-6
        shared = tuple(a for a in range(4) if a not in varying)
        np.testing.assert_allclose(slopes, np.broadcast_to(slopes.mean(axis=shared, keepdims=True), slopes.shape), rtol=1e-5)
        if varying:
            assert len(np.unique(np.round(slopes, 5))) > 1


def test_rrelu_errors_and_helper():
    with pytest.raises(ValueError, match=r"RandomizedRectifierLayer 'r': the upper bound \(0.2\) needs to be at least the lower bound \(0.5\)"):
        RandomizedRectifierLayer((None, 3), lower=0.5, upper=0.2, name="r")
    dense = DenseLayer(InputLayer((None, 6)), num_units=4)
    layer = rrelu(dense)
    assert isinstance(layer, RandomizedRectifierLayer) and dense.nonlinearity is nonlinearities.identity
    assert layer.output_shape == (None, 4)


def test_symbolic_rrelu_bounds():
    lo = T.scalar("lo")
    layer = RandomizedRectifierLayer(InputLayer((None, 5)), lower=lo, upper=0.8)
    l_in = layer.input_layer
    out = get_output(layer)
    x = -np.ones((40, 5), np.float32)
    got = graphc.function([l_in.input_var, lo], out)(x, np.float32(0.5))
    assert got.min() >= -0.8 - 1e-6 and got.max() <= -0.5 + 1e-6
