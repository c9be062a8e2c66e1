"""Timing for the benchmarks: interleaved rounds of blocks, medians, page faults and spread.

Peers are timed in rounds, each giving every peer a short pause (other peers' worker threads,
OpenBLAS's, OpenMP's and ONNX Runtime's, busy-wait for a while after their calls), one untimed call
and a block of timed calls; figures are medians over the rounds.  ``PINNED_MALLOC`` is the glibc
malloc setting ``bench/run.py`` reruns itself with.
"""

from __future__ import annotations

import resource
import statistics
import time
from collections.abc import Callable
from typing import Any

# glibc malloc with fixed thresholds: blocks stay mapped between calls (without them, glibc's dynamic
# mmap threshold leaves a process in one of two modes, in one of which PyTorch's LSTM step takes
# 10,000-19,000 page faults a step: docs/performance-notes.md)
PINNED_MALLOC = {"MALLOC_MMAP_THRESHOLD_": str(4 << 30), "MALLOC_TRIM_THRESHOLD_": str(16 << 30), "MALLOC_TOP_PAD_": str(256 << 20)}

SETTLE_SECONDS = 0.05  # before each block: other peers' thread pools (OpenBLAS, OpenMP, ORT) stop spinning


def _block(fn: Callable[[], Any], reps: int) -> float:
    time.sleep(SETTLE_SECONDS)
    fn()  # untimed
    start = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - start) / reps


def _minor_faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def measure(
    peers: dict[str, Callable[[], Any]],
    rounds: int,
    budget: float = 0.2,
    min_total: float = 1.0,
    faults: dict[str, float] | None = None,
    spread: dict[str, float] | None = None,
) -> dict[str, float]:
    """Median seconds per call of each peer, interleaved rounds of blocks of about ``budget`` seconds.

    Fast calls (blocks capped at 100 calls) get more rounds, so that each peer is timed for at
    least ``min_total`` seconds: a handful of 10 ms blocks of a 0.1 ms call let machine noise
    decide the ratio.  ``faults``, when given, receives each peer's minor page faults per timed
    call (an allocator that hands memory back to the kernel after every call pays them again on
    the next: they are part of the peer's time, and the reason a ratio can flip between runs).
    ``spread``, when given, receives each peer's slowest block over its fastest (how steady the peer
    was within the run: a peer much less steady than the others swings by itself, not with the machine).
    """
    first = next(iter(peers.values()))
    one = _block(first, 1)
    reps = max(1, min(100, int(budget / max(one, 1e-6))))
    rounds = max(rounds, int(min_total / max(reps * one, 1e-6)) + 1) if min_total else rounds
    times: dict[str, list[float]] = {k: [] for k in peers}
    faulted = dict.fromkeys(peers, 0)
    for _ in range(rounds):
        for name, fn in peers.items():
            before = _minor_faults()
            times[name].append(_block(fn, reps))
            faulted[name] += _minor_faults() - before
    if faults is not None:
        faults.update({k: v / (rounds * (reps + 1)) for k, v in faulted.items()})  # the untimed call too
    if spread is not None:
        spread.update({k: max(v) / min(v) for k, v in times.items()})
    return {k: statistics.median(v) for k, v in times.items()}
