"""The ``sink`` pass: per-step ops that only feed stacked outputs run once over all steps after the loop.
Values before and after (numpy evaluation of the IR, ONNX Runtime, ``onnx.reference``), forward and reverse
loops, masks with holes, and the node counts of a peephole LSTM's backward step."""

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
from graphc.layers import InputLayer, LSTMLayer, get_all_params, get_output
from graphc.passes import optimize
from graphc.passes.sink import sink
from graphc.testing import reference_evaluator

RNG = np.random.default_rng(29)
TOL = {"rtol": 2e-5, "atol": 1e-6}


def _scan_with_per_step_sums(backwards: bool, n_steps: bool = False):
    xs = T.tensor3("xs")
    w = T.vector("w")

    def step(x_t, h):
        h_new = T.tanh(T.dot(h, T.ones((4, 4)) * 0.1) + x_t * w)
        return h_new, T.sum(h_new * x_t, axis=0)  # a state-dependent value times the step's input, summed

    kwargs = {"n_steps": xs.shape[0]} if n_steps else {}
    (hs, sums), _ = graphc.scan(
        step, sequences=[xs], outputs_info=[T.zeros_like(xs[0]), None], go_backwards=backwards, **kwargs
    )
    return [xs, w], {"hs": hs[-1], "sums": sums, "total": T.sum(sums, axis=0)}


def _scan_node(graph):
    (scan,) = [n for n in graph.nodes() if graph.data(n).op == "scan"]
    return scan


@pytest.mark.parametrize("backwards", [False, True], ids=["forward", "reverse"])
def test_a_per_step_reduction_of_a_state_times_a_sequence_leaves_the_loop(backwards):
    inputs, outputs = _scan_with_per_step_sums(backwards)
    feeds = {"xs": RNG.normal(size=(6, 3, 4)).astype(np.float32), "w": RNG.normal(size=4).astype(np.float32)}
    g = build_graph(list((v, k) for k, v in outputs.items()), inputs)
    optimize(g, "O1")
    before = evaluate(g, feeds)
    body_before = g.data(_scan_node(g)).attrs["body"].op_histogram()
    assert sink(g) == 2  # the sum, then the product it reads
    verify(g)
    body = g.data(_scan_node(g)).attrs["body"].op_histogram()
    assert "reduce_sum" in body_before and "reduce_sum" not in body
    assert body.get("mul", 0) == body_before["mul"] - 1
    for a, b in zip(before, evaluate(g, feeds)):
        np.testing.assert_allclose(a, b, **TOL)
    model = to_onnx(outputs, inputs)
    expected = graphc.function(inputs, list(outputs.values()), passes={"sink": False})(feeds["xs"], feeds["w"])
    got = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feeds)
    for results in (got, reference_evaluator(model).run(None, feeds)):
        for a, b in zip(results, expected):
            np.testing.assert_allclose(a, b, **TOL)


def test_loops_with_a_step_count_are_left_alone():
    inputs, outputs = _scan_with_per_step_sums(False, n_steps=True)
    g = build_graph(list((v, k) for k, v in outputs.items()), inputs)
    optimize(g, "O1")
    assert sink(g) == 0


def _backward_body_ops(model: onnx.ModelProto) -> list[str]:
    (scan,) = [n for n in model.graph.node if n.op_type == "Scan" and "grad" in n.name]
    return [n.op_type for n in next(a.g for a in scan.attribute if a.name == "body").node]


@pytest.mark.parametrize("masked", [False, True], ids=["plain", "masked with holes"])
def test_peephole_lstm_gradients_are_summed_after_the_loop(masked):
    graphc.random.set_rng(np.random.RandomState(7))
    l_in = InputLayer((None, None, 3), name="x")
    l_mask = InputLayer((None, None), name="mask")
    layer = LSTMLayer(l_in, 5, peepholes=True, mask_input=l_mask if masked else None)
    y = T.tensor3("y")
    cost = T.mean((get_output(layer) - y) ** 2)
    params = get_all_params(layer, trainable=True)
    grads = dict(zip((f"g_{p.name}" for p in params), graphc.grad(cost, params)))
    inputs = [l_in.input_var, l_mask.input_var, y] if masked else [l_in.input_var, y]
    sunk = to_onnx(grads, inputs)
    kept = to_onnx(grads, inputs, passes={"sink": False})
    ops, ops_kept = _backward_body_ops(sunk), _backward_body_ops(kept)
    # the three peephole gradients: a product and a batch sum each, per step, now after the loop
    assert ops_kept.count("ReduceSum") == 3 and "ReduceSum" not in ops
    assert len(ops) == len(ops_kept) - 6
    feeds = {"x": RNG.normal(size=(4, 7, 3)).astype(np.float32), "y": RNG.normal(size=(4, 7, 5)).astype(np.float32)}
    if masked:
        mask = np.ones((4, 7), np.float32)
        mask[0, 2] = mask[1, 5:] = mask[3, 0] = 0.0  # holes, and right padding
        feeds["mask"] = mask
    expected = ort.InferenceSession(kept.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feeds)
    got = ort.InferenceSession(sunk.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feeds)
    for results in (got, reference_evaluator(sunk).run(None, feeds)):
        for a, b in zip(results, expected):
            np.testing.assert_allclose(a, b, **TOL)
