"""to_onnx, save and load: checked models, naming, opsets, dynamic dims, atomic files."""

from __future__ import annotations

import os

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx.reference import ReferenceEvaluator

import graphc
import graphc.tensor as T
from graphc.export import load, save, to_onnx


def _net():
    rng = np.random.default_rng(3)
    w = graphc.shared(rng.normal(size=(4, 3)), name="dense.W")
    b = graphc.shared(rng.normal(size=(3,)), name="dense.b")
    x = T.matrix("x")
    y = T.nnet.softmax(T.tanh(T.dot(x, w) + b))
    return x, y, w.get_value(), b.get_value()


def _oracle(xv, w, b):
    z = np.tanh(xv @ w + b)
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


@pytest.mark.parametrize("opset", [17, 18, 19, 20, 21])
def test_every_supported_opset_checks_and_runs(opset):
    x, y, w, b = _net()
    model = to_onnx({"probs": y}, [x], opset=opset)
    onnx.checker.check_model(model, full_check=True)
    assert model.opset_import[0].version == opset
    assert model.ir_version <= 10  # loadable by ONNX Runtime 1.2x-1.3x
    xv = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    expected = _oracle(xv, w, b)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(sess.run(None, {"x": xv})[0], expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ReferenceEvaluator(model).run(None, {"x": xv})[0], expected, rtol=1e-5, atol=1e-6)


def test_ir_version_is_pinned_for_default_opset():
    x, y, *_ = _net()
    assert to_onnx(y, [x]).ir_version == 8


def test_unsupported_opsets_and_params_mode_are_rejected():
    x, y, *_ = _net()
    for bad in (16, 22, "18", None):
        with pytest.raises(ValueError, match=r"opset .* is not supported; graphc exports opsets 17..21"):
            to_onnx(y, [x], opset=bad)
    with pytest.raises(ValueError, match="params must be 'initializers' or 'inputs'"):
        to_onnx(y, [x], params="weights")


def test_names_dynamic_dims_and_initializers():
    x, y, w, b = _net()
    model = to_onnx({"probs": y}, [x])
    g = model.graph
    assert [i.name for i in g.input] == ["x"]
    assert [o.name for o in g.output] == ["probs"]
    dims = g.input[0].type.tensor_type.shape.dim
    # the batch stays dynamic; the width is fixed by the weights it multiplies (x @ W)
    assert dims[0].dim_param == "x_dim0" and dims[1].dim_value == w.shape[0]
    out_dims = g.output[0].type.tensor_type.shape.dim
    assert out_dims[0].dim_param == "x_dim0" and out_dims[1].dim_value == 3
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in g.initializer}
    np.testing.assert_array_equal(inits["dense.W"], w)
    np.testing.assert_array_equal(inits["dense.b"], b)


def test_params_as_inputs():
    x, y, w, b = _net()
    model = to_onnx(y, [x], params="inputs")
    names = [i.name for i in model.graph.input]
    assert names == ["x", "dense.W", "dense.b"]
    xv = np.ones((2, 4), np.float32)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    out = sess.run(None, {"x": xv, "dense.W": w, "dense.b": b})[0]
    np.testing.assert_allclose(out, _oracle(xv, w, b), rtol=1e-5)


def test_output_naming_and_inferred_inputs():
    a, b = T.vector("a"), T.vector("b")
    m = to_onnx([a + b, a * b, a])  # inputs inferred in first-use order; unnamed outputs numbered
    assert [i.name for i in m.graph.input] == ["a", "b"]
    # an output named like an input gets a suffix: ONNX names are unique within a graph
    assert [o.name for o in m.graph.output] == ["output_0", "output_1", "a__1"]
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    av, bv = np.arange(3, dtype=np.float32), np.full(3, 2, np.float32)
    r = sess.run(None, {"a": av, "b": bv})
    np.testing.assert_allclose(r[0], av + bv)
    np.testing.assert_allclose(r[1], av * bv)
    np.testing.assert_allclose(r[2], av)
    same = to_onnx({"s": a + b, "t": a + b})
    assert [o.name for o in same.graph.output] == ["s", "t"]


def test_missing_input_is_reported():
    a, b = T.vector("a"), T.vector("b")
    with pytest.raises(graphc.MissingInputError, match="depends on the input <b"):
        to_onnx(a + b, [a])


def test_provenance_names_onnx_nodes():
    from graphc.tensor.variable import provenance

    x = T.matrix("x")
    with provenance("dense1"):
        y = T.tanh(x * 2)
    model = to_onnx(y, [x])
    assert any(n.name.startswith("dense1/") for n in model.graph.node)


def test_save_load_round_trip_is_atomic(tmp_path):
    x, y, *_ = _net()
    model = to_onnx(y, [x])
    path = tmp_path / "m.onnx"
    save(model, path)
    back = load(path)
    assert back.SerializeToString() == model.SerializeToString()
    # overwriting keeps no temporary files around
    save(model, path)
    assert sorted(os.listdir(tmp_path)) == ["m.onnx"]


def test_failed_save_leaves_previous_file_intact(tmp_path, monkeypatch):
    x, y, *_ = _net()
    model = to_onnx(y, [x])
    path = tmp_path / "m.onnx"
    save(model, path)
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(OSError, match="disk full"):
        save(to_onnx(y * 2, [x]), path)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["m.onnx"]
    with pytest.raises(TypeError, match="needs an onnx.ModelProto"):
        save(b"bytes", path)
    with pytest.raises(FileNotFoundError, match="folder .* does not exist"):
        save(model, tmp_path / "nope" / "m.onnx")


def test_load_rejects_missing_and_non_onnx_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="no ONNX model at"):
        load(tmp_path / "absent.onnx")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x00\xffnot a model at all")
    with pytest.raises(ValueError, match="is not an ONNX model"):
        load(junk)
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match="is not an ONNX model"):
        load(empty)


def test_output_layers_export_deterministically_with_dynamic_batch():
    from graphc.layers import DenseLayer, InputLayer

    l_in = InputLayer((None, 5), name="features")
    hidden = DenseLayer(l_in, 4, name="hidden")
    out = DenseLayer(hidden, 3, nonlinearity=T.nnet.softmax, name="probs")
    model = to_onnx(out)
    onnx.checker.check_model(model, full_check=True)
    assert [i.name for i in model.graph.input] == ["features"]
    assert [o.name for o in model.graph.output] == ["probs"]
    W1, b1, W2, b2 = graphc.layers.get_all_param_values(out)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    for n in (1, 6):
        xv = np.random.default_rng(n).normal(size=(n, 5)).astype(np.float32)
        z = np.maximum(xv @ W1 + b1, 0) @ W2 + b2
        e = np.exp(z - z.max(1, keepdims=True))
        np.testing.assert_allclose(sess.run(None, {"features": xv})[0], e / e.sum(1, keepdims=True), rtol=1e-5)
    both = to_onnx([hidden, out])
    assert [o.name for o in both.graph.output] == ["hidden", "probs"]
    with pytest.raises(TypeError, match="not a mix"):
        to_onnx([out, T.matrix("m")])


def test_model_inputs_take_the_input_layers_names():
    """Lasagne names the default variable ``x.input``; the model's input is ``x``, and an explicit variable keeps its name."""
    from graphc.layers import ConcatLayer, DenseLayer, InputLayer

    named = InputLayer((None, 3), name="x")
    explicit = InputLayer((None, 2), input_var=T.matrix("aux"), name="side")
    anonymous = InputLayer((None, 4))
    assert named.input_var.name == "x.input" and anonymous.input_var.name == "input"
    out = DenseLayer(ConcatLayer([named, explicit, anonymous]), 5, name="out")
    model = to_onnx(out)
    assert [i.name for i in model.graph.input] == ["x", "aux", "input"]
    feeds = {"x": np.ones((2, 3), np.float32), "aux": np.ones((2, 2), np.float32), "input": np.ones((2, 4), np.float32)}
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    fn = graphc.function([named.input_var, explicit.input_var, anonymous.input_var], graphc.layers.get_output(out))
    np.testing.assert_allclose(sess.run(None, feeds)[0], fn(*feeds.values()), rtol=1e-6)
