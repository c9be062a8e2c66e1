"""``theano.tensor.nnet.conv``: the old ``conv2d`` (``image_shape``, ``filter_shape``, flipped filters)."""

from __future__ import annotations

from typing import Any

from ...tensor.conv import conv2d as _conv2d
from ...tensor.variable import Variable

__all__ = ["conv2d"]


def conv2d(
    input: Any,  # noqa: A002
    filters: Any,
    image_shape: Any = None,
    filter_shape: Any = None,
    border_mode: str = "valid",
    subsample: Any = (1, 1),
    **kargs: Any,
) -> Variable:
    """2-d convolution with flipped filters (a true convolution), as the old ``theano.tensor.nnet.conv.conv2d``.

    Parameters
    ----------
    input : tensor
        ``(batch, channels, rows, cols)``.
    filters : tensor
        ``(filters, channels, rows, cols)``.
    image_shape, filter_shape : tuple, optional
        Shape hints, checked against the static sizes.
    border_mode : {'valid', 'full'}
    subsample : tuple of 2 ints
        Strides.
    **kargs
        The old op's tuning options (``unroll_batch``...), ignored.

    Returns
    -------
    Variable
    """
    return _conv2d(
        input,
        filters,
        input_shape=image_shape,
        filter_shape=filter_shape,
        border_mode=border_mode,
        subsample=subsample,
        filter_flip=True,
    )
