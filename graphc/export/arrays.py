"""Reading ``.npy`` and ``.npz`` files that may be hostile: sizes checked before anything inflates.

``numpy.load`` trusts what a file says: a 100-byte ``.npy`` whose header claims 10^12
elements ends in a ``MemoryError``, a 1 MB ``.npz`` whose members inflate a thousandfold
fills the memory before the caller sees one array, and a truncated archive raises
``BadZipFile`` or ``EOFError`` without naming the file.  These readers

- open the file once and read only from that descriptor (a FIFO or a device is refused:
  reading one could block forever or never end);
- parse each array's header and the archive's directory, refuse object and void dtypes
  (unpickling runs code), and check every declared size against the bytes actually there
  and against the memory budget (:mod:`graphc.export.budget`) before allocating;
- never inflate more than a member declares;
- raise ``FileNotFoundError`` for a missing path, :class:`~graphc.export.budget.BudgetError`
  for a file over the budget, and ``ValueError`` naming the file for anything broken.
"""

from __future__ import annotations

import contextlib
import math
import os
import stat
import zipfile
import zlib
from collections.abc import Callable, Collection, Iterator
from typing import IO

import numpy as np

from .budget import check_bytes

__all__ = ["read_npy", "read_npz", "read_array_file", "Expect", "MAX_MEMBERS"]

MAX_MEMBERS = 100_000
"""The most arrays one ``.npz`` may hold."""

_NPY_MAGIC = b"\x93NUMPY"
_CHUNK = 1 << 22
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")


class _BadFileError(Exception):
    """Why a file is not a readable array file (turned into a ValueError naming the file)."""


def _open(path: str | os.PathLike[str], what: str) -> tuple[IO[bytes], int]:
    name = os.fspath(path)
    try:  # O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below
        fd = os.open(name, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise FileNotFoundError(f"{what}no such file {name}") from None
    except IsADirectoryError:
        raise ValueError(f"{what}{name} is a folder, not a .npy/.npz array file") from None
    except OSError as exc:
        raise ValueError(f"{what}cannot read {name}: {exc.strerror or exc}") from None
    st = os.fstat(fd)
    if stat.S_ISDIR(st.st_mode):
        os.close(fd)
        raise ValueError(f"{what}{name} is a folder, not a .npy/.npz array file")
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise ValueError(f"{what}{name} is not a regular file (a device, pipe or socket), so it is not read")
    if hasattr(os, "set_blocking"):
        os.set_blocking(fd, True)
    return os.fdopen(fd, "rb"), st.st_size


def _header(f: IO[bytes]) -> tuple[tuple[int, ...], bool, np.dtype]:
    """Shape, Fortran order and dtype from an ``.npy`` header, checked."""
    try:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        else:
            raise _BadFileError(f"unknown .npy format version {version}")
    except (_BadFileError, zipfile.BadZipFile, zlib.error):
        raise  # a damaged member is reported as such by _member
    except Exception as exc:  # numpy raises ValueError, EOFError, SyntaxError... for a broken header
        raise _BadFileError(f"its array header is broken: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    dtype = np.dtype(dtype)
    if dtype.hasobject or dtype.kind == "V" and dtype.fields is None:
        raise _BadFileError(f"it holds {dtype} data (Python objects or raw bytes), which is never loaded")
    if not all(isinstance(d, int) and d >= 0 for d in shape):
        raise _BadFileError(f"its header gives the shape {shape!r}")
    return tuple(shape), bool(fortran), dtype


def _read_array(f: IO[bytes], available: int, label: str, budget: int | None) -> np.ndarray:
    """One array from ``f``, which holds ``available`` bytes from here (header included)."""
    start = f.tell()
    shape, fortran, dtype = _header(f)
    count = math.prod(shape)
    nbytes = count * dtype.itemsize
    have = available - (f.tell() - start)
    if nbytes > have:
        raise _BadFileError(f"{label}: its header claims {shape} {dtype} ({nbytes} bytes) but only {max(have, 0)} bytes follow (truncated?)")
    check_bytes(nbytes, f"{label} of shape {shape} {dtype}", budget)
    buf = bytearray(nbytes)
    view = memoryview(buf)
    got = 0
    while got < nbytes:
        n = f.readinto(view[got : got + _CHUNK])  # in slices: a zip member would buffer the whole request
        if not n:
            raise _BadFileError(f"{label}: the data stops after {got} of {nbytes} bytes (truncated)")
        got += n
    arr = np.frombuffer(buf, dtype=dtype, count=count)
    return arr.reshape(shape[::-1]).transpose() if fortran else arr.reshape(shape)


Expect = Callable[[str, tuple[int, ...], np.dtype], None]
"""A check of one member's name, shape and dtype, called for every member before any data is read."""


def _npz(f: IO[bytes], name: str, budget: int | None, expect: Expect | None, only: Collection[str] | None) -> dict[str, np.ndarray]:
    try:
        archive = zipfile.ZipFile(f)
    except Exception as exc:  # BadZipFile, EOFError, NotImplementedError (a zip version it lacks)...
        raise _BadFileError(f"it is not a readable .npz archive ({type(exc).__name__}: {exc})") from None
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_MEMBERS:
            raise _BadFileError(f"it holds {len(infos)} members, over the limit of {MAX_MEMBERS}")
        names: list[str] = []
        seen: set[str] = set()
        for info in infos:
            if info.is_dir():
                raise _BadFileError(f"it holds a folder {info.filename!r}; an .npz holds only arrays")
            key = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
            if key in seen:
                raise _BadFileError(f"it holds the array {key!r} twice")
            seen.add(key)
            names.append(key)
        if expect is not None:
            for key, info in zip(names, infos):
                with _member(archive, info, key) as member:
                    shape, _, dtype = _header(member)
                expect(key, shape, dtype)
        if only is not None:
            infos = [i for k, i in zip(names, infos) if k in only]
            names = [k for k in names if k in only]
        check_bytes(sum(i.file_size for i in infos), f"the arrays of {name} (inflated)", budget)
        out: dict[str, np.ndarray] = {}
        for key, info in zip(names, infos):
            with _member(archive, info, key) as member:
                out[key] = _read_array(member, info.file_size, f"array {key!r}", budget)
                if member.read(1):
                    raise _BadFileError(f"array {key!r} has bytes after its data")
        return out


@contextlib.contextmanager
def _member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, key: str) -> Iterator[IO[bytes]]:
    """One member, opened; a damaged member's many exception types become one :class:`_BadFileError`."""
    try:
        with archive.open(info) as member:
            yield member
    except (_BadFileError, ValueError):  # ours (BudgetError too), and the caller's expect()
        raise
    except Exception as exc:  # BadZipFile, EOFError, zlib.error, NotImplementedError (a method zipfile lacks)...
        raise _BadFileError(f"array {key!r} cannot be inflated ({type(exc).__name__}: {exc})") from None


def read_array_file(
    path: str | os.PathLike[str],
    what: str = "",
    budget: int | None = None,
    expect: Expect | None = None,
    only: Collection[str] | None = None,
) -> np.ndarray | dict[str, np.ndarray]:
    """Read an ``.npy`` (an array) or ``.npz`` (a dict of arrays, in file order), whichever the file is.

    Parameters
    ----------
    path : path-like
    what : str
        What the file is for (``'--input x'``), put before the messages.
    budget : int, optional
        Bytes the arrays may take together; default :func:`graphc.export.budget.memory_budget`.
    expect : callable, optional
        ``expect(name, shape, dtype)`` for each array (name ``''`` for an ``.npy``), called
        for all of them (those ``only`` leaves out too) before any array's data is read; it
        raises to refuse the file (a ValueError it raises reaches the caller as it is).
    only : collection of str, optional
        Read just these members of an ``.npz`` (those it holds; the rest are not inflated),
        e.g. a description first, to know what the other members must be.

    Raises
    ------
    FileNotFoundError
        For a path with no file.
    graphc.export.budget.BudgetError
        When the arrays would take more than the budget (nothing is allocated).
    ValueError
        For a file that is empty, truncated, damaged, not an array file, holds Python
        objects, or is not a regular file; the message names the file.
    """
    prefix = f"{what}: " if what else ""
    name = os.fspath(path)
    f, size = _open(path, prefix)
    with f:
        try:
            magic = f.read(6)
            f.seek(0)
            if not magic:
                raise _BadFileError("the file is empty")
            if magic == _NPY_MAGIC:
                if expect is not None:
                    shape, _, dtype = _header(f)
                    expect("", shape, dtype)
                    f.seek(0)
                arr = _read_array(f, size, "the array", budget)
                if f.read(1):
                    raise _BadFileError("it has bytes after the array's data")
                return arr
            if magic[:4] in _ZIP_MAGICS:
                return _npz(f, name, budget, expect, only)
            raise _BadFileError("it is neither (no .npy or zip signature)")
        except _BadFileError as exc:
            raise ValueError(f"{prefix}{name} is not a .npy/.npz array file: {exc}") from None


def read_npy(path: str | os.PathLike[str], what: str = "", budget: int | None = None, expect: Expect | None = None) -> np.ndarray:
    """:func:`read_array_file` for a file that must be one ``.npy`` array (a ValueError otherwise)."""
    data = read_array_file(path, what, budget, expect)
    if isinstance(data, dict):
        raise ValueError(f"{what + ': ' if what else ''}{os.fspath(path)} is an .npz archive of several arrays, not one .npy array")
    return data


def read_npz(
    path: str | os.PathLike[str],
    what: str = "",
    budget: int | None = None,
    expect: Expect | None = None,
    only: Collection[str] | None = None,
) -> dict[str, np.ndarray]:
    """:func:`read_array_file` for a file that must be an ``.npz`` archive (a ValueError otherwise)."""
    data = read_array_file(path, what, budget, expect, only)
    if not isinstance(data, dict):
        raise ValueError(f"{what + ': ' if what else ''}{os.fspath(path)} is a single .npy array, not an .npz archive")
    return data

