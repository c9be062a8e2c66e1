"""Sequences of length 0: a clear error at call time, naming the input, the axis and the scan (as Theano refuses them).

Without the check, ONNX Runtime's ``Scan`` fails deep inside the session and its native ``GRU``
kernel aborts the whole process; Theano raises ``NotImplementedError`` ("scan do 0 iteration").
Non-empty sequences keep their values (checked against a numpy recurrence).
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

import graphc
import graphc.tensor as T
from graphc import layers, theanets
from graphc.runtime.sequences import ZeroLengthSequenceError

MESSAGE = r"input '{name}' has shape \(2, 0, 3\): its axis 1 has length 0, but it is the sequence length of the scan in layer"


@pytest.mark.parametrize("cls", [layers.LSTMLayer, layers.GRULayer, layers.RecurrentLayer])
@pytest.mark.parametrize("options", [{}, {"only_return_final": True, "backwards": True}, {"mask": True}])
def test_recurrent_layers_refuse_an_empty_sequence_by_name(cls: type, options: dict) -> None:
    x, m = T.tensor3("x"), T.matrix("m")
    l_in = layers.InputLayer((None, None, 3), input_var=x)
    kw = dict(options)
    inputs = [x]
    if kw.pop("mask", False):
        kw["mask_input"] = layers.InputLayer((None, None), input_var=m)
        inputs.append(m)
    f = graphc.function(inputs, layers.get_output(cls(l_in, 5, **kw)))
    ok = [np.ones((2, 4, 3), np.float32)] + ([np.ones((2, 4), np.float32)] if len(inputs) == 2 else [])
    assert np.isfinite(f(*ok)).all()
    empty = [np.ones((2, 0, 3), np.float32)] + ([np.ones((2, 0), np.float32)] if len(inputs) == 2 else [])
    with pytest.raises(ZeroLengthSequenceError, match=MESSAGE.format(name="x")) as info:
        f(*empty)
    assert isinstance(info.value, ValueError) and isinstance(info.value, NotImplementedError)
    if len(inputs) == 2:  # the mask is checked too
        with pytest.raises(ZeroLengthSequenceError, match=r"input 'm' has shape \(2, 0\): its axis 1 has length 0"):
            f(ok[0], np.ones((2, 0), np.float32))
    with pytest.raises(ZeroLengthSequenceError, match="its axis 1 has length 0"):  # OrtValue inputs too
        f(*[ort.OrtValue.ortvalue_from_numpy(a) for a in empty])


def test_theanets_recurrent_networks_and_plain_scans_refuse_it() -> None:
    for form in ("lstm", "gru", "rnn"):
        net = theanets.Regressor([3, (5, form), 2])
        assert net.predict(np.ones((2, 4, 3), np.float32)).shape == (2, 4, 2)
        with pytest.raises(ValueError, match=r"input 'in' has shape \(2, 0, 3\): its axis 1 has length 0.*layer 'hid1'"):
            net.predict(np.ones((2, 0, 3), np.float32))
    seq, h0 = T.matrix("seq"), T.vector("h0")
    out, _ = graphc.scan(lambda s, h: h + s, sequences=seq, outputs_info=h0)
    f = graphc.function([seq, h0], out)
    np.testing.assert_array_equal(f(np.ones((3, 2), np.float32), np.zeros(2, np.float32)), [[1, 1], [2, 2], [3, 3]])
    with pytest.raises(NotImplementedError, match=r"input 'seq' has shape \(0, 2\): its axis 0 has length 0.*scan do 0 iteration"):
        f(np.ones((0, 2), np.float32), np.zeros(2, np.float32))


def test_inputs_that_feed_no_scan_may_be_empty() -> None:
    x = T.matrix("x")
    f = graphc.function([x], 2 * x)
    assert f(np.ones((0, 3), np.float32)).shape == (0, 3)
    assert f._specs[0].nonempty == ()


def test_non_empty_sequences_keep_their_values() -> None:
    """RecurrentLayer against a numpy recurrence: h_t = rectify(x_t W_in + h_{t-1} W_hid + b), with a mask holding steps."""
    rng = np.random.default_rng(0)
    w_in, w_hid, b = rng.normal(size=(3, 5)) * 0.5, rng.normal(size=(5, 5)) * 0.5, rng.normal(size=5) * 0.1
    x, m = T.tensor3("x"), T.matrix("m")
    l_in = layers.InputLayer((None, None, 3), input_var=x)
    l_m = layers.InputLayer((None, None), input_var=m)
    layer = layers.RecurrentLayer(
        l_in, 5, W_in_to_hid=w_in.astype(np.float32), W_hid_to_hid=w_hid.astype(np.float32), b=b.astype(np.float32), mask_input=l_m
    )
    f = graphc.function([x, m], layers.get_output(layer))
    for steps in (1, 2, 7):
        xs = rng.normal(size=(2, steps, 3)).astype(np.float32)
        mask = np.ones((2, steps), np.float32)
        mask[1, steps // 2 :] = 0
        h = np.zeros((2, 5))
        want = []
        for t in range(steps):
            new = np.maximum(xs[:, t] @ w_in + h @ w_hid + b, 0)  # Lasagne's default nonlinearity: rectify
            h = np.where(mask[:, t : t + 1] > 0, new, h)
            want.append(h)
        np.testing.assert_allclose(f(xs, mask), np.stack(want, axis=1), rtol=1e-5, atol=1e-6)
