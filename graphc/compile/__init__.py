"""``theano.compile``: ``function``, ``shared`` and the compilation modes (:mod:`graphc.compile.mode`)."""

from ..runtime import Function, function
from ..tensor.shared import SharedVariable, shared
from . import io, mode
from .io import In
from .mode import (
    FAST_COMPILE,
    FAST_RUN,
    DebugMode,
    Mode,
    NanGuardMode,
    UnsupportedModeError,
    get_default_mode,
    get_mode,
)

__all__ = [
    "In",
    "io",
    "function",
    "Function",
    "shared",
    "SharedVariable",
    "mode",
    "Mode",
    "FAST_RUN",
    "FAST_COMPILE",
    "DebugMode",
    "NanGuardMode",
    "UnsupportedModeError",
    "get_mode",
    "get_default_mode",
]
