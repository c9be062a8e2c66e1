"""Gradient rules of convolution and pooling: ``conv``, ``conv_transpose``, ``max_pool``, ``avg_pool``.

Gradients are expressions of registered ops, so they export, optimize and
differentiate again like any other:

* the input gradient of ``conv`` is a ``conv_transpose`` with the same
  attributes, and that of ``conv_transpose`` a ``conv``;
* a weight gradient contracts the output gradient with the input's windows:
  one strided slice of the padded input per kernel offset, stacked, and one
  batched ``matmul`` over the batch and output positions, per group (exact in
  every dtype, where ONNX Runtime has no float64 ``Conv``).  Kernels whose size
  is known only at run time fall back to a ``conv`` over the batch axis;
* ``avg_pool`` spreads each output gradient, divided by its window's count,
  over its window: a ``conv_transpose`` by a kernel of ones;
* ``max_pool`` routes each output gradient to the first maximum of its window
  (row-major order within the window, ONNX's and numpy's tie rule):
  ``max_pool_indices`` (ONNX MaxPool's ``Indices``) says where it lies, and
  ``take_along_axis_grad`` (ScatterElements with ``reduction='add'``) adds the
  gradients there.  Stacking the windows and taking their ``argmax`` would
  need no op of its own, but runs several times slower in ONNX Runtime.

Spatial sizes may be symbolic; where an output size cannot be chosen
statically, the transposed convolution computes the largest size reachable
and the surplus is cropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ... import tensor as T
from ...ir.ops.conv import check_spatial_attrs
from ...ir.ops.pool import pool_windows
from ...tensor.variable import Variable, apply_op
from ..registry import grad_rule, non_differentiable
from .common import dim

__all__: list[str] = []

non_differentiable("max_pool_indices")


# -- helpers --------------------------------------------------------------------------
def _static(*sizes: Any) -> bool:
    return all(isinstance(s, int) for s in sizes)


def _shape_of(x: Variable) -> Any:
    """``x``'s shape: a list of ints when static, else its symbolic shape vector."""
    return list(x.type.shape) if x.type.is_static else T.shape(x)


def _prod(sizes: Sequence[Any]) -> Any:
    out: Any = 1
    for s in sizes:
        out = out * s
    return out


def _spatial_slice(starts: Sequence[Any], stops: Sequence[Any], steps: Sequence[int]) -> tuple[slice, ...]:
    """An index over ``(batch, channels, *spatial)`` picking ``start:stop:step`` on each spatial axis."""
    return (slice(None), slice(None)) + tuple(slice(a, b, s) for a, b, s in zip(starts, stops, steps))


def _window_stack(
    xp: Variable, axis: int, kernel: Sequence[int], strides: Sequence[int], dilations: Sequence[int],
    counts: Sequence[Any],
) -> Variable:
    """The sliding windows of the padded ``xp``, one slice per kernel offset, stacked on ``axis``.

    Parameters
    ----------
    xp : Variable
        ``(lead0, lead1, *spatial)``, already padded.
    axis : int
        Where the new axis of ``prod(kernel)`` offsets (row-major) goes.
    kernel, strides, dilations : sequence of int
    counts : sequence
        Windows per spatial axis (ints or symbolic scalars).
    """
    parts = []
    for off in np.ndindex(*kernel):
        starts = [o * d for o, d in zip(off, dilations)]
        stops = [a + (c - 1) * s + 1 for a, c, s in zip(starts, counts, strides)]
        parts.append(xp[_spatial_slice(starts, stops, strides)])
    return T.expand_dims(parts[0], axis) if len(parts) == 1 else T.stack(parts, axis=axis)


def _scatter_back(
    g: Variable, kernel_weights: np.ndarray, strides: Sequence[int], pads: Sequence[int], ref: Variable,
    counts: Sequence[Any],
) -> Variable:
    """``conv_transpose`` of ``g`` (windows on the spatial axes) into the spatial shape of ``ref``.

    The transposed convolution's output position ``j`` is the padded input's
    position ``j + pad_begin``; the end pads and output padding are chosen so
    the output covers exactly ``ref``'s spatial sizes.  Where that needs sizes
    known only at run time, the largest output the strides allow is computed
    and cropped.

    Parameters
    ----------
    g : Variable
        ``(batch, channels, *counts)``.
    kernel_weights : numpy.ndarray
        ``(channels, filters, *kernel)`` constant weights.
    strides, pads : sequence of int
        The forward op's (``pads``: all begins, then all ends).
    ref : Variable
        The forward op's input, ``(.., .., *spatial)``.
    counts : sequence
        Windows per spatial axis (ints or symbolic scalars).
    """
    n = len(strides)
    kernel = kernel_weights.shape[2:]
    ends, out_pad, crop = [], [], False
    for i in range(n):
        size, count, s, pb = ref.type.shape[2 + i], counts[i], strides[i], pads[i]
        if _static(size, count):
            reach = (count - 1) * s + kernel[i] - pb - size  # of the full output, past the input's end
            ends.append(max(reach, 0))
            out_pad.append(max(-reach, 0))
        elif s == 1:
            # the window count is (size + pads - kernel) + 1: the full output ends exactly at the end pad
            ends.append(pads[n + i])
            out_pad.append(0)
        else:
            ends.append(0)
            out_pad.append(s - 1)
            crop = True
    w = T.constant(kernel_weights.astype(g.dtype))
    y = apply_op(
        "conv_transpose", [g, w], strides=tuple(strides), pads=tuple(pads[:n]) + tuple(ends),
        dilations=(1,) * n, output_padding=tuple(out_pad), groups=1,
    )
    assert isinstance(y, Variable)
    if crop:
        y = y[_spatial_slice([None] * n, [dim(ref, 2 + i) for i in range(n)], [1] * n)]
    return y


def _conv_input_grad(
    gy: Variable, w: Variable, x: Variable, strides: Sequence[int], pads: Sequence[int],
    dilations: Sequence[int], groups: int,
) -> Variable:
    """The input gradient of ``conv(x, w)``: ``conv_transpose(gy, w)`` with output size ``x``'s."""
    n = len(strides)
    out_pad, crop = [], False
    for i in range(n):
        size, count, k, s = x.type.shape[2 + i], gy.type.shape[2 + i], w.type.shape[2 + i], strides[i]
        if _static(size, count, k):
            out_pad.append(size + pads[i] + pads[n + i] - ((count - 1) * s + (k - 1) * dilations[i] + 1))
        elif s == 1:
            out_pad.append(0)  # a stride of 1 leaves no slack: the output is exactly the input's size
        else:
            out_pad.append(s - 1)
            crop = True
    dx = apply_op(
        "conv_transpose", [gy, w], strides=tuple(strides), pads=tuple(pads), dilations=tuple(dilations),
        output_padding=tuple(out_pad), groups=groups,
    )
    assert isinstance(dx, Variable)
    if crop:
        dx = dx[_spatial_slice([None] * n, [dim(x, 2 + i) for i in range(n)], [1] * n)]
    return dx


def _weight_grad(
    x: Variable, gy: Variable, w: Variable, strides: Sequence[int], pads: Sequence[int],
    dilations: Sequence[int], groups: int,
) -> Variable:
    """The weight gradient of ``y = conv(x, w)`` given ``gy``.

    ``dw[f, c, k] = sum over b, o of gy[b, f, o] * x_padded[b, group(f) * C/groups + c, o * stride + k * dilation]``.

    Parameters
    ----------
    x : Variable
        ``(B, C, *S)``.
    gy : Variable
        ``(B, F, *O)``.
    w : Variable
        ``(F, C / groups, *K)``: only its shape is used.
    strides, pads, dilations : sequence of int
    groups : int
    """
    n = len(strides)
    kernel = w.type.shape[2:]
    if not _static(*kernel):
        return _weight_grad_by_conv(x, gy, w, strides, pads, dilations, groups)
    counts = [dim(gy, 2 + i) for i in range(n)]
    ends = []
    for i in range(n):
        size, count = x.type.shape[2 + i], counts[i]
        if _static(size, count):  # pad only as far as the last window reaches
            reach = (count - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - pads[i] - size
            ends.append(min(pads[n + i], max(reach, 0)))
        else:
            ends.append(pads[n + i])
    # channels first, so the stacked windows need no transpose before the matmul
    xt = T.transpose(x, (1, 0) + tuple(range(2, n + 2)))
    xp = T.pad(xt, [0, 0] + [(pads[i], ends[i]) for i in range(n)])
    cols = _window_stack(xp, 1, kernel, strides, dilations, counts)  # (C, K, B, *O)
    cg = dim(x, 1) // groups
    fg = dim(gy, 1) // groups
    cols = T.reshape(cols, [groups, cg * int(np.prod(kernel)), -1])  # (G, C/G * K, B * O)
    gt = T.transpose(gy, (1, 0) + tuple(range(2, n + 2)))
    gt = T.transpose(T.reshape(gt, [groups, fg, -1]), (0, 2, 1))  # (G, B * O, F/G)
    dw = T.transpose(T.matmul(cols, gt), (0, 2, 1))  # (G, F/G, C/G * K)
    return T.reshape(dw, _shape_of(w))


def _weight_grad_by_conv(
    x: Variable, gy: Variable, w: Variable, strides: Sequence[int], pads: Sequence[int],
    dilations: Sequence[int], groups: int,
) -> Variable:
    """:func:`_weight_grad` for kernels of run-time size: a ``conv`` over the batch axis.

    The input, regrouped to ``(C/G, G*B, *S)``, is convolved by the output
    gradient as ``(F, B, *O)`` weights with strides and dilations swapped; the
    result ``(C/G, F, *K')`` is cropped to the kernel size and transposed.
    """
    n = len(strides)
    spatial = [dim(x, 2 + i) for i in range(n)]
    batch = dim(x, 0)
    xr = T.reshape(x, [batch, groups, -1] + spatial)  # (B, G, C/G, *S)
    xr = T.transpose(xr, (2, 1, 0) + tuple(range(3, n + 3)))
    xr = T.reshape(xr, [-1, batch * groups] + spatial)  # (C/G, G*B, *S)
    gt = T.transpose(gy, (1, 0) + tuple(range(2, n + 2)))  # (F, B, *O)
    r = apply_op(
        "conv", [xr, gt], strides=tuple(dilations), pads=tuple(pads), dilations=tuple(strides), groups=groups
    )
    assert isinstance(r, Variable)
    r = r[_spatial_slice([None] * n, [dim(w, 2 + i) for i in range(n)], [1] * n)]
    return T.transpose(r, (1, 0) + tuple(range(2, n + 2)))


# -- rules ------------------------------------------------------------------------------
@grad_rule("conv")
def _conv(node: Any, gs: list[Any]) -> list[Any]:
    x, w = node.inputs
    gy = gs[0]
    a = node.attrs
    _, s, p, d = check_spatial_attrs("conv", x.type, a["strides"], a["pads"], a.get("dilations"))
    groups = int(a.get("groups", 1))
    return [_conv_input_grad(gy, w, x, s, p, d, groups), _weight_grad(x, gy, w, s, p, d, groups)]


@grad_rule("conv_transpose")
def _conv_transpose(node: Any, gs: list[Any]) -> list[Any]:
    x, w = node.inputs
    gy = gs[0]
    a = node.attrs
    _, s, p, d = check_spatial_attrs("conv_transpose", x.type, a["strides"], a["pads"], a.get("dilations"))
    groups = int(a.get("groups", 1))
    # conv_transpose is the input gradient of conv(gy-shaped, w): its gradients are that conv's
    dx = apply_op("conv", [gy, w], strides=s, pads=p, dilations=d, groups=groups)
    return [dx, _weight_grad(gy, x, w, s, p, d, groups)]


def _pool_attrs(node: Any) -> tuple[int, tuple[int, ...], tuple[int, ...], tuple[int, ...], list[Any]]:
    x, y = node.inputs[0], node.outputs[0]
    a = node.attrs
    n, s, p, _ = check_spatial_attrs(node.op, x.type, a["strides"], a["pads"])
    k = tuple(int(v) for v in a["kernel_shape"])
    return n, k, s, p, [dim(y, 2 + i) for i in range(n)]


def _window_counts(node: Any) -> Variable:
    """``(1, 1, *O)``: how many elements each average divides by (see :func:`~graphc.ir.ops.pool.pool_windows`)."""
    x = node.inputs[0]
    n, k, s, p, counts = _pool_attrs(node)
    ceil = bool(node.attrs.get("ceil_mode"))
    include = bool(node.attrs.get("count_include_pad"))
    dt = x.dtype
    spatial = x.type.shape[2:]
    if _static(*spatial):
        table = np.ones((1, 1))
        for i in range(n):
            lo, hi = p[i], p[i] + spatial[i]
            ws = pool_windows(spatial[i], k[i], s[i], p[i], p[n + i], ceil)
            sizes = [len(w) if include else len(range(max(w.start, lo), min(w.stop, hi))) for w in ws]
            table = np.multiply.outer(table, np.array(sizes, dtype=np.float64))
        return T.constant(table.astype(dt))
    # a convolution of ones (the real input, or the padded one) by a kernel of ones; extra end
    # padding makes the ceil_mode windows whole, and a crop keeps the real windows
    extra = [s[i] - 1 if ceil else 0 for i in range(n)]
    if include:
        ones = T.ones([1, 1] + [dim(x, 2 + i) + p[i] + p[n + i] for i in range(n)], dtype=dt)
        pads = (0,) * n + tuple(extra)
    else:
        ones = T.ones([1, 1] + [dim(x, 2 + i) for i in range(n)], dtype=dt)
        pads = tuple(p[:n]) + tuple(p[n + i] + extra[i] for i in range(n))
    window = T.constant(np.ones((1, 1) + k, dtype=dt))
    cnt = apply_op("conv", [ones, window], strides=s, pads=pads, dilations=(1,) * n, groups=1)
    assert isinstance(cnt, Variable)
    return cnt[_spatial_slice([None] * n, counts, [1] * n)] if ceil else cnt


@grad_rule("avg_pool")
def _avg_pool(node: Any, gs: list[Any]) -> list[Any]:
    x = node.inputs[0]
    n, k, s, p, counts = _pool_attrs(node)
    g = gs[0] / _window_counts(node)
    g = T.reshape(g, [-1, 1] + [dim(g, 2 + i) for i in range(n)])  # one image per (batch, channel)
    return [T.reshape(_scatter_back(g, np.ones((1, 1) + k), s, p, x, counts), _shape_of(x))]


@grad_rule("max_pool")
def _max_pool(node: Any, gs: list[Any]) -> list[Any]:
    from ...tensor.shape import shape_vector

    x = node.inputs[0]
    where = apply_op("max_pool_indices", [x], **node.attrs)  # flat indices into x
    assert isinstance(where, Variable)
    size = _prod([dim(x, i) for i in range(x.ndim)])
    dx = apply_op("take_along_axis_grad", [T.flatten(gs[0]), T.flatten(where), shape_vector([size])], axis=0)
    return [T.reshape(dx, _shape_of(x))]
