"""Run under ``mpiexec -n 2``: each case's step on each rank's half batch vs one process on the whole batch.

Prints one JSON line per rank: per case, the largest difference from the
one-process parameters, a digest of the parameters' bytes (equal digests:
bitwise equal ranks), whether the step was partitioned, and its outputs.
Run from the repository root (test_mpi_steps.py does).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys

import numpy as np
from mpi4py import MPI

sys.path.insert(0, os.path.join(os.getcwd(), "tests", "distributed", "scripts"))

from partition_models import BUILDERS, data  # noqa: E402

from graphc import distributed as dist  # noqa: E402

rank, size = dist.rank(), dist.size()
report: dict = {"rank": rank, "size": size}
for case, (build, kind) in sorted(BUILDERS.items()):
    step, params = build()  # partitioned: the world has 2 ranks
    initial = [p.get_value() for p in params]
    with dist.use_comm(MPI.COMM_SELF):  # one process on the whole batch: the oracle
        single, single_params = build()
    rng = np.random.default_rng(11)
    batches = [data(kind, 8, rng) for _ in range(4)]
    per_rank = len(batches[0][0]) // size
    outs = []
    for batch in batches:
        mine = step(*(a[rank * per_rank : (rank + 1) * per_rank] for a in batch))
        single(*batch)
        outs.append([np.asarray(o).tolist() for o in mine] if isinstance(mine, list) else np.asarray(mine).tolist())
    values = [p.get_value() for p in params]
    report[case] = {
        "partitioned": step._guard is not None and single._guard is None,
        "max_diff": max(float(np.max(np.abs(v - s.get_value()))) for v, s in zip(values, single_params)),
        "moved": min(float(np.max(np.abs(v - w))) for v, w in zip(values, initial)),
        "digest": hashlib.sha256(b"".join(v.tobytes() for v in values)).hexdigest(),
        "outputs": outs,
    }
print(json.dumps(report))
