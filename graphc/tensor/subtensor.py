"""``set_subtensor`` and ``inc_subtensor``: the functional ``x[idx] = y`` and ``x[idx] += y`` (Theano's).

``x[idx]`` remembers the tensor it reads and the index (see
:mod:`graphc.tensor.indexing`), so these take the subtensor expression, as
Theano's do: ``T.set_subtensor(x[1:, [0, 2]], y)``.  Every index numpy's
indexing accepts works: ints, slices with any step, ``None``, ``...``, one or
several integer arrays (lists, arrays or int tensors).

How it is built, from existing ops (each with its gradient and lowering):

* basic indexing of a statically shaped tensor: ``y`` padded with zeros to
  the tensor's shape (getitem's own gradient: one ``Pad``), added, or chosen
  with ``where`` for ``set``;
* otherwise: the flat positions the index reads, computed per axis (a
  slice's range, an array's values) and summed with broadcasting in numpy's
  result layout (no table of the whole tensor), drive one scatter-add of
  ``y`` into zeros (``take_grad``: ONNX ``ScatterND`` with
  ``reduction='add'``), so repeated indices accumulate as ``numpy.add.at``
  does; axes after the last indexed one are scattered whole, as rows.

Both are differentiable in ``x`` and ``y`` (a scatter-add's gradient is a gather).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .basic import constant
from .variable import TensorConstant, Variable, apply_op

__all__ = ["set_subtensor", "inc_subtensor"]


def set_subtensor(x: Any, y: Any, inplace: bool = False, tolerate_inc_all_increments: bool = False) -> Variable:
    """The tensor ``x`` was read from, with the part ``x`` reads replaced by ``y`` (``x[idx] = y``).

    Parameters
    ----------
    x : Variable
        A subtensor expression ``t[idx]``.
    y : Variable or array_like
        The new values; broadcast to ``x``'s shape as numpy does.
    inplace, tolerate_inc_all_increments : bool
        See :func:`inc_subtensor`.

    Returns
    -------
    Variable
        Of ``t``'s type.

    Notes
    -----
    With repeated integer-array indices the last value written wins, as in
    numpy (Theano's GPU kernels left it unspecified).

    Examples
    --------
    >>> import numpy as np, graphc.tensor as T
    >>> x = T.constant(np.zeros((2, 3), 'float32'))
    >>> T.set_subtensor(x[:, [0, 2]], 1.0).eval()
    array([[1., 0., 1.],
           [1., 0., 1.]], dtype=float32)
    """
    return inc_subtensor(
        x, y, inplace=inplace, set_instead_of_inc=True, tolerate_inc_all_increments=tolerate_inc_all_increments
    )


def inc_subtensor(
    x: Any,
    y: Any,
    inplace: bool = False,
    set_instead_of_inc: bool = False,
    tolerate_inc_all_increments: bool = False,
) -> Variable:
    """The tensor ``x`` was read from, with ``y`` added to the part ``x`` reads (``x[idx] += y``).

    Parameters
    ----------
    x : Variable
        A subtensor expression ``t[idx]``.
    y : Variable or array_like
        The increment; broadcast to ``x``'s shape as numpy does, cast to ``t``'s dtype.
    inplace : bool
        Accepted for Theano compatibility: expressions are functional, and ONNX
        Runtime reuses buffers itself.
    set_instead_of_inc : bool
        Replace instead of add (:func:`set_subtensor`).
    tolerate_inc_all_increments : bool
        Accepted for Theano compatibility; it silenced Theano's warning about
        its pre-0.7 handling of repeated indices.  Repeated integer-array
        indices always accumulate here, as ``numpy.add.at`` does.

    Returns
    -------
    Variable
        Of ``t``'s type.

    Raises
    ------
    TypeError
        If ``x`` is not an indexing result (Theano's message: "x must be the
        result of a subtensor operation"), if ``y`` has more dims than ``x``,
        or if ``y``'s dtype cannot be cast to ``t``'s.
    ValueError
        If ``y``'s static shape does not broadcast to ``x``'s.
    """
    from .elemwise import switch

    record = getattr(x, "_subtensor", None) if isinstance(x, Variable) else None
    if record is None:
        raise TypeError(f"x must be the result of a subtensor operation (t[idx]), got {x!r}")
    base, index = record
    y = _as_value(y, base.dtype)
    if y.ndim > x.ndim:
        raise TypeError(f"Trying to increment a {x.ndim}-dimensional subtensor with a {y.ndim}-dimensional value.")
    for dx, dy in zip(x.type.shape[x.ndim - y.ndim :], y.type.shape):
        if isinstance(dx, int) and isinstance(dy, int) and dy not in (1, dx):
            raise ValueError(
                f"shape mismatch: value of shape {y.type.compact} cannot be broadcast to the subtensor {x.type.compact} of {base!r}"
            )
    items = _expanded(index, base.ndim)
    if not items:  # x[:], x[...]: the whole tensor
        whole = _broadcast(y, base)
        # set: x stays connected (a zero gradient), as in Theano
        return switch(constant(np.True_), whole, base) if set_instead_of_inc else base + whole
    yb = _broadcast(y, x)
    if x.owner is not None and x.owner.op == "getitem" and x.owner.inputs == (base,) and base.type.is_static:
        # static basic indexing: zeros around the part (one Pad, as getitem's gradient places it;
        # with symbolic sizes that builds concatenations whose own gradients lose static sizes)
        padded = _pad_to_base(x.owner, yb)
        if padded is not None:
            if not set_instead_of_inc:
                return base + padded
            from .shape import ones_like

            return switch(_pad_to_base(x.owner, ones_like(yb, dtype="float32")) > 0, padded, base)  # type: ignore[operator]
    m = sum(1 for e in items if e is not None)
    positions, rows = _prefix_positions(base, items, m)
    rest = base.ndim - m  # trailing axes kept whole: rows of them are scattered at once
    if set_instead_of_inc and any(_is_array(e) for e in items):
        keep = _last_occurrence(positions, yb.dtype)
        yb = yb * (keep.dimshuffle(*range(keep.ndim), *["x"] * rest) if rest else keep)
    from .shape import dim_of, reshape, shape_vector

    target = list(base.type.shape) if base.type.is_static else base.shape

    def scatter(values: Variable) -> Variable:
        shape = shape_vector([rows] + [dim_of(base, k) for k in range(m, base.ndim)])
        return reshape(apply_op("take_grad", [values, positions, shape], axis=0), target)  # type: ignore[arg-type]

    if not set_instead_of_inc:
        return base + scatter(yb)
    from .shape import ones_like

    return switch(scatter(ones_like(yb, dtype="float32")) > 0, scatter(yb), base)


def _broadcast(y: Variable, like: Variable) -> Variable:
    """``y`` broadcast to ``like``'s shape."""
    if like.type.is_static and y.type.shape == like.type.shape:
        return y
    target = list(like.type.shape) if like.type.is_static else like.shape
    from .shape import shape_vector

    return apply_op("expand", [y, shape_vector(target)])  # type: ignore[return-value]


def _expanded(index: Any, ndim: int) -> list[Any]:
    """The index with ``...`` expanded and the trailing whole-axis slices dropped."""
    items = list(index) if isinstance(index, tuple) else [index]
    consumed = sum(1 for e in items if e is not None and e is not Ellipsis)
    if any(e is Ellipsis for e in items):
        at = next(i for i, e in enumerate(items) if e is Ellipsis)
        items[at : at + 1] = [slice(None)] * (ndim - consumed)

    def whole(e: Any) -> bool:
        return isinstance(e, slice) and e.start is None and e.stop is None and e.step in (None, 1)

    while items and whole(items[-1]):
        items.pop()
    return items


def _pad_to_base(node: Any, g: Variable) -> Variable | None:
    """``g`` (of the subtensor's shape) placed in zeros of the tensor's shape; None for slice steps other than ±1."""
    from ..train.rules.index import _getitem  # the same placement as getitem's gradient

    try:
        return _getitem(node, [g])[0]  # type: ignore[no-any-return]
    except NotImplementedError:
        return None


def _prefix_positions(base: Variable, items: list[Any], m: int) -> tuple[Variable, Any]:
    """Flat positions, in the first ``m`` axes of ``base``, that ``items`` reads; and the count of such positions."""
    from .indexing import _index_array
    from .reduction import prod
    from .shape import dim_of

    dims = [dim_of(base, k) for k in range(m)]
    static = all(isinstance(d, int) for d in dims)
    rows: Any = int(np.prod(dims, dtype=np.int64)) if static else prod(base.shape[:m])
    if static and not _has_variables(items):
        return constant(np.arange(rows, dtype=np.int64).reshape(dims)[tuple(items)]), rows
    # position = sum over axes of coordinate * stride: each entry's coordinates (a slice's range, an
    # array's values, an int) placed on its axes of numpy's result layout, size 1 elsewhere, and added
    # (broadcasting): no grid of the tensor, no table of an axis' size
    where, block_at, block_ndim, out_ndim = _layout(items)
    total: Variable | None = None
    k = 0
    for j, e in enumerate(items):
        if e is None:
            continue
        stride: Any = 1
        for d in dims[k + 1 :]:
            stride = stride * d
        if isinstance(e, slice):
            pattern: list[Any] = ["x"] * out_ndim
            pattern[where[j]] = 0
            term = (_slice_coords(e, dims[k]) * stride).dimshuffle(*pattern)
        else:
            term = _index_array(e, dims[k], k) * stride
            if term.ndim:
                pattern = ["x"] * out_ndim
                for t in range(term.ndim):
                    pattern[block_at + block_ndim - term.ndim + t] = t
                term = term.dimshuffle(*pattern)
        total = term if total is None else total + term
        k += 1
    assert total is not None
    if total.ndim < out_ndim:  # ints only, beside newaxis entries
        total = total.dimshuffle(*(["x"] * out_ndim))
    return total, rows


def _layout(items: list[Any]) -> tuple[dict[int, int], int, int, int]:
    """numpy's result layout of an index: the output axis of each slice/newaxis entry, where the
    broadcast dims of the advanced entries (arrays, and ints beside them) start, their count, and the rank."""
    arrays = [e for e in items if _is_array(e)]
    block_ndim = max((e.ndim if isinstance(e, Variable) else np.ndim(e)) for e in arrays) if arrays else 0
    advanced = [j for j, e in enumerate(items) if arrays and e is not None and not isinstance(e, slice)]
    adjacent = advanced == list(range(advanced[0], advanced[-1] + 1)) if advanced else True
    where: dict[int, int] = {}
    out = 0 if adjacent else block_ndim
    block_at = 0
    for j, e in enumerate(items):
        if e is None or isinstance(e, slice):
            where[j] = out
            out += 1
        elif advanced and j == advanced[0] and adjacent:
            block_at = out
            out += block_ndim
    return where, block_at, block_ndim, out


def _slice_coords(e: slice, d: Any) -> Variable:
    """The coordinates a slice reads on an axis of size ``d`` (int or symbolic), as an int64 vector."""
    from ..train.rules.index import _norm, _norm_reverse
    from .elemwise import maximum
    from .shape import arange

    step = 1 if e.step is None else int(e.step)
    if isinstance(d, int) and not isinstance(e.start, Variable) and not isinstance(e.stop, Variable):
        return constant(np.arange(d, dtype=np.int64)[e])
    if step > 0:
        first, end = _norm(e.start, d, 0), _norm(e.stop, d, d)
        span = end - first
    else:
        first, end = _norm_reverse(e.start, d, d - 1), _norm_reverse(e.stop, d, -1)
        span = first - end
    count = maximum((span + abs(step) - 1) // abs(step), 0)
    return first + step * arange(count, dtype="int64")  # type: ignore[no-any-return]


def _is_array(e: Any) -> bool:
    if isinstance(e, Variable):
        return e.ndim > 0
    return isinstance(e, (list, np.ndarray))


def _as_value(y: Any, dtype: str) -> Variable:
    """``y`` as a tensor of ``dtype`` (Python numbers and arrays are converted, tensors cast same-kind)."""
    from .elemwise import cast

    if not isinstance(y, Variable):
        arr = np.asarray(y)
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"inc_subtensor: the value {y!r} is not numeric")
        converted = arr.astype(dtype)
        if arr.dtype.kind == "f" and np.dtype(dtype).kind in "iub" and not np.array_equal(converted, arr):
            raise TypeError(f"inc_subtensor: the value {y!r} cannot be cast to {dtype} without loss")
        return constant(converted)
    if y.dtype == dtype:
        return y
    if not np.can_cast(np.dtype(y.dtype), np.dtype(dtype), "same_kind"):
        raise TypeError(f"inc_subtensor: a value of dtype {y.dtype} cannot be written into a tensor of dtype {dtype}")
    return cast(y, dtype)


def _has_variables(index: list[Any]) -> bool:
    for e in index:
        parts = (e.start, e.stop, e.step) if isinstance(e, slice) else (e,)
        if any(isinstance(p, Variable) for p in parts):
            return True
    return False


def _last_occurrence(positions: Variable, dtype: str) -> Variable:
    """1 where an element is the last to write its position, else 0 (numpy's ``x[idx] = y`` keeps the last)."""
    from .elemwise import cast, eq, lt
    from .reduction import any as any_
    from .shape import arange, reshape

    if isinstance(positions, TensorConstant):
        flat = positions.value.ravel()
        keep = np.zeros(flat.size, dtype=dtype)
        _, last_rev = np.unique(flat[::-1], return_index=True)
        keep[flat.size - 1 - last_rev] = 1
        return constant(keep.reshape(positions.value.shape))
    flat = reshape(positions, [-1])
    k = arange(flat.shape[0], dtype="int64")
    overwritten = any_(eq(flat[:, None], flat[None, :]) & lt(k[:, None], k[None, :]), axis=1)
    return reshape(1 - cast(overwritten, dtype), positions.shape)


# Theano's op classes of theano.tensor.subtensor, as graph introspection finds them on node.op
from .theano_ops import (  # noqa: E402
    AdvancedIncSubtensor,
    AdvancedIncSubtensor1,
    AdvancedSubtensor,
    AdvancedSubtensor1,
    Subtensor,
)

__all__ += ["Subtensor", "AdvancedSubtensor1", "AdvancedSubtensor", "AdvancedIncSubtensor1", "AdvancedIncSubtensor"]
