"""``graphc check/run/bench`` refuse models whose initializers ONNX Runtime would take minutes to load."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from graphc.cli.limits import count_file_entries, max_initializers

GRAPHC = Path(sys.executable).with_name("graphc")


def _many_initializers(path: Path, n: int) -> Path:
    inits = [numpy_helper.from_array(np.array([i], np.float32), f"w{i}") for i in range(n)]
    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
        initializer=inits,
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    onnx.save(model, path)
    return path


def test_the_byte_scan_counts_nodes_and_initializers(tmp_path):
    path = _many_initializers(tmp_path / "m.onnx", 30)
    assert count_file_entries(path) == (1, 30)
    assert count_file_entries(path, stop_after=10) == (1, 11)
    assert max_initializers(200_000) == 50_000


@pytest.mark.skipif(not GRAPHC.exists(), reason="the graphc command is not installed beside this Python")
@pytest.mark.parametrize("command", ["check", "run", "bench"])
def test_a_model_of_sixty_thousand_initializers_is_refused_in_one_line(tmp_path, command):
    path = _many_initializers(tmp_path / "inits.onnx", 60_000)  # ONNX Runtime: about 10 s; 200,000: about 4 minutes
    start = time.perf_counter()
    proc = subprocess.run([str(GRAPHC), command, str(path)], capture_output=True, text=True, timeout=120)
    assert time.perf_counter() - start < 30
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"graphc {command}: error: "), proc.stderr
    assert "more than 50,000 initializers" in lines[0] and "--max-nodes" in lines[0]
