"""The random number generator that initializers and layers draw from (Lasagne's ``lasagne.random``)."""

from __future__ import annotations

import numpy as np

__all__ = ["get_rng", "set_rng"]

_rng: np.random.RandomState = np.random.RandomState()


def get_rng() -> np.random.RandomState:
    """The generator used by :mod:`graphc.init` and by stochastic layers for their seeds."""
    return _rng


def set_rng(new_rng: np.random.RandomState | np.random.Generator | int) -> None:
    """Replace the generator (an int seeds a new ``RandomState``).

    Raises
    ------
    TypeError
        If ``new_rng`` is neither an int nor a numpy generator.
    """
    global _rng
    if isinstance(new_rng, (int, np.integer)) and not isinstance(new_rng, bool):
        _rng = np.random.RandomState(int(new_rng))
    elif isinstance(new_rng, np.random.RandomState):
        _rng = new_rng
    elif isinstance(new_rng, np.random.Generator):
        _rng = _GeneratorAdapter(new_rng)  # type: ignore[assignment]
    else:
        raise TypeError(f"set_rng() needs a numpy RandomState, Generator or an int seed, got {type(new_rng).__name__}")


class _GeneratorAdapter:
    """Gives a ``numpy.random.Generator`` the ``RandomState`` methods initializers call."""

    def __init__(self, gen: np.random.Generator) -> None:
        self._gen = gen

    def uniform(self, low: float = 0.0, high: float = 1.0, size: object = None) -> np.ndarray:
        return self._gen.uniform(low, high, size)

    def normal(self, loc: float = 0.0, scale: float = 1.0, size: object = None) -> np.ndarray:
        return self._gen.normal(loc, scale, size)

    def randint(self, low: int, high: int | None = None, size: object = None) -> np.ndarray:
        return self._gen.integers(low, high, size)

    def permutation(self, x: object) -> np.ndarray:
        return self._gen.permutation(x)

    def shuffle(self, x: np.ndarray) -> None:
        self._gen.shuffle(x)

    def binomial(self, n: int, p: float, size: object = None) -> np.ndarray:
        return self._gen.binomial(n, p, size)
