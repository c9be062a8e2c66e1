"""Exported training stages trained by a bare ONNX Runtime + mpi4py client under ``mpiexec -n 2``.

The test exports each step (graphc is used only here, before the run), then
scripts/exported_pair_client.py trains it on two ranks with its own ``Allreduce``
and never imports graphc.  Oracles: graphc.function in this process on the whole
batch (collectives are identities in one process), and bitwise equality between
the ranks.  Skipped without mpi4py and mpiexec unless GRAPHC_REQUIRE_MPI is set.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from graphc.export import save_training, training_model

from .mpi_helpers import require_mpi, run_mpi
from .scripts.exported_pair_models import CASES, data

SCRIPTS = Path(__file__).resolve().parent / "scripts"
STEPS = 4


def test_a_bare_onnxruntime_client_on_two_ranks_gets_graphcs_numbers(tmp_path):
    require_mpi()
    oracle = {}
    for name, build in CASES.items():
        case = build()
        stages, state = training_model(case.inputs, case.outputs, case.updates)
        save_training(stages, state, tmp_path / f"{name}.onnx")
        rng = np.random.default_rng(21)
        batches = [data(case.kind, 8, rng) for _ in range(STEPS)]
        np.savez(tmp_path / f"{name}.batches.npz", **{f"b{s}_{j}": a for s, b in enumerate(batches) for j, a in enumerate(b)})
        step = case.function()  # one process on the whole batch
        outs = [step(*b) for b in batches]
        oracle[name] = (
            [o if isinstance(o, list) else [o] for o in outs],
            {label: var.get_value() for label, var in case.shared().items()},
            stages,
        )
    (tmp_path / "cases.json").write_text(json.dumps(sorted(CASES)))

    run = run_mpi((SCRIPTS / "exported_pair_client.py").read_text(), n=2, timeout=240,
                  env={"EXPORTED_PAIR_DIR": str(tmp_path)})  # fmt: skip
    reports = run.json()
    assert [r["rank"] for r in reports] == [0, 1] and all(r["size"] == 2 for r in reports)
    assert not any(r["graphc_imported"] for r in reports), "the client imported graphc"
    for name, (outputs, final, stages) in oracle.items():
        first, second = (r["cases"][name] for r in reports)
        assert first["models"] == len(stages.models) == (3 if name == "clipped_two_rounds" else 2), name
        assert first["digest"] == second["digest"], f"{name}: the ranks' states differ\n{run.report()}"
        for r in range(2):
            with np.load(tmp_path / f"{name}.rank{r}.npz") as f:
                got = {k: f[k] for k in f.files}
            assert set(final) <= set(got), name
            for label, value in final.items():
                np.testing.assert_allclose(got[label], value, rtol=1e-5, atol=1e-6, err_msg=f"{name} {label} rank {r}")
        # each output averaged over the ranks is the whole batch's (the ranks' halves are equal in size)
        for s in range(STEPS):
            for k, want in enumerate(outputs[s]):
                got = np.mean([np.asarray(first["outputs"][s][k]), np.asarray(second["outputs"][s][k])], axis=0)
                np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=f"{name} step {s} output {k}")
