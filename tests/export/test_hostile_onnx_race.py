"""A folder (or a data file) swapped for a link while models load: no load ever returns the outside data.

A thread swaps ``models/data`` between a real folder (holding the model's weights) and a symbolic
link to a folder outside (holding a secret of the same size), and ``models/w.bin`` between a
real file and a link to the secret, as fast as it can; the main thread loads both models for a
few seconds.  Each load must either return the real weights or refuse (a link, or a file missing
mid-swap): external data is opened once, component by component relative to the model's folder,
without following links, so no check-then-open window exists.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from graphc.export import load

SAFE = np.array([1.0, 2.0, 3.0, 4.0], np.float32)
SECRET = np.array([31337.25, -27182.5, 16180.125, 14142.75], np.float32)
SECONDS = float(os.environ.get("GRAPHC_RACE_SECONDS", "3"))


def _model(location: str) -> onnx.ModelProto:
    t = TensorProto(name="C", data_type=TensorProto.FLOAT, dims=[4], data_location=TensorProto.EXTERNAL)
    t.external_data.add(key="location", value=location)
    g = helper.make_graph(
        [helper.make_node("Add", ["x", "C"], ["y"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])], [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])],
        initializer=[t],
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)])
    m.ir_version = 10
    return m


def _swap(models: Path, stop: threading.Event, counts: dict[str, int]) -> None:
    while not stop.is_set():
        os.rename(models / "data", models / "real")  # the folder becomes a link
        os.rename(models / "link", models / "data")
        os.rename(models / "w.bin", models / "w.real")  # the file becomes a link
        os.rename(models / "w.link", models / "w.bin")
        os.rename(models / "data", models / "link")  # and back
        os.rename(models / "real", models / "data")
        os.rename(models / "w.bin", models / "w.link")
        os.rename(models / "w.real", models / "w.bin")
        counts["swaps"] += 1


def test_swapping_a_folder_or_file_for_a_link_never_leaks(tmp_path: Path) -> None:
    outside, models = tmp_path / "outside", tmp_path / "models"
    outside.mkdir()
    (outside / "w.bin").write_bytes(SECRET.tobytes())
    (models / "data").mkdir(parents=True)
    (models / "data" / "w.bin").write_bytes(SAFE.tobytes())
    (models / "w.bin").write_bytes(SAFE.tobytes())
    os.symlink(outside, models / "link")
    os.symlink(outside / "w.bin", models / "w.link")
    paths = [models / "in_folder.onnx", models / "file.onnx"]
    paths[0].write_bytes(_model("data/w.bin").SerializeToString())
    paths[1].write_bytes(_model("w.bin").SerializeToString())
    counts = {"swaps": 0}
    results = {"loaded": 0, "refused": 0}
    reasons: set[str] = set()
    stop = threading.Event()
    swapper = threading.Thread(target=_swap, args=(models, stop, counts), daemon=True)
    swapper.start()
    try:
        end = time.monotonic() + SECONDS
        k = 0
        while time.monotonic() < end:
            try:
                model = load(paths[k % 2], check=False)
            except ValueError as exc:
                results["refused"] += 1
                text = str(exc)
                reasons.add("link" if "symbolic link" in text else "missing" if "does not exist" in text else "not a folder" if "is not a folder" in text else text)
            else:
                got = numpy_helper.to_array(model.graph.initializer[0])
                assert np.array_equal(got, SAFE), f"load {k} returned {got}: the outside file was read"
                results["loaded"] += 1
            k += 1
    finally:
        stop.set()
        swapper.join()
    print(f"race: {k} loads ({results}), {counts['swaps']} swap cycles, reasons {sorted(reasons)}")
    assert results["loaded"] > 0 and results["refused"] > 0 and counts["swaps"] > 10, (results, counts)
    assert reasons <= {"link", "missing", "not a folder"}, reasons
