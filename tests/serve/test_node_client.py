"""The Node.js client (serve/node, onnxruntime-node only) serves and trains graphc-exported models.

Inference: a Lasagne LSTM exported with a dynamic batch and time gives, through
``run_model.mjs``, graphc.function's outputs. Training: the training step of a small LSTM
regression with Adam, looped five times by ``train_steps.mjs``, gives graphc.function's
costs and final parameters. Skipped when ``node`` or ``serve/node/node_modules`` is missing
(install with ``ONNXRUNTIME_NODE_INSTALL=skip npm ci --prefix serve/node``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import graphc
import graphc.layers as L
import graphc.tensor as T
from graphc.export import save, save_training, to_onnx, training_model

NODE_DIR = Path(__file__).resolve().parents[2] / "serve" / "node"
NODE = shutil.which("node")
TOL = 1e-5


@pytest.fixture(autouse=True)
def _node_client() -> None:
    """Skip unless Node.js and the installed client (its node_modules) are both there."""
    if NODE is None:
        pytest.skip("node not found on PATH: the Node.js client cannot be tested")
    if not (NODE_DIR / "node_modules" / "onnxruntime-node").is_dir():
        pytest.skip(
            f"{NODE_DIR / 'node_modules'} is missing: run `ONNXRUNTIME_NODE_INSTALL=skip npm ci --prefix serve/node`"
        )


@pytest.fixture
def seeded() -> Iterator[None]:
    """Seed graphc's initializers, and put the global generator back afterwards."""
    old = graphc.random.get_rng()
    graphc.random.set_rng(np.random.RandomState(7))
    try:
        yield
    finally:
        graphc.random.set_rng(old)


def _tensor(array: Any) -> dict[str, Any]:
    """An array as the client's JSON tensor ``{dims, dtype, data}`` (float32 values round-trip exactly)."""
    a = np.asarray(array)
    return {"dims": list(a.shape), "dtype": str(a.dtype), "data": a.ravel().tolist()}


def _array(tensor: dict[str, Any]) -> np.ndarray:
    """The client's JSON tensor back as a numpy array."""
    return np.asarray(tensor["data"], dtype=tensor["dtype"]).reshape(tensor["dims"])


def _write_json(path: Path, value: Any) -> Path:
    path.write_text(json.dumps(value))
    return path


def _node(script: str, *args: Any, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``node serve/node/<script> args...``; with ``check``, fail the test on a non-zero exit."""
    proc = subprocess.run([NODE, str(NODE_DIR / script), *map(str, args)], capture_output=True, text=True, timeout=60)
    if check and proc.returncode != 0:
        pytest.fail(f"{script} exited with {proc.returncode}:\n{proc.stderr}")
    return proc


def test_node_inference_matches_graphc(tmp_path: Path, seeded: None) -> None:
    l_in = L.InputLayer((None, None, 3))
    l_out = L.LSTMLayer(l_in, 5)
    model_path = save(to_onnx(l_out), tmp_path / "lstm.onnx")
    predict = graphc.function([l_in.input_var], L.get_output(l_out))
    rng = np.random.default_rng(0)
    for batch, time in [(2, 7), (5, 3)]:  # one model, two batch sizes and sequence lengths
        x = rng.normal(size=(batch, time, 3)).astype(np.float32)
        inputs = _write_json(tmp_path / "inputs.json", {"input": _tensor(x)})
        _node("run_model.mjs", model_path, inputs, tmp_path / "outputs.json")
        got = _array(json.loads((tmp_path / "outputs.json").read_text())["output"])
        expected = predict(x)
        assert got.shape == (batch, time, 5) and got.dtype == np.float32
        np.testing.assert_allclose(got, expected, rtol=0, atol=TOL)


def test_node_training_matches_graphc(tmp_path: Path, seeded: None) -> None:
    l_in = L.InputLayer((None, None, 3))
    l_lstm = L.LSTMLayer(l_in, 6, only_return_final=True)
    l_out = L.DenseLayer(l_lstm, 1, nonlinearity=None)
    y = T.matrix("y")
    cost = T.mean(T.sqr(L.get_output(l_out) - y))
    params = L.get_all_params(l_out, trainable=True)
    updates = graphc.updates.adam(cost, params, learning_rate=0.05)
    x = l_in.input_var
    model, state = training_model([x, y], cost, updates)  # the initial state, before graphc trains
    model_path, _ = save_training(model, state, tmp_path / "step.onnx")
    state_path = _write_json(tmp_path / "step.state.json", {k: _tensor(v) for k, v in state.items()})
    rng = np.random.default_rng(1)
    xs = [rng.normal(size=(4, 5, 3)).astype(np.float32) for _ in range(5)]
    batches = [(xb, 0.5 * xb[:, :, :1].sum(axis=1)) for xb in xs]  # a learnable target: a running sum
    data_path = _write_json(tmp_path / "data.json", [{x.name: _tensor(xb), "y": _tensor(yb)} for xb, yb in batches])

    _node("train_steps.mjs", model_path, state_path, data_path, tmp_path / "out.json")
    out = json.loads((tmp_path / "out.json").read_text())

    step = graphc.function([x, y], cost, updates=updates)
    costs = [float(step(xb, yb)) for xb, yb in batches]
    assert out["steps"] == 5
    np.testing.assert_allclose(out["costs"], costs, rtol=0, atol=TOL)
    assert out["costs"][-1] < out["costs"][0]
    final = {k: _array(v) for k, v in out["state"].items()}
    assert set(final) == set(state)
    for p in params:
        np.testing.assert_allclose(final[p.name], p.get_value(), rtol=0, atol=TOL, err_msg=p.name)
    assert not np.allclose(final[params[0].name], state[params[0].name])  # the parameters did move


def test_node_client_errors(tmp_path: Path, seeded: None) -> None:
    model_path = save(to_onnx(L.DenseLayer(L.InputLayer((None, 3)), 2)), tmp_path / "dense.onnx")
    good = {"input": _tensor(np.zeros((1, 3), np.float32))}
    missing = _node(
        "run_model.mjs",
        tmp_path / "nope.onnx",
        _write_json(tmp_path / "in.json", good),
        tmp_path / "o.json",
        check=False,
    )
    assert missing.returncode != 0 and "model not found" in missing.stderr
    bad_name = _write_json(tmp_path / "bad.json", {"inptu": good["input"]})
    proc = _node("run_model.mjs", model_path, bad_name, tmp_path / "o.json", check=False)
    assert proc.returncode != 0 and "unknown input(s) inptu" in proc.stderr and "input" in proc.stderr
    usage = _node("train_steps.mjs", model_path, check=False)
    assert usage.returncode != 0 and "usage:" in usage.stderr
