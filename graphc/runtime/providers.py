"""Choosing where sessions run and creating ONNX Runtime sessions.

``device='auto'`` (the default) uses CUDA only when a session really gets the
CUDA provider (``onnxruntime-gpu`` lists it even on machines without a GPU);
otherwise the CPU.  ``GRAPHC_DEVICE=cpu|cuda|auto`` sets the default.
"""

from __future__ import annotations

import ctypes
import functools
import os
from typing import Any

import onnxruntime as ort

__all__ = ["resolve_device", "cuda_usable", "make_session", "DeviceError"]

_VALID = ("auto", "cpu", "cuda")


class DeviceError(RuntimeError):
    """The requested device cannot be used."""


def _parse(device: str) -> tuple[str, int]:
    kind, _, index = device.partition(":")
    if kind not in _VALID or (index and not index.isdigit()) or (index and kind != "cuda"):
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}")
    return kind, int(index or 0)


@functools.cache
def cuda_usable() -> bool:
    """True when ONNX Runtime's CUDA provider can run here (provider built in and a driver present)."""
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        return False
    for lib in ("libcuda.so.1", "libcuda.so", "nvcuda.dll"):
        try:
            ctypes.CDLL(lib)
            return True
        except OSError:
            continue
    return False


def resolve_device(device: str | None = None) -> tuple[str, int]:
    """The device a new session should ask for: ``('cpu', 0)`` or ``('cuda', N)``.

    Parameters
    ----------
    device : str, optional
        ``'auto'``, ``'cpu'``, ``'cuda'`` or ``'cuda:N'``; None reads
        ``GRAPHC_DEVICE`` (default ``'auto'``).

    Raises
    ------
    ValueError
        For an unknown device string.
    DeviceError
        When CUDA is asked for explicitly and cannot be used.
    """
    source = "device argument"
    if device is None:
        device = os.environ.get("GRAPHC_DEVICE", "auto") or "auto"
        source = "GRAPHC_DEVICE"
    if not isinstance(device, str):
        raise TypeError(f"device must be a string such as 'cpu' or 'cuda', got {type(device).__name__}")
    kind, index = _parse(device.strip().lower())
    if kind == "auto":
        return ("cuda", 0) if cuda_usable() else ("cpu", 0)
    if kind == "cuda" and not cuda_usable():
        raise DeviceError(
            f"{source} asks for {device!r}, but ONNX Runtime's CUDA provider cannot run here "
            "(onnxruntime-gpu and an NVIDIA driver are needed); use 'cpu' or 'auto'"
        )
    return kind, index


def session_options() -> ort.SessionOptions:
    """Session options graphc uses: quiet logs, full graph optimization.

    ``GRAPHC_ORT_LOG_LEVEL`` (0 verbose .. 4 fatal, default 4: errors reach the user as exceptions instead) and
    ``GRAPHC_NUM_THREADS`` (intra-op threads, default: ONNX Runtime's choice)
    adjust them.
    """
    so = ort.SessionOptions()
    so.log_severity_level = int(os.environ.get("GRAPHC_ORT_LOG_LEVEL", "4"))
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    threads = os.environ.get("GRAPHC_NUM_THREADS")
    if threads:
        so.intra_op_num_threads = int(threads)
    return so


def make_session(model_bytes: bytes, device: str | None = None, training: bool = False) -> tuple[ort.InferenceSession, str]:
    """Create a session for a serialized model on the resolved device.

    Parameters
    ----------
    model_bytes : bytes
    device : str, optional
    training : bool
        A training step: ONNX Runtime's memory pattern (one preallocated block
        for every intermediate of a run) is switched off.  It holds the sum of
        a step's activations at once: for a bidirectional LSTM trained on 1000
        steps it took peak memory from 615 MiB to 1100 MiB, for no measurable
        speed.  ``GRAPHC_MEM_PATTERN=1`` keeps it on, ``=0`` turns it off for
        every session.

    Returns
    -------
    (onnxruntime.InferenceSession, str)
        The session and the device it really runs on (``'cpu'`` or ``'cuda:N'``).
    """
    kind, index = resolve_device(device)
    so = session_options()
    pattern = os.environ.get("GRAPHC_MEM_PATTERN", "").strip()
    if pattern in ("0", "1"):
        so.enable_mem_pattern = pattern == "1"
    elif training:
        so.enable_mem_pattern = False
    providers: list[Any] = ["CPUExecutionProvider"]
    if kind == "cuda":
        providers = [("CUDAExecutionProvider", {"device_id": index}), "CPUExecutionProvider"]
    sess = ort.InferenceSession(model_bytes, sess_options=so, providers=providers)
    if kind == "cuda" and sess.get_providers()[0] != "CUDAExecutionProvider":
        explicit = device is not None and device != "auto" or os.environ.get("GRAPHC_DEVICE", "auto") not in ("", "auto")
        if explicit:
            raise DeviceError(f"asked for {kind}:{index}, but ONNX Runtime gave the session {sess.get_providers()}")
        return ort.InferenceSession(model_bytes, sess_options=so, providers=["CPUExecutionProvider"]), "cpu"
    return sess, (f"cuda:{index}" if kind == "cuda" else "cpu")
