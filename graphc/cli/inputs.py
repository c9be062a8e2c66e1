"""Model inputs for ``graphc check``, ``run`` and ``bench``: what a model wants, arrays from files, random data."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import CLIError

__all__ = ["InputSpec", "input_specs", "split_assignment", "parse_dims", "read_inputs", "random_inputs", "check_inputs", "recurrent_ops"]

DEFAULT_DYNAMIC_SIZE = 2


@dataclass(frozen=True)
class InputSpec:
    """One graph input: name, numpy dtype and dims (ints, or names of dynamic dims, or None)."""

    name: str
    dtype: np.dtype
    dims: tuple[int | str | None, ...]

    def describe(self) -> str:
        shown = ", ".join("?" if d is None else str(d) for d in self.dims)
        return f"{self.name}: {self.dtype} ({shown}{',' if len(self.dims) == 1 else ''})"


def input_specs(model: Any) -> list[InputSpec]:
    """The inputs a caller feeds (graph inputs that are not initializers).

    Raises
    ------
    CLIError
        For an input that is not a tensor of a numpy-representable dtype.
    """
    from onnx import helper

    inits = {t.name for t in model.graph.initializer}
    specs = []
    for vi in model.graph.input:
        if vi.name in inits:
            continue
        if not vi.type.HasField("tensor_type"):
            raise CLIError(f"input {vi.name!r} is not a tensor; graphc's commands feed tensors only")
        t = vi.type.tensor_type
        try:
            dtype = np.dtype(helper.tensor_dtype_to_np_dtype(t.elem_type))
        except (KeyError, ValueError, TypeError):
            raise CLIError(f"input {vi.name!r} has ONNX element type {t.elem_type}, which numpy cannot hold") from None
        dims: list[int | str | None] = []
        for d in t.shape.dim if t.HasField("shape") else []:
            dims.append(d.dim_value if d.HasField("dim_value") else (d.dim_param or None))
        specs.append(InputSpec(vi.name, dtype, tuple(dims)))
    return specs


def split_assignment(item: str, expected: str) -> tuple[str, str]:
    """``'NAME=VALUE'`` -> ``('NAME', 'VALUE')``; ``expected`` is the option's form, for the error.

    Raises
    ------
    CLIError
        For an item without ``=`` or without a name.
    """
    name, sep, value = item.partition("=")
    if not sep or not name:
        raise CLIError(f"{expected}, got {item!r}")
    return name, value


def parse_dims(items: list[str] | None) -> dict[str, int]:
    """``['batch=4', 'x_dim1=20']`` -> sizes for dynamic dims (by their names).

    Raises
    ------
    CLIError
        For an item without ``=`` or a size that is not a positive integer.
    """
    sizes: dict[str, int] = {}
    for item in items or []:
        name, value = split_assignment(item, "--dim expects NAME=SIZE")
        try:
            size = int(value)
        except ValueError:
            raise CLIError(f"--dim {name}: the size must be an integer, got {value!r}") from None
        if size < 1:
            raise CLIError(f"--dim {name}: the size must be positive, got {size}")
        sizes[name] = size
    return sizes


def read_inputs(items: list[str] | None) -> dict[str, np.ndarray]:
    """Arrays from ``--input name=file.npy`` and ``--input file.npz`` (every array in it, by name).

    Files are read with :func:`graphc.export.arrays.read_array_file`: sizes are checked
    against the file and the memory budget (all inputs together) before anything is
    allocated, and Python objects are refused.

    Raises
    ------
    CLIError
        For a missing file, an input given twice, or an archive or array given the wrong way.
    ValueError
        For a file that is empty, truncated, damaged or not an array file (naming it).
    graphc.export.budget.BudgetError
        When the inputs would take more than the memory budget.
    """
    from ..export.arrays import read_array_file
    from ..export.budget import memory_budget

    arrays: dict[str, np.ndarray] = {}
    left = memory_budget()

    def put(name: str, value: np.ndarray) -> None:
        if name in arrays:
            raise CLIError(f"input {name!r} is given twice")
        arrays[name] = value

    def read(path: Path, what: str) -> np.ndarray | dict[str, np.ndarray]:
        nonlocal left
        try:
            data = read_array_file(path, what, budget=max(left, 0))
        except FileNotFoundError:
            raise CLIError(f"{what}: no such file {path}") from None
        for a in data.values() if isinstance(data, dict) else [data]:
            left -= a.nbytes
        return data

    for item in items or []:
        name, sep, file = item.partition("=")
        if sep:
            data = read(Path(file), f"--input {name}")
            if isinstance(data, dict):
                raise CLIError(f"--input {name}: {file} holds several arrays; give it without NAME= to feed them by name")
            put(name, data)
        else:
            data = read(Path(item), "--input")
            if not isinstance(data, dict):
                raise CLIError(f"--input {item}: a single .npy array needs a name: --input NAME={item}")
            for key, value in data.items():
                put(key, value)
    return arrays


_RECURRENT_OPS = ("Scan", "LSTM", "GRU", "RNN")


def recurrent_ops(model: Any) -> list[str]:
    """The recurrent ONNX ops (``Scan``, ``LSTM``, ``GRU``, ``RNN``) anywhere in ``model``, its subgraphs included."""
    import onnx

    from ..export.walk import iter_messages

    found = {n.op_type for _, g in iter_messages(model, onnx.GraphProto) for n in g.node if n.op_type in _RECURRENT_OPS}
    return sorted(found)


def check_inputs(specs: list[InputSpec], arrays: dict[str, np.ndarray], recurrent: Sequence[str] = ()) -> dict[str, np.ndarray]:
    """Check names, ranks, static sizes and dtypes of ``arrays`` against the model's inputs.

    For a model running ``recurrent`` ops (:func:`recurrent_ops`), an input with an axis of
    length 0 is refused: ONNX Runtime's ``Scan`` rejects an empty sequence deep inside the
    run, and its ``GRU`` kernel aborts the whole process.

    Values of another numeric dtype of the same kind (float64 for float32, int32 for int64),
    floats for ``bfloat16``/``float8`` inputs and numpy text for string inputs are converted;
    anything else is an error.

    Raises
    ------
    CLIError
        Naming the input and what the model expects.
    """
    by_name = {s.name: s for s in specs}
    unknown = sorted(set(arrays) - set(by_name))
    if unknown:
        raise CLIError(f"unknown input(s) {unknown}; the model's inputs are {[s.describe() for s in specs]}")
    missing = [s.describe() for s in specs if s.name not in arrays]
    if missing:
        raise CLIError(f"missing input(s): {missing}")
    fed: dict[str, np.ndarray] = {}
    for spec in specs:
        a = np.asarray(arrays[spec.name])
        if a.ndim != len(spec.dims):
            raise CLIError(f"input {spec.name!r} has shape {a.shape}; the model expects {len(spec.dims)} dimensions: {spec.describe()}")
        for axis, (size, want) in enumerate(zip(a.shape, spec.dims)):
            if isinstance(want, int) and want > 0 and size != want:
                raise CLIError(f"input {spec.name!r} has shape {a.shape}; axis {axis} must be {want}: {spec.describe()}")
        if spec.dtype.kind == "O" and a.dtype.kind in "US":  # numpy's fixed-width text feeds a string input
            a = np.vectorize(lambda t: t.decode("utf-8", "replace") if isinstance(t, bytes) else str(t), otypes=[object])(a)
        elif a.dtype != spec.dtype:
            from .dtypes import is_ml_float

            ints = a.dtype.kind in "iu" and spec.dtype.kind in "iu"
            floats = a.dtype.kind == "f" and is_ml_float(spec.dtype)  # bfloat16, float8: given as float32
            if a.dtype.kind != spec.dtype.kind and not ints and not floats:
                raise CLIError(f"input {spec.name!r} has dtype {a.dtype}; the model expects {spec.dtype}")
            a = a.astype(spec.dtype)
        if recurrent and 0 in a.shape:
            raise CLIError(
                f"input {spec.name!r} has shape {a.shape}, with an axis of length 0; the model runs "
                f"{', '.join(recurrent)}, which cannot run on empty sequences: give at least one step and one example"
            )
        fed[spec.name] = a
    return fed


def random_inputs(specs: list[InputSpec], sizes: dict[str, int], seed: int = 0) -> dict[str, np.ndarray]:
    """Random data for every input (see :func:`graphc.cli.dtypes.random_array`): floats ~ N(0, 1),
    strings random words, ints 0 (safe as indices), bools False.

    Dynamic dims take their size from ``sizes`` (by name), else :data:`DEFAULT_DYNAMIC_SIZE`.
    Every input's size is checked against the memory budget before anything is drawn.

    Raises
    ------
    CLIError
        For a size named in ``sizes`` that no input has.
    graphc.export.budget.BudgetError
        For inputs over the memory budget, naming the input, its shape and the ``--dim`` that set it.
    """
    from ..export.budget import check_bytes
    from .dtypes import random_array
    from .limits import check_input_memory, element_bytes

    names = {d for s in specs for d in s.dims if isinstance(d, str)}
    stray = sorted(set(sizes) - names)
    if stray:
        raise CLIError(f"--dim names {stray} match no dynamic dimension; the model's are {sorted(names) or 'none'}")
    shapes = {}
    for s in specs:
        shape = tuple(d if isinstance(d, int) and d > 0 else sizes.get(d, DEFAULT_DYNAMIC_SIZE) if isinstance(d, str) else DEFAULT_DYNAMIC_SIZE for d in s.dims)
        given = [f"--dim {d}={sizes[d]}" for d in dict.fromkeys(s.dims) if isinstance(d, str) and d in sizes]
        check_input_memory(s.name, shape, s.dtype, f"; with {', '.join(given)}" if given else "")
        shapes[s.name] = shape
    total = sum(math.prod(shapes[s.name]) * element_bytes(s.dtype) for s in specs)
    if len(specs) > 1:
        check_bytes(total, f"the {len(specs)} random inputs together ({', '.join(f'{k}{v}' for k, v in shapes.items())})")
    rng = np.random.default_rng(seed)
    return {s.name: random_array(rng, shapes[s.name], s.dtype) for s in specs}


def output_path(path: str | os.PathLike[str]) -> Path:
    """Where ``--output`` writes: the folder must exist, and the path must be a regular file (or none yet),
    or a link to one (checked before the model runs; see :func:`graphc.export.atomic.atomic_write_bytes`).

    Raises
    ------
    CLIError
        For a folder that does not exist.
    graphc.export.atomic.SpecialFileError
        For a device, FIFO, socket, directory, dangling link or loop of links at ``path``.
    """
    from ..export.atomic import check_writable

    p = Path(path)
    folder = p.parent if str(p.parent) else Path(".")
    if not folder.is_dir():
        raise CLIError(f"--output: folder {folder} does not exist")
    check_writable(p)
    return p
