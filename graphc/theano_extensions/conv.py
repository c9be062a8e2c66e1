"""Lasagne's alternative 1-d convolutions (``lasagne.theano_extensions.conv``).

Upstream implements one 1-d convolution six ways (a 2-d convolution over a
single channel, 2-d convolutions with a unit axis, stride folding, and dot
products), each a different Theano graph computing the same numbers.  Here
they share one expression, graphc's 1-d ``conv`` op (ONNX ``Conv``); what
stays per variant is the argument handling upstream has: which border modes
and strides each accepts, which shapes it needs, and what it raises.

Every variant takes ``input`` as ``(batch, channels, length)`` and
``filters`` as ``(num_filters, channels, filter_length)`` and returns
``(batch, num_filters, output_length)``.  ``filter_flip=True`` (the default)
convolves; ``False`` cross-correlates.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..tensor.basic import as_tensor_variable
from ..tensor.conv import conv_nd
from ..tensor.variable import Variable

__all__ = ["conv1d_sc", "conv1d_mc0", "conv1d_mc1", "conv1d_unstrided", "conv1d_sd", "conv1d_md"]

_VALID_MODES = ("valid", 0, (0,))


def _only_valid(border_mode: Any, fname: str) -> None:
    """The variants built on reshapes and dot products support no padding."""
    if isinstance(border_mode, np.ndarray) or border_mode not in _VALID_MODES:
        raise RuntimeError(f"Unsupported border_mode for {fname}: {border_mode}")


def _stride(subsample: Any, fname: str) -> int:
    entries = tuple(subsample) if isinstance(subsample, (tuple, list)) else (subsample,)
    if (
        len(entries) != 1
        or not isinstance(entries[0], (int, np.integer))
        or isinstance(entries[0], bool)
        or entries[0] < 1
    ):
        raise ValueError(f"{fname}: subsample must be a tuple of one positive int, got {subsample!r}")
    return int(entries[0])


def _unpack(shape: Any, what: str, fname: str) -> tuple[Any, Any, Any]:
    """Upstream unpacks the shapes into three names; a missing or wrong shape fails there."""
    if shape is None:
        raise TypeError(f"{fname}: {what} is required: (batch, channels, length) / (filters, channels, length)")
    entries = tuple(shape)
    if len(entries) != 3:
        raise ValueError(f"{fname}: {what} {entries} must have 3 entries")
    return entries[0], entries[1], entries[2]


def _check_filter_stride(filter_length: Any, stride: int) -> None:
    if not isinstance(filter_length, (int, np.integer)):
        raise ValueError(f"the filter length in filter_shape must be an int, got {filter_length!r}")
    if filter_length % stride > 0:
        raise RuntimeError(f"Filter length ({filter_length}) is not a multiple of the stride ({stride})")


def _conv(
    fname: str,
    input: Any,
    filters: Any,
    image_shape: Any,
    filter_shape: Any,
    border_mode: Any,
    stride: int,
    filter_flip: bool,
    num_groups: int = 1,
) -> Variable:
    return conv_nd(
        input, filters, 1, image_shape, filter_shape, border_mode, (stride,), filter_flip, 1, num_groups, fname
    )


def _multi_channel_mode(border_mode: Any, fname: str) -> Any:
    """``'valid'``, ``'full'``, ``'half'``, an int, or a one-entry tuple (upstream unwraps it)."""
    if isinstance(border_mode, tuple) and len(border_mode) != 1:
        raise ValueError(f"{fname}: invalid border_mode {border_mode!r}; a tuple must have one entry")
    return border_mode


def conv1d_sc(
    input: Any,  # noqa: A002  (upstream's name)
    filters: Any,
    image_shape: Any = None,
    filter_shape: Any = None,
    border_mode: Any = "valid",
    subsample: Any = (1,),
    filter_flip: bool = True,
) -> Variable:
    """1-d convolution that upstream computes as a 2-d convolution over a single input channel.

    Parameters
    ----------
    input : tensor
        ``(batch, channels, length)``.
    filters : tensor
        ``(num_filters, channels, filter_length)``.
    image_shape, filter_shape : tuple, optional
        Shape hints, checked against the static sizes.
    border_mode : {'valid', 0, (0,)}
        No padding is supported.
    subsample : tuple of one int
        The stride.
    filter_flip : bool
        True convolves, False cross-correlates.

    Returns
    -------
    Variable
        ``(batch, num_filters, (length - filter_length) // stride + 1)``.

    Raises
    ------
    RuntimeError
        For any other ``border_mode``.
    ValueError
        For wrong ranks, mismatched channels or shape hints.

    Notes
    -----
    Upstream pre-flips the filters' channel axis so that the 2-d convolution's
    own flip undoes it; with ``filter_flip=False`` nothing undoes it, so
    upstream cross-correlates each filter with the input channels in reverse
    order.  graphc gives the same numbers (the channel axis of the filters is
    reversed when ``filter_flip=False``), so weights trained upstream port
    unchanged; with one input channel this is the plain cross-correlation.
    """
    _only_valid(border_mode, "conv1d_sc")
    stride = _stride(subsample, "conv1d_sc")
    if not filter_flip:
        filters = as_tensor_variable(filters)
        if filters.ndim == 3:
            filters = filters[:, ::-1, :]
    return _conv("conv1d_sc", input, filters, image_shape, filter_shape, "valid", stride, filter_flip)


def conv1d_mc0(
    input: Any,  # noqa: A002
    filters: Any,
    image_shape: Any = None,
    filter_shape: Any = None,
    border_mode: Any = "valid",
    subsample: Any = (1,),
    filter_flip: bool = True,
    num_groups: int = 1,
) -> Variable:
    """1-d convolution that upstream computes as a 2-d convolution with a unit height axis.

    Parameters
    ----------
    input : tensor
        ``(batch, channels, length)``.
    filters : tensor
        ``(num_filters, channels / num_groups, filter_length)``.
    image_shape, filter_shape : tuple, optional
        Shape hints, checked against the static sizes; ``filter_shape`` gives
        the filter length for ``'full'``/``'half'`` where the filters' type
        does not.
    border_mode : {'valid', 'full', 'half'}, int, or tuple of one entry
        ``'full'`` pads ``filter_length - 1`` and ``'half'`` pads
        ``filter_length // 2`` at both ends; an int (or ``(int,)``) pads that
        much at both ends; ``((before, after),)`` pads unevenly.
    subsample : tuple of one int
        The stride.
    filter_flip : bool
        True convolves, False cross-correlates.
    num_groups : int
        Grouped convolution: channels and filters split into this many groups.

    Returns
    -------
    Variable
        ``(batch, num_filters, output_length)``.

    Raises
    ------
    ValueError
        For an invalid ``border_mode``, wrong ranks, mismatched channels or
        shape hints.
    """
    mode = _multi_channel_mode(border_mode, "conv1d_mc0")
    stride = _stride(subsample, "conv1d_mc0")
    return _conv("conv1d_mc0", input, filters, image_shape, filter_shape, mode, stride, filter_flip, num_groups)


def conv1d_mc1(
    input: Any,  # noqa: A002
    filters: Any,
    image_shape: Any = None,
    filter_shape: Any = None,
    border_mode: Any = "valid",
    subsample: Any = (1,),
    filter_flip: bool = True,
    num_groups: int = 1,
) -> Variable:
    """1-d convolution that upstream computes as a 2-d convolution with a unit width axis.

    The arguments, result and errors are those of :func:`conv1d_mc0`.

    Parameters
    ----------
    input : tensor
        ``(batch, channels, length)``.
    filters : tensor
        ``(num_filters, channels / num_groups, filter_length)``.
    image_shape, filter_shape : tuple, optional
    border_mode : {'valid', 'full', 'half'}, int, or tuple of one entry
    subsample : tuple of one int
    filter_flip : bool
    num_groups : int

    Returns
    -------
    Variable
        ``(batch, num_filters, output_length)``.
    """
    mode = _multi_channel_mode(border_mode, "conv1d_mc1")
    stride = _stride(subsample, "conv1d_mc1")
    return _conv("conv1d_mc1", input, filters, image_shape, filter_shape, mode, stride, filter_flip, num_groups)


def conv1d_unstrided(
    input: Any,  # noqa: A002
    filters: Any,
    image_shape: Any,
    filter_shape: Any,
    border_mode: Any = "valid",
    subsample: Any = (1,),
    filter_flip: bool = True,
    implementation: Callable[..., Variable] = conv1d_sc,
) -> Variable:
    """Strided 1-d convolution computed as an unstrided one over stride-folded channels.

    The input is cut to a multiple of the stride and reshaped so that each
    phase of the stride becomes a channel; the filters are folded to match;
    ``implementation`` then convolves with stride 1.  The result equals a
    strided valid convolution.

    Parameters
    ----------
    input : tensor
        ``(batch, channels, length)``.
    filters : tensor
        ``(num_filters, channels, filter_length)``.
    image_shape : tuple of int
        ``(batch, channels, length)``; required (the folding needs the
        length; the batch may be None).
    filter_shape : tuple of int
        ``(num_filters, channels, filter_length)``; required.
    border_mode : {'valid', 0, (0,)}
        No padding is supported.
    subsample : tuple of one int
        The stride; it must divide the filter length.
    filter_flip : bool
        True convolves, False cross-correlates.
    implementation : callable
        The unstrided 1-d convolution to call as
        ``implementation(input, filters, image_shape, filter_shape, border_mode, subsample=(1,))``.

    Returns
    -------
    Variable
        ``(batch, num_filters, (length - filter_length) // stride + 1)``.

    Raises
    ------
    RuntimeError
        When the stride does not divide the filter length, or for a
        ``border_mode`` other than valid (upstream asserted here).
    TypeError, ValueError
        For missing or malformed shapes.
    """
    fname = "conv1d_unstrided"
    batch, channels, length = _unpack(image_shape, "image_shape", fname)
    num_filters, channels_, filter_length = _unpack(filter_shape, "filter_shape", fname)
    stride = _stride(subsample, fname)
    _check_filter_stride(filter_length, stride)
    _only_valid(border_mode, fname)
    if not isinstance(length, (int, np.integer)):
        raise ValueError(f"{fname}: the input length in image_shape must be an int, got {image_shape!r}")
    x, w = as_tensor_variable(input), as_tensor_variable(filters)
    # check the hints against the static shapes before any reshape hides them
    conv_nd(x, w, 1, image_shape, filter_shape, "valid", (stride,), True, 1, 1, fname)
    if not filter_flip:
        w = w[:, :, ::-1]
    steps, cut = filter_length // stride, (int(length) // stride) * stride
    b = -1 if batch is None else batch
    # phase j of the stride becomes channel c * stride + j
    x_folded = x[:, :, :cut].reshape((b, channels, cut // stride, stride)).dimshuffle(0, 1, 3, 2)
    x_folded = x_folded.reshape((b, channels * stride, cut // stride))
    # convolving x with w at stride s equals convolving the folded x with
    # g[c * s + j, q] = w[c, q * s + (s - 1 - j)] at stride 1
    w_folded = w.reshape((num_filters, channels_, steps, stride))[:, :, :, ::-1].dimshuffle(0, 1, 3, 2)
    w_folded = w_folded.reshape((num_filters, channels_ * stride, steps))
    folded_image = (batch, channels * stride, cut // stride)
    folded_filter = (num_filters, channels_ * stride, steps)
    return implementation(x_folded, w_folded, folded_image, folded_filter, border_mode, subsample=(1,))


def _dot_variant(
    fname: str,
    input: Any,
    filters: Any,
    image_shape: Any,
    filter_shape: Any,
    border_mode: Any,
    subsample: Any,
    filter_flip: bool,
) -> Variable:
    _only_valid(border_mode, fname)
    _unpack(image_shape, "image_shape", fname)
    filter_length = _unpack(filter_shape, "filter_shape", fname)[2]
    stride = _stride(subsample, fname)
    _check_filter_stride(filter_length, stride)
    return _conv(fname, input, filters, image_shape, filter_shape, "valid", stride, filter_flip)


def conv1d_sd(
    input: Any,  # noqa: A002
    filters: Any,
    image_shape: Any,
    filter_shape: Any,
    border_mode: Any = "valid",
    subsample: Any = (1,),
    filter_flip: bool = True,
) -> Variable:
    """1-d convolution that upstream computes as a single dot product over shifted input windows.

    Parameters
    ----------
    input : tensor
        ``(batch, channels, length)``.
    filters : tensor
        ``(num_filters, channels, filter_length)``.
    image_shape : tuple of int
        ``(batch, channels, length)``; required, checked against the static sizes.
    filter_shape : tuple of int
        ``(num_filters, channels, filter_length)``; required.
    border_mode : {'valid', 0, (0,)}
        No padding is supported.
    subsample : tuple of one int
        The stride; it must divide the filter length.
    filter_flip : bool
        True convolves, False cross-correlates.

    Returns
    -------
    Variable
        ``(batch, num_filters, (length - filter_length) // stride + 1)``.

    Raises
    ------
    RuntimeError
        For a ``border_mode`` other than valid, or a stride that does not
        divide the filter length.
    TypeError, ValueError
        For missing or malformed shapes.
    """
    return _dot_variant("conv1d_sd", input, filters, image_shape, filter_shape, border_mode, subsample, filter_flip)


def conv1d_md(
    input: Any,  # noqa: A002
    filters: Any,
    image_shape: Any,
    filter_shape: Any,
    border_mode: Any = "valid",
    subsample: Any = (1,),
    filter_flip: bool = True,
) -> Variable:
    """1-d convolution that upstream computes as one dot product per filter offset.

    The arguments, result and errors are those of :func:`conv1d_sd`.

    Parameters
    ----------
    input : tensor
        ``(batch, channels, length)``.
    filters : tensor
        ``(num_filters, channels, filter_length)``.
    image_shape : tuple of int
    filter_shape : tuple of int
    border_mode : {'valid', 0, (0,)}
    subsample : tuple of one int
    filter_flip : bool

    Returns
    -------
    Variable
        ``(batch, num_filters, (length - filter_length) // stride + 1)``.
    """
    return _dot_variant("conv1d_md", input, filters, image_shape, filter_shape, border_mode, subsample, filter_flip)
