"""bench/gpu.py without a GPU: ``--help``, exit status 2 with a clear message, the ``--dry-run`` smoke test
(every configuration on the CPU with tiny sizes, correctness checks included), and ``--write``."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

import graphc

BENCH = Path(__file__).resolve().parents[1] / "bench" / "gpu.py"
HAS_TORCH = importlib.util.find_spec("torch") is not None


def _run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, GRAPHC_NUM_THREADS="1")
    return subprocess.run([sys.executable, str(BENCH), *args], capture_output=True, text=True, timeout=timeout, env=env, check=False)


def _module():
    spec = importlib.util.spec_from_file_location("bench_gpu", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_gpu"] = module  # dataclasses look their module up
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules["bench_gpu"]
    return module


def test_help_needs_no_gpu():
    done = _run("--help")
    assert done.returncode == 0, done.stderr
    assert "--dry-run" in done.stdout and "--write" in done.stdout and "--tf32" in done.stdout


@pytest.mark.skipif(graphc.runtime.cuda_usable(), reason="a GPU is usable here")
def test_without_a_gpu_exit_status_2():
    done = _run()
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "bench/gpu.py: no GPU to measure on:" in done.stderr
    assert done.stdout == ""


def test_bad_arguments_are_usage_errors():
    done = _run("--only", "lstm,conv")
    assert done.returncode == 2 and "unknown configuration(s) conv" in done.stderr


@pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")
def test_dry_run_checks_and_times_every_configuration(tmp_path):
    doc = tmp_path / "PERF.md"
    doc.write_text("# Performance\n\nCPU table.\n\n## GPU\n\nold figures\n\n## Notes\n\nkept\n")
    done = _run("--dry-run", "--write", str(doc))
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert out.count("check ") == 8 and "FAILED" not in out, out
    for config in ("LSTM inference (4, 6, 5, 8)", "BiLSTM training step", "MLP 32-32-32-10 inference (batch 8)"):
        assert config in out, out
    assert "<= 1.2x PyTorch" in out and "<= 1.5x PyTorch" in out and ">= 70% of the torch.matmul fp32 rate" in out
    assert "ONNX Runtime use_tf32=0, PyTorch allow_tf32=False" in out
    text = doc.read_text()
    assert text.startswith("# Performance\n\nCPU table.\n\n## GPU\n") and text.endswith("## Notes\n\nkept\n")
    assert "old figures" not in text and "| BiLSTM training step" in text and text.count("## GPU") == 1


def test_write_section_appends_or_replaces(tmp_path):
    gpu = _module()
    doc = tmp_path / "a.md"
    gpu.write_section(doc, "## GPU\n\none\n")
    assert doc.read_text() == "## GPU\n\none\n"
    doc.write_text("# T\n\ntext\n")
    gpu.write_section(doc, "## GPU\n\none\n")
    assert doc.read_text() == "# T\n\ntext\n\n## GPU\n\none\n"
    gpu.write_section(doc, "## GPU\n\ntwo\n")
    assert doc.read_text() == "# T\n\ntext\n\n## GPU\n\ntwo\n"
