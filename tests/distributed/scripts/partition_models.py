"""The steps the partition tests run, in one process (threads on a fake communicator) and under mpiexec.

Each builder compiles a step with the communicator graphc has when it is
called (one process: collectives are identities) and returns it with the
parameters it trains.  Parameters are seeded, so every build starts equal.
"""

from __future__ import annotations

import numpy as np

import graphc
import graphc.tensor as T
from graphc import distributed as dist
from graphc.layers import (
    Conv2DLayer,
    DenseLayer,
    GRULayer,
    InputLayer,
    LSTMLayer,
    MaxPool2DLayer,
    get_all_params,
    get_output,
)

__all__ = ["mlp_step", "lstm_step", "gru_masked_step", "conv_step", "hand_written_step", "data", "BUILDERS"]


def mlp_step(hidden=9, reduce_all=True):
    """A Lasagne MLP's Adam step on averaged gradients (only the first two averaged: ``reduce_all=False``)."""
    graphc.random.set_rng(np.random.RandomState(3))
    l_in = InputLayer((None, 7))
    out = DenseLayer(DenseLayer(l_in, hidden), 3, nonlinearity=T.nnet.softmax)
    y = T.matrix("y")
    cost = T.mean(graphc.objectives.categorical_crossentropy(get_output(out), y))
    params = get_all_params(out, trainable=True)
    grads = T.grad(cost, params)
    grads = dist.mean(grads) if reduce_all else dist.mean(grads[:2]) + grads[2:]
    step = graphc.function([l_in.input_var, y], cost, updates=graphc.updates.adam(grads, params, learning_rate=0.01))
    return step, params


def lstm_step():
    """An LSTM regressor's Adam step on averaged gradients."""
    graphc.random.set_rng(np.random.RandomState(4))
    l_in = InputLayer((None, 5, 3))
    out = DenseLayer(LSTMLayer(l_in, 4, only_return_final=True), 2, nonlinearity=None)
    y = T.matrix("y")
    cost = T.mean((get_output(out) - y) ** 2)
    params = get_all_params(out, trainable=True)
    grads = dist.mean(T.grad(cost, params))
    step = graphc.function([l_in.input_var, y], cost, updates=graphc.updates.adam(grads, params, learning_rate=0.01))
    return step, params


def gru_masked_step():
    """A backwards GRU over right-padded sequences (a mask input), Nesterov momentum on averaged gradients."""
    graphc.random.set_rng(np.random.RandomState(6))
    l_in = InputLayer((None, 6, 3))
    l_mask = InputLayer((None, 6))
    out = DenseLayer(GRULayer(l_in, 5, mask_input=l_mask, backwards=True, only_return_final=True), 2, nonlinearity=None)
    y = T.matrix("y")
    cost = T.mean((get_output(out) - y) ** 2)
    params = get_all_params(out, trainable=True)
    grads = dist.mean(T.grad(cost, params))
    updates = graphc.updates.nesterov_momentum(grads, params, learning_rate=0.05)
    step = graphc.function([l_in.input_var, l_mask.input_var, y], cost, updates=updates)
    return step, params


def conv_step():
    """A small convolutional classifier, RMSProp on averaged gradients."""
    graphc.random.set_rng(np.random.RandomState(7))
    l_in = InputLayer((None, 2, 7, 6))
    conv = MaxPool2DLayer(Conv2DLayer(l_in, 4, (3, 2)), 2)
    out = DenseLayer(conv, 3, nonlinearity=T.nnet.softmax)
    y = T.matrix("y")
    cost = T.mean(graphc.objectives.categorical_crossentropy(get_output(out), y))
    params = get_all_params(out, trainable=True)
    grads = dist.mean(T.grad(cost, params))
    step = graphc.function([l_in.input_var, y], cost, updates=graphc.updates.rmsprop(grads, params, learning_rate=0.01))
    return step, params


def hand_written_step():
    """Momentum by hand, gradients summed and divided by the summed example count; a step counter;
    the outputs: this rank's cost, the global mean cost, and the counter before the step."""
    x, y = T.matrix("x"), T.vector("y")
    w = graphc.shared(np.random.RandomState(5).normal(size=(6, 1)).astype(np.float32), name="w")
    b = graphc.shared(np.zeros(1, dtype=np.float32), name="b")
    counter = graphc.shared(np.float32(0), name="counter")
    err = (T.dot(x, w)[:, 0] + b[0] - y) ** 2
    n = dist.sum(T.cast(x.shape[0], "float32"))
    gw, gb = dist.sum(T.grad(err.sum(), [w, b]))
    updates = []
    for p, g in ((w, gw), (b, gb)):
        v = graphc.shared(np.zeros(p.get_value().shape, dtype=np.float32), name=f"v_{p.name}")
        v_new = 0.9 * v - 0.05 * g / n
        updates += [(v, v_new), (p, p + v_new)]
    updates.append((counter, counter + 1))
    step = graphc.function([x, y], [err.mean(), dist.mean(err.mean()), counter], updates=updates)
    return step, [w, b]


def data(kind, n=8, rng=None):
    """A batch of ``n`` examples for the model ``kind`` ('mlp', 'lstm', 'gru', 'conv' or 'hand')."""
    rng = rng if rng is not None else np.random.default_rng(0)
    if kind == "lstm":
        return rng.normal(size=(n, 5, 3)).astype(np.float32), rng.normal(size=(n, 2)).astype(np.float32)
    if kind == "gru":
        lengths = rng.integers(1, 7, size=n)
        mask = (np.arange(6)[None, :] < lengths[:, None]).astype(np.float32)
        return rng.normal(size=(n, 6, 3)).astype(np.float32), mask, rng.normal(size=(n, 2)).astype(np.float32)
    if kind == "hand":
        return rng.normal(size=(n, 6)).astype(np.float32), rng.normal(size=n).astype(np.float32)
    x = rng.normal(size=(n, 2, 7, 6) if kind == "conv" else (n, 7)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, size=n)]
    return x, y


#: case -> (builder, data kind)
BUILDERS = {
    "mlp_adam": (mlp_step, "mlp"),
    "lstm_adam": (lstm_step, "lstm"),
    "gru_masked_nesterov": (gru_masked_step, "gru"),
    "conv_rmsprop": (conv_step, "conv"),
    "hand_written": (hand_written_step, "hand"),
}
