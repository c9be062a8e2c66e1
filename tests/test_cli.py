"""The graphc command: --version and info, including failures."""

from __future__ import annotations

import subprocess
import sys

import graphc
import graphc.tensor as T
from graphc.cli import main
from graphc.export import save, to_onnx


def test_version_through_the_console_script():
    out = subprocess.run([sys.executable, "-m", "graphc.cli", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"graphc {graphc.__version__}"


def test_info_describes_a_model(tmp_path, capsys):
    import numpy as np

    w = graphc.shared(np.ones((4, 3)), name="W")
    x = T.matrix("x")
    path = tmp_path / "m.onnx"
    save(to_onnx({"y": T.dot(x, w).sum(axis=1)}, [x]), path)
    assert main(["info", str(path)]) == 0
    text = capsys.readouterr().out
    assert "ir_version: 8   opsets: ai.onnx 18" in text
    assert "x: float32 (x_dim0, x_dim1)" in text
    assert "y: float32 (x_dim0,)" in text
    assert "initializers: 2 (13 values)" in text  # W and the reduction axes
    assert "MatMul" in text and "ReduceSum" in text


def test_info_failures_exit_non_zero_with_a_clear_line(tmp_path, capsys):
    assert main(["info", str(tmp_path / "absent.onnx")]) == 1
    assert "graphc info: error: no ONNX model at" in capsys.readouterr().err
    junk = tmp_path / "junk.onnx"
    junk.write_text("hello")
    assert main(["info", str(junk)]) == 1
    assert "is not an ONNX model" in capsys.readouterr().err
    assert main([]) == 2
