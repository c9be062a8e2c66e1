"""A data-parallel client of exported training stages: ONNX Runtime, mpi4py and numpy only (no graphc).

Run under ``mpiexec -n R python -m mpi4py exported_pair_client.py DIR`` (or with ``DIR`` in
``EXPORTED_PAIR_DIR``, as test_exported_pair_mpi.py runs it).  ``DIR/cases.json``
lists the cases; for each case ``C``: the models ``DIR/C.<role>.onnx`` (roles from the
contract in the first model's metadata), the initial state ``DIR/C.state.npz``, and the
batches ``DIR/C.batches.npz`` (arrays ``b<step>_<input>``, the whole batch: each rank trains
on its contiguous share).  Each rank writes its final state to ``DIR/C.rank<r>.npz`` and
prints one JSON line: per case, each step's outputs and a digest of the final state.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from mpi4py import MPI

comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
folder = Path(os.environ.get("EXPORTED_PAIR_DIR") or sys.argv[1])
options = ort.SessionOptions()
options.intra_op_num_threads = 1  # the ranks share the machine's cores


def train(case: str) -> dict:
    first = onnx.load(str(folder / f"{case}.gradients.onnx"))
    contract = json.loads(next(p.value for p in first.metadata_props if p.key == "graphc.training"))
    roles = [stage["role"] for stage in contract["stages"]]
    sessions = [
        ort.InferenceSession(str(folder / f"{case}.{role}.onnx"), options, providers=["CPUExecutionProvider"])
        for role in roles
    ]
    with np.load(folder / f"{case}.state.npz", allow_pickle=False) as f:
        state = {k: f[k] for k in f.files}
    with np.load(folder / f"{case}.batches.npz", allow_pickle=False) as f:
        batches = {k: f[k] for k in f.files}
    n_steps = len({k.split("_")[0] for k in batches})
    outputs = []
    for step in range(n_steps):
        pool = dict(state)
        for j, name in enumerate(contract["data_inputs"]):
            whole = batches[f"b{step}_{j}"]
            share = len(whole) // size
            pool[name] = whole[rank * share : (rank + 1) * share]
        for k, sess in enumerate(sessions):
            outs = sess.run(None, {i.name: pool[i.name] for i in sess.get_inputs()})
            pool.update(zip([o.name for o in sess.get_outputs()], outs))
            for entry in contract["allreduce"][k] if k < len(contract["allreduce"]) else []:
                buf = np.array(pool[entry["name"]], dtype=entry["dtype"], order="C")
                comm.Allreduce(MPI.IN_PLACE, buf, op=MPI.SUM)
                if entry["op"] == "mean":
                    np.divide(buf, size, out=buf, casting="unsafe")
                pool[entry["name"]] = buf
        state = {**state, **{n: pool[nxt] for n, nxt in contract["state"].items()}}
        outputs.append([np.asarray(pool[o]).tolist() for o in contract["outputs"]])
    np.savez(folder / f"{case}.rank{rank}.npz", **state)
    digest = hashlib.sha256(b"".join(state[k].tobytes() for k in sorted(state))).hexdigest()
    return {"outputs": outputs, "digest": digest, "models": len(sessions)}


cases = json.loads((folder / "cases.json").read_text())
report = {"rank": rank, "size": size, "cases": {case: train(case) for case in cases}}
report["graphc_imported"] = any(m == "graphc" or m.startswith("graphc.") for m in sys.modules)
print(json.dumps(report))
