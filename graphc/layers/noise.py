"""Regularizing noise: dropout and additive Gaussian noise (Lasagne's ``layers.noise``).

Both are identities when :func:`~graphc.layers.get_output` gets
``deterministic=True``.  Each layer owns a :class:`~graphc.tensor.RandomStreams`
seeded from :func:`graphc.random.get_rng`, so seeding that generator before
building a network reproduces its masks; each ``get_output`` call samples once
per layer, so all outputs of one call share their masks.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import tensor as T
from ..config import config
from ..random import get_rng
from ..tensor.variable import Variable
from .base import Layer, format_layer
from .special import SEED_HIGH, resolve_axes, static_or_symbolic_shape

__all__ = [
    "DropoutLayer",
    "dropout",
    "dropout_channels",
    "spatial_dropout",
    "dropout_locations",
    "GaussianNoiseLayer",
]


def _number(layer: Any, value: Any, what: str) -> float | None:
    """``value`` as a float, or None for a symbolic scalar; ``TypeError`` for anything else."""
    if isinstance(value, Variable):
        if value.ndim != 0:
            raise ValueError(f"{format_layer(layer)}: {what} must be a scalar, got {value!r}")
        return None
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{format_layer(layer)}: {what} must be a number or a scalar expression, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{format_layer(layer)}: {what} must be a number or a scalar expression, got {value!r}") from None


class DropoutLayer(Layer):
    """Dropout: sets values to zero with probability ``p`` (inverted dropout).

    Parameters
    ----------
    incoming : Layer or tuple
    p : float or scalar expression
        Probability of dropping a value, in ``[0, 1)``.
    rescale : bool
        Divide the kept values by ``1 - p`` during training, so the expected
        output equals the input.
    shared_axes : int or tuple of int
        Axes over which one mask value is shared (broadcast): ``(0,)`` drops
        the same units for the whole batch, ``(2, 3)`` drops whole channels of
        2D feature maps.  Negative axes count from the end.

    Raises
    ------
    ValueError
        For ``p`` outside ``[0, 1)`` or axes the input does not have.

    Notes
    -----
    With ``deterministic=True`` (or ``p == 0``) the input passes unchanged.
    """

    def __init__(self, incoming: Any, p: Any = 0.5, rescale: bool = True, shared_axes: Any = (), **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        self._srng = T.RandomStreams(int(get_rng().randint(1, SEED_HIGH)))
        value = _number(self, p, "p")
        if value is not None and not 0.0 <= value < 1.0:
            raise ValueError(f"{format_layer(self)}: the dropout probability p must lie in [0, 1), got {p!r}")
        self.p = p
        self.rescale = rescale
        if isinstance(shared_axes, (int, np.integer)) and not isinstance(shared_axes, bool):
            shared_axes = (shared_axes,)
        resolve_axes(self, shared_axes, len(self.input_shape))
        self.shared_axes = tuple(shared_axes)

    def get_output_for(self, input: Any, deterministic: bool = False, **kwargs: Any) -> Variable:  # noqa: A002
        x = T.as_tensor_variable(input)
        if deterministic or (not isinstance(self.p, Variable) and self.p == 0):
            return x
        if isinstance(self.p, Variable):
            retain: Any = T.cast(1 - self.p, x.dtype if np.dtype(x.dtype).kind == "f" else config.floatX)
        else:
            retain = 1.0 - float(self.p)
        if self.rescale:
            x = x / retain
        shared = resolve_axes(self, self.shared_axes, x.ndim)
        mask = self._srng.binomial(static_or_symbolic_shape(x, shared), p=retain, dtype=x.dtype)
        return x * mask


dropout = DropoutLayer


def dropout_channels(incoming: Any, *args: Any, **kwargs: Any) -> DropoutLayer:
    """A :class:`DropoutLayer` dropping whole channels: the mask is shared over axes 2 and up.

    Other arguments go to :class:`DropoutLayer` (``shared_axes`` is set here).
    """
    ndim = len(getattr(incoming, "output_shape", incoming))
    kwargs["shared_axes"] = tuple(range(2, ndim))
    return DropoutLayer(incoming, *args, **kwargs)


spatial_dropout = dropout_channels


def dropout_locations(incoming: Any, *args: Any, **kwargs: Any) -> DropoutLayer:
    """A :class:`DropoutLayer` dropping whole locations (pixels, voxels) across all channels (axis 1 shared).

    Other arguments go to :class:`DropoutLayer` (``shared_axes`` is set here).
    """
    kwargs["shared_axes"] = (1,)
    return DropoutLayer(incoming, *args, **kwargs)


class GaussianNoiseLayer(Layer):
    """Adds zero-mean Gaussian noise of standard deviation ``sigma`` during training.

    Parameters
    ----------
    incoming : Layer or tuple
    sigma : float or scalar expression
        Standard deviation, non-negative.

    Raises
    ------
    ValueError
        For a negative ``sigma``.

    Notes
    -----
    With ``deterministic=True`` (or ``sigma == 0``) the input passes unchanged.
    """

    def __init__(self, incoming: Any, sigma: Any = 0.1, **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        self._srng = T.RandomStreams(int(get_rng().randint(1, SEED_HIGH)))
        value = _number(self, sigma, "sigma")
        if value is not None and not (np.isfinite(value) and value >= 0):
            raise ValueError(f"{format_layer(self)}: sigma must be a finite non-negative number, got {sigma!r}")
        self.sigma = sigma

    def get_output_for(self, input: Any, deterministic: bool = False, **kwargs: Any) -> Variable:  # noqa: A002
        x = T.as_tensor_variable(input)
        if deterministic or (not isinstance(self.sigma, Variable) and self.sigma == 0):
            return x
        dtype = x.dtype if np.dtype(x.dtype).kind == "f" else config.floatX
        sigma = self.sigma if isinstance(self.sigma, Variable) else float(self.sigma)
        return x + self._srng.normal(static_or_symbolic_shape(x), avg=0.0, std=sigma, dtype=dtype)
