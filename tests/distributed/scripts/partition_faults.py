"""Run under ``mpiexec -n 2`` with FAULT set: how a partitioned step fails on two real ranks.

* ``mismatch``: rank 1 builds a wider hidden layer; both ranks print the GraphMismatchError as JSON.
* ``raise``: rank 1 feeds a batch of the wrong width at its second step; graphc aborts the job.
* ``timeout``: rank 1 sleeps 60 s before its first step; rank 0, with a 2 s timeout, aborts the job.
* ``kill``: rank 1 kills itself (SIGKILL) before its second step; the launcher ends the job.
Run from the repository root (test_mpi_steps.py does).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.getcwd(), "tests", "distributed", "scripts"))

from partition_models import data, mlp_step  # noqa: E402

from graphc import distributed as dist  # noqa: E402
from graphc.runtime.partitioned import GraphMismatchError  # noqa: E402

fault = os.environ["FAULT"]
rank = dist.rank()
if fault == "timeout":
    os.environ["GRAPHC_COLLECTIVE_TIMEOUT"] = "2"
step, params = mlp_step(hidden=5 if fault == "mismatch" and rank == 1 else 9)
x, y = data("mlp", 4, np.random.default_rng(rank))
if fault == "mismatch":
    try:
        step(x, y)
    except GraphMismatchError as e:
        print(json.dumps({"rank": rank, "error": str(e)}))
    sys.exit(0)
if fault == "timeout" and rank == 1:
    time.sleep(60)
start = time.monotonic()
for i in range(3):
    if fault == "raise" and rank == 1 and i == 1:
        x = x[:, :6]
    if fault == "kill" and rank == 1 and i == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    step(x, y)
    print(f"rank {rank}: step {i} done", flush=True)
print(json.dumps({"rank": rank, "finished": True, "seconds": time.monotonic() - start}))
