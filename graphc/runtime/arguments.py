"""Call arguments of a compiled function: checking and converting each one, binding them to inputs.

Each input of a compiled graph gets an :class:`ArgumentSpec` once, at compile
time (dtype, number of dims, the sizes the graph fixes, the axes that are a
scan's sequence length); a call converts its arguments with them and nothing
else, so a call's Python work depends on the number of inputs, not on the
model.  :func:`check_unused` refuses, at compile time, inputs no output needs
(Theano's :class:`UnusedInputError`).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import onnxruntime as ort
from onnx.helper import np_dtype_to_tensor_dtype

from ..ir.build import collect_leaves, leaf_kind
from ..ir.graph import Graph
from ..ir.types import Dim
from ..tensor.shared import int_overflow
from ..tensor.variable import Variable
from .sequences import refuse_empty, sequence_axes

__all__ = ["UnusedInputError", "ArgumentSpec", "argument_spec", "bind_arguments", "check_unused", "onnx_shape_text", "shape_of"]

_MISSING = object()


class UnusedInputError(ValueError):
    """An input is not needed by any output or update (Theano's error)."""


@dataclass
class ArgumentSpec:
    """How to check and convert one call argument.

    Attributes
    ----------
    name : str
        The input's name in error messages (its variable's name, else its ONNX name).
    onnx_name : str
        The session input it feeds.
    dtype : numpy.dtype
    ndim : int
    static : tuple of (int, int)
        ``(axis, size)`` for each axis whose size the graph fixes.
    shape_text : str
        The expected shape as the exported model names it, e.g. ``(x_dim0, 3)``.
    nonempty : tuple of (int, str)
        ``(axis, scan)`` for each axis that is a scan's sequence length (must not be 0).
    """

    name: str
    onnx_name: str
    dtype: np.dtype
    ndim: int
    static: tuple[tuple[int, int], ...]
    shape_text: str
    nonempty: tuple[tuple[int, str], ...] = ()

    def convert(self, value: Any, fn_name: str) -> Any:
        """``value`` as a C-contiguous array of the expected dtype, or an ``OrtValue`` checked as is.

        Raises
        ------
        TypeError
            For a symbolic value, or a dtype that cannot be cast without changing its kind.
        ValueError
            For a wrong number of dims, a size the graph fixes, integers that would wrap
            around, or an empty sequence axis.
        """
        if type(value) is np.ndarray and value.dtype == self.dtype:
            arr = value
        elif isinstance(value, ort.OrtValue):
            return self._check_ortvalue(value, fn_name)
        else:
            if isinstance(value, Variable):
                raise TypeError(f"{fn_name}: input {self.name!r} got the symbolic {value!r}; pass a numeric array")
            try:
                arr = np.asarray(value)
            except (TypeError, ValueError) as exc:
                raise TypeError(f"{fn_name}: input {self.name!r} could not be converted to an array: {exc}") from None
            if arr.dtype != self.dtype:
                if arr.dtype.kind not in "biuf" or not (
                    np.can_cast(arr.dtype, self.dtype, "same_kind") or (arr.dtype.kind == "b" and self.dtype.kind in "iuf")
                ):
                    raise TypeError(
                        f"{fn_name}: input {self.name!r} has dtype {arr.dtype}, which cannot be cast to the "
                        f"expected {self.dtype} (expected shape {self.shape_text})"
                    )
                overflow = int_overflow(arr, self.dtype)
                if overflow:
                    raise ValueError(f"{fn_name}: input {self.name!r}: {overflow}; refusing to wrap them around")
                arr = arr.astype(self.dtype)
        if arr.ndim != self.ndim:
            raise ValueError(
                f"{fn_name}: input {self.name!r} has {arr.ndim} dims (shape {arr.shape}); expected {self.ndim} dims, "
                f"shape {self.shape_text}"
            )
        shape = arr.shape
        for axis, size in self.static:
            if shape[axis] != size:
                raise ValueError(
                    f"{fn_name}: input {self.name!r} has shape {shape}; expected {self.shape_text} "
                    f"(axis {axis} must be {size})"
                )
        for axis, scan in self.nonempty:
            if shape[axis] == 0:
                refuse_empty(fn_name, self.name, shape, axis, scan)
        if not arr.flags.c_contiguous:
            arr = np.ascontiguousarray(arr)
        return arr

    def _check_ortvalue(self, value: ort.OrtValue, fn_name: str) -> ort.OrtValue:
        """An ``OrtValue`` input is used as is (no conversion): its type and shape must be right."""
        if not value.is_tensor():
            raise TypeError(f"{fn_name}: input {self.name!r} got an OrtValue that is not a tensor")
        if value.element_type() != np_dtype_to_tensor_dtype(self.dtype):
            raise TypeError(
                f"{fn_name}: input {self.name!r} got an OrtValue of {value.data_type()}; expected dtype "
                f"{self.dtype} (OrtValue inputs are not cast: convert it first)"
            )
        shape = tuple(value.shape())
        if len(shape) != self.ndim or any(shape[axis] != size for axis, size in self.static):
            raise ValueError(f"{fn_name}: input {self.name!r} got an OrtValue of shape {shape}; expected {self.shape_text}")
        for axis, scan in self.nonempty:
            if shape[axis] == 0:
                refuse_empty(fn_name, self.name, shape, axis, scan)
        return value


def argument_spec(
    graph: Graph, nid: int, onnx_name: str, shape_text: str, known_sizes: Mapping[str, int], sequence_dims: Mapping[str, str]
) -> ArgumentSpec:
    """The :class:`ArgumentSpec` of the graph input ``nid``, fed as the session input ``onnx_name``.

    Parameters
    ----------
    graph : graphc.ir.Graph
    nid : int
        The input node.
    onnx_name, shape_text : str
        Its name and shape text in the exported model.
    known_sizes : dict
        Symbolic dims whose size the graph fixes (checked at call time).
    sequence_dims : dict
        Symbolic dims that are a scan's sequence length (see :func:`graphc.runtime.sequences.sequence_dims`).
    """
    d = graph.data(nid)
    t = d.types[0]
    static = tuple(
        (i, known_sizes[s.name] if isinstance(s, Dim) else s)
        for i, s in enumerate(t.shape)
        if not isinstance(s, Dim) or s.name in known_sizes
    )
    nonempty = sequence_axes(t.shape, dict(sequence_dims))
    return ArgumentSpec(d.name or onnx_name, onnx_name, np.dtype(t.dtype), t.ndim, static, shape_text, nonempty)


def bind_arguments(
    specs: Sequence[ArgumentSpec],
    by_name: Mapping[str, int],
    in_spec: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    fn_name: str,
) -> list[Any]:
    """A call's positional and keyword arguments, checked and converted, in input order.

    Parameters
    ----------
    specs : list of ArgumentSpec
    by_name : dict
        Input name -> position.
    in_spec : graphc.runtime.inputs_spec.InputsSpec or None
        Names and defaults given by ``theano.In``, if any.
    args, kwargs
        The call's arguments.
    fn_name : str
        For error messages.
    """
    if in_spec is not None:
        args, kwargs = in_spec.fill(args, kwargs, fn_name), {}
    if kwargs:
        args = _merge_kwargs(specs, by_name, args, kwargs, fn_name)
    if len(args) != len(specs):
        expected = ", ".join(s.name for s in specs) or "no inputs"
        if len(args) < len(specs):
            missing = ", ".join(s.name for s in specs[len(args):])
            raise TypeError(f"{fn_name}: missing input(s) {missing}; expected ({expected})")
        raise TypeError(f"{fn_name}: takes {len(specs)} input(s) ({expected}) but {len(args)} were given")
    return [s.convert(a, fn_name) for s, a in zip(specs, args)]


def _merge_kwargs(
    specs: Sequence[ArgumentSpec], by_name: Mapping[str, int], args: tuple[Any, ...], kwargs: dict[str, Any], fn_name: str
) -> tuple[Any, ...]:
    values: list[Any] = list(args) + [_MISSING] * (len(specs) - len(args))
    for key, val in kwargs.items():
        if key not in by_name:
            raise TypeError(f"{fn_name}: unexpected input {key!r}; inputs are {[s.name for s in specs]}")
        i = by_name[key]
        if i < len(args):
            raise TypeError(f"{fn_name}: input {key!r} given both by position and by name")
        values[i] = val
    missing = [s.name for s, v in zip(specs, values) if v is _MISSING]
    if missing:
        raise TypeError(f"{fn_name}: missing input(s) {', '.join(missing)}")
    return tuple(values)


def check_unused(fn_name: str, inputs: Sequence[Any], outs: Sequence[Variable], mode: str, givens: Any) -> None:
    """Refuse (``mode='raise'``) or warn about (``'warn'``) inputs that no output or update needs.

    Raises
    ------
    UnusedInputError
        For the first unused input, when ``mode='raise'``.
    """
    if mode == "ignore":
        return
    replace_targets = list(givens.values() if isinstance(givens, Mapping) else [n for _, n in (givens or [])])
    used = {id(v) for v in collect_leaves(list(outs) + replace_targets)}
    for i, v in enumerate(inputs):
        if id(v) not in used and leaf_kind(v) == "input":
            msg = (
                f"{fn_name}: input {i} ({v!r}) is not needed to compute the outputs or updates; "
                "remove it or pass on_unused_input='ignore'"
            )
            if mode == "raise":
                raise UnusedInputError(msg)
            warnings.warn(msg, stacklevel=5)


def shape_of(value: Any) -> tuple[int, ...]:
    """The shape of an array or an ``OrtValue``."""
    return tuple(value.shape()) if isinstance(value, ort.OrtValue) else tuple(np.shape(value))


def onnx_shape_text(value_info: Any) -> str:
    """An input's shape as the exported model names it, e.g. ``(x_dim0, 3)``."""
    dims = [d.dim_param or str(d.dim_value) for d in value_info.type.tensor_type.shape.dim]
    return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"
