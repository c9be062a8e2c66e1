"""``graphc.runtime``: ONNX Runtime sessions, providers, IO binding, partitioned steps, and :func:`function`."""

from . import pickling as _pickling  # noqa: F401  (registers how compiled functions pickle)
from .function import Function, UnusedInputError, function
from .memcpy import memcpy_nodes
from .partitioned import CollectiveTimeoutError, GraphMismatchError
from .providers import (
    DeviceError,
    cuda_provider_options,
    cuda_unusable_reason,
    cuda_usable,
    make_session,
    open_session,
    preload_cuda_libraries,
    resolve_device,
)
from .sequences import ZeroLengthSequenceError

__all__ = [
    "Function",
    "UnusedInputError",
    "function",
    "DeviceError",
    "cuda_usable",
    "cuda_unusable_reason",
    "cuda_provider_options",
    "preload_cuda_libraries",
    "make_session",
    "open_session",
    "resolve_device",
    "memcpy_nodes",
    "ZeroLengthSequenceError",
    "GraphMismatchError",
    "CollectiveTimeoutError",
]
