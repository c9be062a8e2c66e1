"""Checking a training checkpoint completely before a trainer takes anything from it.

:func:`read_checkpoint` reads the file within the memory budget (every array's name, shape
and dtype is checked against the trainer before anything inflates), then checks every field
of the training description (counters, losses, monitors, the generator state, the data
position and example order) and every array (numeric, finite, right shapes), and returns a
:class:`Restore` that :meth:`Restore.apply` puts in place.  A bad file therefore changes
nothing: not the network, not the optimizer state, not the trainer's counters, and never
reaches ``numpy.random.RandomState.set_state`` with a state that would crash the process.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._file_checks import (
    MAX_DESCRIPTION_BYTES,
    FileContentError,
    check_keys,
    finite_float,
    is_int,
    is_number,
    need,
    nonnegative_int,
    read_archive,
    read_description,
    require_finite,
    to_values,
)

__all__ = ["Restore", "read_checkpoint", "check_rng_state", "FORMAT", "VERSION", "TRAINING_KEY"]

TRAINING_KEY = "__graphc_training__"
FORMAT = "graphc.training-checkpoint"
VERSION = 1
_FIELDS = (
    "format", "version", "algo", "iterations", "updates", "validations", "best_validation", "best_iteration",
    "best_loss", "last_validation", "state", "rng", "position",
)  # fmt: skip
_OPTIONAL = ("examples",)
_RNG_FIELDS = ("kind", "pos", "has_gauss", "gauss")
_NONFINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
MT_WORDS = 624


@dataclass
class Restore:
    """Everything a checkpoint gives a trainer, checked; :meth:`apply` sets it (it cannot fail)."""

    params: list[tuple[Any, np.ndarray]]
    state: list[tuple[Any, np.ndarray]]
    best: list[np.ndarray]
    counters: dict[str, int]
    best_loss: float | None
    last_validation: dict[str, float]
    rng: tuple[Any, ...] | None
    position: int | None = None
    order: np.ndarray | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def apply(self, trainer: Any, train_set: Any = None) -> None:
        """Put everything in place on ``trainer`` (and ``train_set``'s position in its pass)."""
        for var, value in (*self.params, *self.state):
            var.set_value(value)
        trainer.best_params = list(self.best)
        trainer.iterations = self.counters["iterations"]
        trainer.updates = self.counters["updates"]
        trainer.validations = self.counters["validations"]
        trainer._best_validation = self.counters["best_validation"]
        trainer.best_iteration = self.counters["best_iteration"]
        trainer.best_loss = self.best_loss
        trainer.last_validation = dict(self.last_validation)
        if self.rng is not None and trainer.rng is not None:
            trainer.rng.set_state(self.rng)
        if self.position is not None and train_set is not None and train_set.num_examples is not None:
            train_set._index = self.position
            train_set._order = self.order


def _loss_value(value: Any, where: str, name: str) -> float:
    if isinstance(value, str) and value in _NONFINITE:
        return _NONFINITE[value]
    need(is_number(value), where, name, "a number (or 'nan', 'inf', '-inf')", value)
    return float(value)


def check_rng_state(desc: Any, keys: np.ndarray | None, where: str) -> tuple[Any, ...]:
    """The ``set_state`` tuple of a Mersenne Twister state, every field checked.

    ``numpy.random.RandomState.set_state`` takes the position unchecked, and a draw after an
    out-of-range position reads outside the key array (a segmentation fault); a bad key
    array or kind raises deep in numpy.  This refuses all of them first.

    Parameters
    ----------
    desc : dict
        ``{'kind': 'MT19937', 'pos': 0..624, 'has_gauss': 0 or 1, 'gauss': float}``.
    keys : ndarray
        624 unsigned 32-bit words, not all zero.
    where : str
        The file, for messages.

    Raises
    ------
    ValueError
        Naming the file and the field.
    """
    check_keys(desc, where, "the generator state 'rng'", _RNG_FIELDS)
    need(desc["kind"] == "MT19937", where, "the generator kind 'rng.kind'", "'MT19937'", desc["kind"])
    pos = desc["pos"]
    need(
        is_int(pos) and 0 <= pos <= MT_WORDS,
        where,
        "the generator position 'rng.pos'",
        f"an int in [0, {MT_WORDS}]",
        pos,
    )
    has_gauss = desc["has_gauss"]
    need(has_gauss in (0, 1) and not isinstance(has_gauss, float), where, "'rng.has_gauss'", "0 or 1", has_gauss)
    need(finite_float(desc["gauss"]), where, "'rng.gauss'", "a finite number", desc["gauss"])
    if keys is None:
        raise FileContentError(f"{where}: the generator state has no key array '__rng__/keys'")
    ok = keys.dtype.kind in "iu" and keys.shape == (MT_WORDS,)
    if not ok:
        raise FileContentError(
            f"{where}: the generator key array '__rng__/keys' must hold {MT_WORDS} unsigned 32-bit integers, "
            f"got {keys.dtype} of shape {keys.shape}"
        )
    if keys.min() < 0 or keys.max() > 0xFFFFFFFF:
        raise FileContentError(f"{where}: the generator key array '__rng__/keys' holds values outside [0, 2**32)")
    if not keys.any():
        raise FileContentError(
            f"{where}: the generator key array '__rng__/keys' is all zeros, which is no Mersenne Twister state"
        )
    return ("MT19937", keys.astype(np.uint32), int(pos), int(has_gauss), float(desc["gauss"]))


def _expect(trainer: Any, train_set: Any, where: str) -> Any:
    """Check every entry's name, shape and dtype against ``trainer`` before the archive inflates."""
    from ._formats import SPEC_KEY

    shapes: dict[str, tuple[int, ...]] = {}
    for p in trainer.network.params:
        for prefix in ("", "__best__/", "__last__/"):
            shapes[prefix + p.name] = tuple(p.type.shape)
    for k, var in enumerate(trainer.state_variables):
        shapes[f"__state__/{k}"] = tuple(np.shape(var.get_value()))
    shapes["__rng__/keys"] = (MT_WORDS,)
    examples = getattr(train_set, "num_examples", None)

    def expect(name: str, shape: tuple[int, ...], dtype: np.dtype) -> None:
        if name in (SPEC_KEY, TRAINING_KEY):
            if dtype != np.uint8 or len(shape) != 1 or shape[0] > MAX_DESCRIPTION_BYTES:
                raise FileContentError(
                    f"{where}: the entry {name!r} must be a 1-d uint8 array of at most {MAX_DESCRIPTION_BYTES} bytes, got {dtype} {shape}"
                )
            return
        if name == "__order__":
            if dtype.kind not in "iu" or len(shape) != 1 or (examples is not None and shape[0] != examples):
                expected = f"{examples} integers" if examples is not None else "a 1-d integer array"
                raise FileContentError(
                    f"{where}: the example order '__order__' is {dtype} of shape {shape}; expected {expected}"
                )
            return
        # another algorithm's '__state__/k' entries are named once the description is read (a clearer error)
        if name not in shapes and not name.startswith("__state__/"):
            raise FileContentError(f"{where}: the entry {name!r} belongs to no parameter or state of this trainer")
        if dtype.kind not in "biuf":
            raise FileContentError(f"{where}: the entry {name!r} holds {dtype} values; expected numbers")
        if name in shapes and tuple(shape) != shapes[name]:
            raise FileContentError(
                f"{where}: the entry {name!r} has shape {tuple(shape)} in the file, expected {shapes[name]}"
            )

    return expect


def _order(
    order: np.ndarray | None, desc: dict[str, Any], train_set: Any, where: str
) -> tuple[int | None, np.ndarray | None]:
    position = desc["position"]
    need(
        position is None or (is_int(position) and position >= 0),
        where,
        "'position'",
        "null or a non-negative int",
        position,
    )
    examples = desc.get("examples")
    need(
        examples is None or (is_int(examples) and examples > 0), where, "'examples'", "null or a positive int", examples
    )
    if order is not None:
        n = len(order)
        if examples is not None and n != examples:
            raise FileContentError(f"{where}: the example order has {n} entries for {examples} examples")
        if not np.array_equal(np.sort(order), np.arange(n)):
            raise FileContentError(
                f"{where}: the example order '__order__' is not a permutation of 0..{n - 1} "
                "(every example once); training would repeat some examples and skip others"
            )
        order = order.astype(np.int64)
    if train_set is None or train_set.num_examples is None or position is None:
        return None, None
    n = train_set.num_examples
    count = examples if examples is not None else (len(order) if order is not None else None)
    if count is not None and count != n:
        raise FileContentError(f"{where}: the checkpoint was taken on {count} training examples, not {n}")
    batches = len(train_set._starts)
    if position >= batches:
        raise FileContentError(
            f"{where}: 'position' is batch {position} of a pass, but a pass here has {batches} batches (0..{batches - 1})"
        )
    if order is None and position > 0 and train_set._rng is not None:
        raise FileContentError(
            f"{where}: the checkpoint stops in the middle of a shuffled pass (batch {position}) but holds no example order"
        )
    return position, order


def read_checkpoint(trainer: Any, path: str | os.PathLike[str], train_set: Any = None) -> Restore:
    """Read and check the checkpoint at ``path`` for ``trainer``; nothing is changed.

    Raises
    ------
    FileNotFoundError
        For a path with no file.
    ValueError
        Naming the file and what is wrong (a
        :class:`~graphc.export.budget.BudgetError` when its arrays exceed the memory budget).
    """
    from ._formats import FORMAT as MODEL_FORMAT
    from ._formats import SPEC_KEY
    from ._formats import VERSION as MODEL_VERSION
    from ._model_check import check_description
    from ._model_io import check_param_values

    where = os.fspath(path)
    arrays = read_archive(path, "graphc training checkpoint", expect=_expect(trainer, train_set, where))
    if TRAINING_KEY not in arrays:
        raise FileContentError(f"{where} is not a graphc training checkpoint (no {TRAINING_KEY!r} entry)")
    desc = read_description(arrays, TRAINING_KEY, where, "training")
    if desc.get("format") != FORMAT or desc.get("version") != VERSION:
        raise FileContentError(
            f"{where}: unsupported checkpoint (format {desc.get('format')!r}, version {desc.get('version')!r})"
        )
    check_keys(desc, where, "the training description", _FIELDS, _OPTIONAL)
    check_description(read_description(arrays, SPEC_KEY, where, "model"), where, (MODEL_FORMAT, MODEL_VERSION))
    algo = desc["algo"]
    if algo != trainer.algo:
        raise FileContentError(f"{where} was written by a {algo!r} trainer; this trainer runs {trainer.algo!r}")
    counters = {
        k: nonnegative_int(desc[k], where, repr(k))
        for k in ("iterations", "updates", "validations", "best_validation", "best_iteration")
    }
    if counters["best_validation"] > counters["validations"]:
        raise FileContentError(
            f"{where}: 'best_validation' ({counters['best_validation']}) is after the last validation ({counters['validations']})"
        )
    if counters["best_iteration"] > counters["iterations"]:
        raise FileContentError(
            f"{where}: 'best_iteration' ({counters['best_iteration']}) is after the last iteration ({counters['iterations']})"
        )
    best_loss = None if desc["best_loss"] is None else _loss_value(desc["best_loss"], where, "'best_loss'")
    last = desc["last_validation"]
    need(isinstance(last, dict), where, "'last_validation'", "an object of monitor values", last)
    monitors = {}
    for name, value in last.items():
        monitors[name] = _loss_value(value, where, f"the monitor {name!r} of 'last_validation'")
    need(not monitors or "loss" in monitors, where, "'last_validation'", "empty or holding 'loss'", last)
    state = trainer.state_variables
    names = desc["state"]
    need(isinstance(names, list) and all(isinstance(n, str) for n in names), where, "'state'", "a list of names", names)
    if names != [v.name for v in state]:
        raise FileContentError(
            f"{where}: the optimizer state {names} does not fit this trainer's {[v.name for v in state]}"
        )
    known = {SPEC_KEY, TRAINING_KEY, "__rng__/keys", "__order__", *(f"__state__/{k}" for k in range(len(state)))}
    known.update(f"{prefix}{p.name}" for p in trainer.network.params for prefix in ("", "__best__/", "__last__/"))
    unknown = sorted(set(arrays) - known)
    if unknown:
        raise FileContentError(f"{where}: the entries {unknown} belong to no parameter or state of this trainer")
    state_values = []
    for k, var in enumerate(state):
        value = arrays.get(f"__state__/{k}")
        if value is None:
            raise FileContentError(f"{where}: no values for the optimizer state {var.name!r} ('__state__/{k}')")
        value = to_values(value, var.dtype, tuple(np.shape(var.get_value())), where, f"optimizer state {var.name!r}")
        require_finite(value, where, f"optimizer state {var.name!r}")
        state_values.append((var, value))
    params = trainer.params
    last_names = [k for k in arrays if k.startswith("__last__/")]
    current_key = "__last__/{}" if last_names else "{}"
    current = {
        p.name: arrays[current_key.format(p.name)]
        for p in trainer.network.params
        if current_key.format(p.name) in arrays
    }
    if not last_names:
        current = {k: v for k, v in arrays.items() if not k.startswith("__")}
    param_values = check_param_values(trainer.network, current, where)
    best = []
    for p in params:
        value = arrays.get(f"__best__/{p.name}")
        if value is None:
            raise FileContentError(f"{where}: no best values for parameter {p.name!r} ('__best__/{p.name}')")
        value = to_values(value, p.dtype, tuple(p.type.shape), where, f"the best values of {p.name!r}")
        require_finite(value, where, f"the best values of {p.name!r}")
        best.append(value)
    rng_desc = desc["rng"]
    rng = None if rng_desc is None else check_rng_state(rng_desc, arrays.get("__rng__/keys"), where)
    if rng is None and trainer.rng is not None:
        raise FileContentError(
            f"{where}: the checkpoint holds no generator state ('rng' is null); a resumed run could not shuffle as the first did"
        )
    position, order = _order(arrays.get("__order__"), desc, train_set, where)
    return Restore(param_values, state_values, best, counters, best_loss, monitors, rng, position, order)
