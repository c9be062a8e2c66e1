"""The network of ../shared/seeds/lasagne-recurrent-tutorial.txt, built with imports changed and run forward.

Training needs gradients and updates (a later issue); here the tutorial's network, cost and
compiled cost function run on the tutorial's add-task data, and the forward pass is checked
against a numpy implementation of the same network.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import graphc as lasagne
import graphc as theano
import graphc.tensor as T

MIN_LENGTH, MAX_LENGTH = 50, 55

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
from recurrent_add import gen_data  # noqa: E402  (the tutorial's data, as the example generates it)


def test_tutorial_network_builds_and_runs_forward():
    lasagne.random.set_rng(np.random.RandomState(0))
    l_in = lasagne.layers.InputLayer(shape=(None, None, 2))
    l_mask = lasagne.layers.InputLayer(shape=(None, None))
    gate_parameters = lasagne.layers.recurrent.Gate(
        W_in=lasagne.init.Orthogonal(), W_hid=lasagne.init.Orthogonal(), b=lasagne.init.Constant(0.0)
    )
    cell_parameters = lasagne.layers.recurrent.Gate(
        W_in=lasagne.init.Orthogonal(), W_hid=lasagne.init.Orthogonal(),
        W_cell=None, b=lasagne.init.Constant(0.0),
        nonlinearity=lasagne.nonlinearities.tanh,
    )
    N_HIDDEN = 10
    l_lstm = lasagne.layers.recurrent.LSTMLayer(
        l_in, N_HIDDEN, mask_input=l_mask,
        ingate=gate_parameters, forgetgate=gate_parameters, cell=cell_parameters, outgate=gate_parameters,
        learn_init=True, grad_clipping=100.0,
    )
    l_lstm_back = lasagne.layers.recurrent.LSTMLayer(
        l_in, N_HIDDEN, ingate=gate_parameters, mask_input=l_mask, forgetgate=gate_parameters,
        cell=cell_parameters, outgate=gate_parameters, learn_init=True, grad_clipping=100.0, backwards=True,
    )
    l_sum = lasagne.layers.ElemwiseSumLayer([l_lstm, l_lstm_back])
    n_batch, n_time_steps, n_features = l_in.input_var.shape
    l_reshape = lasagne.layers.ReshapeLayer(l_sum, (-1, N_HIDDEN))
    l_dense = lasagne.layers.DenseLayer(l_reshape, num_units=1, nonlinearity=lasagne.nonlinearities.tanh)
    l_out = lasagne.layers.ReshapeLayer(l_dense, (n_batch, n_time_steps))

    target_values = T.vector("target_output")
    mask = T.matrix("mask")  # declared by the tutorial, unused by it too
    network_output = lasagne.layers.get_output(l_out)
    predicted_values = network_output[:, -1]
    cost = T.mean((predicted_values - target_values) ** 2)
    all_params = lasagne.layers.get_all_params(l_out)
    assert len(all_params) == 2 * 17 + 2
    compute_cost = theano.function([l_in.input_var, target_values, l_mask.input_var], cost)
    predict = theano.function([l_in.input_var, l_mask.input_var], network_output)

    X_val, y_val, mask_val = gen_data(rng=np.random.RandomState(1))
    cost_val = compute_cost(X_val, y_val, mask_val)
    assert np.isfinite(cost_val) and cost_val.shape == ()
    out = predict(X_val, mask_val)
    assert out.shape == (100, MAX_LENGTH)
    # an independent numpy forward pass of the same network
    from test_recurrent import lstm_np

    fwd, _ = lstm_np(l_lstm, X_val.astype(np.float64), mask_val)
    bwd, _ = lstm_np(l_lstm_back, X_val.astype(np.float64), mask_val)
    W, b = l_dense.W.get_value(), l_dense.b.get_value()
    want = np.tanh((fwd + bwd).reshape(-1, N_HIDDEN) @ W + b).reshape(100, MAX_LENGTH)
    np.testing.assert_allclose(out, want, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(cost_val, np.mean((want[:, -1] - y_val) ** 2), rtol=1e-4)
    # a second, smaller batch through the same compiled functions
    X2, y2, m2 = gen_data(n_batch=7, rng=np.random.RandomState(2))
    assert predict(X2, m2).shape == (7, MAX_LENGTH)
    del mask
