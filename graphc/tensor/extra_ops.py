"""``theano.tensor.extra_ops``: the functions graphc builds from its existing ops.

``cumsum`` is a product with a triangular matrix of ones (``O(n^2)`` work along the
summed axis; differentiable, any length).  ``repeat`` is :func:`graphc.tensor.repeat`.
Theano's other extra ops (``cumprod``, ``bincount``, ``unique``, ``searchsorted``...) are
not provided.
"""

from __future__ import annotations

from typing import Any

from ..config import config
from .basic import as_tensor_variable
from .elemwise import cast, eq, le
from .extra_shape import repeat
from .linalg import dot
from .shape import arange, flatten, squeeze
from .variable import Variable

__all__ = ["cumsum", "diff", "to_one_hot", "fill_diagonal", "squeeze", "repeat"]


def _axis(axis: int, ndim: int, fn: str) -> int:
    if not -ndim <= axis < ndim:
        raise ValueError(f"{fn}: axis {axis} is out of range for a {ndim}-d tensor")
    return axis % ndim


def _move_last(v: Variable, axis: int) -> tuple[Variable, list[int]]:
    order = [i for i in range(v.ndim) if i != axis] + [axis]
    back = [order.index(i) for i in range(v.ndim)]
    return v.dimshuffle(*order), back


def cumsum(x: Any, axis: int | None = None) -> Variable:
    """Cumulative sum along ``axis`` (the flattened tensor when None), as ``numpy.cumsum``.

    Parameters
    ----------
    x : tensor
    axis : int, optional

    Returns
    -------
    Variable
    """
    v = as_tensor_variable(x)
    if axis is None:
        v, axis = flatten(v), 0
    ax = _axis(axis, v.ndim, "cumsum")
    moved, back = _move_last(v, ax)
    n = v.shape[ax]
    idx = arange(n)
    tri = cast(le(idx.dimshuffle(0, "x"), idx.dimshuffle("x", 0)), v.dtype)  # tri[i, j] = i <= j
    return dot(moved, tri).dimshuffle(*back)


def diff(x: Any, n: int = 1, axis: int = -1) -> Variable:
    """The ``n``-th discrete difference along ``axis``, as ``numpy.diff``.

    Parameters
    ----------
    x : tensor
    n : int
    axis : int

    Returns
    -------
    Variable
    """
    v = as_tensor_variable(x)
    ax = _axis(axis, v.ndim, "diff")
    head = (slice(None),) * ax
    for _ in range(int(n)):
        v = v[(*head, slice(1, None))] - v[(*head, slice(None, -1))]
    return v


def to_one_hot(y: Any, nb_class: int, dtype: Any = None) -> Variable:
    """One-hot rows for the integer vector ``y``: ``out[i, y[i]] = 1``.

    Parameters
    ----------
    y : int vector
    nb_class : int
    dtype : str, optional
        Defaults to ``config.floatX``.

    Returns
    -------
    Variable
        Shape ``(len(y), nb_class)``.
    """
    v = as_tensor_variable(y)
    if v.ndim != 1:
        raise TypeError(f"to_one_hot: y must be a vector, got {v!r}")
    return cast(eq(v.dimshuffle(0, "x"), arange(nb_class).dimshuffle("x", 0)), dtype or config.floatX)


def fill_diagonal(a: Any, val: Any) -> Variable:
    """``a`` with its main diagonal set to the scalar ``val`` (2-d ``a``).

    Parameters
    ----------
    a : matrix
    val : scalar

    Returns
    -------
    Variable
    """
    m = as_tensor_variable(a)
    if m.ndim != 2:
        raise TypeError(f"fill_diagonal: a must be a matrix here, got {m!r}")
    rows, cols = arange(m.shape[0]), arange(m.shape[1])
    on = cast(eq(rows.dimshuffle(0, "x"), cols.dimshuffle("x", 0)), m.dtype)
    return m * (1 - on) + cast(as_tensor_variable(val), m.dtype) * on
