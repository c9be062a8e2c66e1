"""The measurements behind the unroll pass's cost model: ONNX ``Scan`` against the unrolled graph.

For an LSTM cell (the loop path: native lowering off) with a static number of steps, each
configuration is compiled twice, once with every loop kept as a ``Scan`` and once with every
loop unrolled, and timed interleaved (medians).  Inference runs the recurrent layer and a dense
read-out; training runs the same with an MSE cost and Adam (forward and backward loops).  The
table prints per-call times, the unrolled/Scan ratio and compile times; the summary gives, per
mode, the largest loop size (steps x body nodes) at which unrolling was not slower, which is what
:data:`graphc.passes.unroll.INFERENCE_MAX_NODES` / :data:`~graphc.passes.unroll.TRAINING_MAX_NODES`
are set from.

Run: ``python bench/loop_cost.py [--threads 2] [--rounds 5] [--quick]``.  Measure on a quiet
machine: a concurrent job on the cores skews every figure.
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


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="fewer step counts and rounds")
    args = ap.parse_args(argv)
    os.environ["GRAPHC_NUM_THREADS"] = str(args.threads)
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
