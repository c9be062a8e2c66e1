"""Property tests: random Lasagne layer stacks (dense, convolution, pooling, recurrent layers with
random masks, holes included) give the same values at every optimization level, through ONNX
Runtime, as graphc's numpy evaluation of the unoptimized graph."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import graphc
import graphc.layers as L
from graphc.ir.build import build_graph
from graphc.ir.evaluate import evaluate


@st.composite
def recurrent_stacks(draw: st.DrawFn) -> tuple[list, object, dict]:
    graphc.random.set_rng(np.random.RandomState(draw(st.integers(0, 1000))))
    f = draw(st.integers(1, 4))
    l_in = L.InputLayer((None, None, f), name="x")
    l_mask = L.InputLayer((None, None), name="mask")
    layer = l_in
    if draw(st.booleans()):
        layer = L.DenseLayer(layer, draw(st.integers(2, 5)), num_leading_axes=2, name="proj")
    n = draw(st.integers(1, 2))
    for k in range(n):
        cls = draw(st.sampled_from([L.LSTMLayer, L.GRULayer, L.RecurrentLayer]))
        kw = {"backwards": draw(st.booleans()), "name": f"rnn{k}"}
        if draw(st.booleans()):
            kw["mask_input"] = l_mask
        if cls is L.LSTMLayer:
            kw["peepholes"] = draw(st.booleans())
        if draw(st.booleans()):
            kw["grad_clipping"] = 1.0
        only_final = k == n - 1 and draw(st.booleans())
        layer = cls(layer, draw(st.integers(2, 5)), only_return_final=only_final, **kw)
    b, t = draw(st.integers(1, 3)), draw(st.integers(1, 6))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    feeds = {
        "x": rng.normal(size=(b, t, f)).astype(np.float32),
        "mask": (rng.uniform(size=(b, t)) < 0.7).astype(np.float32),  # holes anywhere
    }
    return [l_in.input_var, l_mask.input_var], L.get_output(layer), feeds


@st.composite
def conv_stacks(draw: st.DrawFn) -> tuple[list, object, dict]:
    graphc.random.set_rng(np.random.RandomState(draw(st.integers(0, 1000))))
    c = draw(st.integers(1, 3))
    l_in = L.InputLayer((None, c, 7, 6), name="img")
    pad = draw(st.sampled_from(["valid", "same", "full"]))
    size = draw(st.sampled_from([1, 3] if pad == "same" else [1, 2, 3]))  # Lasagne: `same` needs odd sizes
    layer = L.Conv2DLayer(l_in, draw(st.integers(1, 4)), size, pad=pad)
    if draw(st.booleans()):
        layer = L.MaxPool2DLayer(layer, 2, ignore_border=draw(st.booleans()))
    layer = L.DenseLayer(layer, draw(st.integers(1, 5)), nonlinearity=draw(st.sampled_from([graphc.nonlinearities.tanh, graphc.nonlinearities.rectify])))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    return [l_in.input_var], L.get_output(layer), {"img": rng.normal(size=(draw(st.integers(1, 3)), c, 7, 6)).astype(np.float32)}


def _check(inputs, out, feeds, level):
    used = [v for v in inputs if v.name.split(".")[0] in feeds]
    arrays = [feeds[v.name.split(".")[0]] for v in used]
    g = build_graph([(out, "out")], used)
    want = evaluate(g, dict(zip(g.inputs, arrays)))[0]
    got = graphc.function(used, out, optimize=level, on_unused_input="ignore")(*arrays)
    np.testing.assert_allclose(got, want, rtol=2e-4, atol=2e-5)


@given(recurrent_stacks(), st.sampled_from(["O0", "O1", "O2"]))
def test_random_recurrent_stacks_with_random_masks(case, level):
    inputs, out, feeds = case
    _check(inputs, out, feeds, level)


@given(conv_stacks(), st.sampled_from(["O0", "O2"]))
def test_random_conv_stacks(case, level):
    inputs, out, feeds = case
    _check(inputs, out, feeds, level)
