"""Theano's layout functions built from graphc's existing ops (no new IR op).

:func:`eye`, :func:`tile`, :func:`repeat`, :func:`roll`, :func:`batched_dot`, :func:`join`,
:func:`horizontal_stack`, :func:`vertical_stack`, :data:`mgrid`, :data:`ogrid`,
:func:`nonzero`, :func:`flatnonzero`, :func:`nonzero_values` and the broadcast-pattern
functions :func:`addbroadcast`, :func:`unbroadcast` and :func:`patternbroadcast`.

graphc has no broadcastable flags: an axis broadcasts exactly when its static size is 1.
So :func:`addbroadcast` makes the axis statically 1 (a reshape that fails at run time when
the axis is not 1, as Theano's check does), and :func:`unbroadcast` is the identity.
:func:`specify_shape` gives a tensor its static sizes the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..config import config
from .basic import as_tensor_variable
from .elemwise import add, cast, eq, mod, sub
from .linalg import matmul
from .reduction import sum as _sum
from .shape import alloc, arange, concatenate, dim_of, flatten, reshape, shape_padleft
from .variable import Variable

__all__ = [
    "eye",
    "tile",
    "repeat",
    "roll",
    "batched_dot",
    "join",
    "horizontal_stack",
    "vertical_stack",
    "mgrid",
    "ogrid",
    "addbroadcast",
    "unbroadcast",
    "patternbroadcast",
    "flatnonzero",
    "nonzero",
    "nonzero_values",
    "specify_shape",
]


def _axis(axis: int, ndim: int, fn: str) -> int:
    if not -ndim <= axis < ndim:
        raise ValueError(f"{fn}: axis {axis} is out of range for a {ndim}-d tensor")
    return axis % ndim


def eye(n: Any, m: Any = None, k: int = 0, dtype: Any = None) -> Variable:
    """A 2-d tensor with ones on the ``k``-th diagonal and zeros elsewhere, as ``numpy.eye``.

    Parameters
    ----------
    n : int or symbolic scalar
        Number of rows.
    m : int or symbolic scalar, optional
        Number of columns (``n`` when None).
    k : int or symbolic scalar
        The diagonal: 0 the main one, positive above it, negative below.
    dtype : str, optional
        ``config.floatX`` when None.

    Returns
    -------
    Variable
    """
    if m is None:
        m = n
    rows = arange(n, dtype="int64").dimshuffle(0, "x")
    cols = arange(m, dtype="int64").dimshuffle("x", 0)
    return cast(eq(add(rows, k), cols), dtype or config.floatX)


def tile(x: Any, reps: Any, ndim: int | None = None) -> Variable:
    """``x`` repeated ``reps[i]`` times along each axis ``i``, as ``numpy.tile``.

    Parameters
    ----------
    x : tensor
    reps : sequence of ints or symbolic scalars
    ndim : int, optional
        The result's number of dims (``max(x.ndim, len(reps))`` when None).

    Returns
    -------
    Variable
    """
    v = as_tensor_variable(x)
    if isinstance(reps, Variable):
        if reps.ndim != 1 or not isinstance(reps.type.shape[0], int):
            raise ValueError("tile: reps must be a list of scalars or a vector of static length")
        reps = [reps[i] for i in range(reps.type.shape[0])]
    reps = list(reps)
    nd = max(v.ndim, len(reps)) if ndim is None else int(ndim)
    if nd < v.ndim or nd < len(reps):
        raise ValueError(f"tile: ndim={nd} is smaller than x.ndim={v.ndim} or len(reps)={len(reps)}")
    reps = [1] * (nd - len(reps)) + reps
    v = shape_padleft(v, nd - v.ndim) if nd > v.ndim else v
    dims = [dim_of(v, i) for i in range(nd)]
    # (r0, d0, r1, d1, ...) then merge each pair
    pattern: list[Any] = []
    for i in range(nd):
        pattern += ["x", i]
    spread = alloc(v.dimshuffle(*pattern), *[e for pair in zip(reps, dims) for e in pair])
    return reshape(spread, [r * d for r, d in zip(reps, dims)])


def repeat(x: Any, repeats: Any, axis: int | None = None) -> Variable:
    """Each element of ``x`` repeated ``repeats`` times along ``axis``, as ``numpy.repeat``.

    Parameters
    ----------
    x : tensor
    repeats : int, symbolic int scalar, or int vector
        One count for all elements, or one per element along ``axis``.
    axis : int, optional
        The flattened tensor when None.

    Returns
    -------
    Variable
    """
    v = as_tensor_variable(x)
    if axis is None:
        v, axis = flatten(v), 0
    ax = _axis(axis, v.ndim, "repeat")
    r = as_tensor_variable(repeats)
    if r.dtype not in ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"):
        raise TypeError(f"repeat: repeats must be integers, got dtype {r.dtype}")
    if r.ndim == 0:
        dims = [dim_of(v, i) for i in range(v.ndim)]
        pattern = list(range(ax + 1)) + ["x"] + list(range(ax + 1, v.ndim))
        spread = alloc(v.dimshuffle(*pattern), *dims[: ax + 1], r, *dims[ax + 1 :])
        return reshape(spread, dims[:ax] + [dims[ax] * r] + dims[ax + 1 :])
    if r.ndim != 1:
        raise ValueError(f"repeat: repeats must be a scalar or a vector, got {r.ndim} dims")
    from .extra_ops import cumsum

    ends = cumsum(cast(r, "int64"))  # element i fills [ends[i] - r[i], ends[i])
    out_pos = arange(ends[-1], dtype="int64")
    src = _sum(cast(ends.dimshuffle("x", 0) <= out_pos.dimshuffle(0, "x"), "int64"), axis=1)
    from .indexing import take

    return take(v, src, axis=ax)


def roll(x: Any, shift: Any, axis: int | None = None) -> Variable:
    """Elements shifted ``shift`` places along ``axis`` and wrapped around, as ``numpy.roll``.

    Parameters
    ----------
    x : tensor
    shift : int or symbolic int scalar
    axis : int, optional
        The flattened tensor (then reshaped back) when None.

    Returns
    -------
    Variable
    """
    v = as_tensor_variable(x)
    if axis is None:
        if v.ndim == 0:
            return v
        shp = [dim_of(v, i) for i in range(v.ndim)]
        return reshape(roll(flatten(v), shift, 0), shp)
    ax = _axis(axis, v.ndim, "roll")
    n = dim_of(v, ax)
    src = mod(sub(arange(n, dtype="int64"), cast(as_tensor_variable(shift), "int64")), n)
    from .indexing import take

    return take(v, src, axis=ax)


def batched_dot(a: Any, b: Any) -> Variable:
    """The product of ``a[i]`` and ``b[i]`` for each ``i`` of the leading (batch) axis.

    As Theano: a 1-d operand scales the other per batch; 2-d and 3-d operands are
    vectors and matrices per batch (``(B, n) x (B, n) -> (B,)``, ``(B, n, m) x (B, m) -> (B, n)``,
    ``(B, n) x (B, n, m) -> (B, m)``, ``(B, n, m) x (B, m, k) -> (B, n, k)``).

    Parameters
    ----------
    a, b : tensor

    Returns
    -------
    Variable
    """
    va, vb = as_tensor_variable(a), as_tensor_variable(b)
    if va.ndim == 0:
        raise TypeError("batched_dot: a must have at least one (batch) axis")
    if vb.ndim == 0:
        raise TypeError("batched_dot: b must have at least one (batch) axis")
    if va.ndim == 1:
        return va.dimshuffle(0, *(["x"] * (vb.ndim - 1))) * vb
    if vb.ndim == 1:
        return va * vb.dimshuffle(0, *(["x"] * (va.ndim - 1)))
    if va.ndim > 3 or vb.ndim > 3:
        raise NotImplementedError(
            "batched_dot: operands of more than 3 dims are not supported; use T.batched_tensordot"
        )
    a3 = va.dimshuffle(0, "x", 1) if va.ndim == 2 else va
    b3 = vb.dimshuffle(0, 1, "x") if vb.ndim == 2 else vb
    out = matmul(a3, b3)
    if va.ndim == 2 and vb.ndim == 2:
        return out.dimshuffle(0)  # drops the two static size-1 axes
    if va.ndim == 2:
        return out.dimshuffle(0, 2)
    if vb.ndim == 2:
        return out.dimshuffle(0, 1)
    return out


def join(axis: int, *tensors_list: Any) -> Variable:
    """Theano's ``join(axis, *tensors)``: :func:`concatenate` with the axis first."""
    return concatenate(list(tensors_list), axis=axis)


def _stack2d(args: Sequence[Any], axis: int, fn: str) -> Variable:
    vs = [as_tensor_variable(a) for a in args]
    for v in vs:
        if v.ndim != 2:
            raise ValueError(f"{fn}: every input must be 2-d, got a {v.ndim}-d tensor")
    return concatenate(vs, axis=axis)


def horizontal_stack(*args: Any) -> Variable:
    """Join 2-d tensors side by side (along axis 1), as Theano."""
    return _stack2d(args, 1, "horizontal_stack")


def vertical_stack(*args: Any) -> Variable:
    """Join 2-d tensors one under another (along axis 0), as Theano."""
    return _stack2d(args, 0, "vertical_stack")


class _NdGrid:
    """``mgrid[0:5, 0:3]`` / ``ogrid[...]``: index grids from slices (bounds may be symbolic)."""

    def __init__(self, sparse: bool) -> None:
        self.sparse = sparse

    def __getitem__(self, key: Any) -> list[Variable]:
        slices = key if isinstance(key, tuple) else (key,)
        for s in slices:
            if not isinstance(s, slice) or s.stop is None:
                raise ValueError("mgrid/ogrid: every index must be a slice with a stop, as mgrid[0:5, 0:3]")
        ranges = [arange(0 if s.start is None else s.start, s.stop, 1 if s.step is None else s.step) for s in slices]
        nd = len(ranges)
        shaped = [r.dimshuffle(*(["x"] * j + [0] + ["x"] * (nd - 1 - j))) for j, r in enumerate(ranges)]
        if self.sparse:
            return shaped
        full = [dim_of(r, 0) for r in ranges]
        return [alloc(s, *full) for s in shaped]

    def __repr__(self) -> str:
        return "ogrid" if self.sparse else "mgrid"


mgrid = _NdGrid(sparse=False)
ogrid = _NdGrid(sparse=True)


def addbroadcast(x: Any, *axes: int) -> Variable:
    """Mark ``axes`` of ``x`` as broadcastable: their size becomes statically 1.

    A statically known size other than 1 raises here; a symbolic size becomes 1 through a
    reshape, which fails at run time when the size is not 1 (Theano's run-time check).

    Parameters
    ----------
    x : tensor
    *axes : int

    Returns
    -------
    Variable
    """
    v = as_tensor_variable(x)
    picked = {_axis(a, v.ndim, "addbroadcast") for a in axes}
    dims = [dim_of(v, i) for i in range(v.ndim)]
    for a in sorted(picked):
        if isinstance(v.type.shape[a], int) and v.type.shape[a] != 1:
            raise ValueError(f"addbroadcast: axis {a} of {v.type.compact} has size {v.type.shape[a]}, not 1")
    if all(isinstance(v.type.shape[a], int) for a in picked):
        return v
    return reshape(v, [1 if i in picked else d for i, d in enumerate(dims)])


def unbroadcast(x: Any, *axes: int) -> Variable:
    """Theano's ``unbroadcast``: the identity in graphc, which has no broadcastable flags.

    An axis of static size 1 still broadcasts in graphc (numpy's rule); the axes are checked
    to be in range.
    """
    v = as_tensor_variable(x)
    for a in axes:
        _axis(a, v.ndim, "unbroadcast")
    return v


def patternbroadcast(x: Any, broadcastable: Sequence[bool]) -> Variable:
    """Theano's ``patternbroadcast``: :func:`addbroadcast` on the True axes, identity elsewhere."""
    v = as_tensor_variable(x)
    if len(broadcastable) != v.ndim:
        raise ValueError(f"patternbroadcast: pattern {tuple(broadcastable)} does not have {v.ndim} entries")
    return addbroadcast(v, *[i for i, b in enumerate(broadcastable) if b])


def flatnonzero(a: Any) -> Variable:
    """Indices of the non-zero elements of the flattened ``a``, as ``numpy.flatnonzero``.

    The number of results is known only at run time. Built from comparisons and a
    cumulative sum, so the work and memory are ``O(n * k)`` for ``n`` elements, ``k`` of
    them non-zero (``O(n^2)`` for the cumulative sum).

    Parameters
    ----------
    a : tensor

    Returns
    -------
    Variable
        An int64 vector.
    """
    from .elemwise import neq

    v = flatten(as_tensor_variable(a))
    hits = cast(neq(v, 0), "int64")
    from .extra_ops import cumsum

    seen = cumsum(hits)  # seen[i] = non-zeros among v[:i + 1]
    k = arange(_sum(hits), dtype="int64")
    # the index of the k-th non-zero (from 0) is the number of i with seen[i] <= k
    return _sum(cast(seen.dimshuffle("x", 0) <= k.dimshuffle(0, "x"), "int64"), axis=1)


def nonzero(a: Any, return_matrix: bool = False) -> Any:
    """The indices of the non-zero elements of ``a``, as Theano's ``nonzero``.

    Parameters
    ----------
    a : tensor
        At least 1-d.
    return_matrix : bool
        False: a tuple of ``a.ndim`` int64 vectors, one per axis (``numpy.nonzero``).
        True: one ``(a.ndim, k)`` int64 matrix with those vectors as rows.

    Returns
    -------
    tuple of Variable or Variable

    Notes
    -----
    Built on :func:`flatnonzero` (``O(n^2)`` memory in the number of elements).
    """
    v = as_tensor_variable(a)
    if v.ndim == 0:
        raise ValueError("nonzero: the input must have at least one dimension")
    flat = flatnonzero(v)
    from .elemwise import floor_div

    rows = []
    stride: Any = 1
    for ax in reversed(range(v.ndim)):
        d = dim_of(v, ax)
        rows.append(mod(floor_div(flat, stride), d) if ax else floor_div(flat, stride))
        stride = stride * d
    rows.reverse()
    if return_matrix:
        from .shape import stack

        return stack(rows, axis=0)
    return tuple(rows)


def nonzero_values(a: Any) -> Variable:
    """The non-zero elements of the flattened ``a``, in order (Theano's ``nonzero_values``)."""
    from .indexing import take

    return take(flatten(as_tensor_variable(a)), flatnonzero(a), axis=0)


def specify_shape(x: Any, shape: Any) -> Variable:
    """Theano's ``specify_shape``: ``x`` with the given sizes, statically known from here on.

    ``(specify_shape(x, (2, 3)) ** 2).shape`` is the constant ``[2, 3]``.  A size that
    contradicts a statically known one raises here.  At run time each specified axis is
    checked by a reshape to that size (keeping the other axes' sizes), which fails in
    ONNX Runtime when the size differs, as Theano's ``SpecifyShape`` assertion does; a
    tensor with no elements passes any check.

    Parameters
    ----------
    x : tensor
    shape : sequence of int (or None for an axis left as it is), or int symbolic scalars
        One entry per axis of ``x``.

    Returns
    -------
    Variable

    Raises
    ------
    ValueError
        When ``shape`` has the wrong length or contradicts a static size of ``x``.
    """
    v = as_tensor_variable(x)
    if isinstance(shape, Variable):
        if shape.ndim != 1 or not isinstance(shape.type.shape[0], int):
            raise ValueError(f"specify_shape: the shape {shape!r} must be a vector of static length")
        shape = [shape[i] for i in range(shape.type.shape[0])]
    entries = list(shape) if isinstance(shape, (list, tuple)) else [shape]
    if len(entries) != v.ndim:
        raise ValueError(f"specify_shape: shape {tuple(entries)} has {len(entries)} entries for a {v.ndim}-d tensor {v!r}")
    out = v
    for i, s in enumerate(entries):
        if s is None:
            continue
        known = v.type.shape[i]
        if isinstance(s, Variable):
            if s.ndim != 0 or s.dtype[:3] not in ("int", "uin"):
                raise TypeError(f"specify_shape: entry {i} must be an int scalar, got {s!r}")
            value = getattr(s, "value", None)  # a constant: its number
            if value is None:
                out = reshape(out, [s if j == i else dim_of(out, j) for j in range(v.ndim)])
                continue
            s = value
        size = int(s)
        if size < 0:
            raise ValueError(f"specify_shape: entry {i} is the negative size {size}")
        if isinstance(known, int):
            if known != size:
                raise ValueError(f"specify_shape: axis {i} of {v!r} has the static size {known}, not {size}")
            continue
        out = reshape(out, [size if j == i else dim_of(out, j) for j in range(v.ndim)])
    return out
