"""Discrete samplers of :class:`~graphc.tensor.random.RandomStreams`.

Theano's ``random_integers``, ``multinomial``, ``permutation`` and ``choice``,
built from the stream's uniform samples (ONNX ``RandomUniformLike``) and
ordinary graphc ops, so they need no op of their own, export to plain ONNX and
run in any ONNX Runtime:

- integers and categorical draws by the inverse CDF (``u >= cumsum(p)``);
- permutations as the ranks of i.i.d. uniform keys (ties broken by index),
  which are uniformly distributed permutations. Ranks compare every key with
  every other, so a permutation of ``n`` costs ``O(n**2)`` memory and time:
  fine for the sizes Theano programs shuffle inside a graph (thousands);
- sampling without replacement by the Efraimidis-Spirakis keys
  ``log(u) / p`` (uniform keys when ``p`` is None): the items with the
  largest keys, in key order, are a weighted sample without replacement.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..config import config
from ..ir.types import as_dtype
from .basic import as_tensor_variable, constant
from .elemwise import and_, cast, eq, floor, ge, gt, log, lt, minimum, or_, true_div
from .extra_ops import cumsum
from .reduction import sum as t_sum
from .shape import arange, concatenate, reshape, shape_vector
from .variable import Variable

if TYPE_CHECKING:
    from .random import RandomStreams

__all__ = ["random_integers", "multinomial", "permutation", "choice"]


def _with_dims(size: Any, extra: tuple[Any, ...]) -> Any:
    """``size`` (tuple, int or shape vector) with ``extra`` dims appended."""
    if isinstance(size, Variable):
        return concatenate([shape_vector(size, what="random size"), shape_vector(extra, what="random size")])
    if isinstance(size, (int, np.integer)):
        size = (size,)
    if not isinstance(size, (list, tuple)):
        raise TypeError(f"random size: expected a sequence of sizes, got {type(size).__name__}")
    return tuple(size) + tuple(extra)


def _size_len(size: Any) -> int:
    if isinstance(size, Variable):
        return int(shape_vector(size, what="random size").type.shape[0])
    return 1 if isinstance(size, (int, np.integer)) else len(size)


def _check_ndim(size: Any, ndim: int | None, extra: int = 0) -> None:
    if ndim is not None and _size_len(size) + extra != ndim:
        raise ValueError(f"random size {size!r} gives {_size_len(size) + extra} dims but ndim={ndim}")


def _int_arg(name: str, v: Any, minimum_: int = 0) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < minimum_:
        raise ValueError(f"{name} must be an int >= {minimum_}, got {v!r}")
    return int(v)


def random_integers(
    rs: RandomStreams, size: Any = None, low: Any = 0, high: Any = 1, ndim: int | None = None, dtype: Any = "int64"
) -> Variable:
    """Integers drawn uniformly from ``[low, high]`` (``high`` included, as Theano)."""
    dt = as_dtype(dtype)
    if not isinstance(low, Variable) and not isinstance(high, Variable) and int(high) < int(low):
        raise ValueError(f"random_integers: need low <= high, got low={low!r}, high={high!r}")
    lo, hi = as_tensor_variable(low), as_tensor_variable(high)
    u = rs.uniform(size, 0.0, 1.0, ndim, dtype="float64")
    span = cast(hi, "float64") - cast(lo, "float64") + 1.0
    r = floor(u * span) + cast(lo, "float64")
    return cast(minimum(r, cast(hi, "float64")), dt)  # u * span may round up to span


def _probabilities(pvals: Any, what: str) -> Variable:
    if isinstance(pvals, Variable):
        pv = pvals
        if np.dtype(pv.dtype).kind != "f":
            pv = cast(pv, config.floatX)
    else:
        arr = np.asarray(pvals, dtype=np.float64)
        if arr.ndim < 1 or arr.shape[-1] < 1:
            raise ValueError(f"{what}: pvals/p needs at least one category, got shape {arr.shape}")
        if not np.all(np.isfinite(arr)) or (arr < 0).any() or (arr.sum(axis=-1) > 1 + 1e-6).any():
            raise ValueError(f"{what}: probabilities must be finite, >= 0 and sum to at most 1, got {pvals!r}")
        pv = constant(arr.astype(config.floatX))
    if pv.ndim < 1:
        raise ValueError(f"{what}: pvals/p must have at least one dimension (the categories), got a scalar")
    return pv


def _categories(rs: RandomStreams, shape: Any, pv: Variable) -> Variable:
    """Category indices of shape ``shape`` drawn from ``pv`` (categories on its last axis).

    ``pv``'s leading axes broadcast against the trailing entries of ``shape``.
    """
    r = pv.ndim
    u = rs.uniform(_with_dims(shape, (1,)), 0.0, 1.0, dtype=pv.dtype)
    inner = cumsum(pv, axis=r - 1)[(slice(None),) * (r - 1) + (slice(None, -1),)]
    thresholds = inner.dimshuffle(*range(r - 1), "x", r - 1)
    # with fewer categories than 2 nothing is compared: every draw is category 0
    return t_sum(cast(ge(u, thresholds), "int64"), axis=-1)


def multinomial(
    rs: RandomStreams, size: Any = None, n: int = 1, pvals: Any = None, ndim: int | None = None, dtype: Any = "int64"
) -> Variable:
    """Counts of ``n`` draws among the categories of ``pvals`` (shape ``size + pvals.shape[-1:]``).

    ``size`` None takes ``pvals.shape[:-1]`` (so a matrix of probabilities, e.g. a
    softmax output, gives one one-hot row per row when ``n=1``, as
    ``MRG_RandomStreams.multinomial``). ``pvals`` None is Theano's ``[0.5, 0.5]``.
    """
    n = _int_arg("multinomial: n", n)
    pv = _probabilities([0.5, 0.5] if pvals is None else pvals, "multinomial")
    if size is None:
        size = tuple(pv.shape[i] for i in range(pv.ndim - 1))
    _check_ndim(size, ndim, extra=1)
    k = pv.shape[pv.ndim - 1]
    idx = _categories(rs, _with_dims(size, (n,)), pv)  # size + (n,)
    hits = eq(idx.dimshuffle(*range(idx.ndim), "x"), arange(k, dtype="int64"))  # size + (n, K)
    return cast(t_sum(cast(hits, "int64"), axis=-2), as_dtype(dtype))


def _ranks(keys: Variable, descending: bool = False) -> Variable:
    """The rank of every key along the last axis (0 = smallest, or largest if ``descending``)."""
    r = keys.ndim
    lead = tuple(range(r - 1))
    ki = keys.dimshuffle(*lead, r - 1, "x")
    kj = keys.dimshuffle(*lead, "x", r - 1)
    n = keys.shape[r - 1]
    i = arange(n, dtype="int64").dimshuffle(0, "x")
    j = arange(n, dtype="int64").dimshuffle("x", 0)
    before = gt(kj, ki) if descending else lt(kj, ki)
    before = or_(before, and_(eq(kj, ki), lt(j, i)))
    return t_sum(cast(before, "int64"), axis=-1)


def permutation(
    rs: RandomStreams, size: Any = None, n: int = 1, ndim: int | None = None, dtype: Any = "int64"
) -> Variable:
    """Random permutations of ``range(n)``, one per entry of ``size`` (shape ``size + (n,)``)."""
    n = _int_arg("permutation: n", n)
    if size is None:
        size = ()
    _check_ndim(size, ndim, extra=1)
    keys = rs.uniform(_with_dims(size, (n,)), 0.0, 1.0, dtype="float64")
    return cast(_ranks(keys), as_dtype(dtype))


def choice(
    rs: RandomStreams,
    size: Any = None,
    a: Any = 2,
    replace: bool = True,
    p: Any = None,
    ndim: int | None = None,
    dtype: Any = "int64",
) -> Variable:
    """Samples of shape ``size`` from ``range(a)`` (``a`` an int) or from the 1-d array ``a``.

    ``p`` weights the entries; ``replace=False`` draws distinct entries, which
    needs ``prod(size) <= len(a)``. The output has ``dtype``, as in Theano.
    """
    if size is None:
        size = ()
    _check_ndim(size, ndim)
    dt = as_dtype(dtype)
    values: Variable | None = None
    if isinstance(a, (int, np.integer)) and not isinstance(a, bool):
        k: Any = _int_arg("choice: a", a, 1)
    else:
        values = as_tensor_variable(a)
        if values.ndim != 1:
            raise ValueError(f"choice: a must be a positive int or a 1-d array, got {values.ndim} dims")
        k = values.shape[0]
    pv = None if p is None else _probabilities(p, "choice")
    if pv is not None and pv.ndim != 1:
        raise ValueError("choice: p must be 1-d")
    if replace:
        if pv is None:
            idx = random_integers(rs, size, 0, k - 1)
        else:
            idx = _categories(rs, size, pv)
    else:
        m = _static_count(size)
        if m is not None and isinstance(k, int) and m > k:
            raise ValueError(f"choice: cannot take {m} distinct samples from {k} entries (replace=False)")
        keys_shape = (k,)
        u = rs.uniform(keys_shape, 0.0, 1.0, dtype="float64")
        keys = u if pv is None else true_div(log(u), cast(pv, "float64"))
        rank = _ranks(keys, descending=True)  # position of each entry in the sample order
        count = m if m is not None else _symbolic_count(size)
        pos = eq(rank.dimshuffle(0, "x"), arange(count, dtype="int64").dimshuffle("x", 0))  # (K, m)
        items = t_sum(cast(pos, "int64") * arange(k, dtype="int64").dimshuffle(0, "x"), axis=0)
        idx = reshape(items, size if not isinstance(size, (int, np.integer)) else (size,))
    out = idx if values is None else values[idx]
    return cast(out, dt)


def _static_count(size: Any) -> int | None:
    if isinstance(size, (int, np.integer)):
        return int(size)
    if isinstance(size, (list, tuple)) and all(isinstance(d, (int, np.integer)) for d in size):
        return int(np.prod(size, dtype=np.int64))
    return None


def _symbolic_count(size: Any) -> Variable:
    vec = shape_vector(size, what="random size")
    from .reduction import prod

    return prod(vec)
