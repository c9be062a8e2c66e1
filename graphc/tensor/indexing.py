"""numpy-style indexing of symbolic tensors.

Supported: ints (negative count from the end), slices with any bounds and
steps (``x[::-1]``, ``x[:, -1]``), ``None``/``np.newaxis``, ``...``, symbolic
int scalars as indices or slice bounds, and one integer-array index (a list,
an int array or an int tensor), which gathers along its axis.  As in numpy,
the array's dims replace its axis when every int index is adjacent to it, and
come first otherwise (``x[0, :, idx]`` has shape ``(len(idx), x.shape[1])``).
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
        For too many indices, a static index out of bounds, or more than one
        integer-array index.
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
    if len(arrays) > 1:
        raise IndexError("only one integer-array index per indexing operation is supported")
    array_index = None
    if arrays:
        pos = arrays[0]
        array_index = items[pos]
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
    out = v if trivial else apply_op("getitem", [v, *dynamic], index=tuple(spec))
    if array_index is None:
        return out  # type: ignore[return-value]
    pos = arrays[0]
    axis = sum(1 for s in spec[:pos] if s[0] != "int")
    gathered = take(out, array_index, axis=axis)
    # numpy's rule: integer scalars count as advanced indices beside the array; when they are
    # not all adjacent to it (a slice or newaxis between), the array's dims go first
    advanced = sorted([pos] + [k for k, s in enumerate(spec) if s[0] == "int"])
    if advanced == list(range(advanced[0], advanced[-1] + 1)) or axis == 0:
        return gathered
    k = gathered.ndim - out.ndim + 1
    perm = list(range(axis, axis + k)) + list(range(axis)) + list(range(axis + k, gathered.ndim))
    return transpose(gathered, perm)


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
