"""``theano.tensor.signal.downsample`` (Theano 0.8): ``max_pool_2d``, renamed ``pool_2d`` later."""

from __future__ import annotations

from typing import Any

from ...tensor.signal.pool import pool_2d
from ...tensor.variable import Variable

__all__ = ["max_pool_2d", "pool_2d"]


def max_pool_2d(
    input: Any,  # noqa: A002
    ds: Any,
    ignore_border: bool | None = None,
    st: Any = None,
    padding: Any = (0, 0),
    mode: str = "max",
) -> Variable:
    """Pool the last two axes (Theano 0.8's name for :func:`graphc.tensor.signal.pool.pool_2d`).

    Parameters
    ----------
    input : tensor
        At least 2 dims; the last two are pooled.
    ds : tuple of 2 ints
        Pool size.
    ignore_border : bool, optional
        Drop partial windows at the border (Theano's default, ``None``, means False then with a warning; here False).
    st : tuple of 2 ints, optional
        Stride, ``ds`` by default.
    padding : tuple of 2 ints
        Zero padding on both sides of each axis.
    mode : {'max', 'sum', 'average_inc_pad', 'average_exc_pad'}

    Returns
    -------
    Variable
    """
    return pool_2d(input, ws=ds, ignore_border=bool(ignore_border), stride=st, pad=padding, mode=mode)
