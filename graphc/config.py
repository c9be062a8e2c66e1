"""Global settings (Theano's ``config``).

Attributes
----------
floatX : str
    The float dtype used for Python floats, for float64 arrays given to
    :func:`graphc.shared`, and for the results of int arithmetic that needs
    floats (``/``, ``exp``...).  ``'float32'`` unless ``GRAPHC_FLOATX`` says
    ``'float64'``.
device : str
    ``'cpu'``: where Theano would compute.  graphc picks ONNX Runtime's device per
    function (``graphc.function(..., device=...)``, ``GRAPHC_DEVICE``); this attribute
    is what Theano-era code reads to decide, and CPU code paths are the portable ones.
compute_test_value : str
    Theano's setting, ``'off'`` (the default), ``'ignore'``, ``'warn'``, ``'raise'`` or
    ``'pdb'``.  Settable and readable; graphc does not compute test values, so it
    changes nothing.
warn : WarnFlags
    Theano's ``config.warn.*`` flags (``config.warn.subtensor_merge_bug = False``), with
    Theano's defaults.  Settable and readable; graphc never had those bugs, so they
    change nothing.
"""

from __future__ import annotations

import os

# Theano's warn.* bug flags and the version each bug was fixed in: a flag defaults to True
# when that version is newer than warn.ignore_bug_before (Theano's warn_default)
_WARN_FIXED_IN: dict[str, str | None] = {
    "argmax_pushdown_bug": "0.3",
    "gpusum_01_011_0111_bug": "0.3",
    "sum_sum_bug": "0.3",
    "sum_div_dimshuffle_bug": "0.3",
    "subtensor_merge_bug": "0.5",
    "gpu_set_subtensor1": "0.6",
    "vm_gc_bug": None,  # False by default in Theano (the bug was never released)
    "signal_conv2d_interface": "0.7",
    "reduce_join": "0.7",
    "inc_set_subtensor1": "0.7",
    "identify_1pexp_bug": "0.7",
    "round": "0.9",
}
_IGNORE_BUG_BEFORE = "0.8"  # Theano 1.0's default


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split(".") if p.isdigit())


def _as_bool(name: str, value: object) -> bool:
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
        return value.strip().lower() in ("true", "1")
    if isinstance(value, (bool, int)) and value in (0, 1):
        return bool(value)
    raise ValueError(f"config.warn.{name} must be True or False, got {value!r}")


class WarnFlags:
    """Theano's ``config.warn`` namespace: one bool per old Theano bug, and ``ignore_bug_before``.

    Defaults are Theano 1.0's (``ignore_bug_before='0.8'``: flags for bugs fixed by 0.8 are
    False, ``round`` is True).  Unknown names raise ``AttributeError``, as Theano's config does.
    """

    def __init__(self) -> None:
        object.__setattr__(self, "ignore_bug_before", _IGNORE_BUG_BEFORE)
        for name, fixed in _WARN_FIXED_IN.items():
            object.__setattr__(self, name, False if fixed is None else _version(fixed) > _version(_IGNORE_BUG_BEFORE))

    def __setattr__(self, name: str, value: object) -> None:
        if name == "ignore_bug_before":
            value = str(value)
        elif name in _WARN_FIXED_IN:
            value = _as_bool(name, value)
        else:
            raise AttributeError(f"config.warn has no flag {name!r}; known: {', '.join(sorted(_WARN_FIXED_IN))}")
        object.__setattr__(self, name, value)

    def __repr__(self) -> str:
        return "WarnFlags(" + ", ".join(f"{k}={v!r}" for k, v in vars(self).items()) + ")"


class Config:
    """Mutable settings; use the module-level :data:`config` instance."""

    def __init__(self) -> None:
        self._floatX = "float32"
        self.floatX = os.environ.get("GRAPHC_FLOATX", "float32")
        self.device = "cpu"
        self.warn = WarnFlags()
        self.compute_test_value = "off"  # a plain attribute: THEANO_FLAGS may set it (graphc ignores it)

    @property
    def floatX(self) -> str:  # noqa: N802  (Theano's name)
        """The default float dtype, ``'float32'`` or ``'float64'``."""
        return self._floatX

    @floatX.setter
    def floatX(self, value: str) -> None:  # noqa: N802
        if value not in ("float32", "float64", "float16"):
            raise ValueError(f"config.floatX must be 'float16', 'float32' or 'float64', got {value!r}")
        self._floatX = value


config = Config()
