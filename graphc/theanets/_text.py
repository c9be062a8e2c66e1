"""Sequence data helpers of ``theanets.recurrent``: random windows (:func:`batches`) and :class:`Text`.

Both return callables that give one training batch per call, the form
:meth:`Network.train` accepts for a dataset (batch-first, ``(batch, time, ...)``).
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = ["batches", "Text"]


def _rng(rng: Any) -> np.random.RandomState:
    if rng is None or (isinstance(rng, (int, np.integer)) and not isinstance(rng, bool)):
        return np.random.RandomState(None if rng is None else int(rng))
    if isinstance(rng, np.random.RandomState):
        return rng
    raise TypeError(f"rng must be None, an int seed or a numpy RandomState, got {rng!r}")


def _sizes(steps: Any, batch_size: Any) -> tuple[int, int]:
    for name, value, low in (("steps", steps, 1), ("batch_size", batch_size, 2)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(steps), int(batch_size)


def batches(
    arrays: Sequence[Any], steps: int = 100, batch_size: int = 64, rng: Any = None
) -> Callable[[], list[np.ndarray]]:
    """A callable that samples random windows of ``steps`` time steps from time-major arrays.

    Parameters
    ----------
    arrays : list or tuple of ndarray
        Arrays of the same length (their first axis is time: ``(T, n)``
        features, or ``(T,)`` labels).
    steps : int
        Time steps per window (default 100).
    batch_size : int
        Windows per call (default 64; at least 2, as upstream asserts).
    rng : int or numpy.random.RandomState, optional
        Where the window starts come from.

    Returns
    -------
    callable
        Each call returns a list with one array per input array, of shape
        ``(batch_size, steps) + a.shape[1:]`` and ``a``'s dtype; all arrays'
        windows start at the same random times (any start from 0 to
        ``T - steps``).

    Raises
    ------
    ValueError
        For arrays that are not a list/tuple, of different lengths or shorter
        than ``steps``, or bad sizes.
    """
    steps, batch_size = _sizes(steps, batch_size)
    if not isinstance(arrays, (list, tuple)) or not arrays:
        raise ValueError(f"arrays must be a non-empty list or tuple of arrays, got {type(arrays).__name__}")
    arrays = [np.asarray(a) for a in arrays]
    lengths = {len(a) for a in arrays}
    if len(lengths) != 1:
        raise ValueError(f"batches: the arrays must have the same length (time steps), got {[len(a) for a in arrays]}")
    length = lengths.pop()
    if length < steps:
        raise ValueError(f"batches: the arrays have {length} time steps, fewer than steps={steps}")
    gen = _rng(rng)

    def sample() -> list[np.ndarray]:
        starts = gen.randint(length - steps + 1, size=batch_size)
        idx = starts[:, None] + np.arange(steps)
        return [a[idx] for a in arrays]

    return sample


class Text:
    """A text as a sequence of character classes, for recurrent classifiers.

    Parameters
    ----------
    text : str
    alpha : str, optional
        The characters to keep; by default those occurring at least
        ``min_count`` times (sorted).  Class 0 is the unknown character, class
        ``i`` the ``i``-th character of ``alpha``.
    min_count : int
        See ``alpha`` (default 2).
    unknown : str
        The character that replaces those not in ``alpha`` (default ``'\\0'``).

    Attributes
    ----------
    text : str
        The text with every character outside ``alpha`` replaced by ``unknown``.
    alpha : str

    Raises
    ------
    ValueError
        If ``unknown`` is not one character or is in ``alpha``.
    """

    def __init__(self, text: str, alpha: str | None = None, min_count: int = 2, unknown: str = "\0") -> None:
        if not isinstance(unknown, str) or len(unknown) != 1:
            raise ValueError(f"unknown must be a single character, got {unknown!r}")
        if alpha is None:
            counts = collections.Counter(text)
            alpha = "".join(sorted(c for c, n in counts.items() if n >= min_count and c != unknown))
        if unknown in alpha:
            raise ValueError(f"the unknown character {unknown!r} may not be in alpha {alpha!r}")
        self.alpha = alpha
        self.unknown = unknown
        keep = set(alpha)
        self.text = "".join(c if c in keep else unknown for c in text)
        self._rev_index = unknown + alpha
        self._fwd_index = {c: i for i, c in enumerate(self._rev_index)}

    def encode(self, txt: str) -> list[int]:
        """The class of every character of ``txt`` (0 for one outside :attr:`alpha`)."""
        return [self._fwd_index.get(c, 0) for c in txt]

    def decode(self, enc: Sequence[int]) -> str:
        """The characters of class indices (0 gives the unknown character)."""
        return "".join(self._rev_index[int(c)] for c in enc)

    def classifier_batches(self, steps: int, batch_size: int, rng: Any = None) -> Callable[[], list[np.ndarray]]:
        """A callable giving ``[inputs, labels]`` batches of random windows of the text.

        Parameters
        ----------
        steps : int
            Characters per window.
        batch_size : int
            Windows per batch (at least 2).
        rng : int or numpy.random.RandomState, optional

        Returns
        -------
        callable
            Each call returns ``inputs``, float32 ``(batch_size, steps,
            1 + len(alpha))``, the one-hot classes of ``steps`` characters, and
            ``labels``, int32 ``(batch_size, steps)``, the class of the
            character after each of them.

        Raises
        ------
        ValueError
            If the text has no more than ``steps`` characters.
        """
        steps, batch_size = _sizes(steps, batch_size)
        if len(self.text) <= steps:
            raise ValueError(f"classifier_batches: the text has {len(self.text)} characters; steps={steps} needs more")
        gen = _rng(rng)
        encoded = np.asarray(self.encode(self.text), dtype=np.int64)
        width = 1 + len(self.alpha)

        def batch() -> list[np.ndarray]:
            starts = gen.randint(len(encoded) - steps, size=batch_size)
            idx = starts[:, None] + np.arange(steps + 1)
            enc = encoded[idx]
            inputs = np.zeros((batch_size, steps, width), dtype="float32")
            b, t = np.meshgrid(np.arange(batch_size), np.arange(steps), indexing="ij")
            inputs[b, t, enc[:, :-1]] = 1
            return [inputs, enc[:, 1:].astype("int32")]

        return batch
