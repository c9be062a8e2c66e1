"""Reductions: sum, mean, max, min, prod, argmax, argmin, var, std."""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from ..config import config
from ..ir.ops.reduce import normalize_axes
from .basic import as_tensor_variable
from .elemwise import cast, sqr, sqrt, sub, true_div
from .variable import Variable, apply_op

__all__ = ["sum", "mean", "max", "min", "prod", "argmax", "argmin", "var", "std", "all", "any"]


def _axes(op: str, x: Variable, axis: Any) -> tuple[int, ...] | None:
    axes = normalize_axes(op, axis, x.ndim)
    if axes is not None and len(axes) == x.ndim:
        return None
    return axes


def _reduce(op: str, x: Variable, axis: Any, keepdims: bool) -> Variable:
    if isinstance(axis, (tuple, list)) and len(axis) == 0:
        return x
    axes = _axes(op, x, axis)
    if x.ndim == 0:
        return x
    return apply_op(op, [x], axes=axes, keepdims=bool(keepdims))  # type: ignore[return-value]


def _accumulate_ints(v: Variable) -> Variable:
    """Bool and integer inputs narrower than 64 bits accumulate in int64 (Theano's and numpy's rule)."""
    if np.dtype(v.dtype).kind in "biu" and v.dtype != "int64":
        return cast(v, "int64")
    return v


def sum(x: Any, axis: Any = None, keepdims: bool = False, dtype: Any = None) -> Variable:  # noqa: A001
    """Sum over ``axis`` (an int, a tuple, or None for all axes).

    Bool and integer inputs are summed as int64 (a bool sum counts the true
    entries; a uint8 image sums without wrapping), unless ``dtype`` is given.
    """
    v = as_tensor_variable(x)
    v = cast(v, dtype) if dtype is not None else _accumulate_ints(v)
    return _reduce("reduce_sum", v, axis, keepdims)


def mean(x: Any, axis: Any = None, keepdims: bool = False, dtype: Any = None, acc_dtype: Any = None) -> Variable:
    """Mean over ``axis``; int and bool inputs are averaged in ``dtype`` (default ``config.floatX``)."""
    v = as_tensor_variable(x)
    if dtype is not None:
        v = cast(v, dtype)
    elif np.dtype(v.dtype).kind != "f":
        v = cast(v, config.floatX)
    return _reduce("reduce_mean", v, axis, keepdims)


def max(x: Any, axis: Any = None, keepdims: bool = False) -> Variable:  # noqa: A001
    """Maximum over ``axis``."""
    v = as_tensor_variable(x)
    if v.dtype == "bool":
        return cast(max(cast(v, "int32"), axis, keepdims), "bool")
    return _reduce("reduce_max", v, axis, keepdims)


def min(x: Any, axis: Any = None, keepdims: bool = False) -> Variable:  # noqa: A001
    """Minimum over ``axis``."""
    v = as_tensor_variable(x)
    if v.dtype == "bool":
        return cast(min(cast(v, "int32"), axis, keepdims), "bool")
    return _reduce("reduce_min", v, axis, keepdims)


def all(x: Any, axis: Any = None, keepdims: bool = False) -> Variable:  # noqa: A001
    """True where every element along ``axis`` is non-zero."""
    from .elemwise import neq

    v = as_tensor_variable(x)
    return min(v if v.dtype == "bool" else neq(v, 0), axis, keepdims)


def any(x: Any, axis: Any = None, keepdims: bool = False) -> Variable:  # noqa: A001
    """True where some element along ``axis`` is non-zero."""
    from .elemwise import neq

    v = as_tensor_variable(x)
    return max(v if v.dtype == "bool" else neq(v, 0), axis, keepdims)


def prod(x: Any, axis: Any = None, keepdims: bool = False) -> Variable:
    """Product over ``axis``; bool and integer inputs multiply in int64, as :func:`sum`."""
    v = _accumulate_ints(as_tensor_variable(x))
    return _reduce("reduce_prod", v, axis, keepdims)


def _arg(op: str, x: Any, axis: Any, keepdims: bool) -> Variable:
    v = as_tensor_variable(x)
    if v.dtype == "bool":
        v = cast(v, "int32")
    if axis is None:
        from .shape import flatten

        flat = apply_op(op, [flatten(v, 1)], axis=0, keepdims=False)
        if keepdims:
            from .shape import reshape

            return reshape(flat, (1,) * v.ndim)
        return flat  # type: ignore[return-value]
    if isinstance(axis, (tuple, list)):
        if len(axis) != 1:
            raise ValueError(f"{op}: axis must be a single int or None, got {axis!r}")
        axis = axis[0]
    (a,) = normalize_axes(op, axis, v.ndim) or (0,)
    return apply_op(op, [v], axis=a, keepdims=bool(keepdims))  # type: ignore[return-value]


def argmax(x: Any, axis: Any = None, keepdims: bool = False) -> Variable:
    """Index (int64) of the first maximum along ``axis``; of the flattened tensor when None."""
    return _arg("argmax", x, axis, keepdims)


def argmin(x: Any, axis: Any = None, keepdims: bool = False) -> Variable:
    """Index (int64) of the first minimum along ``axis``; of the flattened tensor when None."""
    return _arg("argmin", x, axis, keepdims)


def _count(v: Variable, axis: Any) -> Any:
    """Number of elements reduced over ``axis``: an int when static, else a symbolic scalar."""
    axes = normalize_axes("var", axis, v.ndim)
    axes = tuple(range(v.ndim)) if axes is None else axes
    dims = [v.type.shape[a] for a in axes]
    if builtins.all(isinstance(d, int) for d in dims):
        return int(np.prod(dims)) if dims else 1
    return cast(prod(v.shape[list(axes)] if len(axes) > 1 else v.shape[axes[0]]), v.dtype)


def var(x: Any, axis: Any = None, keepdims: bool = False, ddof: int = 0, corrected: bool = False) -> Variable:
    """Variance over ``axis`` (``ddof=1`` or ``corrected=True`` for the unbiased estimate)."""
    v = as_tensor_variable(x)
    if np.dtype(v.dtype).kind != "f":
        v = cast(v, config.floatX)
    ddof = 1 if corrected else ddof
    centered = sub(v, mean(v, axis=axis, keepdims=True))
    out = mean(sqr(centered), axis=axis, keepdims=keepdims)
    if ddof:
        n = _count(v, axis)
        out = out * true_div(n, n - ddof) if not isinstance(n, int) else out * (n / (n - ddof))
    return out


def std(x: Any, axis: Any = None, keepdims: bool = False, ddof: int = 0, corrected: bool = False) -> Variable:
    """Standard deviation over ``axis``."""
    return sqrt(var(x, axis=axis, keepdims=keepdims, ddof=ddof, corrected=corrected))
