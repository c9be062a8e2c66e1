"""Training checkpoints for theanets training: a model file that also holds the trainer's state.

A checkpoint is a model file (see :mod:`graphc._model_io`; ``Network.load``
reads it like any other) with extra entries, all named ``__...``:

- ``__graphc_training__``: JSON (as uint8 bytes) with the algorithm, the
  counters (iterations, updates, validations, best iteration), the best and the
  latest validation monitors, the position in the training data, and the
  names of the optimizer's state variables;
- ``__state__/<k>``: the optimizer's state (moments, step counters...), in the
  order the update rule made them;
- ``__best__/<name>``: the parameters of the best validation;
- ``__last__/<name>`` (only in the file written when training ends, when the
  best parameters are not the last ones): the last parameters, which resuming
  continues from, while the model's own parameters are the best ones, so that
  ``Network.load`` of the final file gives the network ``restore_best`` left;
- ``__rng__/keys``, ``__order__``: the shuffling generator's state and the
  current pass's example order.

Nothing non-finite is ever written (saving refuses), and reading checks the whole
file before it changes anything (:mod:`graphc._checkpoint_check`).

Restoring all of it makes a resumed run continue exactly as the uninterrupted
one would have (bitwise on CPU), as long as the graph draws no random numbers:
ONNX Runtime's random generators restart with a new session.
"""

from __future__ import annotations

import io
import json
import math
import os
import zipfile
from typing import Any

import numpy as np

from ..export.io import atomic_write_bytes
from ._checkpoint_check import FORMAT as _FORMAT
from ._checkpoint_check import TRAINING_KEY, read_checkpoint
from ._checkpoint_check import VERSION as _VERSION
from ._formats import SPEC_KEY
from ._model_io import model_arrays, refuse_nonfinite

__all__ = ["save_checkpoint", "load_checkpoint", "is_checkpoint", "TRAINING_KEY"]


def _float_or_none(value: Any) -> Any:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else repr(value)


def _monitors(values: Any) -> dict[str, Any]:
    return {str(k): _float_or_none(v) for k, v in dict(values or {}).items()}


def save_checkpoint(trainer: Any, path: str | os.PathLike[str], train_set: Any = None, final: bool = False) -> None:
    """Write the network and ``trainer``'s state to ``path`` atomically.

    Parameters
    ----------
    trainer : Trainer
    path : path-like
    train_set : Batches, optional
        The training batches, whose position (and current pass order) is saved.
    final : bool
        The file written when training ends: the model's parameters are the best ones
        (what :meth:`Trainer.restore_best` set), the last ones go to ``__last__/`` for
        resuming (when they differ).  Otherwise the model's parameters are the current ones.

    Raises
    ------
    ValueError
        When a parameter or optimizer state holds NaN or infinite values (nothing is written).
    """
    arrays = model_arrays(trainer.network)
    if final:
        for p, value in zip(trainer.params, trainer.best_params):
            current = arrays[p.name]
            if not np.array_equal(current, value):
                arrays.update({q.name: np.asarray(v) for q, v in zip(trainer.params, trainer.best_params)})
                arrays.update({f"__last__/{q.name}": q.get_value() for q in trainer.params})
                break
    state = trainer.state_variables
    for k, var in enumerate(state):
        arrays[f"__state__/{k}"] = var.get_value()
    for p, value in zip(trainer.params, trainer.best_params):
        arrays[f"__best__/{p.name}"] = np.asarray(value)
    if trainer.rng is not None:
        kind, keys, pos, has_gauss, gauss = trainer.rng.get_state()
        arrays["__rng__/keys"] = np.asarray(keys)
        rng_extra = {"kind": kind, "pos": int(pos), "has_gauss": int(has_gauss), "gauss": float(gauss)}
    else:
        rng_extra = None
    position, examples = None, None
    if train_set is not None and train_set.num_examples is not None:
        position, examples = int(train_set._index), int(train_set.num_examples)
        if train_set._order is not None:
            arrays["__order__"] = np.asarray(train_set._order)
    refuse_nonfinite(arrays, path, "a checkpoint")
    desc = {
        "format": _FORMAT,
        "version": _VERSION,
        "algo": trainer.algo,
        "iterations": trainer.iterations,
        "updates": trainer.updates,
        "validations": trainer.validations,
        "best_validation": trainer._best_validation,
        "best_iteration": trainer.best_iteration,
        "best_loss": _float_or_none(trainer.best_loss),
        "last_validation": _monitors(trainer.last_validation),
        "state": [var.name for var in state],
        "rng": rng_extra,
        "position": position,
        "examples": examples,
    }
    arrays[TRAINING_KEY] = np.frombuffer(json.dumps(desc).encode("utf-8"), dtype=np.uint8)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue())


def is_checkpoint(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a readable file holding a training checkpoint (its archive directory says so; nothing is inflated)."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except Exception:  # a missing, unreadable, truncated or foreign file: not a checkpoint
        return False
    return f"{TRAINING_KEY}.npy" in names and f"{SPEC_KEY}.npy" in names


def load_checkpoint(trainer: Any, path: str | os.PathLike[str], train_set: Any = None) -> None:
    """Restore the network's parameters and ``trainer``'s state from a checkpoint.

    The whole file is read and checked (:func:`graphc._checkpoint_check.read_checkpoint`)
    before anything changes: after an error, the network's parameters, the optimizer state
    and the trainer's counters are as they were.

    Raises
    ------
    FileNotFoundError
        For a path with no file.
    ValueError
        Naming the file and what is wrong: not a checkpoint, written for another algorithm or
        network (names, shapes), a damaged archive, a bad field or array.
    """
    read_checkpoint(trainer, path, train_set).apply(trainer, train_set)
