"""N-d pooling ops with ONNX's semantics: ``max_pool`` (ONNX ``MaxPool``) and
``avg_pool`` (ONNX ``AveragePool``).

Tensors are ``(batch, channels, *spatial)``; ``pads`` holds all begin pads, then
all end pads.  Padding never wins a maximum (it acts as ``-inf``).  With
``ceil_mode`` a last partial window is kept unless it would start in the end
padding.  An average divides by the number of window elements inside the
padded input (``count_include_pad``) or inside the real input.  Each pad must
be smaller than the window (ONNX Runtime's rule, and Theano's).

``max_pool_indices`` gives, for each ``max_pool`` window, where its first
maximum (row-major within the window) lies: max pooling's gradient is a
scatter-add of the output gradient at these indices.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..registry import register_op
from ..types import DimLike, TensorType, format_shape
from .conv import _ints, accumulate_dtype, check_spatial_attrs, spatial_output
from .elemwise import FLOATS

__all__ = ["pool_windows"]

_MAX_DTYPES = FLOATS + ("int8", "uint8")


def _pool_infer(op: str, allowed: tuple[str, ...]):  # type: ignore[no-untyped-def]
    def infer(
        types: list[TensorType],
        kernel_shape: Any,
        strides: Any,
        pads: Any,
        ceil_mode: bool = False,
        count_include_pad: bool = False,
    ) -> list[TensorType]:
        (x,) = types
        if x.dtype not in allowed:
            raise TypeError(f"{op}: input has dtype {x.dtype}, expected one of {', '.join(allowed)}")
        n, s, p, _ = check_spatial_attrs(op, x, strides, pads)
        k = _ints(op, "kernel_shape", kernel_shape, n, 1)
        shapes = f"input {format_shape(x.shape)}, kernel {k}, strides {s}, pads {p}"
        for i in range(n):
            if p[i] >= k[i] or p[n + i] >= k[i]:
                raise ValueError(f"{op}: each pad must be smaller than the window along its axis; {shapes}")
        out: list[DimLike] = list(x.shape[:2])
        for i in range(n):
            out.append(spatial_output(op, x.shape[2 + i], k[i], s[i], p[i], p[n + i], i, shapes, bool(ceil_mode)))
        return [TensorType(x.dtype, tuple(out))]

    return infer


def pool_windows(size: int, window: int, stride: int, pad_begin: int, pad_end: int, ceil_mode: bool) -> list[range]:
    """The windows along one axis, each the range of padded positions it covers
    clipped to the padded input ``[0, size + pad_begin + pad_end)``."""
    length = size + pad_begin + pad_end
    count = spatial_output("pool", size, window, stride, pad_begin, pad_end, 0, "", ceil_mode)
    assert isinstance(count, int)
    return [range(j * stride, min(j * stride + window, length)) for j in range(count)]


def _pool_eval(op: str):  # type: ignore[no-untyped-def]
    def ev(
        xs: list[np.ndarray],
        kernel_shape: Any,
        strides: Any,
        pads: Any,
        ceil_mode: bool = False,
        count_include_pad: bool = False,
    ) -> list[np.ndarray]:
        (x,) = xs
        n = x.ndim - 2
        axes = [
            pool_windows(x.shape[2 + i], kernel_shape[i], strides[i], pads[i], pads[n + i], bool(ceil_mode))
            for i in range(n)
        ]
        acc = x.dtype if op == "max_pool" else accumulate_dtype(x.dtype)
        out = np.zeros(x.shape[:2] + tuple(len(a) for a in axes), dtype=acc)
        for pos in np.ndindex(*out.shape[2:]):
            windows = [axes[i][pos[i]] for i in range(n)]
            # the real elements of the window, in input coordinates
            real = tuple(
                slice(max(w.start - pads[i], 0), min(w.stop - pads[i], x.shape[2 + i])) for i, w in enumerate(windows)
            )
            region = x[(slice(None), slice(None)) + real]
            if op == "max_pool":
                out[(Ellipsis,) + pos] = region.max(axis=tuple(range(2, x.ndim)))
                continue
            count = np.prod([len(w) for w in windows]) if count_include_pad else np.prod([r.stop - r.start for r in real])
            out[(Ellipsis,) + pos] = region.astype(acc).sum(axis=tuple(range(2, x.ndim))) / count
        return [out.astype(x.dtype)]

    return ev


register_op(
    "max_pool",
    infer=_pool_infer("max_pool", _MAX_DTYPES),
    eval=_pool_eval("max_pool"),
    arity=1,
    doc="N-d max pooling over (B, C, *S), padding ignored, as ONNX MaxPool",
)
register_op(
    "avg_pool",
    infer=_pool_infer("avg_pool", FLOATS),
    eval=_pool_eval("avg_pool"),
    arity=1,
    doc="N-d average pooling over (B, C, *S), as ONNX AveragePool (count_include_pad counts the pads)",
)


# -- max_pool_indices: where each maximum came from (max pooling's gradient routes through it) --------
def _max_pool_indices_infer(types: list[TensorType], **attrs: Any) -> list[TensorType]:
    (y,) = _pool_infer("max_pool_indices", _MAX_DTYPES)(types, **attrs)
    return [TensorType("int64", y.shape)]


def _max_pool_indices_eval(
    xs: list[np.ndarray],
    kernel_shape: Any,
    strides: Any,
    pads: Any,
    ceil_mode: bool = False,
    count_include_pad: bool = False,
) -> list[np.ndarray]:
    (x,) = xs
    n = x.ndim - 2
    spatial = x.shape[2:]
    axes = [pool_windows(spatial[i], kernel_shape[i], strides[i], pads[i], pads[n + i], bool(ceil_mode)) for i in range(n)]
    out = np.zeros(x.shape[:2] + tuple(len(a) for a in axes), dtype=np.int64)
    for pos in np.ndindex(*out.shape[2:]):
        windows = [axes[i][pos[i]] for i in range(n)]
        real = [range(max(w.start - pads[i], 0), min(w.stop - pads[i], spatial[i])) for i, w in enumerate(windows)]
        region = x[(slice(None), slice(None)) + tuple(slice(r.start, r.stop) for r in real)]
        # numpy's argmax takes the first maximum in row-major order, as ONNX MaxPool's Indices do
        first = region.reshape(x.shape[:2] + (-1,)).argmax(axis=2)
        coords = np.unravel_index(first, [len(r) for r in real])
        out[(Ellipsis,) + pos] = np.ravel_multi_index(tuple(c + r.start for c, r in zip(coords, real)), spatial)
    # flat over the whole tensor, as ONNX MaxPool's Indices: image (b, c) starts at (b * C + c) * image size
    image = int(np.prod(spatial))
    out += (np.arange(x.shape[0] * x.shape[1], dtype=np.int64) * image).reshape(x.shape[:2] + (1,) * n)
    return [out]


register_op(
    "max_pool_indices",
    infer=_max_pool_indices_infer,
    eval=_max_pool_indices_eval,
    arity=1,
    doc="for each max_pool window, the row-major flat index into the input of its first maximum (MaxPool's Indices)",
)
