"""Theano's ``theano.tensor`` functions built from graphc's existing ops (no new IR op).

Elementwise: :func:`isnan`, :func:`isinf`, :func:`log2`, :func:`log10`, :func:`round` with
Theano's ``mode``; :func:`gammaln` and :func:`erfinv` raise ``NotImplementedError`` (ONNX has
no log-gamma and no inverse error function).  Sorting: :func:`sort` and :func:`argsort`
rank every element against every other along the axis (``O(n^2)`` work and memory along
it, like :func:`graphc.tensor.extra_ops.cumsum`), so they lower to plain comparisons and
sums and stay differentiable.  Layout: :func:`eye`, :func:`tile`, :func:`repeat`,
:func:`roll` and the broadcast-pattern functions live in :mod:`graphc.tensor.extra_shape`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .basic import as_tensor_variable
from .elemwise import _operands, abs, cast, eq, floor, log, lt, mul, neq, sign, switch
from .elemwise import round as _round_half_to_even
from .reduction import sum as _sum
from .shape import arange, flatten
from .variable import Variable, apply_op

__all__ = ["isnan", "isinf", "log2", "log10", "gammaln", "erfinv", "round", "sort", "argsort"]

_FLOAT_KINDS = "fc"


def isnan(a: Any) -> Variable:
    """Elementwise ``a != a``: True where ``a`` is NaN (always False for integer inputs).

    Parameters
    ----------
    a : tensor

    Returns
    -------
    Variable
        A bool tensor of the shape of ``a``.
    """
    v = as_tensor_variable(a)
    return neq(v, v)  # an integer always equals itself: all False


def isinf(a: Any) -> Variable:
    """Elementwise: True where ``a`` is ``+inf`` or ``-inf`` (False for integer inputs).

    Parameters
    ----------
    a : tensor

    Returns
    -------
    Variable
        A bool tensor of the shape of ``a``.
    """
    v = as_tensor_variable(a)
    if np.dtype(v.dtype).kind not in _FLOAT_KINDS:
        return neq(v, v)
    return eq(abs(v), np.inf)


def log2(a: Any) -> Variable:
    """Elementwise base-2 logarithm, ``log(a) / log(2)`` (ints are converted to ``floatX``).

    Parameters
    ----------
    a : tensor

    Returns
    -------
    Variable
    """
    (v,) = _operands(a, floats=True)
    return mul(log(v), 1.0 / np.log(2.0))


def log10(a: Any) -> Variable:
    """Elementwise base-10 logarithm, ``log(a) / log(10)`` (ints are converted to ``floatX``).

    Parameters
    ----------
    a : tensor

    Returns
    -------
    Variable
    """
    (v,) = _operands(a, floats=True)
    return mul(log(v), 1.0 / np.log(10.0))


def gammaln(a: Any) -> Variable:
    """Theano's ``gammaln`` (log-gamma): not provided.

    ONNX has no log-gamma operator and no series built from its ops is exact to
    float32 over the whole real line, so graphc does not approximate it.

    Raises
    ------
    NotImplementedError
        Always.
    """
    raise NotImplementedError("gammaln: ONNX has no log-gamma (lgamma) operator, so graphc does not provide T.gammaln")


def erfinv(a: Any) -> Variable:
    """Theano's ``erfinv`` (inverse error function): not provided.

    ONNX has ``Erf`` but no inverse, and graphc does not approximate it.

    Raises
    ------
    NotImplementedError
        Always.
    """
    raise NotImplementedError(
        "erfinv: ONNX has no inverse error function operator, so graphc does not provide T.erfinv"
    )


def round(a: Any, mode: str | None = None) -> Variable:  # noqa: A001  (Theano's name)
    """Round to the nearest integer, as Theano's ``T.round(a, mode=None)``.

    Parameters
    ----------
    a : tensor
    mode : {None, "half_to_even", "half_away_from_zero"}
        ``None`` is ``"half_to_even"`` (numpy's rule, Theano 1.0's default).

    Returns
    -------
    Variable
    """
    if mode is None or mode == "half_to_even":
        return _round_half_to_even(a)
    if mode == "half_away_from_zero":
        (v,) = _operands(a, floats=True)
        return mul(sign(v), floor(abs(v) + 0.5))
    raise ValueError(f"round: mode must be 'half_to_even' or 'half_away_from_zero', got {mode!r}")


def _ranks(a: Any, axis: int | None, fn: str) -> tuple[Variable, Variable, list[int]]:
    """The input with ``axis`` moved last, each element's position in sorted order, and the way back."""
    v = as_tensor_variable(a)
    if axis is None:
        v, axis = flatten(v), 0
    if v.ndim == 0:
        raise ValueError(f"{fn}: cannot sort a zero-dimensional tensor")
    if not -v.ndim <= axis < v.ndim:
        raise ValueError(f"{fn}: axis {axis} is out of range for a {v.ndim}-d tensor")
    ax = axis % v.ndim
    order = [i for i in range(v.ndim) if i != ax] + [ax]
    back = [order.index(i) for i in range(v.ndim)]
    moved = v.dimshuffle(*order)
    lead = list(range(v.ndim - 1))
    keyed = cast(moved, "int32") if v.dtype == "bool" else moved  # bools compare as integers
    xi = keyed.dimshuffle(*lead, v.ndim - 1, "x")  # [..., i, j] = x_i
    xj = keyed.dimshuffle(*lead, "x", v.ndim - 1)  # [..., i, j] = x_j
    idx = arange(moved.shape[v.ndim - 1])
    before = lt(idx.dimshuffle("x", 0), idx.dimshuffle(0, "x"))  # [i, j] = j < i
    ahead = lt(xj, xi) | (eq(xj, xi) & before)  # x_j goes before x_i
    rank = _sum(cast(ahead, "int64"), axis=-1)  # [..., i]: where x_i lands (stable for ties)
    return moved, rank, back


def argsort(a: Any, axis: int | None = -1, kind: str = "quicksort", order: Any = None) -> Variable:
    """Indices that sort ``a`` along ``axis`` (the flattened tensor when None), as ``numpy.argsort``.

    Ties keep their original order (a stable sort whatever ``kind`` says). NaNs are not
    supported. The work and memory are ``O(n^2)`` in the length of the sorted axis.

    Parameters
    ----------
    a : tensor
    axis : int or None
    kind : str
        Accepted for Theano compatibility; ignored.
    order : None
        Structured-array field order: must be None.

    Returns
    -------
    Variable
        An int64 tensor of the shape of ``a`` (flattened when ``axis`` is None).
    """
    if order is not None:
        raise ValueError("argsort: order is only for structured arrays, which graphc does not have")
    moved, rank, back = _ranks(a, axis, "argsort")
    nd = moved.ndim
    lead = list(range(nd - 1))
    pos = arange(moved.shape[nd - 1])
    # out[..., k] = the i whose rank is k
    hit = eq(rank.dimshuffle(*lead, nd - 1, "x"), pos)  # [..., i, k] = rank_i == k
    src = pos.dimshuffle(0, "x")  # [i, k] = i
    out = _sum(switch(hit, src, 0), axis=-2)
    return cast(out, "int64").dimshuffle(*back)


def sort(a: Any, axis: int | None = -1, kind: str = "quicksort", order: Any = None) -> Variable:
    """``a`` sorted in ascending order along ``axis`` (the flattened tensor when None), as ``numpy.sort``.

    The values are gathered at :func:`argsort` (so the gradient flows back to the element
    each output came from). NaNs are not supported. ``O(n^2)`` work along the axis.

    Parameters
    ----------
    a : tensor
    axis : int or None
    kind : str
        Accepted for Theano compatibility; ignored.
    order : None

    Returns
    -------
    Variable
    """
    v = as_tensor_variable(a)
    if axis is None:
        v, axis = flatten(v), 0
    idx = argsort(v, axis, kind, order)
    if not -v.ndim <= axis < v.ndim:
        raise ValueError(f"sort: axis {axis} is out of range for a {v.ndim}-d tensor")
    return apply_op("take_along_axis", [v, idx], axis=axis % v.ndim)  # type: ignore[return-value]


# -- Theano's Variable methods that delegate to functions ---------------------------------


def _norm(self: Variable, L: float, axis: Any = None) -> Variable:  # noqa: N803  (Theano's name)
    """The ``L``-norm ``sum(|x| ** L, axis) ** (1 / L)``, as Theano's ``x.norm(L, axis=None)``."""
    if L == 0:
        raise NotImplementedError("norm: L=0 is not supported")
    if np.isinf(L):
        raise NotImplementedError("norm: L=inf is not supported; use abs(x).max(axis)")
    return _sum(abs(self) ** L, axis=axis) ** (1.0 / L)


def _any(self: Variable, axis: Any = None, keepdims: bool = False) -> Variable:
    """``T.any(self, axis, keepdims)``."""
    from .reduction import any as _any_fn

    return _any_fn(self, axis, keepdims)


def _all(self: Variable, axis: Any = None, keepdims: bool = False) -> Variable:
    """``T.all(self, axis, keepdims)``."""
    from .reduction import all as _all_fn

    return _all_fn(self, axis, keepdims)


def _repeat(self: Variable, repeats: Any, axis: int | None = None) -> Variable:
    """``T.repeat(self, repeats, axis)``."""
    from .extra_shape import repeat

    return repeat(self, repeats, axis)


def _cumsum(self: Variable, axis: int | None = None) -> Variable:
    """``T.cumsum(self, axis)``."""
    from .extra_ops import cumsum

    return cumsum(self, axis)


def _sort(self: Variable, axis: int | None = -1, kind: str = "quicksort", order: Any = None) -> Variable:
    """``T.sort(self, axis, kind, order)``."""
    return sort(self, axis, kind, order)


def _argsort(self: Variable, axis: int | None = -1, kind: str = "quicksort", order: Any = None) -> Variable:
    """``T.argsort(self, axis, kind, order)``."""
    return argsort(self, axis, kind, order)


def _round_method(self: Variable, mode: str | None = None) -> Variable:
    """``T.round(self, mode)``."""
    return round(self, mode)


def _copy(self: Variable, name: str | None = None) -> Variable:
    """A new variable with the same value (Theano's ``tensor_copy``), optionally named."""
    out = apply_op("reshape", [self, self.shape])
    out.name = name  # type: ignore[union-attr]
    return out  # type: ignore[return-value]


def _nonzero(self: Variable, return_matrix: bool = False) -> Any:
    """``T.nonzero(self, return_matrix)``."""
    from .extra_shape import nonzero

    return nonzero(self, return_matrix)


def _ravel(self: Variable) -> Variable:
    """The flattened 1-d tensor, as ``x.flatten()``."""
    return flatten(self)


for _name, _fn in {
    "norm": _norm,
    "any": _any,
    "all": _all,
    "repeat": _repeat,
    "cumsum": _cumsum,
    "sort": _sort,
    "argsort": _argsort,
    "round": _round_method,
    "copy": _copy,
    "ravel": _ravel,
    "nonzero": _nonzero,
}.items():
    if not hasattr(Variable, _name):
        setattr(Variable, _name, _fn)
