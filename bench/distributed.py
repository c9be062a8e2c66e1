"""Data-parallel training on MPI: step time, all-reduce share, scaling, a ring all-reduce cost model.

Models (Lasagne layers, Adam on ``dist.mean(T.grad(cost, params))``, parameters broadcast
from rank 0): an MLP 784-1024-1024-10 (ReLU, softmax cross-entropy, global batch 256) and a
bidirectional LSTM (batch 100, time 55, input 2, hidden 128, summed directions, a dense
unit per step, MSE on the last step: bench/train.py's network).  The global batch is split
across the ranks (``dist.shard``), so the measured table is strong scaling.

The script starts itself under ``mpiexec -n R`` for each configuration (``--child``).  Each
rank builds the models, broadcasts the parameters, runs warm-up steps, then rounds of timed
blocks: a 50 ms pause, a barrier, then a block of steps (the block length is rank 0's choice,
broadcast, so every rank runs the same steps).  A round's step time is the slowest rank's;
figures are medians over the rounds (and over ``--repeat`` runs).  The configurations are
1 rank and R ranks with ``cores // R`` ONNX Runtime threads each, plus 1 rank at each
thread count the multi-rank runs use: on a 2-core machine 2 ranks share the cores, so they
run 1 thread each and are compared with 1 rank at 1 thread (the same compute per rank: the
ideal is 2x its throughput) and at 2 threads (the same machine).

The all-reduce time is measured inside the runtime's fused ``Allreduce``: the children give
graphc (``dist.set_comm``) a communicator that forwards to ``MPI.COMM_WORLD`` and times its
``Allreduce`` calls.  The rank that reaches the all-reduce last waits only for the transfer
(the table's share uses this: the shortest time over the ranks); the others also wait for the
slower rank, shown as "with waiting".  Each multi-rank run also times an all-reduce alone of a
buffer of the gradients' byte size (after a barrier), the transfer cost without skew.

Cost model (ring all-reduce, Patarasuk & Yuan, "Bandwidth optimal all-reduce algorithms for
clusters of workstations", J. Parallel Distrib. Comput. 69(2), 2009; the reduce-scatter +
all-gather cost of Thakur, Rabenseifner & Gropp, "Optimization of collective communication
operations in MPICH", IJHPCA 19(1), 2005)::

    t_allreduce(p, n) = 2 (p - 1) / p * n / B  +  2 (p - 1) * alpha

for ``p`` nodes, ``n`` bytes of gradients, link bandwidth ``B`` (bytes/s) and per-message
latency ``alpha``: the ring runs 2 (p - 1) steps (reduce-scatter, then all-gather), each
sending n / p bytes to the next node.  Assumptions: the line rate is the bandwidth (no
protocol overhead; MPI reaches 80-95 % of it on large messages), one rank per node, the
local reduction's cost ((p - 1) / p * n * gamma in Thakur et al.) is left out, and so is
any overlap: graphc all-reduces between its two sessions, after the whole backward pass.
Latencies: 50 us for 10 Gb/s Ethernet (TCP), 20 us for 25 Gb/s Ethernet, 5 us for a
100 Gb/s InfiniBand-class RDMA network.  Projection (weak scaling): every node computes the
measured 1-rank step (all cores, the model's whole batch per node), then all-reduces, so
``step(p) = compute + t_allreduce(p, n)`` and efficiency ``= compute / step(p)``.

Run: ``python bench/distributed.py [--ranks 1,2] [--rounds 7] [--repeat 3] [--write docs/PERFORMANCE.md]``
(``--quick``: tiny models, 1 round, a smoke test).  Needs mpi4py and an ``mpiexec`` (the one
beside this Python, as PyPI's ``mpich`` installs it, else the one on PATH, else ``--mpiexec``).
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent
sys.path.insert(0, str(HERE))
# the cost model (bench/ring_model.py), also this script's interface: tests read it from here
from ring_model import NETWORKS, NODE_COUNTS, Network, project, ring_allreduce_seconds  # noqa: E402,F401

SECTION = "## Data-parallel training (MPI)"
RESULT_MARK = "graphc-bench-distributed: "
SETTLE_SECONDS = 0.05  # before each block: thread pools of the previous model stop spinning


# -- child: one configuration under mpiexec --------------------------------------------------------
class TimingComm:
    """Forwards to an mpi4py communicator and times its ``Allreduce`` calls (graphc's fused one).

    graphc hands a communicator that is not mpi4py's its own ``IN_PLACE``/``SUM`` constants;
    they are translated here.  The non-blocking calls are hidden, so a collective timeout
    cannot route the all-reduce around this wrapper.
    """

    def __init__(self, comm: Any) -> None:
        from mpi4py import MPI

        self._comm, self._mpi = comm, MPI
        self.seconds, self.calls, self.nbytes = 0.0, 0, 0

    def Allreduce(self, sendbuf: Any, recvbuf: Any, op: Any = None) -> None:  # noqa: N802 (mpi4py's name)
        from graphc.runtime.partitioned import IN_PLACE, SUM

        send = self._mpi.IN_PLACE if isinstance(sendbuf, str) and sendbuf == IN_PLACE else sendbuf
        op = self._mpi.SUM if op is None or (isinstance(op, str) and op == SUM) else op
        start = time.perf_counter()
        self._comm.Allreduce(send, recvbuf, op=op)
        self.seconds += time.perf_counter() - start
        self.calls += 1
        self.nbytes += int(np.asarray(recvbuf).nbytes)

    def __getattr__(self, name: str) -> Any:
        if name in ("Iallreduce", "Ibarrier"):
            raise AttributeError(name)
        return getattr(self._comm, name)


def _build(kind: str, quick: bool) -> tuple[Any, list[Any], list[np.ndarray], int]:
    """One model's data-parallel Adam step: ``(step, params, whole-batch data, global batch)``."""
    import graphc
    import graphc.layers as L
    import graphc.tensor as T
    from graphc import distributed as dist

    graphc.random.set_rng(np.random.RandomState(0))
    rng = np.random.default_rng(1)
    if kind == "mlp":
        n_in, hidden, n_out, batch = (20, 16, 3, 8) if quick else (784, 1024, 10, 256)
        l_in = L.InputLayer((None, n_in))
        out = L.DenseLayer(L.DenseLayer(L.DenseLayer(l_in, hidden), hidden), n_out, nonlinearity=T.nnet.softmax)
        y = T.ivector("y")
        cost = T.mean(T.nnet.categorical_crossentropy(L.get_output(out), y))
        data = [rng.normal(size=(batch, n_in)).astype(np.float32), rng.integers(0, n_out, size=batch).astype(np.int32)]
    else:
        batch, steps, hidden = (4, 5, 3) if quick else (100, 55, 128)
        l_in = L.InputLayer((None, None, 2))
        directions = [L.LSTMLayer(l_in, hidden, peepholes=False, backwards=b) for b in (False, True)]
        flat = L.ReshapeLayer(L.ElemwiseSumLayer(directions), (-1, hidden))
        n_batch, n_time, _ = l_in.input_var.shape
        out = L.ReshapeLayer(L.DenseLayer(flat, 1, nonlinearity=None), (n_batch, n_time))
        y = T.vector("y")
        cost = T.mean((L.get_output(out)[:, -1] - y) ** 2)
        data = [rng.normal(size=(batch, steps, 2)).astype(np.float32), rng.normal(size=batch).astype(np.float32)]
    params = L.get_all_params(out, trainable=True)
    grads = dist.mean(T.grad(cost, params))
    step = graphc.function([l_in.input_var, y], cost, updates=graphc.updates.adam(grads, params))
    dist.broadcast(params)
    return step, params, data, batch


def models(quick: bool) -> dict[str, str]:
    """The benchmark's models: their kind (for ``_build``) and their label in the tables."""
    if quick:
        return {"mlp": "MLP 20-16-16-3", "bilstm": "BiLSTM h=3 (4, 5)"}
    return {"mlp": "MLP 784-1024-1024-10", "bilstm": "BiLSTM h=128 (100, 55)"}


def child(args: argparse.Namespace) -> None:
    """Time every model on this job's ranks; rank 0 prints one result line (JSON)."""
    from mpi4py import MPI

    world = MPI.COMM_WORLD
    timing = TimingComm(world)
    import onnxruntime as ort

    import graphc
    from graphc import distributed as dist

    dist.set_comm(timing)
    rank, size = dist.rank(), dist.size()
    results = []
    for kind, label in models(args.quick).items():
        step, params, data, batch = _build(kind, args.quick)
        x, y = dist.shard(data)
        for _ in range(args.warmup):
            step(x, y)
        start = time.perf_counter()
        step(x, y)
        reps = world.bcast(max(1, min(100, int(args.budget / max(time.perf_counter() - start, 1e-6)))), root=0)
        rounds: list[tuple[float, float]] = []
        calls0, bytes0 = timing.calls, timing.nbytes
        for _ in range(args.rounds):
            time.sleep(SETTLE_SECONDS)
            world.Barrier()
            reduce0, start = timing.seconds, time.perf_counter()
            for _ in range(reps):
                step(x, y)
            rounds.append(((time.perf_counter() - start) / reps, (timing.seconds - reduce0) / reps))
        n_steps = reps * args.rounds
        calls, reduced = (timing.calls - calls0) / n_steps, (timing.nbytes - bytes0) / n_steps
        grad_bytes = int(sum(np.asarray(p.get_value()).nbytes for p in params))
        isolated = _isolated_allreduce(world, grad_bytes, args.budget, args.rounds) if size > 1 else None
        digest = hashlib.sha256(b"".join(np.ascontiguousarray(p.get_value()).tobytes() for p in params)).hexdigest()
        every = world.allgather((rounds, digest))
        per_round = list(zip(*(r for r, _ in every)))  # per round: each rank's (step, all-reduce)
        results.append({
            "model": label, "global_batch": batch, "grad_bytes": grad_bytes, "reps": reps,
            "allreduce_calls_per_step": calls, "reduced_bytes_per_step": reduced,
            "step_s": statistics.median(max(s for s, _ in r) for r in per_round),
            "allreduce_s": statistics.median(min(a for _, a in r) for r in per_round),
            "allreduce_waiting_s": statistics.median(max(a for _, a in r) for r in per_round),
            "isolated_allreduce_s": isolated,
            "ranks_agree": len({d for _, d in every}) == 1,
        })  # fmt: skip
    if rank == 0:
        info = {
            "ranks": size, "threads": int(os.environ.get("GRAPHC_NUM_THREADS", "0") or 0), "models": results,
            "versions": f"graphc {graphc.__version__}, onnxruntime {ort.__version__}, numpy {np.__version__}, "
            f"mpi4py {sys.modules['mpi4py'].__version__}, {MPI.Get_library_version().splitlines()[0].strip()}",
        }  # fmt: skip
        print(RESULT_MARK + json.dumps(info), flush=True)


def _isolated_allreduce(world: Any, nbytes: int, budget: float, rounds: int) -> float:
    """Median seconds of one in-place sum all-reduce of ``nbytes`` of float32, the ranks started together
    (its own block length, from rank 0's timing of one call: a small buffer takes microseconds)."""
    from mpi4py import MPI

    buf = np.ones(max(1, nbytes // 4), np.float32)
    for _ in range(3):
        world.Allreduce(MPI.IN_PLACE, buf, op=MPI.SUM)
    start = time.perf_counter()
    world.Allreduce(MPI.IN_PLACE, buf, op=MPI.SUM)
    reps = world.bcast(max(5, min(1000, int(budget / max(time.perf_counter() - start, 1e-7)))), root=0)
    times = []
    for _ in range(max(3, rounds)):
        world.Barrier()
        start = time.perf_counter()
        for _ in range(reps):
            world.Allreduce(MPI.IN_PLACE, buf, op=MPI.SUM)
        times.append((time.perf_counter() - start) / reps)
    return max(world.allgather(statistics.median(times)))


# -- parent: launch the configurations, report -----------------------------------------------------
def configurations(ranks: list[int], cores: int) -> list[tuple[int, int]]:
    """``(ranks, threads per rank)`` to run: each R with ``cores // R`` threads (at least 1), and
    1 rank at every thread count a multi-rank configuration uses; sorted by ranks, then threads."""
    if cores < 1:
        raise ValueError(f"cores must be >= 1, got {cores}")
    bad = [r for r in ranks if isinstance(r, bool) or not isinstance(r, int) or r < 1]
    if bad or not ranks:
        raise ValueError(f"ranks must be integers >= 1, got {ranks!r}")
    out = {(r, max(1, cores // r)) for r in {1, *ranks}}
    out |= {(1, t) for r, t in list(out) if r > 1}
    return sorted(out, key=lambda c: (c[0], -c[1]))


def find_mpiexec(given: str | None) -> str:
    """``given``, else the mpiexec beside this Python (PyPI's mpich), else the one on PATH."""
    if given:
        return given
    here = Path(sys.executable).parent / "mpiexec"
    found = str(here) if here.is_file() and os.access(here, os.X_OK) else shutil.which("mpiexec")
    if found is None:
        raise SystemExit("bench/distributed.py: no mpiexec beside this Python or on PATH (pip install mpi4py mpich, "
                         "or give --mpiexec)")  # fmt: skip
    return found


def launch(mpiexec: str, ranks: int, threads: int, args: argparse.Namespace) -> dict[str, Any]:
    """Run the child mode on ``ranks`` ranks of ``threads`` threads; rank 0's result."""
    env = dict(os.environ, GRAPHC_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads),
               OPENBLAS_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))  # fmt: skip
    env.setdefault("GRAPHC_DEVICE", "cpu")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    for var in ("GRAPHC_MPI", "GRAPHC_COLLECTIVE_TIMEOUT"):
        env.pop(var, None)
    cmd = [mpiexec, "-n", str(ranks), sys.executable, "-m", "mpi4py", str(Path(__file__).resolve()), "--child",
           "--rounds", str(args.rounds), "--warmup", str(args.warmup), "--budget", str(args.budget)]  # fmt: skip
    if args.quick:
        cmd.append("--quick")
    proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)  # fmt: skip
    try:
        out, _ = proc.communicate(timeout=args.timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # mpiexec and the ranks: the session started here
        out, _ = proc.communicate()
        raise RuntimeError(
            f"{ranks} rank(s) x {threads} thread(s) took over {args.timeout} s:\n{out[-4000:]}"
        ) from None
    lines = [ln[len(RESULT_MARK) :] for ln in out.splitlines() if ln.startswith(RESULT_MARK)]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{ranks} rank(s) x {threads} thread(s) failed (exit {proc.returncode}):\n{out[-4000:]}")
    result = json.loads(lines[-1])
    for m in result["models"]:
        if not m["ranks_agree"]:
            raise RuntimeError(f"{m['model']}: the ranks' parameters differ after {ranks}-rank training")
    return result


def merge(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One configuration's result over ``--repeat`` runs: medians of the times, the step's range."""
    first = runs[0]
    models = []
    for same in zip(*(r["models"] for r in runs)):
        m = dict(same[0])
        for key in ("step_s", "allreduce_s", "allreduce_waiting_s", "isolated_allreduce_s"):
            if m[key] is not None:
                m[key] = statistics.median(s[key] for s in same)
        m["step_range"] = (min(s["step_s"] for s in same), max(s["step_s"] for s in same))
        models.append(m)
    return {**first, "models": models}


def _ms(seconds: float, digits: int = 2) -> str:
    return f"{seconds * 1e3:.{digits}f}"


def measured_table(results: dict[tuple[int, int], dict[str, Any]], cores: int) -> list[str]:
    """The measured table: one row per model and configuration."""
    lines = [
        "| model | ranks x threads | rows per rank | step (ms) | samples/s | all-reduce in step (ms, share) "
        "| with waiting (ms) | all-reduce alone (ms) | efficiency vs 1 rank, same threads | vs 1 rank x "
        f"{cores} threads |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    full = results.get((1, cores)) or results[min(results)]
    for i, label in enumerate(m["model"] for m in full["models"]):
        for (ranks, threads), res in results.items():
            m = res["models"][i]
            base = results.get((1, threads))
            step = m["step_s"]
            eff = "reference" if ranks == 1 else f"{base['models'][i]['step_s'] / (ranks * step):.2f}" if base else ""
            speed = f"{full['models'][i]['step_s'] / step:.2f}x"
            share = f"{_ms(m['allreduce_s'], 3)} ({m['allreduce_s'] / step:.1%})" if ranks > 1 else "-"
            lo, hi = m.get("step_range", (step, step))
            shown = _ms(step) + (f" ({_ms(lo)}-{_ms(hi)})" if hi > lo else "")
            lines.append(
                f"| {label} | {ranks} x {threads} | {m['global_batch'] // ranks}"
                f"{'+' if m['global_batch'] % ranks else ''} | {shown} | {m['global_batch'] / step:.0f} | {share} "
                f"| {_ms(m['allreduce_waiting_s'], 3) if ranks > 1 else '-'} "
                f"| {_ms(m['isolated_allreduce_s'], 3) if m['isolated_allreduce_s'] is not None else '-'} "
                f"| {eff} | {speed} |"
            )
    return lines


def projection_table(results: dict[tuple[int, int], dict[str, Any]], cores: int) -> list[str]:
    """The cost model's projection: every model on every network at NODE_COUNTS nodes."""
    head = " | ".join(f"{p} nodes" for p in NODE_COUNTS)
    lines = [f"| model | gradient bytes | network (latency) | compute per node (ms) | {head} |",
             "|---|---|---|---|" + "---|" * len(NODE_COUNTS)]  # fmt: skip
    full = results.get((1, cores)) or results[min(results)]
    for m in full["models"]:
        for net in NETWORKS:
            cells = []
            for p in NODE_COUNTS:
                allreduce, step, eff = project(m["step_s"], m["grad_bytes"], p, net)
                cells.append(f"all-reduce {_ms(allreduce, 3)} ms, step {_ms(step, 3)} ms, {eff:.0%}")
            lines.append(f"| {m['model']} | {m['grad_bytes']:,} B | {net.name} ({net.latency_us:g} us) "
                         f"| {_ms(m['step_s'], 3)} | {' | '.join(cells)} |")  # fmt: skip
    return lines


def replace_section(text: str, heading: str, body: str) -> str:
    """``text`` with the section under ``heading`` (up to the next heading of its level or above)
    replaced by ``heading`` + ``body``, or that section appended where there is none."""
    level = len(heading) - len(heading.lstrip("#"))
    lines = text.splitlines(keepends=True)
    new = [heading + "\n", "\n", body.rstrip("\n") + "\n"]
    start = next((i for i, ln in enumerate(lines) if ln.rstrip() == heading), None)
    if start is None:
        sep = "" if not text or text.endswith("\n\n") else "\n" if text.endswith("\n") else "\n\n"
        return text + sep + "".join(new)
    end = start + 1
    while end < len(lines):
        hashes = len(lines[end]) - len(lines[end].lstrip("#"))
        if 0 < hashes <= level and lines[end][hashes : hashes + 1] == " ":
            break
        end += 1
    tail = lines[end:]
    return "".join(lines[:start] + new + (["\n"] if tail else []) + tail)


def report(results: dict[tuple[int, int], dict[str, Any]], cores: int, header: str) -> str:
    """The markdown body of the section: how it was measured, the two tables, the assumptions."""
    full = results.get((1, cores)) or results[min(results)]
    computes = ", ".join(f"{m['model']}: {_ms(m['step_s'])} ms" for m in full["models"])
    multi = [res for (r, _), res in results.items() if r > 1]
    notes = [
        f"The ranks share the machine's {cores} cores: each of R ranks runs {cores} // R threads; the efficiency "
        "column compares R ranks with 1 rank at the same threads per rank (it reaches 1.00 only where every rank "
        f"has cores of its own), the last column with 1 rank on all {cores} cores (the same machine)."
    ]
    for res in multi:
        for m in res["models"]:
            p, alone = res["ranks"], m["isolated_allreduce_s"] or float("nan")
            rate = m["grad_bytes"] * 2 * (p - 1) / p / alone  # the ring formula's bandwidth term alone
            calls, threads = m["allreduce_calls_per_step"], res["threads"]
            speed = f"effective {rate / 1e6:,.0f} MB/s" if m["grad_bytes"] >= 2**20 else "latency-bound"
            notes.append(
                f"{m['model']}, {p} ranks x {threads} thread{'s' * (threads != 1)}: the runtime all-reduced "
                f"{m['reduced_bytes_per_step']:,.0f} B per step in {calls:g} `Allreduce` call{'s' * (calls != 1)} "
                f"(gradients: {m['grad_bytes']:,} B); the same bytes alone: {_ms(alone, 3)} ms ({speed})"
            )
    return "\n".join([
        "Written by `bench/distributed.py`: synchronous data-parallel Adam steps, gradients averaged by "
        "`dist.mean(T.grad(cost, params))`, which graphc's runtime all-reduces in one fused in-place MPI "
        "`Allreduce` between two ONNX Runtime sessions. The global batch is split across the ranks. "
        "Efficiency = throughput at R ranks / (R x throughput of 1 rank at the same threads per rank). "
        "\"All-reduce in step\" is the time inside the runtime's "
        "`Allreduce` on the rank that arrives last (the transfer alone); \"with waiting\" is the other rank's, "
        "which also waits for the slower rank; \"all-reduce alone\" times an all-reduce of the same bytes after "
        "a barrier. Figures are medians over rounds; never compare them across machines.",
        "", header, "", *measured_table(results, cores), "",
        *(f"- {n}" for n in notes), "",
        "Projection on a cluster by the ring all-reduce cost model, t = 2 (p-1)/p * n / B + 2 (p-1) * alpha "
        "(Patarasuk & Yuan 2009; Thakur, Rabenseifner & Gropp 2005), one rank per node, weak scaling: each node "
        f"computes the 1-rank step measured above on {cores} threads ({computes}) "
        "on the model's whole batch, then all-reduces the gradients, with no overlap (graphc reduces after the "
        "backward pass); efficiency = compute / step. Line rate as bandwidth, no protocol overhead, the local "
        "sum's cost left out: real networks are slower by 5-20 %; a GPU node computes faster, which lowers "
        "the efficiency.",
        "", *projection_table(results, cores), "",
    ])  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--ranks",
        default="1,2",
        help="comma-separated rank counts, default 1,2 (1 always runs; more ranks than cores oversubscribe)",
    )
    ap.add_argument("--rounds", type=int, default=None, help="timed rounds per model (default 7; --quick: 1)")
    ap.add_argument("--repeat", type=int, default=1, help="run every configuration this many times; medians")
    ap.add_argument("--warmup", type=int, default=None, help="untimed steps before timing (default 3; --quick: 1)")
    ap.add_argument("--budget", type=float, default=None, help="seconds per timed block (default 0.5; --quick: 0.01)")
    ap.add_argument("--cores", type=int, default=None, help="cores the ranks share (default: this process's CPUs)")
    ap.add_argument("--quick", action="store_true", help="tiny models, 1 round: a smoke test, not a measurement")
    ap.add_argument(
        "--write", type=Path, default=None, help=f"add or replace the '{SECTION[3:]}' section of this markdown file"
    )
    ap.add_argument("--mpiexec", default=None, help="the MPI launcher (default: beside this Python, else on PATH)")
    ap.add_argument("--timeout", type=float, default=1800.0, help="seconds one mpiexec job may take")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    args.rounds = args.rounds if args.rounds is not None else 1 if args.quick else 7
    args.warmup = args.warmup if args.warmup is not None else 1 if args.quick else 3
    args.budget = args.budget if args.budget is not None else 0.01 if args.quick else 0.5
    for name in ("rounds", "repeat"):
        if getattr(args, name) < 1:
            ap.error(f"--{name} must be >= 1, got {getattr(args, name)}")
    if args.child:
        child(args)
        return
    try:
        ranks = [int(r) for r in args.ranks.split(",") if r.strip()]
    except ValueError:
        ap.error(f"--ranks must be comma-separated integers, got {args.ranks!r}")
    cores = args.cores or (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
    configs = configurations(ranks, cores)
    mpiexec = find_mpiexec(args.mpiexec)
    start = time.perf_counter()
    runs: dict[tuple[int, int], list[dict[str, Any]]] = {c: [] for c in configs}
    for _ in range(args.repeat):
        for ranks_, threads in configs:
            print(f"running {ranks_} rank(s) x {threads} thread(s)...", file=sys.stderr, flush=True)
            runs[(ranks_, threads)].append(launch(mpiexec, ranks_, threads, args))
    results = {c: merge(r) for c, r in runs.items()}
    import machine_peak

    flags = " ".join(a for a in (f"--ranks {args.ranks}", "--quick" if args.quick else "",
                                 f"--repeat {args.repeat}" if args.repeat > 1 else "") if a)  # fmt: skip
    header = (
        f"Measured {datetime.date.today().isoformat()} by `python bench/distributed.py {flags}` ({args.rounds} round{'s' * (args.rounds > 1)}, "
        f"medians{f' of {args.repeat} runs' if args.repeat > 1 else ''}, {time.perf_counter() - start:.0f} s) on "
        f"{machine_peak.cpu_description()}; {results[configs[0]]['versions']}."
        + (" QUICK MODE: tiny models, a smoke test, not a measurement." if args.quick else "")
    )
    body = report(results, cores, header)
    print(SECTION + "\n\n" + body)
    if args.write:
        from graphc.export.io import atomic_write_bytes

        old = args.write.read_text() if args.write.exists() else ""
        atomic_write_bytes(args.write, replace_section(old, SECTION, body).encode())
        print(f"wrote {args.write}")


if __name__ == "__main__":
    main()
