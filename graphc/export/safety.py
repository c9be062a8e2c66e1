"""Refusing hostile or broken ONNX files before anything reads their data.

:func:`graphc.export.load` (and so every ``graphc`` command) runs
:func:`check_model_safety` on every model it parses, then
:func:`load_external_data`, then :func:`assert_no_external_data`:

- **every tensor**: :func:`iter_tensors` walks every ``TensorProto`` a model
  can hold (initializers, sparse initializers' values and indices, tensor and
  sparse-tensor attributes of every node of every graph and subgraph,
  model-local functions and their attribute defaults, training graphs).  The
  walk is derived from the protobuf descriptors, so a field that holds a
  tensor cannot be forgotten;
- **external data** (tensors stored beside the model) must live in the model's
  folder: a location that is absolute, climbs out with ``..``, or passes
  through a symbolic link anywhere (links are refused, wherever they point) is
  refused.  Each file is opened once, component by component relative to the
  model's folder (``dir_fd`` and ``O_NOFOLLOW``), must be a regular file, and
  exactly the bytes the tensor's dims and dtype need are read from that open
  file, so swapping a folder for a link between a check and the read cannot
  redirect it.  A ``length`` that disagrees with the dims, a byte range past
  the end of the file, string tensors, and a total over the memory budget
  (:func:`graphc.export.budget.memory_budget`) are refused before anything is
  read.  (Where ``os.open`` takes no ``dir_fd``, on Windows, links are refused
  by ``lstat`` and the opened file is compared with the path afterwards: a
  narrower window, not none.);
- **sizes**: a tensor whose dims are negative or whose element count is absurd
  (over :data:`MAX_ELEMENTS`), whose stored bytes do not match its dims, or a
  graph input or output with a negative or absurd dim is refused;
- **versions**: an IR version outside :data:`MIN_IR_VERSION` .. ``onnx.IR_VERSION``,
  a default-domain opset newer than this onnx package knows or older than
  ONNX Runtime runs, or an opset import of any domain below 1 is refused;
- **ORT format**: a model whose serialization ONNX Runtime would take for its
  own flatbuffer format (``ORTM`` at bytes 4..8) is refused.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import onnx
from onnx import TensorProto, helper

from .budget import check_bytes
from .walk import Where, iter_messages, iter_tensors, label, walk

__all__ = [
    "check_model_safety",
    "load_external_data",
    "assert_no_external_data",
    "iter_tensors",
    "iter_messages",
    "open_folder",
    "read_exact",
    "MAX_ELEMENTS",
    "MAX_DIM",
    "MIN_OPSET",
    "MIN_IR_VERSION",
]

MAX_ELEMENTS = 1 << 34
"""The most elements one tensor may claim (16 Gi: 64 GiB of float32)."""
MAX_DIM = 1 << 40
"""The largest size a graph input or output may give one axis."""
MIN_OPSET = 7
"""The oldest default-domain opset ONNX Runtime runs."""
MIN_IR_VERSION = 3
"""The oldest IR version with opset imports (older models cannot name their operators' versions)."""

_DIR_FD = os.open in os.supports_dir_fd and hasattr(os, "O_DIRECTORY") and hasattr(os, "O_NOFOLLOW")
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # a FIFO planted as a data file must not block the open
_BINARY = getattr(os, "O_BINARY", 0)
_EXTERNAL_KEYS = frozenset({"location", "offset", "length", "checksum"})
_TYPED_FIELDS = ("float_data", "int32_data", "string_data", "int64_data", "double_data", "uint64_data")
_SUB_BYTE_BITS = {
    getattr(TensorProto, name): bits
    for name, bits in (("UINT4", 4), ("INT4", 4), ("FLOAT4E2M1", 4), ("UINT2", 2), ("INT2", 2), ("FLOAT6E2M3", 6), ("FLOAT6E3M2", 6))
    if hasattr(TensorProto, name)
}


def _fail(where: str, why: str) -> NoReturn:
    raise ValueError(f"{where}: refused: {why}")


_TENSOR = TensorProto.DESCRIPTOR.full_name
_GRAPH = onnx.GraphProto.DESCRIPTOR.full_name
_FUNCTION = onnx.FunctionProto.DESCRIPTOR.full_name


# ----------------------------------------------------------------------------------------------
# one tensor


def _dtype_name(data_type: int) -> str:
    try:
        return TensorProto.DataType.Name(data_type)
    except ValueError:
        return str(data_type)


def _count(t: TensorProto, loc: Where, where: str) -> int:
    if any(d < 0 for d in t.dims):
        _fail(where, f"tensor {t.name!r} ({label(loc)}) has a negative dimension {list(t.dims)}")
    count = 1
    for d in t.dims:
        count *= int(d)
        if count > MAX_ELEMENTS:
            _fail(where, f"tensor {t.name!r} ({label(loc)}) claims {list(t.dims)} elements, over the limit of {MAX_ELEMENTS}")
    return count


def _nbytes(t: TensorProto, count: int) -> int | None:
    """The bytes ``count`` elements of ``t``'s dtype take; None for strings and unknown dtypes."""
    if t.data_type in _SUB_BYTE_BITS:
        return (count * _SUB_BYTE_BITS[t.data_type] + 7) // 8
    if t.data_type in (TensorProto.STRING, TensorProto.UNDEFINED):
        return None
    try:
        return count * np.dtype(helper.tensor_dtype_to_np_dtype(t.data_type)).itemsize
    except (KeyError, ValueError, TypeError):
        return None


def _external_entry(t: TensorProto, loc: Where, where: str, count: int) -> tuple[list[str], int, int]:
    """The folder-relative path components, offset and byte count of an external tensor (nothing is opened)."""
    name = f"tensor {t.name!r} ({label(loc)})"
    info: dict[str, str] = {}
    for e in t.external_data:
        if e.key not in _EXTERNAL_KEYS:
            _fail(where, f"{name}: unknown external data key {e.key!r} (expected {sorted(_EXTERNAL_KEYS)})")
        if e.key in info:
            _fail(where, f"{name}: external data key {e.key!r} is given twice")
        info[e.key] = e.value
    location = info.get("location", "")
    if not location:
        _fail(where, f"{name} is stored externally but names no file")
    if "\0" in location or location.startswith(("/", "\\")) or (len(location) > 1 and location[1] == ":"):
        _fail(where, f"{name} points outside the model's folder ({location!r} is not a relative path)")
    parts = [p for p in location.split("/") if p not in ("", ".")]
    if ".." in parts or any("\\" in p for p in parts):
        _fail(where, f"{name} points outside the model's folder ({location!r} climbs out with '..' or uses '\\\\')")
    if not parts:
        _fail(where, f"{name}: its external data location {location!r} names the model's folder, not a file")
    try:
        offset = int(info.get("offset", "0"))
        length = int(info["length"]) if "length" in info else None
    except ValueError:
        _fail(where, f"{name}: bad offset/length in its external data entry ({info.get('offset')!r}, {info.get('length')!r})")
    if offset < 0 or (length is not None and length < 0):
        _fail(where, f"{name}: negative offset or length in its external data entry ({offset}, {length})")
    if t.HasField("raw_data") or any(len(getattr(t, f)) for f in _TYPED_FIELDS):
        _fail(where, f"{name} is stored externally but also holds data in the file")
    need = _nbytes(t, count)
    if need is None:
        _fail(where, f"{name}: an external tensor of dtype {_dtype_name(t.data_type)} is not supported (strings and unknown dtypes must be stored in the file)")
    if length is not None and length != need:
        _fail(where, f"{name}: its external data entry gives length {length}, but dims {list(t.dims)} of dtype {_dtype_name(t.data_type)} need {need} bytes")
    return parts, offset, need


def _check_tensor(t: TensorProto, loc: Where, where: str, external_ok: bool) -> int:
    """Refuse a malformed ``t``; return the bytes it will read from an external file (0 when inline)."""
    count = _count(t, loc, where)
    if t.HasField("segment"):
        _fail(where, f"tensor {t.name!r} ({label(loc)}) is a segment of a tensor (segments are not supported)")
    if t.data_location == TensorProto.EXTERNAL:
        if not external_ok:
            _fail(where, f"tensor {t.name!r} ({label(loc)}) is stored in an external file, but the model was not read from a folder")
        return _external_entry(t, loc, where, count)[2]
    if len(t.external_data):  # (data_location is a closed enum: an unknown value parses as an unknown field, dropped)
        _fail(where, f"tensor {t.name!r} ({label(loc)}) has external data entries but is not marked as stored externally")
    if t.HasField("raw_data"):
        need = _nbytes(t, count)
        if need is not None and _SUB_BYTE_BITS.get(t.data_type, 8) in (4, 8) and (size := len(t.raw_data)) != need:
            _fail(where, f"tensor {t.name!r} ({label(loc)}) holds {size} bytes for dims {list(t.dims)} ({need} expected)")
    return 0


# ----------------------------------------------------------------------------------------------
# the model


def _check_versions(model: onnx.ModelProto, where: str, functions: list[tuple[Where, onnx.FunctionProto]]) -> None:
    if not MIN_IR_VERSION <= model.ir_version <= onnx.IR_VERSION:
        _fail(where, f"IR version {model.ir_version} is not supported (expected {MIN_IR_VERSION}..{onnx.IR_VERSION}: "
              f"older versions have no opset imports, newer ones are unknown to this onnx package)")
    known = onnx.defs.C.schema_version_map()
    newest = onnx.defs.onnx_opset_version()
    for loc, fn in functions:
        for op in fn.opset_import:
            if op.version < 1:
                _fail(where, f"{label(loc)} ({fn.name!r}) imports domain {op.domain or 'ai.onnx'!r} at version {op.version} (versions start at 1)")
    seen: set[str] = set()
    for op in model.opset_import:
        domain = "" if op.domain in ("", "ai.onnx") else op.domain
        if domain in seen:
            _fail(where, f"domain {op.domain or 'ai.onnx'!r} is imported twice")
        seen.add(domain)
        if domain == "":
            if not MIN_OPSET <= op.version <= newest:
                _fail(where, f"default-domain opset {op.version} is not supported (ONNX Runtime runs {MIN_OPSET}..{newest})")
        elif op.version < 1 or (domain in known and op.version > known[domain][1]):
            top = f"{known[domain][1]}" if domain in known else "any"
            _fail(where, f"opset {op.version} of domain {op.domain!r} is not supported (expected 1..{top})")


def _check_value_info(vi: onnx.ValueInfoProto, where: str, role: str) -> None:
    if not vi.type.HasField("tensor_type") or not vi.type.tensor_type.HasField("shape"):
        return
    for d in vi.type.tensor_type.shape.dim:
        if d.HasField("dim_value") and (d.dim_value < 0 or d.dim_value > MAX_DIM):
            _fail(where, f"{role} {vi.name!r} has an absurd size {d.dim_value}")


def _check_not_ort_format(model: onnx.ModelProto, where: str) -> None:
    """ONNX Runtime takes bytes with ``ORTM`` at 4..8 for its flatbuffer format: refuse a model that serializes so."""
    head = onnx.ModelProto()
    for f in onnx.ModelProto.DESCRIPTOR.fields:  # the leading scalar fields decide the first bytes
        if f.number < onnx.ModelProto.GRAPH_FIELD_NUMBER and model.HasField(f.name):
            setattr(head, f.name, getattr(model, f.name))
    first = head.SerializeToString()
    # with 3..7 bytes of head, the graph's tag (':') lands in bytes 4..8, which then cannot spell 'ORTM'; with only
    # ir_version (2 bytes), the graph's length follows, and a length of 2**14 or more puts a continuation byte at 4
    if len(first) == 2 and not _graph_at_least(model.graph, 1 << 14):
        graph = model.graph.SerializeToString()  # a small graph: cheap
        first += b":" + _varint(len(graph)) + graph[:8]
    if first[4:8] == b"ORTM":
        _fail(where, "its bytes would be read by ONNX Runtime as an ORT-format model (its header spells 'ORTM')")


def _graph_at_least(graph: onnx.GraphProto, size: int) -> bool:
    """Whether ``graph`` serializes to ``size`` bytes or more, from a cheap lower bound (no serialization)."""
    n = 2 * (len(graph.node) + len(graph.initializer) + len(graph.input) + len(graph.output) + len(graph.value_info))
    for t in graph.initializer:  # raw_data matches the dims (checked before), typed data takes a byte a value at least
        if n >= size:
            break
        if t.HasField("raw_data"):
            if _SUB_BYTE_BITS.get(t.data_type, 8) in (4, 8):  # the widths whose raw bytes were checked
                n += _nbytes(t, int(np.prod(t.dims, dtype=np.int64)) if len(t.dims) else 1) or 0
        else:
            n += sum(len(getattr(t, f)) for f in _TYPED_FIELDS)
    return n >= size


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def check_model_safety(model: onnx.ModelProto, path: str | os.PathLike[str] | None = None) -> int:
    """Refuse a model whose external data, sizes or versions are unsafe (see the module docstring).

    Nothing is opened: external data entries are checked as written (a relative
    path inside the folder, a length that matches the dims) and their total
    against the memory budget; :func:`load_external_data` opens and checks the files.

    Parameters
    ----------
    model : onnx.ModelProto
    path : path-like, optional
        Where it was read from (its folder anchors external data); without it,
        external data is refused.

    Returns
    -------
    int
        The bytes its external tensors will read (0: none is external).

    Raises
    ------
    ValueError
        Naming the file, the tensor or value (and where it sits), and what is wrong;
        :class:`graphc.export.budget.BudgetError` when the external data is over the budget.
    """
    where = str(path) if path is not None else "model"
    functions: list[tuple[Where, Any]] = []
    total = 0
    for loc, msg in walk(model, _TENSOR, _GRAPH, _FUNCTION):  # one walk over the whole model
        kind = msg.DESCRIPTOR.full_name
        if kind == _TENSOR:
            total += _check_tensor(msg, loc, where, path is not None)
        elif kind == _GRAPH:
            for vi in msg.input:
                _check_value_info(vi, where, "input")
            for vi in msg.output:
                _check_value_info(vi, where, "output")
        else:
            functions.append((loc, msg))
    _check_versions(model, where, functions)
    _check_not_ort_format(model, where)
    if total:
        check_bytes(total, f"{where}: the external data of its tensors")
    return total


# ----------------------------------------------------------------------------------------------
# reading external data: one open per file, relative to the model's folder, no link followed


def open_folder(folder: str | os.PathLike[str]) -> int:
    """A file descriptor of ``folder`` (the caller closes it); external data is opened relative to it."""
    flags = os.O_RDONLY | _CLOEXEC | getattr(os, "O_DIRECTORY", 0)
    return os.open(os.fspath(folder) or ".", flags)


def read_exact(fd: int, nbytes: int, offset: int, what: str) -> bytes:
    """Exactly ``nbytes`` from ``fd`` at ``offset``; ValueError naming ``what`` if the file ends first."""
    chunks: list[bytes] = []
    got = 0
    while got < nbytes:
        if hasattr(os, "pread"):
            chunk = os.pread(fd, min(nbytes - got, 1 << 30), offset + got)
        else:  # pragma: no cover - Windows
            os.lseek(fd, offset + got, os.SEEK_SET)
            chunk = os.read(fd, min(nbytes - got, 1 << 30))
        if not chunk:
            raise ValueError(f"{what}: the file ended after {got} of {nbytes} bytes (it changed while being read)")
        chunks.append(chunk)
        got += len(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _open_relative(folder_fd: int, folder: Path, parts: list[str], name: str, where: str) -> int:
    """Open ``parts`` under the folder, one component at a time, refusing links and non-folders on the way."""
    location = "/".join(parts)
    if not _DIR_FD:  # no dir_fd (Windows): refuse links, then compare the opened file with the path
        target = folder.joinpath(*parts)
        for k in range(1, len(parts) + 1):
            if folder.joinpath(*parts[:k]).is_symlink():
                _fail(where, f"{name}: its external data path {location!r} passes through a symbolic link (links are refused)")
        try:
            fd = os.open(target, os.O_RDONLY | _BINARY)
        except FileNotFoundError:
            _fail(where, f"{name}: its external data file {location!r} does not exist")
        except OSError as exc:
            _fail(where, f"{name}: cannot open its external data file {location!r} ({exc.strerror})")
        try:
            before = os.stat(target, follow_symlinks=False)
        except OSError:
            before = None
        after = os.fstat(fd)
        if before is None or (before.st_dev, before.st_ino) != (after.st_dev, after.st_ino):
            os.close(fd)
            _fail(where, f"{name}: its external data file {location!r} changed while being opened")
        return fd
    current = folder_fd
    try:
        for k, part in enumerate(parts):
            last = k == len(parts) - 1
            flags = os.O_RDONLY | os.O_NOFOLLOW | _CLOEXEC | (_NONBLOCK if last else os.O_DIRECTORY)
            try:
                fd = os.open(part, flags, dir_fd=current)
            except FileNotFoundError:
                _fail(where, f"{name}: its external data file {location!r} does not exist")
            except OSError as exc:
                try:
                    link = stat.S_ISLNK(os.stat(part, dir_fd=current, follow_symlinks=False).st_mode)
                except OSError:
                    link = False
                here = "/".join(parts[: k + 1])
                if link or exc.errno == errno.ELOOP:
                    _fail(where, f"{name}: its external data path {location!r} passes through a symbolic link "
                          f"({here!r}; links are refused, wherever they point)")
                if exc.errno == errno.ENOTDIR:
                    _fail(where, f"{name}: its external data path {location!r}: {here!r} is not a folder (links to one are refused)")
                _fail(where, f"{name}: cannot open its external data file {location!r} ({exc.strerror})")
            if current != folder_fd:
                os.close(current)
            current = fd
        return current
    except BaseException:
        if current != folder_fd:
            os.close(current)
        raise


def _read_tensor(folder_fd: int, folder: Path, t: TensorProto, loc: Where, where: str) -> bytes:
    parts, offset, need = _external_entry(t, loc, where, _count(t, loc, where))
    name = f"tensor {t.name!r} ({label(loc)})"
    location = "/".join(parts)
    fd = _open_relative(folder_fd, folder, parts, name, where)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            _fail(where, f"{name}: its external data {location!r} is not a regular file")
        if offset + need > info.st_size:
            _fail(where, f"{name}: byte range {offset}+{need} lies past the end of {location!r} ({info.st_size} bytes)")
        return read_exact(fd, need, offset, f"{where}: {name}: {location!r}")
    finally:
        os.close(fd)


def load_external_data(
    model: onnx.ModelProto, path: str | os.PathLike[str], *, folder_fd: int | None = None
) -> None:
    """Read every externally stored tensor into the model, from the model's folder only.

    Each file is opened once, relative to the folder (``folder_fd``, else the
    folder of ``path`` opened here), one path component at a time without
    following links; it must be a regular file holding the tensor's bytes.
    Run :func:`check_model_safety` first (the budget and the other checks);
    afterwards no tensor of the model is external (:func:`assert_no_external_data`).

    Parameters
    ----------
    model : onnx.ModelProto
        Changed in place: external tensors get their bytes as ``raw_data``.
    path : path-like
        The model's file (its name is used in messages, its folder anchors the data).
    folder_fd : int, optional
        An open descriptor of the model's folder (:func:`open_folder`), so the
        folder whose model was read is the one whose data is read.

    Raises
    ------
    ValueError
        Naming the file, the tensor and the problem (outside the folder, a
        link, a missing or short file, a length that does not match the dims).
    """
    where = str(path)
    folder = Path(path).parent
    external = [(loc, t) for loc, t in walk(model, _TENSOR) if t.data_location == TensorProto.EXTERNAL]
    if external:
        total = sum(_external_entry(t, loc, where, _count(t, loc, where))[2] for loc, t in external)
        check_bytes(total, f"{where}: the external data of its tensors")
        own = folder_fd is None and _DIR_FD
        fd = open_folder(folder) if own else (folder_fd if folder_fd is not None else -1)  # -1: no dir_fd (Windows)
        try:
            for loc, t in external:
                data = _read_tensor(fd, folder, t, loc, where)
                t.raw_data = data
                del t.external_data[:]
                t.data_location = TensorProto.DEFAULT
        finally:
            if own:
                os.close(fd)
    assert_no_external_data(model, where)


def assert_no_external_data(model: onnx.ModelProto, where: str = "model") -> None:
    """Refuse ``model`` if any tensor still refers to an external file (ONNX Runtime would read it from the working folder).

    Raises
    ------
    ValueError
        Naming the tensor and where it sits.
    """
    for loc, t in walk(model, _TENSOR):
        if t.data_location != TensorProto.DEFAULT or len(t.external_data):
            _fail(where, f"tensor {t.name!r} ({label(loc)}) still refers to external data after loading")
