"""Stacked loop outputs written reversed (``scan_output_directions``) where their readers only reverse them
or reduce over time, and the backward scans that need no reversal, no zero sequences and no carried sums:
the models compute what the ``Loop`` export (which keeps every reversal) and ``graphc.function`` compute,
on ONNX Runtime and ``onnx.reference``."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import graphc
import graphc.tensor as T
from graphc.export import to_onnx
from graphc.layers import DenseLayer, InputLayer, LSTMLayer, ReshapeLayer, get_all_params, get_output
from graphc.testing import reference_evaluator

RNG = np.random.default_rng(23)
TOL = {"rtol": 2e-5, "atol": 1e-6}


def _run(model: onnx.ModelProto, feeds: dict) -> list:
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


def _scans(graph: onnx.GraphProto) -> list[onnx.NodeProto]:
    found = []
    for node in graph.node:
        if node.op_type == "Scan":
            found.append(node)
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                found += _scans(attr.g)
    return found


def _directions(node: onnx.NodeProto, which: str) -> list[int]:
    return next((list(a.ints) for a in node.attribute if a.name == f"scan_{which}_directions"), [])


def _reversals(graph: onnx.GraphProto) -> int:
    """Slices with a step of -1 (the lowering of ``x[::-1]``), loop bodies included."""
    consts = {t.name: onnx.numpy_helper.to_array(t) for t in graph.initializer}
    count = 0
    for node in graph.node:
        if node.op_type == "Slice" and len(node.input) > 4 and node.input[4] in consts:
            count += int(np.any(consts[node.input[4]] == -1))
    return count


def _backward_scan(xs: T.TensorVariable) -> list:
    """A reverse scan (a running product-sum from the end) and three readers of its stacked output."""

    def step(x_t, acc):
        return acc * 0.5 + T.tanh(x_t)

    out, _ = graphc.scan(step, sequences=[xs], outputs_info=[T.zeros_like(xs[0])], go_backwards=True)
    return out


def test_an_output_only_read_reversed_or_summed_over_time_is_written_reversed():
    xs = T.matrix("xs")
    out = _backward_scan(xs)
    outputs = {"in_order": out[::-1] * 2.0, "total": T.sum(out, axis=0), "again": out[::-1] + 1.0}
    model = to_onnx(outputs, [xs])
    loop = to_onnx(outputs, [xs], loop_op="loop")
    (scan,) = _scans(model.graph)
    assert _directions(scan, "output") == [1] and _directions(scan, "input") == [1]
    assert _reversals(model.graph) == 0 and _reversals(loop.graph) >= 1
    feeds = {"xs": RNG.normal(size=(7, 3)).astype(np.float32)}
    expected = graphc.function([xs], list(outputs.values()))(feeds["xs"])
    for got in (_run(model, feeds), reference_evaluator(model).run(None, feeds), _run(loop, feeds)):
        for g, e in zip(got, expected):
            np.testing.assert_allclose(g, e, **TOL)
    # a reversal the graph returns, or another reader, keeps the stacked order as it is
    for outputs in ({"reversed": out[::-1]}, {"reversed": out[::-1] * 2.0, "as_is": out * 3.0}):
        kept = to_onnx(outputs, [xs])
        assert _directions(_scans(kept.graph)[0], "output") in ([], [0])
        expected = graphc.function([xs], list(outputs.values()))(feeds["xs"])
        for g, e in zip(_run(kept, feeds), expected):
            np.testing.assert_allclose(g, e, **TOL)


def _lstm_step(peepholes: bool, backwards: bool = False):
    graphc.random.set_rng(np.random.RandomState(5))
    l_in = InputLayer((None, None, 3), name="x")
    layer = LSTMLayer(l_in, 5, peepholes=peepholes, backwards=backwards)
    dense = DenseLayer(ReshapeLayer(layer, (-1, 5)), 2, nonlinearity=None)
    y = T.matrix("y")
    cost = T.mean((get_output(dense) - y) ** 2)
    params = get_all_params(dense, trainable=True)
    return [l_in.input_var, y], cost, params


@pytest.mark.parametrize("backwards", [False, True], ids=["forward", "backwards"])
@pytest.mark.parametrize("peepholes", [False, True], ids=["plain", "peepholes"])
def test_lstm_gradients_leave_the_backward_loop_in_time_order(peepholes, backwards):
    inputs, cost, params = _lstm_step(peepholes, backwards)
    grads = dict(zip((f"g_{p.name}" for p in params), graphc.grad(cost, params)))
    model = to_onnx(grads, inputs)
    loop = to_onnx(grads, inputs, loop_op="loop")
    backward = [n for n in _scans(model.graph) if "grad" in n.name]
    assert len(backward) == 1
    n_states = len(backward[0].input) - next(a.i for a in backward[0].attribute if a.name == "num_scan_inputs")
    assert n_states == 2  # the cotangents of h and c: the bias and peephole gradients are stacked, not carried
    if not backwards:  # the gate factors of the weight gradients come out in time order
        assert 1 in _directions(backward[0], "output")
    feeds = {"x": RNG.normal(size=(4, 6, 3)).astype(np.float32), "y": RNG.normal(size=(24, 2)).astype(np.float32)}
    expected = graphc.function(inputs, list(grads.values()))(feeds["x"], feeds["y"])
    for got in (_run(model, feeds), reference_evaluator(model).run(None, feeds), _run(loop, feeds)):
        for g, e in zip(got, expected):
            np.testing.assert_allclose(g, e, **TOL)


def test_lstm_gradients_match_finite_differences_with_peepholes():
    inputs, cost, params = _lstm_step(peepholes=True)
    grads = graphc.grad(cost, params)
    x = RNG.normal(size=(3, 5, 3))
    y = RNG.normal(size=(15, 2))
    f_cost = graphc.function(inputs, cost)
    got = graphc.function(inputs, grads)(x.astype(np.float32), y.astype(np.float32))
    eps = 1e-2
    for p, g in zip(params, got):
        if p.get_value().ndim != 1:
            continue  # the vectors: biases and peepholes, whose gradients are now summed after the loop
        value = p.get_value()
        numeric = np.zeros_like(value)
        for i in range(value.size):
            for sign in (1, -1):
                shifted = value.copy()
                shifted.flat[i] += sign * eps
                p.set_value(shifted)
                numeric.flat[i] += sign * float(f_cost(x.astype(np.float32), y.astype(np.float32))) / (2 * eps)
            p.set_value(value)
        np.testing.assert_allclose(g, numeric, rtol=2e-2, atol=2e-4)


def test_an_output_without_gradient_is_not_read_by_the_backward_loop():
    xs = T.matrix("xs")

    def step(x_t, h, c):
        c_new = c * 0.9 + T.tanh(x_t)
        return T.tanh(c_new) * h + 0.1, c_new

    (hs, cs), _ = graphc.scan(step, sequences=[xs], outputs_info=[T.ones_like(xs[0]), T.zeros_like(xs[0])])
    cost = T.sum(hs ** 2)  # the stacked cell states cs get no gradient
    g = graphc.grad(cost, xs)
    model = to_onnx({"g": g}, [xs])
    (backward,) = [n for n in _scans(model.graph) if "grad" in n.name]
    n_scan_in = next(a.i for a in backward.attribute if a.name == "num_scan_inputs")
    # per step: x, the previous h and c, the gradient arriving at h (none for c)
    assert n_scan_in == 4
    feeds = {"xs": RNG.normal(size=(6, 4)).astype(np.float32)}
    x = feeds["xs"].astype(np.float64)
    f = graphc.function([xs], cost)
    numeric = np.zeros_like(x)
    for i in range(x.size):
        for sign in (1, -1):
            shifted = x.copy()
            shifted.flat[i] += sign * 1e-3
            numeric.flat[i] += sign * float(f(shifted.astype(np.float32))) / 2e-3
    (got,) = _run(model, feeds)
    np.testing.assert_allclose(got, numeric, rtol=2e-2, atol=2e-3)
    np.testing.assert_allclose(reference_evaluator(model).run(None, feeds)[0], got, **TOL)


def test_the_gradient_of_a_whole_reversal_is_a_reversal():
    x = T.tensor3("x")
    w = T.tensor3("w")
    g = graphc.grad(T.sum(x[:, ::-1] * w), x)
    model = to_onnx({"g": g}, [x, w])
    ops = [n.op_type for n in model.graph.node]
    assert "Concat" not in ops and "Pad" not in ops  # no zero borders of size 0 around it
    feeds = {"x": RNG.normal(size=(2, 5, 3)).astype(np.float32), "w": RNG.normal(size=(2, 5, 3)).astype(np.float32)}
    np.testing.assert_allclose(_run(model, feeds)[0], feeds["w"][:, ::-1], **TOL)
