"""Loop fusion: independent scans over the same steps become one scan with the same values (IR evaluation,
ONNX Runtime, onnx.reference, gradients by finite differences); dependent scans, scans of other lengths and
scans native RNN lowering takes are left alone."""

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
from graphc.layers import ConcatLayer, GRULayer, InputLayer, LSTMLayer, RecurrentLayer, get_all_params, get_output
from graphc.passes import PassManager
from graphc.passes.fuse_loops import MAX_FUSED_WIDTH, fuse_loops
from graphc.testing import reference_evaluator

RNG = np.random.default_rng(31)
NO_FUSION = {"fuse_loops": False}


def _scans(graph) -> int:
    return graph.op_histogram().get("scan", 0)


def _ops(model: onnx.ModelProto) -> Counter:
    found: Counter = Counter()

    def walk(g: onnx.GraphProto) -> None:
        for node in g.node:
            found[node.op_type] += 1
            for attr in node.attribute:
                if attr.type == onnx.AttributeProto.GRAPH:
                    walk(attr.g)

    walk(model.graph)
    return found


def _ort(model, feeds):
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feeds)


def _mask(b: int, t: int) -> np.ndarray:
    """Masks with holes (random zeros inside) and right padding (the last sequence from its middle on; all of it
    when t is 1); the other sequences keep their first step."""
    m = (RNG.random(size=(b, t)) > 0.35).astype(np.float32)
    m[:, 0] = 1.0
    m[-1, t // 2 :] = 0.0
    return m


def _bidirectional(cls, masked=True, hidden=4, **kw):
    graphc.random.set_rng(np.random.RandomState(7))
    l_in = InputLayer((None, None, 3), name="x")
    l_mask = InputLayer((None, None), name="m") if masked else None
    fwd = cls(l_in, hidden, mask_input=l_mask, name="fwd", **kw)
    bwd = cls(l_in, hidden, mask_input=l_mask, backwards=True, name="bwd", **kw)
    out = ConcatLayer([fwd, bwd], axis=2, name="y")
    return out, [l_in.input_var] + ([l_mask.input_var] if masked else [])


def _feeds(graph, b=3, t=6, masked=True):
    by_name = {"x": RNG.normal(size=(b, t, 3)), "m": _mask(b, t)}
    return {graph.data(i).name: by_name[graph.data(i).name].astype(graph.data(i).types[0].dtype) for i in graph.inputs}


def _optimized_without_fusion(outputs, inputs):
    graph = build_graph(outputs, inputs)
    PassManager("O2", NO_FUSION, verify=True).run(graph)
    return graph


def _scan_bodies(graph):
    return {graph.data(n).attrs["name"]: graph.data(n).attrs["body"] for n in graph.op_nodes() if graph.data(n).op == "scan"}


@pytest.mark.parametrize("cls", [LSTMLayer, GRULayer])
def test_a_bidirectional_layer_becomes_one_loop_running_both_cells_as_one(cls):
    out, inputs = _bidirectional(cls)
    graph = _optimized_without_fusion([(get_output(out, deterministic=True), "y")], inputs)
    assert _scans(graph) == 2
    cell = _scan_bodies(graph)["fwd"].op_histogram()
    assert cell["matmul"] == 1 and _scan_bodies(graph)["bwd"].op_histogram() == cell
    feeds = [_feeds(graph), _feeds(graph, b=1, t=2), _feeds(graph, b=2, t=1)]
    before = [evaluate(graph, f)[0] for f in feeds]
    assert fuse_loops(graph) == 1
    verify(graph)
    assert _scans(graph) == 1
    scan = next(n for n in graph.op_nodes() if graph.data(n).op == "scan")
    a = graph.data(scan).attrs
    assert a["name"] == "fwd+bwd" and not a["reverse"]
    # one cell's ops, each over both cells' stacked values: one batched matmul, one op per gate nonlinearity
    # (plus unit axes for the stacked per-cell vectors: peepholes)
    fused = a["body"].op_histogram()
    assert {k: v for k, v in fused.items() if k != "expand_dims"} == cell and fused.get("expand_dims", 0) <= 3
    n_states = 2 if cls is LSTMLayer else 1
    assert a["n_states"] == n_states
    assert all(a["body"].type_of(v).shape[0] == 2 for v, _ in a["body"].outputs[:n_states])  # (2, batch, hidden)
    for f, want in zip(feeds, before):
        np.testing.assert_allclose(evaluate(graph, f)[0], want, rtol=1e-6, atol=1e-7)
    assert fuse_loops(graph) == 0


def test_different_cells_fuse_side_by_side():
    # an LSTM forward and a GRU of another width backward: one loop holding both cells
    graphc.random.set_rng(np.random.RandomState(3))
    l_in = InputLayer((None, None, 3), name="x")
    l_mask = InputLayer((None, None), name="m")
    lstm = LSTMLayer(l_in, 4, mask_input=l_mask, name="lstm")
    gru = GRULayer(l_in, 5, mask_input=l_mask, backwards=True, name="gru")
    out = ConcatLayer([lstm, gru], axis=2, name="y")
    inputs = [l_in.input_var, l_mask.input_var]
    graph = _optimized_without_fusion([(get_output(out), "y")], inputs)
    bodies = _scan_bodies(graph)
    nodes_before = len(graph)
    feeds = _feeds(graph)
    before = evaluate(graph, feeds)[0]
    assert fuse_loops(graph) == 1
    verify(graph)
    body = _scan_bodies(graph)["lstm+gru"]
    want = Counter(bodies["lstm"].op_histogram()) + Counter(bodies["gru"].op_histogram())
    assert body.op_histogram() == dict(want) and body.op_histogram()["matmul"] == 2
    assert len(graph) == nodes_before - 1 + 2  # the GRU's two sequences (projection, mask) are fed reversed
    np.testing.assert_allclose(evaluate(graph, feeds)[0], before, rtol=1e-6, atol=1e-7)
    fused, apart = to_onnx({"y": out}), to_onnx({"y": out}, passes=NO_FUSION)
    assert _ops(apart)["Scan"] == 2 and _ops(fused)["Scan"] == 1
    scan = next(n for n in fused.graph.node if n.op_type == "Scan")
    directions = next(a.ints for a in scan.attribute if a.name == "scan_input_directions")
    assert sorted(directions) == [0, 0, 1, 1]  # the GRU reads its sequences backwards, without reversed copies
    assert _ops(fused)["Slice"] == _ops(apart)["Slice"]
    loop = to_onnx({"y": out}, loop_op="loop")
    for b, t in [(3, 6), (2, 1)]:
        feeds = {"x": RNG.normal(size=(b, t, 3)).astype(np.float32), "m": _mask(b, t)}
        want = _ort(apart, feeds)[0]
        for model in (fused, loop):
            np.testing.assert_allclose(_ort(model, feeds)[0], want, rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(reference_evaluator(model).run(None, feeds)[0], want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cls", [LSTMLayer, GRULayer])
def test_exported_fused_loop_matches_the_unfused_model(cls):
    out, _ = _bidirectional(cls)
    fused = to_onnx({"y": out})
    apart = to_onnx({"y": out}, passes=NO_FUSION)
    assert _ops(apart)["Scan"] == 2 and _ops(fused)["Scan"] == 1
    body = next(n for n in fused.graph.node if n.op_type == "Scan").attribute[0].g
    assert [n.op_type for n in body.node].count("MatMul") == 1  # one batched product for both cells
    loop = to_onnx({"y": out}, loop_op="loop")
    assert _ops(loop)["Loop"] == 1
    for b, t in [(3, 6), (1, 2), (2, 1)]:
        feeds = {"x": RNG.normal(size=(b, t, 3)).astype(np.float32), "m": _mask(b, t)}
        want = _ort(apart, feeds)[0]
        for model in (fused, loop):
            np.testing.assert_allclose(_ort(model, feeds)[0], want, rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(reference_evaluator(model).run(None, feeds)[0], want, rtol=1e-5, atol=1e-6)


@pytest.fixture
def float64():
    graphc.config.floatX = "float64"
    yield
    graphc.config.floatX = "float32"


@pytest.mark.parametrize("cls", [LSTMLayer, GRULayer])
def test_gradients_through_fused_loops_match_finite_differences(cls, float64):
    out, inputs = _bidirectional(cls, hidden=3)
    y = get_output(out, deterministic=True)
    b, t = 2, 5
    probe = RNG.normal(size=(b, t, 6))
    cost = T.sum(y * probe)
    params = get_all_params(out, trainable=True)
    grads = graphc.grad(cost, params + [inputs[0]])
    f = graphc.function(inputs, grads)
    f_apart = graphc.function(inputs, grads, passes=NO_FUSION)
    fc = graphc.function(inputs, cost)
    assert f.pass_report.changes["fuse_loops"] == 2  # the forward pair and the backward pair
    graph = build_graph([(g, f"g{i}") for i, g in enumerate(grads)], inputs)
    PassManager("O2", verify=True).run(graph)
    assert _scans(graph) == 2
    x, m = RNG.normal(size=(b, t, 3)), _mask(b, t).astype(np.float64)
    got = f(x, m)
    for g, w in zip(got, f_apart(x, m)):
        np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-12)
    eps = 1e-6
    for p, g in zip(params, got):  # one random direction per parameter
        direction = RNG.normal(size=p.get_value().shape)
        base = p.get_value()
        p.set_value(base + eps * direction)
        up = fc(x, m)
        p.set_value(base - eps * direction)
        down = fc(x, m)
        p.set_value(base)
        np.testing.assert_allclose((up - down) / (2 * eps), np.sum(g * direction), rtol=1e-5, atol=1e-8, err_msg=p.name)
    direction = RNG.normal(size=x.shape)
    fd = (fc(x + eps * direction, m) - fc(x - eps * direction, m)) / (2 * eps)
    np.testing.assert_allclose(fd, np.sum(got[-1] * direction), rtol=1e-5, atol=1e-8)


def test_training_graph_fuses_the_forward_and_the_backward_pairs():
    out, inputs = _bidirectional(LSTMLayer)
    y = get_output(out, deterministic=True)
    cost = T.mean(y**2)
    params = get_all_params(out, trainable=True)
    outputs = [(cost, "cost")] + [(g, p.name) for g, p in zip(graphc.grad(cost, params), params)]
    graph = _optimized_without_fusion(outputs, inputs)
    assert _scans(graph) == 4
    feeds = _feeds(graph)
    before = evaluate(graph, feeds)
    assert fuse_loops(graph) == 2
    verify(graph)
    assert _scans(graph) == 2
    names = sorted(graph.data(n).attrs["name"] for n in graph.op_nodes() if graph.data(n).op == "scan")
    assert names == ["fwd+bwd", "fwd_grad+bwd_grad"]
    for a, b in zip(evaluate(graph, feeds), before):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_dependent_loops_stay_apart():
    graphc.random.set_rng(np.random.RandomState(8))
    l_in = InputLayer((None, None, 3), name="x")
    first = LSTMLayer(l_in, 4, name="first")
    second = LSTMLayer(first, 5, name="second", backwards=True)  # reads the first loop's outputs
    graph = _optimized_without_fusion([(get_output(second), "y")], [l_in.input_var])
    assert _scans(graph) == 2
    assert fuse_loops(graph) == 0 and _scans(graph) == 2


def test_loops_of_different_lengths_stay_apart():
    x, u = T.matrix("x"), T.matrix("u")  # lengths x.shape[0] and u.shape[0] are unrelated
    sx, _ = graphc.scan(lambda v, h: T.tanh(h + v), sequences=[x], outputs_info=[T.zeros((3,))])
    su, _ = graphc.scan(lambda v, h: T.tanh(h * v), sequences=[u], outputs_info=[T.ones((3,))])
    graph = _optimized_without_fusion([(sx, "sx"), (su, "su")], [x, u])
    assert _scans(graph) == 2
    assert fuse_loops(graph) == 0


def test_counted_loops_fuse_in_the_same_direction_only():
    n = T.iscalar("n")
    x = T.matrix("x")
    a, _ = graphc.scan(lambda v, h: h * 0.5 + v, sequences=[x], outputs_info=[T.zeros((3,))], n_steps=n)
    b, _ = graphc.scan(lambda h: h * 2.0 + 1.0, outputs_info=[T.ones((2,))], n_steps=n)
    c, _ = graphc.scan(lambda v, h: h - v, sequences=[x], outputs_info=[T.zeros((3,))], n_steps=n, go_backwards=True)
    graph = _optimized_without_fusion([(a, "a"), (b, "b"), (c, "c")], [n, x])
    assert _scans(graph) == 3
    feeds = {"n": np.array(4, np.int32), "x": RNG.normal(size=(6, 3)).astype(np.float32)}
    before = evaluate(graph, feeds)
    assert fuse_loops(graph) == 1  # a and b; c runs the other way over the first n elements
    verify(graph)
    assert _scans(graph) == 2
    for got, want in zip(evaluate(graph, feeds), before):
        np.testing.assert_allclose(got, want, rtol=1e-6)
    model = to_onnx({"a": a, "b": b, "c": c}, [n, x])
    assert _ops(model)["Loop"] == 2
    for got, want in zip(reference_evaluator(model).run(None, feeds), before):
        np.testing.assert_allclose(got, want, rtol=1e-6)


def test_three_loops_over_one_sequence_become_one():
    x = T.tensor3("x")  # (time, batch, 2)
    outs = []
    for k, backwards in enumerate([False, True, False]):
        W = graphc.shared(RNG.normal(size=(2, 3)).astype(np.float32), name=f"W{k}")
        h, _ = graphc.scan(lambda v, h, W=W: T.tanh(T.dot(v, W) + h), sequences=[x],
                           outputs_info=[T.zeros((x.shape[1], 3))], go_backwards=backwards)  # fmt: skip
        outs.append((h, f"h{k}"))
    graph = _optimized_without_fusion(outs, [x])
    assert _scans(graph) == 3
    feeds = {"x": RNG.normal(size=(5, 2, 2)).astype(np.float32)}
    before = evaluate(graph, feeds)
    assert fuse_loops(graph) == 2
    verify(graph)
    assert _scans(graph) == 1
    for got, want in zip(evaluate(graph, feeds), before):
        np.testing.assert_allclose(got, want, rtol=1e-6)
    model = to_onnx(dict((name, v) for v, name in outs), [x])
    assert _ops(model)["Scan"] == 1
    for got, want in zip(_ort(model, feeds), before):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_native_cells_are_not_fused():
    # unmasked GRUs and, on the CPU, peephole LSTMs become ONNX GRU/LSTM nodes: fusion leaves them to that
    out, _ = _bidirectional(GRULayer, masked=False)
    model, report = to_onnx({"y": out}, return_report=True)
    assert _ops(model)["GRU"] == 2 and not _ops(model)["Scan"] and report.changes["fuse_loops"] == 0
    out, _ = _bidirectional(LSTMLayer, masked=False)
    model, report = to_onnx({"y": out}, return_report=True, target="cpu")
    assert _ops(model)["LSTM"] == 2 and not _ops(model)["Scan"] and report.changes["fuse_loops"] == 0
    # a portable export keeps peephole LSTMs loops: those fuse
    model, report = to_onnx({"y": out}, return_report=True)
    assert _ops(model)["Scan"] == 1 and report.changes["fuse_loops"] == 1
    # a native-lowerable cell next to a loop that is not: the loop is not fused with the cell
    graphc.random.set_rng(np.random.RandomState(9))
    l_in = InputLayer((None, None, 3), name="x")
    gru = GRULayer(l_in, 4, name="gru")
    rnn = RecurrentLayer(l_in, 4, name="rnn", backwards=True)
    graph = build_graph([(get_output(ConcatLayer([gru, rnn], axis=2)), "y")], [l_in.input_var])
    # (group_gates off too: it runs after fusion, in the layout phase, and regroups the cell's gates)
    PassManager("O2", {"native_rnn": False, "fuse_loops": False, "group_gates": False}).run(graph)
    assert _scans(graph) == 2
    assert fuse_loops(graph) == 0 and _scans(graph) == 2


@pytest.mark.parametrize("hidden, fused", [(MAX_FUSED_WIDTH, True), (MAX_FUSED_WIDTH + 1, False), (128, False)])
def test_only_narrow_cells_fuse(hidden, fused):
    # wide cells run slower fused (batched products on stacked weights, one more copy of the sequences):
    # measured on the BiLSTM training step, see the module's docstring
    out, inputs = _bidirectional(LSTMLayer, hidden=hidden)
    graph = _optimized_without_fusion([(get_output(out, deterministic=True), "y")], inputs)
    assert _scans(graph) == 2
    assert fuse_loops(graph) == int(fused)
    assert _scans(graph) == (1 if fused else 2)
