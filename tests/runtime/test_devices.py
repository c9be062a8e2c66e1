"""Devices: a truthful CUDA check, DeviceError, preload_dlls, IO binding (forced on the CPU), run_device, memcpy_nodes.

The IO binding path is the one every CUDA call takes; ``GRAPHC_IOBINDING=1`` forces it on the
CPU, so these tests prove it gives bitwise the results and the shared-variable evolution of the
plain path.  What only a GPU can show lives in ``tests/gpu``.
"""

from __future__ import annotations

import logging

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

import graphc
import graphc.tensor as T
from graphc.cli import main
from graphc.export import save, to_onnx
from graphc.layers import DenseLayer, InputLayer, LSTMLayer, ReshapeLayer, get_all_params, get_output
from graphc.runtime import DeviceError, memcpy_nodes, open_session, providers
from graphc.runtime.memcpy import _walk

NO_CUDA = not graphc.runtime.cuda_usable()


@pytest.fixture
def fresh_check():
    """Forget the cached CUDA check and preload before and after the test."""
    check, preload = providers._cuda_check, providers.preload_cuda_libraries
    check.cache_clear()
    preload.cache_clear()
    yield
    check.cache_clear()
    preload.cache_clear()


# -- the CUDA check ------------------------------------------------------------------------------
def test_cuda_check_without_the_provider(monkeypatch, fresh_check):
    monkeypatch.setattr(providers.ort, "get_available_providers", lambda: ["CPUExecutionProvider"])
    assert providers.cuda_usable() is False
    assert "no CUDA provider" in providers.cuda_unusable_reason()
    assert "onnxruntime-gpu" in providers.cuda_unusable_reason()


def test_cuda_check_without_a_driver(monkeypatch, fresh_check):
    monkeypatch.setattr(providers.ort, "get_available_providers", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    monkeypatch.setattr(providers, "_driver_present", lambda: False)
    assert providers.cuda_usable() is False
    assert "no NVIDIA driver" in providers.cuda_unusable_reason()


@pytest.mark.skipif("CUDAExecutionProvider" not in ort.get_available_providers() or not NO_CUDA,
                    reason="needs onnxruntime-gpu on a machine where CUDA cannot run")
def test_cuda_check_probes_a_real_session(monkeypatch, fresh_check):
    # a driver that seems present is not enough: the probe session falls back to the CPU here
    monkeypatch.setattr(providers, "_driver_present", lambda: True)
    calls = []
    monkeypatch.setattr(providers, "preload_cuda_libraries", lambda: calls.append(1) or False)
    assert providers.cuda_usable() is False
    assert "did not get the CUDA provider" in providers.cuda_unusable_reason()
    assert calls == [1]
    assert providers.cuda_usable() is False and calls == [1]  # cached: one probe per process


def test_cuda_check_passes_when_the_probe_gets_cuda(monkeypatch, fresh_check):
    class FakeSession:
        def __init__(self, *args, **kwargs):
            self.providers = kwargs["providers"]

        def get_providers(self):
            return ["CUDAExecutionProvider", "CPUExecutionProvider"]

    monkeypatch.setattr(providers.ort, "get_available_providers", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    monkeypatch.setattr(providers, "_driver_present", lambda: True)
    monkeypatch.setattr(providers.ort, "InferenceSession", FakeSession)
    assert providers.cuda_usable() is True and providers.cuda_unusable_reason() == ""


# -- preload_dlls ------------------------------------------------------------------------------------
def test_preload_only_with_nvidia_pip_packages(monkeypatch, fresh_check):
    called = []
    monkeypatch.setattr(providers.ort, "preload_dlls", lambda *a, **k: called.append(1), raising=False)
    monkeypatch.setattr(providers, "_nvidia_pip_packages", lambda: False)
    assert providers.preload_cuda_libraries() is False and called == []
    providers.preload_cuda_libraries.cache_clear()
    monkeypatch.setattr(providers, "_nvidia_pip_packages", lambda: True)
    assert providers.preload_cuda_libraries() is True and called == [1]
    assert providers.preload_cuda_libraries() is True and called == [1]  # once


def test_preload_failures_are_logged_not_raised(monkeypatch, fresh_check, caplog, capsys):
    def broken(*args, **kwargs):
        print("Failed to load libcudnn.so.9")
        raise RuntimeError("no such directory")

    monkeypatch.setattr(providers.ort, "preload_dlls", broken, raising=False)
    monkeypatch.setattr(providers, "_nvidia_pip_packages", lambda: True)
    with caplog.at_level(logging.DEBUG, logger="graphc.runtime.providers"):
        assert providers.preload_cuda_libraries() is False
    assert "no such directory" in caplog.text and "libcudnn.so.9" in caplog.text
    assert capsys.readouterr().out == ""  # its prints do not reach the user


def test_preload_without_the_function(monkeypatch, fresh_check):
    monkeypatch.delattr(providers.ort, "preload_dlls", raising=False)
    monkeypatch.setattr(providers, "_nvidia_pip_packages", lambda: True)
    assert providers.preload_cuda_libraries() is False


# -- device arguments -----------------------------------------------------------------------------------
@pytest.mark.skipif(not NO_CUDA, reason="a GPU is usable here")
@pytest.mark.parametrize("device", ["cuda", "cuda:0", "CUDA:1"])
def test_explicit_cuda_without_a_gpu_is_a_clear_error(device):
    x = T.vector("x")
    with pytest.raises(DeviceError, match=rf"device argument asks for '{device}', but ONNX Runtime's CUDA provider cannot run here: .+; use device='cpu'"):
        graphc.function([x], x + 1, device=device)


@pytest.mark.skipif(not NO_CUDA, reason="a GPU is usable here")
def test_graphc_device_env(monkeypatch):
    x = T.vector("x")
    monkeypatch.setenv("GRAPHC_DEVICE", "cuda")
    with pytest.raises(DeviceError, match="GRAPHC_DEVICE asks for 'cuda'"):
        graphc.function([x], x + 1)
    monkeypatch.setenv("GRAPHC_DEVICE", "auto")
    assert graphc.function([x], x + 1).device == "cpu"
    monkeypatch.setenv("GRAPHC_DEVICE", "gpu")
    with pytest.raises(ValueError, match="device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got 'gpu'"):
        graphc.function([x], x + 1)


def test_bad_device_values():
    x = T.vector("x")
    with pytest.raises(TypeError, match="device must be a string such as 'cpu' or 'cuda', got int"):
        graphc.function([x], x + 1, device=0)
    for bad in ("cpu:0", "cuda:x", "tpu"):
        with pytest.raises(ValueError, match=f"got '{bad}'"):
            graphc.function([x], x + 1, device=bad)


def test_session_that_falls_back_is_refused_when_cuda_was_asked_for(monkeypatch, fresh_check):
    """cuda_usable says yes but the session still gets the CPU (e.g. no GPU N): DeviceError, or the CPU for 'auto'."""
    monkeypatch.setattr(providers, "_cuda_check", lambda: (True, ""))
    model = to_onnx({"y": DenseLayer(InputLayer((None, 3), name="x"), 2)}).SerializeToString()

    class CpuOnly(ort.InferenceSession):
        def __init__(self, model, sess_options=None, providers=None, **kw):
            super().__init__(model, sess_options=sess_options, providers=["CPUExecutionProvider"])

    monkeypatch.setattr(providers.ort, "InferenceSession", CpuOnly)
    with pytest.raises(DeviceError, match=r"asked for cuda:0, but ONNX Runtime gave the session \['CPUExecutionProvider'\]"):
        providers.make_session(model, "cuda")
    sess, where = providers.make_session(model, "auto")
    assert where == "cpu" and sess.get_providers() == ["CPUExecutionProvider"]


def test_tf32_is_off_unless_asked_for(monkeypatch):
    assert providers.cuda_provider_options(1) == {"device_id": 1, "use_tf32": "0"}
    monkeypatch.setenv("GRAPHC_CUDA_TF32", "1")
    assert providers.cuda_provider_options()["use_tf32"] == "1"
    monkeypatch.setenv("GRAPHC_CUDA_TF32", "yes")
    with pytest.raises(ValueError, match="GRAPHC_CUDA_TF32 must be 0 or 1, got 'yes'"):
        providers.cuda_provider_options()


# -- open_session: exported models --------------------------------------------------------------------------
def test_open_session_takes_models_bytes_and_paths(tmp_path):
    graphc.random.set_rng(np.random.RandomState(3))
    layer = DenseLayer(InputLayer((None, 3), name="x"), 2, nonlinearity=None)
    model = to_onnx({"y": layer})
    path = save(model, tmp_path / "m.onnx")
    x = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    W, b = (p.get_value() for p in get_all_params(layer))
    for source in (model, model.SerializeToString(), path, str(path)):
        sess = open_session(source, "cpu", threads=1)
        assert sess.get_providers() == ["CPUExecutionProvider"]
        (y,) = sess.run(None, {sess.get_inputs()[0].name: x})
        np.testing.assert_allclose(y, x @ W + b, rtol=1e-6)
    with pytest.raises(TypeError, match="open_session: model must be an onnx.ModelProto, bytes or a path, got int"):
        open_session(3)
    with pytest.raises(ValueError, match="threads must be a non-negative int, got -1"):
        open_session(model, "cpu", threads=-1)
    if NO_CUDA:
        with pytest.raises(DeviceError, match="asks for 'cuda'"):
            open_session(model, "cuda")


@pytest.mark.skipif(not NO_CUDA, reason="a GPU is usable here")
def test_cli_device_option(tmp_path, capsys):
    layer = DenseLayer(InputLayer((None, 3), name="x"), 2)
    path = save(to_onnx({"y": layer}), tmp_path / "m.onnx")
    assert main(["bench", str(path), "--runs", "2", "--warmup", "0", "--device", "cpu"]) == 0
    assert "latency ms" in capsys.readouterr().out
    for cmd in (["run", str(path), "--input", f"x={tmp_path / 'x.npy'}"], ["bench", str(path)], ["check", str(path)]):
        np.save(tmp_path / "x.npy", np.ones((2, 3), np.float32))
        assert main([*cmd, "--device", "cuda"]) == 1
        err = capsys.readouterr().err
        assert f"graphc {cmd[0]}: error: --device cuda: device argument asks for 'cuda'" in err, err
    assert main(["bench", str(path), "--device", "tpu"]) == 1
    assert "device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got 'tpu'" in capsys.readouterr().err


# -- IO binding, forced on the CPU ----------------------------------------------------------------------------
def _bilstm_step(rule: str, binding: bool, monkeypatch: pytest.MonkeyPatch) -> tuple[graphc.Function, list, graphc.Function]:
    """A small bidirectional LSTM regressor's training step, and an evaluation function sharing its parameters."""
    monkeypatch.setenv("GRAPHC_IOBINDING", "1" if binding else "0")
    graphc.random.set_rng(np.random.RandomState(7))
    l_in = InputLayer((None, None, 3))
    fwd = LSTMLayer(l_in, 5)
    bwd = LSTMLayer(l_in, 5, backwards=True, peepholes=False)
    both = graphc.layers.ConcatLayer([fwd, bwd], axis=2)
    out = DenseLayer(ReshapeLayer(both, (-1, 10)), 2, nonlinearity=None)
    y = T.matrix("y")
    pred = get_output(out)
    cost = T.mean((pred - y) ** 2)
    params = get_all_params(out, trainable=True)
    updates = graphc.updates.adam(cost, params, 0.01) if rule == "adam" else graphc.updates.sgd(cost, params, 0.1)
    step = graphc.function([l_in.input_var, y], [cost, pred], updates=updates, device="cpu")
    evaluate = graphc.function([l_in.input_var], [pred, params[0]], device="cpu")
    monkeypatch.delenv("GRAPHC_IOBINDING")
    return step, params, evaluate


@pytest.mark.parametrize("rule", ["sgd", "adam"])
def test_iobinding_path_is_bitwise_the_plain_path(rule, monkeypatch):
    plain, p_params, p_eval = _bilstm_step(rule, False, monkeypatch)
    bound, b_params, b_eval = _bilstm_step(rule, True, monkeypatch)
    assert bound._binding and not plain._binding and b_eval._binding
    rng = np.random.default_rng(0)
    state = [v for v, _ in bound.updates]
    for i in range(6):
        x = rng.normal(size=(4, 7, 3)).astype(np.float32)
        y = rng.normal(size=(28, 2)).astype(np.float32)
        a, b = plain(x, y), bound(x, y)
        for u, v in zip(a, b):
            np.testing.assert_array_equal(u, v)
        for p, q in zip(p_params, b_params):
            np.testing.assert_array_equal(p.get_value(), q.get_value())
        if i == 2:  # set_value between calls: both paths pick the new values up
            for p, q in zip(p_params, b_params):
                new = p.get_value() * np.float32(0.5)
                p.set_value(new)
                q.set_value(new)
        if i == 4:  # a function sharing the parameters, between steps
            for u, v in zip(p_eval(x), b_eval(x)):
                np.testing.assert_array_equal(u, v)
    # the updated state lives in the function's own two buffers, written by turns: no allocation
    for var, bufs in zip(state, bound._buffers):
        assert any(var._storage() is b for b in bufs if b is not None)
    before = [var._storage() for var in state]
    bound(x, y)
    after = [var._storage() for var in state]
    assert all(a is not b for a, b in zip(before, after))
    bound(x, y)
    assert all(var._storage() is b for var, b in zip(state, before))


def test_iobinding_outputs_that_alias_state_are_not_overwritten(monkeypatch):
    monkeypatch.setenv("GRAPHC_IOBINDING", "1")
    s = graphc.shared(np.zeros(3, dtype=np.float32), name="s")
    f = graphc.function([], [s, s * 2], updates=[(s, s + 1)], device="cpu")
    reader = graphc.function([], s, device="cpu")  # shares s, updates nothing
    first = f()
    first_dev = f.run_device()
    seen = reader()
    seen_dev = reader.run_device()
    for _ in range(4):
        f()
    np.testing.assert_array_equal(first[0], np.zeros(3))
    np.testing.assert_array_equal(first[1], np.zeros(3))
    np.testing.assert_array_equal(first_dev[0].numpy(), np.ones(3))
    np.testing.assert_array_equal(seen, np.full(3, 2.0))
    np.testing.assert_array_equal(seen_dev.numpy(), np.full(3, 2.0))
    np.testing.assert_array_equal(s.get_value(), np.full(3, 6.0))


def test_iobinding_update_of_the_wrong_shape_names_it(monkeypatch):
    monkeypatch.setenv("GRAPHC_IOBINDING", "1")
    x = T.vector("x")
    s = graphc.shared(np.zeros(2), name="s")
    f = graphc.function([x], [], updates=[(s, x)], device="cpu")
    f(np.ones(2))
    with pytest.raises(ValueError, match=r"update of <shared s: float32\(2,\)> produced shape \(3,\); expected \(2,\)"):
        f(np.ones(3))
    np.testing.assert_array_equal(s.get_value(), np.ones(2))
    f(np.full(2, 2.0))
    np.testing.assert_array_equal(s.get_value(), np.full(2, 2.0))


def test_iobinding_stateless_and_errors(monkeypatch):
    monkeypatch.setenv("GRAPHC_IOBINDING", "1")
    x = T.matrix("x")
    f = graphc.function([x], [T.tanh(x), x.sum()], device="cpu")
    xv = np.arange(6, dtype=np.float32).reshape(2, 3) / 6
    got = f(xv)
    np.testing.assert_allclose(got[0], np.tanh(xv), rtol=1e-6)
    np.testing.assert_allclose(got[1], xv.sum(), rtol=1e-6)
    g = graphc.function([x], x.reshape((4, -1)), device="cpu")
    with pytest.raises(ValueError, match=r"ONNX Runtime could not run the graph on inputs x\(2, 3\)"):
        g(xv)


# -- run_device and OrtValue inputs -----------------------------------------------------------------------------
@pytest.mark.parametrize("binding", ["0", "1"])
def test_run_device_returns_ortvalues(binding, monkeypatch):
    monkeypatch.setenv("GRAPHC_IOBINDING", binding)
    x = T.matrix("x")
    s = graphc.shared(np.ones(3, dtype=np.float32), name="s")
    plain = graphc.function([x], 2 * x, device="cpu")
    step = graphc.function([x], [x * s, s.sum()], updates=[(s, s + 1)], device="cpu")
    xv = np.arange(6, dtype=np.float32).reshape(2, 3)
    y = plain.run_device(xv)
    assert isinstance(y, ort.OrtValue) and y.device_name() == "cpu" and y.shape() == [2, 3]
    np.testing.assert_array_equal(y.numpy(), 2 * xv)
    np.testing.assert_array_equal(plain(y), 4 * xv)  # an OrtValue output feeds the next call as is
    outs = step.run_device(y)
    assert all(isinstance(o, ort.OrtValue) for o in outs)
    np.testing.assert_array_equal(outs[0].numpy(), 2 * xv)
    np.testing.assert_array_equal(step(y)[0], 4 * xv)
    np.testing.assert_array_equal(s.get_value(), np.full(3, 3.0))


def test_ortvalue_inputs_are_checked_not_cast():
    x = T.matrix("x")
    f = graphc.function([x], 2 * x, device="cpu")
    with pytest.raises(TypeError, match=r"input 'x' got an OrtValue of tensor\(double\); expected dtype float32"):
        f(ort.OrtValue.ortvalue_from_numpy(np.ones((2, 3))))
    with pytest.raises(ValueError, match=r"input 'x' got an OrtValue of shape \(3,\); expected"):
        f(ort.OrtValue.ortvalue_from_numpy(np.ones(3, np.float32)))
    d = DenseLayer(InputLayer((None, 3)), 2)
    g = graphc.function([d.input_layer.input_var], get_output(d), device="cpu")
    with pytest.raises(ValueError, match=r"got an OrtValue of shape \(2, 4\); expected \(.*, 3\)"):
        g(ort.OrtValue.ortvalue_from_numpy(np.ones((2, 4), np.float32)))


# -- memcpy_nodes --------------------------------------------------------------------------------------------------
def test_memcpy_nodes_on_cpu_is_empty(monkeypatch):
    x = T.matrix("x")
    y = T.vector("y")
    d = DenseLayer(InputLayer((None, 3), input_var=x), 2, nonlinearity=None)
    cost = T.mean((get_output(d).sum(axis=1) - y) ** 2)
    step = graphc.function([x, y], cost, updates=graphc.updates.adam(cost, get_all_params(d)), device="cpu")
    assert memcpy_nodes(step) == []
    assert memcpy_nodes(step._session) == []
    assert memcpy_nodes(open_session(step.onnx_model, "cpu")) == []
    with pytest.raises(TypeError, match="expected a graphc Function or an onnxruntime.InferenceSession, got str"):
        memcpy_nodes("model.onnx")


def test_memcpy_walker_finds_copies_in_loop_bodies():
    body = helper.make_graph(
        [helper.make_node("MemcpyFromHost", ["i"], ["i_dev"], name="copy_i", domain=""),
         helper.make_node("Identity", ["c"], ["c_out"])],
        "body", [], [],
    )
    graph = helper.make_graph(
        [helper.make_node("MemcpyToHost", ["a"], ["b"], name="to_host"),
         helper.make_node("Loop", ["n", "cond"], [], name="loop", body=body),
         helper.make_node("Add", ["b", "b"], ["c"])],
        "g", [helper.make_tensor_value_info("a", TensorProto.FLOAT, [1])], [],
    )
    found: list[str] = []
    _walk(graph, "", found)
    assert found == ["MemcpyToHost to_host", "MemcpyFromHost loop/body: copy_i"]
