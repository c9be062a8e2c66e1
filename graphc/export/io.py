"""Saving and loading ONNX models: atomic writes, clear errors on bad and hostile files."""

from __future__ import annotations

import os
import stat
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


def _read_model_file(folder_fd: int | None, p: Path) -> bytes:
    """The bytes of the model file, opened once (relative to its folder's descriptor) and read from that descriptor."""
    from .budget import check_bytes
    from .safety import read_exact

    flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(p.name, flags, dir_fd=folder_fd) if folder_fd is not None else os.open(p, flags)
    except FileNotFoundError:
        raise FileNotFoundError(f"no ONNX model at {p}") from None
    except OSError as exc:
        raise ValueError(f"cannot read the ONNX model at {p}: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise FileNotFoundError(f"no ONNX model at {p}: it is a folder, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise ValueError(f"no ONNX model at {p}: it is not a regular file")
        if info.st_size > _PROTOBUF_LIMIT:
            raise ValueError(f"{p} is not an ONNX model: it is {info.st_size} bytes, over protobuf's 2 GiB limit for one file")
        check_bytes(info.st_size, f"reading the ONNX model {p}")
        return read_exact(fd, info.st_size, 0, str(p))
    finally:
        os.close(fd)


def load(path: str | os.PathLike[str], check: bool = True) -> onnx.ModelProto:
    """Read an ONNX model from ``path``, refusing hostile or broken files.

    The model's folder is opened once; the model file and every external data
    file are opened relative to it, once each, and read from those descriptors
    (so a folder swapped for a link meanwhile cannot redirect a read).  Every
    model goes through :func:`graphc.export.safety.check_model_safety`:
    external data outside the model's folder or through a link, absurd sizes,
    tensors whose bytes do not match their dims, data over the memory budget,
    and unsupported IR or opset versions are refused.  Approved external data
    is read into the model, so the model returned refers to no file (ONNX
    Runtime, given its bytes, would resolve external data against the working
    folder).  Fields this onnx package does not know are dropped.

    Parameters
    ----------
    path : path-like
    check : bool
        Also run the ONNX checker on it.

    Raises
    ------
    FileNotFoundError
        If there is no such file (or it is a folder).
    ValueError
        If the file is not a valid ONNX model or is refused (the message says why);
        :class:`graphc.export.budget.BudgetError` when it is over the memory budget.
    """
    from .safety import assert_no_external_data, check_model_safety, load_external_data, open_folder

    p = Path(path)
    folder_fd: int | None = None
    if os.open in os.supports_dir_fd:
        try:
            folder_fd = open_folder(p.parent)
        except FileNotFoundError:
            raise FileNotFoundError(f"no ONNX model at {p}") from None
        except OSError as exc:
            raise ValueError(f"cannot read the ONNX model at {p}: its folder cannot be opened ({exc.strerror})") from None
    try:
        data = _read_model_file(folder_fd, p)
        if not data:
            raise ValueError(f"{p} is not an ONNX model (the file is empty)")
        model = onnx.ModelProto()
        try:
            model.ParseFromString(data)
        except (DecodeError, RuntimeWarning, ValueError) as exc:
            raise ValueError(f"{p} is not an ONNX model (it does not parse as one, or it is truncated): {exc}") from exc
        del data
        model.DiscardUnknownFields()  # ONNX Runtime's newer schema could read a tensor the walk cannot see
        if not model.graph.node and not model.graph.output:
            raise ValueError(f"{p} is not an ONNX model (it holds no graph)")
        if not model.opset_import:
            raise ValueError(f"{p} is not an ONNX model (it imports no opset)")
        if check_model_safety(model, p):
            load_external_data(model, p, folder_fd=folder_fd)  # ends with assert_no_external_data
        else:
            assert_no_external_data(model, str(p))  # the final pass: nothing external is left
    finally:
        if folder_fd is not None:
            os.close(folder_fd)
    if check:
        try:
            onnx.checker.check_model(model)
        except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as exc:
            raise ValueError(f"{p} is not a valid ONNX model: {str(exc).splitlines()[0]}") from exc
    return model
