"""Training-step time: graphc (forward, backward and Adam in one ONNX Runtime session) against
PyTorch eager with the same network, optimizer and data, at the same thread count.

Each round runs every peer for one untimed step and then three timed ones, back to back, so
that neither peer is timed while the other's worker threads still spin (both ONNX Runtime and
PyTorch's OpenMP pool busy-wait for a while after a call).

Configurations: a bidirectional LSTM (batch 100, time 55, input 2, hidden 10 and 128, the
add task's shapes, summed directions, a dense unit per step, MSE on the last step) and an MLP
784-1024-1024-10 (batch 256, ReLU, softmax cross-entropy).  Peers run interleaved; medians.

Run: ``python bench/train.py [--threads 2] [--rounds 7] [--quick]`` (needs torch).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import onnxruntime as ort

import graphc
import graphc.tensor as T
from graphc.layers import DenseLayer, ElemwiseSumLayer, InputLayer, LSTMLayer, ReshapeLayer, get_all_params, get_output


def _graphc_lstm(hidden: int) -> tuple[Callable[..., Any], list[Any]]:
    graphc.random.set_rng(np.random.RandomState(0))
    l_in = InputLayer((None, None, 2))
    fwd = LSTMLayer(l_in, hidden, peepholes=False)
    bwd = LSTMLayer(l_in, hidden, peepholes=False, backwards=True)
    summed = ElemwiseSumLayer([fwd, bwd])
    dense = DenseLayer(ReshapeLayer(summed, (-1, hidden)), 1, nonlinearity=None)
    n_batch, n_time, _ = l_in.input_var.shape
    out = ReshapeLayer(dense, (n_batch, n_time))
    y = T.vector("y")
    cost = T.mean((get_output(out)[:, -1] - y) ** 2)
    params = get_all_params(out, trainable=True)
    step = graphc.function([l_in.input_var, y], cost, updates=graphc.updates.adam(cost, params))
    return step, params


def _torch_lstm(hidden: int) -> tuple[Callable[..., Any], Any]:
    import torch

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fwd = torch.nn.LSTM(2, hidden, batch_first=True)
            self.bwd = torch.nn.LSTM(2, hidden, batch_first=True)
            self.dense = torch.nn.Linear(hidden, 1)

        def forward(self, x: Any) -> Any:
            f, _ = self.fwd(x)
            b, _ = self.bwd(torch.flip(x, [1]))
            return self.dense(f + torch.flip(b, [1]))[..., 0]

    net = Net()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)

    def step(x: Any, y: Any) -> Any:
        opt.zero_grad()
        loss = torch.mean((net(x)[:, -1] - y) ** 2)
        loss.backward()
        opt.step()
        return loss

    return step, net


def _graphc_mlp() -> Callable[..., Any]:
    graphc.random.set_rng(np.random.RandomState(0))
    l_in = InputLayer((None, 784))
    h1 = DenseLayer(l_in, 1024)
    h2 = DenseLayer(h1, 1024)
    out = DenseLayer(h2, 10, nonlinearity=T.nnet.softmax)
    t = T.lvector("t")
    cost = T.mean(T.nnet.categorical_crossentropy(get_output(out), t))
    params = get_all_params(out, trainable=True)
    return graphc.function([l_in.input_var, t], cost, updates=graphc.updates.adam(cost, params))


def _torch_mlp() -> Callable[..., Any]:
    import torch

    net = torch.nn.Sequential(
        torch.nn.Linear(784, 1024), torch.nn.ReLU(), torch.nn.Linear(1024, 1024), torch.nn.ReLU(), torch.nn.Linear(1024, 10)
    )
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step(x: Any, t: Any) -> Any:
        opt.zero_grad()
        loss = loss_fn(net(x), t)
        loss.backward()
        opt.step()
        return loss

    return step


def _time(fn: Callable[[], Any], reps: int) -> float:
    start = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - start) / reps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    os.environ["GRAPHC_NUM_THREADS"] = str(args.threads)
    import torch

    torch.set_num_threads(args.threads)
    rounds = 2 if args.quick else args.rounds
    rng = np.random.default_rng(0)
    rows = []
    for hidden in (10, 128):
        x = rng.normal(size=(100, 55, 2)).astype(np.float32)
        y = rng.normal(size=(100,)).astype(np.float32)
        g_step, _ = _graphc_lstm(hidden)
        t_step, _ = _torch_lstm(hidden)
        xt, yt = torch.from_numpy(x), torch.from_numpy(y)
        peers = {
            "graphc": lambda g_step=g_step, x=x, y=y: g_step(x, y),
            "PyTorch eager": lambda t_step=t_step, xt=xt, yt=yt: t_step(xt, yt),
        }
        rows.append((f"BiLSTM h={hidden} (100x55)", peers))
    xm = rng.normal(size=(256, 784)).astype(np.float32)
    tm = rng.integers(0, 10, size=256)
    g_mlp, t_mlp = _graphc_mlp(), _torch_mlp()
    xmt, tmt = torch.from_numpy(xm), torch.from_numpy(tm)
    rows.append(("MLP 784-1024-1024-10 (256)", {"graphc": lambda: g_mlp(xm, tm), "PyTorch eager": lambda: t_mlp(xmt, tmt)}))

    print(f"# training step with Adam, {args.threads} threads, {rounds} rounds, medians ({platform.machine()}, "
          f"{os.cpu_count()} cpus, onnxruntime {ort.__version__}, torch {torch.__version__})")
    print(f"{'configuration':<30}{'peer':<16}{'ms/step':>10}{'vs PyTorch':>12}")
    for label, peers in rows:
        for fn in peers.values():
            _time(fn, 2)  # warm-up
        times: dict[str, list[float]] = {k: [] for k in peers}
        for _ in range(rounds):
            for name, fn in peers.items():
                fn()  # untimed: the other peer's threads may still be spinning down (ORT and OpenMP both spin)
                times[name].append(_time(fn, 3))
        med = {k: statistics.median(v) for k, v in times.items()}
        for name, t in med.items():
            print(f"{label:<30}{name:<16}{t * 1e3:>10.2f}{t / med['PyTorch eager']:>12.2f}")


if __name__ == "__main__":
    main()
