"""theanets Conv1, Conv2, Pool1, Pool2 (channels last) against numpy implementations."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import graphc
from graphc import theanets
from graphc.theanets.layers import ConfigurationError, Conv1, Conv2, Input, Pool1, Pool2


def chain(*layers):
    for i, layer in enumerate(layers):
        layer.bind(layers[:i])
    return layers


def run(layers, x):
    outputs = {}
    for layer in layers:
        outputs.update(layer.connect(outputs)[0])
    names = sorted(outputs)
    values = graphc.function([layers[0].input], [outputs[n] for n in names])(x)
    return dict(zip(names, values))


def _pads(mode, k):
    return {"valid": (0, 0), "full": (k - 1, k - 1), "half": (k // 2, k // 2), "same": ((k - 1) // 2, k - 1 - (k - 1) // 2)}[mode]


def conv2_numpy(x, w, b, stride, mode):
    """Theano convolution (flipped kernels) of (B, W, H, C) images by (n, C, fw, fh) filters."""
    n, c, fw, fh = w.shape
    (pw0, pw1), (ph0, ph1) = _pads(mode, fw), _pads(mode, fh)
    xp = np.pad(x, [(0, 0), (pw0, pw1), (ph0, ph1), (0, 0)])
    wf = w[:, :, ::-1, ::-1]
    ow = (xp.shape[1] - fw) // stride[0] + 1
    oh = (xp.shape[2] - fh) // stride[1] + 1
    out = np.zeros((x.shape[0], ow, oh, n))
    for i in range(ow):
        for j in range(oh):
            patch = xp[:, i * stride[0] : i * stride[0] + fw, j * stride[1] : j * stride[1] + fh, :]
            out[:, i, j, :] = np.einsum("buvc,ocuv->bo", patch, wf)
    return out + b


def pool_numpy(x, size, stride, reduce):
    """Pool the middle axes of channels-last data with windows that fit."""
    spatial = x.shape[1:-1]
    counts = [(s - k) // st + 1 for s, k, st in zip(spatial, size, stride)]
    out = np.zeros((x.shape[0],) + tuple(counts) + (x.shape[-1],))
    for idx in np.ndindex(*counts):
        window = tuple(slice(i * st, i * st + k) for i, k, st in zip(idx, size, stride))
        block = x[(slice(None),) + window + (slice(None),)]
        out[(slice(None),) + idx + (slice(None),)] = reduce(block.reshape(x.shape[0], -1, x.shape[-1]), axis=1)
    return out


@pytest.mark.parametrize("mode, stride", [("valid", 1), ("full", 1), ("same", 2), ("half", 1), ("same", 1)])
def test_conv1_values(mode, stride):
    inp, conv = chain(Input(size=3, ndim=3), Conv1(filter_size=4, stride=stride, border_mode=mode, inputs="in", size=5,
                                                   name="c", activation="tanh", rng=2))
    assert [(p.name, p.type.shape) for p in conv.params] == [("c.w", (5, 3, 1, 4)), ("c.b", (5,))]
    assert conv.num_params == (1 + 4 * 3) * 5
    x = np.random.default_rng(0).normal(size=(2, 11, 3)).astype("f")
    out = run([inp, conv], x)
    w, b = conv.find("w").get_value(), conv.find("b").get_value()
    # a 1-d convolution is a 2-d one over (time, 1)
    want = conv2_numpy(x[:, :, None, :], w.transpose(0, 1, 3, 2), b, (stride, 1), mode)[:, :, 0, :]
    if mode == "valid":
        assert want.shape[1] == 11 - 4 + 1
    if mode == "same" and stride == 1:
        assert want.shape[1] == 11
    np.testing.assert_allclose(out["c:pre"], want, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(out["c:out"], np.tanh(want), rtol=1e-4, atol=1e-5)
    assert conv.output_shape == (None, 5)


@pytest.mark.parametrize("mode, stride", [("valid", (1, 1)), ("full", (2, 1)), ("same", (1, 2)), ("half", (1, 1))])
def test_conv2_values(mode, stride):
    inp, conv = chain(Input(shape=(7, 6, 3)), Conv2(filter_size=(3, 2), stride=stride, border_mode=mode, inputs="in",
                                                    size=4, name="c", rng=3))
    assert [(p.name, p.type.shape) for p in conv.params] == [("c.w", (4, 3, 3, 2)), ("c.b", (4,))]
    x = np.random.default_rng(1).normal(size=(2, 7, 6, 3)).astype("f")
    out = run([inp, conv], x)
    want = conv2_numpy(x, conv.find("w").get_value(), conv.find("b").get_value(), stride, mode)
    assert conv.output_shape == want.shape[1:]
    np.testing.assert_allclose(out["c:pre"], want, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(out["c:out"], np.maximum(want, 0), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("mode, reduce", [("max", np.max), ("average_exc_pad", np.mean), ("mean", np.mean), ("sum", np.sum)])
def test_pool2_values(mode, reduce):
    inp, pool = chain(Input(shape=(7, 6, 3)), Pool2(pool_size=(3, 2), stride=(2, 2), mode=mode, inputs="in", name="p",
                                                    activation="linear"))
    assert pool.size == 3 and pool.params == []
    x = np.random.default_rng(2).normal(size=(2, 7, 6, 3)).astype("f")
    want = pool_numpy(x, (3, 2), (2, 2), reduce)
    assert pool.output_shape == want.shape[1:] == (3, 3, 3)
    np.testing.assert_allclose(run([inp, pool], x)["p:out"], want, rtol=1e-5, atol=1e-5)


def test_pool1_values():
    inp, pool = chain(Input(size=4, ndim=3), Pool1(pool_size=3, inputs="in", name="p", activation="relu"))
    x = np.random.default_rng(3).normal(size=(2, 10, 4)).astype("f")
    out = run([inp, pool], x)
    want = pool_numpy(x, (3,), (3,), np.max)
    assert want.shape == (2, 3, 4)
    np.testing.assert_allclose(out["p:pre"], want, rtol=1e-6)
    np.testing.assert_allclose(out["p:out"], np.maximum(want, 0), rtol=1e-6)


def test_conv_errors():
    with pytest.raises(ConfigurationError, match="needs a filter_size"):
        Conv2(inputs="in", size=3, name="c")
    with pytest.raises(ConfigurationError, match="border_mode must be one of"):
        Conv2(filter_size=2, border_mode="wrap", inputs="in", size=3, name="c")
    inp = Input(size=3)
    with pytest.raises(ConfigurationError, match="layer 'c': Conv2 needs inputs of 4 axes"):
        Conv2(filter_size=2, inputs="in", size=3, name="c").bind([inp])
    img = Input(shape=(4, 4, 2))
    with pytest.raises(ConfigurationError, match="does not fit"):
        Conv2(filter_size=5, inputs="in", size=3, name="c").bind([img])
    with pytest.raises(ConfigurationError, match="mode must be one of"):
        Pool2(pool_size=2, mode="median", inputs="in", name="p")


def test_conv_network_save_load_and_export(tmp_path):
    net = theanets.Classifier([(8, 6, 2), dict(form="conv2", size=3, filter_size=(3, 2)), dict(form="pool2", pool_size=2),
                               dict(form="conv2", size=4, filter_size=2, border_mode="same", stride=2), "flat", 5])
    assert [lyr.output_shape for lyr in net.layers] == [(8, 6, 2), (6, 5, 3), (3, 2, 3), (2, 1, 4), (8,), (5,)]
    x = np.random.default_rng(4).normal(size=(3, 8, 6, 2)).astype("f")
    proba = net.predict_proba(x)
    assert proba.shape == (3, 5)
    # upstream's to_spec leaves out what a convolution takes by name; the model file keeps it
    assert net.layers[3].to_spec() == dict(form="conv2", name="hid3", size=4, inputs=("hid2:out",), activation="relu",
                                           rng=13)
    net.save(tmp_path / "cnn.npz")
    loaded = theanets.Network.load(tmp_path / "cnn.npz")
    np.testing.assert_array_equal(loaded.predict_proba(x), proba)
    assert (loaded.layers[3].filter_size, loaded.layers[3].stride, loaded.layers[3].border_mode) == ((2, 2), (2, 2), "same")
    model = net.export(tmp_path / "cnn.onnx")
    onnx.checker.check_model(model, full_check=True)
    session = ort.InferenceSession(str(tmp_path / "cnn.onnx"), providers=["CPUExecutionProvider"])
    for n in (1, 4):
        data = np.random.default_rng(n).normal(size=(n, 8, 6, 2)).astype("f")
        np.testing.assert_allclose(session.run(None, {"in": data})[0], net.predict_proba(data), rtol=1e-5, atol=1e-6)


def test_conv1_in_a_sequence_model():
    net = theanets.Regressor([dict(size=3, ndim=3), dict(form="conv1", size=4, filter_size=3), dict(form="pool1", pool_size=2), 2])
    x = np.random.default_rng(5).normal(size=(2, 9, 3)).astype("f")
    assert net.predict(x).shape == (2, 3, 2)
