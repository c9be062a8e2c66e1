"""Constant padding, as Lasagne's ``lasagne.theano_extensions.padding``."""

from __future__ import annotations

from typing import Any

from ..tensor.basic import as_tensor_variable
from ..tensor.shape import pad as _tensor_pad
from ..tensor.variable import Variable
from ..utils import int_types

__all__ = ["pad"]


def pad(x: Any, width: Any, val: float = 0, batch_ndim: int = 1) -> Variable:
    """Pad a tensor with a constant value.

    Parameters
    ----------
    x : tensor
        The tensor to pad.
    width : int, iterable of int, or iterable of tuple
        An int pads every axis from ``batch_ndim`` on by that amount at both
        ends.  An iterable gives one entry per axis from ``batch_ndim`` on: an
        int (both ends) or a ``(before, after)`` pair.  Axes past the last
        entry are left alone, as upstream.
    val : float
        The constant written into the padding.
    batch_ndim : int
        The leading axes that are not padded.

    Returns
    -------
    Variable
        ``x`` with the padded axes grown by ``before + after``; the dtype is
        ``x``'s (upstream's result was always ``floatX``, since it wrote ``x``
        into a ``T.zeros`` buffer).

    Raises
    ------
    IndexError
        When ``width`` has more entries than ``x`` has axes past ``batch_ndim``
        (as upstream's indexing did).
    ValueError
        For a negative width or a ``batch_ndim`` outside ``[0, x.ndim]``.
    """
    v = as_tensor_variable(x)
    n = v.ndim - batch_ndim
    if not isinstance(batch_ndim, int_types) or n < 0 or batch_ndim < 0:
        raise ValueError(f"pad: batch_ndim={batch_ndim!r} must be an int in [0, {v.ndim}] for {v!r}")
    entries = [width] * n if isinstance(width, int_types) else list(width)
    if len(entries) > n:
        raise IndexError(f"pad: {len(entries)} widths given for the {n} axes of {v!r} past batch_ndim={batch_ndim}")
    pairs: list[tuple[int, int]] = [(0, 0)] * v.ndim
    for k, entry in enumerate(entries):
        try:
            lo, hi = entry
        except TypeError:
            lo = hi = entry
        if not all(isinstance(e, int_types) for e in (lo, hi)) or lo < 0 or hi < 0:
            raise ValueError(f"pad: widths must be non-negative ints, got {width!r}")
        pairs[batch_ndim + k] = (int(lo), int(hi))
    return _tensor_pad(v, pairs, value=float(val))
