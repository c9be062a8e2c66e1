"""Native RNN lowering in training graphs: a forward loop whose per-step values the backward pass reads stays a
loop, with no native op beside it doing the same work again, and the performance phase reaches a fixed point;
a scan is lowered only when the native op gives everything read of it (every stacked output of the new hidden
state), and inference graphs are lowered as before."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

import graphc
import graphc.tensor as T
from graphc.export import to_onnx
from graphc.ir.build import build_graph
from graphc.ir.evaluate import evaluate
from graphc.ir.verify import verify
from graphc.layers import ConcatLayer, GRULayer, InputLayer, LSTMLayer, get_all_params, get_output
from graphc.passes import PassManager, native_rnn
from graphc.passes.manager import MAX_ROUNDS
from graphc.updates import adam

RNG = np.random.default_rng(17)


def _mask(b: int, t: int) -> np.ndarray:
    """Holes inside, right padding on the last sequence, the first step always valid."""
    m = (RNG.random(size=(b, t)) > 0.3).astype(np.float32)
    m[:, 0] = 1.0
    m[-1, t // 2 :] = 0.0
    return m


def _network(cls, masked: bool, bidirectional: bool, seed: int = 5, **kw):
    """A recurrent layer (or a bidirectional pair), its cost against a target, and the inputs."""
    graphc.random.set_rng(np.random.RandomState(seed))
    x, y, m = T.tensor3("x"), T.matrix("y"), T.matrix("m")
    l_in = InputLayer((None, None, 3), input_var=x)
    if masked:
        kw["mask_input"] = InputLayer((None, None), input_var=m)
    layer = cls(l_in, 4, name="fwd", **kw)
    if bidirectional:
        layer = ConcatLayer([layer, cls(l_in, 4, name="bwd", backwards=True, **kw)], axis=2)
    cost = T.mean((get_output(layer)[:, -1] - y) ** 2)
    return layer, cost, [x, y] + ([m] if masked else [])


def _feeds(inputs, n_out: int = 4, b: int = 3, t: int = 6) -> dict[str, np.ndarray]:
    feeds = {"x": RNG.normal(size=(b, t, 3)).astype(np.float32)}
    feeds["y"] = RNG.normal(size=(b, n_out)).astype(np.float32)
    if len(inputs) == 3:
        feeds["m"] = _mask(b, t)
    return feeds


def _training_graph(cls, masked, bidirectional, **kw):
    layer, cost, inputs = _network(cls, masked, bidirectional, **kw)
    updates = adam(cost, get_all_params(layer, trainable=True))
    named = [(cost, "cost")] + [(new, f"update{i}") for i, new in enumerate(updates.values())]
    return named, inputs


CASES = [
    (GRULayer, False, False, {}),
    (GRULayer, True, False, {}),
    (GRULayer, False, True, {}),
    (GRULayer, False, False, {"learn_init": True, "grad_clipping": 1.0}),
    (LSTMLayer, False, False, {"peepholes": False}),
    (LSTMLayer, False, False, {}),
    (LSTMLayer, True, True, {}),
]
IDS = [f"{c.__name__}{'-masked' if m else ''}{'-bidir' if b else ''}{'-' + '-'.join(k) if k else ''}" for c, m, b, k in CASES]


@pytest.mark.parametrize(("cls", "masked", "bidirectional", "kw"), CASES, ids=IDS)
def test_training_step_settles_with_one_loop_per_recurrence(cls, masked, bidirectional, kw):
    named, inputs = _training_graph(cls, masked, bidirectional, **kw)
    graph = build_graph(named, inputs)
    graph.target = "cpu"  # where peephole cells would be lowered too
    reference = build_graph(named, inputs)
    report = PassManager("O2", verify=True).run(graph)
    # a fixed point well under the round limit, and native lowering never claimed a change
    assert not report.unsettled and report.rounds["performance"] <= 4 < MAX_ROUNDS
    assert report.changes.get("native_rnn", 0) == 0
    assert native_rnn(graph) == 0  # nothing left to do: calling it again changes nothing
    hist = graph.op_histogram()
    # the forward loop stays (the backward reads its stashed per-step values): no native op repeats its work;
    # one forward and one backward loop (a bidirectional pair's loops fused two by two)
    assert "gru" not in hist and "lstm" not in hist
    assert hist["scan"] == 2
    feeds = _feeds(inputs, n_out=8 if bidirectional else 4)
    for got, want in zip(evaluate(graph, feeds), evaluate(reference, feeds)):
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=1e-6)


def test_before_the_fix_a_native_gru_ran_beside_the_forward_loop():
    """The scenario of the bug: stash gives the forward loop extra stacked outputs, then native lowering would
    replace only the stacked hidden states, leaving the loop to run for the rest. It now leaves the loop alone."""
    named, inputs = _training_graph(GRULayer, False, False)
    graph = build_graph(named, inputs)
    PassManager("O2", passes={"native_rnn": False}).run(graph)
    forward = [n for n in graph.op_nodes() if graph.data(n).op == "scan" and not graph.data(n).attrs["name"].endswith("_grad")]
    assert len(forward) == 1
    read = [p for p in range(len(graph.data(forward[0]).types)) if graph.uses((forward[0], p))]
    assert len(read) > 1  # the stacked hidden states and stashed per-step values
    size = len(graph)
    assert native_rnn(graph) == 0 and len(graph) == size and "gru" not in graph.op_histogram()


def _run_steps(f, feeds_list):
    return [np.asarray(f(*feeds)) for feeds in feeds_list]


@pytest.mark.parametrize(("cls", "masked"), [(GRULayer, False), (GRULayer, True), (LSTMLayer, False)], ids=["gru", "gru-masked", "lstm"])
def test_compiled_training_steps_match_the_unoptimized_ones(cls, masked):
    """Three Adam steps through ONNX Runtime at O2 and at O0 (same initial parameters): same costs, same
    parameters after; the O2 step has a forward and a backward loop and no native op."""
    b, t = 3, 5
    feeds_list = []
    for _ in range(3):
        feeds = [RNG.normal(size=(b, t, 3)).astype(np.float32), RNG.normal(size=(b, 4)).astype(np.float32)]
        if masked:
            feeds.append(_mask(b, t))
        feeds_list.append(feeds)
    results = []
    for level in ("O2", "O0"):
        layer, cost, inputs = _network(cls, masked, False, seed=11)
        params = get_all_params(layer, trainable=True)
        f = graphc.function(inputs, cost, updates=adam(cost, params), optimize=level, device="cpu")
        if level == "O2":
            assert not f.pass_report.unsettled and f.pass_report.rounds["performance"] <= 4
            ops = {n.op_type for n in f.onnx_model.graph.node}
            assert "Scan" in ops and not {"GRU", "LSTM"} & ops
        costs = _run_steps(f, feeds_list)
        results.append((costs, [p.get_value() for p in params]))
    (costs2, params2), (costs0, params0) = results
    np.testing.assert_allclose(costs2, costs0, rtol=1e-5, atol=1e-6)
    for a, w in zip(params2, params0):
        np.testing.assert_allclose(a, w, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("cls", [GRULayer, LSTMLayer])
def test_gradients_match_the_passes_off(cls):
    """The gradients of a float32 training graph: O2 (loops kept) against O0 (no passes), ONNX Runtime."""
    layer, cost, inputs = _network(cls, True, False, peepholes=False) if cls is LSTMLayer else _network(cls, True, False)
    params = get_all_params(layer, trainable=True)
    grads = graphc.grad(cost, params + [inputs[0]])
    outs = {f"g{i}": g for i, g in enumerate(grads)}
    feeds = _feeds(inputs, b=2, t=7)
    models = [to_onnx(outs, inputs, optimize=level, target="cpu") for level in ("O2", "O0")]
    assert not {"GRU", "LSTM"} & {n.op_type for n in models[0].graph.node}
    runs = [ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feeds) for m in models]
    for a, w in zip(*runs):
        np.testing.assert_allclose(a, w, rtol=1e-4, atol=1e-6)


def _lstm_scan(with_extra_h: bool):
    """A hand-written LSTM step with Lasagne's gate layout over a precomputed projection, returning
    (cell, hidden) and, optionally, the hidden state a second time as a per-step output."""
    x = T.tensor3("x")
    W = graphc.shared(RNG.normal(size=(3, 8)).astype(np.float32), name="W")
    b = graphc.shared(RNG.normal(size=(8,)).astype(np.float32), name="b")
    U = graphc.shared(RNG.normal(size=(2, 8)).astype(np.float32), name="U")

    def step(g_t, c, h):
        gates = g_t + T.dot(h, U)
        i, f, o = (T.nnet.sigmoid(gates[:, k * 2 : (k + 1) * 2]) for k in (0, 1, 3))
        c_new = f * c + i * T.tanh(gates[:, 4:6])
        h_new = o * T.tanh(c_new)
        return (c_new, h_new, h_new) if with_extra_h else (c_new, h_new)

    proj = T.dot(x.dimshuffle(1, 0, 2), W) + b  # time-major, as Lasagne projects
    init = [T.zeros((x.shape[0], 2)), T.zeros((x.shape[0], 2))]
    outs, _ = graphc.scan(step, sequences=proj, outputs_info=init + ([None] if with_extra_h else []))
    return x, outs


def test_every_stacked_hidden_output_is_replaced():
    """A scan that stacks the new hidden state twice (as its carried state and as a per-step output) and is read
    through both: the native op replaces both, and the scan is gone."""
    x, (cells, hids, extra) = _lstm_scan(with_extra_h=True)
    graph = build_graph([(hids, "h"), (extra * 2.0, "h2")], [x])
    graph.target = "cpu"
    PassManager("O1").run(graph)
    feeds = {"x": RNG.normal(size=(3, 5, 3)).astype(np.float32)}
    before = evaluate(graph, feeds)
    assert graph.op_histogram()["scan"] == 1
    assert native_rnn(graph) == 1
    verify(graph)
    hist = graph.op_histogram()
    assert "scan" not in hist and hist["lstm"] == 1
    for got, want in zip(evaluate(graph, feeds), before):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert native_rnn(graph) == 0


def test_a_scan_read_for_what_the_native_op_does_not_give_is_left_unchanged():
    x, (cells, hids) = _lstm_scan(with_extra_h=False)
    graph = build_graph([(hids, "h"), (cells, "c")], [x])  # the stacked cell states: ONNX's LSTM gives the last only
    graph.target = "cpu"
    PassManager("O1").run(graph)
    size, hist = len(graph), graph.op_histogram()
    assert native_rnn(graph) == 0
    assert len(graph) == size and graph.op_histogram() == hist
    # the same cell read only for its hidden states is lowered
    x, (cells, hids) = _lstm_scan(with_extra_h=False)
    graph = build_graph([(hids, "h")], [x])
    graph.target = "cpu"
    PassManager("O1").run(graph)
    assert native_rnn(graph) == 1 and "scan" not in graph.op_histogram()


@pytest.mark.parametrize("cls", [GRULayer, LSTMLayer])
def test_inference_functions_still_get_the_native_op(cls):
    layer, _, inputs = _network(cls, False, False, peepholes=False) if cls is LSTMLayer else _network(cls, False, False)
    f = graphc.function(inputs[:1], get_output(layer), device="cpu")
    assert f.pass_report.changes["native_rnn"] == 1 and not f.pass_report.unsettled
    ops = {n.op_type for n in f.onnx_model.graph.node}
    assert cls.__name__[:-5].upper() in ops and "Scan" not in ops
    g = graphc.function(inputs[:1], get_output(layer), passes={"native_rnn": False}, device="cpu")
    x = RNG.normal(size=(2, 5, 3)).astype(np.float32)
    np.testing.assert_allclose(f(x), g(x), rtol=1e-5, atol=1e-6)
