"""Model inputs for ``graphc check``, ``run`` and ``bench``: what a model wants, arrays from files, random data."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import CLIError

__all__ = ["InputSpec", "input_specs", "split_assignment", "parse_dims", "read_inputs", "random_inputs", "check_inputs"]

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


def _load_array(path: Path, what: str) -> Any:
    if not path.is_file():
        raise CLIError(f"{what}: no such file {path}")
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise CLIError(f"{what}: {path} is not a .npy/.npz array file ({exc})") from None


def read_inputs(items: list[str] | None) -> dict[str, np.ndarray]:
    """Arrays from ``--input name=file.npy`` and ``--input file.npz`` (every array in it, by name).

    Raises
    ------
    CLIError
        For a missing or unreadable file, or an input given twice.
    """
    arrays: dict[str, np.ndarray] = {}

    def put(name: str, value: np.ndarray) -> None:
        if name in arrays:
            raise CLIError(f"input {name!r} is given twice")
        arrays[name] = value

    for item in items or []:
        name, sep, file = item.partition("=")
        if sep:
            data = _load_array(Path(file), f"--input {name}")
            if not isinstance(data, np.ndarray):
                data.close()
                raise CLIError(f"--input {name}: {file} holds several arrays; give it without NAME= to feed them by name")
            put(name, data)
        else:
            data = _load_array(Path(item), "--input")
            if isinstance(data, np.ndarray):
                raise CLIError(f"--input {item}: a single .npy array needs a name: --input NAME={item}")
            with data:
                for key in data.files:
                    put(key, np.array(data[key]))
    return arrays


def check_inputs(specs: list[InputSpec], arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Check names, ranks, static sizes and dtypes of ``arrays`` against the model's inputs.

    Values of another numeric dtype of the same kind (float64 for float32, int32 for int64)
    are converted; anything else is an error.

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
        if a.dtype != spec.dtype:
            if a.dtype.kind != spec.dtype.kind and not (a.dtype.kind in "iu" and spec.dtype.kind in "iu"):
                raise CLIError(f"input {spec.name!r} has dtype {a.dtype}; the model expects {spec.dtype}")
            a = a.astype(spec.dtype)
        fed[spec.name] = a
    return fed


def random_inputs(specs: list[InputSpec], sizes: dict[str, int], seed: int = 0) -> dict[str, np.ndarray]:
    """Random data for every input: floats ~ N(0, 1), ints 0 (safe as indices), bools False.

    Dynamic dims take their size from ``sizes`` (by name), else :data:`DEFAULT_DYNAMIC_SIZE`.

    Raises
    ------
    CLIError
        For a size named in ``sizes`` that no input has.
    """
    names = {d for s in specs for d in s.dims if isinstance(d, str)}
    stray = sorted(set(sizes) - names)
    if stray:
        raise CLIError(f"--dim names {stray} match no dynamic dimension; the model's are {sorted(names) or 'none'}")
    rng = np.random.default_rng(seed)
    out = {}
    for s in specs:
        shape = tuple(d if isinstance(d, int) and d > 0 else sizes.get(d, DEFAULT_DYNAMIC_SIZE) if isinstance(d, str) else DEFAULT_DYNAMIC_SIZE for d in s.dims)
        if s.dtype.kind == "f":
            out[s.name] = rng.normal(size=shape).astype(s.dtype)
        else:
            out[s.name] = np.zeros(shape, dtype=s.dtype)
    return out


def output_path(path: str | os.PathLike[str]) -> Path:
    """Where ``--output`` writes: the folder must exist."""
    p = Path(path)
    folder = p.parent if str(p.parent) else Path(".")
    if not folder.is_dir():
        raise CLIError(f"--output: folder {folder} does not exist")
    return p
