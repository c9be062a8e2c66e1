"""``graphc bench MODEL``: latency percentiles and throughput of a model in ONNX Runtime."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

from .check import add_device_argument
from .errors import CLIError
from .inputs import check_inputs, input_specs, parse_dims, random_inputs, read_inputs, recurrent_ops
from .interrupt import call_stoppable, stage
from .limits import add_limit_arguments, check_model_file, check_model_size

__all__ = ["cmd_bench", "add_bench_parser"]


def cmd_bench(args: argparse.Namespace) -> int:
    """``graphc bench``: warm up, time single runs, print percentiles and throughput."""
    from ..export.io import load
    from .check import first_line, open_session, run_options
    from .dtypes import runner

    if args.runs < 1 or args.warmup < 0:
        raise CLIError(f"--runs must be >= 1 and --warmup >= 0, got {args.runs} and {args.warmup}")
    check_model_file(args.model, "bench", args.max_nodes)
    with stage("loading the model"):
        model = load(args.model)
    check_model_size(model, args.model, "bench", args.max_nodes)
    specs = input_specs(model)
    feeds = check_inputs(specs, read_inputs(args.input), recurrent_ops(model)) if args.input else random_inputs(specs, parse_dims(args.dim))
    sess = open_session(model, args.model, args.threads, args.device)
    ro = run_options()
    run = runner(sess, feeds)
    times = np.empty(args.runs)

    def timed() -> None:  # all runs in one worker thread: no thread start inside the timings
        for _ in range(args.warmup):
            run(ro)
        for i in range(args.runs):
            start = time.perf_counter()
            run(ro)
            times[i] = time.perf_counter() - start

    try:
        call_stoppable(timed, stop=lambda: setattr(ro, "terminate", True), stage="timing the model in ONNX Runtime")
    except MemoryError:
        raise CLIError(f"ONNX Runtime ran out of memory running {args.model}") from None
    except Exception as exc:
        raise CLIError(f"ONNX Runtime could not run {args.model}: {first_line(exc)}") from None
    ms = times * 1e3
    batch = {a.shape[0] for a in feeds.values() if a.ndim}
    shown = ", ".join(f"{k}{tuple(v.shape)}" for k, v in feeds.items()) or "none"
    print(f"bench {args.model}: {args.runs} runs after {args.warmup} warm-up, threads {args.threads or 'default'}")
    print(f"inputs: {shown}")
    p50, p90, p99 = np.percentile(ms, [50, 90, 99])
    print(f"latency ms: p50 {p50:.3f}  p90 {p90:.3f}  p99 {p99:.3f}  min {ms.min():.3f}  max {ms.max():.3f}  mean {ms.mean():.3f}")
    per_s = 1e3 / p50
    line = f"throughput: {per_s:,.1f} runs/s"
    if len(batch) == 1:
        (b,) = batch
        line += f", {per_s * b:,.1f} examples/s (batch {b})"
    print(line)
    return 0


def add_bench_parser(sub: Any) -> None:
    """The ``bench`` sub-command's arguments."""
    p = sub.add_parser(
        "bench",
        help="latency percentiles and throughput of an ONNX model",
        description="Time an ONNX model in ONNX Runtime (CPU, or --device cuda): latency percentiles over single runs, and throughput.",
    )
    p.add_argument("model", type=Path, help="path to an .onnx file")
    p.add_argument("--input", action="append", metavar="NAME=FILE.npy | FILE.npz", help="inputs instead of random data")
    p.add_argument("--dim", action="append", metavar="NAME=SIZE", help="size of a dynamic dimension (default 2)")
    p.add_argument("--runs", type=int, default=100, help="timed runs (default 100)")
    p.add_argument("--warmup", type=int, default=10, help="untimed runs first (default 10)")
    p.add_argument("--threads", type=int, default=None, help="ONNX Runtime intra-op threads")
    add_device_argument(p)
    add_limit_arguments(p)
    p.set_defaults(func=cmd_bench)
