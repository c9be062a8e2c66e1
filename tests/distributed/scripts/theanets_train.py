"""Run under ``mpiexec -n 2``: theanets training data-parallel vs one process on the whole batches.

Environment: ``CASE`` (``regressor``, ``classifier``, ``recurrent``, ``weighted``, ``regularized``
(weight_l2, hidden_l1, max_gradient_norm, monitor_gradients), ``callable``:
a batch generator seeded differently on each rank), ``ALGO``,
``BATCH`` (the global batch size), ``UPDATES`` (iterations), ``WORK`` (a directory every rank
sees; each rank's checkpoints go to ``WORK/rank<r>``, so a file rank 1 wrote would show, and
resuming works without a shared file system), ``PHASE``:

* ``train`` (default): each rank builds the model from its own seed (13 + rank; training
  broadcasts rank 0's), trains with a checkpoint in its directory, then trains the same model
  from seed 13 in one process (``dist.use_comm(MPI.COMM_SELF)``) on the same data and order;
* ``interrupted``: trains ``UPDATES`` iterations with a checkpoint and stops;
* ``resume``: resumes that checkpoint up to ``UPDATES`` iterations, then trains a fresh
  model uninterrupted to ``UPDATES`` (another checkpoint), in the same job.

Prints one JSON line per rank.  Run from the repository root (test_theanets_mpi.py does).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os

import numpy as np
from mpi4py import MPI

from graphc import distributed as dist
from graphc import theanets

CASE = os.environ.get("CASE", "regressor")
ALGO = os.environ.get("ALGO", "adam")
BATCH = int(os.environ.get("BATCH", "6"))
UPDATES = int(os.environ.get("UPDATES", "4"))
WORK = os.environ["WORK"]
PHASE = os.environ.get("PHASE", "train")

logging.basicConfig(level=logging.INFO, format="LOG %(name)s %(message)s")
rank, size = dist.rank(), dist.size()
MINE = os.path.join(WORK, f"rank{rank}")
os.makedirs(MINE, exist_ok=True)


def data(source_rank: int) -> object:
    """The arrays (the same on every rank), or for ``CASE=callable`` a batch generator seeded by the rank."""
    if CASE == "callable":
        draw = np.random.default_rng(77 + source_rank)  # each rank's generator differs: rank 0's batches count
        w = np.random.default_rng(5).normal(size=(4, 3))

        def batch() -> list[np.ndarray]:
            x = draw.normal(size=(7, 4)).astype("float32")
            return [x, np.tanh(x @ w).astype("float32")]

        return batch
    rng = np.random.default_rng(5)  # the same on every rank
    n = 27  # not a multiple of the batch size: the last batch is short (uneven over the ranks)
    if CASE == "recurrent":
        x = rng.normal(size=(n, 5, 3)).astype("float32")
        return [x, np.tanh(x @ rng.normal(size=(3, 2))).astype("float32")]
    x = rng.normal(size=(n, 4)).astype("float32")
    if CASE == "classifier":
        return [x, (x[:, 0] + x[:, 1] > 0).astype("int64") + (x[:, 2] > 0.5).astype("int64")]
    y = np.tanh(x @ rng.normal(size=(4, 3))).astype("float32")
    if CASE == "weighted":
        w = rng.uniform(0, 1, size=y.shape).astype("float32")
        w[:5] = 0  # a rank's slice of the first batch weighs nothing
        return [x, y, w]
    return [x, y]


def build(seed: int):
    if CASE == "recurrent":
        return theanets.recurrent.Regressor([3, (6, "lstm"), 2], rng=seed)
    if CASE == "classifier":
        return theanets.Classifier([4, 7, 3], rng=seed)
    return theanets.Regressor([4, 7, 3], rng=seed, weighted=CASE == "weighted")


def options(**extra):
    if CASE == "callable":
        extra.setdefault("iteration_size", 3)
    if CASE == "regularized":  # a batch-independent and a batch-dependent term, clipping of the whole gradient
        extra.update(weight_l2=1e-2, hidden_l1=1e-2, max_gradient_norm=0.5, monitor_gradients=True)
    kw = dict(algo=ALGO, batch_size=BATCH, max_updates=UPDATES, validate_every=2, patience=100, learning_rate=0.01)
    if ALGO == "nag":
        kw["momentum"] = 0.5
    kw.update(extra)
    return kw


def digest(net) -> str:
    return hashlib.sha256(b"".join(p.get_value().tobytes() for p in net.params)).hexdigest()


def train(net, source_rank: int = rank, **extra):
    return [(t["loss"], v["loss"]) for t, v in net.itertrain(data(source_rank), **options(**extra))]


report: dict = {"rank": rank, "size": size}
if PHASE == "train":
    net = build(13 + rank)
    history = train(net, checkpoint=os.path.join(MINE, "run.ckpt"), progress=True)
    report["digest"] = digest(net)
    report["history"] = history
    report["files"] = sorted(os.listdir(MINE))
    logging.disable(logging.INFO)  # the oracle is rank 0 of its own one-rank world: it would log on rank 1
    with dist.use_comm(MPI.COMM_SELF):
        single = build(13)
        report["single_history"] = train(single, source_rank=0)
    logging.disable(logging.NOTSET)
    report["max_diff"] = max(float(np.max(np.abs(p.get_value() - q.get_value()))) for p, q in zip(net.params, single.params))
    report["moved"] = min(
        float(np.max(np.abs(p.get_value() - q.get_value()))) for p, q in zip(net.params, build(13).params)
    )
    net.save(os.path.join(WORK, "model.npz"))
    loaded = type(net).load(os.path.join(WORK, "model.npz"))  # every rank reads rank 0's file after save returns
    report["loaded_digest"] = digest(loaded)
elif PHASE == "interrupted":
    net = build(13 + rank)
    train(net, checkpoint=os.path.join(MINE, "resume.ckpt"), resume=True)
    report["digest"] = digest(net)
elif PHASE == "resume":
    resumed = build(100 + rank)  # resuming overwrites whatever the network started from
    history = train(resumed, checkpoint=os.path.join(MINE, "resume.ckpt"), resume=True)
    logging.disable(logging.INFO)  # the check of rank 0's log is about the resumed run
    whole = build(13 + rank)
    whole_history = train(whole, checkpoint=os.path.join(MINE, "whole.ckpt"))
    report["digest"], report["whole_digest"] = digest(resumed), digest(whole)
    report["history"], report["whole_history"] = history, whole_history
print(json.dumps(report))
