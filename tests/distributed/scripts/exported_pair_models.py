"""Training steps with collectives for the exported-stages tests (one process, and under mpiexec).

Each builder seeds its parameters and returns a :class:`Case`: the step's inputs,
outputs and updates as expressions (what ``graphc.function`` and
``graphc.export.training_model`` both take), and the kind of data it trains on.
Every shared variable has a unique name, so an exported state entry and the
graphc variable it stands for are matched by name.

Also :func:`simulate_ranks`, the reference client: the exported models run by
bare ONNX Runtime (or any runner) for ``R`` simulated ranks, the all-reduce done
in numpy, as the contract in docs/training-contract.md describes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import graphc
import graphc.tensor as T
from graphc import distributed as dist
from graphc.layers import DenseLayer, InputLayer, LSTMLayer, get_all_params, get_output

__all__ = ["Case", "mlp_adam", "lstm_adam", "hand_written", "clipped_two_rounds", "CASES", "data", "simulate_ranks"]


@dataclass
class Case:
    """A step: ``graphc.function(inputs, outputs, updates=updates)``, trained on ``data(kind)`` batches."""

    inputs: list[Any]
    outputs: Any
    updates: list[tuple[Any, Any]]
    kind: str

    def function(self) -> Any:
        return graphc.function(self.inputs, self.outputs, updates=self.updates)

    def shared(self) -> dict[str, Any]:
        """The updated shared variables by name."""
        return {var.name: var for var, _ in self.updates}


def mlp_adam() -> Case:
    """A Lasagne MLP (7 -> 9 -> 3, softmax), cross-entropy, Adam on ``dist.mean`` of the gradients."""
    graphc.random.set_rng(np.random.RandomState(3))
    l_in = InputLayer((None, 7), name="x")
    hid = DenseLayer(l_in, 9, name="hid")
    out = DenseLayer(hid, 3, nonlinearity=T.nnet.softmax, name="out")
    y = T.matrix("y")
    cost = T.mean(graphc.objectives.categorical_crossentropy(get_output(out), y))
    params = get_all_params(out, trainable=True)
    grads = dist.mean(T.grad(cost, params))
    updates = graphc.updates.adam(grads, params, learning_rate=0.01)
    return Case([l_in.input_var, y], cost, list(updates.items()), "mlp")


def lstm_adam() -> Case:
    """An LSTM (5 steps of 3 features, 4 units, last step) and a dense regressor, Adam on averaged gradients."""
    graphc.random.set_rng(np.random.RandomState(4))
    l_in = InputLayer((None, 5, 3), name="seq")
    lstm = LSTMLayer(l_in, 4, only_return_final=True, name="lstm")
    out = DenseLayer(lstm, 2, nonlinearity=None, name="out")
    y = T.matrix("y")
    cost = T.mean((get_output(out) - y) ** 2)
    params = get_all_params(out, trainable=True)
    grads = dist.mean(T.grad(cost, params))
    updates = graphc.updates.adam(grads, params, learning_rate=0.01)
    return Case([l_in.input_var, y], cost, list(updates.items()), "lstm")


def hand_written() -> Case:
    """Momentum by hand on summed gradients divided by the summed example count, and a step counter.

    Outputs: this rank's cost, the mean cost over the ranks, and the counter before the step.
    """
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
    return Case([x, y], [err.mean(), dist.mean(err.mean()), counter], updates, "hand")


def clipped_two_rounds() -> Case:
    """SGD with the averaged gradient clipped to a norm of 0.05; the norm goes through a second collective.

    ``dist.mean`` of a value every rank holds equal is that value, so one process
    computes the same step; the exported step needs three models (two rounds).
    """
    graphc.random.set_rng(np.random.RandomState(8))
    l_in = InputLayer((None, 7), name="x")
    out = DenseLayer(DenseLayer(l_in, 5, name="hid"), 3, nonlinearity=T.nnet.softmax, name="out")
    y = T.matrix("y")
    cost = T.mean(graphc.objectives.categorical_crossentropy(get_output(out), y))
    params = get_all_params(out, trainable=True)
    grads = dist.mean(T.grad(cost, params))
    norm = dist.mean(T.sqrt(sum(T.sum(g**2) for g in grads)))
    scale = T.minimum(1.0, 0.05 / norm)
    updates = [(p, p - 0.5 * scale * g) for p, g in zip(params, grads)]
    return Case([l_in.input_var, y], [cost, norm], updates, "mlp")


#: case name -> builder
CASES: dict[str, Callable[[], Case]] = {
    "mlp_adam": mlp_adam,
    "lstm_adam": lstm_adam,
    "hand_written": hand_written,
    "clipped_two_rounds": clipped_two_rounds,
}


def data(kind: str, n: int = 8, rng: np.random.Generator | None = None) -> list[np.ndarray]:
    """A batch of ``n`` examples for the data ``kind`` ('mlp', 'lstm' or 'hand'), in input order."""
    rng = rng if rng is not None else np.random.default_rng(0)
    if kind == "lstm":
        return [rng.normal(size=(n, 5, 3)).astype(np.float32), rng.normal(size=(n, 2)).astype(np.float32)]
    if kind == "hand":
        return [rng.normal(size=(n, 6)).astype(np.float32), rng.normal(size=n).astype(np.float32)]
    x = rng.normal(size=(n, 7)).astype(np.float32)
    return [x, np.eye(3, dtype=np.float32)[rng.integers(0, 3, size=n)]]


def simulate_ranks(
    run_model: Callable[[int, dict[str, np.ndarray]], dict[str, np.ndarray]],
    contract: dict[str, Any],
    shards: list[dict[str, np.ndarray]],
    state: dict[str, np.ndarray],
) -> list[dict[str, np.ndarray]]:
    """One step of the exported stages on ``len(shards)`` simulated ranks; every rank's named values after it.

    Parameters
    ----------
    run_model : callable
        ``run_model(k, pool)``: runs model ``k`` with the inputs it names taken from
        ``pool``, and returns its outputs by name.
    contract : dict
        The ``graphc.training`` contract of the models.
    shards : list of dict
        Each rank's data inputs by name.
    state : dict
        The state every rank starts the step from.
    """
    pools = [{**shard, **state} for shard in shards]
    for k in range(len(contract["stages"])):
        for pool in pools:
            pool.update(run_model(k, pool))
        if k < len(contract["allreduce"]):
            for entry in contract["allreduce"][k]:
                dtype = np.dtype(entry["dtype"])
                total = functools.reduce(np.add, [np.asarray(p[entry["name"]], dtype=dtype) for p in pools])
                if entry["op"] == "mean":
                    total = np.divide(total, dtype.type(len(pools)), dtype=dtype)
                for pool in pools:
                    pool[entry["name"]] = np.array(total, dtype=dtype)  # 0-d results of numpy ops are scalars
    return pools
