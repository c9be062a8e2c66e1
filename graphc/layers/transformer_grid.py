"""Sampling grids, bilinear sampling and thin-plate-spline setup for the spatial transformer layers.

The helpers behind :class:`~graphc.layers.transformer.TransformerLayer` and
:class:`~graphc.layers.transformer.TPSTransformerLayer`.  Sampling is a gather of
the four neighbouring pixels from the flattened ``(batch*rows*cols, channels)``
image, weighted by the bilinear weights, so autodiff gives the input gradient
(a scatter-add) and the coordinate gradient (through the weights) with no
dedicated op.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import tensor as T
from ..ir.types import Dim
from ..tensor.variable import Variable

__all__ = [
    "BORDER_MODES",
    "bilinear_sample",
    "check_border_mode",
    "grid_numpy",
    "grid_points",
    "output_size",
    "static_sizes",
    "tps_right_matrix",
    "tps_setup",
]

BORDER_MODES = ("nearest", "mirror", "wrap")


def check_border_mode(border_mode: Any) -> str:
    """``border_mode`` if it is one of :data:`BORDER_MODES`, else ``ValueError`` (Lasagne's wording)."""
    if not isinstance(border_mode, str) or border_mode not in BORDER_MODES:
        raise ValueError(f"border_mode must be one of 'nearest', 'mirror', 'wrap', got {border_mode!r}")
    return border_mode


def static_sizes(x: Variable) -> list[Any]:
    """``x``'s sizes: ints where static, symbolic int64 scalars elsewhere."""
    return [x.shape[a] if isinstance(d, Dim) or d is None else int(d) for a, d in enumerate(x.type.shape)]


def output_size(size: Any, factor: float) -> Any:
    """``size // factor`` as Lasagne computes the output rows/columns: an int, or a symbolic int64."""
    if isinstance(size, (int, np.integer)):
        return int(size // factor)
    return T.cast(T.floor(T.cast(size, "float64") / factor), "int64")


def _linspace_np(num: int) -> np.ndarray:
    return np.linspace(-1.0, 1.0, num)


def _linspace_sym(num: Any, dtype: str) -> Variable:
    # a single sample sits at -1, as np.linspace puts it (Lasagne's symbolic form gives NaN there)
    step = 2.0 / T.maximum(T.cast(num, dtype) - 1, 1)
    return T.cast(T.arange(num), dtype) * step - 1.0


def grid_numpy(out_h: int, out_w: int) -> np.ndarray:
    """The target grid as a float64 array ``(2, out_h*out_w)``: rows x, y, x varying fastest, in [-1, 1]."""
    xs, ys = np.meshgrid(_linspace_np(out_w), _linspace_np(out_h))
    return np.stack([xs.ravel(), ys.ravel()])


def grid_points(out_h: Any, out_w: Any, dtype: str, with_ones: bool) -> Variable:
    """The target grid, ``(2 or 3, out_h*out_w)``: rows x, y (and 1), x varying fastest, in [-1, 1].

    A constant when both sizes are static, else built symbolically.
    """
    if isinstance(out_h, int) and isinstance(out_w, int):
        grid = grid_numpy(out_h, out_w)
        if with_ones:
            grid = np.concatenate([grid, np.ones((1, grid.shape[1]))])
        return T.constant(grid.astype(dtype))
    lin_w = _linspace_sym(out_w, dtype)
    lin_h = _linspace_sym(out_h, dtype)
    # broadcasting a row against a column spreads each over the (out_h, out_w) grid
    xs = (lin_w.dimshuffle("x", 0) + 0 * lin_h.dimshuffle(0, "x")).flatten()
    ys = (lin_h.dimshuffle(0, "x") + 0 * lin_w.dimshuffle("x", 0)).flatten()
    rows = [xs, ys] + ([T.ones_like(xs)] if with_ones else [])
    return T.stack(rows, axis=0)


def _border_index(v: Variable, size: Any, border_mode: str) -> Variable:
    """Integer pixel indices for the float indices ``v`` along an axis of ``size`` pixels."""
    size_f = T.cast(size, v.dtype)
    if border_mode == "nearest":
        out = T.clip(v, 0, size_f - 1)
    elif border_mode == "mirror":
        # reflection about the edge pixels has period 2*(size-1); a 1-pixel axis always maps to 0
        # (Lasagne divides by zero there)
        period = T.maximum(2 * (size_f - 1), 1)
        out = T.minimum(v % period, (-v) % period)
    else:
        out = v % size_f
    return T.cast(out, "int64")


def bilinear_sample(
    im: Variable, x: Variable, y: Variable, out_h: Any, out_w: Any, border_mode: str, name: str = "TransformerLayer"
) -> Variable:
    """Sample ``im`` ``(B, C, H, W)`` at normalized points, bilinearly, as Lasagne's ``_interpolate``.

    Parameters
    ----------
    im : Variable
        Images, ``(batch, channels, rows, cols)``.
    x, y : Variable
        ``(batch, out_h*out_w)`` sample coordinates; -1 and 1 are the centres of the first and last
        column (row).  Points outside the image are not clipped: the border mode chooses
        which pixels they read, the weights still come from the unclipped coordinates.
    out_h, out_w : int or Variable
        Output rows and columns.
    border_mode : {'nearest', 'mirror', 'wrap'}
        How indices outside the image map back into it.
    name : str
        For the error message.

    Returns
    -------
    Variable
        ``(batch, channels, out_h, out_w)``.

    Raises
    ------
    ValueError
        For an unknown ``border_mode``.
    """
    check_border_mode(border_mode)
    _, channels, height, width = static_sizes(im)
    dtype = x.dtype
    x = (x + 1) / 2 * (T.cast(width, dtype) - 1)
    y = (y + 1) / 2 * (T.cast(height, dtype) - 1)
    x0_f = T.floor(x)
    y0_f = T.floor(y)
    x1_f = x0_f + 1
    y1_f = y0_f + 1
    x0, x1 = (_border_index(v, width, border_mode) for v in (x0_f, x1_f))
    y0, y1 = (_border_index(v, height, border_mode) for v in (y0_f, y1_f))

    num_batch = im.shape[0]
    base = (T.arange(num_batch, dtype="int64") * (height * width)).dimshuffle(0, "x")
    row0 = base + y0 * width
    row1 = base + y1 * width
    flat = im.dimshuffle(0, 2, 3, 1).reshape((-1, channels))

    def corner(rows: Variable, cols: Variable, weight: Variable) -> Variable:
        return weight.flatten().dimshuffle(0, "x") * flat[(rows + cols).flatten()]

    out = (
        corner(row0, x0, (x1_f - x) * (y1_f - y))
        + corner(row1, x0, (x1_f - x) * (y - y0_f))
        + corner(row0, x1, (x - x0_f) * (y1_f - y))
        + corner(row1, x1, (x - x0_f) * (y - y0_f))
    )
    return out.reshape((-1, out_h, out_w, channels)).dimshuffle(0, 3, 1, 2)


def _tps_kernel(r2: np.ndarray) -> np.ndarray:
    """Bookstein's U(r) = r^2 log r^2, with U(0) = 0."""
    safe = np.where(r2 > 0, r2, 1.0)
    return r2 * np.log(safe)


def tps_setup(num_points: int) -> tuple[np.ndarray, np.ndarray]:
    """Source control points ``(2, n)`` on a regular grid over [-1, 1]^2, and the inverse of Bookstein's L.

    Parameters
    ----------
    num_points : int
        A perfect square.

    Returns
    -------
    source_points : ndarray, float64, ``(2, n)``
        x varying fastest.
    L_inv : ndarray, float64, ``(n + 3, n + 3)``
        The inverse of ``[[0, P^T], [P, K]]`` reordered as Lasagne lays it out: the first three
        rows/columns hold the affine part.

    Raises
    ------
    numpy.linalg.LinAlgError
        When L is singular (a single control point).
    """
    side = int(round(np.sqrt(num_points)))
    xs, ys = np.meshgrid(_linspace_np(side), _linspace_np(side))
    source = np.stack([xs.ravel(), ys.ravel()])
    n = num_points
    L = np.zeros((n + 3, n + 3))
    L[0, 3:] = 1.0
    L[1:3, 3:] = source
    L[3:, 0] = 1.0
    L[3:, 1:3] = source.T
    r2 = ((source[:, :, None] - source[:, None, :]) ** 2).sum(axis=0)
    L[3:, 3:] = _tps_kernel(r2)
    return source, np.linalg.inv(L)


def tps_right_matrix(grid: Any, source: Any, dtype: str) -> Variable:
    """``[1; x; y; U(|p - s_j|)]``, ``(n + 3, P)``, for grid points ``grid`` ``(2, P)``.

    ``grid`` and ``source`` are numpy arrays (the result is a constant) or, for ``grid``,
    a symbolic ``(2, P)`` variable.
    """
    if isinstance(grid, np.ndarray):
        r2 = ((grid[:, None, :] - source[:, :, None]) ** 2).sum(axis=0)
        mat = np.concatenate([np.ones((1, grid.shape[1])), grid, _tps_kernel(r2)])
        return T.constant(mat.astype(dtype))
    src = T.constant(source.astype(dtype))
    r2 = T.sum((grid.dimshuffle(0, "x", 1) - src.dimshuffle(0, 1, "x")) ** 2, axis=0)
    # the grid is a constant of the graph: no gradient flows through the kernel, and the
    # switch keeps log away from 0
    kernel = r2 * T.log(T.switch(r2 > 0, r2, T.ones_like(r2)))
    return T.concatenate([T.ones_like(grid[:1]), grid, kernel], axis=0)
