"""A rank's share of a batch: contiguous slices, as equal as the batch allows.

A batch of ``n`` rows split over ``size`` ranks gives each rank ``n // size``
rows, and the first ``n % size`` ranks one row more (numpy's
``array_split`` rule), so the shards cover the batch exactly once, in order:
rank 0 holds the first rows.  With ``n`` divisible by ``size``, averaging the
ranks' per-shard mean gradients (``dist.mean``) gives the whole batch's mean
gradient exactly; with uneven shards it weights the smaller shards' rows a
little more (divide each rank's summed cost by the whole batch's row count and
reduce with ``dist.sum`` for the exact whole-batch mean).
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any

from .communicator import rank as _rank
from .communicator import size as _size

__all__ = ["shard", "shard_bounds"]


def _int_arg(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    return int(value)


def _rank_and_size(rank: Any, size: Any, comm: Any) -> tuple[int, int]:
    n_ranks = _size(comm) if size is None else _int_arg(size, "size")
    if n_ranks < 1:
        raise ValueError(f"size must be at least 1, got {n_ranks}")
    r = _rank(comm) if rank is None else _int_arg(rank, "rank")
    if not 0 <= r < n_ranks:
        raise ValueError(f"rank must be from 0 to {n_ranks - 1} (size {n_ranks}), got {r}")
    return r, n_ranks


def shard_bounds(n: int, rank: int | None = None, size: int | None = None, comm: Any | None = None) -> tuple[int, int]:
    """The ``[start, stop)`` rows of a batch of ``n`` rows that ``rank`` holds.

    Parameters
    ----------
    n : int
        The batch's number of rows.
    rank, size : int, optional
        The rank and the number of ranks; by default this process's
        (:func:`graphc.distributed.rank`, :func:`graphc.distributed.size`).
    comm : mpi4py.MPI.Comm, optional
        The communicator the defaults come from.

    Returns
    -------
    tuple of int
        ``(start, stop)``; empty (``start == stop``) for the last ranks when
        ``n < size``.

    Raises
    ------
    ValueError
        If ``n`` is negative or ``rank`` is not in ``[0, size)``.
    """
    n = _int_arg(n, "n")
    if n < 0:
        raise ValueError(f"n must be a non-negative number of rows, got {n}")
    r, n_ranks = _rank_and_size(rank, size, comm)
    base, extra = divmod(n, n_ranks)
    start = r * base + min(r, extra)
    return start, start + base + (1 if r < extra else 0)


def _rows(x: Any, axis: int, what: str) -> int:
    shape = getattr(x, "shape", None)
    if shape is not None:
        if not -len(shape) <= axis < len(shape):
            raise ValueError(f"shard: {what} has shape {tuple(shape)}, which has no axis {axis}")
        return int(shape[axis])
    if axis != 0:
        raise TypeError(f"shard: {what} is a {type(x).__name__} without a shape; only axis 0 of a sequence can be sharded")
    try:
        return len(x)
    except TypeError:
        raise TypeError(f"shard: {what} is a {type(x).__name__}, expected an array or a sequence of rows") from None


def _take(x: Any, start: int, stop: int, axis: int) -> Any:
    if getattr(x, "shape", None) is not None:
        index = [slice(None)] * len(x.shape)
        index[axis] = slice(start, stop)
        return x[tuple(index)]
    return x[start:stop]


def shard(
    array_or_batch: Any,
    rank: int | None = None,
    size: int | None = None,
    *,
    axis: int = 0,
    comm: Any | None = None,
) -> Any:
    """This rank's contiguous slice of a batch.

    Parameters
    ----------
    array_or_batch : array, or list, tuple or dict of arrays
        One array, or a batch of arrays with the same number of rows (inputs
        and targets, as theanets' ``[x, y]``); each is sliced alike.
    rank, size : int, optional
        The rank and the number of ranks; by default this process's.
    axis : int
        The axis of the rows (1 for time-major sequences ``(time, batch, ...)``).
    comm : mpi4py.MPI.Comm, optional
        The communicator the defaults come from.

    Returns
    -------
    array, or list, tuple or dict of arrays
        Views of the rank's rows (rows ``shard_bounds(n, rank, size)``), in a
        container of the input's kind (all rows in a job of size 1).  A list
        or tuple whose first item has a ``shape`` is a batch of arrays; any
        other sequence is sliced as one sequence of rows.

    Raises
    ------
    ValueError
        If the arrays of a batch differ in their number of rows, or the batch
        has fewer rows than there are ranks (some rank would get no rows, and a
        mean over none is NaN on every rank after the all-reduce).
    TypeError
        If an item is neither an array nor a sequence.
    """
    axis = _int_arg(axis, "axis")
    r, n_ranks = _rank_and_size(rank, size, comm)
    if isinstance(array_or_batch, Mapping):
        keys = list(array_or_batch)
        items = [array_or_batch[k] for k in keys]
        labels = [f"batch[{k!r}]" for k in keys]
    elif isinstance(array_or_batch, (list, tuple)) and array_or_batch and getattr(array_or_batch[0], "shape", None) is not None:
        items = list(array_or_batch)
        labels = [f"batch[{i}]" for i in range(len(items))]
    else:
        items, labels = [array_or_batch], ["the array"]
    counts = [_rows(x, axis, what) for x, what in zip(items, labels)]
    if len(set(counts)) > 1:
        listed = ", ".join(f"{what}: {n}" for what, n in zip(labels, counts))
        raise ValueError(f"shard: the arrays of a batch must have the same number of rows on axis {axis}; got {listed}")
    n = counts[0]
    if n < n_ranks:
        raise ValueError(f"shard: a batch of {n} rows cannot give each of {n_ranks} ranks a row")
    start, stop = shard_bounds(n, r, n_ranks)
    parts = [_take(x, start, stop, axis) for x in items]
    if isinstance(array_or_batch, Mapping):
        return dict(zip(keys, parts))
    if len(labels) == 1 and labels[0] == "the array":
        return parts[0]
    return tuple(parts) if isinstance(array_or_batch, tuple) else parts
