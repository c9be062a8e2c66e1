"""numpy-style indexing of symbolic tensors.

Supported: ints (negative count from the end), slices with any bounds and
steps (``x[::-1]``, ``x[:, -1]``), ``None``/``np.newaxis``, ``...``, symbolic
int scalars as indices or slice bounds, and integer-array indices (lists, int
arrays or int tensors).  One array gathers along its axis; several arrays
broadcast together and pick elements, as numpy's advanced indexing does
(``T.log(p)[T.arange(y.shape[0]), y]``, the tutorial's negative
log-likelihood): the indexed axes flatten into one, read by a single gather at
the combined flat positions.  As in numpy, the broadcast index dims replace
the indexed axes when every advanced index (arrays and ints) is adjacent, and
come first otherwise (``x[0, :, idx]`` has shape ``(len(idx), x.shape[1])``).

Each result remembers ``(x, index)`` in ``_subtensor``, so that
:func:`graphc.tensor.subtensor.set_subtensor` and ``inc_subtensor`` find the
tensor and the positions to write (Theano walks the graph back the same way).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .basic import as_tensor_variable, constant
from .shape import transpose
from .variable import TensorConstant, Variable, apply_op

__all__ = ["getitem", "take"]


def _bound(v: Any, dynamic: list[Variable], what: str) -> Any:
    if v is None:
        return None
    if isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)):
        return int(v)
    if isinstance(v, Variable):
        if v.ndim != 0 or np.dtype(v.dtype).kind not in "iu":
            raise TypeError(f"{what} must be an int or an int scalar, got {v!r}")
        if isinstance(v.sym_value, int):
            return v.sym_value
        from .elemwise import cast

        dynamic.append(cast(v, "int64"))
        return ("in", len(dynamic))
    raise TypeError(f"{what} must be an int, None or an int scalar, got {v!r}")


def _is_array_index(e: Any) -> bool:
    if isinstance(e, Variable):
        return e.ndim > 0
    return isinstance(e, (list, np.ndarray))


def getitem(x: Any, index: Any) -> Variable:
    """``x[index]`` with numpy semantics.

    Raises
    ------
    IndexError
        For too many indices, a static index out of bounds, or integer arrays
        whose shapes do not broadcast together.
    TypeError
        For boolean-mask or float indices.
    """
    v = as_tensor_variable(x)
    items = list(index) if isinstance(index, tuple) else [index]
    n_ellipsis = sum(1 for e in items if e is Ellipsis)
    if n_ellipsis > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    consumed = sum(1 for e in items if e is not None and e is not Ellipsis)
    if consumed > v.ndim:
        raise IndexError(f"too many indices for {v!r}: {consumed} given, {v.ndim} dims")
    if n_ellipsis:
        at = next(i for i, e in enumerate(items) if e is Ellipsis)
        items[at : at + 1] = [slice(None)] * (v.ndim - consumed)

    arrays = [i for i, e in enumerate(items) if _is_array_index(e)]
    array_indices = [items[pos] for pos in arrays]
    for pos in arrays:
        items[pos] = slice(None)

    dynamic: list[Variable] = []
    spec: list[tuple[Any, ...]] = []
    for e in items:
        if e is None:
            spec.append(("newaxis",))
        elif isinstance(e, slice):
            step = 1 if e.step is None else e.step
            if isinstance(step, Variable) or not isinstance(step, (int, np.integer)) or step == 0:
                raise ValueError(f"slice step must be a non-zero int, got {e.step!r}")
            spec.append(("slice", _bound(e.start, dynamic, "slice start"), _bound(e.stop, dynamic, "slice stop"), int(step)))
        elif isinstance(e, (bool, np.bool_)):
            raise TypeError("boolean indices are not supported; use T.switch or an int index")
        elif isinstance(e, (float, np.floating)):
            raise TypeError(f"index {e!r} is a float; indices must be ints")
        else:
            spec.append(("int", _bound(e, dynamic, "index")))
    trivial = all(s[0] == "slice" and s[1:] == (None, None, 1) for s in spec)
    if trivial and not arrays and v.sym_value is not None:
        return v  # a known shape vector stays known (x.shape[:])
    if trivial and not arrays:
        # x[:] is x, but set_subtensor(x[:], y) needs a result that remembers x: an identity
        # transpose (canonicalize removes it)
        out = apply_op("transpose", [v], perm=tuple(range(v.ndim)))
    else:
        out = v if trivial else apply_op("getitem", [v, *dynamic], index=tuple(spec))
    if arrays:
        out = _advanced(out, spec, arrays, array_indices)  # type: ignore[arg-type]
    out._subtensor = (v, index)  # type: ignore[union-attr]
    return out  # type: ignore[return-value]


def _advanced(out: Variable, spec: list[tuple[Any, ...]], arrays: list[int], array_indices: list[Any]) -> Variable:
    """Apply the integer-array indices to ``out`` (its basic part applied, the array axes kept whole)."""
    axes = [sum(1 for s in spec[:pos] if s[0] != "int") for pos in arrays]
    if len(arrays) == 1:
        gathered = take(out, array_indices[0], axis=axes[0])
    else:
        gathered = _gather_points(out, axes, array_indices)
    k = gathered.ndim - out.ndim + len(arrays)  # the broadcast index dims
    # numpy's rule: integer scalars count as advanced indices beside the arrays; when they are
    # not all adjacent (a slice or newaxis between), the index dims go first
    advanced = sorted(arrays + [j for j, s in enumerate(spec) if s[0] == "int"])
    adjacent = advanced == list(range(advanced[0], advanced[-1] + 1))
    first = axes[0]
    if len(arrays) == 1:  # take left the index dims at `first`
        if adjacent or first == 0:
            return gathered
        perm = list(range(first, first + k)) + list(range(first)) + list(range(first + k, gathered.ndim))
        return transpose(gathered, perm)
    if not adjacent or first == 0:  # _gather_points put them first
        return gathered
    perm = list(range(k, k + first)) + list(range(k)) + list(range(k + first, gathered.ndim))
    return transpose(gathered, perm)


def _index_array(e: Any, size: Any, axis: int) -> Variable:
    """An int64 index tensor, negative positions counted from the end of an axis of ``size``."""
    from .elemwise import cast, lt, switch

    if isinstance(e, Variable):
        if e.dtype not in ("int32", "int64"):
            raise TypeError(f"array indices must be int32 or int64, got {e!r}")
        i = cast(e, "int64") if e.dtype != "int64" else e
        return switch(lt(i, 0), i + size, i)
    arr = np.asarray(e)
    if isinstance(e, list) and arr.size == 0:
        arr = arr.astype(np.int64)
    if arr.dtype.kind == "b":
        raise TypeError("boolean-mask indices are not supported; use T.switch or integer indices")
    if arr.dtype.kind not in "iu":
        raise TypeError(f"array indices must be integers, got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    if isinstance(size, int):
        if arr.size and (arr.max() >= size or arr.min() < -size):
            bad = int(arr.max()) if arr.max() >= size else int(arr.min())
            raise IndexError(f"index {bad} is out of bounds for axis {axis} of size {size}")
        return constant(np.where(arr < 0, arr + size, arr))
    c = constant(arr)
    return switch(lt(c, 0), c + size, c) if arr.size and arr.min() < 0 else c


def _gather_points(out: Variable, axes: list[int], array_indices: list[Any]) -> Variable:
    """``out`` indexed by integer arrays on consecutive ``axes``, the broadcast index dims first.

    The indexed axes move to the front and flatten into one, read by one gather at the
    flat positions ``(i0 * d1 + i1) * d2 + i2 ...`` (its gradient is one scatter-add).
    """
    from .shape import dim_of, reshape

    dims = [dim_of(out, a) for a in axes]
    idx = [_index_array(e, d, a) for e, d, a in zip(array_indices, dims, axes)]
    static = [tuple(d if isinstance(d, int) else 1 for d in i.type.shape) for i in idx]
    try:
        np.broadcast_shapes(*static)
    except ValueError:
        shapes = " ".join(str(i.type.shape) for i in idx)
        raise IndexError(f"shape mismatch: indexing arrays could not be broadcast together with shapes {shapes}") from None
    flat = idx[0]
    for i, d in zip(idx[1:], dims[1:]):
        flat = flat * d + i
    rest = [a for a in range(out.ndim) if a not in axes]
    moved = transpose(out, axes + rest) if axes != list(range(len(axes))) else out
    merged = reshape(moved, [-1] + [dim_of(out, a) for a in rest])
    return take(merged, flat, axis=0)


def take(x: Any, indices: Any, axis: int = 0) -> Variable:
    """Gather whole slices of ``x`` along ``axis`` at integer ``indices``.

    Raises
    ------
    IndexError
        When constant indices fall outside a statically known axis size.
    TypeError
        For boolean or float indices.
    """
    v = as_tensor_variable(x)
    if isinstance(indices, Variable):
        idx = indices
    else:
        arr = np.asarray(indices)
        if isinstance(indices, list) and arr.size == 0:
            arr = arr.astype(np.int64)  # numpy reads x[[]] as an empty int index
        if arr.dtype.kind == "b":
            raise TypeError("boolean-mask indices are not supported; use T.switch or integer indices")
        if arr.dtype.kind not in "iu":
            raise TypeError(f"array indices must be integers, got dtype {arr.dtype}")
        idx = constant(arr.astype(np.int64))
    if idx.dtype not in ("int32", "int64"):
        if idx.dtype == "bool":
            raise TypeError("boolean-mask indices are not supported; use T.switch or integer indices")
        raise TypeError(f"array indices must be int32 or int64, got {idx.dtype}")
    if not -v.ndim <= axis < v.ndim:
        raise ValueError(f"take: axis {axis} is out of range for {v!r}")
    size = v.type.shape[axis]
    if isinstance(idx, TensorConstant) and isinstance(size, int) and idx.value.size:
        lo, hi = int(idx.value.min()), int(idx.value.max())
        bad = hi if hi >= size else lo if lo < -size else None
        if bad is not None:
            raise IndexError(f"index {bad} is out of bounds for axis {axis % v.ndim} of size {size} in {v!r}")
    return apply_op("take", [v, idx], axis=axis % v.ndim)  # type: ignore[return-value]
