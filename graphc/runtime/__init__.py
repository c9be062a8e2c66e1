"""``graphc.runtime``: ONNX Runtime sessions, providers, and :func:`function`."""

from .function import Function, UnusedInputError, function
from .providers import DeviceError, cuda_usable, make_session, resolve_device

__all__ = ["Function", "UnusedInputError", "function", "DeviceError", "cuda_usable", "make_session", "resolve_device"]
