"""Theano's typed and plural input constructors: ``itensor3``, ``drow``, ``T.matrices('x', 'y')``, ``T.TensorType``.

The dtype prefixes are Theano's: ``b`` int8, ``w`` int16, ``i`` int32, ``l`` int64,
``f`` float32, ``d`` float64 (none: ``config.floatX``).  ``row`` is ``(1, n)`` and
``col`` is ``(n, 1)`` (broadcastable ``(True, False)`` and ``(False, True)``).

As in Theano, the prefixed constructors (``T.dscalar``, ``T.fmatrix``, ``T.ivector``...)
are :class:`TensorType` instances: calling one makes a variable, and it compares equal
to the type of every variable of its dtype and broadcastable pattern
(``x.type == T.dmatrix``).  The unprefixed ones (``T.matrix``, ``T.row``...) are
functions taking ``dtype=`` (their dtype is ``config.floatX`` when called), and so are
the plural ones.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..ir.types import TensorType as _IRTensorType
from ..ir.types import theano_type_text
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


def _tensor(*args: Any, **kwargs: Any) -> Variable:
    from .basic import tensor  # basic imports this module for its typed constructors

    return tensor(*args, **kwargs)


def _make(dtype: Any, pattern: tuple[bool, ...], name: str | None, shape: Sequence[Any] | None) -> Variable:
    if shape is not None:
        return _tensor(dtype, len(pattern), name=name, shape=shape)
    return _tensor(dtype, broadcastable=pattern, name=name)


def _single(dtype: str | None, pattern: tuple[bool, ...], kind: str) -> Callable[..., Variable]:
    def make(name: str | None = None, dtype: Any = dtype, shape: Sequence[Any] | None = None) -> Variable:
        return _make(dtype, pattern, name, shape)

    make.__name__ = make.__qualname__ = kind
    make.__doc__ = f"""A symbolic input of dtype {dtype or "config.floatX"}, broadcastable {pattern} (Theano's ``T.{kind}``).

    Parameters
    ----------
    name : str, optional
    dtype : str, optional
    shape : sequence, optional
        Static sizes or dim names, as for :func:`graphc.tensor.tensor`.

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


class _TensorTypeMeta(type):
    def __instancecheck__(cls, obj: object) -> bool:
        return type.__instancecheck__(cls, obj) or isinstance(obj, _IRTensorType)


class TensorType(metaclass=_TensorTypeMeta):
    """Theano's ``TensorType(dtype, broadcastable)``: calling it makes a symbolic input of that type.

    ``T.dscalar``, ``T.fmatrix``, ``T.ivector``... are instances.  ``isinstance(x.type,
    T.TensorType)`` holds for every graphc variable, and ``x.type == T.dmatrix`` holds for
    every float64 matrix: a variable's type equals a ``TensorType`` when the dtypes and the
    number of axes match and every axis the pattern marks broadcastable has the static
    size 1 (graphc's types carry sizes, Theano's only the pattern; a float64 ``(1, n)``
    matrix therefore equals both ``T.dmatrix`` and ``T.drow``).  Two ``TensorType``
    objects are equal when dtype and pattern are, as in Theano.

    Parameters
    ----------
    dtype : str
    broadcastable : sequence of bool
        True for axes of size 1; its length is the number of axes.
    name : str, optional
        Theano's type name (shown by ``str``).

    Examples
    --------
    >>> import graphc.tensor as T
    >>> x = T.TensorType('float64', (False, True))('x')
    >>> x.ndim, x.dtype, x.broadcastable
    (2, 'float64', (False, True))
    >>> T.dscalar
    TensorType(float64, scalar)
    >>> T.dmatrix('m').type == T.dmatrix
    True
    """

    def __init__(self, dtype: str, broadcastable: Sequence[bool], name: str | None = None) -> None:
        from ..config import config
        from ..ir.types import as_dtype

        if isinstance(dtype, str) and dtype.startswith("complex"):
            from .complex_types import ComplexNotProvidedError

            raise ComplexNotProvidedError(f"TensorType({dtype!r}, ...) is a complex type")
        self.dtype = as_dtype(config.floatX if dtype == "floatX" else dtype)
        self.broadcastable = tuple(bool(b) for b in broadcastable)
        self.name = name

    @property
    def ndim(self) -> int:
        """Number of axes."""
        return len(self.broadcastable)

    def __call__(self, name: str | None = None, dtype: Any = None, shape: Sequence[Any] | None = None) -> Variable:
        """A symbolic input of this type.

        Parameters
        ----------
        name : str, optional
        dtype : str, optional
            graphc extension (the old constructors took it): another dtype, same pattern.
        shape : sequence, optional
            graphc extension: static sizes or dim names, as for :func:`graphc.tensor.tensor`.

        Returns
        -------
        Variable
        """
        return _make(self.dtype if dtype is None else dtype, self.broadcastable, name, shape)

    def make_variable(self, name: str | None = None) -> Variable:
        """A symbolic input of this type (Theano's name)."""
        return self(name)

    def __eq__(self, other: object) -> bool:
        if type(other) is TensorType:
            return (self.dtype, self.broadcastable) == (other.dtype, other.broadcastable)  # type: ignore[attr-defined]
        if isinstance(other, _IRTensorType):
            return (
                other.dtype == self.dtype
                and other.ndim == self.ndim
                and all(d == 1 for d, b in zip(other.shape, self.broadcastable) if b)
            )
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __hash__(self) -> int:
        return hash((self.dtype, self.broadcastable))

    def __str__(self) -> str:
        if self.name:
            return self.name
        return theano_type_text(self.dtype, self.broadcastable)

    def __repr__(self) -> str:
        return str(self)

    def __reduce__(self) -> tuple[Any, ...]:
        return (TensorType, (self.dtype, self.broadcastable, self.name))


def _build() -> dict[str, Any]:
    made: dict[str, Any] = {}
    for prefix, dtype in _PREFIXES.items():
        for kind, pattern in _KINDS.items():
            name = prefix + kind
            made[name] = _single(dtype, pattern, name) if dtype is None else TensorType(dtype, pattern)
            plural = prefix + ("matrices" if kind == "matrix" else kind + "s")
            made[plural] = _plural(made[name], plural)
    return made


CONSTRUCTORS = _build()
"""Every typed and plural constructor by name (``'itensor3'``, ``'fmatrices'``...)."""
globals().update(CONSTRUCTORS)
__all__ += sorted(CONSTRUCTORS)

row = CONSTRUCTORS["row"]
col = CONSTRUCTORS["col"]
