"""graphc.distributed on two real ranks: ``mpiexec -n 2`` runs small scripts (see mpi_helpers.py).

Skipped without mpi4py and mpiexec, except where GRAPHC_REQUIRE_MPI is set (.ci/run sets it):
then a missing MPI fails these tests.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest

from .mpi_helpers import MPIRun, require_mpi, run_mpi

# One job checks rank/size, barrier, broadcast, shard and shared_seed; the tests below read its report.
_BASICS = """
import json, os, time
import numpy as np
import graphc
from graphc import distributed as dist
from mpi4py import MPI

out = {}
r = dist.rank()
out["rank_size"] = [r, dist.size()]
out["comm_is_world"] = dist.comm() is MPI.COMM_WORLD
out["launcher_size"] = dist.launcher_size()

# barrier: rank 1 writes a file late; rank 0 looks for it after the barrier
marker = os.path.join(os.environ["MARKER_DIR"], "rank1_was_here")
if r == 1:
    time.sleep(1.0)
    open(marker, "w").close()
dist.barrier()
out["marker_after_barrier"] = os.path.exists(marker)

# broadcast: each rank builds the same variables with values of its own; rank 1's win
rng = np.random.default_rng(100 + r)
w = graphc.shared(rng.normal(size=(3, 5)).astype(np.float32), name="w")
b = graphc.shared(np.full(5, r, dtype=np.int64), name="b")
s = graphc.shared(np.float32(r + 0.5), name="s")
out["before"] = [w.get_value().tolist(), b.get_value().tolist(), float(s.get_value())]
dist.broadcast([w, b, s], root=1)
out["after"] = [w.get_value().tolist(), b.get_value().tolist(), float(s.get_value())]
out["after_bytes"] = w.get_value().tobytes().hex()

# shard: each rank's rows of an 11-row batch [x, y]
x = np.arange(11 * 2).reshape(11, 2)
y = np.arange(11) * 10
xs, ys = dist.shard([x, y])
out["shard_rows"] = ys.tolist()
out["shard_x"] = xs.tolist()

# shared_seed: drawn by rank 0, and rank 0's given seed wins over rank 1's
out["seed_drawn"] = dist.shared_seed()
out["seed_given"] = dist.shared_seed(1000 + r)
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def basics(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    require_mpi()
    marker_dir = tmp_path_factory.mktemp("marker")
    return run_mpi(_BASICS, n=2, timeout=120, env={"MARKER_DIR": str(marker_dir)}).json()


def test_rank_and_size(basics: list[dict[str, Any]]) -> None:
    assert [o["rank_size"] for o in basics] == [[0, 2], [1, 2]]
    assert all(o["comm_is_world"] for o in basics)  # a launcher was detected: COMM_WORLD by default
    assert [o["launcher_size"] for o in basics] == [2, 2]


def test_barrier_waits_for_the_other_rank(basics: list[dict[str, Any]]) -> None:
    assert basics[0]["marker_after_barrier"] is True


def test_broadcast_ranks_end_equal_with_roots_values(basics: list[dict[str, Any]]) -> None:
    r0, r1 = basics
    assert r0["before"] != r1["before"]  # the ranks did start apart
    assert r0["after"] == r1["after"] == r1["before"]
    assert r0["after_bytes"] == r1["after_bytes"]  # bitwise


def test_shard_covers_the_batch_exactly_once(basics: list[dict[str, Any]]) -> None:
    rows = [o["shard_rows"] for o in basics]
    assert rows == [[0, 10, 20, 30, 40, 50], [60, 70, 80, 90, 100]]  # array_split: rank 0 takes the extra row
    np.testing.assert_array_equal(np.concatenate([o["shard_x"] for o in basics]), np.arange(22).reshape(11, 2))


def test_shared_seed_is_equal_on_both_ranks(basics: list[dict[str, Any]]) -> None:
    assert basics[0]["seed_drawn"] == basics[1]["seed_drawn"]
    assert 0 <= basics[0]["seed_drawn"] < 2**31
    assert [o["seed_given"] for o in basics] == [1000, 1000]


def test_broadcast_mismatch_fails_on_every_rank_naming_the_variable() -> None:
    run = run_mpi(
        """
        import json
        import numpy as np
        import graphc
        from graphc import distributed as dist
        r = dist.rank()
        w = graphc.shared(np.zeros((2, 3), np.float32), name="w")
        v = graphc.shared(np.zeros((4, 2 + r), np.float32), name="W_hid")  # rank 1 built another shape
        try:
            dist.broadcast([w, v])
            print(json.dumps("no error"))
        except ValueError as e:
            print(json.dumps(str(e)))
        """,
        timeout=120,
    )
    messages = run.json()
    assert messages[0] == messages[1]
    assert "shared variable 1 ('W_hid') is <f4[4, 3] on rank 1" in messages[0]
    assert "<f4[4, 2] on root rank 0" in messages[0]


def test_an_exception_on_one_rank_ends_the_job() -> None:
    """With abort_on_error (python -m mpi4py), a rank that raises aborts the rank waiting in a barrier."""
    start = time.monotonic()
    run = run_mpi(
        """
        from graphc import distributed as dist
        print("started", flush=True)
        if dist.rank() == 1:
            raise RuntimeError("rank 1 fails on purpose")
        dist.barrier()
        """,
        timeout=90,
        check=False,
    )
    assert not run.timed_out and run.returncode not in (0, None), run.report()
    assert time.monotonic() - start < 60
    assert "rank 1 fails on purpose" in run.stderr[1]
    assert [s.strip() for s in run.stdout] == ["started", "started"]


def test_run_mpi_kills_a_job_at_its_timeout() -> None:
    start = time.monotonic()
    run: MPIRun = run_mpi("import time; print('up', flush=True); time.sleep(60)", timeout=8, check=False)
    assert run.timed_out and run.returncode is None
    assert [s.strip() for s in run.stdout] == ["up", "up"]  # line-buffered: what the ranks printed is kept
    assert time.monotonic() - start < 40
    with pytest.raises(AssertionError, match="timed out"):
        run_mpi("import time; time.sleep(60)", timeout=5)
