"""Call overhead of graphc.function against a raw ONNX Runtime session run.

Both run the same ONNX model (``f.onnx_model``) on a 10-element float32 input:
graphc adds argument checking, dtype casting and output unpacking on top of the
session run.  Rounds are interleaved (graphc, raw, graphc, raw, ...) so machine
noise hits both alike; the table quotes medians of per-call times.  The target
is a ratio under 1.5.

Run: ``python bench/function_overhead.py [--rounds 30] [--calls 2000]``
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import numpy as np
import onnxruntime as ort

import graphc
import graphc.tensor as T


def _per_call(fn, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--calls", type=int, default=2000)
    args = ap.parse_args()

    x = T.vector("x")
    f = graphc.function([x], x * 2 + 1, device="cpu")
    so = ort.SessionOptions()
    so.log_severity_level = 3
    raw = ort.InferenceSession(f.onnx_model.SerializeToString(), sess_options=so, providers=["CPUExecutionProvider"])
    in_name = raw.get_inputs()[0].name
    xv = np.arange(10, dtype=np.float32)
    np.testing.assert_allclose(f(xv), raw.run(None, {in_name: xv})[0])

    peers = {
        "graphc.function": lambda: f(xv),
        "raw session.run": lambda: raw.run(None, {in_name: xv}),
    }
    for fn in peers.values():  # warm-up
        _per_call(fn, args.calls)
    times: dict[str, list[float]] = {k: [] for k in peers}
    for _ in range(args.rounds):
        for name, fn in peers.items():
            times[name].append(_per_call(fn, args.calls))

    med = {k: statistics.median(v) for k, v in times.items()}
    base = med["raw session.run"]
    print(f"# graphc.function call overhead ({platform.processor() or platform.machine()}, "
          f"onnxruntime {ort.__version__}, numpy {np.__version__}, {args.rounds} rounds x {args.calls} calls)")
    print(f"{'peer':<20}{'median us/call':>16}{'ratio vs raw':>14}")
    for name, t in med.items():
        print(f"{name:<20}{t * 1e6:>16.2f}{t / base:>14.2f}")
    ratio = med["graphc.function"] / base
    print(f"target: graphc.function <= 1.5x raw session.run -> {'met' if ratio <= 1.5 else 'NOT met'} ({ratio:.2f}x)")


if __name__ == "__main__":
    main()
