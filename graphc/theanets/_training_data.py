"""Minibatches for theanets training: checked arrays or a callable (downhill's ``Dataset``).

A dataset is a list (or tuple) of arrays, one per placeholder of the network's
loss (:attr:`Network.variables`: the inputs, then the targets and weights), or
one array when the network needs one, or a callable that returns one batch per
call.  Arrays are checked once (count, dimensions, dtypes, lengths, class
labels) and converted to the placeholders' dtypes, so that a training step only
slices them.

Sparse data: a placeholder of an ``Input(sparse='csr'|'csc')`` layer takes
``scipy.sparse`` matrices (recognized by duck typing, ``tocsr`` and
``toarray``; scipy is not imported here) and refuses dense arrays, and the
other placeholders refuse sparse matrices (a :class:`TypeError` naming the
input).  A sparse matrix is kept as CSR (CSC and other formats are converted
once, so that rows slice cheaply); minibatches are sliced from it while still
sparse and only each minibatch is densified, when it is fed to the compiled
function.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from ..tensor.variable import Variable

__all__ = ["Batches", "DEFAULT_CALLABLE_BATCHES", "is_sparse", "feed_array"]

DEFAULT_CALLABLE_BATCHES = 100  # downhill's iteration size for a callable without len()


def is_sparse(x: Any) -> bool:
    """Whether ``x`` is a sparse matrix (duck typing: ``tocsr`` and ``toarray``, as scipy.sparse has)."""
    return not isinstance(x, (np.ndarray, Variable)) and hasattr(x, "tocsr") and hasattr(x, "toarray")


def _sparse_format(var: Variable) -> str | None:
    """``'csr'``/``'csc'`` for the placeholder of a sparse Input layer, else None."""
    return getattr(var.tag, "sparse", None)


def _describe(x: Any) -> str:
    fmt = getattr(x, "format", None)
    shape = getattr(x, "shape", None)
    if not is_sparse(x):
        kind = f"a dense {type(x).__name__}"
    else:
        kind = f"a sparse {fmt.upper()} matrix" if isinstance(fmt, str) else "a sparse matrix"
    return f"{kind} of shape {tuple(shape)}" if shape is not None else kind


def _check_kind(var: Variable, label: str, item: Any, where: str) -> bool:
    """True for a sparse ``item`` fed to a sparse placeholder; raise TypeError for a mismatch."""
    fmt = _sparse_format(var)
    if is_sparse(item):
        if not fmt:
            raise TypeError(
                f"{where}: {label!r} takes dense arrays, got {_describe(item)}; pass x.toarray(), or declare "
                "the input layer sparse (Input(size, sparse='csr') or a (size, 'csr') layer spec)"
            )
        return True
    if fmt:
        raise TypeError(
            f"{where}: {label!r} is a sparse ({fmt!r}) input and takes scipy.sparse matrices, got "
            f"{_describe(item)}; pass scipy.sparse.{fmt}_matrix(x), or declare the input dense"
        )
    return False


def _check_sparse(var: Variable, label: str, item: Any, where: str) -> Any:
    """Check a sparse matrix against its placeholder; the matrix as CSR (rows slice without densifying)."""
    shape = tuple(getattr(item, "shape", ()))
    if len(shape) != 2:
        raise ValueError(f"{where}: {label!r} must be a 2-D sparse matrix, got shape {shape}")
    size = var.type.shape[-1]
    if isinstance(size, int) and shape[1] != size:
        raise ValueError(f"{where}: {label!r} has shape {shape}; axis 1 must be {size}")
    dtype = np.dtype(getattr(item, "dtype", np.float64))
    if dtype.kind not in "biuf":
        raise TypeError(f"{where}: {label!r} has dtype {dtype}; expected numbers ({var.dtype})")
    return item.tocsr()


def _dense(block: Any, var: Variable) -> np.ndarray:
    """A sparse minibatch as a C-contiguous array of its placeholder's dtype (dense ones pass through)."""
    if not is_sparse(block):
        return block
    return np.ascontiguousarray(block.toarray(), dtype=np.dtype(var.dtype))


def _rows(a: Any) -> int:
    return int(a.shape[0]) if is_sparse(a) else len(a)


def feed_array(var: Variable, item: Any, where: str) -> Any:
    """Data for one placeholder of a forward pass (predict, feed_forward, score).

    A sparse matrix for a sparse input is checked and densified (the whole
    matrix: the outputs are dense anyway); a dense array for a dense input
    passes unchanged.  A mismatch raises :class:`TypeError` naming the input.
    """
    label = var.name or "input"
    if _check_kind(var, label, item, where):
        return _dense(_check_sparse(var, label, item, where), var)
    return item


def _as_list(data: Any) -> list[Any]:
    if isinstance(data, (list, tuple)):
        return list(data)
    return [data]


class Batches:
    """The minibatches of one dataset.

    Parameters
    ----------
    data : list of array_like, array_like or callable
        See the module docstring.
    variables : list of Variable
        The placeholders the batches feed, in order.
    name : str
        ``'train'`` or ``'valid'``, for messages.
    batch_size : int or None
        Examples per batch; None or 0 puts the whole dataset in one batch.
        Ignored for a callable.
    iteration_size : int, optional
        Batches per iteration (one call of :meth:`iteration`).  Default: every
        batch once (a full pass over the arrays); for a callable its ``len()``,
        else 100.
    rng : numpy.random.RandomState, optional
        Shuffles the order of the batches (runs of consecutive examples, as
        downhill's) at the start of every pass over the arrays; no shuffling
        when None.
    classes : dict, optional
        ``{id(variable): number of classes}`` for integer class-label
        placeholders, whose values are checked to lie in ``[-classes, classes)``
        (a negative label counts from the end, as Theano's indexing reads it).

    Raises
    ------
    ValueError
        For a wrong number of arrays, an array with the wrong number of
        dimensions, arrays of different lengths, an empty dataset, or class
        labels out of range.
    TypeError
        For an array that does not fit its placeholder's dtype (float class
        labels, for instance).
    """

    def __init__(
        self,
        data: Any,
        variables: Sequence[Variable],
        name: str,
        batch_size: int | None = 32,
        iteration_size: int | None = None,
        rng: np.random.RandomState | None = None,
        classes: dict[int, int] | None = None,
    ) -> None:
        self.name = name
        self._variables = list(variables)
        self._classes = classes or {}
        self._rng = rng
        self._callable: Callable[[], Any] | None = None
        self._arrays: list[Any] = []  # ndarrays, and CSR matrices for sparse inputs
        if callable(data) and not isinstance(data, np.ndarray):
            self._callable = data
            if iteration_size is None:
                try:
                    iteration_size = len(data)  # type: ignore[arg-type]
                except TypeError:
                    iteration_size = DEFAULT_CALLABLE_BATCHES
            self.num_examples = None
        else:
            self._arrays = self._check(data, f"{name} data")
            self.num_examples = _rows(self._arrays[0])
            if self.num_examples == 0:
                raise ValueError(f"{name} data: the arrays hold no examples")
            if batch_size is not None and batch_size < 0:
                raise ValueError(f"{name}: batch_size must be > 0, or None or 0 for the whole dataset, got {batch_size}")
            size = self.num_examples if not batch_size else int(batch_size)
            self._starts = list(range(0, self.num_examples, size))
            self._size = size
            if iteration_size is None:
                iteration_size = len(self._starts)
        if int(iteration_size) < 1:
            raise ValueError(f"{name}: the number of batches per iteration must be at least 1, got {iteration_size}")
        self.iteration_size = int(iteration_size)
        self._index = 0
        self._order: np.ndarray | None = None

    @property
    def batches_per_pass(self) -> int | None:
        """Batches in one pass over the arrays (None for a callable)."""
        return None if self._callable is not None else len(self._starts)

    def _check(self, data: Any, where: str) -> list[Any]:
        items = _as_list(data)
        names = [v.name or f"input {i}" for i, v in enumerate(self._variables)]
        if len(items) != len(self._variables):
            raise ValueError(f"{where}: expected {len(self._variables)} array(s), for {names}, got {len(items)}")
        arrays = []
        for var, label, item in zip(self._variables, names, items):
            arrays.append(self._convert(var, label, item, where))
        lengths = [_rows(a) for a in arrays]
        if len(set(lengths)) > 1:
            shown = ", ".join(f"{n}: {k}" for n, k in zip(names, lengths))
            raise ValueError(f"{where}: the arrays must hold the same number of examples, got {shown}")
        return arrays

    def _convert(self, var: Variable, label: str, item: Any, where: str) -> Any:
        if isinstance(item, Variable):
            raise TypeError(f"{where}: {label!r} got the symbolic {item!r}; pass a numeric array")
        if _check_kind(var, label, item, where):
            return _check_sparse(var, label, item, where)
        arr = np.asarray(item)
        target = np.dtype(var.dtype)
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"{where}: {label!r} has dtype {arr.dtype}; expected numbers ({target})")
        if target.kind in "iu" and arr.dtype.kind not in "iub":
            raise TypeError(
                f"{where}: {label!r} must hold integer class labels ({target}), got {arr.dtype}; "
                f"convert it with .astype('{target}')"
            )
        if arr.ndim != var.ndim:
            raise ValueError(f"{where}: {label!r} has {arr.ndim} dimension(s) (shape {arr.shape}); expected {var.ndim}")
        for axis, size in enumerate(var.type.shape):
            if isinstance(size, int) and arr.shape[axis] != size:
                raise ValueError(f"{where}: {label!r} has shape {arr.shape}; axis {axis} must be {size}")
        arr = np.ascontiguousarray(arr, dtype=target)
        classes = self._classes.get(id(var))
        if classes is not None and arr.size and (arr.min() < -classes or arr.max() >= classes):
            raise ValueError(
                f"{where}: {label!r} holds class labels from {arr.min()} to {arr.max()}; the network has "
                f"{classes} classes, so labels must lie in [0, {classes - 1}] (or [-{classes}, -1], counted "
                "from the end as numpy indexes)"
            )
        return arr

    def _next(self, shuffle: bool) -> list[np.ndarray]:
        if self._callable is not None:
            return self._densify(self._check(self._callable(), f"{self.name} batch"))
        if self._index == 0:
            self._order = self._batch_order() if shuffle and self._rng is not None else None
        start = self._starts[self._index]
        self._index = (self._index + 1) % len(self._starts)
        if self._order is None:
            return self._densify([a[start : start + self._size] for a in self._arrays])
        take = self._order[start : start + self._size]
        return self._densify([a[take] for a in self._arrays])

    def _batch_order(self) -> np.ndarray:
        """The examples of one shuffled pass: the batches in a random order, each batch's examples kept together.

        As downhill's ``Dataset``, a batch is always the same run of
        consecutive examples and only the order of the batches changes from
        pass to pass (so a batch statistic such as a weighted mean or an MMD is
        the same on training and validation batches).  A last, shorter batch
        stays last, so the order is a permutation of the examples whose
        batches start at the usual offsets.
        """
        size, n = self._size, self.num_examples
        full = n // size
        blocks = self._rng.permutation(full) if full > 1 else np.arange(full)
        order = (blocks[:, None] * size + np.arange(size)).reshape(-1)
        return np.concatenate([order, np.arange(full * size, n)]).astype(np.int64)

    def _densify(self, batch: list[Any]) -> list[np.ndarray]:
        """Only the minibatch is densified (sparse inputs stay sparse until here)."""
        return [_dense(b, v) for b, v in zip(batch, self._variables)]

    def iteration(self, shuffle: bool = True) -> Iterator[list[np.ndarray]]:
        """Yield :attr:`iteration_size` batches, continuing where the last iteration stopped.

        Parameters
        ----------
        shuffle : bool
            Take the batches in a new random order at the start of each pass
            over the arrays (when the dataset has an rng).

        Yields
        ------
        list of ndarray
            One array per placeholder.
        """
        for _ in range(self.iteration_size):
            yield self._next(shuffle)
