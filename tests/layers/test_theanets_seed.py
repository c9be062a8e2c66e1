"""The program of ../shared/seeds/theanets-layers.txt, run with imports changed to graphc."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx.reference import ReferenceEvaluator

import graphc.tensor as TT
from graphc import theanets


# -- the seed, verbatim but for the imports ----------------------------------------------------------
class NoBias(theanets.Layer):
    def transform(self, inputs):
        return TT.dot(inputs, self.find('w'))

    def setup(self):
        self.add_weights('w', nin=self.input_size, nout=self.output_size)


layer = theanets.Layer.build('nobias', size=4)

net = theanets.Autoencoder(
    layers=(4, (3, 'nobias', 'linear'), (4, 'tied', 'linear')),
)
# -- end of the seed ----------------------------------------------------------------------------------


def test_custom_layer_is_registered_and_built():
    assert isinstance(layer, NoBias) and layer.size == 4 and layer.output_size == 4
    assert theanets.Layer.is_registered("NoBias")


def test_autoencoder_structure():
    assert [type(lyr).__name__ for lyr in net.layers] == ["Input", "NoBias", "Tied"]
    assert [lyr.name for lyr in net.layers] == ["in", "hid1", "out"]
    assert net.layers[2].partner is net.layers[1]
    assert [(p.name, p.type.shape) for p in net.params] == [("hid1.w", (4, 3)), ("out.b", (4,))]
    assert [lyr.activation for lyr in net.layers[1:]] == ["linear", "linear"]


@pytest.mark.parametrize("batch", [1, 6])
def test_autoencoder_predicts_x_w_wt_plus_b(batch):
    x = np.random.default_rng(batch).normal(size=(batch, 4)).astype("f")
    w = net.find("hid1", "w").get_value()
    b = net.find("out", "b").get_value()
    np.testing.assert_allclose(net.predict(x), x @ w @ w.T + b, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(net.encode(x), x @ w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(net.decode(x @ w), x @ w @ w.T + b, rtol=1e-5, atol=1e-5)


def test_autoencoder_exports_to_onnx(tmp_path):
    path = tmp_path / "pca.onnx"
    net.export(path)
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    assert [i.name for i in model.graph.input] == ["in"]
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param  # dynamic batch
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    ref = ReferenceEvaluator(model)
    w = net.find("hid1", "w").get_value()
    b = net.find("out", "b").get_value()
    for batch in (2, 11):
        x = np.random.default_rng(batch).normal(size=(batch, 4)).astype("f")
        (got,) = session.run(None, {"in": x})
        assert got.shape == (batch, 4)
        np.testing.assert_allclose(got, x @ w @ w.T + b, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(ref.run(None, {"in": x})[0], got, rtol=1e-5, atol=1e-6)


def test_autoencoder_save_load_round_trip(tmp_path):
    path = tmp_path / "pca.npz"
    net.save(path)
    with np.load(path, allow_pickle=False) as raw:
        assert sorted(raw.files) == ["__graphc_model__", "hid1.w", "out.b"]
    loaded = theanets.Network.load(path)
    assert isinstance(loaded, theanets.Autoencoder) and isinstance(loaded.layers[1], NoBias)
    x = np.random.default_rng(0).normal(size=(5, 4)).astype("f")
    np.testing.assert_array_equal(loaded.predict(x), net.predict(x))
