"""Lasagne's recurrent layers against step-by-step numpy implementations of their equations,
through ONNX Runtime and onnx.reference, plus Lasagne's own recurrent test list."""

from __future__ import annotations

import numpy as np
import onnx
import pytest

import graphc as lasagne
import graphc.tensor as T
from graphc.export import to_onnx
from graphc.layers import DenseLayer, InputLayer
from graphc.layers.recurrent import CustomRecurrentLayer, Gate, GRULayer, LSTMLayer, RecurrentLayer
from graphc.testing import reference_evaluator

RNG = np.random.default_rng(11)
F, H = 3, 4


def sig(z):
    return 1 / (1 + np.exp(-z))


def _order(T_, backwards):
    return range(T_ - 1, -1, -1) if backwards else range(T_)


def _masked_loop(x, mask, states, step, backwards):
    """Run ``step`` over time (batch-major x), carrying states where the mask is 0; returns per-step last state
    in input time order, and the final state after the last step run."""
    B, T_ = x.shape[:2]
    outs = np.zeros((B, T_) + states[-1].shape[1:], np.float64)
    for t in _order(T_, backwards):
        new = step(x[:, t], *states)
        if mask is not None:
            keep = mask[:, t][:, None] != 0
            new = [np.where(keep, n, s) for n, s in zip(new, states)]
        states = new
        outs[:, t] = states[-1]
    return outs, states[-1]


def lstm_np(layer, x, mask=None, h0=None, c0=None):
    p = {q.name.split(".")[-1]: q.get_value().astype(np.float64) for q in layer.get_params()}
    B = x.shape[0]
    x = x.reshape(B, x.shape[1], -1)
    c = np.repeat(p["cell_init"], B, 0) if c0 is None else c0
    h = np.repeat(p["hid_init"], B, 0) if h0 is None else h0

    def step(x_t, c_prev, h_prev):
        def pre(g):
            return x_t @ p[f"W_in_to_{g}"] + h_prev @ p[f"W_hid_to_{g}"] + p[f"b_{g}"]

        i, f, g, o = pre("ingate"), pre("forgetgate"), pre("cell"), pre("outgate")
        if layer.peepholes:
            i = i + c_prev * p["W_cell_to_ingate"]
            f = f + c_prev * p["W_cell_to_forgetgate"]
        c_new = sig(f) * c_prev + sig(i) * np.tanh(g)
        if layer.peepholes:
            o = o + c_new * p["W_cell_to_outgate"]
        return [c_new, sig(o) * np.tanh(c_new)]

    return _masked_loop(x, mask, [c, h], step, layer.backwards)


def gru_np(layer, x, mask=None, h0=None):
    p = {q.name.split(".")[-1]: q.get_value().astype(np.float64) for q in layer.get_params()}
    B = x.shape[0]
    h = np.repeat(p["hid_init"], B, 0) if h0 is None else h0

    def step(x_t, h_prev):
        r = sig(x_t @ p["W_in_to_resetgate"] + h_prev @ p["W_hid_to_resetgate"] + p["b_resetgate"])
        u = sig(x_t @ p["W_in_to_updategate"] + h_prev @ p["W_hid_to_updategate"] + p["b_updategate"])
        c = np.tanh(x_t @ p["W_in_to_hidden_update"] + r * (h_prev @ p["W_hid_to_hidden_update"]) + p["b_hidden_update"])
        return [(1 - u) * h_prev + u * c]

    return _masked_loop(x.reshape(B, x.shape[1], -1), mask, [h], step, layer.backwards)


def rnn_np(layer, x, mask=None):
    W, b, U = layer.W_in_to_hid.get_value(), layer.b.get_value(), layer.W_hid_to_hid.get_value()
    h = np.repeat(layer.hid_init.get_value(), x.shape[0], 0)
    return _masked_loop(x, mask, [h], lambda x_t, h_prev: [np.tanh(x_t @ W + b + h_prev @ U)], layer.backwards)


def _run(layer, *arrays, inputs):
    out = lasagne.layers.get_output(layer)
    f = lasagne.function([lyr.input_var for lyr in inputs], out)
    return f(*arrays), out


def _masks(B, T_):
    right = np.ones((B, T_), np.float32)
    right[0, T_ - 2 :] = 0
    right[-1, T_ - 1 :] = 0
    holes = (RNG.random((B, T_)) > 0.35).astype(np.float32)
    holes[:, 0] = 1
    return {"none": None, "right_padding": right, "holes": holes}


@pytest.mark.parametrize("mask_kind", ["none", "right_padding", "holes"])
@pytest.mark.parametrize("backwards", [False, True])
@pytest.mark.parametrize("peepholes", [True, False])
def test_lstm_against_numpy(mask_kind, backwards, peepholes):
    l_in = InputLayer((None, None, F))
    l_mask = InputLayer((None, None))
    lasagne.random.set_rng(np.random.RandomState(1))
    layer = LSTMLayer(
        l_in, H, mask_input=l_mask if mask_kind != "none" else None, backwards=backwards, peepholes=peepholes,
        cell_init=lasagne.init.Normal(0.5), hid_init=lasagne.init.Normal(0.5),
    )
    ins = [l_in, l_mask] if mask_kind != "none" else [l_in]
    out = lasagne.layers.get_output(layer)
    f = lasagne.function([lyr.input_var for lyr in ins], out)
    for B, T_ in [(3, 6), (2, 9)]:  # one compiled function, two batch and time sizes
        x = RNG.normal(size=(B, T_, F)).astype(np.float32)
        mask = _masks(B, T_)[mask_kind]
        got = f(x, mask) if mask is not None else f(x)
        want, _ = lstm_np(layer, x, mask)
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("mask_kind", ["none", "right_padding", "holes"])
@pytest.mark.parametrize("backwards", [False, True])
def test_gru_and_rnn_against_numpy(mask_kind, backwards):
    l_in = InputLayer((None, None, F))
    l_mask = InputLayer((None, None))
    mask_layer = l_mask if mask_kind != "none" else None
    lasagne.random.set_rng(np.random.RandomState(2))
    gru = GRULayer(l_in, H, mask_input=mask_layer, backwards=backwards, hid_init=lasagne.init.Normal(0.5))
    rnn = RecurrentLayer(l_in, H, mask_input=mask_layer, backwards=backwards, nonlinearity=T.tanh, W_in_to_hid=lasagne.init.Normal(0.5))
    ins = [l_in, l_mask] if mask_layer else [l_in]
    f = lasagne.function([lyr.input_var for lyr in ins], lasagne.layers.get_output([gru, rnn]))
    x = RNG.normal(size=(3, 7, F)).astype(np.float32)
    mask = _masks(3, 7)[mask_kind]
    g, r = f(x, mask) if mask is not None else f(x)
    np.testing.assert_allclose(g, gru_np(gru, x, mask)[0], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(r, rnn_np(rnn, x, mask)[0], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("cls", [LSTMLayer, GRULayer, RecurrentLayer])
def test_only_return_final_equals_last_step_and_backwards_final_state(cls):
    l_in = InputLayer((None, 5, F))
    kw = {"nonlinearity": T.tanh} if cls is RecurrentLayer else {}
    full = cls(l_in, H, **kw)
    final = cls(l_in, H, only_return_final=True, **kw)
    lasagne.layers.set_all_param_values(final, lasagne.layers.get_all_param_values(full))
    back = cls(l_in, H, backwards=True, **kw)
    back_final = cls(l_in, H, backwards=True, only_return_final=True, **kw)
    lasagne.layers.set_all_param_values(back, lasagne.layers.get_all_param_values(full))
    lasagne.layers.set_all_param_values(back_final, lasagne.layers.get_all_param_values(full))
    assert final.output_shape == (None, H) and full.output_shape == (None, 5, H)
    x = RNG.normal(size=(2, 5, F)).astype(np.float32)
    a, b, c, d = lasagne.function([l_in.input_var], lasagne.layers.get_output([full, final, back, back_final]))(x)
    np.testing.assert_allclose(b, a[:, -1], rtol=1e-6)
    np.testing.assert_allclose(d, c[:, 0], rtol=1e-6)  # the backward run ends at t = 0
    # on a time-constant input, backwards equals forwards reversed in time
    ones = np.ones((2, 5, F), np.float32)
    a1, _, c1, _ = lasagne.function([l_in.input_var], lasagne.layers.get_output([full, final, back, back_final]))(ones)
    np.testing.assert_allclose(c1, a1[:, ::-1], rtol=1e-5, atol=1e-6)


def test_hid_init_as_layer_equals_array_init_and_4d_input():
    l_in = InputLayer((None, 6, 2, 2))
    l_h = InputLayer((None, H))
    l_c = InputLayer((None, H))
    h0 = RNG.normal(size=(3, H)).astype(np.float32)
    c0 = RNG.normal(size=(3, H)).astype(np.float32)
    with_layers = LSTMLayer(l_in, H, hid_init=l_h, cell_init=l_c)
    assert with_layers.input_layers == [l_in, l_h, l_c]
    x = RNG.normal(size=(3, 6, 2, 2)).astype(np.float32)
    got, _ = _run(with_layers, x, h0, c0, inputs=[l_in, l_h, l_c])
    want, _ = lstm_np(with_layers, x, None, h0=h0.astype(np.float64), c0=c0.astype(np.float64))
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    # the same initial state as a (1, H) array parameter
    with_array = LSTMLayer(l_in, H, hid_init=h0[:1], cell_init=c0[:1])
    lasagne.layers.set_all_param_values(with_array, lasagne.layers.get_all_param_values(with_layers) + [c0[:1], h0[:1]])
    got2, _ = _run(with_array, x[:1], inputs=[l_in])
    got3, _ = _run(with_layers, x[:1], h0[:1], c0[:1], inputs=[l_in, l_h, l_c])
    np.testing.assert_allclose(got2, got3, rtol=1e-6)


@pytest.mark.parametrize("cls", [LSTMLayer, GRULayer, RecurrentLayer])
def test_precompute_and_unroll_give_the_same_output(cls):
    l_in = InputLayer((2, 5, F))
    base = cls(l_in, H)
    values = lasagne.layers.get_all_param_values(base)
    others = [cls(l_in, H, precompute_input=False), cls(l_in, H, unroll_scan=True)]
    for o in others:
        lasagne.layers.set_all_param_values(o, values)
    x = RNG.normal(size=(2, 5, F)).astype(np.float32)
    outs = lasagne.function([l_in.input_var], lasagne.layers.get_output([base] + others))(x)
    for o in outs[1:]:
        np.testing.assert_allclose(o, outs[0], rtol=1e-5, atol=1e-6)
    unrolled = lasagne.layers.get_output(others[1])
    model = to_onnx(unrolled, [l_in.input_var])
    assert not {"Loop", "Scan"} & {n.op_type for n in model.graph.node}


def test_parameter_counts_names_and_tags():
    l_in = InputLayer((None, None, F))
    assert len(LSTMLayer(l_in, H, peepholes=False).get_params(trainable=True)) == 12
    assert len(LSTMLayer(l_in, H, peepholes=True).get_params(trainable=True)) == 15
    assert len(LSTMLayer(l_in, H, peepholes=False, learn_init=True).get_params(trainable=True)) == 14
    lstm = LSTMLayer(l_in, H, name="lstm")
    assert lasagne.layers.count_params(lstm) == 4 * (F * H + H * H + H) + 3 * H + 2 * H
    tags = {p.name: lstm.params[p] for p in lstm.params}
    assert tags["lstm.b_ingate"] == {"trainable"} and tags["lstm.hid_init"] == set()
    assert len(lstm.get_params()) == 17  # hid_init and cell_init are returned without tags
    gru = GRULayer(l_in, H, name="gru", learn_init=True)
    assert [p.name for p in gru.get_params()][-1] == "gru.hid_init"
    assert lasagne.layers.count_params(gru) == 3 * (F * H + H * H + H) + H
    rnn = RecurrentLayer(l_in, H, name="rnn")
    assert sorted(p.name for p in rnn.get_params()) == ["rnn.hid_init", "rnn.hidden_to_hidden.W", "rnn.input_to_hidden.W", "rnn.input_to_hidden.b"]
    assert sorted(p.name for p in rnn.get_params(regularizable=True)) == ["rnn.hidden_to_hidden.W", "rnn.input_to_hidden.W"]


def test_passthrough_lstm_with_identity_gates():
    # ingate = forgetgate = outgate = 1 (huge bias), cell input = x: the cell accumulates the input
    l_in = InputLayer((None, None, H))
    big = Gate(W_in=np.zeros((H, H)), W_hid=np.zeros((H, H)), W_cell=None, b=np.full(H, 50.0))
    cell = Gate(W_in=np.eye(H), W_hid=np.zeros((H, H)), W_cell=None, b=np.zeros(H), nonlinearity=None)
    layer = LSTMLayer(l_in, H, ingate=big, forgetgate=big, cell=cell, outgate=big, peepholes=False, nonlinearity=None)
    x = RNG.normal(size=(2, 5, H)).astype(np.float32)
    got, _ = _run(layer, x, inputs=[l_in])
    np.testing.assert_allclose(got, np.cumsum(x, axis=1), rtol=1e-5, atol=1e-5)


def test_custom_recurrent_layer_with_dense_subnetworks_and_no_precompute():
    l_in = InputLayer((None, None, F))
    i2h = DenseLayer(InputLayer((None, F)), H, nonlinearity=None)
    h2h = DenseLayer(InputLayer((None, H)), H, nonlinearity=None, b=None)
    for pre in (True, False):
        layer = CustomRecurrentLayer(l_in, i2h, h2h, nonlinearity=T.tanh, precompute_input=pre)
        assert layer.get_params() == [layer.hid_init, i2h.W, i2h.b, h2h.W]
        x = RNG.normal(size=(2, 4, F)).astype(np.float32)
        got, _ = _run(layer, x, inputs=[l_in])
        W, b, U = i2h.W.get_value(), i2h.b.get_value(), h2h.W.get_value()
        h = np.zeros((2, H))
        want = []
        for t in range(4):
            h = np.tanh(x[:, t] @ W + b + h @ U)
            want.append(h)
        np.testing.assert_allclose(got, np.stack(want, 1), rtol=1e-5, atol=1e-6)


def test_construction_errors():
    l_in = InputLayer((None, None, F))
    with pytest.raises(ValueError, match="gradient_steps must be -1 when unroll_scan is True"):
        LSTMLayer(InputLayer((None, 5, F)), H, unroll_scan=True, gradient_steps=3)
    with pytest.raises(ValueError, match="input sequence length cannot be None when unroll_scan is True"):
        GRULayer(l_in, H, unroll_scan=True)
    with pytest.raises(ValueError, match=r"input must be \(batch, time, features...\)"):
        LSTMLayer(InputLayer((None, F)), H)
    with pytest.raises(ValueError, match="output shapes of input_to_hidden"):
        CustomRecurrentLayer(l_in, DenseLayer(InputLayer((None, F)), H + 1), DenseLayer(InputLayer((None, H)), H))
    with pytest.raises(ValueError, match="input shape .* and output shape .* of hidden_to_hidden"):
        CustomRecurrentLayer(l_in, DenseLayer(InputLayer((None, F)), H), DenseLayer(InputLayer((None, H + 1)), H))
    with pytest.raises(ValueError, match="input_to_hidden expects inputs of shape"):
        CustomRecurrentLayer(l_in, DenseLayer(InputLayer((None, F + 1)), H), DenseLayer(InputLayer((None, H)), H))
    with pytest.raises(ValueError, match=r"the mask must be \(batch, time\)"):
        LSTMLayer(l_in, H, mask_input=InputLayer((None, None, 1)))
    with pytest.raises(ValueError, match="W_in_to_ingate"):
        LSTMLayer(l_in, H, ingate=Gate(W_in=np.zeros((F + 1, H))))


def test_exported_lstm_serves_any_batch_and_length_and_matches_reference():
    l_in = InputLayer((None, None, F), name="x")
    l_mask = InputLayer((None, None), name="m")
    layer = LSTMLayer(l_in, H, mask_input=l_mask, backwards=True)
    model = to_onnx(layer)
    onnx.checker.check_model(model, full_check=True)
    assert {"Loop", "Scan"} & {n.op_type for n in model.graph.node}
    import onnxruntime as ort

    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    for B, T_ in [(2, 5), (4, 3)]:
        x = RNG.normal(size=(B, T_, F)).astype(np.float32)
        m = _masks(B, T_)["holes"]
        want, _ = lstm_np(layer, x, m)
        np.testing.assert_allclose(sess.run(None, {"x": x, "m": m})[0], want, rtol=1e-4, atol=1e-5)
        ref = reference_evaluator(model).run(None, {"x": x, "m": m})[0]
        np.testing.assert_allclose(ref, want, rtol=1e-4, atol=1e-5)


def _conv_same(x, w):
    """True 2-d convolution (flipped kernels), 'same' padding, numpy loops: x (B, C, H, W), w (F, C, k, k)."""
    k = w.shape[-1]
    p = k // 2
    xp = np.pad(x, [(0, 0), (0, 0), (p, p), (p, p)])
    wf = w[:, :, ::-1, ::-1]
    out = np.zeros((x.shape[0], w.shape[0]) + x.shape[2:])
    for i in range(x.shape[2]):
        for j in range(x.shape[3]):
            out[:, :, i, j] = np.einsum("bchw,fchw->bf", xp[:, :, i : i + k, j : j + k], wf)
    return out


def test_custom_recurrent_layer_with_convolutional_subnetworks():
    from graphc.layers import Conv2DLayer

    B, T_, C, Hh, Ww, Fn = 2, 3, 2, 4, 5, 3
    l_in = InputLayer((None, None, C, Hh, Ww))
    i2h = Conv2DLayer(InputLayer((None, C, Hh, Ww)), Fn, 3, pad="same", nonlinearity=None)
    h2h = Conv2DLayer(InputLayer((None, Fn, Hh, Ww)), Fn, 3, pad="same", nonlinearity=None)
    layer = CustomRecurrentLayer(l_in, i2h, h2h, nonlinearity=T.tanh)
    assert layer.output_shape == (None, None, Fn, Hh, Ww)
    x = RNG.normal(size=(B, T_, C, Hh, Ww)).astype(np.float32)
    got, _ = _run(layer, x, inputs=[l_in])
    Wi, bi, Wh, bh = (p.get_value().astype(np.float64) for p in (i2h.W, i2h.b, h2h.W, h2h.b))
    h = np.zeros((B, Fn, Hh, Ww))
    want = []
    for t in range(T_):
        pre = _conv_same(x[:, t], Wi) + bi[None, :, None, None] + _conv_same(h, Wh) + bh[None, :, None, None]
        h = np.tanh(pre)
        want.append(h)
    np.testing.assert_allclose(got, np.stack(want, 1), rtol=1e-4, atol=1e-5)
