"""Numpy interoperability of symbolic variables: reductions and numpy's protocols.

:class:`NumpyMethods` is a base class of :class:`~graphc.tensor.variable.Variable`.
It gives variables

- the reduction methods (``sum``, ``mean``, ``max``, ``min``, ``prod``,
  ``argmax``, ``argmin``, ``var``, ``std``) with Theano's argument order and
  numpy's extra keywords (``dtype``, ``out``, ``keepdims``), so code written
  for arrays works on variables;
- ``__array_ufunc__``: a numpy ufunc applied to a variable (``np.exp(x)``,
  ``np.maximum(x, 0)``, ``ndarray + x``) builds the graphc elementwise op, a
  symbolic :class:`Variable`. (Theano variables made numpy build an object
  array there, which no real program wants.) ``np.add.reduce`` and
  ``np.maximum.reduce``/``np.minimum.reduce``/``np.multiply.reduce`` become
  the reductions; other ufunc methods (``accumulate``, ``outer``, ``at``...)
  raise ``TypeError``;
- ``__array_function__``: ``np.sum``, ``np.mean``, ``np.dot``,
  ``np.concatenate``, ``np.where``... on variables build graphc ops (see
  ``_FUNCTIONS``). Numpy functions not in the table keep numpy's own
  implementation, as without the protocol.

``out=`` other than None raises ``TypeError``: a symbolic result cannot be
written into an array.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["NumpyMethods"]

_NO_VALUE: Any = getattr(np, "_NoValue", None)


def _no_out(fn: str, out: Any) -> None:
    if out is not None:
        raise TypeError(f"{fn}: out= is not supported on symbolic variables (got {type(out).__name__}); use the result")


def _no_extras(fn: str, kwargs: dict[str, Any]) -> None:
    extra = sorted(k for k, v in kwargs.items() if v is not _NO_VALUE and v is not None)
    if extra:
        raise TypeError(f"{fn}: argument(s) {', '.join(extra)} not supported on symbolic variables")


class NumpyMethods:
    """Reductions with numpy's keywords, ``__array_ufunc__`` and ``__array_function__`` (module docstring)."""

    def sum(self, axis: Any = None, dtype: Any = None, keepdims: bool = False, acc_dtype: Any = None,
            out: Any = None, **kwargs: Any) -> Any:
        """Sum over ``axis`` (all axes when None), in ``dtype`` when given."""
        from .reduction import sum as _sum

        _no_out("sum", out)
        _no_extras("sum", kwargs)
        return _sum(self, axis=axis, keepdims=bool(keepdims), dtype=dtype or acc_dtype)

    def mean(self, axis: Any = None, dtype: Any = None, keepdims: bool = False, acc_dtype: Any = None,
             out: Any = None, **kwargs: Any) -> Any:
        """Mean over ``axis``."""
        from .reduction import mean

        _no_out("mean", out)
        _no_extras("mean", kwargs)
        return mean(self, axis=axis, keepdims=bool(keepdims), dtype=dtype, acc_dtype=acc_dtype)

    def max(self, axis: Any = None, keepdims: bool = False, out: Any = None, **kwargs: Any) -> Any:
        """Maximum over ``axis``."""
        from .reduction import max as _max

        _no_out("max", out)
        _no_extras("max", kwargs)
        return _max(self, axis=axis, keepdims=bool(keepdims))

    def min(self, axis: Any = None, keepdims: bool = False, out: Any = None, **kwargs: Any) -> Any:
        """Minimum over ``axis``."""
        from .reduction import min as _min

        _no_out("min", out)
        _no_extras("min", kwargs)
        return _min(self, axis=axis, keepdims=bool(keepdims))

    def prod(self, axis: Any = None, dtype: Any = None, keepdims: bool = False, out: Any = None, **kwargs: Any) -> Any:
        """Product over ``axis``, in ``dtype`` when given."""
        from .elemwise import cast
        from .reduction import prod

        _no_out("prod", out)
        _no_extras("prod", kwargs)
        return prod(cast(self, dtype) if dtype is not None else self, axis=axis, keepdims=bool(keepdims))

    def argmax(self, axis: Any = None, keepdims: bool = False, out: Any = None, **kwargs: Any) -> Any:
        """Index of the maximum along ``axis`` (of the flattened tensor when None)."""
        from .reduction import argmax

        _no_out("argmax", out)
        _no_extras("argmax", kwargs)
        return argmax(self, axis=axis, keepdims=bool(keepdims))

    def argmin(self, axis: Any = None, keepdims: bool = False, out: Any = None, **kwargs: Any) -> Any:
        """Index of the minimum along ``axis`` (of the flattened tensor when None)."""
        from .reduction import argmin

        _no_out("argmin", out)
        _no_extras("argmin", kwargs)
        return argmin(self, axis=axis, keepdims=bool(keepdims))

    def var(self, axis: Any = None, ddof: int = 0, keepdims: bool = False, corrected: bool = False,
            dtype: Any = None, out: Any = None, **kwargs: Any) -> Any:
        """Variance over ``axis`` (``ddof=1`` or ``corrected=True``: unbiased)."""
        from .elemwise import cast
        from .reduction import var

        _no_out("var", out)
        _no_extras("var", kwargs)
        v = cast(self, dtype) if dtype is not None else self
        return var(v, axis=axis, keepdims=bool(keepdims), ddof=ddof, corrected=corrected)

    def std(self, axis: Any = None, ddof: int = 0, keepdims: bool = False, corrected: bool = False,
            dtype: Any = None, out: Any = None, **kwargs: Any) -> Any:
        """Standard deviation over ``axis``."""
        from .elemwise import cast
        from .reduction import std

        _no_out("std", out)
        _no_extras("std", kwargs)
        v = cast(self, dtype) if dtype is not None else self
        return std(v, axis=axis, keepdims=bool(keepdims), ddof=ddof, corrected=corrected)

    # -- numpy protocols -------------------------------------------------------
    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        """Numpy ufuncs on variables build graphc elementwise ops (module docstring)."""
        out = kwargs.pop("out", None)
        if out is not None and any(o is not None for o in out):
            _no_out(f"numpy.{ufunc.__name__}", out[0])
        if method == "reduce":
            return _ufunc_reduce(ufunc, inputs, kwargs)
        if method != "__call__":
            raise TypeError(f"numpy.{ufunc.__name__}.{method} is not supported on symbolic variables")
        dtype = kwargs.pop("dtype", None)
        _no_extras(f"numpy.{ufunc.__name__}", {k: v for k, v in kwargs.items() if k != "casting" and not (k == "where" and v is True)})
        fn = _ufunc_op(ufunc)
        result = fn(*inputs)
        if dtype is not None:
            from .elemwise import cast

            result = cast(result, dtype)
        return result

    def __array_function__(self, func: Callable[..., Any], types: Any, args: Any, kwargs: Any) -> Any:
        """Numpy functions on variables: graphc ops where ``_FUNCTIONS`` has one, numpy's own code otherwise."""
        handler = _functions().get(func)
        if handler is not None:
            return handler(*args, **kwargs)
        impl = getattr(func, "_implementation", None)
        if impl is None:
            return NotImplemented
        return impl(*args, **kwargs)


_UFUNC_NAMES: dict[str, str] = {
    "add": "add", "subtract": "sub", "multiply": "mul", "true_divide": "true_div", "divide": "true_div",
    "floor_divide": "floor_div", "remainder": "mod", "mod": "mod", "power": "pow", "float_power": "pow",
    "negative": "neg", "positive": "_positive", "absolute": "abs", "fabs": "abs", "sign": "sgn",
    "exp": "exp", "exp2": "exp2", "expm1": "expm1", "log": "log", "log2": "log2", "log10": "log10",
    "log1p": "log1p", "sqrt": "sqrt", "square": "sqr", "reciprocal": "inv", "tanh": "tanh",
    "sinh": "sinh", "cosh": "cosh", "sin": "sin", "cos": "cos", "tan": "tan", "arcsin": "arcsin",
    "arccos": "arccos", "arctan": "arctan", "arctan2": "arctan2", "arcsinh": "arcsinh",
    "arccosh": "arccosh", "arctanh": "arctanh", "floor": "floor", "ceil": "ceil", "trunc": "trunc",
    "rint": "round", "maximum": "maximum", "minimum": "minimum", "fmax": "maximum", "fmin": "minimum",
    "equal": "eq", "not_equal": "neq", "less": "lt", "less_equal": "le", "greater": "gt",
    "greater_equal": "ge", "logical_and": "and_", "logical_or": "or_", "logical_xor": "xor",
    "logical_not": "invert", "bitwise_and": "and_", "bitwise_or": "or_", "bitwise_xor": "xor",
    "invert": "invert", "isnan": "isnan", "isinf": "isinf", "matmul": "dot", "erf": "erf",
}


def _ufunc_op(ufunc: np.ufunc) -> Callable[..., Any]:
    from .. import tensor as T

    if ufunc.__name__ == "positive":
        return lambda x: T.as_tensor_variable(x)
    name = _UFUNC_NAMES.get(ufunc.__name__)
    fn = getattr(T, name, None) if name else None
    if fn is None:
        raise TypeError(f"numpy.{ufunc.__name__} has no graphc equivalent for symbolic variables")
    return fn  # type: ignore[no-any-return]


_REDUCTIONS = {"add": "sum", "multiply": "prod", "maximum": "max", "minimum": "min",
               "logical_and": "all", "logical_or": "any"}


def _ufunc_reduce(ufunc: np.ufunc, inputs: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    from .. import tensor as T

    name = _REDUCTIONS.get(ufunc.__name__)
    if name is None:
        raise TypeError(f"numpy.{ufunc.__name__}.reduce is not supported on symbolic variables")
    axis = kwargs.pop("axis", 0)
    keepdims = kwargs.pop("keepdims", False)
    dtype = kwargs.pop("dtype", None)
    _no_extras(f"numpy.{ufunc.__name__}.reduce", kwargs)
    x = T.as_tensor_variable(inputs[0])
    if dtype is not None:
        x = T.cast(x, dtype)
    return getattr(T, name)(x, axis=axis, keepdims=keepdims)


def _method(name: str) -> Callable[..., Any]:
    """A handler calling the variable method ``name`` with numpy's keywords."""

    def handler(a: Any, *args: Any, **kwargs: Any) -> Any:
        from .basic import as_tensor_variable

        return getattr(as_tensor_variable(a), name)(*args, **kwargs)

    return handler


def _np_sum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: Any = False, **kw: Any) -> Any:
    return _method("sum")(a, axis=axis, dtype=dtype, out=out, keepdims=keepdims, **kw)


def _np_mean(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: Any = False, **kw: Any) -> Any:
    return _method("mean")(a, axis=axis, dtype=dtype, out=out, keepdims=keepdims, **kw)


def _np_prod(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: Any = False, **kw: Any) -> Any:
    return _method("prod")(a, axis=axis, dtype=dtype, out=out, keepdims=keepdims, **kw)


def _np_extreme(name: str) -> Callable[..., Any]:
    def handler(a: Any, axis: Any = None, out: Any = None, keepdims: Any = False, **kw: Any) -> Any:
        return _method(name)(a, axis=axis, out=out, keepdims=keepdims, **kw)

    return handler


def _np_moment(name: str) -> Callable[..., Any]:
    def handler(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: int = 0,
                keepdims: Any = False, **kw: Any) -> Any:
        return _method(name)(a, axis=axis, dtype=dtype, out=out, ddof=ddof, keepdims=keepdims, **kw)

    return handler


def _np_dot(a: Any, b: Any, out: Any = None) -> Any:
    from .. import tensor as T

    _no_out("numpy.dot", out)
    return T.dot(a, b)


def _np_transpose(a: Any, axes: Any = None) -> Any:
    from .. import tensor as T

    return T.transpose(a, axes)


def _np_reshape(a: Any, *args: Any, **kwargs: Any) -> Any:
    from .. import tensor as T

    shape = kwargs.pop("shape", kwargs.pop("newshape", args[0] if args else None))
    if kwargs.pop("order", "C") not in ("C", None):
        raise TypeError("numpy.reshape: only order='C' is supported on symbolic variables")
    return T.reshape(a, shape)


def _np_join(name: str) -> Callable[..., Any]:
    def handler(arrays: Any, axis: int = 0, out: Any = None, **kw: Any) -> Any:
        from .. import tensor as T

        _no_out(f"numpy.{name}", out)
        _no_extras(f"numpy.{name}", kw)
        return getattr(T, name)(list(arrays), axis=axis)

    return handler


def _np_where(cond: Any, x: Any = None, y: Any = None) -> Any:
    from .. import tensor as T

    if x is None or y is None:
        raise TypeError("numpy.where(cond) with one argument (nonzero) is not supported on symbolic variables")
    return T.switch(cond, x, y)


def _np_clip(a: Any, a_min: Any = None, a_max: Any = None, out: Any = None, **kw: Any) -> Any:
    from .. import tensor as T

    _no_out("numpy.clip", out)
    lo = kw.pop("min", a_min)
    hi = kw.pop("max", a_max)
    _no_extras("numpy.clip", kw)
    x = T.as_tensor_variable(a)
    if lo is not None:
        x = T.maximum(x, lo)
    if hi is not None:
        x = T.minimum(x, hi)
    return x


_TABLE: dict[Any, Callable[..., Any]] | None = None


def _functions() -> dict[Any, Callable[..., Any]]:
    global _TABLE
    if _TABLE is None:
        from .. import tensor as T

        table: dict[Any, Callable[..., Any]] = {
            np.sum: _np_sum, np.mean: _np_mean, np.prod: _np_prod,
            np.max: _np_extreme("max"), np.min: _np_extreme("min"),
            np.argmax: _np_extreme("argmax"), np.argmin: _np_extreme("argmin"),
            np.std: _np_moment("std"), np.var: _np_moment("var"),
            np.dot: _np_dot, np.transpose: _np_transpose, np.reshape: _np_reshape,
            np.concatenate: _np_join("concatenate"), np.stack: _np_join("stack"),
            np.where: _np_where, np.clip: _np_clip,
            np.tensordot: lambda a, b, axes=2: T.tensordot(a, b, axes),
            np.outer: lambda a, b, out=None: (_no_out("numpy.outer", out), T.outer(a, b))[1],
            np.ndim: lambda a: T.as_tensor_variable(a).ndim,
            np.zeros_like: lambda a, dtype=None, **kw: T.zeros_like(a, dtype=dtype),
            np.ones_like: lambda a, dtype=None, **kw: T.ones_like(a, dtype=dtype),
            np.squeeze: lambda a, axis=None: T.squeeze(a, axis),
            np.expand_dims: lambda a, axis: T.expand_dims(a, axis),
            np.cumsum: lambda a, axis=None, dtype=None, out=None: (_no_out("numpy.cumsum", out), T.cumsum(a if dtype is None else T.cast(a, dtype), axis))[1],
            np.ravel: lambda a, order="C": T.flatten(a),
        }
        for alias in ("amax", "amin"):
            if hasattr(np, alias):
                table[getattr(np, alias)] = _np_extreme(alias[1:])
        if hasattr(np, "round"):
            table[np.round] = lambda a, decimals=0, out=None: T.round(a) if decimals == 0 else _decimals()
        _TABLE = table
    return _TABLE


def _decimals() -> Any:
    raise TypeError("numpy.round: decimals other than 0 are not supported on symbolic variables")
