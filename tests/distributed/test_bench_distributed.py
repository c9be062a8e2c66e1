"""bench/distributed.py: its ring all-reduce cost model, its configurations and section writing, and a
smoke run of ``--quick`` (tiny models, 1 and 2 ranks under mpiexec, 1 round).

The smoke run is skipped as ``require_mpi()`` decides (without mpi4py or mpiexec, unless
GRAPHC_REQUIRE_MPI is set).  Timings are never asserted: only the tables' structure, the
gradient byte counts (counted here from the layer sizes), and that every projected figure is
the cost model's formula applied to the printed byte count and compute time.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys

import pytest

from .mpi_helpers import REPO_ROOT, require_mpi

SCRIPT = REPO_ROOT / "bench" / "distributed.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_distributed", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_distributed"] = module  # dataclasses look their module up
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules["bench_distributed"]
    return module


def _ring(nbytes, p, gbit, latency):
    # the formula as published, written out independently of the script
    return 2.0 * (p - 1) / p * nbytes / (gbit * 1e9 / 8.0) + 2.0 * (p - 1) * latency


def test_ring_allreduce_by_hand(bench):
    # 7,454,760 B (the MLP 784-1024-1024-10's float32 gradients) on 8 nodes, 10 Gb/s, 50 us:
    # 1.75 * 7454760 / 1.25e9 = 0.010436664 s, plus 14 * 50 us = 0.0007 s
    assert bench.ring_allreduce_seconds(7_454_760, 8, 10.0, 50e-6) == pytest.approx(0.011136664, rel=1e-12)
    assert bench.ring_allreduce_seconds(7_454_760, 1, 10.0, 50e-6) == 0.0  # one node sends nothing
    assert bench.ring_allreduce_seconds(0, 4, 25.0, 20e-6) == pytest.approx(6 * 20e-6, rel=1e-12)  # latency only


@pytest.mark.parametrize("nbytes", [592, 537_092, 7_454_760, 3 * 2**30])
@pytest.mark.parametrize("p", [2, 3, 8, 16, 33, 64])
@pytest.mark.parametrize(("gbit", "latency"), [(10.0, 50e-6), (25.0, 20e-6), (100.0, 5e-6), (1.5, 0.0)])
def test_ring_allreduce_matches_formula(bench, nbytes, p, gbit, latency):
    assert bench.ring_allreduce_seconds(nbytes, p, gbit, latency) == pytest.approx(
        _ring(nbytes, p, gbit, latency), rel=1e-12
    )


@pytest.mark.parametrize(
    ("args", "match"),
    [((100, 0, 10.0, 1e-6), "nodes"), ((100, 2.0, 10.0, 1e-6), "nodes"), ((100, True, 10.0, 1e-6), "nodes"),
     ((-1, 2, 10.0, 1e-6), "nbytes"), ((100, 2, 0.0, 1e-6), "gbit_per_s"), ((100, 2, 10.0, -1e-6), "latency_s"),
     ((float("nan"), 2, 10.0, 1e-6), "nbytes")],
)  # fmt: skip
def test_ring_allreduce_refuses_bad_input(bench, args, match):
    with pytest.raises(ValueError, match=match):
        bench.ring_allreduce_seconds(*args)


def test_projection_is_compute_plus_allreduce(bench):
    net = bench.Network("test net", 40.0, 7.0)
    compute = 0.0123
    for p in (1, 8, 64):
        allreduce, step, eff = bench.project(compute, 1_000_003, p, net)
        assert allreduce == pytest.approx(_ring(1_000_003, p, 40.0, 7e-6), rel=1e-12)
        assert step == pytest.approx(compute + allreduce, rel=1e-12)
        assert eff == pytest.approx(compute / (compute + allreduce), rel=1e-12)
    assert bench.project(compute, 1_000_003, 1, net)[2] == 1.0
    with pytest.raises(ValueError, match="compute_s"):
        bench.project(0.0, 10, 2, net)


def test_configurations(bench):
    # 2 ranks on 2 cores: 1 thread each, against 1 rank on 1 and on 2 threads
    assert bench.configurations([1, 2], 2) == [(1, 2), (1, 1), (2, 1)]
    assert bench.configurations([2], 2) == [(1, 2), (1, 1), (2, 1)]  # 1 rank always runs
    assert bench.configurations([1, 2, 4], 6) == [(1, 6), (1, 3), (1, 1), (2, 3), (4, 1)]
    assert bench.configurations([3], 1) == [(1, 1), (3, 1)]
    with pytest.raises(ValueError, match="ranks"):
        bench.configurations([0, 2], 2)
    with pytest.raises(ValueError, match="cores"):
        bench.configurations([2], 0)


def test_replace_section_keeps_the_rest(bench):
    heading = "## Data-parallel training (MPI)"
    doc = "# Perf\n\nintro\n\n## Before\n\nb\n\n" + heading + "\n\nold\n### sub\nold too\n\n## After\n\nafter\n# Next\n"
    out = bench.replace_section(doc, heading, "new body\n")
    assert out == "# Perf\n\nintro\n\n## Before\n\nb\n\n" + heading + "\n\nnew body\n\n## After\n\nafter\n# Next\n"
    assert bench.replace_section(out, heading, "new body\n") == out  # idempotent
    # last section of the file; a level-1 heading ends it too
    assert bench.replace_section("# P\n\n" + heading + "\nold\n", heading, "x") == "# P\n\n" + heading + "\n\nx\n"
    assert bench.replace_section(heading + "\nold\n# Top\n", heading, "x") == heading + "\n\nx\n\n# Top\n"
    # absent: appended after a blank line
    assert bench.replace_section("# P\ntext", heading, "x\n") == "# P\ntext\n\n" + heading + "\n\nx\n"
    assert bench.replace_section("", heading, "x") == heading + "\n\nx\n"
    # a heading that only starts the same way is not the section
    similar = heading + " extra\nkeep\n"
    assert bench.replace_section(similar, heading, "x") == similar + "\n" + heading + "\n\nx\n"


def _cells(line):
    return [c.strip() for c in line.strip().strip("|").split("|")]


def test_quick_run_under_mpiexec(bench, tmp_path):
    mpiexec = require_mpi()
    doc = tmp_path / "PERFORMANCE.md"
    doc.write_text(
        "# Performance\n\nintro\n\n## Data-parallel training (MPI)\n\nstale figures\n\n## Other\n\nkeep me\n"
    )
    env = dict(os.environ, GRAPHC_DEVICE="cpu")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    cmd = [sys.executable, str(SCRIPT), "--quick", "--ranks", "1,2", "--cores", "2", "--mpiexec", mpiexec,
           "--timeout", "300", "--write", str(doc)]  # fmt: skip
    proc = subprocess.run(cmd, cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "QUICK MODE" in out and f"wrote {doc}" in out

    # gradient bytes of the quick models, counted from their layer sizes (float32):
    # MLP 20-16-16-3: (20*16+16) + (16*16+16) + (16*3+3) = 659 values;
    # BiLSTM h=3, input 2, no peepholes: 2 * 4 * (2*3 + 3*3 + 3) + dense (3+1) = 148 values
    grad_bytes = {"MLP 20-16-16-3": 659 * 4, "BiLSTM h=3 (4, 5)": 148 * 4}
    configs = bench.configurations([1, 2], 2)
    lines = out.splitlines()
    measured = [_cells(ln) for ln in lines if ln.startswith("| ") and len(_cells(ln)) == 10]
    header, rows = measured[0], measured[1:]
    assert header[0] == "model" and header[1] == "ranks x threads" and header[3] == "step (ms)"
    assert sorted((r[0], r[1]) for r in rows) == sorted((m, f"{n} x {t}") for m in grad_bytes for n, t in configs)
    for r in rows:
        assert float(r[3]) > 0 and re.fullmatch(r"\d+", r[4]), r
        if r[1].startswith("2 x"):
            assert re.fullmatch(r"\d+\.\d{3} \(\d+\.\d%\)", r[5]), r
            assert re.fullmatch(r"\d+\.\d+", r[8]), r  # an efficiency against 1 rank x 1 thread
        else:
            assert r[5] == "-" and r[8] == "reference", r
    for model, nbytes in grad_bytes.items():  # one fused Allreduce of all the gradients per step
        assert (
            f"{model}, 2 ranks x 1 thread: the runtime all-reduced {nbytes:,} B per step in 1 `Allreduce` call" in out
        )

    width = 4 + len(bench.NODE_COUNTS)
    projected = [c for c in map(_cells, lines) if len(c) == width and c[4].startswith("all-reduce ")]
    nets = {f"{n.name} ({n.latency_us:g} us)": n for n in bench.NETWORKS}
    assert sorted((r[0], r[2]) for r in projected) == sorted((m, n) for m in grad_bytes for n in nets)
    for r in projected:
        assert r[1] == f"{grad_bytes[r[0]]:,} B", r
        net, compute_ms = nets[r[2]], float(r[3])
        for p, cell in zip(bench.NODE_COUNTS, r[4:]):
            got = re.fullmatch(r"all-reduce (\d+\.\d{3}) ms, step (\d+\.\d{3}) ms, (\d+)%", cell)
            assert got, cell
            allreduce_ms = _ring(grad_bytes[r[0]], p, net.gbit_per_s, net.latency_us * 1e-6) * 1e3
            assert got[1] == f"{allreduce_ms:.3f}", (r[0], r[2], p, cell)
            assert float(got[2]) == pytest.approx(compute_ms + allreduce_ms, abs=2e-3)
            assert int(got[3]) == pytest.approx(100 * compute_ms / (compute_ms + allreduce_ms), abs=1)

    text = doc.read_text()
    assert text.startswith("# Performance\n\nintro\n\n## Data-parallel training (MPI)\n\n")
    assert text.count("## Data-parallel training (MPI)") == 1 and "stale figures" not in text
    assert text.endswith("\n## Other\n\nkeep me\n") and "| model | gradient bytes |" in text
