"""Spatial pyramid pooling (Lasagne's ``lasagne.layers.pool.SpatialPyramidPoolingLayer``).

Both implementations work out their windows from the input's spatial sizes:
from the static sizes when the expression knows them, else in the graph from
the symbolic ``input.shape`` (an input of unknown rows and cols, as Lasagne).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import tensor as T
from ..tensor.shape import dim_of
from ..tensor.signal.pool import pool_nd
from ..tensor.variable import Variable
from .base import Layer, format_layer

__all__ = ["SpatialPyramidPoolingLayer"]

_MODES = ("max", "average_inc_pad", "average_exc_pad")


def _ceil_div(a: Any, b: int) -> Any:
    """``ceil(a / b)`` for a non-negative int or int scalar ``a``."""
    return (a + b - 1) // b


class SpatialPyramidPoolingLayer(Layer):
    """Spatial pyramid pooling (He et al., 2015): each level ``p`` pools the
    image into a ``p x p`` grid; the ``sum(p * p)`` results are concatenated.

    Parameters
    ----------
    incoming : Layer or tuple
        ``(batch, channels, rows, cols)``; rows and cols may be None.
    pool_dims : sequence of int
    mode : {'max', 'average_inc_pad', 'average_exc_pad'}
        The kaiming bins hold no padding, so both averages are the mean.
    implementation : {'fast', 'kaiming'}
        ``'fast'`` pools with windows of ``ceil(size / p)`` and strides of
        ``size // p``, which gives a ``p x p`` grid only for some sizes;
        ``'kaiming'`` pools the bins ``[floor(i * size / p), ceil((i + 1) * size / p))``,
        which works for any size.

    Raises
    ------
    ValueError
        For an input that is not 4-d, an unknown mode, or known sizes
        ``'fast'`` cannot pool into the grid.
    """

    def __init__(self, incoming: Any, pool_dims: Sequence[int] = (4, 2, 1), mode: str = "max",
                 implementation: str = "fast", **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        if len(self.input_shape) != 4:
            raise ValueError(
                f"{format_layer(self)}: Tried to create a 2D SPP layer with input shape {self.input_shape!r}. "
                "Expected 4 input dimensions (batchsize, channels, 2 spatial dimensions)."
            )
        if mode not in _MODES:
            raise ValueError(
                f"{format_layer(self)}: Mode must be either 'max', 'average_inc_pad' or 'average_exc_pad'. Got {mode!r}"
            )
        if implementation not in ("fast", "kaiming"):
            raise ValueError(f"{format_layer(self)}: implementation must be 'fast' or 'kaiming', got {implementation!r}")
        self.mode = mode
        self.implementation = implementation
        self.pool_dims = list(pool_dims)
        if not self.pool_dims or not all(isinstance(p, (int, np.integer)) and p >= 1 for p in self.pool_dims):
            raise ValueError(f"{format_layer(self)}: pool_dims must be positive ints, got {pool_dims!r}")
        if implementation == "fast":
            self._check_fast_grid(self.input_shape[2:])

    def _check_fast_grid(self, sizes: Sequence[Any]) -> None:
        """Raise if known sizes do not pool into ``p x p`` grids with the 'fast' windows."""
        for p in self.pool_dims:
            for s in sizes:
                if isinstance(s, (int, np.integer)) and (s < p or (s - _ceil_div(s, p)) // (s // p) + 1 != p):
                    raise ValueError(
                        f"{format_layer(self)}: implementation='fast' cannot pool an input of size {tuple(sizes)} "
                        f"into a {p}x{p} grid; use implementation='kaiming'"
                    )

    def get_output_shape_for(self, input_shape: Any) -> Any:
        return (input_shape[0], input_shape[1], int(sum(p * p for p in self.pool_dims)))

    def get_output_for(self, input: Any, **kwargs: Any) -> Variable:  # noqa: A002  (Lasagne's name)
        x = T.as_tensor_variable(input)
        if x.ndim != 4:
            raise ValueError(f"{format_layer(self)} expects a 4-d input, got {x!r}")
        h, w = dim_of(x, 2), dim_of(x, 3)  # ints when static, else int64 scalars from x.shape
        parts = []
        if self.implementation == "fast":
            self._check_fast_grid((h, w))
            for p in self.pool_dims:
                win = (_ceil_div(h, p), _ceil_div(w, p))
                pooled = pool_nd(x, 2, win, True, (h // p, w // p), 0, self.mode, format_layer(self))
                parts.append(T.flatten(pooled, 3))
            return T.concatenate(parts, axis=2)
        reduce = T.max if self.mode == "max" else T.mean
        for p in self.pool_dims:
            rows = [(r * h // p, _ceil_div((r + 1) * h, p)) for r in range(p)]
            cols = [(c * w // p, _ceil_div((c + 1) * w, p)) for c in range(p)]
            for r0, r1 in rows:
                for c0, c1 in cols:
                    parts.append(reduce(x[:, :, r0:r1, c0:c1], axis=(2, 3)).dimshuffle(0, 1, "x"))
        return T.concatenate(parts, axis=2)
