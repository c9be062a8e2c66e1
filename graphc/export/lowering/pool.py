"""Lowerings of ``max_pool`` and ``avg_pool`` to ONNX ``MaxPool``/``AveragePool``.

``ceil_mode`` is lowered, where the spatial sizes are static, as extra end
padding that no average counts, so the result never depends on how a runtime
treats a window running past the padded input.  ONNX Runtime has no float64
``AveragePool``: float64 averages are window sums (``Slice`` windows and a
``ReduceSum``) divided by the window counts, computed exactly.
"""

from __future__ import annotations

import numpy as np

from ...ir.ops.pool import pool_windows
from ...ir.types import Dim
from ..context import LoweringContext, LowerNode, lowering, onnx_dtype
from .conv import NATIVE, pad_or_crop, windows


def _ceil_extra(n: LowerNode) -> list[int] | None:
    """End padding that makes ``ceil_mode`` windows whole, or None when sizes are symbolic."""
    a = n.attrs
    x_t, y_t = n.in_types[0], n.out_types[0]
    nsp = x_t.ndim - 2
    if not a.get("ceil_mode"):
        return [0] * nsp
    if any(isinstance(d, Dim) for d in x_t.shape[2:]):
        return None
    k, s, p = a["kernel_shape"], a["strides"], a["pads"]
    return [
        max(0, (int(y_t.shape[2 + i]) - 1) * s[i] + k[i] - (int(x_t.shape[2 + i]) + p[i] + p[nsp + i]))
        for i in range(nsp)
    ]


@lowering("max_pool")
def _max_pool(ctx: LoweringContext, n: LowerNode) -> list[str]:
    a = n.attrs
    nsp = n.in_types[0].ndim - 2
    k, s, p = list(a["kernel_shape"]), list(a["strides"]), list(a["pads"])
    extra = _ceil_extra(n)
    dt = n.in_types[0].dtype
    if extra is None:
        return ctx.node("MaxPool", n.inputs, name=n.name, dtype=dt, kernel_shape=k, strides=s, pads=p, ceil_mode=1)
    pads = p[:nsp] + [e + x for e, x in zip(p[nsp:], extra)]
    return ctx.node("MaxPool", n.inputs, name=n.name, dtype=dt, kernel_shape=k, strides=s, pads=pads)


def _scalar(ctx: LoweringContext, value: float, dtype: str) -> str:
    return ctx.const(np.array(value, dtype=dtype), hint="pad_value")


@lowering("avg_pool")
def _avg_pool(ctx: LoweringContext, n: LowerNode) -> list[str]:
    a = n.attrs
    x_t = n.in_types[0]
    nsp = x_t.ndim - 2
    k, s, p = list(a["kernel_shape"]), list(a["strides"]), list(a["pads"])
    include = bool(a.get("count_include_pad"))
    extra = _ceil_extra(n)
    dt = x_t.dtype
    x = n.inputs[0]
    if dt not in NATIVE:
        if extra is None:
            f32 = onnx_dtype("float32")
            y = ctx.op("AveragePool", ctx.op("Cast", x, name=n.name, to=f32), name=n.name, kernel_shape=k, strides=s,
                       pads=p, ceil_mode=1, count_include_pad=int(include))
            return [ctx.op("Cast", y, name=n.name, to=onnx_dtype(dt))]
        return [_avg_exact(ctx, n, extra)]
    if extra is None:
        return ctx.node("AveragePool", [x], name=n.name, dtype=dt, kernel_shape=k, strides=s, pads=p, ceil_mode=1,
                        count_include_pad=int(include))
    if include and any(extra):
        # the user's pads count, the ceil_mode extension does not
        x = pad_or_crop(ctx, x, nsp + 2, 2, p[:nsp], p[nsp:], n.name)
        return ctx.node("AveragePool", [x], name=n.name, dtype=dt, kernel_shape=k, strides=s,
                        pads=[0] * nsp + extra, count_include_pad=0)
    pads = p[:nsp] + [e + x for e, x in zip(p[nsp:], extra)]
    return ctx.node("AveragePool", [x], name=n.name, dtype=dt, kernel_shape=k, strides=s, pads=pads,
                    count_include_pad=int(include))


def _avg_exact(ctx: LoweringContext, n: LowerNode, extra: list[int]) -> str:
    """Window sums over window counts, for dtypes without an AveragePool kernel."""
    a = n.attrs
    x_t = n.in_types[0]
    nsp = x_t.ndim - 2
    k, s, p = list(a["kernel_shape"]), list(a["strides"]), list(a["pads"])
    include = bool(a.get("count_include_pad"))
    dt = x_t.dtype
    name = n.name
    ends = [e + x for e, x in zip(p[nsp:], extra)]
    xp = pad_or_crop(ctx, n.inputs[0], nsp + 2, 2, p[:nsp], ends, name)
    sums = ctx.node(
        "ReduceSum", [windows(ctx, xp, 2, k, s, [1] * nsp, name), ctx.int64s([2])], name=name, dtype=dt, keepdims=0
    )[0]
    spatial = x_t.shape[2:]
    if all(not isinstance(d, Dim) for d in spatial):
        per_axis = []
        for i in range(nsp):
            ws = pool_windows(int(spatial[i]), k[i], s[i], p[i], p[nsp + i], bool(a.get("ceil_mode")))
            lo, hi = p[i], p[i] + int(spatial[i])
            per_axis.append([len(w) if include else len(range(max(w.start, lo), min(w.stop, hi))) for w in ws])
        counts = np.ones((1, 1))
        for c in per_axis:
            counts = np.multiply.outer(counts, np.array(c, dtype=np.float64))
        return ctx.op("Div", sums, ctx.const(counts.astype(dt), hint="window_counts"), name=name)
    # symbolic sizes (no ceil_mode here): count on a tensor of ones shaped like one channel
    ones_shape = ctx.op("Concat", ctx.int64s([1, 1]), ctx.op("Shape", n.inputs[0], name=name, start=2), name=name,
                        axis=0)
    ones = ctx.op("ConstantOfShape", ones_shape, name=name,
                  value=_tensor_value(1.0, dt))
    value = _scalar(ctx, 1.0, dt) if include and any(p) else None
    padded = pad_or_crop(ctx, ones, nsp + 2, 2, p[:nsp], p[nsp:], name, value=value)
    counts_t = ctx.node(
        "ReduceSum", [windows(ctx, padded, 2, k, s, [1] * nsp, name), ctx.int64s([2])], name=name, dtype=dt,
        keepdims=0,
    )[0]
    return ctx.op("Div", sums, counts_t, name=name)


def _tensor_value(value: float, dtype: str):  # type: ignore[no-untyped-def]
    from onnx import numpy_helper

    return numpy_helper.from_array(np.array([value], dtype=dtype), name="value")


@lowering("max_pool_indices")
def _max_pool_indices(ctx: LoweringContext, n: LowerNode) -> list[str]:
    """MaxPool's ``Indices`` output (row-major, flat over the whole input: ``storage_order=0``)."""
    a = n.attrs
    nsp = n.in_types[0].ndim - 2
    k, s, p = list(a["kernel_shape"]), list(a["strides"]), list(a["pads"])
    extra = _ceil_extra(n)
    if extra is None:
        attrs: dict[str, object] = dict(kernel_shape=k, strides=s, pads=p, ceil_mode=1)
    else:
        attrs = dict(kernel_shape=k, strides=s, pads=p[:nsp] + [e + x for e, x in zip(p[nsp:], extra)])
    return ctx.node("MaxPool", n.inputs, n_out=2, name=n.name, **attrs)[1:]
