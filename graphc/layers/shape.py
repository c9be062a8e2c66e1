"""Shape layers: FlattenLayer, ReshapeLayer, DimshuffleLayer, PadLayer, SliceLayer."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import tensor as T
from ..ir.types import format_shape
from ..tensor.variable import Variable
from .base import Layer, format_layer

__all__ = ["FlattenLayer", "flatten", "ReshapeLayer", "reshape", "DimshuffleLayer", "dimshuffle", "PadLayer", "pad", "SliceLayer"]


def _static(d: Any) -> bool:
    """Whether a shape entry is a known size (Lasagne passes symbolic sizes in shapes too)."""
    return isinstance(d, (int, np.integer)) and not isinstance(d, bool)


def _prod_or_none(dims: Any) -> Any:
    return int(np.prod(dims)) if all(_static(d) for d in dims) else None


class FlattenLayer(Layer):
    """Keep the first ``outdim - 1`` axes and flatten the rest into one.

    Parameters
    ----------
    incoming : Layer or tuple
    outdim : int
        Number of output axes (>= 1).

    Raises
    ------
    ValueError
        For ``outdim < 1`` at construction; for ``outdim`` above the input's
        rank where the rank is used (``get_output_shape_for``,
        ``get_output_for``), as Lasagne takes any stand-in as ``incoming``.
    """

    def __init__(self, incoming: Any, outdim: int = 2, **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        if not isinstance(outdim, (int, np.integer)) or outdim < 1:
            raise ValueError(f"{format_layer(self)}: outdim must be >= 1, got {outdim!r}")
        self.outdim = int(outdim)

    def _check_ndim(self, ndim: int) -> None:
        # checked where the rank is used, not in __init__: Lasagne takes any stand-in as incoming
        if self.outdim > ndim:
            raise ValueError(f"{format_layer(self)}: outdim={self.outdim} exceeds the {ndim} input dims")

    def get_output_shape_for(self, input_shape: Any) -> Any:
        self._check_ndim(len(input_shape))
        keep = tuple(input_shape[: self.outdim - 1])
        return keep + (_prod_or_none(input_shape[self.outdim - 1 :]),)

    def get_output_for(self, input: Any, **kwargs: Any) -> Variable:  # noqa: A002
        x = T.as_tensor_variable(input)
        self._check_ndim(x.ndim)
        return T.flatten(x, self.outdim)


flatten = FlattenLayer


class ReshapeLayer(Layer):
    """Reshape the input.

    Parameters
    ----------
    incoming : Layer or tuple
    shape : tuple
        Each entry: an int >= 0, ``-1`` (at most once, inferred), ``[i]``
        (the size of input axis ``i``) or a symbolic int scalar such as
        ``l_in.input_var.shape[0]``.

    Raises
    ------
    ValueError
        For a malformed shape, or static sizes that cannot match.
    """

    def __init__(self, incoming: Any, shape: Any, **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        if not isinstance(shape, tuple):
            shape = tuple(shape) if isinstance(shape, list) else shape
        if not isinstance(shape, tuple):
            raise TypeError(f"{format_layer(self)}: shape must be a tuple, got {shape!r}")
        for s in shape:
            if isinstance(s, (int, np.integer)) and not isinstance(s, bool):
                if s < -1:
                    raise ValueError(f"{format_layer(self)}: `shape` integers must be >= -1, got {shape!r}")
            elif isinstance(s, list):
                if len(s) != 1 or not isinstance(s[0], (int, np.integer)) or not 0 <= s[0] < len(self.input_shape):
                    raise ValueError(
                        f"{format_layer(self)}: `shape` input references must be single-element lists of an input "
                        f"axis in 0..{len(self.input_shape) - 1}, got {s!r}"
                    )
            elif isinstance(s, Variable):
                if s.ndim != 0 or np.dtype(s.dtype).kind not in "iu":
                    raise ValueError(f"{format_layer(self)}: symbolic `shape` entries must be int scalars, got {s!r}")
            else:
                raise ValueError(
                    f"{format_layer(self)}: `shape` must hold ints, [i] references or int scalars, got {s!r}"
                )
        if sum(1 for s in shape if isinstance(s, (int, np.integer)) and s == -1) > 1:
            raise ValueError(f"{format_layer(self)}: `shape` cannot contain multiple -1, got {shape!r}")
        self.shape = shape
        self.get_output_shape_for(self.input_shape)  # validates static sizes now

    def get_output_shape_for(self, input_shape: Any) -> Any:
        out: list[Any] = []
        masked_in = [d if _static(d) else None for d in input_shape]
        masked_out: list[Any] = []
        for s in self.shape:
            if isinstance(s, list):
                d = input_shape[s[0]] if _static(input_shape[s[0]]) else None
                out.append(d)
                # an unknown size copied by its first [i] reference cancels on both sides (Lasagne's
                # rule), so it hides neither a mismatch nor the -1; a second copy stays unknown
                if d is None and masked_in[s[0]] is None:
                    masked_in[s[0]] = 1
                    d = 1
                masked_out.append(d)
            elif isinstance(s, Variable):
                d = s.sym_value if isinstance(s.sym_value, int) else None
                out.append(d)
                masked_out.append(d)
            else:
                out.append(int(s))
                masked_out.append(int(s))
        in_size = _prod_or_none(masked_in)
        known = [d for d in masked_out if d != -1]
        out_size = _prod_or_none(known)
        if -1 in masked_out:
            i = masked_out.index(-1)
            if in_size is None or out_size is None:
                out[i] = None
                return tuple(out)
            if out_size == 0 or in_size % out_size:
                raise self._mismatch(input_shape)
            out[i] = in_size // out_size
        elif in_size is not None and out_size is not None and in_size != out_size:
            raise self._mismatch(input_shape)
        return tuple(out)

    def _mismatch(self, input_shape: Any) -> ValueError:
        return ValueError(
            f"{format_layer(self)}: cannot reshape an input of shape {tuple(input_shape)} to {self.shape}: "
            "the total size mismatches"
        )

    def get_output_for(self, input: Any, **kwargs: Any) -> Variable:  # noqa: A002
        x = T.as_tensor_variable(input)
        target = [T.shape(x)[s[0]] if isinstance(s, list) else s for s in self.shape]
        return T.reshape(x, target)


reshape = ReshapeLayer


class DimshuffleLayer(Layer):
    """Reorder axes; ``'x'`` inserts a broadcastable axis, left-out axes (of size 1) are dropped.

    A left-out axis of unknown size (None) is allowed, as in Lasagne; the
    output then checks at run time that its size is 1.

    Parameters
    ----------
    incoming : Layer or tuple
    pattern : tuple of int or 'x'
    """

    def __init__(self, incoming: Any, pattern: Any, **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        used: set[int] = set()
        for p in pattern:
            if isinstance(p, (int, np.integer)) and not isinstance(p, bool):
                if p in used:
                    raise ValueError(f"{format_layer(self)}: pattern {pattern} uses input dim {p} more than once")
                if not 0 <= p < len(self.input_shape):
                    raise ValueError(f"{format_layer(self)}: pattern {pattern} names dim {p}, input has {len(self.input_shape)}")
                used.add(int(p))
            elif p != "x":
                raise ValueError(f"{format_layer(self)}: pattern entries must be ints or 'x', got {p!r}")
        self.pattern = tuple(pattern)
        self.get_output_shape_for(self.input_shape)

    def get_output_shape_for(self, input_shape: Any) -> Any:
        out = []
        for p in self.pattern:
            out.append(1 if p == "x" else input_shape[p])
        for i, d in enumerate(input_shape):
            if i not in self.pattern and _static(d) and d != 1:  # an unknown size is checked at run time
                raise ValueError(
                    f"{format_layer(self)}: pattern {self.pattern} drops input dim {i}, whose size is {d}, not 1"
                )
        return tuple(out)

    def get_output_for(self, input: Any, **kwargs: Any) -> Variable:  # noqa: A002
        x = T.as_tensor_variable(input)
        dropped = [i for i in range(x.ndim) if i not in self.pattern and x.type.shape[i] != 1]
        if dropped:  # the layer's shape says 1 but the expression cannot prove it: reshape away
            keep = [i for i in range(x.ndim) if i not in dropped]
            x = T.reshape(x, [T.shape(x)[i] for i in keep])
            remap = {old: new for new, old in enumerate(keep)}
            return T.dimshuffle(x, [p if p == "x" else remap[p] for p in self.pattern])
        return T.dimshuffle(x, self.pattern)


dimshuffle = DimshuffleLayer


class PadLayer(Layer):
    """Pad the axes from ``batch_ndim`` on with a constant.

    Parameters
    ----------
    incoming : Layer or tuple
    width : int or sequence
        One width for all padded axes, or one entry per padded axis (an int,
        or a ``(before, after)`` pair).  Kept as given in ``self.width``.
    val : float
    batch_ndim : int
        Leading axes left alone.

    Raises
    ------
    ValueError
        For a negative or malformed width at construction; for a number of
        widths that does not fit the input's rank where the rank is used
        (``get_output_shape_for``, ``get_output_for``), as Lasagne takes any
        stand-in as ``incoming``.
    """

    def __init__(self, incoming: Any, width: Any, val: float = 0, batch_ndim: int = 2, **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        entries = [width] if _static(width) else list(width)
        for e in entries:
            pair = (e, e) if _static(e) else tuple(e)
            if len(pair) != 2 or not all(_static(v) for v in pair):
                raise ValueError(f"{format_layer(self)}: widths must be ints or (before, after) pairs, got {width!r}")
            if min(pair) < 0:
                raise ValueError(f"{format_layer(self)}: widths must be non-negative, got {width!r}")
        self.width = width
        self.val = val
        self.batch_ndim = batch_ndim

    def _pairs(self, ndim: int) -> list[tuple[int, int]]:
        """``(before, after)`` for each padded axis of a rank-``ndim`` input."""
        n = ndim - self.batch_ndim
        if n < 0:
            raise ValueError(f"{format_layer(self)}: batch_ndim={self.batch_ndim} exceeds the input's {ndim} dims")
        entries = [self.width] * n if _static(self.width) else list(self.width)
        if len(entries) != n:
            raise ValueError(f"{format_layer(self)}: {len(entries)} widths given for {n} padded axes")
        return [(int(e), int(e)) if _static(e) else (int(e[0]), int(e[1])) for e in entries]

    def get_output_shape_for(self, input_shape: Any) -> Any:
        out = list(input_shape)
        for k, (lo, hi) in enumerate(self._pairs(len(input_shape))):
            i = self.batch_ndim + k
            out[i] = out[i] + lo + hi if _static(out[i]) else None
        return tuple(out)

    def get_output_for(self, input: Any, **kwargs: Any) -> Variable:  # noqa: A002
        x = T.as_tensor_variable(input)
        return T.pad(x, [(0, 0)] * self.batch_ndim + self._pairs(x.ndim), value=self.val)


pad = PadLayer


class SliceLayer(Layer):
    """Index or slice one axis.

    Parameters
    ----------
    incoming : Layer or tuple
    indices : int or slice
        An int drops the axis.
    axis : int
    """

    def __init__(self, incoming: Any, indices: Any, axis: int = -1, **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        if not isinstance(indices, (int, np.integer, slice)) or isinstance(indices, bool):
            raise TypeError(f"{format_layer(self)}: indices must be an int or a slice, got {indices!r}")
        if not -len(self.input_shape) <= axis < len(self.input_shape):
            raise ValueError(f"{format_layer(self)}: axis {axis} is out of range for input shape {self.input_shape}")
        self.slice = indices
        self.axis = axis
        self.get_output_shape_for(self.input_shape)  # an index outside the input's known size fails here

    def get_output_shape_for(self, input_shape: Any) -> Any:
        out = list(input_shape)
        axis = self.axis % len(input_shape)
        if isinstance(self.slice, slice):
            d = out[axis]
            out[axis] = None if d is None else len(range(*self.slice.indices(d)))
        else:
            d = out[axis]
            if d is not None and not -d <= self.slice < d:
                raise ValueError(
                    f"{format_layer(self)}: index {self.slice} is out of range for axis {axis} of size {d} "
                    f"(input shape {format_shape(tuple(input_shape))})"
                )
            out.pop(axis)
        return tuple(out)

    def get_output_for(self, input: Any, **kwargs: Any) -> Variable:  # noqa: A002
        x = T.as_tensor_variable(input)
        axis = self.axis % x.ndim
        return x[(slice(None),) * axis + (self.slice,)]
