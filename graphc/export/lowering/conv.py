"""Lowerings of ``conv`` and ``conv_transpose`` to ONNX ``Conv``/``ConvTranspose``.

ONNX Runtime's CPU provider implements ``Conv`` and ``ConvTranspose`` in
float16 and float32 only.  float64 is lowered exactly, without narrowing: the
padded input's windows are gathered with one ``Slice`` per kernel offset and
contracted with the weights by one ``Einsum``; a transposed convolution is the
convolution of the stride-dilated input with the flipped, transposed weights.
Where that needs sizes only known at run time (symbolic kernel sizes or
channel counts), float64 is computed in float32 between casts.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ...ir.types import Dim
from ..context import INT64_MAX, INT64_MIN, LoweringContext, LowerNode, lowering, onnx_dtype

__all__ = ["pad_or_crop", "windows", "NATIVE"]

#: dtypes ONNX Runtime's CPU Conv/ConvTranspose/AveragePool kernels take
NATIVE = ("float16", "float32")

_SPATIAL_LETTERS = "xyzuvw"


def _slice(ctx: LoweringContext, x: str, starts: Sequence[int], ends: Sequence[int], axes: Sequence[int],
           steps: Sequence[int], name: str) -> str:
    return ctx.op(
        "Slice", x, ctx.int64s(starts), ctx.int64s(ends), ctx.int64s(axes), ctx.int64s(steps), name=name
    )


def pad_or_crop(
    ctx: LoweringContext, x: str, rank: int, first_axis: int, begins: Sequence[int], ends: Sequence[int],
    name: str, value: str | None = None,
) -> str:
    """Pad axes ``first_axis...`` of ``x`` by ``begins``/``ends`` (negative entries crop).

    ``value`` names a scalar initializer holding the pad value (default 0).
    """
    n = len(begins)
    if any(b < 0 for b in begins) or any(e < 0 for e in ends):
        axes = [first_axis + i for i in range(n)]
        starts = [max(-b, 0) for b in begins]
        stops = [e if e < 0 else INT64_MAX for e in ends]
        x = _slice(ctx, x, starts, stops, axes, [1] * n, name)
        begins = [max(b, 0) for b in begins]
        ends = [max(e, 0) for e in ends]
    if not any(begins) and not any(ends):
        return x
    pads = [0] * first_axis + list(begins) + [0] * (rank - first_axis - n)
    pads += [0] * first_axis + list(ends) + [0] * (rank - first_axis - n)
    ins = [x, ctx.int64s(pads)] + ([value] if value is not None else [])
    return ctx.op("Pad", *ins, name=name)


def windows(
    ctx: LoweringContext, x: str, first_axis: int, kernel: Sequence[int], strides: Sequence[int],
    dilations: Sequence[int], name: str,
) -> str:
    """Stack the sliding windows of the (already padded) ``x`` on a new axis at ``first_axis``.

    The spatial axes start at ``first_axis``; the result has them after the new
    axis of ``prod(kernel)`` entries, one per kernel offset (row-major).
    """
    n = len(kernel)
    axes = [first_axis + i for i in range(n)]
    parts = []
    for off in np.ndindex(*kernel):
        starts = [o * d for o, d in zip(off, dilations)]
        stops = [-(k - 1 - o) * d if k - 1 - o else INT64_MAX for k, o, d in zip(kernel, off, dilations)]
        part = _slice(ctx, x, starts, stops, axes, strides, name)
        parts.append(ctx.op("Unsqueeze", part, ctx.int64s([first_axis]), name=name))
    return parts[0] if len(parts) == 1 else ctx.op("Concat", *parts, name=name, axis=first_axis)


def _static(*dims: object) -> bool:
    return all(not isinstance(d, Dim) for d in dims)


def _conv_exact(
    ctx: LoweringContext, x: str, w: str, n: int, filters: int, cg: int, kernel: Sequence[int],
    strides: Sequence[int], begins: Sequence[int], ends: Sequence[int], dilations: Sequence[int], groups: int,
    name: str,
) -> str:
    """Conv as ``Slice`` windows and one ``Einsum`` (any dtype Einsum takes)."""
    rank = n + 2
    xp = pad_or_crop(ctx, x, rank, 2, begins, ends, name)
    # (B, C, *S) -> (B, G, C/G, *S)
    grouped_shape = ctx.op(
        "Concat",
        ctx.op("Shape", xp, name=name, start=0, end=1),
        ctx.int64s([groups, cg]),
        ctx.op("Shape", xp, name=name, start=2),
        name=name,
        axis=0,
    )
    xg = ctx.op("Reshape", xp, grouped_shape, name=name)
    patches = windows(ctx, xg, 3, kernel, strides, dilations, name)  # (B, G, C/G, K, *O)
    wg = ctx.op("Reshape", w, ctx.int64s([groups, filters // groups, cg, int(np.prod(kernel))]), name=name)
    sp = _SPATIAL_LETTERS[:n]
    y = ctx.op("Einsum", patches, wg, name=name, equation=f"bgck{sp},gfck->bgf{sp}")  # (B, G, F/G, *O)
    out_shape = ctx.op(
        "Concat",
        ctx.op("Shape", y, name=name, start=0, end=1),
        ctx.int64s([filters]),
        ctx.op("Shape", y, name=name, start=3),
        name=name,
        axis=0,
    )
    return ctx.op("Reshape", y, out_shape, name=name)


def _narrowed(ctx: LoweringContext, op_type: str, n: LowerNode, **attrs: object) -> list[str]:
    """Run ``op_type`` in float32 between casts (float64 with run-time-only sizes)."""
    f32 = onnx_dtype("float32")
    ins = [ctx.op("Cast", v, name=n.name, to=f32) for v in n.inputs]
    y = ctx.op(op_type, *ins, name=n.name, **attrs)
    return [ctx.op("Cast", y, name=n.name, to=onnx_dtype(n.out_types[0].dtype))]


@lowering("conv")
def _conv(ctx: LoweringContext, n: LowerNode) -> list[str]:
    a = n.attrs
    x_t, w_t = n.in_types
    nsp = x_t.ndim - 2
    dilations = tuple(a.get("dilations") or (1,) * nsp)
    groups = int(a.get("groups", 1))
    kernel = w_t.shape[2:]
    attrs: dict[str, object] = dict(
        strides=list(a["strides"]), pads=list(a["pads"]), dilations=list(dilations), group=groups
    )
    if _static(*kernel):
        attrs["kernel_shape"] = list(kernel)
    dt = x_t.dtype
    if dt in NATIVE:
        return ctx.node("Conv", n.inputs, name=n.name, dtype=dt, **attrs)
    f, cg = w_t.shape[0], w_t.shape[1]
    if not _static(f, cg, *kernel):
        return _narrowed(ctx, "Conv", n, **attrs)
    pads = a["pads"]
    y = _conv_exact(
        ctx, n.inputs[0], n.inputs[1], nsp, int(f), int(cg), [int(k) for k in kernel], a["strides"],
        pads[:nsp], pads[nsp:], dilations, groups, n.name,
    )
    return [y]


def _dilate(ctx: LoweringContext, x: str, n: int, strides: Sequence[int], name: str) -> str:
    """Insert ``stride - 1`` zeros between neighbours along each spatial axis."""
    if all(s == 1 for s in strides):
        return x
    rank = n + 2
    inner = [3 + 2 * i for i in range(n)]
    u = ctx.op("Unsqueeze", x, ctx.int64s(inner), name=name)  # (B, C, S0, 1, S1, 1, ...)
    ends = [0] * (rank + n)
    for i, s in enumerate(strides):
        ends[inner[i]] = s - 1
    padded = ctx.op("Pad", u, ctx.int64s([0] * (rank + n) + ends), name=name)
    target = ctx.op("Mul", ctx.op("Shape", x, name=name), ctx.int64s([1, 1] + list(strides)), name=name)
    flat = ctx.op("Reshape", padded, target, name=name)
    axes = [2 + i for i, s in enumerate(strides) if s > 1]
    stops = [-(s - 1) for s in strides if s > 1]
    return _slice(ctx, flat, [0] * len(axes), stops, axes, [1] * len(axes), name)


@lowering("conv_transpose")
def _conv_transpose(ctx: LoweringContext, n: LowerNode) -> list[str]:
    a = n.attrs
    x_t, w_t = n.in_types
    nsp = x_t.ndim - 2
    dilations = tuple(a.get("dilations") or (1,) * nsp)
    output_padding = tuple(a.get("output_padding") or (0,) * nsp)
    groups = int(a.get("groups", 1))
    kernel = w_t.shape[2:]
    attrs: dict[str, object] = dict(
        strides=list(a["strides"]), pads=list(a["pads"]), dilations=list(dilations), group=groups,
        output_padding=list(output_padding),
    )
    if _static(*kernel):
        attrs["kernel_shape"] = list(kernel)
    dt = x_t.dtype
    if dt in NATIVE:
        return ctx.node("ConvTranspose", n.inputs, name=n.name, dtype=dt, **attrs)
    c, fg = w_t.shape[0], w_t.shape[1]
    if not _static(c, fg, *kernel):
        return _narrowed(ctx, "ConvTranspose", n, **attrs)
    c, fg, kernel = int(c), int(fg), [int(k) for k in kernel]
    cg = c // groups
    name = n.name
    # weights (C, F/G, *K) -> (F, C/G, *K), spatially flipped
    w = ctx.op("Reshape", n.inputs[1], ctx.int64s([groups, cg, fg] + kernel), name=name)
    w = ctx.op("Transpose", w, name=name, perm=[0, 2, 1] + [3 + i for i in range(nsp)])
    w = ctx.op("Reshape", w, ctx.int64s([groups * fg, cg] + kernel), name=name)
    spatial = [2 + i for i in range(nsp)]
    w = _slice(ctx, w, [-1] * nsp, [INT64_MIN] * nsp, spatial, [-1] * nsp, name)
    xd = _dilate(ctx, n.inputs[0], nsp, a["strides"], name)
    pads = a["pads"]
    begins = [(k - 1) * d - p for k, d, p in zip(kernel, dilations, pads[:nsp])]
    ends = [(k - 1) * d - p + o for k, d, p, o in zip(kernel, dilations, pads[nsp:], output_padding)]
    y = _conv_exact(ctx, xd, w, nsp, groups * fg, cg, kernel, [1] * nsp, begins, ends, dilations, groups, name)
    return [y]
