"""The options of :class:`graphc.theanets.trainer.Trainer` that shape the loop, each checked with a clear error.

The update rules check their own hyper-parameters (:mod:`graphc.updates`); this module checks
the rest: batch sizes, counts, limits, files, switches and the shuffling generator, and
(:func:`check_options`) that every keyword is a trainer option or a regularizer's.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Mapping
from typing import Any

import numpy as np

from . import regularizers as _regularizers

__all__ = ["progress_enabled", "halflife", "int_option", "read_options", "check_options"]

_OFF = ("0", "false", "no", "off")
_ON = ("1", "true", "yes", "on", "force")


def progress_enabled(progress: bool | None = None, stream: Any = None) -> bool:
    """Whether training shows a progress bar.

    ``GRAPHC_PROGRESS=0`` (or ``false``/``no``/``off``) switches it off in any
    case; otherwise ``progress=True`` or ``GRAPHC_PROGRESS=1`` forces it on,
    ``progress=False`` switches it off, and by default it is shown only when
    ``stream`` (standard error) is a terminal.

    Parameters
    ----------
    progress : bool, optional
    stream : file object, optional
        Where the bar is written; default ``sys.stderr``.

    Returns
    -------
    bool
    """
    env = os.environ.get("GRAPHC_PROGRESS", "").strip().lower()
    if env in _OFF or progress is False:
        return False
    if progress or env in _ON:
        return True
    stream = sys.stderr if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def halflife(value: Any, name: str) -> float:
    """downhill's EWMA weight ``exp(-ln 2 / halflife)``; ``value`` must be a positive finite number."""
    if not _number(value) or not 0 < value < math.inf:
        raise ValueError(f"{name} must be a positive number of updates, got {value!r}")
    return math.exp(-math.log(2) / float(value))


def int_option(kwargs: Mapping[str, Any], name: str, default: Any, low: int) -> Any:
    """``kwargs[name]`` (or ``default``) as an int ``>= low``, or None when it is None."""
    value = kwargs.get(name, default)
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _switch(kwargs: Mapping[str, Any], name: str, default: Any) -> Any:
    value = kwargs.get(name, default)
    ok = isinstance(value, (bool, np.bool_)) or (isinstance(value, (int, np.integer)) and value in (0, 1))
    if value is not default and not ok:
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return value if value is None else bool(value)


def _limit(kwargs: Mapping[str, Any], name: str) -> None:
    value = kwargs.get(name)
    if value is not None and not (_number(value) and 0 <= value < math.inf):
        raise ValueError(f"{name} must be a finite number >= 0 (0: no limit), got {value!r}")


def _rng(value: Any) -> np.random.RandomState:
    if isinstance(value, np.random.RandomState):
        return value
    if value is None or (isinstance(value, (int, np.integer)) and not isinstance(value, bool) and 0 <= value < 2**32):
        return np.random.RandomState(value)
    raise ValueError(f"rng must be None, an int seed in [0, 2**32) or a numpy RandomState, got {value!r}")


def read_options(trainer: Any, kw: Mapping[str, Any]) -> None:
    """Check the loop's options in ``kw`` and set them on ``trainer`` (see :class:`~graphc.theanets.trainer.Trainer`).

    Raises
    ------
    ValueError
        Naming the option, the value given and what is accepted.
    TypeError
        For a ``checkpoint`` or ``save_progress`` that is not a file path.
    """
    size = kw.get("batch_size", 32)
    if size is not None and (isinstance(size, (bool, np.bool_)) or not isinstance(size, (int, np.integer)) or size < 0):
        raise ValueError(
            f"batch_size must be an integer > 0, or None (or 0, downhill's spelling) for the whole dataset in one "
            f"batch, got {size!r}"
        )
    trainer.batch_size = 0 if size is None else int(size)
    both = kw.get("iteration_size")
    trainer.train_batches = int_option(kw, "train_batches", both, 1)
    trainer.valid_batches = int_option(kw, "valid_batches", both, 1)
    trainer.validate_every = int_option(kw, "validate_every", 10, 1)
    trainer.patience = int_option(kw, "patience", 5, 0)
    limits = [int_option(kw, k, None, 0) for k in ("max_updates", "max_epochs")]
    trainer.max_updates = min((v for v in limits if v is not None), default=None)
    improvement = kw.get("min_improvement", 0.0)
    if not _number(improvement) or not 0 <= improvement < math.inf:
        raise ValueError(f"min_improvement must be >= 0, got {improvement!r}")
    trainer.min_improvement = float(improvement)
    save_every = kw.get("save_every", 0) or 0
    if not _number(save_every):
        raise ValueError(f"save_every must be an int (iterations) or a float (minutes), got {save_every!r}")
    if not 0 <= save_every < math.inf:
        raise ValueError(f"save_every must be >= 0, got {save_every!r}")
    trainer.save_every = save_every
    for name in ("save_progress", "checkpoint"):
        value = kw.get(name)
        if value is not None and not isinstance(value, (str, os.PathLike)):
            raise TypeError(f"{name} must be a file path, got {value!r}")
    trainer.save_progress = kw.get("save_progress")
    trainer.checkpoint = kw.get("checkpoint")
    trainer.progress = _switch(kw, "progress", None)
    trainer.checkpoint_every = int_option(kw, "checkpoint_every", 1, 1)
    trainer.resume = _switch(kw, "resume", False)
    if trainer.resume and trainer.checkpoint is None:
        raise ValueError("resume=True needs checkpoint=<path>: the file to resume from")
    trainer.stop_on_nonfinite = _switch(kw, "stop_on_nonfinite", True)
    for name in ("monitor_gradients", "nesterov"):
        _switch(kw, name, None)
    for name in ("max_gradient_norm", "max_gradient_elem", "max_gradient_clip", "gradient_clip"):
        _limit(kw, name)
    trainer.stop_reason = None
    trainer.rng = _rng(kw.get("rng", getattr(trainer.network, "_rng", None)))


_TRAINER_OPTIONS = frozenset(
    {
        "batch_size", "iteration_size", "train_batches", "valid_batches", "rng", "validate_every",
        "patience", "min_improvement", "max_updates", "max_epochs", "save_every", "save_progress",
        "progress", "learning_rate", "momentum", "nesterov", "max_gradient_norm", "max_gradient_elem",
        "max_gradient_clip", "gradient_clip", "monitor_gradients", "rho", "rms_halflife", "epsilon",
        "rms_regularizer", "regularizer", "beta1", "beta2", "beta1_halflife", "beta2_halflife",
        "rprop_increase", "rprop_decrease", "rprop_min_step", "rprop_max_step", "hv_method",
        "checkpoint", "checkpoint_every", "resume", "stop_on_nonfinite", "subalgo",
    }
)  # fmt: skip


def check_options(kwargs: Mapping[str, Any]) -> set[str]:
    """Raise ``TypeError`` for a keyword that is neither a trainer option nor a regularizer's; the regularizers' names.

    Raises
    ------
    TypeError
        Naming the unknown options and the known ones.
    """
    network_options = _regularizers.options() - {"rng"}
    unknown = sorted(set(kwargs) - _TRAINER_OPTIONS - network_options)
    if unknown:
        raise TypeError(
            f"unknown training option(s) {unknown}; options are {sorted(_TRAINER_OPTIONS)} and the "
            f"regularizers {sorted(network_options)}"
        )
    return network_options
