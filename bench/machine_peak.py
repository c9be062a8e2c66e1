"""The machine's real single-precision GEMM peak and a description of its CPU, for bench/run.py.

Where the MLP's inference rate is judged "against GEMM", the reference must be the machine's own
peak, not whatever kernel an environment happens to select: a machine that sets
``OPENBLAS_CORETYPE=Haswell`` makes numpy's OpenBLAS run its AVX2 kernel on an AVX-512 CPU, and the
resulting "sgemm rate" is a fraction of what the CPU does (graphc then showed 154 % of it).  So:

- numpy's sgemm is timed in a child process whose environment has ``OPENBLAS_CORETYPE`` and
  ``OPENBLAS_L2_SIZE`` removed (this process's own environment is left as it is), with
  ``OPENBLAS_NUM_THREADS`` set to the thread count, and the child reports which kernel OpenBLAS
  actually picked (``openblas_get_corename``);
- torch's matmul (MKL or oneDNN on x86) is timed in this process;
- the peak is the faster of the two.

Run alone: ``python bench/machine_peak.py [--threads 2] [--size 1024]`` prints the CPU line and both rates.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

# the vector extensions that decide which GEMM kernels a CPU can run, in the order they are shown
VECTOR_FLAGS = (
    "sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16",
    "avx512_fp16", "amx_tile", "amx_bf16", "amx_int8", "asimd", "sve", "sve2",
)  # fmt: skip
UNSET = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")

_CHILD = r"""
import ctypes, glob, json, os, statistics, sys, time
import numpy as np
n, runs = int(sys.argv[1]), int(sys.argv[2])
a = np.random.default_rng(1).standard_normal((n, n), dtype=np.float32)
b = np.random.default_rng(2).standard_normal((n, n), dtype=np.float32)
for _ in range(3):
    a @ b
times = []
for _ in range(runs):
    t = time.perf_counter(); a @ b; times.append(time.perf_counter() - t)
core = "unknown"
libs = glob.glob(os.path.join(os.path.dirname(np.__file__) + ".libs", "*openblas*"))
for path in libs:
    lib = ctypes.CDLL(path)
    for name in ("scipy_openblas_get_corename64_", "scipy_openblas_get_corename", "openblas_get_corename64_", "openblas_get_corename"):
        fn = getattr(lib, name, None)
        if fn is not None:
            fn.restype = ctypes.c_char_p
            core = fn().decode()
            break
print(json.dumps({"seconds": statistics.median(times), "core": core}))
"""


@dataclass
class GemmRate:
    """One GEMM implementation's measured rate."""

    name: str
    gflops: float
    seconds: float  # median seconds per n x n x n product
    detail: str = ""


def cpu_description() -> str:
    """The CPU model, its logical CPU count and its vector extensions, e.g.
    ``AMD EPYC 9B14, 2 cpus, avx avx2 fma avx512f ...``."""
    model = platform.processor() or platform.machine()
    flags: set[str] = set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            key = key.strip()
            if key == "model name" and model in ("", platform.machine(), platform.processor()):
                model = value.strip()
            elif key in ("flags", "Features") and not flags:
                flags = set(value.split())
    except OSError:
        pass
    shown = [f for f in VECTOR_FLAGS if f in flags]
    return f"{model}, {os.cpu_count()} cpus, vector extensions: {' '.join(shown) or 'unknown'}"


def numpy_sgemm(threads: int, n: int = 1024, runs: int = 15) -> GemmRate:
    """numpy's sgemm in a child process with the OpenBLAS kernel overrides removed."""
    env = {k: v for k, v in os.environ.items() if k not in UNSET}
    env.update(OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(n), str(runs)], env=env, capture_output=True, text=True, timeout=600, check=True
    )
    got = json.loads(done.stdout.strip().splitlines()[-1])
    removed = [k for k in UNSET if k in os.environ]
    detail = f"OpenBLAS kernel {got['core']}" + (f" ({', '.join(removed)} unset)" if removed else "")
    return GemmRate("numpy sgemm", 2 * n**3 / got["seconds"] / 1e9, got["seconds"], detail)


def torch_matmul(threads: int, n: int = 1024, runs: int = 15) -> GemmRate | None:
    """torch's float32 matmul in this process (None without torch)."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads)
    gen = torch.Generator().manual_seed(1)
    a = torch.randn(n, n, generator=gen)
    b = torch.randn(n, n, generator=gen)
    for _ in range(3):
        a @ b
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t)
    sec = statistics.median(times)
    backend = "MKL" if torch.backends.mkl.is_available() else "its BLAS"
    return GemmRate("torch matmul", 2 * n**3 / sec / 1e9, sec, f"torch {torch.__version__} ({backend})")


def gemm_peak(threads: int, n: int = 1024, runs: int = 15) -> tuple[GemmRate, list[GemmRate]]:
    """The faster of numpy's sgemm (kernel overrides removed) and torch's matmul, and both rates."""
    rates = [r for r in (numpy_sgemm(threads, n, runs), torch_matmul(threads, n, runs)) if r is not None]
    return max(rates, key=lambda r: r.gflops), rates


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--size", type=int, default=1024)
    args = ap.parse_args(argv)
    print(cpu_description())
    peak, rates = gemm_peak(args.threads, args.size)
    for r in rates:
        mark = "  <- peak" if r is peak else ""
        print(f"{r.name}: {r.gflops:.1f} GFLOP/s ({r.detail}){mark}")


if __name__ == "__main__":
    main()
