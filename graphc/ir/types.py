"""Tensor types: a dtype plus a shape whose entries are ints or symbolic dims.

A symbolic dim (:class:`Dim`) stands for a size known only when the graph runs
(a batch size, a sequence length).  Two dims are the same size exactly when
they are the same :class:`Dim` (equal names).  Shapes are checked when an
expression is built: static sizes that cannot broadcast raise ``ValueError``
naming both shapes.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Union

import numpy as np

__all__ = [
    "Dim",
    "DimLike",
    "TensorType",
    "DTYPES",
    "as_dtype",
    "broadcast_shapes",
    "promote_dtypes",
    "format_shape",
    "fresh_dim",
    "dim_product",
]

#: dtypes graphc tensors may have, in promotion order within each kind.
DTYPES: tuple[str, ...] = (
    "bool",
    "int8",
    "uint8",
    "int16",
    "int32",
    "int64",
    "float16",
    "float32",
    "float64",
)

_counter = itertools.count()


@dataclass(frozen=True)
class Dim:
    """A symbolic dimension, equal to another exactly when the names match.

    Parameters
    ----------
    name : str
        The name; exported as the ONNX ``dim_param``.
    """

    name: str

    def __repr__(self) -> str:
        return self.name


DimLike = Union[int, Dim]  # noqa: UP007  (a runtime alias; `int | Dim` needs 3.10 at import)


def fresh_dim(hint: str = "d") -> Dim:
    """Return a new symbolic dim with a unique name starting with ``hint``."""
    return Dim(f"{hint}{next(_counter)}")


def dim_product(dims: tuple[DimLike, ...] | list[DimLike]) -> DimLike:
    """Product of dims: an int when all are static, else a named symbolic dim."""
    static = 1
    symbolic: list[str] = []
    for d in dims:
        if isinstance(d, Dim):
            symbolic.append(d.name)
        else:
            static *= int(d)
    if not symbolic:
        return static
    if static == 0:
        return 0
    if static == 1 and len(symbolic) == 1:
        return Dim(symbolic[0])
    parts = ([str(static)] if static != 1 else []) + symbolic
    return Dim("*".join(parts))


def as_dtype(dtype: object) -> str:
    """Normalise a dtype given as a string, numpy dtype or Python type.

    Raises
    ------
    TypeError
        If the dtype is not one graphc supports.
    """
    if dtype is float:
        from ..config import config

        return config.floatX
    try:
        name = np.dtype(dtype).name  # type: ignore[arg-type]
    except TypeError as exc:
        raise TypeError(f"unknown dtype {dtype!r}; expected one of {', '.join(DTYPES)}") from exc
    if name not in DTYPES:
        why = " (graphc does not provide complex tensors)" if name.startswith("complex") else ""
        raise TypeError(f"dtype {name!r} is not supported{why}; expected one of {', '.join(DTYPES)}")
    return name


def format_shape(shape: tuple[DimLike, ...]) -> str:
    """Format a shape for error messages, e.g. ``(batch, 3, 5)``."""
    inner = ", ".join(str(d) for d in shape)
    if len(shape) == 1:
        inner += ","
    return f"({inner})"


@dataclass(frozen=True)
class TensorType:
    """The type of a tensor value: its dtype and shape.

    Parameters
    ----------
    dtype : str
        One of :data:`DTYPES`.
    shape : tuple of int or Dim
        Static sizes are ints; sizes known only at run time are :class:`Dim`.
    """

    dtype: str
    shape: tuple[DimLike, ...]

    def __post_init__(self) -> None:
        for d in self.shape:
            if isinstance(d, Dim):
                continue
            if isinstance(d, (bool, np.bool_)) or not isinstance(d, (int, np.integer)):
                raise TypeError(f"shape entries must be int or Dim, got {d!r} in {self.shape!r}")
            if d < 0:
                raise ValueError(f"negative size {d} in shape {format_shape(self.shape)}")
        object.__setattr__(self, "shape", tuple(d if isinstance(d, Dim) else int(d) for d in self.shape))

    @property
    def ndim(self) -> int:
        """Number of axes."""
        return len(self.shape)

    @property
    def is_static(self) -> bool:
        """True when every size is an int."""
        return all(not isinstance(d, Dim) for d in self.shape)

    @property
    def broadcastable(self) -> tuple[bool, ...]:
        """Theano's broadcastable pattern: True where the size is statically 1."""
        return tuple(d == 1 for d in self.shape)

    @property
    def compact(self) -> str:
        """graphc's short form for messages: dtype and shape, e.g. ``float32(batch, 3)``."""
        return f"{self.dtype}{format_shape(self.shape)}"

    def __str__(self) -> str:
        """Theano's spelling: ``TensorType(float64, matrix)``, ``TensorType(int32, (False, True, False))``.

        The broadcastable pattern (True where the size is statically 1) is named as Theano
        names it: scalar, vector, col, row, matrix; else the tuple, or ``3D`` when none is True.
        """
        return theano_type_text(self.dtype, self.broadcastable)

    def __repr__(self) -> str:
        return str(self)


BROADCASTABLE_NAMES: dict[tuple[bool, ...], str] = {(): "scalar", (False,): "vector", (False, True): "col", (True, False): "row", (False, False): "matrix"}
"""Theano's names of broadcastable patterns, as its ``TensorType.__str__`` shows them."""


def theano_type_text(dtype: str, broadcastable: tuple[bool, ...]) -> str:
    """``TensorType(<dtype>, <pattern>)`` as Theano prints a type: the pattern's name (scalar, vector,
    col, row, matrix), else the tuple when some axis broadcasts, else ``<ndim>D``."""
    b = tuple(broadcastable)
    shown = BROADCASTABLE_NAMES.get(b) or (str(b) if any(b) else f"{len(b)}D")
    return f"TensorType({dtype}, {shown})"


def broadcast_shapes(*shapes: tuple[DimLike, ...], what: str = "operands") -> tuple[DimLike, ...]:
    """Numpy broadcasting over static and symbolic sizes.

    Symbolic sizes are assumed to match each other and any static size other
    than 1 (as Theano assumes for non-broadcastable dims); static sizes that
    differ and are not 1 raise ``ValueError``.
    """
    ndim = max((len(s) for s in shapes), default=0)
    padded = [(1,) * (ndim - len(s)) + tuple(s) for s in shapes]
    out: list[DimLike] = []
    for axis in range(ndim):
        result: DimLike = 1
        for s in padded:
            d = s[axis]
            if d == 1:
                continue
            if result == 1:
                result = d
            elif isinstance(result, Dim) and not isinstance(d, Dim):
                result = d
            elif isinstance(result, int) and isinstance(d, int) and result != d:
                shown = " and ".join(format_shape(s) for s in shapes)
                raise ValueError(
                    f"shapes {shown} of the {what} do not broadcast: axis {axis} (aligned from the "
                    f"right) has sizes {result} and {d}"
                )
        out.append(result)
    return tuple(out)


_KIND_ORDER = {"b": 0, "u": 1, "i": 1, "f": 2}


def promote_dtypes(*dtypes: str) -> str:
    """Result dtype of an arithmetic op over tensors of the given dtypes.

    Within a kind the wider type wins (numpy's rule); across kinds the float
    type wins unchanged (``int32 + float32 -> float32``, as PyTorch and JAX do,
    rather than numpy's ``float64``), and any integer beats ``bool``.
    """
    best = max(_KIND_ORDER[np.dtype(d).kind] for d in dtypes)
    same_kind = [d for d in dtypes if _KIND_ORDER[np.dtype(d).kind] == best]
    return np.result_type(*same_kind).name
