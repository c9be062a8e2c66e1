"""theanets' ``util``: initial values (``random_matrix``, ``random_vector``), name matching
(``params_matching``, ``outputs_matching``), :class:`ConfigurationError`, :func:`log`, and
the inputs dict handed to :meth:`graphc.theanets.Layer.transform`.

This module imports no other part of :mod:`graphc.theanets` (the layers, the
regularizers and the networks all import it).
"""

from __future__ import annotations

import datetime
import fnmatch
import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from ..config import config
from ..tensor.variable import Variable

__all__ = [
    "ConfigurationError",
    "LayerInputs",
    "random_matrix",
    "random_vector",
    "params_matching",
    "outputs_matching",
    "log",
]


class ConfigurationError(ValueError):
    """A network or layer is configured wrongly (theanets' ``util.ConfigurationError``).

    The same class as ``theanets.layers.base.ConfigurationError`` and
    ``theanets.ConfigurationError``.  It derives from ``ValueError`` (upstream's
    derives from ``Exception`` only), so ``except ValueError`` also catches it.
    """


def _rng(rng: Any, what: str) -> np.random.RandomState:
    """``rng`` as a RandomState: None gives a fresh one, an int seeds one (as upstream)."""
    if rng is None:
        return np.random.RandomState()
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.RandomState(int(rng))
    if isinstance(rng, (np.random.RandomState, np.random.Generator)) or hasattr(rng, "randn"):
        return rng
    raise TypeError(f"{what}: rng must be an int seed or a numpy RandomState, got {type(rng).__name__}")


def _patterns(patterns: Any, what: str) -> tuple[str, ...]:
    if isinstance(patterns, str):
        return (patterns,)
    if isinstance(patterns, (tuple, list)) and all(isinstance(p, str) for p in patterns):
        return tuple(patterns)
    raise TypeError(f"{what}: a pattern must be a string or a tuple of strings, got {patterns!r}")


def params_matching(layers: Sequence[Any], patterns: Any) -> Iterator[tuple[str, Any]]:
    """``(name, parameter)`` for each parameter of ``layers`` whose name matches a pattern.

    Parameters
    ----------
    layers : sequence of Layer
    patterns : str or sequence of str
        Shell-style globs (``fnmatch``, case-sensitive) over full parameter
        names such as ``'hid1.w'``; a parameter matching any of them is yielded once.
    """
    pats = _patterns(patterns, "params_matching")
    for layer in layers:
        for param in layer.params:
            if any(fnmatch.fnmatchcase(param.name, p) for p in pats):
                yield param.name, param


def outputs_matching(outputs: Mapping[str, Any], patterns: Any) -> Iterator[tuple[str, Any]]:
    """``(name, expression)`` for each graph output whose name (``'hid1:out'``) matches a pattern.

    Parameters
    ----------
    outputs : dict
        ``'<layer>:<output>'`` -> expression (the first value of ``Network.build_graph()``).
    patterns : str or sequence of str
        Shell-style globs (``fnmatch``, case-sensitive).
    """
    pats = _patterns(patterns, "outputs_matching")
    for name, expr in list(outputs.items()):
        if any(fnmatch.fnmatchcase(name, p) for p in pats):
            yield name, expr


def log(msg: str, *args: Any, **kwargs: Any) -> None:
    """Print a timestamped message to stderr, as theanets' ``log`` (``theanets.log('epoch {}', 3)``).

    Parameters
    ----------
    msg : str
        Formatted with ``str.format(*args, **kwargs)`` when arguments are given.
    *args, **kwargs
        The format's arguments.
    """
    text = msg.format(*args, **kwargs) if args or kwargs else msg
    now = datetime.datetime.now().strftime("%Y%m%d %H:%M:%S")
    print(f"I {now} {text}", file=sys.stderr, flush=True)


def random_matrix(
    rows: int,
    cols: int,
    mean: float = 0.0,
    std: float = 1.0,
    sparsity: float = 0.0,
    radius: float = 0.0,
    diagonal: float = 0.0,
    rng: np.random.RandomState | int | None = None,
) -> np.ndarray:
    """A ``(rows, cols)`` matrix of ``N(mean, std)`` values, as theanets initializes weights.

    Parameters
    ----------
    rows, cols : int
    mean, std : float
    sparsity : float in [0, 1)
        Fraction of entries set to zero (the leading square diagonal is kept).
    radius : float
        When positive, rescale so that the largest singular value is ``radius``.
    diagonal : float
        When nonzero, return zeros with this value on the diagonal instead.
    rng : numpy.random.RandomState or int, optional
        A generator, or a seed for a new one (as upstream).

    Returns
    -------
    numpy.ndarray of ``config.floatX``
    """
    rng = _rng(rng, "random_matrix")
    arr = mean + std * rng.randn(rows, cols)
    if 1 > sparsity > 0:
        k = min(rows, cols)
        mask = rng.binomial(n=1, p=1 - sparsity, size=(rows, cols)).astype(bool)
        mask[:k, :k] |= np.eye(k, dtype=bool)
        arr *= mask
    if radius > 0:
        u, s, vt = np.linalg.svd(arr, full_matrices=False)
        arr = np.dot(np.dot(u, np.diag(radius * s / abs(s[0]))), vt)  # as upstream, for the same roundoff
    if diagonal != 0:
        arr = diagonal * np.eye(max(rows, cols))[:rows, :cols]
    return arr.astype(config.floatX)


def random_vector(
    size: int, mean: float = 0.0, std: float = 1.0, rng: np.random.RandomState | int | None = None
) -> np.ndarray:
    """A vector of ``N(mean, std)`` values, as theanets initializes biases.

    ``rng`` is a RandomState or an int seed for a new one (as upstream).
    """
    rng = _rng(rng, "random_vector")
    return (mean + std * rng.randn(size)).astype(config.floatX)


class LayerInputs(dict):  # type: ignore[type-arg]
    """The inputs handed to :meth:`Layer.transform`: a dict of ``'<layer>:<output>'`` -> expression.

    For a layer with one input it also behaves as that input's expression:
    ``TT.dot(inputs, w)``, ``inputs + 1``, ``inputs.shape`` and ``inputs[:, 0]``
    all work on it, as the theanets documentation's custom layer example expects.
    """

    __array_priority__ = 2000

    def __init__(self, values: Mapping[str, Any], primary: str | None = None, owner: str = "layer") -> None:
        super().__init__(values)
        self._primary = primary
        self._owner = owner

    def __graphc_variable__(self) -> Variable:
        if self._primary is None or self._primary not in self:
            raise TypeError(
                f"layer {self._owner!r} has several inputs; index the inputs dict by name "
                f"({', '.join(sorted(self))}) instead of using it as one expression"
            )
        return dict.__getitem__(self, self._primary)

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return dict.__getitem__(self, key)
        return self.__graphc_variable__()[key]

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("_"):
            raise AttributeError(attr)
        return getattr(self.__graphc_variable__(), attr)

    def _v(self) -> Variable:
        return self.__graphc_variable__()

    def __add__(self, o: Any) -> Variable:
        return self._v() + o

    def __radd__(self, o: Any) -> Variable:
        return o + self._v()

    def __sub__(self, o: Any) -> Variable:
        return self._v() - o

    def __rsub__(self, o: Any) -> Variable:
        return o - self._v()

    def __mul__(self, o: Any) -> Variable:
        return self._v() * o

    def __rmul__(self, o: Any) -> Variable:
        return o * self._v()

    def __truediv__(self, o: Any) -> Variable:
        return self._v() / o

    def __rtruediv__(self, o: Any) -> Variable:
        return o / self._v()

    def __pow__(self, o: Any) -> Variable:
        return self._v() ** o

    def __neg__(self) -> Variable:
        return -self._v()

    def __abs__(self) -> Variable:
        return abs(self._v())

    def __matmul__(self, o: Any) -> Variable:
        return self._v() @ o
