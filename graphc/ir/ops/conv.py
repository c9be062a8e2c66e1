"""N-d convolution ops with ONNX's semantics: ``conv`` (ONNX ``Conv``: a
cross-correlation) and ``conv_transpose`` (ONNX ``ConvTranspose``).

Tensors are laid out ``(batch, channels, *spatial)``.  Attributes are tuples
with one entry per spatial axis; ``pads`` holds all begin pads, then all end
pads (ONNX's order).  Biases are not part of the ops: callers add them with
broadcasting.  Spatial sizes may be symbolic; an output size that cannot be
expressed through the input's dims is then a fresh :class:`~graphc.ir.types.Dim`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..registry import register_op
from ..types import Dim, DimLike, TensorType, format_shape, fresh_dim
from .elemwise import FLOATS

__all__ = ["check_spatial_attrs", "spatial_output", "accumulate_dtype"]


def _ints(op: str, name: str, value: Any, n: int, minimum: int) -> tuple[int, ...]:
    try:
        vals = tuple(value)
    except TypeError:
        raise TypeError(f"{op}: {name} must be a tuple of {n} ints, got {value!r}") from None
    if len(vals) != n:
        raise ValueError(f"{op}: {name} must have {n} entries (one per spatial axis), got {value!r}")
    for v in vals:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"{op}: {name} must hold ints, got {value!r}")
        if v < minimum:
            raise ValueError(f"{op}: {name} entries must be >= {minimum}, got {value!r}")
    return tuple(int(v) for v in vals)


def check_spatial_attrs(
    op: str, x: TensorType, strides: Any, pads: Any, dilations: Any = None
) -> tuple[int, tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """Validate ``x`` as ``(batch, channels, *spatial)`` and the per-axis attributes.

    Returns
    -------
    (n, strides, pads, dilations)
        ``n`` is the number of spatial axes.

    Raises
    ------
    ValueError
        For an input of fewer than 3 dims or attributes of the wrong length or sign.
    TypeError
        For a non-float input or non-int attributes.
    """
    if x.ndim < 3:
        raise ValueError(
            f"{op}: input must be (batch, channels, *spatial) with at least one spatial axis, got shape "
            f"{format_shape(x.shape)}"
        )
    n = x.ndim - 2
    s = _ints(op, "strides", strides, n, 1)
    p = _ints(op, "pads", pads, 2 * n, 0)
    d = _ints(op, "dilations", dilations if dilations is not None else (1,) * n, n, 1)
    return n, s, p, d


def spatial_output(
    op: str, size: DimLike, window: int, stride: int, pad_begin: int, pad_end: int, axis: int, shapes: str,
    ceil_mode: bool = False,
) -> DimLike:
    """Output size of a sliding window of ``window`` elements along one padded axis.

    ``floor((size + pads - window) / stride) + 1``, or with ``ceil_mode`` the
    ceiling, dropping a last window that would start in the end padding (ONNX's
    rule).  A symbolic ``size`` gives itself when the output is surely as long
    as the input, else a fresh dim.

    Raises
    ------
    ValueError
        When the window is longer than the padded input (static sizes).
    """
    extra = pad_begin + pad_end - window
    if isinstance(size, Dim):
        if stride == 1 and extra == -1:
            return size
        return fresh_dim(op)
    length = size + pad_begin + pad_end
    if length < window:
        raise ValueError(
            f"{op}: the window ({window} elements along spatial axis {axis}) is larger than the padded input "
            f"({size} + {pad_begin + pad_end} padding = {length}); shapes {shapes}"
        )
    if not ceil_mode:
        return (length - window) // stride + 1
    out = -(-(length - window) // stride) + 1
    if (out - 1) * stride >= size + pad_begin:
        out -= 1
    return out


def accumulate_dtype(dtype: np.dtype) -> np.dtype:
    """float16 sums in float32 in the numpy references; wider floats in themselves."""
    return np.promote_types(dtype, np.float32)


def _check_floats(op: str, types: Sequence[TensorType]) -> None:
    for t in types:
        if t.dtype not in FLOATS:
            raise TypeError(f"{op}: operands must be float tensors, got {t.compact}")
    if len({t.dtype for t in types}) > 1:
        raise TypeError(f"{op}: operand dtypes differ ({', '.join(t.dtype for t in types)}); cast one first")


def _check_groups(op: str, groups: Any) -> int:
    if isinstance(groups, (bool, np.bool_)) or not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    return int(groups)


def _divides(groups: int, size: DimLike) -> bool:
    return isinstance(size, Dim) or size % groups == 0


# -- conv ---------------------------------------------------------------------------
def _conv_infer(
    types: list[TensorType], strides: Any, pads: Any, dilations: Any = None, groups: int = 1
) -> list[TensorType]:
    x, w = types
    _check_floats("conv", types)
    n, s, p, d = check_spatial_attrs("conv", x, strides, pads, dilations)
    g = _check_groups("conv", groups)
    shapes = f"input {format_shape(x.shape)}, weights {format_shape(w.shape)}"
    if w.ndim != x.ndim:
        raise ValueError(f"conv: weights must be (filters, channels / groups, *kernel) with {n} kernel axes; {shapes}")
    c, f, cg = x.shape[1], w.shape[0], w.shape[1]
    if not _divides(g, c) or not _divides(g, f):
        raise ValueError(f"conv: groups={g} must divide the input channels and the filters; {shapes}")
    if isinstance(c, int) and isinstance(cg, int) and cg * g != c:
        raise ValueError(
            f"conv: channel mismatch: the input has {c} channels but the weights expect {cg} per group x {g} "
            f"group(s) = {cg * g}; {shapes}"
        )
    out: list[DimLike] = [x.shape[0], f]
    for i in range(n):
        k = w.shape[2 + i]
        if isinstance(k, Dim):
            out.append(fresh_dim("conv"))
            continue
        if k == 0:
            raise ValueError(f"conv: empty kernel along spatial axis {i}; {shapes}")
        out.append(spatial_output("conv", x.shape[2 + i], (k - 1) * d[i] + 1, s[i], p[i], p[n + i], i, shapes))
    return [TensorType(x.dtype, tuple(out))]


def _window(offset: int, dilation: int, count: int, stride: int) -> slice:
    start = offset * dilation
    return slice(start, start + (count - 1) * stride + 1, stride)


def _conv_eval(
    xs: list[np.ndarray], strides: Any, pads: Any, dilations: Any = None, groups: int = 1
) -> list[np.ndarray]:
    x, w = xs
    n = x.ndim - 2
    dilations = tuple(dilations) if dilations is not None else (1,) * n
    acc = accumulate_dtype(x.dtype)
    xp = np.pad(x.astype(acc), [(0, 0), (0, 0)] + [(pads[i], pads[n + i]) for i in range(n)])
    kernel = w.shape[2:]
    out_sp = [(xp.shape[2 + i] - (kernel[i] - 1) * dilations[i] - 1) // strides[i] + 1 for i in range(n)]
    f, cg = w.shape[0], w.shape[1]
    fg = f // groups
    out = np.zeros((x.shape[0], f, *out_sp), dtype=acc)
    for g in range(groups):
        xg = xp[:, g * cg : (g + 1) * cg]
        wg = w[g * fg : (g + 1) * fg].astype(acc)
        for off in np.ndindex(*kernel):
            sl = tuple(_window(off[i], dilations[i], out_sp[i], strides[i]) for i in range(n))
            patch = xg[(slice(None), slice(None)) + sl]
            out[:, g * fg : (g + 1) * fg] += np.einsum("bc...,fc->bf...", patch, wg[(Ellipsis,) + off])
    return [out.astype(x.dtype)]


register_op(
    "conv",
    infer=_conv_infer,
    eval=_conv_eval,
    arity=2,
    doc="N-d cross-correlation of (B, C, *S) with weights (F, C/groups, *K), as ONNX Conv",
)


# -- conv_transpose -----------------------------------------------------------------
def _conv_transpose_infer(
    types: list[TensorType],
    strides: Any,
    pads: Any,
    dilations: Any = None,
    output_padding: Any = None,
    groups: int = 1,
) -> list[TensorType]:
    x, w = types
    _check_floats("conv_transpose", types)
    n, s, p, d = check_spatial_attrs("conv_transpose", x, strides, pads, dilations)
    op_ = _ints("conv_transpose", "output_padding", output_padding if output_padding is not None else (0,) * n, n, 0)
    g = _check_groups("conv_transpose", groups)
    shapes = f"input {format_shape(x.shape)}, weights {format_shape(w.shape)}"
    if w.ndim != x.ndim:
        raise ValueError(
            f"conv_transpose: weights must be (channels, filters / groups, *kernel) with {n} kernel axes; {shapes}"
        )
    c, wc, fg = x.shape[1], w.shape[0], w.shape[1]
    if isinstance(c, int) and isinstance(wc, int) and c != wc:
        raise ValueError(f"conv_transpose: channel mismatch: the input has {c} channels, the weights {wc}; {shapes}")
    if not _divides(g, c) or not _divides(g, wc):
        raise ValueError(f"conv_transpose: groups={g} must divide the input channels; {shapes}")
    for i in range(n):
        if op_[i] >= s[i]:
            raise ValueError(f"conv_transpose: output_padding {op_} must be smaller than the strides {s} on each axis")
    f: DimLike = fg * g if isinstance(fg, int) else (fg if g == 1 else fresh_dim("conv_transpose"))
    out: list[DimLike] = [x.shape[0], f]
    for i in range(n):
        size, k = x.shape[2 + i], w.shape[2 + i]
        if isinstance(k, Dim):
            out.append(fresh_dim("conv_transpose"))
            continue
        grow = (k - 1) * d[i] + op_[i] - p[i] - p[n + i]
        if isinstance(size, Dim):
            out.append(size if s[i] == 1 and grow == 0 else fresh_dim("conv_transpose"))
            continue
        length = (size - 1) * s[i] + 1 + grow
        if size == 0 or length < 1:
            raise ValueError(
                f"conv_transpose: the pads {p} crop away the whole output along spatial axis {i} "
                f"(strides {s}, dilations {d}, output_padding {op_}); {shapes}"
            )
        out.append(length)
    return [TensorType(x.dtype, tuple(out))]


def _conv_transpose_eval(
    xs: list[np.ndarray],
    strides: Any,
    pads: Any,
    dilations: Any = None,
    output_padding: Any = None,
    groups: int = 1,
) -> list[np.ndarray]:
    x, w = xs
    n = x.ndim - 2
    dilations = tuple(dilations) if dilations is not None else (1,) * n
    output_padding = tuple(output_padding) if output_padding is not None else (0,) * n
    acc = accumulate_dtype(x.dtype)
    kernel = w.shape[2:]
    in_sp = x.shape[2:]
    full = [(in_sp[i] - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 + output_padding[i] for i in range(n)]
    c, fg = w.shape[0], w.shape[1]
    cg = c // groups
    out = np.zeros((x.shape[0], fg * groups, *full), dtype=acc)
    for g in range(groups):
        xg = x[:, g * cg : (g + 1) * cg].astype(acc)
        wg = w[g * cg : (g + 1) * cg].astype(acc)
        for off in np.ndindex(*kernel):
            sl = tuple(_window(off[i], dilations[i], in_sp[i], strides[i]) for i in range(n))
            contrib = np.einsum("bc...,cf->bf...", xg, wg[(Ellipsis,) + off])
            out[(slice(None), slice(g * fg, (g + 1) * fg)) + sl] += contrib
    crop = tuple(slice(pads[i], full[i] - pads[n + i]) for i in range(n))
    return [out[(slice(None), slice(None)) + crop].astype(x.dtype)]


register_op(
    "conv_transpose",
    infer=_conv_transpose_infer,
    eval=_conv_transpose_eval,
    arity=2,
    doc="N-d transposed convolution of (B, C, *S) with weights (C, F/groups, *K), as ONNX ConvTranspose",
)
