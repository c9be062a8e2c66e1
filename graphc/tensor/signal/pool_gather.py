"""Pooling with window sizes, strides or paddings known only at run time.

ONNX's ``MaxPool``/``AveragePool`` take their window as static attributes, so
when ``ws``, ``stride`` or ``pad`` is symbolic (Theano 0.9+ accepts int
vectors) the pooling is built from plain ops instead: along each pooled axis
an ``(n_windows, window)`` matrix of input positions is computed in the graph
(``arange``), the input is gathered at those positions (``take``), positions
outside the input are masked, and the window axes are reduced.  The result is
exactly Theano's: padding never wins a maximum, ``average_inc_pad`` divides by
the window's size inside the padded input, ``average_exc_pad`` by the number
of real elements, and ``ignore_border=False`` keeps a last partial window.
Gradients follow from those of ``take``, ``switch`` and the reductions.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...config import config
from ..basic import constant
from ..elemwise import and_, cast, clip, ge, lt, maximum, switch, true_div
from ..indexing import take
from ..reduction import max as reduce_max
from ..reduction import sum as reduce_sum
from ..shape import arange, dim_of
from ..variable import Variable

__all__ = ["pool_gather"]

Size = Any  # a Python int or an int64 scalar variable


def _window_count(size: Size, w: Size, s: Size, p: Size, ignore_border: bool) -> Size:
    """Number of windows along one axis, by Theano's formula."""
    if ignore_border:
        return (size + 2 * p - w) // s + 1
    whole = (size - 1) // s + 1  # stride >= window: every start inside the axis
    partial = (size - 1 - w + s) // s  # stride < window: up to the last window that covers a new element
    overlapping = (maximum(partial, 0) if isinstance(partial, Variable) else max(partial, 0)) + 1
    if isinstance(s, int) and isinstance(w, int):
        return whole if s >= w else overlapping
    return switch(ge(s, w), whole, overlapping)


def _axis_windows(size: Size, w: Size, s: Size, p: Size, ignore_border: bool) -> tuple[Variable, Variable, Variable]:
    """Positions of the windows along one axis.

    Returns
    -------
    index : Variable
        int64 ``(n_windows, w)``, clipped into the axis so a gather never fails.
    real : Variable
        bool ``(n_windows, w)``, True where the position is inside the input.
    padded : Variable
        bool ``(n_windows, w)``, True where the position is inside the padded input.
    """
    count = _window_count(size, w, s, p, ignore_border)
    starts = arange(count, dtype="int64").dimshuffle(0, "x") * s - p
    pos = starts + arange(w, dtype="int64").dimshuffle("x", 0)
    real = and_(ge(pos, 0), lt(pos, size))
    padded = lt(pos, size + p)  # pos >= -p always holds
    return clip(pos, 0, size - 1), real, padded


def _outer(factors: list[Variable], n: int, pair: bool) -> Variable:
    """Broadcast per-axis factors into one tensor over the pooled layout.

    With ``pair`` each factor is ``(n_windows, w)`` and the layout is
    ``(o1, w1, ..., on, wn)``; otherwise each is ``(n_windows,)`` and the layout
    ``(o1, ..., on)``.
    """
    width = 2 if pair else 1
    out: Variable | None = None
    for i, f in enumerate(factors):
        pattern: list[Any] = ["x"] * (width * n)
        for j in range(width):
            pattern[width * i + j] = j
        term = f.dimshuffle(*pattern)
        out = term if out is None else (and_(out, term) if f.dtype == "bool" else out * term)
    assert out is not None
    return out


def pool_gather(x: Variable, n: int, ws: tuple[Size, ...], stride: tuple[Size, ...], pad: tuple[Size, ...],
                ignore_border: bool, mode: str) -> Variable:
    """Pool the last ``n`` axes of ``x`` with run-time window sizes (see the module docstring).

    Parameters
    ----------
    x : Variable
        Any rank >= ``n``; leading axes are batch axes.
    n : int
        Number of pooled (trailing) axes.
    ws, stride, pad : tuple of n (int or int64 scalar variable)
        Window, stride and padding per pooled axis; ``pad`` must be smaller
        than ``ws`` (as in Theano) and 0 without ``ignore_border``.
    ignore_border : bool
    mode : {'max', 'sum', 'average_inc_pad', 'average_exc_pad'}

    Returns
    -------
    Variable
        ``x.shape[:-n] + (n_windows_1, ..., n_windows_n)``.
    """
    if x.dtype == "bool" and mode == "max":
        return cast(pool_gather(cast(x, "uint8"), n, ws, stride, pad, ignore_border, mode), "bool")
    if mode != "max" and np.dtype(x.dtype).kind != "f":
        x = cast(x, config.floatX)
    lead = x.ndim - n
    sizes = [dim_of(x, lead + i) for i in range(n)]
    axes = [_axis_windows(sizes[i], ws[i], stride[i], pad[i], ignore_border) for i in range(n)]
    g = x
    for i in reversed(range(n)):  # last axis first, so the earlier axes keep their positions
        g = take(g, axes[i][0], axis=lead + i)
    real = _outer([a[1] for a in axes], n, pair=True)
    window_axes = tuple(lead + 2 * i + 1 for i in range(n))
    if mode == "max":
        dt = np.dtype(x.dtype)
        low = -np.inf if dt.kind == "f" else np.iinfo(dt).min
        return reduce_max(switch(real, g, constant(np.asarray(low, dtype=dt))), axis=window_axes)
    total = reduce_sum(switch(real, g, constant(np.asarray(0, dtype=x.dtype))), axis=window_axes)
    if mode == "sum":
        return total
    which = 1 if mode == "average_exc_pad" else 2
    counts = [reduce_sum(cast(a[which], "int64"), axis=1) for a in axes]
    return true_div(total, cast(_outer(counts, n, pair=False), x.dtype))
