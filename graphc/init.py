"""Parameter initializers (Lasagne's ``lasagne.init``).

Each initializer is a callable taking a shape and returning a ``config.floatX``
numpy array, drawing from :func:`graphc.random.get_rng`.  Shapes an
initializer cannot handle raise :class:`UnsupportedShapeError` naming the shape
(a ``ValueError``, and a ``RuntimeError`` as Lasagne raises).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from .random import get_rng
from .utils import floatX

__all__ = [
    "UnsupportedShapeError",
    "Initializer",
    "Normal",
    "Uniform",
    "Glorot",
    "GlorotNormal",
    "GlorotUniform",
    "He",
    "HeNormal",
    "HeUniform",
    "Constant",
    "Sparse",
    "Orthogonal",
]


class UnsupportedShapeError(ValueError, RuntimeError):
    """A shape an initializer cannot sample (Lasagne raises ``RuntimeError``; both catch it)."""


class Initializer:
    """Base class: ``init(shape)`` calls :meth:`sample`."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        sample = cls.__dict__.get("sample")
        if sample is not None and not getattr(sample, "_checks_shape", False):
            # every sample() (subclasses' and users' own) refuses a bad shape before numpy sees it
            @functools.wraps(sample)
            def checked(self: Initializer, shape: Any) -> np.ndarray:
                return sample(self, _checked_shape(self, shape))

            checked._checks_shape = True  # type: ignore[attr-defined]
            cls.sample = checked  # type: ignore[method-assign]

    def __call__(self, shape: Any) -> np.ndarray:
        return self.sample(tuple(shape))

    def sample(self, shape: tuple[int, ...]) -> np.ndarray:
        """An array of ``shape``; subclasses implement it."""
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({args})"


def _checked_shape(init: Initializer, shape: Any) -> tuple[int, ...]:
    """``shape`` as a tuple of non-negative ints, or an error naming the initializer and the shape."""
    try:
        shape = tuple(shape)
    except TypeError:
        raise TypeError(f"{type(init).__name__}.sample: shape must be a tuple of ints, got {shape!r}") from None
    for k, size in enumerate(shape):
        if not isinstance(size, (int, np.integer)) or isinstance(size, bool):
            raise TypeError(f"{type(init).__name__}.sample: shape {shape} has {size!r} at entry {k}; expected ints")
        if size < 0:
            raise ValueError(
                f"{type(init).__name__}.sample: shape {shape} has a negative size {size} at entry {k}; "
                "expected non-negative ints"
            )
    return shape


def _gain(gain: Any, owner: str = "init") -> float:
    if gain == "relu":
        return float(np.sqrt(2))
    if isinstance(gain, str):
        raise ValueError(f"{owner}: gain must be a number or 'relu', got {gain!r}")
    value = float(gain)
    if not np.isfinite(value):
        raise ValueError(f"{owner}: gain must be a finite number or 'relu', got {gain!r}")
    return value


class Normal(Initializer):
    """Samples from ``N(mean, std**2)``.

    Parameters
    ----------
    std : float
    mean : float
    """

    def __init__(self, std: float = 0.01, mean: float = 0.0) -> None:
        if not np.isfinite(std) or std < 0:
            raise ValueError(f"Normal: std must be a finite non-negative number, got {std!r}")
        self.std = std
        self.mean = mean

    def sample(self, shape: tuple[int, ...]) -> np.ndarray:
        return floatX(get_rng().normal(self.mean, self.std, size=shape))


class Uniform(Initializer):
    """Samples from a uniform distribution.

    Parameters
    ----------
    range : float or (float, float)
        ``U(-range, range)``, or ``U(low, high)`` for a pair.
    std : float, optional
        When given, ``U(mean - sqrt(3) std, mean + sqrt(3) std)`` instead.
    mean : float
    """

    def __init__(self, range: Any = 0.01, std: float | None = None, mean: float = 0.0) -> None:  # noqa: A002
        if std is not None:
            a, b = mean - np.sqrt(3) * std, mean + np.sqrt(3) * std
        else:
            try:
                a, b = range
            except TypeError:
                a, b = -range, range
        if not b >= a:
            raise ValueError(f"Uniform: need low <= high, got ({a}, {b})")
        self.range = (a, b)

    def sample(self, shape: tuple[int, ...]) -> np.ndarray:
        return floatX(get_rng().uniform(low=self.range[0], high=self.range[1], size=shape))


class Glorot(Initializer):
    """Glorot/Xavier scaling: ``std = gain * sqrt(2 / ((fan_in + fan_out) * receptive_field))``.

    Parameters
    ----------
    initializer : class
        :class:`Normal` or :class:`Uniform`, called with ``std=``.
    gain : float or 'relu'
        ``'relu'`` means ``sqrt(2)``.
    c01b : bool
        Shapes are ``(channels, rows, cols, batch)`` (cuda-convnet layout).
    """

    def __init__(self, initializer: Callable[..., Initializer], gain: Any = 1.0, c01b: bool = False) -> None:
        self.initializer = initializer
        self.gain = _gain(gain, type(self).__name__)
        self.c01b = c01b

    def sample(self, shape: tuple[int, ...]) -> np.ndarray:
        if self.c01b:
            if len(shape) != 4:
                raise UnsupportedShapeError(
                    f"{type(self).__name__}: if c01b is True, only shapes of length 4 are accepted, got {shape}"
                )
            n1, n2 = shape[0], shape[3]
            receptive = shape[1] * shape[2]
        else:
            if len(shape) < 2:
                raise UnsupportedShapeError(
                    f"{type(self).__name__}: this initializer only works with shapes of length >= 2, got {shape}"
                )
            n1, n2 = shape[:2]
            receptive = int(np.prod(shape[2:]))
        std = self.gain * np.sqrt(2.0 / ((n1 + n2) * receptive))
        return self.initializer(std=std).sample(shape)


class GlorotNormal(Glorot):
    """:class:`Glorot` with normal samples."""

    def __init__(self, gain: Any = 1.0, c01b: bool = False) -> None:
        super().__init__(Normal, gain, c01b)


class GlorotUniform(Glorot):
    """:class:`Glorot` with uniform samples (``U(-sqrt(3) std, sqrt(3) std)``)."""

    def __init__(self, gain: Any = 1.0, c01b: bool = False) -> None:
        super().__init__(Uniform, gain, c01b)


class He(Initializer):
    """He scaling: ``std = gain * sqrt(1 / fan_in)``.

    ``fan_in`` is ``shape[0]`` for 2-d shapes (dense ``W``) and
    ``prod(shape[1:])`` for convolution filters.
    """

    def __init__(self, initializer: Callable[..., Initializer], gain: Any = 1.0, c01b: bool = False) -> None:
        self.initializer = initializer
        self.gain = _gain(gain, type(self).__name__)
        self.c01b = c01b

    def sample(self, shape: tuple[int, ...]) -> np.ndarray:
        if self.c01b:
            if len(shape) != 4:
                raise UnsupportedShapeError(
                    f"{type(self).__name__}: if c01b is True, only shapes of length 4 are accepted, got {shape}"
                )
            fan_in = int(np.prod(shape[:3]))
        elif len(shape) == 2:
            fan_in = shape[0]
        elif len(shape) > 2:
            fan_in = int(np.prod(shape[1:]))
        else:
            raise UnsupportedShapeError(
                f"{type(self).__name__}: this initializer only works with shapes of length >= 2, got {shape}"
            )
        std = self.gain * np.sqrt(1.0 / fan_in)
        return self.initializer(std=std).sample(shape)


class HeNormal(He):
    """:class:`He` with normal samples."""

    def __init__(self, gain: Any = 1.0, c01b: bool = False) -> None:
        super().__init__(Normal, gain, c01b)


class HeUniform(He):
    """:class:`He` with uniform samples."""

    def __init__(self, gain: Any = 1.0, c01b: bool = False) -> None:
        super().__init__(Uniform, gain, c01b)


class Constant(Initializer):
    """Every entry equals ``val``."""

    def __init__(self, val: float = 0.0) -> None:
        self.val = val

    def sample(self, shape: tuple[int, ...]) -> np.ndarray:
        return floatX(np.ones(shape) * self.val)


class Sparse(Initializer):
    """A 2-d matrix with ``int(sparsity * rows)`` non-zero ``N(0, std**2)`` entries per column."""

    def __init__(self, sparsity: float = 0.1, std: float = 0.01) -> None:
        if not 0.0 <= sparsity <= 1.0:
            raise ValueError(f"Sparse: sparsity must lie in [0, 1], got {sparsity!r}")
        self.sparsity = sparsity
        self.std = std

    def sample(self, shape: tuple[int, ...]) -> np.ndarray:
        if len(shape) != 2:
            raise UnsupportedShapeError(f"Sparse: this initializer only works with shapes of length 2, got {shape}")
        w = floatX(np.zeros(shape))
        n_inputs, n_outputs = shape
        size = int(self.sparsity * n_inputs)
        rng = get_rng()
        for k in range(n_outputs):
            indices = np.arange(n_inputs)
            rng.shuffle(indices)
            w[indices[:size], k] = floatX(rng.normal(0.0, self.std, size=size))
        return w


class Orthogonal(Initializer):
    """An orthogonal matrix (rows or columns orthonormal) times ``gain``; higher-d shapes are
    orthogonal over ``(shape[0], prod(shape[1:]))``."""

    def __init__(self, gain: Any = 1.0) -> None:
        self.gain = _gain(gain, type(self).__name__)

    def sample(self, shape: tuple[int, ...]) -> np.ndarray:
        if len(shape) < 2:
            raise UnsupportedShapeError(f"Orthogonal: only shapes of length 2 or more are supported, got {shape}")
        flat_shape = (shape[0], int(np.prod(shape[1:])))
        a = get_rng().normal(0.0, 1.0, flat_shape)
        u, _, v = np.linalg.svd(a, full_matrices=False)
        q = u if u.shape == flat_shape else v
        return floatX(self.gain * q.reshape(shape))
