"""theanets convolution and pooling layers: Conv1, Conv2, Pool1, Pool2.

Data are batch-first and channels-last: Conv1 and Pool1 run over the time axis
of ``(batch, time, features)``; Conv2 and Pool2 over the two spatial axes of
``(batch, width, height, channels)``.  Convolutions are Theano's (the kernels
are flipped), computed by :func:`graphc.tensor.nnet.conv2d`.

Upstream, Pool1 and Pool2 are unfinished stubs; here they pool with
:func:`graphc.tensor.signal.pool.pool_2d` semantics (``ignore_border=True``
by default) and give ``pre`` (the pooled values) and ``out`` (the activation
of them), as the other layers do.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...config import config
from ...tensor.conv import conv2d
from ...tensor.signal.pool import MODES, pool_nd
from ...tensor.variable import Variable
from .base import ConfigurationError, Layer, LayerInputs, Shape, random_matrix

__all__ = ["Conv1", "Conv2", "Pool1", "Pool2", "BORDER_MODES"]

BORDER_MODES = ("valid", "full", "same", "half")
"""``same`` pads ``k - 1`` in all (the extra one at the end), so a stride of 1 keeps the length."""


def _pair(value: Any, n: int, what: str, label: str) -> tuple[int, ...]:
    vals = tuple(value) if isinstance(value, (tuple, list)) else (value,) * n
    if len(vals) != n or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1 for v in vals):
        raise ConfigurationError(f"{label}: {what} must be a positive int or a tuple of {n} positive ints, got {value!r}")
    return tuple(int(v) for v in vals)


def _pads(mode: str, kernel: tuple[int, ...]) -> list[tuple[int, int]]:
    if mode == "valid":
        return [(0, 0)] * len(kernel)
    if mode == "full":
        return [(k - 1, k - 1) for k in kernel]
    if mode == "half":
        return [(k // 2, k // 2) for k in kernel]
    return [((k - 1) // 2, k - 1 - (k - 1) // 2) for k in kernel]


def _length(size: Any, k: int, stride: int, pad: tuple[int, int]) -> Any:
    if size is None:
        return None
    return (size + pad[0] + pad[1] - k) // stride + 1


class _Convolution(Layer):
    """Shared parts of Conv1 and Conv2: kernel, stride and border mode."""

    NDIM = 2
    _spec_only_keys = ("filter_size", "stride", "border_mode")  # upstream takes them by name: not in its to_spec

    def __init__(self, filter_size: Any = None, stride: Any = 1, border_mode: str = "valid", **kwargs: Any) -> None:
        label = f"layer {kwargs.get('name') or type(self).__name__.lower()!r}"
        if filter_size is None:
            raise ConfigurationError(f"{label}: {type(self).__name__} needs a filter_size")
        self.filter_size = _pair(filter_size, self.NDIM, "filter_size", label)
        self.stride = _pair(stride, self.NDIM, "stride", label)
        if border_mode not in BORDER_MODES:
            raise ConfigurationError(f"{label}: border_mode must be one of {', '.join(BORDER_MODES)}, got {border_mode!r}")
        self.border_mode = border_mode
        super().__init__(**kwargs)

    @property
    def output_shape(self) -> Shape:
        """The convolved axes' new lengths and ``size`` channels."""
        shape = self.input_shape
        if len(shape) != self.NDIM + 1:
            raise ConfigurationError(
                f"layer {self.name!r}: {type(self).__name__} needs inputs of {self.NDIM + 2} axes "
                f"(batch first, channels last), got input {self.inputs[0]!r} of shape (batch,) + {shape}"
            )
        pads = _pads(self.border_mode, self.filter_size)
        lengths = [_length(s, k, st, p) for s, k, st, p in zip(shape[:-1], self.filter_size, self.stride, pads)]
        for n in lengths:
            if n is not None and n < 1:
                raise ConfigurationError(
                    f"layer {self.name!r}: filter {self.filter_size} ({self.border_mode}) does not fit input shape {shape}"
                )
        return tuple(lengths) + (self.size,)

    def setup(self) -> None:
        """``w`` of shape ``(size, nin) + kernel`` and ``b`` of shape ``(size,)``.

        Each kernel position holds an ``(size, nin)`` matrix drawn as Feedforward
        weights (``std`` default ``1 / sqrt(nin + size)``; ``mean``, ``std`` and
        ``sparsity`` options apply).
        """
        _ = self.output_shape  # checks the input rank and that the filter fits
        nin, nout = self.input_size, self.size
        std = self._option("std", "w", 1 / np.sqrt(nin + nout))
        mean = self._option("mean", "w", 0.0)
        sparsity = self._option("sparsity", "w", 0.0)
        kernel = self._kernel_shape()
        arr = np.zeros((nout, nin) + kernel, dtype=config.floatX)
        for index in np.ndindex(*kernel):
            arr[(slice(None), slice(None)) + index] = random_matrix(nout, nin, mean, std, sparsity=sparsity, rng=self.rng)
        self.add_param("w", arr)
        self.add_bias("b", nout)

    def _kernel_shape(self) -> tuple[int, ...]:
        return self.filter_size

    def _conv(self, x: Variable) -> Variable:
        """Convolve ``(batch, nin, a, b)`` data; returns ``(batch, size, a', b')``."""
        pads = _pads(self.border_mode, self._kernel_shape())
        w = self.find("w")
        return conv2d(x, w, filter_shape=w.type.shape, border_mode=tuple(pads), subsample=self._subsample())

    def _subsample(self) -> tuple[int, ...]:
        return self.stride

    def _full_spec(self) -> dict[str, Any]:
        """Adds ``filter_size``, ``stride`` and ``border_mode``."""
        spec = super()._full_spec()
        size = list(self.filter_size) if self.NDIM > 1 else self.filter_size[0]
        stride = list(self.stride) if self.NDIM > 1 else self.stride[0]
        spec.update(filter_size=size, stride=stride, border_mode=self.border_mode)
        return spec


class Conv1(_Convolution):
    """1-d convolution over the time axis of ``(batch, time, nin)`` data.

    Parameters
    ----------
    filter_size : int
        Kernel length ``k``.
    stride : int
    border_mode : {'valid', 'full', 'same', 'half'}
        ``valid`` gives ``T - k + 1`` steps (stride 1).

    Notes
    -----
    Parameters ``w`` ``(size, nin, 1, k)`` and ``b``; outputs ``pre`` and ``out``,
    ``(batch, T', size)``.
    """

    NDIM = 1

    def _kernel_shape(self) -> tuple[int, ...]:
        return (1,) + self.filter_size

    def _subsample(self) -> tuple[int, ...]:
        return (1,) + self.stride

    def transform(self, inputs: LayerInputs) -> dict[str, Variable]:
        """``pre = conv(x, w) + b`` over time, ``out = act(pre)``."""
        x = inputs[self.inputs[0]].dimshuffle(0, 2, "x", 1)  # (batch, nin, 1, time)
        y = self._conv(x)[:, :, 0, :].dimshuffle(0, 2, 1)  # (batch, time', size)
        pre = y + self.find("b")
        return {"pre": pre, "out": self.activate(pre)}


class Conv2(_Convolution):
    """2-d convolution of ``(batch, width, height, nin)`` images.

    Parameters
    ----------
    filter_size : (int, int)
        Kernel ``(fw, fh)``.
    stride : int or (int, int)
    border_mode : {'valid', 'full', 'same', 'half'}

    Notes
    -----
    Parameters ``w`` ``(size, nin, fw, fh)`` and ``b``; outputs ``pre`` and
    ``out``, ``(batch, width', height', size)``.
    """

    NDIM = 2

    def transform(self, inputs: LayerInputs) -> dict[str, Variable]:
        """``pre = conv(x, w) + b``, ``out = act(pre)``."""
        x = inputs[self.inputs[0]].dimshuffle(0, 3, 1, 2)  # (batch, nin, width, height)
        pre = self._conv(x).dimshuffle(0, 2, 3, 1) + self.find("b")
        return {"pre": pre, "out": self.activate(pre)}


class _Pooling(Layer):
    """Shared parts of Pool1 and Pool2."""

    NDIM = 2

    def __init__(
        self, pool_size: Any = None, stride: Any = None, mode: str = "max", ignore_border: bool = True, **kwargs: Any
    ) -> None:
        label = f"layer {kwargs.get('name') or type(self).__name__.lower()!r}"
        if pool_size is None:
            raise ConfigurationError(f"{label}: {type(self).__name__} needs a pool_size")
        self.pool_size = _pair(pool_size, self.NDIM, "pool_size", label)
        self.pool_stride = self.pool_size if stride is None else _pair(stride, self.NDIM, "stride", label)
        mode = {"mean": "average_exc_pad", "average": "average_exc_pad"}.get(mode, mode)
        if mode not in MODES:
            raise ConfigurationError(f"{label}: mode must be one of {', '.join(MODES)}, got {mode!r}")
        self.mode = mode
        self.ignore_border = bool(ignore_border)
        super().__init__(**kwargs)

    def infer_size(self) -> int | None:
        """Pooling keeps the channels."""
        return self.input_shape[-1]

    @property
    def output_shape(self) -> Shape:
        """The pooled axes' new lengths and the channels."""
        shape = self.input_shape
        if len(shape) != self.NDIM + 1:
            raise ConfigurationError(
                f"layer {self.name!r}: {type(self).__name__} needs inputs of {self.NDIM + 2} axes, "
                f"got input {self.inputs[0]!r} of shape (batch,) + {shape}"
            )
        lengths = []
        for n, k, s in zip(shape[:-1], self.pool_size, self.pool_stride):
            if n is None:
                lengths.append(None)
            elif self.ignore_border:
                lengths.append((n - k) // s + 1)
            else:  # Theano's count with a last partial window
                lengths.append((n - 1) // s + 1 if s >= k else max(0, (n - 1 - k + s) // s) + 1)
        if any(n is not None and n < 1 for n in lengths):
            raise ConfigurationError(f"layer {self.name!r}: pool_size {self.pool_size} does not fit input shape {shape}")
        return tuple(lengths) + (self.size,)

    def _pool(self, x: Variable) -> Variable:
        _ = self.output_shape
        return pool_nd(x, self.NDIM, self.pool_size, self.ignore_border, self.pool_stride, 0, self.mode,
                       f"layer {self.name!r}")

    def _full_spec(self) -> dict[str, Any]:
        """Adds ``pool_size``, ``stride``, ``mode`` and ``ignore_border``."""
        spec = super()._full_spec()
        size = list(self.pool_size) if self.NDIM > 1 else self.pool_size[0]
        stride = list(self.pool_stride) if self.NDIM > 1 else self.pool_stride[0]
        spec.update(pool_size=size, stride=stride, mode=self.mode, ignore_border=self.ignore_border)
        return spec


class Pool1(_Pooling):
    """Pooling over the time axis of ``(batch, time, features)`` data.

    Parameters
    ----------
    pool_size : int
    stride : int, optional
        Defaults to ``pool_size``.
    mode : {'max', 'sum', 'average_inc_pad', 'average_exc_pad'}
        ``'mean'``/``'average'`` mean ``'average_exc_pad'``.
    ignore_border : bool
        Drop a last partial window (default True).
    """

    NDIM = 1

    def transform(self, inputs: LayerInputs) -> dict[str, Variable]:
        """``pre`` (pooled) and ``out = act(pre)``."""
        x = inputs[self.inputs[0]].dimshuffle(0, 2, 1)  # (batch, features, time)
        pre = self._pool(x).dimshuffle(0, 2, 1)
        return {"pre": pre, "out": self.activate(pre)}


class Pool2(_Pooling):
    """Pooling over the two spatial axes of ``(batch, width, height, channels)`` images.

    Parameters
    ----------
    pool_size : int or (int, int)
    stride : int or (int, int), optional
        Defaults to ``pool_size``.
    mode : {'max', 'sum', 'average_inc_pad', 'average_exc_pad'}
    ignore_border : bool
    """

    NDIM = 2

    def transform(self, inputs: LayerInputs) -> dict[str, Variable]:
        """``pre`` (pooled) and ``out = act(pre)``."""
        x = inputs[self.inputs[0]].dimshuffle(0, 3, 1, 2)  # (batch, channels, width, height)
        pre = self._pool(x).dimshuffle(0, 2, 3, 1)
        return {"pre": pre, "out": self.activate(pre)}

