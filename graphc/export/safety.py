"""Refusing hostile or broken ONNX files before anything reads their data.

:func:`graphc.export.load` (and so every ``graphc`` command) runs
:func:`check_model_safety` on every model it parses:

- **external data** (tensors stored beside the model) must live in the model's
  folder: a location that is absolute, climbs out with ``..``, or resolves
  (through links) outside the folder is refused, as is a missing file or a
  byte range past its end;
- **sizes**: a tensor whose dims are negative or whose element count is absurd
  (over :data:`MAX_ELEMENTS`), whose stored bytes do not match its dims, or a
  graph input or output with a negative or absurd dim is refused;
- **versions**: an IR version or a default-domain opset newer than this onnx
  package knows, or older than ONNX Runtime runs, is refused.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper

__all__ = ["check_model_safety", "load_external_data", "MAX_ELEMENTS", "MAX_DIM", "MIN_OPSET"]

MAX_ELEMENTS = 1 << 34
"""The most elements one tensor may claim (16 Gi: 64 GiB of float32)."""
MAX_DIM = 1 << 40
"""The largest size a graph input or output may give one axis."""
MIN_OPSET = 7
"""The oldest default-domain opset ONNX Runtime runs."""


def _fail(path: str, why: str) -> None:
    raise ValueError(f"{path}: refused: {why}")


def _tensors(graph: onnx.GraphProto) -> Any:
    """Every tensor stored in ``graph`` and its subgraphs: initializers and tensor attributes."""
    for g in _graphs(graph):
        yield from g.initializer
        for node in g.node:
            for attr in node.attribute:
                if attr.HasField("t"):
                    yield attr.t
                yield from attr.tensors


def _graphs(graph: onnx.GraphProto) -> Any:
    yield graph
    for node in graph.node:
        for attr in node.attribute:
            if attr.HasField("g"):
                yield from _graphs(attr.g)
            for g in attr.graphs:
                yield from _graphs(g)


def _external(t: TensorProto) -> dict[str, str]:
    return {e.key: e.value for e in t.external_data}


def _resolve_external(t: TensorProto, folder: Path, where: str) -> tuple[Path, int, int | None]:
    info = _external(t)
    location = info.get("location", "")
    if not location:
        _fail(where, f"tensor {t.name!r} is stored externally but names no file")
    rel = Path(location)
    if rel.is_absolute() or location.startswith(("/", "\\")) or ".." in rel.parts or (len(location) > 1 and location[1] == ":"):
        _fail(where, f"tensor {t.name!r} points outside the model's folder ({location!r})")
    root = folder.resolve()
    target = (root / rel).resolve()
    if target != root and root not in target.parents:
        _fail(where, f"tensor {t.name!r} points outside the model's folder ({location!r} resolves to {target})")
    if not target.is_file():
        _fail(where, f"tensor {t.name!r}: its external data file {location!r} does not exist")
    try:
        offset = int(info.get("offset", "0"))
        length = int(info["length"]) if "length" in info else None
    except ValueError:
        _fail(where, f"tensor {t.name!r}: bad offset/length in its external data entry")
    size = target.stat().st_size
    if offset < 0 or (length is not None and length < 0) or offset + (length or 0) > size:
        _fail(where, f"tensor {t.name!r}: byte range {offset}+{length} lies past the end of {location!r} ({size} bytes)")
    return target, offset, length


def _check_tensor(t: TensorProto, folder: Path | None, where: str) -> None:
    if any(d < 0 for d in t.dims):
        _fail(where, f"tensor {t.name!r} has a negative dimension {list(t.dims)}")
    count = 1
    for d in t.dims:
        count *= int(d)
        if count > MAX_ELEMENTS:
            _fail(where, f"tensor {t.name!r} claims {list(t.dims)} elements, over the limit of {MAX_ELEMENTS}")
    if t.data_location == TensorProto.EXTERNAL:
        if folder is None:
            _fail(where, f"tensor {t.name!r} is stored in an external file, but the model was not read from a folder")
        _resolve_external(t, folder, where)
        return
    if t.HasField("raw_data") and t.data_type not in (TensorProto.STRING, TensorProto.UNDEFINED):
        try:
            itemsize = np.dtype(helper.tensor_dtype_to_np_dtype(t.data_type)).itemsize
        except (KeyError, ValueError, TypeError):
            return
        if t.data_type in (TensorProto.INT4, TensorProto.UINT4):
            return  # packed two to a byte
        if len(t.raw_data) != count * itemsize:
            _fail(where, f"tensor {t.name!r} holds {len(t.raw_data)} bytes for dims {list(t.dims)} ({count * itemsize} expected)")


def _check_value_info(vi: onnx.ValueInfoProto, where: str, role: str) -> None:
    if not vi.type.HasField("tensor_type") or not vi.type.tensor_type.HasField("shape"):
        return
    for d in vi.type.tensor_type.shape.dim:
        if d.HasField("dim_value") and (d.dim_value < 0 or d.dim_value > MAX_DIM):
            _fail(where, f"{role} {vi.name!r} has an absurd size {d.dim_value}")


def check_model_safety(model: onnx.ModelProto, path: str | os.PathLike[str] | None = None) -> None:
    """Refuse a model whose external data, sizes or versions are unsafe (see the module docstring).

    Parameters
    ----------
    model : onnx.ModelProto
    path : path-like, optional
        Where it was read from (its folder anchors external data).

    Raises
    ------
    ValueError
        Naming the file, the tensor or value, and what is wrong.
    """
    where = str(path) if path is not None else "model"
    folder = Path(path).parent if path is not None else None
    if model.ir_version > onnx.IR_VERSION:
        _fail(where, f"IR version {model.ir_version} is newer than this onnx package knows ({onnx.IR_VERSION})")
    newest = onnx.defs.onnx_opset_version()
    for op in model.opset_import:
        if op.domain in ("", "ai.onnx") and not MIN_OPSET <= op.version <= newest:
            _fail(where, f"default-domain opset {op.version} is not supported (ONNX Runtime runs {MIN_OPSET}..{newest})")
    for graph in _graphs(model.graph):
        for vi in graph.input:
            _check_value_info(vi, where, "input")
        for vi in graph.output:
            _check_value_info(vi, where, "output")
    for t in _tensors(model.graph):
        _check_tensor(t, folder, where)


def load_external_data(model: onnx.ModelProto, path: str | os.PathLike[str]) -> None:
    """Read every externally stored tensor into the model (after :func:`check_model_safety` approved it)."""
    folder = Path(path).parent
    where = str(path)
    for t in _tensors(model.graph):
        if t.data_location != TensorProto.EXTERNAL:
            continue
        target, offset, length = _resolve_external(t, folder, where)
        with open(target, "rb") as f:
            f.seek(offset)
            data = f.read() if length is None else f.read(length)
        t.raw_data = data
        del t.external_data[:]
        t.data_location = TensorProto.DEFAULT
        _check_tensor(t, None, where)
