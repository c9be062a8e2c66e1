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
"""

from __future__ import annotations

import os


class Config:
    """Mutable settings; use the module-level :data:`config` instance."""

    def __init__(self) -> None:
        self._floatX = "float32"
        self.floatX = os.environ.get("GRAPHC_FLOATX", "float32")
        self.device = "cpu"

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
