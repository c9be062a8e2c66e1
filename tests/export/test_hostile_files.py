"""Hostile and broken files: every loader refuses them with a clear message, and nothing crashes."""

from __future__ import annotations

import os

import numpy as np
import onnx
import pytest
from onnx import TensorProto, numpy_helper

import graphc
import graphc.tensor as T
from graphc import theanets
from graphc.cli import main
from graphc.export import load, save, to_onnx
from graphc.export.safety import MAX_ELEMENTS


def _model(tmp_path):
    w = graphc.shared(np.arange(12, dtype=np.float32).reshape(4, 3), name="W")
    x = T.tensor("float32", shape=(None, 4), name="x")
    model = to_onnx({"y": T.dot(x, w)}, [x])
    return model


def _external(model, location, offset=0, length=None):
    """The model with its weight W stored externally at ``location``."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    t = next(t for t in m.graph.initializer if t.name == "W")
    t.ClearField("raw_data")
    t.ClearField("float_data")
    t.data_location = TensorProto.EXTERNAL
    entries = [("location", location), ("offset", str(offset))] + ([("length", str(length))] if length is not None else [])
    for k, v in entries:
        e = t.external_data.add()
        e.key, e.value = k, v
    return m


def _write(path, model):
    path.write_bytes(model.SerializeToString())
    return path


def _refused(path, match, cli=True, capsys=None):
    with pytest.raises(ValueError, match=match):
        load(path)
    if cli:
        for cmd in (["info"], ["check"], ["run"], ["bench", "--runs", "1"]):
            assert main([cmd[0], str(path), *cmd[1:]]) == 1
        if capsys is not None:
            err = capsys.readouterr().err
            assert err.count("error:") == 4 and "Traceback" not in err


def test_external_data_inside_the_folder_loads_and_runs(tmp_path):
    model = _model(tmp_path)
    weights = np.arange(12, dtype=np.float32).reshape(4, 3)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "w.bin").write_bytes(b"junk" + weights.tobytes())
    path = _write(tmp_path / "m.onnx", _external(model, "data/w.bin", offset=4, length=48))
    loaded = load(path)
    np.testing.assert_array_equal(numpy_helper.to_array(next(t for t in loaded.graph.initializer if t.name == "W")), weights)
    x = np.ones((2, 4), np.float32)
    np.save(tmp_path / "x.npy", x)
    assert main(["run", str(path), "--input", f"x={tmp_path / 'x.npy'}", "-o", str(tmp_path / "o.npz")]) == 0
    with np.load(tmp_path / "o.npz") as out:
        np.testing.assert_allclose(out["y"], x @ weights)


@pytest.mark.parametrize(
    ("location", "match"),
    [
        ("../secret.bin", "points outside the model's folder"),
        ("/etc/passwd", "points outside the model's folder"),
        ("sub/../../secret.bin", "points outside the model's folder"),
        ("absent.bin", "does not exist"),
    ],
)
def test_external_data_outside_the_folder_is_refused(tmp_path, capsys, location, match):
    folder = tmp_path / "models"
    folder.mkdir()
    (tmp_path / "secret.bin").write_bytes(b"\0" * 48)
    path = _write(folder / "m.onnx", _external(_model(tmp_path), location, length=48))
    _refused(path, match, capsys=capsys)


def test_a_link_out_of_the_folder_and_a_range_past_the_end_are_refused(tmp_path, capsys):
    folder = tmp_path / "models"
    folder.mkdir()
    (tmp_path / "secret.bin").write_bytes(b"\0" * 48)
    os.symlink(tmp_path / "secret.bin", folder / "w.bin")
    _refused(_write(folder / "m.onnx", _external(_model(tmp_path), "w.bin", length=48)), "symbolic link", capsys=capsys)
    (folder / "short.bin").write_bytes(b"\0" * 10)
    _refused(_write(folder / "m2.onnx", _external(_model(tmp_path), "short.bin", length=48)), "past the end", capsys=capsys)


def test_absurd_sizes_are_refused(tmp_path, capsys):
    model = _model(tmp_path)
    big = onnx.ModelProto()
    big.CopyFrom(model)
    t = next(t for t in big.graph.initializer if t.name == "W")
    del t.dims[:]
    t.dims.extend([MAX_ELEMENTS, 4])
    _refused(_write(tmp_path / "big.onnx", big), "over the limit", capsys=capsys)
    neg = onnx.ModelProto()
    neg.CopyFrom(model)
    t = next(t for t in neg.graph.initializer if t.name == "W")
    del t.dims[:]
    t.dims.extend([-4, 3])
    _refused(_write(tmp_path / "neg.onnx", neg), "negative dimension", capsys=capsys)
    short = onnx.ModelProto()
    short.CopyFrom(model)
    t = next(t for t in short.graph.initializer if t.name == "W")
    t.raw_data = t.raw_data[:-4]
    _refused(_write(tmp_path / "short.onnx", short), "holds 44 bytes for dims", capsys=capsys)
    wide = onnx.ModelProto()
    wide.CopyFrom(model)
    wide.graph.input[0].type.tensor_type.shape.dim[1].dim_value = 1 << 50
    _refused(_write(tmp_path / "wide.onnx", wide), "absurd size", capsys=capsys)


def test_truncated_and_non_onnx_files_are_refused(tmp_path, capsys):
    data = _model(tmp_path).SerializeToString()
    for k, cut in enumerate([len(data) // 2, len(data) - 7, 3]):
        path = tmp_path / f"cut{k}.onnx"
        path.write_bytes(data[:cut])
        with pytest.raises(ValueError, match=f"{path}"):
            load(path)
        assert main(["run", str(path)]) == 1
    (tmp_path / "empty.onnx").write_bytes(b"")
    (tmp_path / "text.onnx").write_text("not a model at all\n" * 10)
    (tmp_path / "noise.onnx").write_bytes(np.random.default_rng(0).bytes(4096))
    for name in ("empty.onnx", "text.onnx", "noise.onnx"):
        with pytest.raises(ValueError, match="is not an ONNX model"):
            load(tmp_path / name)
        assert main(["check", str(tmp_path / name)]) == 1
    assert "Traceback" not in capsys.readouterr().err


def test_unsupported_versions_are_refused(tmp_path, capsys):
    model = _model(tmp_path)
    future = onnx.ModelProto()
    future.CopyFrom(model)
    future.opset_import[0].version = onnx.defs.onnx_opset_version() + 5
    _refused(_write(tmp_path / "future.onnx", future), "opset .* is not supported", capsys=capsys)
    ancient = onnx.ModelProto()
    ancient.CopyFrom(model)
    ancient.opset_import[0].version = 1
    _refused(_write(tmp_path / "ancient.onnx", ancient), "opset 1 is not supported", capsys=capsys)
    ir = onnx.ModelProto()
    ir.CopyFrom(model)
    ir.ir_version = onnx.IR_VERSION + 3
    _refused(_write(tmp_path / "ir.onnx", ir), "IR version", capsys=capsys)


def test_network_files_never_execute_code(tmp_path):
    """A theanets model file is an npz read with allow_pickle=False: a pickled object is refused, not run."""
    net = theanets.Regressor([3, 4, 2])
    net.save(tmp_path / "net.npz")
    with np.load(tmp_path / "net.npz", allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    arrays["hid1.w"] = np.array([Evil()], dtype=object)
    np.savez(tmp_path / "evil.npz", **arrays)
    with pytest.raises(ValueError, match="not a graphc model file|pickle"):
        theanets.Network.load(tmp_path / "evil.npz")
    assert not marker.exists()
    # a model file whose description is not JSON, and one with an unknown format, are refused too
    arrays = {k: v for k, v in arrays.items() if k != "hid1.w"}
    arrays["__graphc_model__"] = np.frombuffer(b"{not json", dtype=np.uint8)
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match="not valid JSON"):
        theanets.Network.load(tmp_path / "bad.npz")


def test_save_refuses_non_models_and_leaves_the_old_file(tmp_path):
    path = tmp_path / "m.onnx"
    save(_model(tmp_path), path)
    before = path.read_bytes()
    with pytest.raises(TypeError, match="needs an onnx.ModelProto"):
        save("not a model", path)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["m.onnx"]
