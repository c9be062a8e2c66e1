"""Pooling as Theano's ``theano.tensor.signal.pool``: :func:`pool_2d`, :func:`pool_3d`.

The pooled axes are the trailing ones; any leading axes are batch axes.
Padding never wins a maximum, and averages include it (``average_inc_pad``)
or not (``average_exc_pad``).  ``ignore_border=False`` keeps a last partial
window along each axis, averaged over the elements it holds.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...config import config
from ...ir.ops.pool import pool_windows
from ...ir.types import Dim, format_shape
from ..basic import as_tensor_variable, constant
from ..elemwise import cast, mul
from ..shape import dim_of, reshape
from ..variable import Variable, apply_op
from .pool_gather import pool_gather

__all__ = ["pool_2d", "pool_3d", "pool_nd", "MODES"]

#: pooling modes, as Theano names them
MODES = ("max", "sum", "average_inc_pad", "average_exc_pad")


def _ints(value: Any, n: int, what: str, minimum: int) -> tuple[Any, ...]:
    """``n`` sizes from an int, a tuple of ints and int scalars, or an int vector.

    Static entries come back as ints; symbolic ones as int64 scalar variables
    (Theano 0.9+ takes ``ws``, ``stride`` and ``pad`` as symbolic vectors).
    """
    if isinstance(value, Variable):
        if np.dtype(value.dtype).kind not in "iu" or value.ndim > 1:
            raise ValueError(f"{what} must be an int or a tuple of {n} ints, got {value!r}")
        if value.ndim == 0:
            return (cast(value, "int64"),) * n
        if isinstance(value.type.shape[0], int) and value.type.shape[0] != n:
            raise ValueError(f"{what} must hold {n} entries, got {value!r}")
        return tuple(cast(value[i], "int64") for i in range(n))
    if isinstance(value, np.ndarray):
        value = value.tolist()
    vals = tuple(value) if isinstance(value, (tuple, list)) else (value,) * n
    ok = all(
        (isinstance(v, (int, np.integer)) and not isinstance(v, bool))
        or (isinstance(v, Variable) and v.ndim == 0 and np.dtype(v.dtype).kind in "iu")
        for v in vals
    )
    if len(vals) != n or not ok:
        raise ValueError(f"{what} must be an int or a tuple of {n} ints, got {value!r}")
    if any(not isinstance(v, Variable) and v < minimum for v in vals):
        raise ValueError(f"{what} entries must be >= {minimum}, got {value!r}")
    return tuple(cast(v, "int64") if isinstance(v, Variable) else int(v) for v in vals)


def _pool_bc(
    x: Variable, ws: tuple[int, ...], stride: tuple[int, ...], pad: tuple[int, ...], ignore_border: bool, mode: str,
    fname: str,
) -> Variable:
    """Pool the spatial axes of a ``(batch, channels, *spatial)`` tensor."""
    spatial = x.type.shape[2:]
    window = list(ws)
    if not ignore_border:
        for i, size in enumerate(spatial):
            # a window longer than the axis pools the whole axis into one value
            if isinstance(size, int) and 0 < size < window[i]:
                window[i] = size
    attrs: dict[str, Any] = dict(kernel_shape=tuple(window), strides=stride, pads=pad + pad, ceil_mode=not ignore_border)
    if mode == "max":
        if x.dtype == "bool":
            return cast(_pool_bc(cast(x, "uint8"), ws, stride, pad, ignore_border, mode, fname), "bool")
        if x.dtype in ("int16", "int32"):
            return cast(_pool_bc(cast(x, "float64"), ws, stride, pad, ignore_border, mode, fname), x.dtype)
        return apply_op("max_pool", [x], **attrs)  # type: ignore[return-value]
    if np.dtype(x.dtype).kind != "f":
        x = cast(x, config.floatX)
    include = mode != "average_exc_pad"
    y: Variable = apply_op("avg_pool", [x], count_include_pad=include, **attrs)  # type: ignore[assignment]
    if mode != "sum":
        return y
    if ignore_border:
        return mul(y, float(np.prod(window)))
    if any(isinstance(d, Dim) for d in spatial):
        raise NotImplementedError(
            f"{fname}: mode='sum' with ignore_border=False needs static spatial sizes, got {format_shape(x.type.shape)}"
        )
    counts = np.ones((1, 1))
    for i, size in enumerate(spatial):
        sizes = [len(w) for w in pool_windows(int(size), window[i], stride[i], pad[i], pad[i], True)]
        counts = np.multiply.outer(counts, np.array(sizes, dtype=np.float64))
    return mul(y, constant(counts.astype(y.dtype)))


def pool_nd(
    input: Any,  # noqa: A002  (Theano's name)
    n: int,
    ws: Any,
    ignore_border: bool | None = None,
    stride: Any = None,
    pad: Any = 0,
    mode: str = "max",
    fname: str = "pool_nd",
) -> Variable:
    """Pool the last ``n`` axes of ``input`` (see :func:`pool_2d`)."""
    x = as_tensor_variable(input)
    if x.ndim < n:
        raise ValueError(f"{fname}: input must have at least {n} dims, got {x!r}")
    if mode not in MODES:
        raise ValueError(f"{fname}: mode must be one of {', '.join(MODES)}; got {mode!r}")
    w = _ints(ws, n, f"{fname}: ws", 1)
    s = w if stride is None else _ints(stride, n, f"{fname}: stride", 1)
    p = _ints(0 if pad is None else pad, n, f"{fname}: pad", 0)
    ignore_border = bool(ignore_border)
    static = all(isinstance(v, int) for v in w + s + p)
    if any(not isinstance(pi, int) or pi != 0 for pi in p) and not ignore_border:
        raise ValueError(f"{fname}: padding works only with ignore_border=True, got pad={p}")
    if any(isinstance(pi, int) and isinstance(wi, int) and pi >= wi for pi, wi in zip(p, w)):
        raise ValueError(f"{fname}: each pad must be smaller than the pooling window, got pad={p} for ws={w}")
    if not static or (mode == "sum" and not ignore_border and any(isinstance(d, Dim) for d in x.type.shape[-n:])):
        # run-time windows, or partial windows summed over sizes known only at run time
        return pool_gather(x, n, w, s, p, ignore_border, mode)
    if x.ndim == n + 2:
        return _pool_bc(x, w, s, p, ignore_border, mode, fname)
    lead = [dim_of(x, i) for i in range(x.ndim - n)]
    spatial = [dim_of(x, i) for i in range(x.ndim - n, x.ndim)]
    y = _pool_bc(reshape(x, [-1, 1] + spatial), w, s, p, ignore_border, mode, fname)
    return reshape(y, lead + [dim_of(y, 2 + i) for i in range(n)])


def pool_2d(
    input: Any,  # noqa: A002
    ws: Any = None,
    ignore_border: bool | None = None,
    stride: Any = None,
    pad: Any = (0, 0),
    mode: str = "max",
    ds: Any = None,
    st: Any = None,
    padding: Any = None,
) -> Variable:
    """Pool the last two axes, as Theano's ``pool_2d``.

    Parameters
    ----------
    input : tensor
        At least 2 dims; the last two are pooled, any others are batch axes.
    ws : int, tuple of 2 ints or int scalars, or int vector
        Window size.  Symbolic sizes (as Theano 0.9+ takes) pool through
        gathered windows (:mod:`graphc.tensor.signal.pool_gather`) instead of
        ONNX's pooling ops, whose windows are static attributes.
    ignore_border : bool
        True drops a partial window at the end of an axis; False (the
        default, as Theano's when it is not given) keeps it.
    stride : like ``ws``, optional
        Defaults to ``ws``.
    pad : like ``ws``, or None
        Padding on both sides of each axis; needs ``ignore_border=True`` and
        must be smaller than ``ws`` (checked when both are static).
    mode : {'max', 'sum', 'average_inc_pad', 'average_exc_pad'}
    ds, st, padding :
        Old names of ``ws``, ``stride`` and ``pad``.

    Returns
    -------
    Variable

    Raises
    ------
    ValueError
        For an unknown mode, padding without ``ignore_border``, or a window
        larger than the padded input.
    """
    ws = ds if ws is None else ws
    if ws is None:
        raise TypeError("pool_2d: ws is required")
    return pool_nd(input, 2, ws, ignore_border, st if stride is None else stride,
                   padding if padding is not None else pad, mode, "pool_2d")


def pool_3d(
    input: Any,  # noqa: A002
    ws: Any = None,
    ignore_border: bool | None = None,
    stride: Any = None,
    pad: Any = (0, 0, 0),
    mode: str = "max",
    ds: Any = None,
    st: Any = None,
    padding: Any = None,
) -> Variable:
    """Pool the last three axes, as Theano's ``pool_3d``; the arguments are those of :func:`pool_2d`."""
    ws = ds if ws is None else ws
    if ws is None:
        raise TypeError("pool_3d: ws is required")
    return pool_nd(input, 3, ws, ignore_border, st if stride is None else stride,
                   padding if padding is not None else pad, mode, "pool_3d")
