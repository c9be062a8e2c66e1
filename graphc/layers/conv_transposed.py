"""Transposed convolution layers (Lasagne's ``TransposedConv2DLayer``/``Deconv2DLayer``
and ``TransposedConv3DLayer``/``Deconv3DLayer``); :mod:`graphc.layers.conv`
re-exports them, where Lasagne defines them.

``output_size`` may be symbolic, as in Lasagne: an integer vector such as
``l_in.input_var.shape[2:]`` or a shared variable, or a tuple whose entries
are ints or symbolic integer scalars.  ONNX ``ConvTranspose`` takes its
``output_padding`` as a static attribute, so for a symbolic size the layer
computes the largest output the strides allow (``output_padding = stride -
1``) and keeps its first ``output_size`` rows.  Padding the smallest output
with zeros would not be exact: along an axis with kernel ``k``, stride ``s``
and crop ``(c_b, c_e)`` the smallest output has ``N0 = (M - 1) s + k - c_b -
c_e`` rows for ``M`` input rows, but row ``j`` receives ``x[i] w[t]`` for every
``i s + t - c_b = j``, which reaches ``j = N0 + c_e - 1``; so the first ``c_e``
rows past ``N0`` are not zero whenever the end is cropped.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import init, nonlinearities
from ..tensor.conv import conv_transpose_nd
from ..tensor.variable import Variable
from .base import format_layer
from .conv import BaseConvLayer, LayerArgumentError, UnsupportedArgumentError, conv_input_length, layer_tuple

__all__ = ["TransposedConv2DLayer", "Deconv2DLayer", "TransposedConv3DLayer", "Deconv3DLayer"]


def _is_int_variable(v: Any, ndim: int) -> bool:
    return isinstance(v, Variable) and v.ndim == ndim and np.dtype(v.dtype).kind in "iu"


def _output_size(layer: Any, output_size: Any, n: int) -> Any:
    """``output_size`` checked: None, a symbolic integer vector of ``n`` sizes, or a tuple of
    ``n`` entries that are ints >= 1 or symbolic integer scalars (an int or a scalar is repeated)."""
    if output_size is None:
        return None
    if isinstance(output_size, Variable) and output_size.ndim == 1:
        length = output_size.type.shape[0]
        if not _is_int_variable(output_size, 1) or (isinstance(length, int) and length != n):
            raise LayerArgumentError(
                f"{format_layer(layer)}: output_size expected a single value or an iterable of int of length {n} "
                f"(or an integer vector of {n} sizes), got {output_size!r} instead"
            )
        return output_size
    if isinstance(output_size, Variable):
        output_size = (output_size,) * n
    try:
        entries = tuple(output_size)
    except TypeError:
        entries = (output_size,) * n
    if not any(isinstance(v, Variable) for v in entries):
        return layer_tuple(layer, entries, n, "output_size")
    if len(entries) != n or not all(_is_int_variable(v, 0) or not isinstance(v, Variable) for v in entries):
        raise LayerArgumentError(
            f"{format_layer(layer)}: output_size expected a single value or an iterable of int of length {n} "
            f"(ints or symbolic integer scalars), got {output_size!r} instead"
        )
    static = [v for v in entries if not isinstance(v, Variable)]
    if static:
        layer_tuple(layer, static, len(static), "output_size")
    return tuple(v if isinstance(v, Variable) else int(v) for v in entries)


class _TransposedConvLayer(BaseConvLayer):
    """The input gradient of a convolution whose weights are ``W``."""

    _n = 2
    _crops = True

    def __init__(self, incoming: Any, num_filters: int, filter_size: Any, stride: Any, crop: Any, untie_biases: bool,
                 W: Any, b: Any, nonlinearity: Any, flip_filters: bool, output_size: Any, **kwargs: Any) -> None:
        self.name = kwargs.get("name")
        # set before the base constructor, which asks for the output shape
        self.output_size = _output_size(self, output_size, self._n)
        if kwargs.get("num_groups", 1) != 1:
            raise UnsupportedArgumentError(f"{format_layer(self)} does not support num_groups")
        super().__init__(incoming, num_filters, filter_size, stride, crop, untie_biases, W, b, nonlinearity,
                         flip_filters, n=self._n, **kwargs)
        self.crop = self.pad
        del self.pad

    def get_W_shape(self) -> tuple[int, ...]:  # noqa: N802  (Lasagne's name)
        """The shape of ``W``: ``(channels, num_filters, *filter_size)``."""
        return (self.input_shape[1], self.num_filters) + self.filter_size

    def get_output_shape_for(self, input_shape: Any) -> Any:
        """``output_size`` where given (None for its symbolic entries), else the smallest output."""
        if isinstance(self.output_size, Variable):
            return (input_shape[0], self.num_filters) + (None,) * self.n
        if self.output_size is not None:
            return (input_shape[0], self.num_filters) + tuple(
                None if isinstance(s, Variable) else s for s in self.output_size
            )
        crop = getattr(self, "crop", getattr(self, "pad", None))
        crop = crop if isinstance(crop, tuple) else (crop,) * self.n
        return (input_shape[0], self.num_filters) + tuple(
            conv_input_length(i, f, s, c) for i, f, s, c in zip(input_shape[2:], self.filter_size, self.stride, crop)
        )

    def convolve(self, input: Any, **kwargs: Any) -> Variable:  # noqa: A002
        border_mode = "half" if self.crop == "same" else self.crop
        try:
            return conv_transpose_nd(
                self._checked_input(input), self.W, self.n, self.output_size, border_mode, self.stride,
                filter_flip=not self.flip_filters, fname=format_layer(self),
            )
        except ValueError as exc:
            if format_layer(self) in str(exc):
                raise
            raise ValueError(f"{format_layer(self)}: {exc}") from None


class TransposedConv2DLayer(_TransposedConvLayer):
    """Transposed 2-d convolution (the input gradient of a :class:`Conv2DLayer`).

    Parameters
    ----------
    incoming : Layer or tuple
        ``(batch, channels, rows, cols)``.
    num_filters : int
    filter_size, stride : int or tuple of 2 ints
        Those of the forward convolution.
    crop : int, tuple, 'valid', 'full' or 'same'
        The forward convolution's padding, cropped from the output.
    untie_biases, b, nonlinearity :
        As for :class:`BaseConvLayer`.
    W : initializer, array or shared variable
        Shape ``(channels, num_filters, rows, cols)``.
    flip_filters : bool
        False (the default) cross-correlates the stride-dilated input with
        ``W``, True convolves (the reverse of a normal convolution layer).
    output_size : int, tuple of 2, or integer vector, optional
        Sizes up to ``stride - 1`` larger than the smallest output (extra rows
        and columns at the end).  Entries may be symbolic (e.g.
        ``l_in.input_var.shape[2:]``); the output shape then holds None for
        them.  A symbolic size outside the reachable range is not checked at
        run time (Theano raised there).
    """

    _n = 2

    def __init__(self, incoming: Any, num_filters: int, filter_size: Any, stride: Any = (1, 1), crop: Any = 0,
                 untie_biases: bool = False, W: Any = init.GlorotUniform(), b: Any = init.Constant(0.0),
                 nonlinearity: Any = nonlinearities.rectify, flip_filters: bool = False, output_size: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(incoming, num_filters, filter_size, stride, crop, untie_biases, W, b, nonlinearity,
                         flip_filters, output_size, **kwargs)


class TransposedConv3DLayer(_TransposedConvLayer):
    """Transposed 3-d convolution; the arguments are those of :class:`TransposedConv2DLayer`
    with three spatial axes (``W`` of shape ``(channels, num_filters, depth, rows, cols)``)."""

    _n = 3

    def __init__(self, incoming: Any, num_filters: int, filter_size: Any, stride: Any = (1, 1, 1), crop: Any = 0,
                 untie_biases: bool = False, W: Any = init.GlorotUniform(), b: Any = init.Constant(0.0),
                 nonlinearity: Any = nonlinearities.rectify, flip_filters: bool = False, output_size: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(incoming, num_filters, filter_size, stride, crop, untie_biases, W, b, nonlinearity,
                         flip_filters, output_size, **kwargs)


Deconv2DLayer = TransposedConv2DLayer
Deconv3DLayer = TransposedConv3DLayer
