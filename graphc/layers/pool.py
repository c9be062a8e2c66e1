"""Pooling layers (Lasagne's ``lasagne.layers.pool``).

Spatial pooling (``Pool1D/2D/3DLayer`` and the ``MaxPool`` shortcuts),
upscaling (``Upscale1D/2D/3DLayer``), pooling across features
(``FeaturePoolLayer``, ``FeatureWTALayer``), global pooling and spatial
pyramid pooling.  Output shapes follow Lasagne's formulas, None sizes included.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import tensor as T
from ..tensor.shape import dim_of
from ..tensor.signal.pool import pool_2d, pool_3d, pool_nd  # Lasagne's pool module exposes Theano's pool_2d/3d
from ..tensor.variable import Variable
from .base import Layer, format_layer
from .conv import LayerArgumentError, UnsupportedArgumentError, layer_tuple

__all__ = [
    "pool_2d",
    "pool_3d",
    "Pool1DLayer",
    "Pool2DLayer",
    "Pool3DLayer",
    "MaxPool1DLayer",
    "MaxPool2DLayer",
    "MaxPool3DLayer",
    "Upscale1DLayer",
    "Upscale2DLayer",
    "Upscale3DLayer",
    "FeaturePoolLayer",
    "FeatureWTALayer",
    "GlobalPoolLayer",
    "SpatialPyramidPoolingLayer",
    "pool_output_length",
]

_MODES = ("max", "average_inc_pad", "average_exc_pad", "sum")


def pool_output_length(
    input_length: int | None, pool_size: int | None, stride: int, pad: int, ignore_border: bool
) -> int | None:
    """Output size of pooling along one axis (Lasagne's helper).

    With ``ignore_border`` only whole windows of the padded input count;
    without it a last partial window is kept when it covers an element no
    other window does (``pad`` must then be 0).

    Returns
    -------
    int or None
        None when a size is None.
    """
    if input_length is None or pool_size is None:
        return None
    if ignore_border:
        length = input_length + 2 * pad - pool_size + 1
        return (length + stride - 1) // stride
    if pad != 0:
        raise ValueError(f"pool_output_length: pad must be 0 without ignore_border, got {pad}")
    if stride >= pool_size:
        return (input_length + stride - 1) // stride
    return max(0, (input_length - pool_size + stride - 1) // stride) + 1


def _with_layer(layer: Any, fn: Callable[[], Variable]) -> Variable:
    """Run ``fn``, prefixing a ``ValueError`` with the layer's name."""
    try:
        return fn()
    except ValueError as exc:
        raise ValueError(f"{format_layer(layer)}: {exc}") from None


def _check_rank(layer: Any, n: int, kind: str) -> None:
    if len(layer.input_shape) != n + 2:
        raise ValueError(
            f"{format_layer(layer)}: Tried to create a {n}D {kind} layer with input shape {layer.input_shape!r}. "
            f"Expected {n + 2} input dimensions (batchsize, channels, {n} spatial dimensions)."
        )


class _PoolNDLayer(Layer):
    """Pooling over the ``_n`` trailing axes of a ``(batch, channels, *spatial)`` input."""

    _n = 2

    def __init__(self, incoming: Any, pool_size: Any, stride: Any = None, pad: Any = 0, ignore_border: bool = True,
                 mode: str = "max", **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        n = self._n
        _check_rank(self, n, "pooling")
        self.pool_size = layer_tuple(self, pool_size, n, "pool_size")
        self.stride = self.pool_size if stride is None else layer_tuple(self, stride, n, "stride")
        self.pad = layer_tuple(self, pad, n, "pad", minimum=0)
        self.ignore_border = ignore_border
        if mode not in _MODES:
            raise ValueError(f"{format_layer(self)}: mode must be one of {', '.join(map(repr, _MODES))}, got {mode!r}")
        self.mode = mode
        if any(self.pad) and not ignore_border:
            raise UnsupportedArgumentError(
                f"{format_layer(self)}: padding works only with ignore_border=True, got pad={self.pad}"
            )
        if any(p >= k for p, k in zip(self.pad, self.pool_size)):
            raise ValueError(
                f"{format_layer(self)}: each pad must be smaller than the pool size, got pad={self.pad} for "
                f"pool_size={self.pool_size}"
            )
        for size, k, p in zip(self.input_shape[2:], self.pool_size, self.pad):
            if ignore_border and size is not None and size + 2 * p < k:
                raise ValueError(
                    f"{format_layer(self)}: pool_size {self.pool_size} is larger than the padded input "
                    f"(input shape {self.input_shape}, pad {self.pad})"
                )

    def get_output_shape_for(self, input_shape: Any) -> Any:
        out = list(input_shape)
        for i in range(self._n):
            out[2 + i] = pool_output_length(input_shape[2 + i], self.pool_size[i], self.stride[i], self.pad[i],
                                            self.ignore_border)
        return tuple(out)

    def get_output_for(self, input: Any, **kwargs: Any) -> Variable:  # noqa: A002  (Lasagne's name)
        x = T.as_tensor_variable(input)
        if x.ndim != self._n + 2:
            raise ValueError(f"{format_layer(self)} expects a {self._n + 2}-d input, got {x!r}")
        return _with_layer(self, lambda: pool_nd(x, self._n, self.pool_size, self.ignore_border, self.stride,
                                                 self.pad, self.mode, format_layer(self)))


_POOL_DOC = """{n}-d pooling over the trailing axes of a {rank}-d input.

    Parameters
    ----------
    incoming : Layer or tuple
        ``(batch, channels, {axes})``.
    pool_size : int or tuple of {n} ints
    stride : int, tuple of {n} ints, or None
        None: ``pool_size``.
    pad : int or tuple of {n} ints
        Padding on both sides; smaller than ``pool_size``, and only with
        ``ignore_border=True``.  Padding never wins a maximum.
    ignore_border : bool
        False keeps a last partial window along an axis (averaged over the
        elements it holds).
    mode : {{'max', 'average_inc_pad', 'average_exc_pad', 'sum'}}
        Averages count the padding (``inc``) or not (``exc``).
    """


class Pool1DLayer(_PoolNDLayer):
    __doc__ = _POOL_DOC.format(n=1, rank=3, axes="length")
    _n = 1


class Pool2DLayer(_PoolNDLayer):
    __doc__ = _POOL_DOC.format(n=2, rank=4, axes="rows, cols")
    _n = 2


class Pool3DLayer(_PoolNDLayer):
    __doc__ = _POOL_DOC.format(n=3, rank=5, axes="depth, rows, cols")
    _n = 3


class MaxPool1DLayer(Pool1DLayer):
    """1-d max pooling: :class:`Pool1DLayer` with ``mode='max'``."""

    def __init__(self, incoming: Any, pool_size: Any, stride: Any = None, pad: Any = 0, ignore_border: bool = True,
                 **kwargs: Any) -> None:
        super().__init__(incoming, pool_size, stride, pad, ignore_border, mode="max", **kwargs)


class MaxPool2DLayer(Pool2DLayer):
    """2-d max pooling: :class:`Pool2DLayer` with ``mode='max'``."""

    def __init__(self, incoming: Any, pool_size: Any, stride: Any = None, pad: Any = (0, 0),
                 ignore_border: bool = True, **kwargs: Any) -> None:
        super().__init__(incoming, pool_size, stride, pad, ignore_border, mode="max", **kwargs)


class MaxPool3DLayer(Pool3DLayer):
    """3-d max pooling: :class:`Pool3DLayer` with ``mode='max'``."""

    def __init__(self, incoming: Any, pool_size: Any, stride: Any = None, pad: Any = (0, 0, 0),
                 ignore_border: bool = True, **kwargs: Any) -> None:
        super().__init__(incoming, pool_size, stride, pad, ignore_border, mode="max", **kwargs)


def upscale_axis(x: Variable, axis: int, factor: int, mode: str) -> Variable:
    """Repeat each element ``factor`` times along ``axis`` (``'repeat'``), or
    follow it by ``factor - 1`` zeros (``'dilate'``)."""
    if factor == 1:
        return x
    xe = T.expand_dims(x, axis + 1)
    if mode == "repeat":
        parts = [xe] * factor
    else:
        zeros_shape = [dim_of(xe, i) for i in range(xe.ndim)]
        zeros_shape[axis + 1] = factor - 1
        parts = [xe, T.zeros(zeros_shape, dtype=x.dtype)]
    stacked = T.concatenate(parts, axis=axis + 1)
    shape: list[Any] = [dim_of(x, i) for i in range(x.ndim)]
    shape[axis] = -1
    return T.reshape(stacked, shape)


class _UpscaleNDLayer(Layer):
    """Upscaling of the ``_n`` trailing axes."""

    _n = 2

    def __init__(self, incoming: Any, scale_factor: Any, mode: str = "repeat", **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        _check_rank(self, self._n, "upscaling")
        self.scale_factor = layer_tuple(self, scale_factor, self._n, "scale_factor", minimum=None)
        if any(s < 1 for s in self.scale_factor):
            raise ValueError(f"{format_layer(self)}: Scale factor must be >= 1, not {self.scale_factor}")
        if mode not in ("repeat", "dilate"):
            raise ValueError(f"{format_layer(self)}: Mode must be either 'repeat' or 'dilate', not {mode}")
        self.mode = mode

    def get_output_shape_for(self, input_shape: Any) -> Any:
        out = list(input_shape)
        for i, s in enumerate(self.scale_factor):
            if out[2 + i] is not None:
                out[2 + i] *= s
        return tuple(out)

    def get_output_for(self, input: Any, **kwargs: Any) -> Variable:  # noqa: A002
        x = T.as_tensor_variable(input)
        if x.ndim != self._n + 2:
            raise ValueError(f"{format_layer(self)} expects a {self._n + 2}-d input, got {x!r}")
        for i, s in enumerate(self.scale_factor):
            x = upscale_axis(x, 2 + i, s, self.mode)
        return x


_UPSCALE_DOC = """{n}-d upscaling of the trailing axes of a {rank}-d input.

    Parameters
    ----------
    incoming : Layer or tuple
    scale_factor : int or tuple of {n} ints
        At least 1.
    mode : {{'repeat', 'dilate'}}
        Repeat each element, or leave zeros after each element.
    """


class Upscale1DLayer(_UpscaleNDLayer):
    __doc__ = _UPSCALE_DOC.format(n=1, rank=3)
    _n = 1


class Upscale2DLayer(_UpscaleNDLayer):
    __doc__ = _UPSCALE_DOC.format(n=2, rank=4)
    _n = 2


class Upscale3DLayer(_UpscaleNDLayer):
    __doc__ = _UPSCALE_DOC.format(n=3, rank=5)
    _n = 3


def _feature_axis(layer: Any, pool_size: Any, axis: int, what: str) -> int:
    rank = len(layer.input_shape)
    if not isinstance(axis, (int, np.integer)) or not -rank <= axis < rank:
        raise ValueError(f"{format_layer(layer)}: axis {axis!r} is out of range for input shape {layer.input_shape}")
    if not isinstance(pool_size, (int, np.integer)) or isinstance(pool_size, bool) or pool_size < 1:
        raise LayerArgumentError(f"{format_layer(layer)}: pool_size must be a positive int, got {pool_size!r}")
    ax = int(axis) % rank
    size = layer.input_shape[ax]
    if size is None:
        raise ValueError(f"{format_layer(layer)} needs a fixed size on axis {axis}, got input shape {layer.input_shape}")
    if size % pool_size:
        raise ValueError(
            f"{format_layer(layer)}: Number of input feature maps ({size}) is not a multiple of the {what} "
            f"(pool_size={pool_size})"
        )
    return ax


def _split_axis(x: Variable, ax: int, pool_size: int) -> Variable:
    """``x`` with axis ``ax`` split into ``(size // pool_size, pool_size)``."""
    shape: list[Any] = [dim_of(x, i) for i in range(x.ndim)]
    size = shape[ax]
    shape[ax : ax + 1] = [size // pool_size if isinstance(size, int) else -1, pool_size]
    return T.reshape(x, shape)


class FeaturePoolLayer(Layer):
    """Pools groups of ``pool_size`` consecutive features along ``axis`` (maxout by default).

    Parameters
    ----------
    incoming : Layer or tuple
    pool_size : int
        Features per group; must divide the size of ``axis``.
    axis : int
    pool_function : callable
        ``pool_function(x, axis=...)``; :func:`graphc.tensor.max` by default.
    """

    def __init__(self, incoming: Any, pool_size: int, axis: int = 1, pool_function: Callable[..., Any] = T.max,
                 **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        self.pool_size = pool_size
        self.axis = axis
        self.pool_function = pool_function
        self._ax = _feature_axis(self, pool_size, axis, "pool size")

    def get_output_shape_for(self, input_shape: Any) -> Any:
        out = list(input_shape)
        ax = self._ax
        out[ax] = None if input_shape[ax] is None else input_shape[ax] // self.pool_size
        return tuple(out)

    def get_output_for(self, input: Any, **kwargs: Any) -> Variable:  # noqa: A002
        x = T.as_tensor_variable(input)
        return self.pool_function(_split_axis(x, self._ax, self.pool_size), axis=self._ax + 1)


class FeatureWTALayer(Layer):
    """Winner take all: in each group of ``pool_size`` features along ``axis``,
    zero all but the maximum (the first one on ties).

    Parameters
    ----------
    incoming : Layer or tuple
    pool_size : int
        Features per group; must divide the size of ``axis``.
    axis : int
    """

    def __init__(self, incoming: Any, pool_size: int, axis: int = 1, **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        self.pool_size = pool_size
        self.axis = axis
        self._ax = _feature_axis(self, pool_size, axis, "region size")

    def get_output_for(self, input: Any, **kwargs: Any) -> Variable:  # noqa: A002
        x = T.as_tensor_variable(input)
        ax = self._ax
        winners = T.argmax(_split_axis(x, ax, self.pool_size), axis=ax + 1, keepdims=True)
        pattern = ["x"] * (x.ndim + 1)
        pattern[ax + 1] = 0
        positions = T.arange(self.pool_size).dimshuffle(*pattern)
        mask = T.reshape(T.eq(winners, positions), x.shape)
        return x * T.cast(mask, x.dtype)


class GlobalPoolLayer(Layer):
    """Pools all trailing axes after the second: ``(batch, channels, ...) -> (batch, channels)``.

    Parameters
    ----------
    incoming : Layer or tuple
        At least 3 dims.
    pool_function : callable
        ``pool_function(x, axis=2)``; :func:`graphc.tensor.mean` by default.

    Raises
    ------
    ValueError
        From ``get_output_shape_for``/``get_output_for`` (not the constructor,
        as in Lasagne), for an input of fewer than 3 dims.
    """

    def __init__(self, incoming: Any, pool_function: Callable[..., Any] = T.mean, **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        if not callable(pool_function):
            raise TypeError(
                f"{format_layer(self)}: pool_function must be callable as pool_function(x, axis=2) "
                f"(e.g. graphc.tensor.mean or graphc.tensor.max), got {type(pool_function).__name__} {pool_function!r}"
            )
        self.pool_function = pool_function

    def _check_ndim(self, ndim: int, what: Any) -> None:
        # checked where the rank is used, not in __init__: Lasagne takes any stand-in as incoming
        if ndim < 3:
            raise ValueError(f"{format_layer(self)} needs an input of at least 3 dims, got {what}")

    def get_output_shape_for(self, input_shape: Any) -> Any:
        self._check_ndim(len(input_shape), tuple(input_shape))
        return tuple(input_shape[:2])

    def get_output_for(self, input: Any, **kwargs: Any) -> Variable:  # noqa: A002
        x = T.as_tensor_variable(input)
        self._check_ndim(x.ndim, x)
        return self.pool_function(T.flatten(x, 3), axis=2)


# SpatialPyramidPoolingLayer lives in its own module; Lasagne has it here
from .pool_spp import SpatialPyramidPoolingLayer  # noqa: E402
