"""Merge layers: ConcatLayer, ElemwiseMergeLayer, ElemwiseSumLayer, and autocrop."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import reduce
from typing import Any

import numpy as np

from .. import tensor as T
from ..tensor.variable import Variable
from .base import MergeLayer, format_layer

__all__ = [
    "autocrop",
    "autocrop_array_shapes",
    "ConcatLayer",
    "concat",
    "ElemwiseMergeLayer",
    "ElemwiseSumLayer",
]

_CROP_MODES = (None, "lower", "center", "upper")


def _check_cropping(cropping: Any, what: str) -> Any:
    if cropping is None:
        return None
    for c in cropping:
        if c not in _CROP_MODES:
            raise ValueError(f"{what}: unknown cropping mode {c!r}; use None, 'lower', 'center' or 'upper'")
    return list(cropping)


def autocrop(inputs: Sequence[Any], cropping: Any) -> list[Variable]:
    """Crop tensors to a common shape along the axes where ``cropping`` says how.

    Parameters
    ----------
    inputs : list of tensor
        Of one rank.
    cropping : list of None, 'lower', 'center' or 'upper', or None
        Per leading axis: keep as is (None), keep the start ('lower'), the
        middle ('center') or the end ('upper') of each tensor, cropping all to
        the smallest size.

    Raises
    ------
    ValueError
        For inputs of different ranks or an unknown mode.
    """
    xs = [T.as_tensor_variable(x) for x in inputs]
    cropping = _check_cropping(cropping, "autocrop")
    if cropping is None:
        return xs
    ndim = xs[0].ndim
    if any(x.ndim != ndim for x in xs):
        raise ValueError(f"autocrop: not all inputs have the same number of dimensions ({[x.ndim for x in xs]})")
    slices_per_input: list[list[Any]] = [[] for _ in xs]
    for axis, mode in enumerate(cropping):
        if mode is None:
            for s in slices_per_input:
                s.append(slice(None))
            continue
        sizes = [x.type.shape[axis] for x in xs]
        if all(isinstance(d, int) for d in sizes):
            target: Any = min(sizes)
            for s, d in zip(slices_per_input, sizes):
                start = 0 if mode == "lower" else (d - target) // 2 if mode == "center" else d - target
                s.append(slice(start, start + target))
        else:
            dims = [T.shape(x)[axis] for x in xs]
            target = reduce(T.minimum, dims)
            for s, d in zip(slices_per_input, dims):
                start = 0 if mode == "lower" else (d - target) // 2 if mode == "center" else d - target
                s.append(slice(start, start + target))
    return [x[tuple(s)] for x, s in zip(xs, slices_per_input)]


def autocrop_array_shapes(input_shapes: Sequence[Any], cropping: Any) -> list[tuple[Any, ...]]:
    """The shapes :func:`autocrop` gives for ``input_shapes`` (None for unknown sizes)."""
    cropping = _check_cropping(cropping, "autocrop_array_shapes")
    if cropping is None:
        return [tuple(s) for s in input_shapes]
    ndims = {len(s) for s in input_shapes}
    if len(ndims) != 1:
        raise ValueError(f"autocrop: not all inputs have the same number of dimensions ({[len(s) for s in input_shapes]})")
    result = [list(s) for s in input_shapes]
    for axis, mode in enumerate(cropping):
        if mode is None:
            continue
        sizes = [s[axis] for s in input_shapes]
        known = [d for d in sizes if d is not None]
        target = min(known) if len(known) == len(sizes) else None
        for r in result:
            r[axis] = target
    return [tuple(r) for r in result]


def _same_except(shapes: list[tuple[Any, ...]], skip: int | None, what: str) -> tuple[Any, ...]:
    ndim = len(shapes[0])
    if any(len(s) != ndim for s in shapes):
        raise ValueError(f"{what}: input shapes {shapes} have different numbers of dimensions")
    out: list[Any] = []
    for axis in range(ndim):
        if axis == skip:
            out.append(None)
            continue
        known = {s[axis] for s in shapes if s[axis] is not None}
        if len(known) > 1:
            detail = "except in the concatenation axis" if skip is not None else "(all axes)"
            raise ValueError(f"{what}: mismatch: input shapes {shapes} must be the same {detail}; axis {axis} differs")
        out.append(known.pop() if known else None)
    return tuple(out)


def _check_early(layer: MergeLayer) -> None:
    """Mismatched input shapes fail when the layer is built; stand-in incomings (whose output_shape is not a
    shape, a ``Mock``'s say) are taken on trust, as Lasagne does, until shapes are asked for."""
    if all(isinstance(s, (tuple, list)) for s in layer.input_shapes):
        layer.get_output_shape_for(layer.input_shapes)


class ConcatLayer(MergeLayer):
    """Concatenate inputs along ``axis``.

    Parameters
    ----------
    incomings : list of Layer or tuple
    axis : int
    cropping : list or None
        See :func:`autocrop`; the entry for ``axis`` is ignored (never cropped).
    """

    def __init__(self, incomings: Sequence[Any], axis: int = 1, cropping: Any = None, **kwargs: Any) -> None:
        super().__init__(incomings, **kwargs)
        self.axis = axis
        self.cropping = _check_cropping(cropping, format_layer(self))
        if self.cropping is not None and -len(self.cropping) <= axis < len(self.cropping):
            self.cropping[axis] = None  # as Lasagne: the concatenation axis is never cropped
        _check_early(self)

    def get_output_shape_for(self, input_shapes: Any) -> Any:
        shapes = autocrop_array_shapes(input_shapes, self.cropping)
        ndim = len(shapes[0])
        if not -ndim <= self.axis < ndim:
            raise ValueError(f"{format_layer(self)}: axis {self.axis} is out of range for inputs of {ndim} dims")
        axis = self.axis % ndim
        out = list(_same_except(shapes, axis, format_layer(self)))
        sizes = [s[axis] for s in shapes]
        out[axis] = None if any(d is None for d in sizes) else sum(sizes)
        return tuple(out)

    def get_output_for(self, inputs: Any, **kwargs: Any) -> Variable:
        return T.concatenate(autocrop(inputs, self.cropping), axis=self.axis)


concat = ConcatLayer


class ElemwiseMergeLayer(MergeLayer):
    """Merge inputs of one shape elementwise with a binary function (``T.maximum``, ``T.mul``...).

    Parameters
    ----------
    incomings : list of Layer or tuple
    merge_function : callable
        ``f(a, b)`` applied left to right.
    cropping : list or None
    """

    def __init__(self, incomings: Sequence[Any], merge_function: Callable[[Any, Any], Any], cropping: Any = None, **kwargs: Any) -> None:
        super().__init__(incomings, **kwargs)
        if not callable(merge_function):
            raise TypeError(f"{format_layer(self)}: merge_function must be callable, got {merge_function!r}")
        self.merge_function = merge_function
        self.cropping = _check_cropping(cropping, format_layer(self))
        _check_early(self)

    def get_output_shape_for(self, input_shapes: Any) -> Any:
        return _same_except(autocrop_array_shapes(input_shapes, self.cropping), None, format_layer(self))

    def get_output_for(self, inputs: Any, **kwargs: Any) -> Variable:
        return reduce(self.merge_function, autocrop(inputs, self.cropping))


class ElemwiseSumLayer(ElemwiseMergeLayer):
    """``sum_i coeffs[i] * inputs[i]``.

    Parameters
    ----------
    incomings : list of Layer or tuple
    coeffs : number or list of numbers
        One per input, or one for all.
    cropping : list or None
    """

    def __init__(self, incomings: Sequence[Any], coeffs: Any = 1, cropping: Any = None, **kwargs: Any) -> None:
        super().__init__(incomings, merge_function=T.add, cropping=cropping, **kwargs)
        if isinstance(coeffs, (list, tuple)):
            if len(coeffs) != len(incomings):
                raise ValueError(f"{format_layer(self)}: got {len(coeffs)} coeffs for {len(incomings)} incomings")
        else:
            coeffs = [coeffs] * len(incomings)
        self.coeffs = list(coeffs)

    def get_output_for(self, inputs: Any, **kwargs: Any) -> Variable:
        terms = []
        for c, x in zip(self.coeffs, autocrop(inputs, self.cropping)):
            terms.append(x if (isinstance(c, (int, float, np.number)) and c == 1) else x * c)
        return reduce(T.add, terms)
