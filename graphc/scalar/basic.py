"""``theano.scalar.basic``: scalar dtypes, ``upcast`` and ``constant``.

graphc has no separate scalar graph: a :class:`Scalar` type makes 0-d tensor
variables, and :func:`constant` gives a 0-d tensor constant, of the dtype Theano
would choose.  The ``Scalar`` objects (``float64``, ``int32``...) are the dtype
descriptors real code passes around (``theano.scalar.float32.dtype``,
``theano.scalar.upcast(x.dtype, 'float32')``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..config import config

__all__ = [
    "Scalar",
    "ScalarType",
    "upcast",
    "constant",
    "as_scalar",
    "get_scalar_type",
    "bool",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "float16",
    "float32",
    "float64",
    "complex64",
    "complex128",
    "int_types",
    "uint_types",
    "float_types",
    "complex_types",
    "discrete_types",
    "continuous_types",
    "all_types",
    "integer_types",
    "discrete_dtypes",
    "continuous_dtypes",
    "all_dtypes",
]

_builtin_bool = bool
_builtin_int = int
_builtin_float = float
_builtin_complex = complex


def upcast(dtype: Any, *dtypes: Any) -> str:
    """The dtype of a sum of values of the given dtypes (Theano's ``theano.scalar.upcast``).

    numpy's promotion of 0-d arrays, as Theano computes it: ``upcast('int32', 'float32')``
    is ``'float64'``.  Under ``config.cast_policy == 'numpy+floatX'`` a float64 result
    that no ``'float64'`` argument asked for becomes ``config.floatX`` (float32 or float16),
    as in Theano.

    Parameters
    ----------
    dtype : str or numpy dtype
    *dtypes : str or numpy dtype

    Returns
    -------
    str
    """
    numpy_floatx = getattr(config, "cast_policy", "custom") == "numpy+floatX"
    names = [np.dtype(d).name for d in (dtype, *dtypes)]
    keep_float32 = numpy_floatx and config.floatX == "float32" and "float64" not in names
    keep_float16 = numpy_floatx and config.floatX == "float16" and not {"float32", "float64"} & set(names)
    z = np.zeros((), dtype=names[0])
    for d in names[1:]:
        z = z + np.zeros((), dtype=d)
    result = str(z.dtype)
    if result in ("float64", "float32") and keep_float16:
        return "float16"
    if result == "float64" and keep_float32:
        return "float32"
    return result


class Scalar:
    """A scalar dtype (Theano's ``theano.scalar.Scalar``): ``Scalar('float32')``.

    Calling it (or :meth:`make_variable`) makes a 0-d tensor input of that dtype.

    Parameters
    ----------
    dtype : str
        A numpy dtype name; ``'floatX'`` means ``config.floatX``.
    """

    def __init__(self, dtype: Any) -> None:
        if dtype == "floatX":
            dtype = config.floatX
        try:
            self.dtype = np.dtype(dtype).name
        except TypeError as exc:
            raise TypeError(f"Unsupported dtype for Scalar: {dtype}") from exc

    def __eq__(self, other: object) -> _builtin_bool:
        return type(self) is type(other) and other.dtype == self.dtype  # type: ignore[attr-defined]

    def __hash__(self) -> _builtin_int:
        return hash(("theano.scalar.Scalar", self.dtype))

    def __str__(self) -> str:
        return self.dtype

    def __repr__(self) -> str:
        return f"Scalar({self.dtype})"

    def upcast(self, *others: Scalar) -> str:
        """:func:`upcast` of this dtype and the others'."""
        return upcast(self.dtype, *[o.dtype for o in others])

    def make_variable(self, name: str | None = None) -> Any:
        """A 0-d tensor input of this dtype."""
        from ..tensor.basic import tensor

        return tensor(self.dtype, 0, name=name)

    def __call__(self, name: str | None = None) -> Any:
        return self.make_variable(name)

    def dtype_specs(self) -> tuple[type, str, str]:
        """``(numpy type, C type, class name)`` as Theano gives them."""
        cls = self.dtype.capitalize().replace("Uint", "UInt")
        return (np.dtype(self.dtype).type, f"npy_{self.dtype}", cls)

    def __reduce__(self) -> tuple[Any, ...]:
        return (Scalar, (self.dtype,))


ScalarType = Scalar

bool = Scalar("bool")  # noqa: A001  (Theano's name)
int8 = Scalar("int8")
int16 = Scalar("int16")
int32 = Scalar("int32")
int64 = Scalar("int64")
uint8 = Scalar("uint8")
uint16 = Scalar("uint16")
uint32 = Scalar("uint32")
uint64 = Scalar("uint64")
float16 = Scalar("float16")
float32 = Scalar("float32")
float64 = Scalar("float64")
complex64 = Scalar("complex64")
complex128 = Scalar("complex128")

int_types = (int8, int16, int32, int64)
uint_types = (uint8, uint16, uint32, uint64)
float_types = (float16, float32, float64)
complex_types = (complex64, complex128)
integer_types = int_types + uint_types
discrete_types = (bool,) + int_types + uint_types
continuous_types = float_types + complex_types
all_types = discrete_types + continuous_types

discrete_dtypes = tuple(t.dtype for t in discrete_types)
continuous_dtypes = tuple(t.dtype for t in continuous_types)
all_dtypes = tuple(t.dtype for t in all_types)


def get_scalar_type(dtype: Any) -> Scalar:
    """The :class:`Scalar` of ``dtype`` (Theano's ``get_scalar_type``)."""
    return Scalar(dtype)


def _smallest(value: Any, candidates: tuple[str, ...]) -> str:
    for dt in candidates:
        if np.dtype(dt).kind in "iu":
            info = np.iinfo(dt)
            if info.min <= value <= info.max:
                return dt
        else:
            with np.errstate(over="ignore"):
                if np.asarray(value, dtype=dt).item() == value:  # exact, in Python's precision
                    return dt
    return candidates[-1]


def constant(x: Any, name: str | None = None) -> Any:
    """A 0-d constant of the dtype Theano's scalar ``constant`` picks.

    numpy scalars keep their dtype; Python floats get the smallest float dtype that holds
    them exactly, ints the smallest of int8..int64, bools ``bool``.

    Returns
    -------
    graphc.tensor.TensorConstant
        (Theano: a ``ScalarConstant``; graphc has no separate scalar graph.)

    Raises
    ------
    TypeError
        For something that is not a number (or a complex number: graphc has no complex dtype).
    """
    from ..tensor.basic import constant as tensor_constant

    if hasattr(x, "dtype"):
        if np.ndim(x) != 0:
            raise TypeError(f"theano.scalar.constant: {x!r} is not a scalar")
        return tensor_constant(x, name=name, dtype=np.asarray(x).dtype)
    if isinstance(x, _builtin_bool):
        return tensor_constant(x, name=name, dtype="bool")
    if isinstance(x, _builtin_int):
        return tensor_constant(x, name=name, dtype=_smallest(x, ("int8", "int16", "int32", "int64")))
    if isinstance(x, _builtin_float):
        return tensor_constant(x, name=name, dtype=_smallest(x, ("float32", "float64")))
    raise TypeError(f"Cannot convert {x!r} to Scalar")


def as_scalar(x: Any, name: str | None = None) -> Any:
    """``x`` if it is a 0-d variable, else :func:`constant` of it.

    Raises
    ------
    TypeError
        For a variable with axes.
    """
    from ..tensor.variable import Variable

    if isinstance(x, Variable):
        if x.ndim != 0:
            raise TypeError(f"Variable type field must be a Scalar: {x!r} has {x.ndim} axes")
        return x
    return constant(x, name=name)
