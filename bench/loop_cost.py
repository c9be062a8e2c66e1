"""The measurements behind the loop choices: ``Scan`` against unrolling, and native cells against loops.

For an LSTM cell (the loop path: native lowering off) with a static number of steps, each
configuration is compiled twice, once with every loop kept as a ``Scan`` and once with every
loop unrolled, and timed interleaved (medians).  Inference runs the recurrent layer and a dense
read-out; training runs the same with an MSE cost and Adam (forward and backward loops).  The
table prints per-call times, the unrolled/Scan ratio and compile times; the summary gives, per
mode, the largest loop size (steps x body nodes) at which unrolling was not slower, which is what
:data:`graphc.passes.unroll.INFERENCE_MAX_NODES` / :data:`~graphc.passes.unroll.TRAINING_MAX_NODES`
are set from.

With ``--native``: for LSTM and GRU layers (inference exports, parameters frozen, as
``bench/run.py`` measures them), ONNX's native ``LSTM``/``GRU`` node against graphc's loop path
(``native_rnn`` off) over batch sizes, hidden sizes and sequence lengths: the measurements behind
:data:`graphc.passes.native_rnn.NATIVE_GRU_MAX_CELLS`.

Run: ``python bench/loop_cost.py [--threads 2] [--rounds 5] [--quick] [--native]``.  Measure on a
quiet machine: a concurrent job on the cores skews every figure.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import graphc
import graphc.tensor as T
from graphc.layers import DenseLayer, InputLayer, LSTMLayer, get_all_params, get_output
from graphc.passes.unroll import unroll_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import measure  # noqa: E402  (bench/run.py: interleaved rounds, medians)

FEATURES = 8


def build(batch: int, hidden: int, steps: int, unrolled: bool, training: bool) -> tuple[Callable[..., Any], float, int]:
    """A compiled step, its compile time in seconds, and the forward loop body's node count."""
    graphc.random.set_rng(np.random.RandomState(0))
    l_in = InputLayer((None, steps, FEATURES))
    out = DenseLayer(LSTMLayer(l_in, hidden, peepholes=False, only_return_final=True), 1, nonlinearity=None)
    pred = get_output(out)
    passes = {"native_rnn": False}
    start = time.perf_counter()
    with unroll_limits(None if unrolled else 0):
        if training:
            y = T.matrix("y")
            cost = T.mean((pred - y) ** 2)
            fn = graphc.function([l_in.input_var, y], cost, updates=graphc.updates.adam(cost, get_all_params(out)), passes=passes)
        else:
            fn = graphc.function([l_in.input_var], pred, passes=passes)
    seconds = time.perf_counter() - start
    body = 0
    for node in fn.onnx_model.graph.node:
        if node.op_type == "Scan":
            body = max(body, len(node.attribute[0].g.node))
    return fn, seconds, body


NATIVE_GRID = {  # (batch, steps, features, hidden)
    "quick": [(32, 50, 64, 256), (8, 50, 32, 64)],
    "full": [(b, t, f, h) for b in (1, 8, 32) for t in (20, 100) for (f, h) in ((16, 32), (64, 128), (64, 256))],
}


def native_vs_loop(grid: list[tuple[int, int, int, int]], threads: int, rounds: int) -> None:
    """Print native/loop time ratios of LSTM and GRU inference exports over ``grid``."""
    import recurrent as R

    print("| cell | batch, steps, features, hidden | native | loop path | native / loop |")
    print("|---|---|---|---|---|")
    for kind in ("lstm", "gru"):
        for sizes in grid:
            x = np.random.default_rng(1).normal(size=sizes[:3]).astype(np.float32)
            sessions = {name: R._session(R._graphc_model(kind, sizes, flag)[0], threads) for name, flag in (("native", True), ("loop", False))}
            outs = [s.run(None, {"x": x})[0] for s in sessions.values()]
            np.testing.assert_allclose(outs[0], outs[1], rtol=1e-3, atol=1e-4)
            peers = {name: lambda s=s, x=x: s.run(None, {"x": x}) for name, s in sessions.items()}
            med = measure(peers, rounds, budget=0.1, min_total=0.5)
            print(
                f"| {kind} | {', '.join(map(str, sizes))} | {med['native'] * 1e3:.3f} ms | {med['loop'] * 1e3:.3f} ms | "
                f"{med['native'] / med['loop']:.2f} |"
            )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="fewer step counts and rounds")
    ap.add_argument("--native", action="store_true", help="native LSTM/GRU nodes against the loop path instead")
    args = ap.parse_args(argv)
    os.environ["GRAPHC_NUM_THREADS"] = str(args.threads)
    if args.native:
        native_vs_loop(NATIVE_GRID["quick" if args.quick else "full"], args.threads, 3 if args.quick else args.rounds)
        return
    step_counts = (2, 8) if args.quick else (2, 4, 8, 16, 32)
    rounds = 3 if args.quick else args.rounds
    rng = np.random.default_rng(0)
    print("| mode | batch, hidden | steps | body nodes | Scan | unrolled | unrolled / Scan | compile Scan / unrolled |")
    print("|---|---|---|---|---|---|---|---|")
    best: dict[str, int] = {}
    for training in (False, True):
        mode = "training" if training else "inference"
        for batch, hidden in ((1, 32), (32, 128)):
            for steps in step_counts:
                x = rng.normal(size=(batch, steps, FEATURES)).astype(np.float32)
                y = rng.normal(size=(batch, 1)).astype(np.float32)
                call_args = (x, y) if training else (x,)
                scan_fn, scan_s, body = build(batch, hidden, steps, False, training)
                unr_fn, unr_s, _ = build(batch, hidden, steps, True, training)
                peers = {"scan": lambda f=scan_fn, a=call_args: f(*a), "unrolled": lambda f=unr_fn, a=call_args: f(*a)}
                med = measure(peers, rounds, budget=0.05, min_total=0.25)
                ratio = med["unrolled"] / med["scan"]
                size = steps * body
                if ratio <= 1.0:
                    best[mode] = max(best.get(mode, 0), size)
                print(
                    f"| {mode} | {batch}, {hidden} | {steps} | {body} | {med['scan'] * 1e3:.3f} ms | "
                    f"{med['unrolled'] * 1e3:.3f} ms | {ratio:.2f} | {scan_s:.2f} s / {unr_s:.2f} s |"
                )
    print()
    for mode in ("inference", "training"):
        print(f"{mode}: unrolling was not slower up to {best.get(mode, 0)} unrolled body nodes (steps x body)")


if __name__ == "__main__":
    main()
