"""Native RNN lowering: scans that are exactly LSTM/GRU cells become ONNX LSTM/GRU with identical
outputs; everything else keeps its loop (an ONNX Scan, or a Loop)."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import graphc
import graphc.tensor as T
from graphc.export import to_onnx
from graphc.ir.build import build_graph
from graphc.ir.evaluate import evaluate
from graphc.ir.verify import verify
from graphc.layers import GRULayer, InputLayer, LSTMLayer, get_output
from graphc.passes import PassManager, native_rnn
from graphc.testing import reference_evaluator

RNG = np.random.default_rng(21)


def _ops(model):
    return {n.op_type for n in model.graph.node}


def _has_loop(model):
    return bool({"Loop", "Scan"} & _ops(model))


def _run(model, feeds):
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feeds)[0]


CASES = [
    (LSTMLayer, {}),
    (LSTMLayer, {"peepholes": False}),
    (LSTMLayer, {"backwards": True, "learn_init": True}),
    (LSTMLayer, {"only_return_final": True, "grad_clipping": 5.0}),
    (GRULayer, {}),
    (GRULayer, {"backwards": True, "grad_clipping": 1.0}),
]


@pytest.mark.parametrize(("cls", "kw"), CASES, ids=[f"{c.__name__}-{'-'.join(k) or 'default'}" for c, k in CASES])
def test_lowered_cells_match_the_loop(cls, kw):
    graphc.random.set_rng(np.random.RandomState(3))
    l_in = InputLayer((None, None, 3), name="x")
    layer = cls(l_in, 5, hid_init=graphc.init.Normal(0.5), **kw)
    native = to_onnx({"y": layer}, optimize="O2", target="cpu")
    loop = to_onnx({"y": layer}, optimize="O2", passes={"native_rnn": False}, target="cpu")
    onnx.checker.check_model(native, full_check=True)
    want_op = "LSTM" if cls is LSTMLayer else "GRU"
    assert want_op in _ops(native) and not _has_loop(native)
    assert _has_loop(loop) and want_op not in _ops(loop)
    for b, t in [(4, 7), (1, 2)]:
        x = RNG.normal(size=(b, t, 3)).astype(np.float32)
        np.testing.assert_allclose(_run(native, {"x": x}), _run(loop, {"x": x}), rtol=1e-5, atol=1e-6)
    x = RNG.normal(size=(2, 5, 3)).astype(np.float32)
    ref = reference_evaluator(native).run(None, {"x": x})[0]
    np.testing.assert_allclose(ref, _run(loop, {"x": x}), rtol=1e-5, atol=1e-6)


def test_pass_on_the_ir_keeps_values_and_node_count_drops():
    l_in = InputLayer((None, None, 3))
    layer = LSTMLayer(l_in, 4)
    g = build_graph([(get_output(layer), "y")], [l_in.input_var])
    g.target = "cpu"  # peephole cells are lowered only for ONNX Runtime's CPU kernel
    PassManager("O1").run(g)
    feeds = {l_in.input_var.name: RNG.normal(size=(2, 6, 3)).astype(np.float32)}
    before = evaluate(g, feeds)[0]
    scans = sum(1 for n in g.op_nodes() if g.data(n).op == "scan")
    assert scans == 1
    assert native_rnn(g) == 1
    verify(g)
    hist = g.op_histogram()
    assert "scan" not in hist and hist["lstm"] == 1
    np.testing.assert_allclose(evaluate(g, feeds)[0], before, rtol=1e-5, atol=1e-6)


def test_what_is_not_lowered():
    l_in = InputLayer((None, None, 3), name="x")
    l_mask = InputLayer((None, None), name="m")
    masked = LSTMLayer(l_in, 4, mask_input=l_mask)  # masks may have holes: never lowered
    assert _has_loop(to_onnx({"y": masked}, optimize="O2", target="cpu"))
    no_pre = GRULayer(l_in, 4, precompute_input=False)  # hoisting moves the projection out, then it lowers
    assert "GRU" in _ops(to_onnx({"y": no_pre}, optimize="O2", target="cpu"))
    assert _has_loop(to_onnx({"y": no_pre}, optimize="O2", passes={"hoist": False}, target="cpu"))
    linear = LSTMLayer(l_in, 4, nonlinearity=None)  # identity is not an ONNX RNN activation
    assert _has_loop(to_onnx({"y": linear}, optimize="O2", target="cpu"))
    relu = LSTMLayer(l_in, 4, nonlinearity=T.nnet.relu)  # ONNX Runtime mis-computes a Relu output activation
    assert _has_loop(to_onnx({"y": relu}, optimize="O2", target="cpu"))
    l64 = InputLayer((None, None, 3), input_var=T.tensor3("x64", dtype="float64"))
    graphc.config.floatX = "float64"
    try:
        lstm64 = LSTMLayer(l64, 4)  # ONNX Runtime's LSTM kernel is float32 only
    finally:
        graphc.config.floatX = "float32"
    assert _has_loop(to_onnx({"y": lstm64}, optimize="O2", target="cpu"))
    # the stacked cell states are needed: ONNX's LSTM cannot give them
    x = T.tensor3("x")
    W = graphc.shared(RNG.normal(size=(3, 8)), name="W")
    U = graphc.shared(RNG.normal(size=(2, 8)), name="U")

    def step(g_t, c, h):
        gates = g_t + T.dot(h, U)
        i, f, c_in, o = (T.nnet.sigmoid(gates[:, k * 2 : (k + 1) * 2]) for k in range(4))
        c_new = f * c + i * T.tanh(gates[:, 4:6])
        return c_new, T.nnet.sigmoid(gates[:, 6:8]) * T.tanh(c_new)

    proj = T.dot(x, W)
    (cells, hids), _ = graphc.scan(step, sequences=proj, outputs_info=[T.zeros((x.shape[1], 2)), T.zeros((x.shape[1], 2))])
    m = to_onnx({"c": cells, "h": hids}, [x], optimize="O2", target="cpu")
    assert _has_loop(m)


def test_bidirectional_pair_both_lower():
    l_in = InputLayer((None, None, 3), name="x")
    fwd = LSTMLayer(l_in, 4)
    bwd = LSTMLayer(l_in, 4, backwards=True)
    both = graphc.layers.ConcatLayer([fwd, bwd], axis=2)
    native = to_onnx({"y": both}, target="cpu")
    ops = [n.op_type for n in native.graph.node]
    assert ops.count("LSTM") == 2 and not {"Loop", "Scan"} & set(ops)
    loop = to_onnx({"y": both}, passes={"native_rnn": False}, target="cpu")
    x = RNG.normal(size=(2, 5, 3)).astype(np.float32)
    np.testing.assert_allclose(_run(native, {"x": x}), _run(loop, {"x": x}), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cls", [LSTMLayer, GRULayer])
def test_zero_initial_states_are_left_out_of_frozen_exports(cls):
    """A zero hid_init/cell_init exported as initializers becomes ONNX's default (absent) initial state:
    no Shape/Expand broadcast; a non-zero one, or parameters as inputs, keep it."""
    graphc.random.set_rng(np.random.RandomState(4))
    l_in = InputLayer((None, None, 3), name="x")
    zero = cls(l_in, 5)
    nonzero = cls(l_in, 5, hid_init=graphc.init.Normal(0.5))
    loop = to_onnx({"y": zero}, passes={"native_rnn": False}, target="cpu")
    native = to_onnx({"y": zero}, target="cpu")
    op = "LSTM" if cls is LSTMLayer else "GRU"
    node = next(n for n in native.graph.node if n.op_type == op)
    n_states = 2 if cls is LSTMLayer else 1
    assert list(node.input[5 : 5 + n_states]) == [""] * n_states
    assert not {"Expand", "Shape"} & _ops(native)
    kept = next(n for n in to_onnx({"y": nonzero}, target="cpu").graph.node if n.op_type == op)
    assert all(kept.input[5 : 5 + n_states])
    as_inputs = to_onnx({"y": zero}, params="inputs", target="cpu")  # the values may change: nothing assumed
    assert all(next(n for n in as_inputs.graph.node if n.op_type == op).input[5 : 5 + n_states])
    for b, t in [(3, 6), (1, 1)]:
        x = RNG.normal(size=(b, t, 3)).astype(np.float32)
        np.testing.assert_allclose(_run(native, {"x": x}), _run(loop, {"x": x}), rtol=1e-5, atol=1e-6)
    x = RNG.normal(size=(2, 4, 3)).astype(np.float32)
    ref = reference_evaluator(native).run(None, {"x": x})[0]
    np.testing.assert_allclose(ref, _run(loop, {"x": x}), rtol=1e-5, atol=1e-6)


def test_zero_initial_follows_the_values_at_export_time():
    """Frozen means today's value: after set_value to non-zero, the next export keeps the state."""
    l_in = InputLayer((None, None, 3), name="x")
    layer = LSTMLayer(l_in, 4)
    assert "Expand" not in _ops(to_onnx({"y": layer}, target="cpu"))
    layer.hid_init.set_value(np.full((1, 4), 0.25, np.float32))
    native = to_onnx({"y": layer}, target="cpu")
    loop = to_onnx({"y": layer}, passes={"native_rnn": False}, target="cpu")
    assert "Expand" in _ops(native)
    x = RNG.normal(size=(2, 3, 3)).astype(np.float32)
    np.testing.assert_allclose(_run(native, {"x": x}), _run(loop, {"x": x}), rtol=1e-5, atol=1e-6)


def test_peephole_cells_are_lowered_only_for_the_cpu():
    """ONNX Runtime's CUDA LSTM (cuDNN) ignores the peephole input P: exports for any runtime or
    for CUDA keep a peephole cell a loop; cells without peepholes lower for every target."""
    l_in = InputLayer((None, None, 3), name="x")
    peep = LSTMLayer(l_in, 4)
    plain = LSTMLayer(l_in, 4, peepholes=False)
    for target in ("any", "cuda"):
        assert _has_loop(to_onnx({"y": peep}, target=target)) and "LSTM" not in _ops(to_onnx({"y": peep}, target=target))
        assert "LSTM" in _ops(to_onnx({"y": plain}, target=target))
    assert "LSTM" in _ops(to_onnx({"y": peep}, target="cpu"))
    assert _has_loop(to_onnx({"y": peep}))  # the default is portable
    with pytest.raises(ValueError, match="target must be one of"):
        to_onnx({"y": peep}, target="gpu")
    f = graphc.function([l_in.input_var], get_output(peep), device="cpu")  # a function knows its device
    assert f.graph.target == "cpu" and "LSTM" in {n.op_type for n in f.onnx_model.graph.node}


def test_a_large_static_batch_keeps_a_gru_a_loop_on_the_cpu():
    from graphc.passes.native_rnn import NATIVE_GRU_MAX_CELLS, native_gru_pays

    hidden = 8
    big = NATIVE_GRU_MAX_CELLS // hidden  # a batch of that many rows reaches the measured bound
    graphc.random.set_rng(np.random.RandomState(4))
    for batch, native_on_cpu in ((None, True), (big - 1, True), (big, False)):
        l_in = InputLayer((batch, None, 3), name="x")
        layer = GRULayer(l_in, hidden)
        on_cpu = to_onnx({"y": layer}, target="cpu")
        assert ("GRU" in _ops(on_cpu)) is native_on_cpu and _has_loop(on_cpu) is not native_on_cpu
        assert "GRU" in _ops(to_onnx({"y": layer}))  # another runtime (a GPU's cuDNN): native
        if not native_on_cpu:
            x = RNG.normal(size=(batch, 3, 3)).astype(np.float32)
            np.testing.assert_allclose(_run(on_cpu, {"x": x}), _run(to_onnx({"y": layer}), {"x": x}), rtol=1e-5, atol=1e-6)
    fn = graphc.function([l_in.input_var], get_output(layer))
    assert "GRU" not in {n.op_type for n in fn.onnx_model.graph.node}  # graphc.function runs on the CPU here
    assert native_gru_pays(fn.graph, None, 10_000) and not native_gru_pays(fn.graph, 64, 256)
