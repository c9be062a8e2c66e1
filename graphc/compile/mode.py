"""``theano.compile.mode``: compilation modes, accepted where graphc can honour them.

graphc has one way to compile (expression -> passes -> ONNX -> ONNX Runtime), so
``Mode``, ``'FAST_RUN'``, ``'FAST_COMPILE'`` and their ``including``/``excluding`` are
accepted and change nothing.  Modes that promise checks graphc does not make are
refused when they are made: ``DebugMode`` (re-running every op in Python and
comparing), ``NanGuardMode`` (stopping at the first NaN or Inf), and Theano's
profiling modes; :class:`UnsupportedModeError` names the mode.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "Mode",
    "FAST_RUN",
    "FAST_COMPILE",
    "get_mode",
    "get_default_mode",
    "DebugMode",
    "NanGuardMode",
    "UnsupportedModeError",
    "predefined_modes",
]

_UNSUPPORTED = {
    "DebugMode": "graphc does not run ops one by one in Python to compare them; test with numpy oracles instead",
    "DEBUG_MODE": "graphc does not run ops one by one in Python to compare them; test with numpy oracles instead",
    "NanGuardMode": "graphc does not stop at the first NaN or Inf; check the outputs with numpy.isfinite",
    "ProfileMode": "graphc does not profile per op; `graphc bench` times a model",
    "PROFILE_MODE": "graphc does not profile per op; `graphc bench` times a model",
    "MonitorMode": "graphc does not call Python hooks between ops",
}


class UnsupportedModeError(NotImplementedError):
    """A Theano compilation mode graphc cannot honour."""

    def __init__(self, mode: str) -> None:
        super().__init__(f"graphc cannot honour mode {mode!r}: {_UNSUPPORTED.get(mode, 'unknown mode')}")
        self.mode = mode


class Mode:
    """Theano's ``Mode(linker, optimizer)``: accepted, with no effect on how graphc compiles.

    Parameters
    ----------
    linker, optimizer : optional
        Accepted for Theano compatibility.
    """

    def __init__(self, linker: Any = None, optimizer: Any = "default") -> None:
        self.linker = linker
        self.optimizer = optimizer

    def including(self, *tags: str) -> Mode:
        """This mode (optimizer tags have no effect)."""
        return self

    def excluding(self, *tags: str) -> Mode:
        """This mode (optimizer tags have no effect)."""
        return self

    def requiring(self, *tags: str) -> Mode:
        """This mode (optimizer tags have no effect)."""
        return self

    def __repr__(self) -> str:
        return f"Mode(linker={self.linker!r}, optimizer={self.optimizer!r})"


FAST_RUN = Mode("cvm", "fast_run")
"""Theano's default mode (graphc compiles the same way whatever the mode)."""
FAST_COMPILE = Mode("py", "fast_compile")
"""Theano's fast-compiling mode (accepted; graphc compiles the same way)."""
predefined_modes: dict[str, Mode] = {"FAST_RUN": FAST_RUN, "FAST_COMPILE": FAST_COMPILE, "Mode": FAST_RUN}


def get_mode(orig_string: Any) -> Mode:
    """The mode for a name (``'FAST_RUN'``...) or a :class:`Mode`; None gives the default.

    Raises
    ------
    UnsupportedModeError
        For ``'DebugMode'``, ``'NanGuardMode'`` and the profiling modes.
    ValueError
        For an unknown name.
    """
    if orig_string is None:
        return FAST_RUN
    if isinstance(orig_string, Mode):
        return orig_string
    if orig_string in _UNSUPPORTED:
        raise UnsupportedModeError(orig_string)
    if orig_string in predefined_modes:
        return predefined_modes[orig_string]
    raise ValueError(f"unknown mode {orig_string!r}; graphc accepts {', '.join(sorted(predefined_modes))}")


def get_default_mode() -> Mode:
    """The default mode (:data:`FAST_RUN`)."""
    return FAST_RUN


class DebugMode(Mode):
    """Refused: see :class:`UnsupportedModeError`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise UnsupportedModeError("DebugMode")


class NanGuardMode(Mode):
    """Refused: see :class:`UnsupportedModeError`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise UnsupportedModeError("NanGuardMode")
