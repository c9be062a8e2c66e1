"""The reassociate pass (regroup products, pad sums to concat, products out of concat) and the
Scan lowering it feeds: values kept (numpy evaluation before/after, ONNX Runtime at O0 vs O2),
and the loop bodies shrink as intended."""

from __future__ import annotations

import numpy as np
import onnx
import pytest

import graphc
import graphc.tensor as T
from graphc.export import to_onnx
from graphc.ir.build import build_graph
from graphc.ir.evaluate import evaluate
from graphc.ir.verify import verify
from graphc.layers import InputLayer, LSTMLayer, get_all_params, get_output
from graphc.passes import hoist, reassociate
from graphc.testing import reference_evaluator

RNG = np.random.default_rng(11)


def _loops(model):
    return [n for n in model.graph.node if n.op_type in ("Scan", "Loop")]


def _body(node):
    return next(a.g for a in node.attribute if a.name == "body")


def _body_ops(node):
    return [n.op_type for n in _body(node).node]


def _same_before_and_after(outputs, inputs, feeds, passes):
    g = build_graph([(o, f"out{i}") for i, o in enumerate(outputs)], inputs)
    before = evaluate(g, feeds)
    changed = sum(p(g) for p in passes)
    verify(g)
    for a, b in zip(before, evaluate(g, feeds)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    return g, changed


def test_products_regroup_so_per_step_factors_leave_the_loop():
    x, y = T.tensor3("x", dtype="float64"), T.tensor3("y", dtype="float64")

    def step(x_t, y_t, h):
        return ((h * x_t) * T.tanh(y_t)) * 0.5 + x_t

    hs, _ = graphc.scan(step, sequences=[x, y], outputs_info=[T.ones((x.shape[1], x.shape[2]), dtype="float64")])
    feeds = {}
    g = build_graph([(hs, "hs")], [x, y])
    feeds = {g.inputs[0]: RNG.normal(size=(5, 3, 4)), g.inputs[1]: RNG.normal(size=(5, 3, 4))}
    g, changed = _same_before_and_after([hs], [x, y], feeds, [reassociate, hoist])
    assert changed
    (scan,) = [n for n in g.op_nodes() if g.data(n).op == "scan"]
    body_hist = g.data(scan).attrs["body"].op_histogram()
    assert body_hist == {"add": 1, "mul": 1}  # h * (x_t * tanh(y_t) * 0.5) + x_t: one product left


def test_pad_sums_become_a_concat_outside_loops_too():
    x = T.tensor("float64", shape=(None, 7), name="x")  # static columns: the slice borders are static pads
    cost = T.sum(T.tanh(x[:, :2])) + T.sum(x[:, 2:5] ** 2) + T.sum(T.exp(x[:, 5:]))
    (gx,) = graphc.grad(cost, [x])
    xv = RNG.normal(size=(3, 7))
    g = build_graph([(gx, "gx")], [x])
    assert "pad" in g.op_histogram()
    g, changed = _same_before_and_after([gx], [x], {g.inputs[0]: xv}, [reassociate])
    assert changed and "pad" not in g.op_histogram() and "concat" in g.op_histogram()
    want = np.concatenate([1 - np.tanh(xv[:, :2]) ** 2, 2 * xv[:, 2:5], np.exp(xv[:, 5:])], axis=1)
    np.testing.assert_allclose(evaluate(g, {g.inputs[0]: xv})[0], want, rtol=1e-12)


def test_pads_that_do_not_tile_the_axis_are_left_alone():
    x = T.tensor("float64", shape=(None, 6), name="x")
    cost = T.sum(x[:, :2] ** 2) + T.sum(x[:, 4:] ** 3)  # columns 2..3 get no gradient
    (gx,) = graphc.grad(cost, [x])
    g = build_graph([(gx, "gx")], [x])
    g, _ = _same_before_and_after([gx], [x], {g.inputs[0]: RNG.normal(size=(3, 6))}, [reassociate])
    assert "pad" in g.op_histogram()


@pytest.fixture(scope="module", params=[False, True], ids=["plain", "peepholes"])
def lstm_training_graph(request):
    graphc.random.set_rng(np.random.RandomState(2))
    l_in = InputLayer((None, None, 3), name="x")
    layer = LSTMLayer(l_in, 6, peepholes=request.param)
    y = T.matrix("y")
    cost = T.mean((get_output(layer)[:, -1] - y) ** 2)
    params = get_all_params(layer, trainable=True)
    return l_in.input_var, y, cost, params, request.param


def test_lstm_backward_body_is_small_and_gradients_are_unchanged(lstm_training_graph):
    x, y, cost, params, peepholes = lstm_training_graph
    grads = graphc.grad(cost, params)
    outs = {f"g{i}": g for i, g in enumerate(grads)}
    optimized = to_onnx(outs, [x, y], optimize="O2")
    plain = to_onnx(outs, [x, y], optimize="O2", passes={"reassociate": False})
    onnx.checker.check_model(optimized, full_check=True)
    backward = [n for n in _loops(optimized) if "grad" in n.name]
    assert len(backward) == 1 and backward[0].op_type == "Scan"
    ops = _body_ops(backward[0])
    assert "Pad" not in ops and "Gather" not in ops
    if not peepholes:  # (peephole gradients still accumulate inside the loop)
        # (7: the cell state's stacked output has no gradient, so no sequence of zeros is added per step)
        assert ops.count("Mul") == 3 and len(ops) == 7
    assert len(ops) < len(_body_ops(next(n for n in _loops(plain) if "grad" in n.name)))
    import onnxruntime as ort

    feeds = {"x": RNG.normal(size=(4, 7, 3)).astype(np.float32), "y": RNG.normal(size=(4, 6)).astype(np.float32)}
    a = ort.InferenceSession(optimized.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feeds)
    b = ort.InferenceSession(plain.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feeds)
    c = reference_evaluator(optimized).run(None, feeds)
    for u, v, w in zip(a, b, c):
        np.testing.assert_allclose(u, v, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(w, v, rtol=1e-4, atol=1e-6)


def test_scan_lowering_stacks_only_what_is_read_and_each_value_once():
    x = T.tensor3("x")
    w = graphc.shared(RNG.normal(size=(4, 3)).astype("float32"), name="w")

    def step(x_t, h, c):
        c_new = c + T.dot(x_t, w)
        h_new = T.tanh(c_new) + h
        s = h_new.sum(axis=1)
        return h_new, c_new, s, s

    (hs, cs, s1, s2), _ = graphc.scan(
        step, sequences=x, outputs_info=[T.zeros((x.shape[1], 3)), T.zeros((x.shape[1], 3)), None, None]
    )
    model = to_onnx({"hs": hs, "s1": s1, "s2": s2}, [x])  # the stacked c is not read
    (scan,) = _loops(model)
    assert scan.op_type == "Scan" and len(scan.output) == 2 + 2  # final h, final c; stacked h, s once
    assert _body_ops(scan).count("Identity") == 1  # h is carried and stacked: one copy
    xv = RNG.normal(size=(5, 2, 4)).astype(np.float32)
    f = graphc.function([x], [hs, s1, s2])
    got_h, got_s1, got_s2 = f(xv)
    h = c = np.zeros((2, 3), np.float32)
    want = []
    for t in range(5):
        c = c + xv[t] @ w.get_value()
        h = np.tanh(c) + h
        want.append(h)
    np.testing.assert_allclose(got_h, np.stack(want), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got_s1, np.stack(want).sum(2), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(got_s1, got_s2)
    ref = reference_evaluator(model).run(None, {"x": xv})
    np.testing.assert_allclose(ref[0], got_h, rtol=1e-5, atol=1e-6)


def test_a_step_count_scan_stays_a_loop():
    n = T.iscalar("n")
    acc, _ = graphc.scan(lambda a: a * 2.0, outputs_info=[T.ones((2,))], n_steps=n)
    model = to_onnx({"acc": acc}, [n])
    assert [x.op_type for x in _loops(model)] == ["Loop"]
    np.testing.assert_allclose(graphc.function([n], acc)(np.int32(3)), [[2, 2], [4, 4], [8, 8]])
