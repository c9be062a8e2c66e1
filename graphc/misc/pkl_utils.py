"""Theano's ``theano.misc.pkl_utils``: pickles whose numpy arrays are stored beside them in a zip.

:func:`dump` writes a zip archive holding ``pkl`` (the pickle of the object) and one
``.npy`` file per numpy array reached from it (shared variables' values included), so
the arrays can be read without unpickling; :func:`load` reads it back.  The archive is
written atomically when given a path.

Warnings
--------
Loading a pickle runs code: load only archives you trust (graphc's own model formats
never do; see ``docs/security.md``).
"""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from typing import Any, BinaryIO

import numpy as np

__all__ = ["dump", "load", "StripPickler", "PersistentNdarrayID", "PersistentNdarrayLoad"]


class PersistentNdarrayID:
    """Names each numpy array an archive entry (``array_0.npy``...) and writes it there."""

    def __init__(self, zip_file: zipfile.ZipFile) -> None:
        self.zip_file = zip_file
        self.count = 0
        self.seen: dict[int, str] = {}

    def __call__(self, obj: Any) -> str | None:
        if type(obj) is not np.ndarray or obj.dtype.kind == "O":
            return None
        if id(obj) not in self.seen:
            name = f"array_{self.count}"
            self.count += 1
            buf = io.BytesIO()
            np.lib.format.write_array(buf, obj, allow_pickle=False)
            self.zip_file.writestr(f"{name}.npy", buf.getvalue())
            self.seen[id(obj)] = name
        return self.seen[id(obj)]


class PersistentNdarrayLoad:
    """Reads back the arrays :class:`PersistentNdarrayID` stored."""

    def __init__(self, zip_file: zipfile.ZipFile) -> None:
        self.zip_file = zip_file
        self.cache: dict[str, np.ndarray] = {}

    def __call__(self, name: str) -> np.ndarray:
        if name not in self.cache:
            with self.zip_file.open(f"{name}.npy") as f:
                self.cache[name] = np.lib.format.read_array(io.BytesIO(f.read()), allow_pickle=False)
        return self.cache[name]


class StripPickler(pickle.Pickler):
    """Theano's pickler that drops ``tag.trace`` annotations; graphc's variables carry none, so it is a plain pickler."""

    def __init__(self, file: BinaryIO, protocol: int | None = None, extra_tag_to_remove: Any = None) -> None:
        super().__init__(file, protocol)


def _write(obj: Any, target: BinaryIO, protocol: int) -> None:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        arrays = PersistentNdarrayID(zf)
        buf = io.BytesIO()
        pickler = pickle.Pickler(buf, protocol)
        pickler.persistent_id = arrays  # type: ignore[method-assign]
        pickler.dump(obj)
        zf.writestr("pkl", buf.getvalue())


def dump(obj: Any, file_handler: Any, protocol: int = pickle.DEFAULT_PROTOCOL, persistent_id: Any = None) -> None:
    """Pickle ``obj`` into a zip archive, its numpy arrays as ``.npy`` entries beside the ``pkl`` entry.

    Parameters
    ----------
    obj : object
        Shared variables, layers, compiled functions, arrays...
    file_handler : binary file or path
        An open binary file, or a path (written atomically).
    protocol : int
        The pickle protocol.
    persistent_id : ignored
        Accepted for Theano compatibility.
    """
    if isinstance(file_handler, (str, os.PathLike)):
        from ..export.io import atomic_write_bytes

        buf = io.BytesIO()
        _write(obj, buf, protocol)
        atomic_write_bytes(os.fspath(file_handler), buf.getvalue())
        return
    _write(obj, file_handler, protocol)


def load(f: Any, persistent_load: Any = None) -> Any:
    """Read an archive written by :func:`dump`.

    Parameters
    ----------
    f : binary file or path
    persistent_load : ignored
        Accepted for Theano compatibility.

    Returns
    -------
    object

    Raises
    ------
    ValueError
        If ``f`` is not such an archive (naming what is missing).
    """
    try:
        zf = zipfile.ZipFile(f)
    except zipfile.BadZipFile:
        raise ValueError(f"pkl_utils.load: {f!r} is not a zip archive written by pkl_utils.dump") from None
    with zf:
        if "pkl" not in zf.namelist():
            raise ValueError(f"pkl_utils.load: {f!r} has no 'pkl' entry; it was not written by pkl_utils.dump")
        unpickler = pickle.Unpickler(io.BytesIO(zf.read("pkl")))
        unpickler.persistent_load = PersistentNdarrayLoad(zf)  # type: ignore[method-assign]
        return unpickler.load()
