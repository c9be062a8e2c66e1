"""Gate grouping: an LSTM step runs one Sigmoid over its input, forget and output gates (columns regrouped
[i, f, o | c]) with the same values: IR evaluation, ONNX Runtime (Scan and Loop), onnx.reference, gradients of a
training graph against the passes off; steps without the pattern are left alone."""

from __future__ import annotations

from collections import Counter

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
from graphc.layers import ConcatLayer, GRULayer, InputLayer, LSTMLayer, get_all_params, get_output
from graphc.passes import PassManager
from graphc.passes.group_gates import group_gates
from graphc.testing import reference_evaluator
from graphc.updates import adam

RNG = np.random.default_rng(43)
OFF = {"group_gates": False}


def _mask(b: int, t: int) -> np.ndarray:
    m = (RNG.random(size=(b, t)) > 0.3).astype(np.float32)
    m[:, 0] = 1.0
    m[-1, t // 2 :] = 0.0
    return m


def _body_ops(model: onnx.ModelProto) -> list[Counter]:
    """Op counts of each loop body of the model's main graph."""
    found = []
    for node in model.graph.node:
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                found.append(Counter(n.op_type for n in attr.g.node))
    return found


def _ort(model, feeds):
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feeds)


def _lstm(masked: bool, bidirectional: bool = False, **kw):
    graphc.random.set_rng(np.random.RandomState(2))
    l_in = InputLayer((None, None, 3), name="x")
    if masked:
        kw["mask_input"] = InputLayer((None, None), name="m")
    layer = LSTMLayer(l_in, 5, peepholes=False, name="fwd", **kw)
    if bidirectional:
        layer = ConcatLayer([layer, LSTMLayer(l_in, 5, peepholes=False, name="bwd", backwards=True, **kw)], axis=2)
    inputs = [l_in.input_var] + ([kw["mask_input"].input_var] if masked else [])
    return layer, inputs


def _feeds(masked: bool, b: int = 3, t: int = 7) -> dict[str, np.ndarray]:
    feeds = {"x": RNG.normal(size=(b, t, 3)).astype(np.float32)}
    if masked:
        feeds["m"] = _mask(b, t)
    return feeds


@pytest.mark.parametrize(("masked", "bidirectional"), [(False, False), (True, False), (True, True)], ids=["plain", "masked", "masked-bidir"])
def test_one_sigmoid_per_step_and_the_same_values(masked, bidirectional):
    layer, inputs = _lstm(masked, bidirectional)
    out = get_output(layer)
    graph = build_graph([(out, "y")], inputs)
    PassManager("O2", passes={"native_rnn": False, **OFF}, verify=True).run(graph)
    feeds = _feeds(masked)
    before = evaluate(graph, feeds)[0]
    (scan,) = [n for n in graph.op_nodes() if graph.data(n).op == "scan"]
    body_before = graph.data(scan).attrs["body"].op_histogram()
    assert body_before["sigmoid"] == 3
    assert group_gates(graph) == 1
    verify(graph)
    body_after = graph.data(scan).attrs["body"].op_histogram()
    assert body_after["sigmoid"] == 1
    # four gate slices -> the sigmoid block, the tanh block, three slices of the grouped sigmoid
    assert body_after["getitem"] == body_before["getitem"] + 1
    assert sum(body_after.values()) == sum(body_before.values()) - 1
    np.testing.assert_allclose(evaluate(graph, feeds)[0], before, rtol=1e-5, atol=1e-6)
    assert group_gates(graph) == 0  # a fixed point


@pytest.mark.parametrize("loop_op", ["scan", "loop"])
def test_exported_models_match_the_ungrouped_ones(loop_op):
    layer, inputs = _lstm(True, True)
    grouped = to_onnx({"y": layer}, passes={"native_rnn": False}, loop_op=loop_op)
    apart = to_onnx({"y": layer}, passes={"native_rnn": False, **OFF}, loop_op=loop_op)
    onnx.checker.check_model(grouped, full_check=True)
    (body,) = _body_ops(grouped)
    (body_apart,) = _body_ops(apart)
    assert body["Sigmoid"] == 1 and body_apart["Sigmoid"] == 3
    assert sum(body.values()) == sum(body_apart.values()) - 1
    for b, t in [(3, 6), (1, 1), (2, 9)]:
        feeds = _feeds(True, b, t)
        want = _ort(apart, feeds)[0]
        np.testing.assert_allclose(_ort(grouped, feeds)[0], want, rtol=1e-5, atol=1e-6)
    feeds = _feeds(True, 2, 5)
    np.testing.assert_allclose(reference_evaluator(grouped).run(None, feeds)[0], _ort(apart, feeds)[0], rtol=1e-5, atol=1e-6)


def test_training_step_gradients_match_the_ungrouped_ones():
    layer, inputs = _lstm(True, True)
    y = T.matrix("y")
    cost = T.mean((get_output(layer)[:, -1] - y) ** 2)
    params = get_all_params(layer, trainable=True)
    grads = graphc.grad(cost, params + [inputs[0]])
    outs = {"cost": cost, **{f"g{i}": g for i, g in enumerate(grads)}}
    grouped, report = to_onnx(outs, inputs + [y], return_report=True)
    apart = to_onnx(outs, inputs + [y], passes=OFF)
    assert report.changes["group_gates"] == 1 and not report.unsettled
    forward = [c for c in _body_ops(grouped) if c["Sigmoid"]]
    assert [c["Sigmoid"] for c in forward] == [1]
    feeds = {**_feeds(True, 3, 6), "y": RNG.normal(size=(3, 10)).astype(np.float32)}
    for got, want in zip(_ort(grouped, feeds), _ort(apart, feeds)):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    ref = reference_evaluator(grouped).run(None, feeds)
    for got, want in zip(ref, _ort(apart, feeds)):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)


def test_adam_steps_match_the_ungrouped_ones():
    results = []
    feeds = [({**_feeds(True, 3, 5)}, RNG.normal(size=(3, 5)).astype(np.float32)) for _ in range(3)]
    for passes in ({}, OFF):
        layer, inputs = _lstm(True)
        y = T.matrix("y")
        cost = T.mean((get_output(layer)[:, -1] - y) ** 2)
        params = get_all_params(layer, trainable=True)
        f = graphc.function(inputs + [y], cost, updates=adam(cost, params), passes=passes)
        assert f.pass_report.changes.get("group_gates", 0) == (0 if passes else 1)
        costs = [f(d["x"], d["m"], yy) for d, yy in feeds]
        results.append((costs, [p.get_value() for p in params]))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-5, atol=1e-6)
    for a, b in zip(results[0][1], results[1][1]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_what_is_left_alone():
    graphc.random.set_rng(np.random.RandomState(6))
    l_in = InputLayer((None, None, 3), name="x")
    # native cells are left to native lowering
    native, report = to_onnx({"y": LSTMLayer(l_in, 4, peepholes=False)}, return_report=True)
    assert "LSTM" in {n.op_type for n in native.graph.node} and report.changes["group_gates"] == 0
    # peephole gates add c * w before their sigmoid: not slices of the gate matrix
    _, report = to_onnx({"y": LSTMLayer(l_in, 4)}, return_report=True)
    assert report.changes["group_gates"] == 0
    # one sigmoid block only
    x = T.tensor3("x")
    W = graphc.shared(RNG.normal(size=(2, 4)).astype(np.float32), name="W")

    def step(g_t, h):
        gates = g_t + T.dot(h, W)
        return T.nnet.sigmoid(gates[:, :2]) * T.tanh(gates[:, 2:])

    hs, _ = graphc.scan(step, sequences=x, outputs_info=[T.zeros((x.shape[1], 2))])
    graph = build_graph([(hs, "h")], [x])
    PassManager("O2", passes=OFF).run(graph)
    assert group_gates(graph) == 0


def test_gates_already_in_order_need_no_permutation():
    """Sigmoid blocks that lead already ([a, b | c]): one sigmoid over them, no outer change."""
    x = T.tensor3("x")
    W = graphc.shared(RNG.normal(size=(2, 6)).astype(np.float32), name="W")

    def step(g_t, h):
        gates = g_t + T.dot(h, W)
        a, b = T.nnet.sigmoid(gates[:, :2]), T.nnet.sigmoid(gates[:, 2:4])
        return a * h + b * T.tanh(gates[:, 4:])

    hs, _ = graphc.scan(step, sequences=x, outputs_info=[T.zeros((x.shape[1], 2))])
    graph = build_graph([(hs, "h")], [x])
    PassManager("O2", passes=OFF).run(graph)
    feeds = {"x": RNG.normal(size=(4, 3, 6)).astype(np.float32)}
    before = evaluate(graph, feeds)[0]
    outer_before = graph.op_histogram()
    assert group_gates(graph) == 1
    verify(graph)
    outer_after = graph.op_histogram()
    assert outer_after == outer_before  # the outer graph is unchanged
    (scan,) = [n for n in graph.op_nodes() if graph.data(n).op == "scan"]
    assert graph.data(scan).attrs["body"].op_histogram()["sigmoid"] == 1
    np.testing.assert_allclose(evaluate(graph, feeds)[0], before, rtol=1e-6, atol=1e-7)


def _gru(masked: bool, bidirectional: bool = False):
    graphc.random.set_rng(np.random.RandomState(7))
    l_in = InputLayer((None, None, 3), name="x")
    kw = {"mask_input": InputLayer((None, None), name="m")} if masked else {}
    layer = GRULayer(l_in, 5, name="fwd", **kw)
    if bidirectional:
        layer = ConcatLayer([layer, GRULayer(l_in, 5, name="bwd", backwards=True, **kw)], axis=2)
    return layer, [l_in.input_var] + ([kw["mask_input"].input_var] if masked else [])


@pytest.mark.parametrize(("masked", "bidirectional"), [(True, False), (True, True), (False, False)], ids=["masked", "masked-bidir", "plain"])
def test_gru_reset_and_update_gates_share_one_sum_and_one_sigmoid(masked, bidirectional):
    """A GRU's sigmoids read x_t[:, blk] + (h @ W)[:, blk] over adjacent blocks [r | u]: one sum, one sigmoid."""
    layer, inputs = _gru(masked, bidirectional)
    graph = build_graph([(get_output(layer), "y")], inputs)
    PassManager("O2", passes={"native_rnn": False, **OFF}, verify=True).run(graph)
    feeds = _feeds(masked)
    before = evaluate(graph, feeds)[0]
    (scan,) = [n for n in graph.op_nodes() if graph.data(n).op == "scan"]
    body_before = graph.data(scan).attrs["body"].op_histogram()
    assert body_before["sigmoid"] == 2 and body_before["add"] == 4
    outer_before = graph.op_histogram()
    assert group_gates(graph) == 1
    verify(graph)
    body_after = graph.data(scan).attrs["body"].op_histogram()
    assert body_after["sigmoid"] == 1 and body_after["add"] == 3
    assert body_after["getitem"] == body_before["getitem"]  # four slices -> two joined, two of the sigmoid
    assert sum(body_after.values()) == sum(body_before.values()) - 2
    assert graph.op_histogram() == outer_before  # nothing moves outside
    np.testing.assert_allclose(evaluate(graph, feeds)[0], before, rtol=1e-6, atol=1e-7)
    assert group_gates(graph) == 0


@pytest.mark.parametrize("loop_op", ["scan", "loop"])
def test_gru_training_graph_matches_the_ungrouped_one(loop_op):
    layer, inputs = _gru(True, True)
    y = T.matrix("y")
    cost = T.mean((get_output(layer)[:, -1] - y) ** 2)
    params = get_all_params(layer, trainable=True)
    grads = graphc.grad(cost, params + [inputs[0]])
    outs = {"cost": cost, **{f"g{i}": g for i, g in enumerate(grads)}}
    grouped, report = to_onnx(outs, inputs + [y], return_report=True, loop_op=loop_op)
    apart = to_onnx(outs, inputs + [y], passes=OFF, loop_op=loop_op)
    onnx.checker.check_model(grouped, full_check=True)
    assert report.changes["group_gates"] == 1 and not report.unsettled
    forward = [c for c in _body_ops(grouped) if c["Sigmoid"]]
    assert [c["Sigmoid"] for c in forward] == [1]
    feeds = {**_feeds(True, 3, 6), "y": RNG.normal(size=(3, 10)).astype(np.float32)}
    want = _ort(apart, feeds)
    for got, w in zip(_ort(grouped, feeds), want):
        np.testing.assert_allclose(got, w, rtol=1e-5, atol=1e-6)
    for got, w in zip(reference_evaluator(grouped).run(None, feeds), want):
        np.testing.assert_allclose(got, w, rtol=1e-4, atol=1e-6)
