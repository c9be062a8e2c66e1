"""graphc on CUDA against graphc on the CPU: functions, recurrent layers (native and loop path),
exported models, training steps with Adam, state kept on the device, and no host copies in a step.

Skipped without a usable GPU (see ``conftest.py``); tolerances allow for cuBLAS/cuDNN summation
orders (TF32 is off in graphc's CUDA sessions unless ``GRAPHC_CUDA_TF32=1``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest

import graphc
import graphc.tensor as T
from graphc.export import to_onnx, training_model
from graphc.export.training import METADATA_KEY
from graphc.layers import (
    ConcatLayer,
    DenseLayer,
    GRULayer,
    InputLayer,
    LSTMLayer,
    ReshapeLayer,
    get_all_params,
    get_output,
)
from graphc.runtime import memcpy_nodes, open_session

RTOL, ATOL = 1e-4, 1e-5


def _mlp(seed: int = 0) -> tuple[Any, Any]:
    graphc.random.set_rng(np.random.RandomState(seed))
    l_in = InputLayer((None, 48), name="x")
    h = DenseLayer(DenseLayer(l_in, 96), 64, nonlinearity=graphc.nonlinearities.tanh)
    return l_in, DenseLayer(h, 10, nonlinearity=T.nnet.softmax)


def _bilstm(seed: int = 0, hidden: int = 12) -> tuple[Any, Any, Any]:
    graphc.random.set_rng(np.random.RandomState(seed))
    l_in = InputLayer((None, None, 5), name="x")
    l_mask = InputLayer((None, None), name="mask")
    fwd = LSTMLayer(l_in, hidden, mask_input=l_mask, peepholes=False)
    bwd = LSTMLayer(l_in, hidden, mask_input=l_mask, peepholes=False, backwards=True)
    out = DenseLayer(ReshapeLayer(ConcatLayer([fwd, bwd], axis=2), (-1, 2 * hidden)), 3, nonlinearity=None)
    return l_in, l_mask, out


def _mask(batch: int, time: int, rng: np.random.Generator) -> np.ndarray:
    lengths = rng.integers(1, time + 1, size=batch)
    lengths[0] = time
    return (np.arange(time)[None, :] < lengths[:, None]).astype(np.float32)


def _ops(fn: graphc.Function) -> set[str]:
    return {n.op_type for n in fn.onnx_model.graph.node}


# -- providers ---------------------------------------------------------------------------------------
def test_sessions_really_get_cuda(device, device_type):
    x = T.matrix("x")
    f = graphc.function([x], 2 * x, device=device)
    if device_type == "cuda":
        assert f.providers[0] == "CUDAExecutionProvider"
        assert f.device.startswith("cuda")
        assert graphc.runtime.cuda_usable()
    else:
        assert f.providers == ["CPUExecutionProvider"]
    np.testing.assert_array_equal(f(np.ones((2, 3), np.float32)), np.full((2, 3), 2.0, np.float32))


# -- functions: device == CPU ----------------------------------------------------------------------------
def test_mlp_function_matches_cpu(device):
    l_in, out = _mlp()
    expr = get_output(out, deterministic=True)
    on_dev = graphc.function([l_in.input_var], expr, device=device)
    on_cpu = graphc.function([l_in.input_var], expr, device="cpu")
    x = np.random.default_rng(1).normal(size=(33, 48)).astype(np.float32)
    np.testing.assert_allclose(on_dev(x), on_cpu(x), rtol=RTOL, atol=ATOL)
    y = on_dev.run_device(ort.OrtValue.ortvalue_from_numpy(x, "cuda" if device.startswith("cuda") else "cpu", 0))
    np.testing.assert_allclose(y.numpy(), on_cpu(x), rtol=RTOL, atol=ATOL)


RECURRENT: dict[str, Callable[[Any, Any], Any]] = {
    "lstm": lambda l_in, m: LSTMLayer(l_in, 16, peepholes=False, mask_input=m),
    "lstm-peepholes": lambda l_in, m: LSTMLayer(l_in, 16, mask_input=m),
    "lstm-backwards": lambda l_in, m: LSTMLayer(l_in, 16, peepholes=False, backwards=True, mask_input=m),
    "gru": lambda l_in, m: GRULayer(l_in, 16, mask_input=m),
}


@pytest.mark.parametrize("path", ["native", "loop"])
@pytest.mark.parametrize("kind", sorted(RECURRENT))
@pytest.mark.parametrize("masked", [False, True])
def test_recurrent_layers_match_cpu(device, kind, path, masked):
    graphc.random.set_rng(np.random.RandomState(4))
    l_in = InputLayer((None, None, 7))
    l_mask = InputLayer((None, None)) if masked else None
    layer = RECURRENT[kind](l_in, l_mask)
    inputs = [l_in.input_var] + ([l_mask.input_var] if masked else [])
    passes = {} if path == "native" else {"native_rnn": False}
    on_dev = graphc.function(inputs, get_output(layer), device=device, passes=passes)
    on_cpu = graphc.function(inputs, get_output(layer), device="cpu", passes=passes)
    if path == "native" and not masked:
        assert _ops(on_dev) & {"LSTM", "GRU"}, f"native lowering did not apply: {sorted(_ops(on_dev))}"
    if path == "loop":
        assert not _ops(on_dev) & {"LSTM", "GRU"}
    rng = np.random.default_rng(2)
    for batch, time in ((6, 9), (1, 30)):
        args = [rng.normal(size=(batch, time, 7)).astype(np.float32)]
        if masked:
            args.append(_mask(batch, time, rng))
        np.testing.assert_allclose(on_dev(*args), on_cpu(*args), rtol=RTOL, atol=ATOL)


# -- exported models ------------------------------------------------------------------------------------------
def test_exported_inference_model_matches_cpu(device, device_type):
    l_in, l_mask, out = _bilstm(3)
    model = to_onnx({"y": out})
    on_dev, on_cpu = open_session(model, device), open_session(model, "cpu")
    if device_type == "cuda":
        assert on_dev.get_providers()[0] == "CUDAExecutionProvider"
    rng = np.random.default_rng(5)
    feeds = {"x": rng.normal(size=(4, 11, 5)).astype(np.float32), "mask": _mask(4, 11, rng)}
    names = {i.name for i in on_cpu.get_inputs()}
    assert names == set(feeds), names
    for a, b in zip(on_dev.run(None, feeds), on_cpu.run(None, feeds)):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL)


def _loop_training_model(model: Any, state: dict[str, np.ndarray], batches: list[dict[str, np.ndarray]], device: str) -> tuple[list[float], dict[str, np.ndarray], Any]:
    """Run an exported training step over ``batches`` the way a client should on a GPU: state as
    device OrtValues fed back through IO binding, only the cost copied out."""
    sess = open_session(model, device, training=True)
    contract = json.loads(next(p.value for p in model.metadata_props if p.key == METADATA_KEY))
    kind = "cuda" if device.startswith("cuda") else "cpu"
    values = {k: ort.OrtValue.ortvalue_from_numpy(np.ascontiguousarray(v), kind, 0) for k, v in state.items()}
    out_names = [o.name for o in sess.get_outputs()]
    costs = []
    for feeds in batches:
        binding = sess.io_binding()
        data = {k: ort.OrtValue.ortvalue_from_numpy(v, kind, 0) for k, v in feeds.items()}
        for k, v in {**data, **values}.items():
            binding.bind_ortvalue_input(k, v)
        for name in out_names:
            binding.bind_output(name, kind, 0)
        sess.run_with_iobinding(binding)
        outs = dict(zip(out_names, binding.get_outputs()))
        for name, nxt in contract["state"].items():
            values[name] = outs[nxt]
            assert values[name].device_name().lower() == kind
        costs.append(float(outs["cost"].numpy()))
    return costs, {k: v.numpy() for k, v in values.items()}, sess


@pytest.mark.parametrize("net", ["mlp", "bilstm"])
def test_exported_training_model_matches_cpu(device, net):
    def build() -> tuple[Any, dict[str, np.ndarray], list[dict[str, np.ndarray]]]:
        rng = np.random.default_rng(8)
        if net == "mlp":
            l_in, out = _mlp(6)
            t = T.ivector("t")
            cost = T.mean(T.nnet.categorical_crossentropy(get_output(out), t))
            inputs = [l_in.input_var, t]
            batches = [{"x": rng.normal(size=(16, 48)).astype(np.float32),
                        "t": rng.integers(0, 10, size=16).astype(np.int32)} for _ in range(4)]
        else:
            l_in, l_mask, out = _bilstm(6)
            y = T.matrix("y")
            cost = T.mean((get_output(out) - y) ** 2)
            inputs = [l_in.input_var, l_mask.input_var, y]
            batches = [{"x": rng.normal(size=(3, 8, 5)).astype(np.float32), "mask": _mask(3, 8, rng),
                        "y": rng.normal(size=(24, 3)).astype(np.float32)} for _ in range(4)]
        model, state = training_model(inputs, cost, graphc.updates.adam(cost, get_all_params(out, trainable=True), 0.01))
        return model, state, batches

    model, state, batches = build()
    dev_costs, dev_state, sess = _loop_training_model(model, state, batches, device)
    cpu_costs, cpu_state, _ = _loop_training_model(model, state, batches, "cpu")
    np.testing.assert_allclose(dev_costs, cpu_costs, rtol=RTOL, atol=ATOL)
    for k in cpu_state:
        np.testing.assert_allclose(dev_state[k], cpu_state[k], rtol=RTOL, atol=ATOL, err_msg=k)
    copies = memcpy_nodes(sess)
    if net == "mlp":
        assert copies == [], copies
    else:  # loop bodies may take their iteration counter from the host; nothing comes back to it
        assert [c for c in copies if c.startswith("MemcpyToHost") or "/" not in c] == [], copies


# -- training steps with Adam: device == CPU over 5 steps, state on the device ----------------------------------------
def _adam_step(net: str, device: str) -> tuple[graphc.Function, list[Any], Callable[[int], list[np.ndarray]]]:
    rng = np.random.default_rng(9)
    if net == "mlp":
        l_in, out = _mlp(11)
        t = T.ivector("t")
        cost = T.mean(T.nnet.categorical_crossentropy(get_output(out), t))
        inputs = [l_in.input_var, t]

        def batch(i: int) -> list[np.ndarray]:
            r = np.random.default_rng(i)
            return [r.normal(size=(20, 48)).astype(np.float32), r.integers(0, 10, size=20).astype(np.int32)]
    else:
        l_in, l_mask, out = _bilstm(11)
        y = T.matrix("y")
        cost = T.mean((get_output(out) - y) ** 2)
        inputs = [l_in.input_var, l_mask.input_var, y]

        def batch(i: int) -> list[np.ndarray]:
            r = np.random.default_rng(i)
            return [r.normal(size=(4, 10, 5)).astype(np.float32), _mask(4, 10, r), r.normal(size=(40, 3)).astype(np.float32)]
    del rng
    params = get_all_params(out, trainable=True)
    step = graphc.function(inputs, cost, updates=graphc.updates.adam(cost, params, 0.01), device=device)
    return step, params, batch


@pytest.mark.parametrize("net", ["mlp", "bilstm"])
def test_adam_training_matches_cpu_and_keeps_state_on_device(device, device_type, net):
    on_dev, dev_params, batch = _adam_step(net, device)
    on_cpu, cpu_params, _ = _adam_step(net, "cpu")
    for i in range(5):
        np.testing.assert_allclose(on_dev(*batch(i)), on_cpu(*batch(i)), rtol=RTOL, atol=ATOL)
        for p, q in zip(dev_params, cpu_params):
            np.testing.assert_allclose(p.get_value(), q.get_value(), rtol=RTOL, atol=ATOL, err_msg=str(p))
    state = [var for var, _ in on_dev.updates]
    assert len(state) == 3 * len(dev_params) + 1  # params, two moments each, the step counter
    for var in state:
        value = var._storage()
        assert isinstance(value, ort.OrtValue) and value.device_name().lower() == device_type, var
    if device_type == "cuda":
        assert on_dev._binding
        # written into the function's own buffers by turns: the state never left the device
        for var, bufs in zip(state, on_dev._buffers):
            assert any(var._storage() is b for b in bufs if b is not None), var
    # set_value between steps reaches the device copy
    for p, q in zip(dev_params, cpu_params):
        p.set_value(q.get_value())
    np.testing.assert_allclose(on_dev(*batch(7)), on_cpu(*batch(7)), rtol=RTOL, atol=ATOL)


def test_no_host_copies_in_a_training_step(device):
    step, _, _ = _adam_step("mlp", device)
    assert memcpy_nodes(step) == []


def test_recurrent_training_step_copies_nothing_back_to_the_host(device):
    step, _, _ = _adam_step("bilstm", device)
    copies = memcpy_nodes(step)
    assert [c for c in copies if c.startswith("MemcpyToHost") or "/" not in c] == [], copies


def test_outputs_stay_on_device_when_asked(device, device_type):
    l_in, out = _mlp(2)
    f = graphc.function([l_in.input_var], get_output(out, deterministic=True), device=device)
    x = np.random.default_rng(3).normal(size=(5, 48)).astype(np.float32)
    y = f.run_device(x)
    assert y.device_name().lower() == device_type
    np.testing.assert_allclose(y.numpy(), f(x), rtol=0, atol=0)
