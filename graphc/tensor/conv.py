"""Convolutions as Theano's ``T.nnet.conv2d``/``conv3d`` (and a 1-d helper, and
the transposed convolutions ``conv2d_transpose``/``conv3d_transpose``).

Theano convolves: with ``filter_flip=True`` (the default) the kernels' spatial
axes are flipped before the cross-correlation ONNX ``Conv`` computes;
``filter_flip=False`` gives the cross-correlation itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..config import config
from ..ir.types import Dim, format_shape, promote_dtypes
from .basic import as_tensor_variable
from .elemwise import cast
from .variable import Variable, apply_op

__all__ = [
    "conv1d",
    "conv2d",
    "conv3d",
    "conv2d_transpose",
    "conv3d_transpose",
    "conv_nd",
    "conv_transpose_nd",
    "border_pads",
]


def _int_tuple(value: Any, n: int, what: str, minimum: int) -> tuple[int, ...]:
    vals = tuple(value) if isinstance(value, (tuple, list)) else (value,) * n
    if len(vals) != n or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in vals):
        raise ValueError(f"{what} must be an int or a tuple of {n} ints, got {value!r}")
    if any(v < minimum for v in vals):
        raise ValueError(f"{what} entries must be >= {minimum}, got {value!r}")
    return tuple(int(v) for v in vals)


def border_pads(
    border_mode: Any, kernel: Sequence[Any], dilation: Sequence[int], what: str
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Begin and end pads for a Theano ``border_mode``.

    Parameters
    ----------
    border_mode : {'valid', 'full', 'half'}, int, or tuple
        ``'full'`` pads ``dilated_kernel - 1``, ``'half'`` pads
        ``dilated_kernel // 2`` on both sides; an int pads every axis by it; a
        tuple holds one int or one ``(begin, end)`` pair per spatial axis.
    kernel : sequence of int
        Kernel sizes (needed for ``'full'`` and ``'half'``).
    dilation : sequence of int
    what : str
        Names the caller in error messages.

    Raises
    ------
    ValueError
        For an unknown mode, negative pads, or a ``'full'``/``'half'`` mode on a
        kernel of unknown size.
    """
    n = len(kernel)
    if isinstance(border_mode, str):
        if border_mode == "valid":
            return (0,) * n, (0,) * n
        if border_mode not in ("full", "half"):
            raise ValueError(f"{what}: invalid border_mode {border_mode!r}; expected 'valid', 'full', 'half', an int or a tuple")
        if any(not isinstance(k, (int, np.integer)) for k in kernel):
            raise ValueError(f"{what}: border_mode={border_mode!r} needs the kernel size; give filter_shape")
        eff = [(int(k) - 1) * d + 1 for k, d in zip(kernel, dilation)]
        pads = tuple(e - 1 for e in eff) if border_mode == "full" else tuple(e // 2 for e in eff)
        return pads, pads
    if isinstance(border_mode, (int, np.integer)) and not isinstance(border_mode, bool):
        border_mode = (int(border_mode),) * n
    if not isinstance(border_mode, (tuple, list)) or len(border_mode) != n:
        raise ValueError(f"{what}: invalid border_mode {border_mode!r}; expected 'valid', 'full', 'half', an int or a tuple of {n}")
    begins, ends = [], []
    for entry in border_mode:
        pair = tuple(entry) if isinstance(entry, (tuple, list)) else (entry, entry)
        if len(pair) != 2 or not all(isinstance(p, (int, np.integer)) and not isinstance(p, bool) and p >= 0 for p in pair):
            raise ValueError(f"{what}: invalid border_mode {border_mode!r}; pads must be non-negative ints")
        begins.append(int(pair[0]))
        ends.append(int(pair[1]))
    return tuple(begins), tuple(ends)


def _float_pair(x: Any, w: Any) -> tuple[Variable, Variable]:
    xv, wv = as_tensor_variable(x), as_tensor_variable(w)
    dt = promote_dtypes(xv.dtype, wv.dtype)
    if np.dtype(dt).kind != "f":
        dt = config.floatX
    return (xv if xv.dtype == dt else cast(xv, dt)), (wv if wv.dtype == dt else cast(wv, dt))


def _check_hint(v: Variable, hint: Any, what: str, fname: str) -> tuple[Any, ...] | None:
    """Theano's shape hints: checked against the static sizes, returned for use."""
    if hint is None:
        return None
    hint = tuple(hint)
    if len(hint) != v.ndim:
        raise ValueError(f"{fname}: {what} {hint} has {len(hint)} entries for a {v.ndim}-d tensor {v!r}")
    for axis, (h, d) in enumerate(zip(hint, v.type.shape)):
        if isinstance(h, (int, np.integer)) and isinstance(d, int) and int(h) != d:
            raise ValueError(f"{fname}: {what} {hint} does not match the shape {format_shape(v.type.shape)} (axis {axis})")
    return hint


def _kernel(w: Variable, hint: tuple[Any, ...] | None) -> list[Any]:
    out = []
    for axis in range(2, w.ndim):
        d = w.type.shape[axis]
        if isinstance(d, Dim) and hint is not None and isinstance(hint[axis], (int, np.integer)):
            d = int(hint[axis])
        out.append(d)
    return out


def _flip(w: Variable, n: int) -> Variable:
    return w[(slice(None), slice(None)) + (slice(None, None, -1),) * n]


def conv_nd(
    input: Any,  # noqa: A002  (Theano's name)
    filters: Any,
    n: int,
    input_shape: Any = None,
    filter_shape: Any = None,
    border_mode: Any = "valid",
    subsample: Any = 1,
    filter_flip: bool = True,
    filter_dilation: Any = 1,
    num_groups: int = 1,
    fname: str = "conv",
) -> Variable:
    """An ``n``-d convolution with Theano's arguments (see :func:`conv2d`)."""
    x, w = _float_pair(input, filters)
    for v, what in ((x, "input"), (w, "filters")):
        if v.ndim != n + 2:
            raise ValueError(f"{fname}: {what} must be a {n + 2}-d tensor, got {v!r}")
    _check_hint(x, input_shape, "input_shape", fname)
    kernel = _kernel(w, _check_hint(w, filter_shape, "filter_shape", fname))
    strides = _int_tuple(subsample, n, f"{fname}: subsample", 1)
    dilation = _int_tuple(filter_dilation, n, f"{fname}: filter_dilation", 1)
    begins, ends = border_pads(border_mode, kernel, dilation, fname)
    if filter_flip:
        w = _flip(w, n)
    return apply_op(  # type: ignore[return-value]
        "conv", [x, w], strides=strides, pads=begins + ends, dilations=dilation, groups=int(num_groups)
    )


def conv1d(
    input: Any,  # noqa: A002
    filters: Any,
    input_shape: Any = None,
    filter_shape: Any = None,
    border_mode: Any = "valid",
    subsample: Any = (1,),
    filter_flip: bool = True,
    filter_dilation: Any = (1,),
    num_groups: int = 1,
) -> Variable:
    """1-d convolution of ``(batch, channels, length)`` by ``(filters, channels / groups, width)``.

    The arguments are those of :func:`conv2d` with one spatial axis (what
    Lasagne's ``conv1d_mc0`` computes).
    """
    return conv_nd(input, filters, 1, input_shape, filter_shape, border_mode, subsample, filter_flip, filter_dilation,
                   num_groups, "conv1d")


def conv2d(
    input: Any,  # noqa: A002
    filters: Any,
    input_shape: Any = None,
    filter_shape: Any = None,
    border_mode: Any = "valid",
    subsample: Any = (1, 1),
    filter_flip: bool = True,
    image_shape: Any = None,
    filter_dilation: Any = (1, 1),
    num_groups: int = 1,
    unshared: bool = False,
    **kwargs: Any,
) -> Variable:
    """2-d convolution, as Theano's ``T.nnet.conv2d``.

    Parameters
    ----------
    input : tensor
        ``(batch, channels, rows, cols)``.
    filters : tensor
        ``(filters, channels / num_groups, rows, cols)``.
    input_shape, filter_shape : tuple, optional
        Shape hints: checked against the static sizes; ``filter_shape`` gives
        the kernel size where the filters' type does not.
    border_mode : {'valid', 'full', 'half'}, int, or tuple
        ``'valid'``: no padding; ``'full'``: pad ``kernel - 1``; ``'half'``:
        pad ``kernel // 2`` on both sides; an int or a tuple of ints (or of
        ``(begin, end)`` pairs) pads explicitly.
    subsample : tuple of int
        Strides.
    filter_flip : bool
        True convolves (kernels flipped); False cross-correlates.
    image_shape : tuple, optional
        Deprecated alias of ``input_shape``.
    filter_dilation : tuple of int
    num_groups : int
        Grouped convolution: channels and filters split into this many groups.
    unshared : bool
        Must be False (unshared convolutions are not supported).

    Returns
    -------
    Variable
        ``(batch, filters, out_rows, out_cols)``.

    Raises
    ------
    ValueError
        For wrong ranks, mismatched channels, kernels larger than the padded
        input or invalid border modes, naming the shapes.
    """
    if kwargs:
        raise TypeError(f"conv2d got unexpected arguments: {', '.join(sorted(kwargs))}")
    if unshared:
        raise NotImplementedError("conv2d: unshared convolutions are not supported")
    if input_shape is None:
        input_shape = image_shape
    return conv_nd(input, filters, 2, input_shape, filter_shape, border_mode, subsample, filter_flip, filter_dilation,
                   num_groups, "conv2d")


def conv3d(
    input: Any,  # noqa: A002
    filters: Any,
    input_shape: Any = None,
    filter_shape: Any = None,
    border_mode: Any = "valid",
    subsample: Any = (1, 1, 1),
    filter_flip: bool = True,
    filter_dilation: Any = (1, 1, 1),
    num_groups: int = 1,
) -> Variable:
    """3-d convolution, as Theano's ``T.nnet.conv3d``; the arguments are those of :func:`conv2d`."""
    return conv_nd(input, filters, 3, input_shape, filter_shape, border_mode, subsample, filter_flip, filter_dilation,
                   num_groups, "conv3d")


def conv_transpose_nd(
    input: Any,  # noqa: A002
    filters: Any,
    n: int,
    output_size: Sequence[Any] | None = None,
    border_mode: Any = "valid",
    strides: Any = 1,
    filter_flip: bool = True,
    filter_dilation: Any = 1,
    num_groups: int = 1,
    filter_shape: Any = None,
    fname: str = "conv_transpose",
) -> Variable:
    """The gradient of an ``n``-d convolution with respect to its input.

    Parameters
    ----------
    input : tensor
        ``(batch, channels, *spatial)``.
    filters : tensor
        ``(channels, filters / num_groups, *kernel)``: the weights of the
        forward convolution whose input gradient this computes.
    n : int
        Spatial axes.
    output_size : sequence or integer vector, optional
        Spatial output sizes: ints, symbolic integer scalars, or None for the
        smallest size; or a symbolic integer vector of ``n`` sizes.  Sizes up
        to ``stride - 1`` larger than the smallest are reached with extra
        rows at the end (``output_padding``).  A symbolic size is not checked
        at run time: one past the reachable range gives the largest output,
        one below it the first rows of the smallest.
    border_mode, filter_dilation, num_groups :
        As for :func:`conv2d` (the forward convolution's).
    strides : int or tuple
        The forward convolution's ``subsample``.
    filter_flip : bool
        True when the forward convolution flipped its kernels (convolved).
    filter_shape : tuple, optional
    fname : str

    Raises
    ------
    ValueError
        For an ``output_size`` the strides cannot reach.
    """
    x, w = _float_pair(input, filters)
    for v, what in ((x, "input"), (w, "filters")):
        if v.ndim != n + 2:
            raise ValueError(f"{fname}: {what} must be a {n + 2}-d tensor, got {v!r}")
    kernel = _kernel(w, _check_hint(w, filter_shape, "filter_shape", fname))
    s = _int_tuple(strides, n, f"{fname}: strides", 1)
    dil = _int_tuple(filter_dilation, n, f"{fname}: filter_dilation", 1)
    begins, ends = border_pads(border_mode, kernel, dil, fname)
    if filter_flip:
        w = _flip(w, n)
    sizes = _output_sizes(output_size, n, fname)
    out_pad: list[int] = []
    crop: list[Any] = []
    for i, want in enumerate(sizes):
        size, k = x.type.shape[2 + i], kernel[i]
        if want is None:
            out_pad.append(0)
            crop.append(None)
            continue
        if isinstance(want, Variable) or isinstance(size, Dim) or isinstance(k, Dim):
            # The smallest size is known only at run time, or the wanted size is: compute the largest
            # output (output_padding = stride - 1) and keep its first `want` rows. Padding the smallest
            # output with zeros instead would be wrong: the rows past it still receive x[-1] * w[t]
            # whenever the forward convolution padded its end (crop > 0), and output_padding keeps them.
            out_pad.append(s[i] - 1)
            crop.append(want if isinstance(want, Variable) else int(want))
            continue
        natural = (size - 1) * s[i] + (k - 1) * dil[i] + 1 - begins[i] - ends[i]
        extra = int(want) - natural
        if not 0 <= extra < s[i]:
            raise ValueError(
                f"{fname}: output size {int(want)} along spatial axis {i} is not reachable from input size {size} "
                f"with kernel {k}, stride {s[i]} and pads ({begins[i]}, {ends[i]}): it must be in "
                f"[{natural}, {natural + s[i] - 1}]"
            )
        out_pad.append(extra)
        crop.append(None)
    y: Variable = apply_op(  # type: ignore[assignment]
        "conv_transpose", [x, w], strides=s, pads=begins + ends, dilations=dil, output_padding=tuple(out_pad),
        groups=int(num_groups),
    )
    if any(c is not None for c in crop):
        y = y[(slice(None), slice(None)) + tuple(slice(None, c) for c in crop)]
    return y


def _output_sizes(output_size: Any, n: int, fname: str) -> list[Any]:
    """The ``n`` spatial output sizes: ints, None (the smallest), or symbolic integer scalars."""
    if output_size is None:
        return [None] * n
    if isinstance(output_size, Variable):
        if output_size.ndim != 1 or np.dtype(output_size.dtype).kind not in "iu":
            raise ValueError(f"{fname}: a symbolic output size must be an integer vector, got {output_size!r}")
        length = output_size.type.shape[0]
        if isinstance(length, int) and length != n:
            raise ValueError(f"{fname}: output size {output_size!r} must have {n} entries, it has {length}")
        return [output_size[i] for i in range(n)]
    sizes = list(output_size)
    if len(sizes) != n:
        raise ValueError(f"{fname}: output size {tuple(sizes)} must have {n} entries")
    for want in sizes:
        if isinstance(want, Variable):
            if want.ndim != 0 or np.dtype(want.dtype).kind not in "iu":
                raise ValueError(f"{fname}: symbolic output sizes must be integer scalars, got {want!r}")
        elif want is not None and (not isinstance(want, (int, np.integer)) or isinstance(want, bool)):
            raise ValueError(f"{fname}: output sizes must be ints, symbolic integer scalars or None, got {tuple(sizes)}")
    return sizes


def _spatial_output_shape(output_shape: Any, n: int, fname: str) -> Any:
    if output_shape is None:
        return None
    if isinstance(output_shape, Variable):
        # Theano's symbolic output_shape, (batch, filters, *spatial): its last n entries (just the
        # spatial sizes pass through unchanged)
        return output_shape[-n:] if output_shape.ndim == 1 else output_shape
    shape = list(output_shape)
    if len(shape) == n + 2:
        shape = shape[2:]
    if len(shape) != n:
        raise ValueError(f"{fname}: output_shape {tuple(output_shape)} must have {n + 2} (or {n}) entries")
    return shape


def conv2d_transpose(
    input: Any,  # noqa: A002
    filters: Any,
    output_shape: Any,
    filter_shape: Any = None,
    border_mode: Any = "valid",
    input_dilation: Any = (1, 1),
    filter_flip: bool = True,
    filter_dilation: Any = (1, 1),
    num_groups: int = 1,
) -> Variable:
    """Transposed 2-d convolution, as Theano's ``T.nnet.conv2d_transpose``.

    Parameters
    ----------
    input : tensor
        ``(batch, channels, rows, cols)``.
    filters : tensor
        ``(channels, filters / num_groups, rows, cols)``.
    output_shape : tuple or integer vector
        ``(batch, filters, rows, cols)`` (or just the spatial sizes), ints or
        symbolic; the spatial entries pick among the sizes the strides allow.
    filter_shape, border_mode, filter_flip, filter_dilation, num_groups :
        Those of the forward :func:`conv2d` this is the input gradient of.
    input_dilation : tuple of int
        The forward convolution's ``subsample``.

    Returns
    -------
    Variable
    """
    return conv_transpose_nd(input, filters, 2, _spatial_output_shape(output_shape, 2, "conv2d_transpose"),
                             border_mode, input_dilation, filter_flip, filter_dilation, num_groups, filter_shape,
                             "conv2d_transpose")


def conv3d_transpose(
    input: Any,  # noqa: A002
    filters: Any,
    output_shape: Any,
    filter_shape: Any = None,
    border_mode: Any = "valid",
    input_dilation: Any = (1, 1, 1),
    filter_flip: bool = True,
    filter_dilation: Any = (1, 1, 1),
    num_groups: int = 1,
) -> Variable:
    """Transposed 3-d convolution; the arguments are those of :func:`conv2d_transpose`."""
    return conv_transpose_nd(input, filters, 3, _spatial_output_shape(output_shape, 3, "conv3d_transpose"),
                             border_mode, input_dilation, filter_flip, filter_dilation, num_groups, filter_shape,
                             "conv3d_transpose")
