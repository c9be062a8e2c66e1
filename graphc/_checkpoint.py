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
- ``__rng__/keys``, ``__order__``: the shuffling generator's state and the
  current pass's example order.

Restoring all of it makes a resumed run continue exactly as the uninterrupted
one would have (bitwise on CPU), as long as the graph draws no random numbers:
ONNX Runtime's random generators restart with a new session.
"""

from __future__ import annotations

import io
import json
import math
import os
from typing import Any

import numpy as np

from ._model_io import SPEC_KEY, model_arrays
from .export.io import atomic_write_bytes

__all__ = ["save_checkpoint", "load_checkpoint", "is_checkpoint", "TRAINING_KEY"]

TRAINING_KEY = "__graphc_training__"
_FORMAT = "graphc.training-checkpoint"
_VERSION = 1


def _float_or_none(value: Any) -> Any:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else repr(value)


def _monitors(values: Any) -> dict[str, Any]:
    return {str(k): _float_or_none(v) for k, v in dict(values or {}).items()}


def save_checkpoint(trainer: Any, path: str | os.PathLike[str], train_set: Any = None) -> None:
    """Write the network and ``trainer``'s state to ``path`` atomically.

    Parameters
    ----------
    trainer : Trainer
    path : path-like
    train_set : Batches, optional
        The training batches, whose position (and current pass order) is saved.
    """
    arrays = model_arrays(trainer.network)
    state = trainer.state_variables
    for k, var in enumerate(state):
        arrays[f"__state__/{k}"] = var.get_value()
    for p, value in zip(trainer.params, trainer.best_params):
        arrays[f"__best__/{p.name}"] = np.asarray(value)
    keys, pos = None, None
    if trainer.rng is not None:
        kind, keys, pos, has_gauss, gauss = trainer.rng.get_state()
        arrays["__rng__/keys"] = np.asarray(keys)
        rng_extra = {"kind": kind, "pos": int(pos), "has_gauss": int(has_gauss), "gauss": float(gauss)}
    else:
        rng_extra = None
    position = None
    if train_set is not None and train_set.num_examples is not None:
        position = int(train_set._index)
        if train_set._order is not None:
            arrays["__order__"] = np.asarray(train_set._order)
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
    }
    arrays[TRAINING_KEY] = np.frombuffer(json.dumps(desc).encode("utf-8"), dtype=np.uint8)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue())


def is_checkpoint(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a readable file holding a training checkpoint."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return TRAINING_KEY in data.files and SPEC_KEY in data.files
    except (OSError, ValueError):
        return False


def _number(value: Any) -> Any:
    return float(value) if isinstance(value, str) else value


def load_checkpoint(trainer: Any, path: str | os.PathLike[str], train_set: Any = None) -> None:
    """Restore the network's parameters and ``trainer``'s state from a checkpoint.

    Everything is read and checked before anything changes.

    Raises
    ------
    ValueError
        If the file is not a checkpoint, was written for another algorithm, or
        its parameters or optimizer state do not fit (names, shapes).
    """
    from ._model_io import set_param_values

    where = os.fspath(path)
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{where} is not a graphc training checkpoint: {exc}") from None
    with data:
        if TRAINING_KEY not in data.files:
            raise ValueError(f"{where} is not a graphc training checkpoint (no {TRAINING_KEY!r} entry)")
        try:
            desc = json.loads(bytes(data[TRAINING_KEY]).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{where}: the training description is not valid JSON: {exc}") from None
        arrays = {k: np.array(data[k]) for k in data.files if k not in (SPEC_KEY, TRAINING_KEY)}
    if desc.get("format") != _FORMAT or desc.get("version") != _VERSION:
        raise ValueError(f"{where}: unsupported checkpoint (format {desc.get('format')!r}, version {desc.get('version')!r})")
    if desc["algo"] != trainer.algo:
        raise ValueError(f"{where} was written by a {desc['algo']!r} trainer; this trainer runs {trainer.algo!r}")
    state = trainer.state_variables
    names = list(desc["state"])
    if names != [v.name for v in state]:
        raise ValueError(f"{where}: the optimizer state {names} does not fit this trainer's {[v.name for v in state]}")
    values = []
    for k, var in enumerate(state):
        value = arrays.get(f"__state__/{k}")
        if value is None or tuple(value.shape) != tuple(np.shape(var.get_value())):
            shape = None if value is None else tuple(value.shape)
            raise ValueError(f"{where}: optimizer state {var.name!r} has shape {shape}, expected {np.shape(var.get_value())}")
        values.append(value)
    best = []
    for p in trainer.params:
        value = arrays.get(f"__best__/{p.name}")
        if value is None or tuple(value.shape) != tuple(p.type.shape):
            raise ValueError(f"{where}: no best values of the right shape for parameter {p.name!r}")
        best.append(value)
    params = {k: v for k, v in arrays.items() if not k.startswith("__")}
    set_param_values(trainer.network, params)  # checks every name and shape before it sets any
    for var, value in zip(state, values):
        var.set_value(value)
    trainer.best_params = best
    trainer.iterations = int(desc["iterations"])
    trainer.updates = int(desc["updates"])
    trainer.validations = int(desc["validations"])
    trainer._best_validation = int(desc["best_validation"])
    trainer.best_iteration = int(desc["best_iteration"])
    trainer.best_loss = _number(desc["best_loss"])
    trainer.last_validation = {k: _number(v) for k, v in desc["last_validation"].items()}
    rng = desc.get("rng")
    if rng is not None and trainer.rng is not None and "__rng__/keys" in arrays:
        trainer.rng.set_state((rng["kind"], arrays["__rng__/keys"], rng["pos"], rng["has_gauss"], rng["gauss"]))
    if train_set is not None and desc.get("position") is not None and train_set.num_examples is not None:
        order = arrays.get("__order__")
        if order is not None and len(order) != train_set.num_examples:
            raise ValueError(f"{where}: the checkpoint was taken on {len(order)} training examples, not {train_set.num_examples}")
        train_set._index = int(desc["position"]) % len(train_set._starts)
        train_set._order = order
