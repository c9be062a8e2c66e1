"""The benchmark suite: every configuration of the performance targets, peers measured in one run.

Each configuration's peers run interleaved: every round gives each peer a 50 ms pause and one
untimed call (the other peers' worker threads, OpenBLAS's and OpenMP's included, busy-wait for a
while after their calls: right after numpy's sgemm the MLP ran 10 points below its rate) and
then a block of timed calls;
the table quotes medians over the rounds.  Ratios are against the peer each target names.

Configurations (CPU, ``--threads`` threads, default 2):

- LSTM and GRU inference, batch 32, time 100, input 64, hidden 256: graphc (default, and with
  native lowering off: the loop path) against torch.onnx on ONNX Runtime and PyTorch eager;
- LSTM inference, batch 1, time 20, input 32, hidden 32 (latency);
- bidirectional LSTM training step with Adam, batch 100, time 55, hidden 10 and 128, against
  PyTorch eager;
- MLP 784-1024-1024-10, batch 256: inference against the machine's GEMM peak (the faster of torch's
  matmul and numpy's sgemm without OpenBLAS kernel overrides, see machine_peak.py), and the training step
  with Adam against PyTorch eager;
- compile time: the add task's training function (build, passes, export, session), and a
  100-layer MLP;
- memory: peak RSS of a bidirectional LSTM training step (batch 32, time 1000, hidden 128),
  graphc and PyTorch each in a fresh process.

Run: ``python bench/run.py [--quick] [--threads 2] [--rounds 7] [--repeat 3] [--write docs/PERFORMANCE.md]``
(needs torch).  Measure on a quiet machine: a concurrent job on the cores skews every figure, and
the machine's own speed drifts between runs (``--repeat`` quotes medians over several runs with
the range of each ratio).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from timing import PINNED_MALLOC, measure  # noqa: E402  (bench/timing.py; measure is also read from here)


@dataclass
class Row:
    """One configuration: its peers' median times and the target it is judged by."""

    config: str
    times: dict[str, float]
    reference: str
    target: str
    limit: float | None  # graphc / reference must be <= limit (None: informational)
    graphc: str = "graphc"
    notes: list[str] = field(default_factory=list)
    unit: str = "ms"

    def ratio(self, peer: str) -> float:
        return self.times[peer] / self.times[self.reference]

    def met(self) -> str:
        if self.limit is None:
            return ""
        return "met" if self.ratio(self.graphc) <= self.limit else "MISSED"



# -- configurations ------------------------------------------------------------------------------
def recurrent_inference(kind: str, sizes: tuple[int, int, int, int], threads: int, rounds: int) -> list[Row]:
    import recurrent as R
    import torch

    b, t, f, h = sizes
    x = np.random.default_rng(1).normal(size=(b, t, f)).astype(np.float32)
    default_bytes, values = R._graphc_model(kind, sizes, None)
    loop_bytes, _ = R._graphc_model(kind, sizes, False)
    net, torch_onnx = R._torch_peer(kind, sizes, values, threads)
    g, g_loop, t_onnx = (R._session(m, threads) for m in (default_bytes, loop_bytes, torch_onnx))
    xt = torch.from_numpy(x)

    def eager() -> Any:
        with torch.inference_mode():
            return net(xt)[0]

    peers = {
        "graphc": lambda: g.run(None, {"x": x}),
        "graphc (loop path)": lambda: g_loop.run(None, {"x": x}),
        "torch.onnx on ORT": lambda: t_onnx.run(None, {"x": x}),
        "PyTorch eager": eager,
    }
    ref = eager().numpy()
    for name in ("graphc", "graphc (loop path)", "torch.onnx on ORT"):
        np.testing.assert_allclose(peers[name]()[0], ref, rtol=1e-3, atol=1e-4, err_msg=name)
    spread: dict[str, float] = {}
    med = measure(peers, rounds, spread=spread)
    label = f"{kind.upper()} inference {sizes}"
    rows = [Row(label, med, "torch.onnx on ORT", "<= 0.95x torch.onnx", 0.95)]
    rows[0].notes.append("slowest / fastest block: " + ", ".join(f"{k} {v:.2f}" for k, v in spread.items()))
    if sizes[0] > 1:
        rows.append(Row(label, med, "PyTorch eager", "<= 1.0x eager", 1.0))
        rows.append(Row(label, med, "torch.onnx on ORT", "loop path <= 1.2x torch.onnx", 1.2, graphc="graphc (loop path)"))
    return rows


def training_steps(threads: int, rounds: int) -> list[Row]:
    import torch
    import train as TR

    torch.set_num_threads(threads)
    rng = np.random.default_rng(0)
    rows = []
    for hidden in (10, 128):
        x = rng.normal(size=(100, 55, 2)).astype(np.float32)
        y = rng.normal(size=(100,)).astype(np.float32)
        g_step, _ = TR._graphc_lstm(hidden)
        t_step, _ = TR._torch_lstm(hidden)
        xt, yt = torch.from_numpy(x), torch.from_numpy(y)
        peers = {
            "graphc": lambda g=g_step, x=x, y=y: g(x, y),
            "PyTorch eager": lambda t=t_step, xt=xt, yt=yt: t(xt, yt),
        }
        faults: dict[str, float] = {}
        med = measure(peers, rounds, budget=0.5, faults=faults)
        rows.append(Row(f"BiLSTM training step h={hidden} (100, 55)", med, "PyTorch eager", "<= 0.8x PyTorch", 0.8))
        rows[-1].notes.append(_faults_note(faults))
    xm = rng.normal(size=(256, 784)).astype(np.float32)
    tm = rng.integers(0, 10, size=256)
    g_mlp, t_mlp = TR._graphc_mlp(), TR._torch_mlp()
    xmt, tmt = torch.from_numpy(xm), torch.from_numpy(tm)
    faults = {}
    peers = {"graphc": lambda: g_mlp(xm, tm), "PyTorch eager": lambda: t_mlp(xmt, tmt)}
    med = measure(peers, rounds, budget=0.5, faults=faults)
    rows.append(Row("MLP 784-1024-1024-10 training step (256)", med, "PyTorch eager", "<= 0.7x PyTorch", 0.7))
    rows[-1].notes.append(_faults_note(faults))
    return rows


def _faults_note(faults: dict[str, float]) -> str:
    return "page faults per step: " + ", ".join(f"{k} {v:.0f}" for k, v in faults.items())


def mlp_inference(threads: int, rounds: int) -> list[Row]:
    """The MLP's inference rate against the machine's real GEMM peak: graphc's inference model
    (``to_onnx``, served by ONNX Runtime, as the recurrent rows are) is judged; ``graphc.function``
    (parameters fed as inputs, so ONNX Runtime cannot pre-pack them) is shown beside it.  The peak
    is the faster of torch's matmul (timed here, interleaved with graphc) and numpy's sgemm (timed
    in a child process without ``OPENBLAS_CORETYPE``/``OPENBLAS_L2_SIZE``: see machine_peak.py)."""
    import machine_peak
    import recurrent as R

    import graphc
    import graphc.tensor as T
    from graphc.export import to_onnx
    from graphc.layers import DenseLayer, InputLayer, get_output

    graphc.random.set_rng(np.random.RandomState(0))
    l_in = InputLayer((None, 784), name="x")
    out = DenseLayer(DenseLayer(DenseLayer(l_in, 1024), 1024), 10, nonlinearity=T.nnet.softmax)
    f = graphc.function([l_in.input_var], get_output(out, deterministic=True))
    session = R._session(to_onnx({"y": out}).SerializeToString(), threads)
    feed = session.get_inputs()[0].name
    x = np.random.default_rng(0).normal(size=(256, 784)).astype(np.float32)
    np.testing.assert_allclose(session.run(None, {feed: x})[0], f(x), rtol=1e-4, atol=1e-6)
    n = 1024
    flops_mlp = 2 * 256 * (784 * 1024 + 1024 * 1024 + 1024 * 10)
    flops_gemm = 2 * n**3
    peers: dict[str, Callable[[], Any]] = {"graphc": lambda: session.run(None, {feed: x}), "graphc.function": lambda: f(x)}
    torch_name = "torch matmul (1024^3)"
    try:
        import torch

        gen = torch.Generator().manual_seed(1)
        ta, tb = torch.randn(n, n, generator=gen), torch.randn(n, n, generator=gen)
        peers[torch_name] = lambda: ta @ tb
    except ImportError:
        pass
    med = measure(peers, rounds)
    numpy_rate = machine_peak.numpy_sgemm(threads, n)
    numpy_name = "numpy sgemm (1024^3, own process)"
    med[numpy_name] = numpy_rate.seconds
    gemms = [k for k in (torch_name, numpy_name) if k in med]
    # express as "time per GFLOP" so that <= 1/0.85 means >= 85% of the peak rate
    per = {k: med[k] / (flops_gemm if k in gemms else flops_mlp) * 1e9 for k in med}
    peak = min(gemms, key=lambda k: per[k])
    per = {"GEMM peak": per[peak], **per}
    row = Row("MLP 784-1024-1024-10 inference (256)", per, "GEMM peak", ">= 85% of the GEMM peak", 1 / 0.85, unit="s/TFLOP")
    rates = {k: 1 / v for k, v in per.items()}
    row.notes.append(
        f"graphc's inference model {rates['graphc']:.1f} GFLOP/s ({rates['graphc'] / rates['GEMM peak']:.0%} of the peak), "
        f"graphc.function {rates['graphc.function']:.1f} GFLOP/s; the peak is {peak} "
        f"({'; '.join(f'{k} {rates[k]:.1f} GFLOP/s' for k in gemms)}; numpy's {numpy_rate.detail})"
    )
    return [row]


COMPILE_ADD_TASK = """
import time, numpy as np
t0 = time.perf_counter()
import graphc, graphc.tensor as T
import graphc as lasagne
from graphc.layers import InputLayer, LSTMLayer, ElemwiseSumLayer, ReshapeLayer, DenseLayer, get_output, get_all_params
t1 = time.perf_counter()
l_in = InputLayer((None, None, 2)); l_mask = InputLayer((None, None))
f = LSTMLayer(l_in, 10, mask_input=l_mask, grad_clipping=100, nonlinearity=lasagne.nonlinearities.tanh)
b = LSTMLayer(l_in, 10, mask_input=l_mask, grad_clipping=100, nonlinearity=lasagne.nonlinearities.tanh, backwards=True)
s = ElemwiseSumLayer([f, b]); n_batch, n_time, _ = l_in.input_var.shape
out = ReshapeLayer(DenseLayer(ReshapeLayer(s, (-1, 10)), 1, nonlinearity=lasagne.nonlinearities.tanh), (n_batch, n_time))
y = T.vector("y"); pred = get_output(out)[:, -1]; cost = T.mean((pred - y) ** 2)
params = get_all_params(out); updates = lasagne.updates.adam(cost, params)
step = graphc.function([l_in.input_var, y, l_mask.input_var], cost, updates=updates)
t2 = time.perf_counter()
print(f"{t2 - t1:.4f} {t1 - t0:.4f}")
"""

COMPILE_MLP100 = """
import time
t0 = time.perf_counter()
import graphc, graphc.tensor as T
from graphc.layers import InputLayer, DenseLayer, get_output
t1 = time.perf_counter()
l_in = layer = InputLayer((None, 64))
for _ in range(100):
    layer = DenseLayer(layer, 64)
f = graphc.function([l_in.input_var], get_output(layer))
t2 = time.perf_counter()
print(f"{t2 - t1:.4f} {t1 - t0:.4f}")
"""


def _child_seconds(code: str, threads: int, runs: int) -> float:
    env = dict(os.environ, GRAPHC_NUM_THREADS=str(threads))
    times = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
        times.append(float(out.stdout.split()[0]))
    return statistics.median(times)


def compile_times(threads: int, rounds: int) -> list[Row]:
    runs = max(3, min(rounds, 5))
    add = _child_seconds(COMPILE_ADD_TASK, threads, runs)
    mlp = _child_seconds(COMPILE_MLP100, threads, runs)
    rows = [
        Row("compile: add-task training function", {"graphc": add, "target": 1.0}, "target", "< 1.0 s", 1.0, unit="s"),
        Row("compile: 100-layer MLP function", {"graphc": mlp, "target": 3.0}, "target", "< 3.0 s", 1.0, unit="s"),
    ]
    for r in rows:
        r.notes.append(f"fresh process, imports excluded (build, passes, export, session), median of {runs}")
    return rows


MEMORY = """
import sys
import numpy as np
sys.path.insert(0, {here!r})
import train as TR
{setup}
def status_kib(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1])
base = status_kib("VmRSS")  # resident before the steps (the compiled step, the data)
for _ in range(2):
    step(x, y)
# the high-water mark of this address space (ru_maxrss would count the parent's size at the fork
# that started this process: it survives exec)
print(status_kib("VmHWM"), base)
"""

MEMORY_SETUP = {
    "graphc": """
step, _ = TR._graphc_lstm(128)
x = np.random.default_rng(0).normal(size=(32, 1000, 2)).astype(np.float32)
y = np.zeros(32, np.float32)
""",
    "PyTorch eager": """
import torch
step, _ = TR._torch_lstm(128)
x = torch.from_numpy(np.random.default_rng(0).normal(size=(32, 1000, 2)).astype(np.float32))
y = torch.zeros(32)
""",
}


def memory(threads: int) -> list[Row]:
    """The memory two training steps add to each peer's process (peak RSS less the RSS before them).

    The resident size before the steps is mostly the framework's own libraries (PyTorch's alone
    are about 300 MiB), which says nothing about what training takes, so the row compares the
    growth; the absolute figures are in its note.  The children run with glibc's default malloc
    (footprint, not speed: the pinned thresholds keep freed blocks mapped, which is the point for
    timing and inflates resident sizes).
    """
    env = {k: v for k, v in os.environ.items() if k not in PINNED_MALLOC}
    env.update(GRAPHC_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    peaks, before = {}, {}
    for name, setup in MEMORY_SETUP.items():
        code = MEMORY.format(here=str(HERE), setup=setup)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
        peak, base = (int(v) for v in out.stdout.split()[-2:])
        peaks[name], before[name] = peak / 1024, base / 1024  # MiB (VmHWM and VmRSS are in KiB)
    growth = {k: peaks[k] - before[k] for k in peaks}
    row = Row("memory of 2 BiLSTM training steps (32, 1000), h=128", growth, "PyTorch eager", "<= 1.2x PyTorch", 1.2, unit="MiB")
    row.notes.append(
        "peak RSS " + ", ".join(f"{k} {peaks[k]:.0f} MiB ({before[k]:.0f} before the steps)" for k in peaks)
    )
    return [row]


# -- report --------------------------------------------------------------------------------------
def machine() -> str:
    import machine_peak
    import onnxruntime as ort
    import torch

    import graphc

    return (
        f"{machine_peak.cpu_description()}; Python {platform.python_version()}, graphc {graphc.__version__}, "
        f"onnxruntime {ort.__version__}, torch {torch.__version__}, numpy {np.__version__}"
    )


def table(rows: list[Row]) -> list[str]:
    lines = ["| configuration | peer | time | vs | ratio | target | |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        for peer, t in r.times.items():
            shown = f"{t * 1e3:.3f} ms" if r.unit == "ms" else f"{t:.3f} {r.unit}" if r.unit != "s/TFLOP" else f"{t * 1e3:.2f} ms/GFLOP"
            is_g = peer == r.graphc
            lines.append(
                f"| {r.config} | {peer} | {shown} | {r.reference} | {r.ratio(peer):.2f} | "
                f"{r.target if is_g else ''} | {r.met() if is_g else ''} |"
            )
        for note in r.notes:
            lines.append(f"| | *{note}* | | | | | |")
    return lines


def merge_runs(runs: list[list[Row]]) -> list[Row]:
    """One row per configuration: each peer's median time over the runs, and the range of graphc's ratio."""
    if len(runs) == 1:
        return runs[0]
    merged = []
    for same in zip(*runs):
        first = same[0]
        times = {peer: statistics.median(r.times[peer] for r in same) for peer in first.times}
        row = Row(first.config, times, first.reference, first.target, first.limit, first.graphc, unit=first.unit)
        ratios = sorted(r.ratio(r.graphc) for r in same)
        for k, note in enumerate(first.notes):  # a run's own notes (page faults, resident sizes): each run's
            seen = [r.notes[k] for r in same if k < len(r.notes)]
            row.notes.append(" / ".join(dict.fromkeys(seen)) if len(set(seen)) > 1 else note)
        if first.limit is not None:
            row.notes.append(f"{first.graphc}: ratio {ratios[0]:.2f}-{ratios[-1]:.2f} over {len(same)} runs")
        if first.unit == "s/TFLOP":
            row.notes.append(f"{first.graphc} reaches {1 / row.ratio(first.graphc):.0%} of the {first.reference} rate")
        merged.append(row)
    return merged


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="a short pass (3 rounds)")
    ap.add_argument("--write", type=Path, default=None, help="write the report (markdown) to this file")
    ap.add_argument("--repeat", type=int, default=1,
                    help="run everything this many times and quote each time's median over the runs (with the "
                         "range of graphc's ratio): the machine's speed drifts between runs")  # fmt: skip
    ap.add_argument("--only", default="", help="comma-separated sections: recurrent, training, mlp, compile, memory")
    ap.add_argument("--malloc", choices=("pinned", "system"), default="pinned",
                    help="pinned (default): rerun with glibc's malloc thresholds fixed ({}), so that no peer's "
                         "allocator returns memory after every call and faults it back in on the next; system: "
                         "glibc's dynamic thresholds, where PyTorch's step lands in one mode or the other by "
                         "process history".format(" ".join(f"{k}={v}" for k, v in PINNED_MALLOC.items())))  # fmt: skip
    args = ap.parse_args(argv)
    if args.malloc == "pinned" and any(os.environ.get(k) != v for k, v in PINNED_MALLOC.items()):
        # glibc reads these once, at start-up: the benchmark reruns itself with them set
        sys.stdout.flush()
        os.execve(sys.executable, [sys.executable, str(Path(__file__).resolve()), *(argv if argv is not None else sys.argv[1:])],
                  {**os.environ, **PINNED_MALLOC})  # fmt: skip
    os.environ["GRAPHC_NUM_THREADS"] = str(args.threads)
    import torch

    torch.set_num_threads(args.threads)
    rounds = 3 if args.quick else args.rounds
    wanted = set(filter(None, args.only.split(","))) or {"recurrent", "training", "mlp", "compile", "memory"}
    runs: list[list[Row]] = []
    start = time.perf_counter()
    for _ in range(args.repeat):
        rows: list[Row] = []
        if "recurrent" in wanted:
            for kind in ("lstm", "gru"):
                rows += recurrent_inference(kind, (32, 100, 64, 256), args.threads, rounds)
            rows += recurrent_inference("lstm", (1, 20, 32, 32), args.threads, rounds)
        if "training" in wanted:
            rows += training_steps(args.threads, rounds)
        if "mlp" in wanted:
            rows += mlp_inference(args.threads, rounds)
        if "compile" in wanted:
            rows += compile_times(args.threads, rounds)
        if "memory" in wanted:
            rows += memory(args.threads)
        runs.append(rows)
    rows = merge_runs(runs)
    repeat = f", medians of {args.repeat} runs" if args.repeat > 1 else ""
    flags = (" --quick" if args.quick else "") + (f" --repeat {args.repeat}" if args.repeat > 1 else "")
    flags += " --malloc system" if args.malloc == "system" else ""
    header = (
        f"Measured {datetime.date.today().isoformat()} by `python bench/run.py{flags}` "
        f"({args.threads} threads, {rounds} rounds, medians{repeat}, {time.perf_counter() - start:.0f} s, "
        f"{'glibc malloc thresholds pinned' if args.malloc == 'pinned' else 'glibc malloc defaults'}) on {machine()}."
    )
    lines = table(rows)
    print(header)
    print("\n".join(lines))
    if args.write:
        from graphc.export.io import atomic_write_bytes

        doc = textwrap.dedent(
            """\
            # Performance

            The table below is written by `bench/run.py`; rerun it to reproduce (it needs `pip install
            torch`). Peers run in one process, interleaved, each round giving every peer one untimed
            call and then a block of timed calls; figures are medians. Ratios are against the peer in
            the "vs" column; a target is met when graphc's ratio is at most the target's bound. These
            machines are shared: figures move by 10-40 % between runs, so compare ratios within a run;
            with `--repeat N` every time is the median over N runs and each target row gives the range
            of graphc's ratio over them.
            Where the time goes for the targets still missed, and what would close them:
            `docs/performance-notes.md`.

            """
        )
        doc += header + "\n\n" + "\n".join(lines) + "\n"
        # the sections other scripts write (bench/gpu.py's "## GPU", bench/distributed.py's MPI table) stay
        old = args.write.read_text() if args.write.exists() else ""
        kept = old[old.index("\n## ") :] if "\n## " in old else ""
        atomic_write_bytes(args.write, (doc + kept).encode())
        print(f"wrote {args.write}")


if __name__ == "__main__":
    main()
