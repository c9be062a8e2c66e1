"""Choosing where sessions run and creating ONNX Runtime sessions.

``device='auto'`` (the default) uses CUDA only when a session really gets the
CUDA provider (``onnxruntime-gpu`` lists it even on machines without a GPU);
otherwise the CPU.  ``GRAPHC_DEVICE=cpu|cuda|auto`` sets the default.

Before the first CUDA session, when the NVIDIA libraries come from pip packages
(``nvidia-*``), :func:`onnxruntime.preload_dlls` loads them (once).  CUDA
sessions run float32 matrix products at full float32 precision: ONNX Runtime's
``use_tf32`` provider option is 0 unless ``GRAPHC_CUDA_TF32=1``.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import importlib.util
import io
import logging
import os
from pathlib import Path
from typing import Any

import onnxruntime as ort

__all__ = [
    "resolve_device",
    "cuda_usable",
    "cuda_unusable_reason",
    "cuda_provider_options",
    "preload_cuda_libraries",
    "make_session",
    "open_session",
    "session_options",
    "DeviceError",
    "ort_log_level",
]

_VALID = ("auto", "cpu", "cuda")
_log = logging.getLogger(__name__)


class DeviceError(RuntimeError):
    """The requested device cannot be used."""


def _parse(device: str) -> tuple[str, int]:
    kind, _, index = device.partition(":")
    if kind not in _VALID or (index and not index.isdigit()) or (index and kind != "cuda"):
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}")
    return kind, int(index or 0)


def _nvidia_pip_packages() -> bool:
    """True when NVIDIA's CUDA/cuDNN libraries are installed as pip packages (``nvidia-*``)."""
    try:
        return importlib.util.find_spec("nvidia") is not None
    except (ImportError, ValueError):
        return False


@functools.cache
def preload_cuda_libraries() -> bool:
    """Load the CUDA and cuDNN libraries of NVIDIA's pip packages, once.

    Calls :func:`onnxruntime.preload_dlls` (ONNX Runtime >= 1.21) when the
    ``nvidia-*`` pip packages are installed, so that the CUDA provider finds
    them without ``LD_LIBRARY_PATH``.  graphc calls it before the first CUDA
    session; failures never raise (they are logged at debug level, and the
    CUDA provider then reports what is missing).

    Returns
    -------
    bool
        True when ``preload_dlls`` ran without an error.
    """
    if not hasattr(ort, "preload_dlls") or not _nvidia_pip_packages():
        return False
    said = io.StringIO()  # preload_dlls prints its complaints: keep them for the debug log
    try:
        with contextlib.redirect_stdout(said):
            ort.preload_dlls()
    except Exception as exc:  # any failure here only means the provider may not load: not fatal
        _log.debug("onnxruntime.preload_dlls() failed: %s: %s %s", type(exc).__name__, exc, said.getvalue().strip())
        return False
    if said.getvalue().strip():
        _log.debug("onnxruntime.preload_dlls(): %s", said.getvalue().strip())
    return True


def _driver_present() -> bool:
    for lib in ("libcuda.so.1", "libcuda.so", "nvcuda.dll"):
        try:
            ctypes.CDLL(lib)
            return True
        except OSError:
            continue
    return False


def _probe_model() -> bytes:
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "graphc_cuda_probe",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8).SerializeToString()


@functools.cache
def _cuda_check() -> tuple[bool, str]:
    """(usable, why not): the provider is built in, a driver is present, and a tiny session gets CUDA."""
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        return False, "this onnxruntime has no CUDA provider (install onnxruntime-gpu instead of onnxruntime)"
    if not _driver_present():
        return False, "no NVIDIA driver was found (libcuda cannot be loaded): there is no usable GPU here"
    preload_cuda_libraries()
    try:
        sess = ort.InferenceSession(
            _probe_model(), sess_options=session_options(),
            providers=[("CUDAExecutionProvider", {"device_id": 0}), "CPUExecutionProvider"],
        )
        got = sess.get_providers()
    except Exception as exc:  # ORT's exception types vary between versions
        return False, f"a test session with the CUDA provider failed: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
    if got[0] != "CUDAExecutionProvider":
        return False, (
            "a test session did not get the CUDA provider (ONNX Runtime fell back to "
            f"{got}): the CUDA or cuDNN libraries onnxruntime-gpu {ort.__version__} needs are probably missing; "
            "see https://onnxruntime.ai/docs/execution-providers/CUDA-ExecutionProvider.html#requirements"
        )
    return True, ""


def cuda_usable() -> bool:
    """True when ONNX Runtime's CUDA provider really runs here.

    Three checks, the result cached for the process: the CUDA provider is
    built into this ``onnxruntime``; an NVIDIA driver (``libcuda``) loads;
    and a one-node session created with the CUDA provider gets
    ``CUDAExecutionProvider`` as its first provider (``onnxruntime-gpu``
    lists the provider even where it cannot load, and then falls back to
    the CPU).

    Returns
    -------
    bool
    """
    return _cuda_check()[0]


def cuda_unusable_reason() -> str:
    """Why :func:`cuda_usable` is False (an empty string when it is True)."""
    return _cuda_check()[1]


def cuda_provider_options(device_id: int = 0) -> dict[str, Any]:
    """The CUDA provider options graphc's sessions use.

    Parameters
    ----------
    device_id : int
        The GPU's index.

    Returns
    -------
    dict
        ``device_id`` and ``use_tf32`` (0: float32 matrix products at full
        precision; ``GRAPHC_CUDA_TF32=1`` allows TF32 tensor cores).
    """
    tf32 = os.environ.get("GRAPHC_CUDA_TF32", "0").strip()
    if tf32 not in ("0", "1", ""):
        raise ValueError(f"GRAPHC_CUDA_TF32 must be 0 or 1, got {tf32!r}")
    return {"device_id": device_id, "use_tf32": "1" if tf32 == "1" else "0"}


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
            f"{source} asks for {device!r}, but ONNX Runtime's CUDA provider cannot run here: "
            f"{cuda_unusable_reason()}; use device='cpu' or 'auto' (GRAPHC_DEVICE=cpu|auto)"
        )
    return kind, index


def ort_log_level() -> int:
    """The severity below which ONNX Runtime's own log lines are dropped (0 verbose .. 4 fatal).

    Default 4: ONNX Runtime's errors reach the user as exceptions (one line from the
    ``graphc`` command), not as its colored log lines on standard error.
    ``GRAPHC_ORT_LOG_LEVEL=N`` sets it; ``GRAPHC_ORT_LOG=1`` means 2 (warnings and up),
    for a user who wants ONNX Runtime's logs.

    Raises
    ------
    ValueError
        For a ``GRAPHC_ORT_LOG_LEVEL`` that is not 0..4.
    """
    text = os.environ.get("GRAPHC_ORT_LOG_LEVEL", "").strip()
    if not text:
        return 2 if os.environ.get("GRAPHC_ORT_LOG", "").strip() not in ("", "0") else 4
    if text not in ("0", "1", "2", "3", "4"):
        raise ValueError(f"GRAPHC_ORT_LOG_LEVEL must be 0 (verbose) .. 4 (fatal), got {text!r}")
    return int(text)


@functools.cache
def _quiet_default_logger(level: int) -> None:
    """ONNX Runtime's process-wide logger (used before a session has its own: loading providers, parsing) gets the
    same level (its errors reach the user as exceptions anyway).  Once per level."""
    ort.set_default_logger_severity(level)


def session_options() -> ort.SessionOptions:
    """Session options graphc uses: quiet logs, full graph optimization, ONNX format only.

    ``GRAPHC_ORT_LOG_LEVEL`` (0 verbose .. 4 fatal, default 4, see :func:`ort_log_level`;
    ``GRAPHC_ORT_LOG=1`` shows ONNX Runtime's warnings and errors) and
    ``GRAPHC_NUM_THREADS`` (intra-op threads, default: ONNX Runtime's choice)
    adjust them.  ONNX Runtime's default logger is set to the same level, once.
    """
    level = ort_log_level()
    _quiet_default_logger(level)
    so = ort.SessionOptions()
    so.log_severity_level = level
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # bytes are parsed as ONNX only: ONNX Runtime would otherwise take any bytes with 'ORTM' at
    # offset 4 for its own ORT format, which graphc's safety checks never looked at
    so.add_session_config_entry("session.load_model_format", "ONNX")
    threads = os.environ.get("GRAPHC_NUM_THREADS")
    if threads:
        so.intra_op_num_threads = int(threads)
    return so


def _explicit(device: str | None) -> bool:
    if device is not None:
        return device.strip().lower() != "auto"
    return os.environ.get("GRAPHC_DEVICE", "auto").strip().lower() not in ("", "auto")


def make_session(
    model_bytes: bytes, device: str | None = None, training: bool = False, *, threads: int | None = None
) -> tuple[ort.InferenceSession, str]:
    """Create a session for a serialized model on the resolved device.

    Parameters
    ----------
    model_bytes : bytes
        A serialized ONNX model.
    device : str, optional
        ``'auto'``, ``'cpu'``, ``'cuda'`` or ``'cuda:N'`` (see
        :func:`resolve_device`); None reads ``GRAPHC_DEVICE``.
    training : bool
        A training step: ONNX Runtime's memory pattern (one preallocated block
        for every intermediate of a run) is switched off.  It holds the sum of
        a step's activations at once: for a bidirectional LSTM trained on 1000
        steps it took peak memory from 615 MiB to 1100 MiB, for no measurable
        speed.  ``GRAPHC_MEM_PATTERN=1`` keeps it on, ``=0`` turns it off for
        every session.
    threads : int, optional
        ONNX Runtime's intra-op threads (default ``GRAPHC_NUM_THREADS``, else
        ONNX Runtime's choice).

    Returns
    -------
    (onnxruntime.InferenceSession, str)
        The session and the device it really runs on (``'cpu'`` or ``'cuda:N'``).

    Raises
    ------
    DeviceError
        When CUDA was asked for explicitly (argument or ``GRAPHC_DEVICE``) and
        the session does not get the CUDA provider (e.g. ``cuda:N`` with no
        GPU ``N``).  With ``'auto'`` graphc falls back to the CPU instead.
    """
    if not isinstance(model_bytes, (bytes, bytearray)):
        raise TypeError(f"make_session: model_bytes must be a serialized model (bytes), got {type(model_bytes).__name__}")
    kind, index = resolve_device(device)
    so = session_options()
    if threads:
        so.intra_op_num_threads = threads
    pattern = os.environ.get("GRAPHC_MEM_PATTERN", "").strip()
    if pattern in ("0", "1"):
        so.enable_mem_pattern = pattern == "1"
    elif training:
        so.enable_mem_pattern = False
    if kind == "cpu":
        return _session(model_bytes, so, ["CPUExecutionProvider"]), "cpu"
    preload_cuda_libraries()
    providers: list[Any] = [("CUDAExecutionProvider", cuda_provider_options(index)), "CPUExecutionProvider"]
    try:
        sess = _session(model_bytes, so, providers)
        got = sess.get_providers()
    except Exception as exc:  # a provider failure or a bad model: the CPU tells which
        try:
            cpu = _session(model_bytes, so, ["CPUExecutionProvider"])
        except Exception:
            raise exc from None  # the model itself is refused: not a device problem
        if _explicit(device):
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise DeviceError(f"asked for cuda:{index}, but ONNX Runtime could not create a CUDA session: {first}") from exc
        return cpu, "cpu"
    if got[0] != "CUDAExecutionProvider":
        if _explicit(device):
            raise DeviceError(
                f"asked for cuda:{index}, but ONNX Runtime gave the session {got} (is there a GPU {index}?)"
            )
        return _session(model_bytes, so, ["CPUExecutionProvider"]), "cpu"
    return sess, f"cuda:{index}"


#: ONNX Runtime graph rewrites graphc switches off: ``MatMulScaleFusion`` folds ``dot(a, b) * c`` into
#: a fused matmul whose scale is a 32-bit float, so float64 products came out with float32's
#: error (5e-7 off numpy on ``dot(W, W.T) * 0.3``)
DISABLED_ORT_OPTIMIZERS = ["MatMulScaleFusion"]


def _session(model_bytes: bytes, so: ort.SessionOptions, providers: list[Any]) -> ort.InferenceSession:
    return ort.InferenceSession(
        model_bytes, sess_options=so, providers=providers, disabled_optimizers=DISABLED_ORT_OPTIMIZERS
    )


def open_session(
    model: Any, device: str | None = None, *, training: bool = False, threads: int | None = None
) -> ort.InferenceSession:
    """An ONNX Runtime session for an exported model, on a chosen device.

    Parameters
    ----------
    model : onnx.ModelProto, bytes, str or os.PathLike
        The model, serialized or not, or the path of an ``.onnx`` file (read
        with :func:`graphc.export.load`, which checks external data).
    device : str, optional
        ``'auto'``, ``'cpu'``, ``'cuda'`` or ``'cuda:N'``; None reads
        ``GRAPHC_DEVICE`` (default ``'auto'``).
    training : bool
        The model is a training step (see :func:`make_session`).
    threads : int, optional
        ONNX Runtime's intra-op threads (CPU work).

    Returns
    -------
    onnxruntime.InferenceSession
        ``session.get_providers()[0]`` tells where it runs.

    Raises
    ------
    DeviceError
        When ``device`` asks for CUDA and it cannot be used.
    TypeError
        For a ``model`` of another type.
    """
    if isinstance(model, (str, os.PathLike)):
        from ..export.io import load

        model = load(Path(model), check=False)
    if hasattr(model, "SerializeToString"):
        model = model.SerializeToString()
    if not isinstance(model, (bytes, bytearray)):
        raise TypeError(
            f"open_session: model must be an onnx.ModelProto, bytes or a path, got {type(model).__name__}"
        )
    if threads is not None and (not isinstance(threads, int) or threads < 0):
        raise ValueError(f"open_session: threads must be a non-negative int, got {threads!r}")
    return make_session(bytes(model), device, training=training, threads=threads)[0]
