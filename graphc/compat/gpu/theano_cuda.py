"""``theano.sandbox.cuda``: the old GPU back-end, absent.

Theano 0.9 on a machine without CUDA imports this module with ``cuda_available``
and ``cuda_enabled`` False; programs written for it test those flags.  (Theano 1.0
removed the back-end and refuses the import outright; graphc keeps the 0.9 behaviour
so such programs take their CPU path.)
"""

from __future__ import annotations

cuda_available = False
"""False: no old-style CUDA back-end."""
cuda_enabled = False
"""False: the old back-end is not in use."""
cuda_initialization_error_message = (
    "graphc does not provide Theano's old CUDA back-end (graphc.function(device='cuda') uses ONNX Runtime's)"
)


def use(device: str, *args: object, **kwargs: object) -> None:
    """Theano's ``theano.sandbox.cuda.use``: refused, the back-end is absent.

    Raises
    ------
    EnvironmentError
        Always (Theano's exception when CUDA cannot be used).
    """
    raise OSError(f"{cuda_initialization_error_message}; cannot use {device!r}")
