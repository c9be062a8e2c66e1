"""Reductions over axes (sum, mean, max, min, prod) and arg-reductions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..registry import register_op
from ..types import TensorType, format_shape
from .elemwise import FLOATS, NUMBERS


def normalize_axes(op: str, axes: Any, ndim: int) -> tuple[int, ...] | None:
    """Axes as a sorted tuple of non-negative ints, or None for all.

    Raises
    ------
    ValueError
        If an axis is out of range or repeated.
    """
    if axes is None:
        return None
    if isinstance(axes, (int, np.integer)):
        axes = (int(axes),)
    out = []
    for a in axes:
        if not isinstance(a, (int, np.integer)) or isinstance(a, bool):
            raise TypeError(f"{op}: axis must be an int, got {a!r}")
        if not -ndim <= a < ndim:
            raise ValueError(f"{op}: axis {a} is out of range for a tensor of {ndim} dims")
        out.append(int(a) % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: repeated axis in {tuple(axes)}")
    return tuple(sorted(out))


def reduced_shape(shape: tuple, axes: tuple[int, ...] | None, keepdims: bool) -> tuple:
    """Shape after reducing ``axes`` (all when None)."""
    axes_set = set(range(len(shape))) if axes is None else set(axes)
    if keepdims:
        return tuple(1 if i in axes_set else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes_set)


def _reduce_infer(op: str, allowed: tuple[str, ...]) -> Callable[..., list[TensorType]]:
    def infer(types: list[TensorType], axes: tuple[int, ...] | None = None, keepdims: bool = False) -> list[TensorType]:
        (t,) = types
        if t.dtype not in allowed:
            raise TypeError(f"{op}: input has dtype {t.dtype}, expected one of {', '.join(allowed)}")
        norm = normalize_axes(op, axes, t.ndim)
        if norm is not None and (norm != axes or len(norm) == 0):
            raise ValueError(f"{op}: axes must be a non-empty sorted tuple of non-negative ints, got {axes!r}")
        if op in ("reduce_max", "reduce_min"):
            for a in norm if norm is not None else range(t.ndim):
                if t.shape[a] == 0:
                    raise ValueError(f"{op}: cannot reduce over axis {a} of size 0 in {format_shape(t.shape)}")
        return [TensorType(t.dtype, reduced_shape(t.shape, norm, keepdims))]

    return infer


def _reduce_eval(fn: Callable[..., np.ndarray]) -> Callable[..., list[np.ndarray]]:
    def ev(xs: list[np.ndarray], axes: tuple[int, ...] | None = None, keepdims: bool = False) -> list[np.ndarray]:
        x = xs[0]
        return [np.asarray(fn(x, axis=axes, keepdims=keepdims)).astype(x.dtype, copy=False)]

    return ev


def _prod_value(values: list[Any], types: list[TensorType], axes: Any = None, keepdims: bool = False) -> Any:
    """x.size and friends: the product of a known shape vector stays symbolic."""
    from ..types import dim_product

    v = values[0]
    if types[0].ndim != 1 or keepdims or v is None or any(e is None for e in v):
        return None
    return dim_product(list(v))


REDUCTIONS = {
    "reduce_sum": (np.sum, NUMBERS, None, "sum over axes"),
    "reduce_mean": (np.mean, FLOATS, None, "mean over axes"),
    "reduce_max": (np.max, NUMBERS, None, "maximum over axes"),
    "reduce_min": (np.min, NUMBERS, None, "minimum over axes"),
    "reduce_prod": (np.prod, NUMBERS, _prod_value, "product over axes"),
}

for _name, (_fn, _allowed, _value, _doc) in REDUCTIONS.items():
    register_op(_name, infer=_reduce_infer(_name, _allowed), eval=_reduce_eval(_fn), arity=1, value=_value, doc=_doc)


def _arg_infer(op: str) -> Callable[..., list[TensorType]]:
    def infer(types: list[TensorType], axis: int = 0, keepdims: bool = False) -> list[TensorType]:
        (t,) = types
        if t.dtype not in NUMBERS:
            raise TypeError(f"{op}: input has dtype {t.dtype}, expected a number type")
        if t.ndim == 0 or not 0 <= axis < t.ndim:
            raise ValueError(f"{op}: axis {axis} is out of range for shape {format_shape(t.shape)}")
        if t.shape[axis] == 0:
            raise ValueError(f"{op}: axis {axis} has size 0 in {format_shape(t.shape)}")
        return [TensorType("int64", reduced_shape(t.shape, (axis,), keepdims))]

    return infer


def _arg_eval(fn: Callable[..., np.ndarray]) -> Callable[..., list[np.ndarray]]:
    def ev(xs: list[np.ndarray], axis: int = 0, keepdims: bool = False) -> list[np.ndarray]:
        return [np.asarray(fn(xs[0], axis=axis, keepdims=keepdims)).astype(np.int64)]

    return ev


register_op("argmax", infer=_arg_infer("argmax"), eval=_arg_eval(np.argmax), arity=1, doc="index of the first maximum")
register_op("argmin", infer=_arg_infer("argmin"), eval=_arg_eval(np.argmin), arity=1, doc="index of the first minimum")
