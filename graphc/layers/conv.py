"""Convolutional layers (Lasagne's ``lasagne.layers.conv``).

``Conv1DLayer``/``Conv2DLayer``/``Conv3DLayer`` convolve (``flip_filters=True``,
Lasagne's default) or cross-correlate; ``TransposedConv2DLayer`` (alias
``Deconv2DLayer``) and ``TransposedConv3DLayer`` compute the input gradient of
a convolution; ``DilatedConv2DLayer`` cross-correlates with a dilated kernel.
Shapes, parameter names, shapes and tags are Lasagne's.

Where Lasagne raises ``TypeError`` or ``NotImplementedError`` for a bad
argument, the error raised here is also a ``ValueError`` (it derives from
both), and its message names the layer.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import init, nonlinearities
from .. import tensor as T
from ..tensor.conv import conv1d, conv2d, conv3d, conv_nd
from ..tensor.variable import Variable
from .base import Layer, format_layer

__all__ = [
    "Conv1DLayer",
    "Conv2DLayer",
    "Conv3DLayer",
    "TransposedConv2DLayer",
    "Deconv2DLayer",
    "TransposedConv3DLayer",
    "Deconv3DLayer",
    "DilatedConv2DLayer",
    "conv_output_length",
    "conv_input_length",
]


class LayerArgumentError(ValueError, TypeError):
    """A layer argument of the wrong type or form (Lasagne raises ``TypeError``)."""


class UnsupportedArgumentError(ValueError, NotImplementedError):
    """A layer argument Lasagne does not implement (it raises ``NotImplementedError``)."""


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def layer_tuple(layer: Any, value: Any, n: int, what: str, minimum: int | None = 1) -> tuple[int, ...]:
    """``value`` as a tuple of ``n`` ints (an int is repeated), or an error naming ``layer``.

    Raises
    ------
    LayerArgumentError
        For non-ints, a wrong length, or entries below ``minimum`` (when not None).
    """
    try:
        vals = tuple(value)
    except TypeError:
        vals = (value,) * n
    if not all(_is_int(v) for v in vals):
        raise LayerArgumentError(
            f"{format_layer(layer)}: {what} expected a single value or an iterable of int of length {n}, "
            f"got {value!r} instead"
        )
    if len(vals) != n:
        raise LayerArgumentError(f"{format_layer(layer)}: {what} must be an int or {n} ints, got {value!r}")
    if minimum is not None and any(v < minimum for v in vals):
        raise LayerArgumentError(f"{format_layer(layer)}: {what} entries must be >= {minimum}, got {value!r}")
    return tuple(int(v) for v in vals)


def conv_output_length(input_length: int | None, filter_size: int, stride: int, pad: Any = 0) -> int | None:
    """Output size of a convolution along one axis (Lasagne's helper).

    Parameters
    ----------
    input_length : int or None
    filter_size : int
    stride : int
    pad : int, 'valid', 'full' or 'same'
        ``'full'`` pads ``filter_size - 1``, ``'same'`` half the filter on both sides.

    Returns
    -------
    int or None
        None when ``input_length`` is None.

    Raises
    ------
    ValueError
        For an invalid ``pad``.
    """
    if input_length is None:
        return None
    if pad == "valid":
        length = input_length - filter_size + 1
    elif pad == "full":
        length = input_length + filter_size - 1
    elif pad == "same":
        length = input_length
    elif _is_int(pad):
        length = input_length + 2 * int(pad) - filter_size + 1
    else:
        raise ValueError(f"Invalid pad: {pad}")
    return (length + stride - 1) // stride


def conv_input_length(output_length: int | None, filter_size: int, stride: int, pad: Any = 0) -> int | None:
    """The smallest input size a convolution maps to ``output_length`` (the output
    size of the transposed convolution; Lasagne's helper).

    Raises
    ------
    ValueError
        For an invalid ``pad``.
    """
    if output_length is None:
        return None
    if pad == "valid":
        pad = 0
    elif pad == "full":
        pad = filter_size - 1
    elif pad == "same":
        pad = filter_size // 2
    if not _is_int(pad):
        raise ValueError(f"Invalid pad: {pad}")
    return (output_length - 1) * stride - 2 * int(pad) + filter_size


class BaseConvLayer(Layer):
    """Base of the convolutional layers: parameters, output shape, bias and nonlinearity.

    Parameters
    ----------
    incoming : Layer or tuple
        Shape ``(batch, channels, *spatial)`` with ``n`` spatial axes.
    num_filters : int
    filter_size : int or tuple of int
    stride : int or tuple of int
    pad : int, tuple of int, 'valid', 'full' or 'same'
        ``'same'`` needs odd filter sizes.
    untie_biases : bool
        One bias per filter and output position (``b`` of shape
        ``(num_filters,) + output_shape[2:]``) instead of one per filter.
    W : initializer, array or shared variable
        Shape :meth:`get_W_shape`.
    b : initializer, array, shared variable or None
    nonlinearity : callable or None
    flip_filters : bool
        True convolves (flips the kernels); False cross-correlates.
    num_groups : int
        Grouped convolution; must divide the channels and ``num_filters``.
    n : int, optional
        Spatial axes, by default from the input shape.

    Raises
    ------
    ValueError
        For an input of the wrong rank or unknown channels, bad sizes or pads,
        or untied biases over unknown output sizes.
    """

    _crops = False  # True where ``pad`` is a crop of the output (the transposed convolutions)

    def __init__(
        self,
        incoming: Any,
        num_filters: int,
        filter_size: Any,
        stride: Any = 1,
        pad: Any = 0,
        untie_biases: bool = False,
        W: Any = init.GlorotUniform(),
        b: Any = init.Constant(0.0),
        nonlinearity: Any = nonlinearities.rectify,
        flip_filters: bool = True,
        num_groups: int = 1,
        n: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(incoming, **kwargs)
        self.nonlinearity = nonlinearities.identity if nonlinearity is None else nonlinearity
        rank = len(self.input_shape)
        if n is None:
            n = rank - 2
        if n < 1 or n != rank - 2:
            raise ValueError(
                f"{format_layer(self)}: Tried to create a {n}D convolution layer with input shape "
                f"{self.input_shape!r}. Expected {n + 2} input dimensions (batchsize, channels, {n} spatial "
                "dimensions)."
            )
        self.n = n
        if not _is_int(num_filters) or num_filters <= 0:
            raise ValueError(f"{format_layer(self)}: num_filters must be a positive int, got {num_filters!r}")
        self.num_filters = int(num_filters)
        self.filter_size = layer_tuple(self, filter_size, n, "filter_size")
        self.flip_filters = flip_filters
        self.stride = layer_tuple(self, stride, n, "stride")
        self.untie_biases = untie_biases
        if isinstance(pad, str) and pad == "same" and any(s % 2 == 0 for s in self.filter_size):
            raise UnsupportedArgumentError(
                f"{format_layer(self)}: `same` padding requires odd filter size, got filter_size={self.filter_size}"
            )
        if isinstance(pad, str) and pad == "valid":
            self.pad: Any = (0,) * n
        elif isinstance(pad, str) and pad in ("full", "same"):
            self.pad = pad
        else:
            self.pad = layer_tuple(self, pad, n, "pad", minimum=0)
        channels = self.input_shape[1]
        if channels is None:
            raise ValueError(f"{format_layer(self)} needs a known number of input channels, got input shape {self.input_shape}")
        if not _is_int(num_groups) or num_groups <= 0 or self.num_filters % num_groups or channels % num_groups:
            raise ValueError(
                f"{format_layer(self)}: num_groups (here: {num_groups}) must be positive and evenly divide the number "
                f"of input and output channels (here: {channels} and {self.num_filters})"
            )
        self.num_groups = int(num_groups)
        self._check_output_sizes()
        self.W = self.add_param(W, self.get_W_shape(), name="W")
        if b is None:
            self.b = None
        else:
            if untie_biases:
                spatial = self.output_shape[2:]
                if any(s is None for s in spatial):
                    raise ValueError(
                        f"{format_layer(self)}: untie_biases=True needs fixed output sizes, got output shape "
                        f"{self.output_shape} for input shape {self.input_shape}"
                    )
                biases_shape = (self.num_filters,) + tuple(spatial)
            else:
                biases_shape = (self.num_filters,)
            self.b = self.add_param(b, biases_shape, name="b", regularizable=False)

    def _check_output_sizes(self) -> None:
        """Refuse a filter (with its stride, padding or cropping) that leaves no output along an axis."""
        spatial = self.get_output_shape_for(self.input_shape)[2:]
        empty = [k for k, o in enumerate(spatial) if o is not None and o <= 0]
        if empty:
            k = empty[0]
            how = {
                "stride": self.stride,
                "crop" if self._crops else "pad": self.pad,
                "dilation": getattr(self, "dilation", None),
            }
            extra = ", ".join(f"{key}={v!r}" for key, v in how.items() if v is not None)
            what = (
                f"cropping {self.pad} leaves no output" if self._crops
                else f"filter_size {self.filter_size} is larger than the padded input"
            )
            raise ValueError(
                f"{format_layer(self)}: {what} along axis {k + 2}: input shape {self.input_shape} has size "
                f"{self.input_shape[k + 2]} there, which leaves an output of size {spatial[k]} ({extra}; output shape "
                f"{self.get_output_shape_for(self.input_shape)})"
            )

    def get_W_shape(self) -> tuple[int, ...]:  # noqa: N802  (Lasagne's name)
        """The shape of ``W``: ``(num_filters, channels / num_groups, *filter_size)``."""
        return (self.num_filters, self.input_shape[1] // self.num_groups) + self.filter_size

    def get_output_shape_for(self, input_shape: Any) -> Any:
        pad = self.pad if isinstance(self.pad, tuple) else (self.pad,) * self.n
        return (input_shape[0], self.num_filters) + tuple(
            conv_output_length(i, f, s, p) for i, f, s, p in zip(input_shape[2:], self.filter_size, self.stride, pad)
        )

    def get_output_for(self, input: Any, **kwargs: Any) -> Variable:  # noqa: A002  (Lasagne's name)
        conved = self.convolve(input, **kwargs)
        if self.b is None:
            activation = conved
        elif self.untie_biases:
            activation = conved + T.shape_padleft(self.b, 1)
        else:
            activation = conved + self.b.dimshuffle(("x", 0) + ("x",) * self.n)
        return self.nonlinearity(activation)

    def convolve(self, input: Any, **kwargs: Any) -> Variable:  # noqa: A002
        """The convolution of ``input`` by ``W``, before bias and nonlinearity; subclasses implement it."""
        raise NotImplementedError(
            "BaseConvLayer does not implement the convolve() method. You will want to use a subclass such as Conv2DLayer."
        )

    def _checked_input(self, input: Any) -> Variable:  # noqa: A002
        x = T.as_tensor_variable(input)
        if x.ndim != self.n + 2:
            raise ValueError(f"{format_layer(self)} expects a {self.n + 2}-d input, got {x!r}")
        return x


class _ConvNDLayer(BaseConvLayer):
    """Conv1D/2D/3DLayer: ``convolution(input, W, ...)`` with Theano's arguments."""

    _n = 2

    def __init__(self, incoming: Any, num_filters: int, filter_size: Any, stride: Any, pad: Any, untie_biases: bool,
                 W: Any, b: Any, nonlinearity: Any, flip_filters: bool, convolution: Any, **kwargs: Any) -> None:
        super().__init__(incoming, num_filters, filter_size, stride, pad, untie_biases, W, b, nonlinearity,
                         flip_filters, n=self._n, **kwargs)
        self.convolution = convolution

    def convolve(self, input: Any, **kwargs: Any) -> Variable:  # noqa: A002
        border_mode = "half" if self.pad == "same" else self.pad
        extra = {"num_groups": self.num_groups} if self.num_groups > 1 else {}
        return self.convolution(
            self._checked_input(input), self.W, self.input_shape, self.get_W_shape(), subsample=self.stride,
            border_mode=border_mode, filter_flip=self.flip_filters, **extra,
        )


class Conv1DLayer(_ConvNDLayer):
    """1-d convolution of ``(batch, channels, length)`` inputs; see :class:`BaseConvLayer`.

    ``W`` has shape ``(num_filters, channels / num_groups, filter_length)``;
    ``convolution`` is called as ``T.nnet.conv1d``.
    """

    _n = 1

    def __init__(self, incoming: Any, num_filters: int, filter_size: Any, stride: Any = 1, pad: Any = 0,
                 untie_biases: bool = False, W: Any = init.GlorotUniform(), b: Any = init.Constant(0.0),
                 nonlinearity: Any = nonlinearities.rectify, flip_filters: bool = True, convolution: Any = conv1d,
                 **kwargs: Any) -> None:
        super().__init__(incoming, num_filters, filter_size, stride, pad, untie_biases, W, b, nonlinearity,
                         flip_filters, convolution, **kwargs)


class Conv2DLayer(_ConvNDLayer):
    """2-d convolution of ``(batch, channels, rows, cols)`` inputs; see :class:`BaseConvLayer`.

    ``W`` has shape ``(num_filters, channels / num_groups, rows, cols)``;
    ``convolution`` is called as ``T.nnet.conv2d``.
    """

    _n = 2

    def __init__(self, incoming: Any, num_filters: int, filter_size: Any, stride: Any = (1, 1), pad: Any = 0,
                 untie_biases: bool = False, W: Any = init.GlorotUniform(), b: Any = init.Constant(0.0),
                 nonlinearity: Any = nonlinearities.rectify, flip_filters: bool = True, convolution: Any = conv2d,
                 **kwargs: Any) -> None:
        super().__init__(incoming, num_filters, filter_size, stride, pad, untie_biases, W, b, nonlinearity,
                         flip_filters, convolution, **kwargs)


class Conv3DLayer(_ConvNDLayer):
    """3-d convolution of ``(batch, channels, depth, rows, cols)`` inputs; see :class:`BaseConvLayer`.

    ``W`` has shape ``(num_filters, channels / num_groups, depth, rows, cols)``;
    ``convolution`` is called as ``T.nnet.conv3d``.
    """

    _n = 3

    def __init__(self, incoming: Any, num_filters: int, filter_size: Any, stride: Any = (1, 1, 1), pad: Any = 0,
                 untie_biases: bool = False, W: Any = init.GlorotUniform(), b: Any = init.Constant(0.0),
                 nonlinearity: Any = nonlinearities.rectify, flip_filters: bool = True, convolution: Any = conv3d,
                 **kwargs: Any) -> None:
        super().__init__(incoming, num_filters, filter_size, stride, pad, untie_biases, W, b, nonlinearity,
                         flip_filters, convolution, **kwargs)


class DilatedConv2DLayer(BaseConvLayer):
    """2-d cross-correlation with a dilated kernel (dilation - 1 gaps between taps).

    Parameters
    ----------
    incoming : Layer or tuple
        ``(batch, channels, rows, cols)``.
    num_filters : int
    filter_size : int or tuple of 2 ints
    dilation : int or tuple of 2 ints
    pad : 0, (0, 0) or 'valid'
        Only unpadded convolutions (add a PadLayer for padding).
    untie_biases, b, nonlinearity :
        As for :class:`BaseConvLayer`.
    W : initializer, array or shared variable
        Shape ``(channels, num_filters, rows, cols)``, as Lasagne's.
    flip_filters : bool
        Must be False.

    Raises
    ------
    UnsupportedArgumentError
        For any padding or ``flip_filters=True`` (a ``ValueError`` and a
        ``NotImplementedError``).
    """

    def __init__(self, incoming: Any, num_filters: int, filter_size: Any, dilation: Any = (1, 1), pad: Any = 0,
                 untie_biases: bool = False, W: Any = init.GlorotUniform(), b: Any = init.Constant(0.0),
                 nonlinearity: Any = nonlinearities.rectify, flip_filters: bool = False, **kwargs: Any) -> None:
        self.name = kwargs.get("name")
        self.dilation = layer_tuple(self, dilation, 2, "dilation")
        if kwargs.get("num_groups", 1) != 1:
            raise UnsupportedArgumentError(f"{format_layer(self)} does not support num_groups")
        super().__init__(incoming, num_filters, filter_size, 1, pad, untie_biases, W, b, nonlinearity, flip_filters,
                         n=2, **kwargs)
        del self.stride
        if self.pad != (0, 0):
            raise UnsupportedArgumentError(
                f"{format_layer(self)}: DilatedConv2DLayer requires pad=0 / (0,0) / 'valid', but got {pad!r}. "
                "For a padded dilated convolution, add a PadLayer."
            )
        if self.flip_filters:
            raise UnsupportedArgumentError(f"{format_layer(self)}: DilatedConv2DLayer requires flip_filters=False.")

    def get_W_shape(self) -> tuple[int, ...]:  # noqa: N802  (Lasagne's name)
        """The shape of ``W``: ``(channels, num_filters, *filter_size)``."""
        return (self.input_shape[1], self.num_filters) + self.filter_size

    def get_output_shape_for(self, input_shape: Any) -> Any:
        return (input_shape[0], self.num_filters) + tuple(
            conv_output_length(i, (f - 1) * d + 1, 1, 0)
            for i, f, d in zip(input_shape[2:], self.filter_size, self.dilation)
        )

    def convolve(self, input: Any, **kwargs: Any) -> Variable:  # noqa: A002
        return conv_nd(self._checked_input(input), self.W.dimshuffle(1, 0, 2, 3), 2, filter_flip=False,
                       filter_dilation=self.dilation, fname=format_layer(self))


# The transposed convolutions live in their own module; Lasagne imports them from here.
from .conv_transposed import (  # noqa: E402  (conv_transposed builds on BaseConvLayer above)
    Deconv2DLayer,
    Deconv3DLayer,
    TransposedConv2DLayer,
    TransposedConv3DLayer,
)
