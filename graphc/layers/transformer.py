"""Spatial transformer layers (Lasagne's ``TransformerLayer`` and ``TPSTransformerLayer``).

Both resample their input image at points computed from a localization network's
output: an affine map of a regular grid, or a thin-plate spline through moved
control points.  Sampling is bilinear, with Lasagne's conventions: -1 and 1 are
the centres of the first and last pixel, and points outside the image read
pixels chosen by ``border_mode`` while keeping their unclipped weights.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import tensor as T
from ..config import config
from ..tensor.variable import Variable
from ..utils import as_tuple
from .base import MergeLayer, format_layer
from .transformer_grid import (
    bilinear_sample,
    check_border_mode,
    grid_numpy,
    grid_points,
    output_size,
    static_sizes,
    tps_right_matrix,
    tps_setup,
)

__all__ = ["TransformerLayer", "TPSTransformerLayer"]


def _coord_dtype(x: Variable) -> str:
    """Coordinates are computed in the localization output's float dtype (floatX for integers)."""
    return x.dtype if str(x.dtype).startswith("float") else config.floatX


def _output_shape(shape: Any, factors: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(shape[:2]) + tuple(None if s is None else int(s // f) for s, f in zip(shape[2:], factors))


def _check_input(layer: Any, input_shp: Any) -> None:
    if len(input_shp) != 4:
        raise ValueError(
            f"{format_layer(layer)}: The input network must have a 4-dimensional output shape: "
            f"(batch_size, num_input_channels, input_rows, input_columns); got {input_shp}"
        )


class TransformerLayer(MergeLayer):
    """Spatial transformer: bilinear resampling at an affine map of a regular grid (Jaderberg et al. 2015).

    The localization network outputs ``theta`` ``(batch, 6)``, read as the 2x3 matrix
    ``[[t1, t2, t3], [t4, t5, t6]]``; output pixel ``(x_t, y_t)`` (normalized to
    [-1, 1]) samples the input at ``theta @ (x_t, y_t, 1)``.  ``t1``/``t5`` zoom,
    ``t2``/``t4`` skew, ``t3``/``t6`` move the centre; ``[1, 0, 0, 0, 1, 0]`` is
    the identity.

    Parameters
    ----------
    incoming : Layer or tuple
        The images, ``(batch_size, num_input_channels, input_rows, input_columns)``.
    localization_network : Layer
        Its output, ``(batch_size, 6)``, parameterizes the affine transform.  Its
        parameters are part of the network (``get_all_params`` finds them).
    downsample_factor : float or pair of float
        The output has ``rows // f0`` rows and ``columns // f1`` columns; values
        below 1 upsample.
    border_mode : {'nearest', 'mirror', 'wrap'}
        Which pixels a point outside the image reads: the closest edge pixel,
        the image mirrored about its edge pixels, or the image repeated.
    **kwargs
        ``name``.

    Raises
    ------
    ValueError
        When the localization output is not ``(batch_size, 6)``, the input not
        4-dimensional, or ``border_mode`` unknown.

    Notes
    -----
    Lasagne's symbolic grid puts NaN in a 1-pixel output axis; here it is -1,
    as ``np.linspace(-1, 1, 1)``.  Lasagne reports an unknown ``border_mode``
    only when the output is built; here the constructor raises.
    """

    def __init__(
        self,
        incoming: Any,
        localization_network: Any,
        downsample_factor: Any = 1,
        border_mode: str = "nearest",
        **kwargs: Any,
    ) -> None:
        super().__init__([incoming, localization_network], **kwargs)
        self.downsample_factor = as_tuple(downsample_factor, 2)
        self.border_mode = border_mode
        input_shp, loc_shp = self.input_shapes
        if len(loc_shp) != 2 or loc_shp[-1] != 6:
            raise ValueError(
                f"{format_layer(self)}: The localization network must have output shape: (batch_size, 6); got {loc_shp}"
            )
        _check_input(self, input_shp)
        check_border_mode(border_mode)

    def get_output_shape_for(self, input_shapes: Any) -> tuple[Any, ...]:
        """``(batch, channels, rows // f0, columns // f1)``, None where unknown."""
        return _output_shape(input_shapes[0], self.downsample_factor)

    def get_output_for(self, inputs: Any, **kwargs: Any) -> Variable:
        """The input resampled at ``theta`` applied to the output grid."""
        image, theta = inputs
        dtype = _coord_dtype(theta)
        _, _, height, width = static_sizes(image)
        out_h = output_size(height, self.downsample_factor[0])
        out_w = output_size(width, self.downsample_factor[1])
        grid = grid_points(out_h, out_w, dtype, with_ones=True)
        points = T.dot(T.reshape(theta, (-1, 2, 3)), grid)  # (batch, 2, out_h*out_w)
        return bilinear_sample(image, points[:, 0], points[:, 1], out_h, out_w, self.border_mode)


class TPSTransformerLayer(MergeLayer):
    """Spatial transformer through a thin-plate spline (Bookstein 1989) fitted to moved control points.

    ``control_points`` source points lie on a regular ``sqrt(n) x sqrt(n)`` grid
    over [-1, 1]^2 (x varying fastest).  The localization network outputs their
    offsets, ``(batch, 2*n)``: all x offsets, then all y offsets.  The spline that
    maps each source point to its moved position is evaluated at every output
    pixel, and the input is sampled there bilinearly.  Zero offsets give the
    identity (up to rounding).

    Parameters
    ----------
    incoming : Layer or tuple
        The images, ``(batch_size, num_input_channels, input_rows, input_columns)``.
    localization_network : Layer
        Its output, ``(batch_size, 2*control_points)``, holds the control point offsets.
    downsample_factor : float or pair of float
        The output has ``rows // f0`` rows and ``columns // f1`` columns.
    control_points : int
        The number of control points, a perfect square (default 16).
    precompute_grid : 'auto' or bool
        Evaluate the spline's kernel on the output grid once, at construction
        (needs static rows and columns); ``'auto'``: whenever they are static.
        Otherwise it is part of the graph.  The output is the same either way.
    border_mode : {'nearest', 'mirror', 'wrap'}
        As in :class:`TransformerLayer`.
    **kwargs
        ``name``.

    Attributes
    ----------
    source_points : Variable
        ``(2, n)`` constant.
    L_inv : Variable
        ``(n + 3, n + 3)`` constant, the inverse of the spline's system matrix.
    right_mat : Variable or None
        ``(n + 3, out_rows*out_columns)`` constant ``[1; x; y; U]`` when precomputed.
    out_height, out_width : int or None
        The output size when precomputed.

    Raises
    ------
    ValueError
        When the localization output is not ``(batch_size, 2*control_points)``,
        ``control_points`` is not a perfect square, the input is not
        4-dimensional, the grid cannot be precomputed for symbolic sizes, or
        ``border_mode`` is unknown.

    Notes
    -----
    Lasagne's non-precomputed path inverts its NaN guard and zeroes the whole
    radial part of the spline (``switch(isnan(log r2), r2 log r2, 0)``), so its
    output with ``precompute_grid=False`` disagrees with the precomputed one
    for non-affine offsets.  Here both evaluate ``U(r) = r^2 log r^2``
    (``U(0) = 0``).  System matrices are built in float64 and cast once.
    """

    def __init__(
        self,
        incoming: Any,
        localization_network: Any,
        downsample_factor: Any = 1,
        control_points: int = 16,
        precompute_grid: Any = "auto",
        border_mode: str = "nearest",
        **kwargs: Any,
    ) -> None:
        super().__init__([incoming, localization_network], **kwargs)
        self.border_mode = border_mode
        self.downsample_factor = as_tuple(downsample_factor, 2)
        self.control_points = control_points
        input_shp, loc_shp = self.input_shapes
        if len(loc_shp) != 2 or loc_shp[-1] != 2 * control_points:
            raise ValueError(
                f"{format_layer(self)}: The localization network must have output shape: "
                f"(batch_size, 2*control_points) = (batch_size, {2 * control_points}); got {loc_shp}"
            )
        root = np.sqrt(control_points) if control_points >= 0 else np.nan
        if not np.isfinite(root) or round(root) != root or root < 1:
            raise ValueError(
                f"{format_layer(self)}: The number of control points must be a perfect square, got {control_points}"
            )
        _check_input(self, input_shp)
        check_border_mode(border_mode)
        can_precompute = all(s is not None for s in input_shp[2:])
        if isinstance(precompute_grid, str) and precompute_grid == "auto":
            precompute_grid = can_precompute
        elif precompute_grid and not can_precompute:
            raise ValueError(
                f"{format_layer(self)}: Grid can only be precomputed if the input height and width are "
                f"pre-specified; got input shape {input_shp}"
            )
        self.precompute_grid = bool(precompute_grid)

        self._source, self._L_inv = tps_setup(int(round(root)) ** 2)
        self.source_points = T.constant(self._source.astype(config.floatX))
        self.L_inv = T.constant(self._L_inv.astype(config.floatX))
        self.right_mat = self.out_height = self.out_width = None
        self._grid: np.ndarray | None = None
        if self.precompute_grid:
            self.out_height = int(input_shp[2] // self.downsample_factor[0])
            self.out_width = int(input_shp[3] // self.downsample_factor[1])
            grid = grid_numpy(self.out_height, self.out_width)
            self.right_mat = tps_right_matrix(grid, self._source, config.floatX)
            self._grid = grid

    def get_output_shape_for(self, input_shapes: Any) -> tuple[Any, ...]:
        """``(batch, channels, rows // f0, columns // f1)``, None where unknown."""
        return _output_shape(input_shapes[0], self.downsample_factor)

    def get_output_for(self, inputs: Any, **kwargs: Any) -> Variable:
        """The input resampled at the spline's image of the output grid."""
        image, offsets = inputs
        dtype = _coord_dtype(offsets)
        n = self._source.shape[1]
        source = T.constant(self._source.astype(dtype))
        dest = source.dimshuffle("x", 0, 1) + T.reshape(offsets, (-1, 2, n))
        # spline coefficients [a_1, a_x, a_y, w_1..w_n] per batch and coordinate: (batch, 2, n + 3)
        coefficients = T.dot(dest, T.constant(np.ascontiguousarray(self._L_inv[:, 3:].T).astype(dtype)))
        if self.precompute_grid:
            out_h, out_w = self.out_height, self.out_width
            right = tps_right_matrix(self._grid, self._source, dtype)
        else:
            _, _, height, width = static_sizes(image)
            out_h = output_size(height, self.downsample_factor[0])
            out_w = output_size(width, self.downsample_factor[1])
            right = tps_right_matrix(grid_points(out_h, out_w, dtype, with_ones=False), self._source, dtype)
        points = T.dot(coefficients, right)  # (batch, 2, out_h*out_w)
        return bilinear_sample(image, points[:, 0], points[:, 1], out_h, out_w, self.border_mode)
