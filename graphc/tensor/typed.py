"""Theano's typed and plural input constructors: ``itensor3``, ``drow``, ``T.matrices('x', 'y')``, ``T.TensorType``.

The dtype prefixes are Theano's: ``b`` int8, ``w`` int16, ``i`` int32, ``l`` int64,
``f`` float32, ``d`` float64 (none: ``config.floatX``).  ``row`` is ``(1, n)`` and
``col`` is ``(n, 1)`` (broadcastable ``(True, False)`` and ``(False, True)``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..ir.types import TensorType as _IRTensorType
from .basic import tensor
from .variable import Variable

__all__ = ["TensorType", "row", "col"]

_PREFIXES = {"": None, "b": "int8", "w": "int16", "i": "int32", "l": "int64", "f": "float32", "d": "float64"}
_KINDS: dict[str, tuple[bool, ...]] = {
    "scalar": (),
    "vector": (False,),
    "matrix": (False, False),
    "row": (True, False),
    "col": (False, True),
    "tensor3": (False,) * 3,
    "tensor4": (False,) * 4,
    "tensor5": (False,) * 5,
}


def _single(dtype: str | None, pattern: tuple[bool, ...], kind: str) -> Callable[..., Variable]:
    def make(name: str | None = None, dtype: Any = dtype) -> Variable:
        return tensor(dtype, broadcastable=pattern, name=name)

    make.__name__ = make.__qualname__ = kind
    make.__doc__ = f"""A symbolic input of dtype {dtype or "config.floatX"}, broadcastable {pattern} (Theano's ``T.{kind}``).

    Parameters
    ----------
    name : str, optional
    dtype : str, optional

    Returns
    -------
    Variable
    """
    return make


def _plural(single: Callable[..., Variable], kind: str) -> Callable[..., Any]:
    def make(*names: Any, dtype: Any = None) -> Any:
        kwargs = {} if dtype is None else {"dtype": dtype}
        if names and isinstance(names[0], int) and not isinstance(names[0], bool):
            return [single(**kwargs) for _ in range(names[0])]
        spelled: Sequence[str] | str = names[0] if len(names) == 1 else names
        if isinstance(spelled, str) and "," in spelled:  # Theano would make a variable per character
            spelled = [n.strip() for n in spelled.split(",") if n.strip()]
        if len(spelled) == 1:
            return single(spelled[0] if isinstance(spelled, tuple) else spelled, **kwargs)
        return [single(n, **kwargs) for n in spelled]

    make.__name__ = make.__qualname__ = kind
    make.__doc__ = f"""Several symbolic inputs at once, as Theano's ``T.{kind}``.

    ``{kind}('x', 'y')`` and ``{kind}('xy')`` give two (one per name or letter),
    ``{kind}(3)`` three unnamed ones, ``{kind}('x')`` a single variable.
    ``{kind}('x, y')`` gives two (Theano made one per character, commas included).

    Parameters
    ----------
    *names : str or int
    dtype : str, optional

    Returns
    -------
    Variable or list of Variable
    """
    return make


def _build() -> dict[str, Callable[..., Any]]:
    made: dict[str, Callable[..., Any]] = {}
    for prefix, dtype in _PREFIXES.items():
        for kind, pattern in _KINDS.items():
            name = prefix + kind
            made[name] = _single(dtype, pattern, name)
            plural = prefix + ("matrices" if kind == "matrix" else kind + "s")
            made[plural] = _plural(made[name], plural)
    return made


CONSTRUCTORS = _build()
"""Every typed and plural constructor by name (``'itensor3'``, ``'fmatrices'``...)."""
globals().update(CONSTRUCTORS)
__all__ += sorted(CONSTRUCTORS)


class _TensorTypeMeta(type):
    def __instancecheck__(cls, obj: object) -> bool:
        return type.__instancecheck__(cls, obj) or isinstance(obj, _IRTensorType)


class TensorType(metaclass=_TensorTypeMeta):
    """Theano's ``TensorType(dtype, broadcastable)``: calling it makes a symbolic input of that type.

    ``isinstance(x.type, T.TensorType)`` holds for every graphc variable.

    Parameters
    ----------
    dtype : str
    broadcastable : sequence of bool
        True for axes of size 1; its length is the number of axes.
    name : str, optional
        Theano's type name (unused).

    Examples
    --------
    >>> import graphc.tensor as T
    >>> x = T.TensorType('float64', (False, True))('x')
    >>> x.ndim, x.dtype, x.broadcastable
    (2, 'float64', (False, True))
    """

    def __init__(self, dtype: str, broadcastable: Sequence[bool], name: str | None = None) -> None:
        self.dtype = str(dtype)
        self.broadcastable = tuple(bool(b) for b in broadcastable)
        self.name = name

    @property
    def ndim(self) -> int:
        """Number of axes."""
        return len(self.broadcastable)

    def __call__(self, name: str | None = None) -> Variable:
        """A symbolic input of this type."""
        return tensor(self.dtype, broadcastable=self.broadcastable, name=name)

    def make_variable(self, name: str | None = None) -> Variable:
        """A symbolic input of this type (Theano's name)."""
        return self(name)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, TensorType) and type(other) is TensorType:
            return (self.dtype, self.broadcastable) == (other.dtype, other.broadcastable)
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.dtype, self.broadcastable))

    def __repr__(self) -> str:
        return f"TensorType({self.dtype}, {self.broadcastable})"


row = CONSTRUCTORS["row"]
col = CONSTRUCTORS["col"]
