"""The stash pass: forward loops emit the per-step products the backward pass would recompute."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

import graphc
import graphc.tensor as T
from graphc.export import to_onnx
from graphc.ir.build import build_graph
from graphc.layers import GRULayer, InputLayer, LSTMLayer, RecurrentLayer, get_all_params, get_output
from graphc.passes import optimize

RNG = np.random.default_rng(5)


def _prev_matmuls(g):
    """Outer matmuls over a stack of per-step starting states (the recomputation stash removes)."""
    from graphc.passes.stash import _prev_of

    return [n for n in g.op_nodes() if g.data(n).op == "matmul" and any(_prev_of(g, v) for v in g.node_inputs(n))]


@pytest.mark.parametrize(
    ("cls", "kw"),
    [(LSTMLayer, {}), (LSTMLayer, {"backwards": True}), (GRULayer, {}), (RecurrentLayer, {"backwards": True})],
    ids=["lstm", "lstm-backwards", "gru", "rnn-backwards"],
)
def test_recomputed_products_come_from_the_forward_loop(cls, kw):
    graphc.random.set_rng(np.random.RandomState(4))
    l_in = InputLayer((None, None, 3), name="x")
    layer = cls(l_in, 5, **kw)
    y = T.matrix("y")
    cost = T.mean((get_output(layer)[:, -1] - y) ** 2)
    grads = graphc.grad(cost, get_all_params(layer, trainable=True))
    outs = [(g, f"g{i}") for i, g in enumerate(grads)]

    with_stash = build_graph(outs, [l_in.input_var, y])
    report = optimize(with_stash, "O2")
    without = build_graph(outs, [l_in.input_var, y])
    optimize(without, "O2", passes={"stash": False})
    if cls is not GRULayer:  # (the GRU step multiplies r * h_prev before its matmul: nothing to stash)
        assert report.changes.get("stash", 0) >= 1
        assert _prev_matmuls(without) and not _prev_matmuls(with_stash)
    feeds = {"x": RNG.normal(size=(4, 6, 3)).astype(np.float32), "y": RNG.normal(size=(4, 5)).astype(np.float32)}
    runs = []
    for passes in ({}, {"stash": False}):
        model = to_onnx(dict((n, g) for g, n in outs), [l_in.input_var, y], passes=passes)
        runs.append(ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feeds))
    for a, b in zip(*runs):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
