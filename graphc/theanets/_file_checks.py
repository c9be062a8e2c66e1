"""Checks shared by the readers of network files and training checkpoints.

Both are ``.npz`` archives written by graphc: parameter arrays plus a JSON description
stored as UTF-8 bytes.  A file may be damaged or hostile, so everything it holds is
checked before it is used: the archive is read by :func:`graphc.export.arrays.read_npz`
(sizes checked against the memory budget before anything inflates), the description is
parsed with bounded size and nesting (no ``RecursionError``), and every field and array is
checked for type, range, dtype, shape and finiteness.  Every problem is one ``ValueError``
that names the file (``FileNotFoundError`` for a missing path).
"""

from __future__ import annotations

import json
import math
import os
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

import numpy as np

from ..export.arrays import read_npz
from ..export.budget import BudgetError

__all__ = [
    "FileContentError",
    "MAX_DESCRIPTION_BYTES",
    "MAX_NESTING",
    "read_archive",
    "read_description",
    "check_keys",
    "need",
    "is_int",
    "is_number",
    "nonnegative_int",
    "to_values",
    "require_finite",
    "finite_float",
]

MAX_DESCRIPTION_BYTES = 8 << 20
"""The largest JSON description a network file or checkpoint may hold (8 MiB; real ones take a few KiB)."""

MAX_NESTING = 32
"""The deepest nesting of lists and objects a JSON description may have (real ones nest 4 deep)."""

MAX_INT = (1 << 63) - 1


class FileContentError(ValueError):
    """A file's content is wrong; the message names the file and what is wrong."""


def is_int(value: Any) -> bool:
    """Whether ``value`` is an int (not a bool) as JSON gives it."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """Whether ``value`` is an int or a float (not a bool)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def need(ok: bool, where: str, field: str, expected: str, value: Any) -> None:
    """Raise :class:`FileContentError` ``'<where>: <field> must be <expected>, got <value>'`` unless ``ok``."""
    if not ok:
        raise FileContentError(f"{where}: {field} must be {expected}, got {_show(value)}")


def nonnegative_int(value: Any, where: str, field: str) -> int:
    """``value`` as an int in ``[0, 2**63)``, or a :class:`FileContentError`."""
    need(is_int(value) and 0 <= value <= MAX_INT, where, field, "a non-negative integer", value)
    return int(value)


def check_keys(obj: Any, where: str, what: str, required: Sequence[str], optional: Sequence[str] = ()) -> None:
    """``obj`` must be a JSON object holding every key of ``required`` and no key outside ``required + optional``."""
    need(isinstance(obj, dict), where, what, "a JSON object", obj)
    missing = [k for k in required if k not in obj]
    if missing:
        raise FileContentError(f"{where}: {what} lacks the field(s) {missing}")
    unknown = sorted(str(k) for k in obj if k not in required and k not in optional)
    if unknown:
        raise FileContentError(
            f"{where}: {what} has unknown field(s) {unknown}; known fields are {sorted([*required, *optional])}"
        )


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)


def _nesting(text: str) -> int:
    """The deepest nesting of ``[`` and ``{`` outside JSON strings (iterative: no recursion)."""
    codes = np.frombuffer(_STRING.sub('""', text).encode("utf-8"), dtype=np.uint8)
    if not codes.size:
        return 0
    step = np.isin(codes, (ord("["), ord("{"))).astype(np.int64) - np.isin(codes, (ord("]"), ord("}")))
    return int(np.cumsum(step).max())


def read_description(arrays: Mapping[str, np.ndarray], key: str, where: str, what: str) -> dict[str, Any]:
    """The JSON object stored as UTF-8 bytes under ``key``, parsed with bounded size and nesting.

    Parameters
    ----------
    arrays : mapping
        The archive's arrays.
    key : str
        The entry holding the description.
    where : str
        The file, for messages.
    what : str
        ``'model'`` or ``'training'``, for messages.

    Raises
    ------
    FileContentError
        For a missing entry, an entry that is not 1-d uint8 bytes, a description over
        :data:`MAX_DESCRIPTION_BYTES` or nested deeper than :data:`MAX_NESTING`, text that
        is not UTF-8 or not JSON, or JSON that is not an object.
    """
    raw = arrays.get(key)
    if raw is None:
        kind = "model file" if what == "model" else "training checkpoint"
        raise FileContentError(f"{where} is not a graphc {kind} (no {key!r} entry)")
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise FileContentError(
            f"{where}: the {what} description {key!r} must be UTF-8 bytes (a 1-d uint8 array), "
            f"got {raw.dtype} of shape {raw.shape}"
        )
    if raw.size > MAX_DESCRIPTION_BYTES:
        raise FileContentError(
            f"{where}: the {what} description takes {raw.size} bytes, over the limit of {MAX_DESCRIPTION_BYTES}"
        )
    try:
        text = raw.tobytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FileContentError(f"{where}: the {what} description is not valid UTF-8 text: {exc}") from None
    depth = _nesting(text)
    if depth > MAX_NESTING:
        raise FileContentError(
            f"{where}: the {what} description nests {depth} levels deep, over the limit of {MAX_NESTING}"
        )
    try:
        desc = json.loads(text)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError, as is a too-long int
        raise FileContentError(f"{where}: the {what} description is not valid JSON: {exc}") from None
    need(isinstance(desc, dict), where, f"the {what} description", "a JSON object", desc)
    return desc


def read_archive(
    path: str | os.PathLike[str],
    kind: str,
    expect: Callable[[str, tuple[int, ...], np.dtype], None] | None = None,
    only: Collection[str] | None = None,
) -> dict[str, np.ndarray]:
    """The arrays of the ``.npz`` at ``path``, read by :func:`graphc.export.arrays.read_npz`.

    Parameters
    ----------
    path : path-like
    kind : str
        What the file should be (``'graphc model file'``), for messages.
    expect : callable, optional
        ``expect(name, shape, dtype)``, called for every array before any data is read; it
        raises :class:`FileContentError` to refuse the file.
    only : collection of str, optional
        Read just these arrays (``expect`` still sees every array's header).

    Raises
    ------
    FileNotFoundError
        For a path with no file.
    graphc.export.budget.BudgetError
        When the arrays would take more than the memory budget (nothing is inflated).
    ValueError
        ``'<path> is not a <kind>: <why>'`` for an empty, truncated or damaged file, or one
        that is not an ``.npz`` archive of numeric arrays.
    """
    where = os.fspath(path)
    try:
        return read_npz(path, expect=expect, only=only)
    except FileContentError:
        raise
    except BudgetError as exc:
        raise BudgetError(str(exc) if where in str(exc) else f"{where}: {exc}") from None
    except FileNotFoundError:
        raise
    except ValueError as exc:
        text = str(exc)
        for prefix in (f"{where} is not a .npy/.npz array file: ", f"{where} "):
            if text.startswith(prefix):
                text = text[len(prefix) :]
                break
        raise FileContentError(f"{where} is not a {kind}: {text}") from None
    except (OSError, EOFError, NotImplementedError, zipfile.BadZipFile, zlib.error, struct.error) as exc:
        # what zipfile raises for a damaged archive, should the reader let one through
        raise FileContentError(f"{where} is not a {kind}: {type(exc).__name__}: {exc}") from None


def to_values(arr: np.ndarray, dtype: Any, shape: tuple[int, ...], where: str, label: str) -> np.ndarray:
    """``arr`` as values of ``dtype`` and ``shape`` for a variable, checked (not yet finite: see :func:`require_finite`).

    Raises
    ------
    FileContentError
        For a non-numeric dtype, a dtype that does not cast to ``dtype`` by kind (floats
        into an integer variable), integers out of range, or another shape.
    """
    target = np.dtype(dtype)
    if arr.dtype.kind not in "biuf":
        raise FileContentError(f"{where}: {label} holds {arr.dtype} values; expected numbers ({target})")
    if tuple(arr.shape) != tuple(shape):
        raise FileContentError(f"{where}: {label} has shape {tuple(arr.shape)} in the file, expected {tuple(shape)}")
    if arr.dtype != target:
        if not np.can_cast(arr.dtype, target, "same_kind"):
            raise FileContentError(f"{where}: {label} holds {arr.dtype} values, which do not convert to {target}")
        if target.kind in "iu" and arr.size:
            info = np.iinfo(target)
            if arr.min() < info.min or arr.max() > info.max:
                raise FileContentError(f"{where}: {label} holds values outside the range of {target}")
        with np.errstate(over="ignore"):
            arr = arr.astype(target)
    return arr if arr.flags.c_contiguous else np.array(arr, order="C")  # ascontiguousarray makes 0-d arrays 1-d


def require_finite(arr: np.ndarray, where: str, label: str) -> None:
    """Raise :class:`FileContentError` when the float array ``arr`` holds NaN or infinite values."""
    if arr.dtype.kind != "f" or not arr.size:
        return
    finite = np.isfinite(arr)
    if not finite.all():
        bad = int(arr.size - np.count_nonzero(finite))
        first = tuple(int(i) for i in np.argwhere(~finite)[0])
        raise FileContentError(
            f"{where}: {label} holds {bad} non-finite value(s) (NaN or infinite; the first at index {first}, "
            f"{arr[first]}); only finite values are accepted"
        )


def finite_float(value: Any) -> bool:
    """Whether ``value`` is an int or float that is finite."""
    return is_number(value) and math.isfinite(value)
