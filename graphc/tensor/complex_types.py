"""Theano's complex tensors (``T.cscalar``, ``T.zmatrix``, ``T.complex``...): named, and refused.

graphc has no complex dtypes: ONNX's operators compute with bool, integer and float
tensors only, so a complex expression could not run in ONNX Runtime.  Every Theano
name for a complex tensor still resolves (``hasattr(T, 'zmatrix')``, ``from theano.tensor
import *``), and using one raises :class:`ComplexNotProvidedError`, one line that names the
difference, as graphc does for Theano's modes it cannot honour.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..ir.types import theano_type_text
from .typed import _KINDS  # the constructor kinds and their broadcastable patterns, shared with T.dmatrix & co.

__all__ = ["ComplexNotProvidedError", "ComplexTensorType", "CONSTRUCTORS", "complex", "complex_from_polar"]

_PREFIXES = {"c": "complex64", "z": "complex128"}
_WHY = "ONNX's operators do not compute with complex numbers, so graphc's dtypes are bool, integers and floats"


class ComplexNotProvidedError(NotImplementedError, TypeError):
    """A Theano complex tensor (``complex64``/``complex128``) was asked for; graphc has none.

    A ``NotImplementedError`` (a deliberate difference) and a ``TypeError`` (what graphc
    raises for any dtype it does not support).
    """

    def __init__(self, what: str) -> None:
        super().__init__(f"graphc does not provide complex tensors: {what}; {_WHY}")
        self.what = what


class ComplexTensorType:
    """Theano's complex ``TensorType`` objects (``T.cscalar``, ``T.zmatrix``...): calling one raises.

    Parameters
    ----------
    dtype : {'complex64', 'complex128'}
    broadcastable : tuple of bool
    name : str
        Theano's constructor name, for the error.
    """

    def __init__(self, dtype: str, broadcastable: tuple[bool, ...], name: str) -> None:
        self.dtype = dtype
        self.broadcastable = broadcastable
        self.name = name

    @property
    def ndim(self) -> int:
        """Number of axes."""
        return len(self.broadcastable)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise ComplexNotProvidedError(f"T.{self.name} makes a {self.dtype} tensor")

    make_variable = __call__

    def __str__(self) -> str:
        return theano_type_text(self.dtype, self.broadcastable)

    __repr__ = __str__


def _refusing(name: str, what: str) -> Callable[..., Any]:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise ComplexNotProvidedError(f"T.{name} {what}")

    refuse.__name__ = refuse.__qualname__ = name
    refuse.__doc__ = f"""Theano's ``T.{name}``: not provided (graphc has no complex dtypes).

    Raises
    ------
    ComplexNotProvidedError
        Always (a ``NotImplementedError``).
    """
    return refuse


def _build() -> dict[str, Any]:
    made: dict[str, Any] = {}
    for prefix, dtype in _PREFIXES.items():
        for kind, pattern in _KINDS.items():
            made[prefix + kind] = ComplexTensorType(dtype, pattern, prefix + kind)
            plural = prefix + ("matrices" if kind == "matrix" else kind + "s")
            made[plural] = _refusing(plural, f"makes {dtype} tensors")
    return made


CONSTRUCTORS = _build()
"""Theano's complex constructors by name (``'zmatrix'``, ``'cvectors'``...)."""

complex = _refusing("complex", "makes a complex tensor from its real and imaginary parts")  # noqa: A001  (Theano's name)
complex_from_polar = _refusing("complex_from_polar", "makes a complex tensor from magnitudes and angles")
