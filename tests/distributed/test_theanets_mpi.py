"""graphc.theanets training data-parallel on two real ranks (``mpiexec -n 2`` runs scripts/theanets_train.py).

Skipped without mpi4py and mpiexec, unless GRAPHC_REQUIRE_MPI is set (.ci/run sets it).  Oracles:
the same training in one process on the whole batches (``dist.use_comm(MPI.COMM_SELF)`` inside each
rank, the model built from rank 0's seed), bitwise equality between the ranks (parameter digests),
and, for resuming, an uninterrupted two-rank run.  The data have 27 examples and the batch size is 6,
so every pass ends with a batch of 3 rows that splits 2 + 1 over the ranks: uneven slices are
weighted exactly.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .mpi_helpers import require_mpi, run_mpi

SCRIPT = (Path(__file__).resolve().parent / "scripts" / "theanets_train.py").read_text()


def _run(tmp_path: Path, **env: str) -> list[dict]:
    run = run_mpi(SCRIPT, n=2, timeout=240, env={"WORK": str(tmp_path), **env})
    reports = run.json()
    assert [r["rank"] for r in reports] == [0, 1] and all(r["size"] == 2 for r in reports), run.report()
    reports[0]["_stderr"], reports[1]["_stderr"] = run.stderr
    return reports


@pytest.mark.parametrize(
    ("case", "algo"),
    [
        ("regressor", "adam"),
        ("regressor", "sgd"),
        ("regressor", "nag"),  # Nesterov momentum: per-parameter velocity
        ("regressor", "rprop"),  # per-parameter steps and previous gradients
        ("classifier", "adam"),
        ("recurrent", "rmsprop"),
        ("weighted", "rmsprop"),  # sum(w err) / sum(w), a slice of zero weights on one rank
        ("regularized", "adam"),  # regularizer terms, gradient-norm clipping and gradient monitors
        ("callable", "adagrad"),  # a batch generator: rank 0 draws, every rank slices
    ],
)
def test_two_ranks_train_as_one_process_on_the_whole_batches(tmp_path, case, algo):
    require_mpi()
    first, second = _run(tmp_path, CASE=case, ALGO=algo)
    assert first["digest"] == second["digest"], "the ranks' parameters differ"
    for r in (first, second):
        assert r["max_diff"] <= 1e-5, (case, algo, r["max_diff"])
    assert first["moved"] > 1e-3, "training did not move every parameter"
    # every rank reports the whole batches' monitors, those of one process
    assert first["history"] == second["history"]
    for (loss, valid), (single_loss, single_valid) in zip(first["history"], first["single_history"], strict=True):
        assert loss == pytest.approx(single_loss, rel=1e-5) and valid == pytest.approx(single_valid, rel=1e-5)
    assert first["history"][-1][0] < first["history"][0][0], "the training loss did not fall"
    # rank 0 alone writes the checkpoint, logs and shows the progress bar
    assert first["files"] == ["run.ckpt"] and second["files"] == []
    assert "LOG graphc.theanets.trainer validation" in first["_stderr"]
    assert "LOG graphc.theanets.trainer" not in second["_stderr"], second["_stderr"]
    assert "Regressor" not in second["_stderr"] and "Classifier" not in second["_stderr"]
    assert "it/s]" in first["_stderr"] or "s/it]" in first["_stderr"]
    # Network.save: rank 0 writes, every rank can read the file as soon as save returns
    assert first["loaded_digest"] == second["loaded_digest"] == first["digest"]


@pytest.mark.parametrize("case", ["regressor", "recurrent"])
def test_an_interrupted_run_resumed_ends_as_an_uninterrupted_one(tmp_path, case):
    require_mpi()
    stopped = _run(tmp_path, CASE=case, PHASE="interrupted", UPDATES="3")
    assert stopped[0]["digest"] == stopped[1]["digest"]
    assert (tmp_path / "rank0" / "resume.ckpt").is_file() and not (tmp_path / "rank1" / "resume.ckpt").exists()
    # rank 1 has no checkpoint: rank 0 reads it and every rank takes its state (no shared file system needed)
    first, second = _run(tmp_path, CASE=case, PHASE="resume", UPDATES="7")
    for r in (first, second):
        assert r["digest"] == r["whole_digest"] == first["digest"], "resuming changed the result"
        assert r["history"] == r["whole_history"][3:], "the resumed iterations differ from the uninterrupted ones"
    assert "resumed from" in first["_stderr"] and "resumed from" not in second["_stderr"]


def test_rank_0_s_shuffling_and_weights_win_whatever_the_ranks_seeds(tmp_path):
    """The ranks build from seeds 13 and 14 (and shuffle with them): training starts from rank 0's."""
    require_mpi()
    first, second = _run(tmp_path, CASE="regressor", ALGO="sgd", UPDATES="2", BATCH="4")
    assert first["digest"] == second["digest"] and first["max_diff"] <= 1e-5
