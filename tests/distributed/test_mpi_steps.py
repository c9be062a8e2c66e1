"""Partitioned steps on two real ranks: ``mpiexec -n 2`` runs the scripts in scripts/partition_*.py.

Skipped without mpi4py and mpiexec, unless GRAPHC_REQUIRE_MPI is set (.ci/run sets it): then a
missing MPI fails these tests.  Oracles: the same step in one process on the whole batch
(``dist.use_comm(MPI.COMM_SELF)`` inside each rank), and bitwise equality between the ranks.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from .mpi_helpers import require_mpi, run_mpi

SCRIPTS = Path(__file__).resolve().parent / "scripts"


def _script(name: str) -> str:
    return (SCRIPTS / name).read_text()


def test_steps_on_two_ranks_match_one_process_and_each_other():
    require_mpi()
    run = run_mpi(_script("partition_steps.py"), n=2, timeout=240)
    reports = run.json()
    assert [r["rank"] for r in reports] == [0, 1] and all(r["size"] == 2 for r in reports)
    for case in ("conv_rmsprop", "gru_masked_nesterov", "hand_written", "lstm_adam", "mlp_adam"):
        first, second = (r[case] for r in reports)
        assert first["partitioned"] and second["partitioned"], case
        assert first["digest"] == second["digest"], f"{case}: the ranks' parameters differ\n{run.report()}"
        assert first["max_diff"] <= 1e-5 and second["max_diff"] <= 1e-5, (case, first["max_diff"])
        assert first["moved"] > 1e-6, case  # every parameter moved
    # the hand-written step's second output is the mean cost over the ranks: the same on both
    assert [o[1] for o in reports[0]["hand_written"]["outputs"]] == [o[1] for o in reports[1]["hand_written"]["outputs"]]


def test_ranks_with_different_graphs_both_raise_naming_the_rank():
    require_mpi()
    run = run_mpi(_script("partition_faults.py"), n=2, timeout=180, env={"FAULT": "mismatch"})
    for report in run.json():
        assert "the ranks built different graphs: rank(s) 1 differ from rank 0" in report["error"]
        assert "[5, 3]" in report["error"] and "[9, 3]" in report["error"]


@pytest.mark.parametrize("fault", ["raise", "timeout", "kill"])
def test_a_failing_rank_ends_the_job_quickly(fault):
    require_mpi()
    start = time.monotonic()
    # abort_on_error=False: graphc itself must end the job, not mpi4py's runner
    run = run_mpi(_script("partition_faults.py"), n=2, timeout=120, env={"FAULT": fault}, check=False, abort_on_error=False)
    took = time.monotonic() - start
    assert not run.timed_out, run.report()
    assert run.returncode != 0, run.report()
    assert took < 60, f"the job took {took:.0f} s to end\n{run.report()}"
    assert not any('"finished": true' in out for out in run.stdout), run.report()
    if fault == "raise":
        assert "rank 1 of 2: a step of 'graphc.function' failed; aborting all ranks" in run.stderr[1], run.report()
        assert "input 'input' has shape (4, 6)" in run.stderr[1], run.report()
    if fault == "timeout":
        assert "rank 0 of 2: a step of 'graphc.function' failed; aborting all ranks" in run.stderr[0], run.report()
        assert "waited more than 2 s for the other ranks" in run.stderr[0], run.report()
