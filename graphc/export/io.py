"""Saving and loading ONNX models: atomic writes, clear errors on bad files."""

from __future__ import annotations

import os
from pathlib import Path

import onnx
from google.protobuf.message import DecodeError

from .atomic import atomic_write_bytes

__all__ = ["save", "load", "atomic_write_bytes"]

_PROTOBUF_LIMIT = 2**31 - 1


def save(model: onnx.ModelProto, path: str | os.PathLike[str]) -> Path:
    """Write ``model`` to ``path`` atomically and return the path.

    Raises
    ------
    TypeError
        If ``model`` is not an ``onnx.ModelProto``.
    ValueError
        If the model is over protobuf's 2 GiB limit.
    """
    if not isinstance(model, onnx.ModelProto):
        raise TypeError(f"save() needs an onnx.ModelProto, got {type(model).__name__}")
    size = model.ByteSize()
    if size > _PROTOBUF_LIMIT:
        raise ValueError(f"model is {size} bytes, over protobuf's 2 GiB limit for a single file")
    return atomic_write_bytes(path, model.SerializeToString())


def load(path: str | os.PathLike[str], check: bool = True) -> onnx.ModelProto:
    """Read an ONNX model from ``path``, refusing hostile or broken files.

    Every file goes through :func:`graphc.export.safety.check_model_safety`:
    external data outside the model's folder, absurd sizes, tensors whose
    bytes do not match their dims, and unsupported IR or opset versions are
    refused.  Approved external data is read into the model.

    Parameters
    ----------
    path : path-like
    check : bool
        Also run the ONNX checker on it.

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    ValueError
        If the file is not a valid ONNX model or is refused (the message says why).
    """
    from .safety import check_model_safety, load_external_data

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"no ONNX model at {p}")
    data = p.read_bytes()
    if not data:
        raise ValueError(f"{p} is not an ONNX model (the file is empty)")
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except (DecodeError, RuntimeWarning, ValueError) as exc:
        raise ValueError(f"{p} is not an ONNX model (it does not parse as one, or it is truncated): {exc}") from exc
    if not model.graph.node and not model.graph.output:
        raise ValueError(f"{p} is not an ONNX model (it holds no graph)")
    if not model.opset_import:
        raise ValueError(f"{p} is not an ONNX model (it imports no opset)")
    check_model_safety(model, p)
    load_external_data(model, p)
    if check:
        try:
            onnx.checker.check_model(model)
        except onnx.checker.ValidationError as exc:
            raise ValueError(f"{p} is not a valid ONNX model: {str(exc).splitlines()[0]}") from exc
    return model
