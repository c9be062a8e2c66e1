"""Random streams (Theano's ``RandomStreams`` and ``MRG_RandomStreams``).

Every sampling call creates an op with its own seed drawn from the stream, so
two calls give independent samples; each compiled function draws fresh
samples on every call, and a stream seeded the same way builds the same
samples in a new function.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..config import config
from ..ir.types import as_dtype
from . import random_discrete
from .basic import as_tensor_variable
from .elemwise import cast, lt
from .shape import shape_vector
from .variable import Variable, apply_op

__all__ = ["RandomStreams", "MRG_RandomStreams"]


class RandomStreams:
    """A source of symbolic random samples.

    Parameters
    ----------
    seed : int, optional
        Seeds the per-op seeds; None draws one from the OS.
    """

    def __init__(self, seed: int | None = None) -> None:
        self.seed(seed)

    def seed(self, seed: int | None = None) -> None:
        """Restart the sequence of op seeds."""
        if seed is not None and (not isinstance(seed, (int, np.integer)) or seed < 0):
            raise ValueError(f"RandomStreams seed must be a non-negative int or None, got {seed!r}")
        self._rng = np.random.default_rng(seed)

    def _next_seed(self) -> int:
        return int(self._rng.integers(0, 2**31 - 1))

    def _size(self, size: Any, ndim: int | None) -> Variable:
        if size is None:
            raise ValueError("random sampling needs a size (a tuple of ints/int scalars, or a shape vector)")
        vec = shape_vector(size, what="random size")
        if ndim is not None and vec.type.shape[0] != ndim:
            raise ValueError(f"random size {size!r} has {vec.type.shape[0]} entries but ndim={ndim}")
        return vec

    def uniform(self, size: Any = None, low: float = 0.0, high: float = 1.0, ndim: int | None = None, dtype: Any = None) -> Variable:
        """Samples from ``U[low, high)``; ``low``/``high`` may be tensors that broadcast."""
        dt = as_dtype(dtype or config.floatX)
        vec = self._size(size, ndim)
        if isinstance(low, Variable) or isinstance(high, Variable):
            u = apply_op("random_uniform", [vec], dtype=dt, seed=self._next_seed(), low=0.0, high=1.0)
            return cast(as_tensor_variable(low) + u * (as_tensor_variable(high) - low), dt)
        if not np.isfinite(low) or not np.isfinite(high) or high < low:
            raise ValueError(f"uniform: need finite low <= high, got low={low!r}, high={high!r}")
        return apply_op("random_uniform", [vec], dtype=dt, seed=self._next_seed(), low=float(low), high=float(high))  # type: ignore[return-value]

    def normal(self, size: Any = None, avg: float = 0.0, std: float = 1.0, ndim: int | None = None, dtype: Any = None) -> Variable:
        """Samples from ``N(avg, std**2)``; ``avg``/``std`` may be tensors that broadcast."""
        dt = as_dtype(dtype or config.floatX)
        vec = self._size(size, ndim)
        if isinstance(avg, Variable) or isinstance(std, Variable):
            z = apply_op("random_normal", [vec], dtype=dt, seed=self._next_seed(), mean=0.0, scale=1.0)
            return cast(as_tensor_variable(avg) + z * std, dt)
        if not np.isfinite(avg) or not np.isfinite(std) or std < 0:
            raise ValueError(f"normal: need finite avg and std >= 0, got avg={avg!r}, std={std!r}")
        return apply_op("random_normal", [vec], dtype=dt, seed=self._next_seed(), mean=float(avg), scale=float(std))  # type: ignore[return-value]

    def binomial(self, size: Any = None, n: int = 1, p: Any = 0.5, ndim: int | None = None, dtype: Any = "int64") -> Variable:
        """Samples from ``Binomial(n, p)`` (``n=1``: Bernoulli); ``p`` may be a tensor."""
        if not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"binomial: n must be a non-negative int, got {n!r}")
        if not isinstance(p, Variable) and not 0.0 <= float(p) <= 1.0:
            raise ValueError(f"binomial: p must lie in [0, 1], got {p!r}")
        dt = as_dtype(dtype)
        total: Any = None
        for _ in range(max(int(n), 1)):
            draw = cast(lt(self.uniform(size, 0.0, 1.0, ndim, dtype=config.floatX), p), dt)
            total = draw if total is None else total + draw
        if n == 0:
            total = total * 0
        return total  # type: ignore[return-value]

    def random_integers(self, size: Any = None, low: Any = 0, high: Any = 1, ndim: int | None = None, dtype: Any = "int64") -> Variable:
        """Integers drawn uniformly from ``[low, high]``, ``high`` included (Theano's ``random_integers``)."""
        return random_discrete.random_integers(self, size, low, high, ndim, dtype)

    def multinomial(
        self, size: Any = None, n: int = 1, pvals: Any = None, ndim: int | None = None, dtype: Any = "int64", nstreams: Any = None
    ) -> Variable:
        """Counts of ``n`` categorical draws from ``pvals``; shape ``size + pvals.shape[-1:]``.

        ``size`` None takes ``pvals.shape[:-1]``; ``pvals`` None is ``[0.5, 0.5]``;
        ``nstreams`` (``MRG_RandomStreams``) is accepted and has no effect.
        See :func:`graphc.tensor.random_discrete.multinomial`.
        """
        return random_discrete.multinomial(self, size, n, pvals, ndim, dtype)

    def permutation(self, size: Any = None, n: int = 1, ndim: int | None = None, dtype: Any = "int64") -> Variable:
        """Random permutations of ``range(n)``, shape ``size + (n,)`` (``O(n**2)`` work per permutation)."""
        return random_discrete.permutation(self, size, n, ndim, dtype)

    def choice(self, size: Any = None, a: Any = 2, replace: bool = True, p: Any = None, ndim: int | None = None, dtype: Any = "int64") -> Variable:
        """Samples of shape ``size`` from ``range(a)`` or the 1-d array ``a``, weighted by ``p``."""
        return random_discrete.choice(self, size, a, replace, p, ndim, dtype)


MRG_RandomStreams = RandomStreams
