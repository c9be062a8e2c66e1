"""Regularizing noise: dropout, alpha dropout and additive Gaussian noise (Lasagne's ``layers.noise``).

All are identities when :func:`~graphc.layers.get_output` gets
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
from ..nonlinearities import SELU
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
    "AlphaDropoutLayer",
    "alpha_dropout",
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


class AlphaDropoutLayer(DropoutLayer):
    """Alpha dropout for self-normalizing (SELU) networks: dropped values are set to ``alpha``, then mapped affinely.

    During training each value is kept with probability ``q = 1 - p`` and
    otherwise replaced by ``alpha`` (SELU's negative saturation value); the
    result ``y`` is mapped to ``a * y + b`` with
    ``a = (q + alpha**2 * q * p) ** -0.5`` and ``b = -a * p * alpha``
    (Klambauer et al., 2017, "Self-Normalizing Neural Networks", eq. 14).
    Without ``rescale`` this is the paper's transform exactly: dropped values
    become ``a * alpha + b``, kept ones ``a * x + b``, and an input of zero
    mean and unit variance keeps both.

    Parameters
    ----------
    incoming : Layer or tuple
    p : float or scalar expression
        Probability of dropping a value, in ``[0, 1)``.
    rescale : bool
        As in upstream Lasagne, divide the input by ``q`` before masking, as
        :class:`DropoutLayer` does; kept values then become ``a * x / q + b``.
        This keeps a zero mean at zero but raises a unit variance to
        ``(1/q + alpha**2 * p * q) / (q + alpha**2 * p * q)`` (about 1.18 at
        ``p = 0.1``); pass ``rescale=False`` for exact self-normalization.
    shared_axes : int or tuple of int
        Axes over which one mask value is shared, as for :class:`DropoutLayer`.
    alpha : float, scalar expression or :class:`~graphc.nonlinearities.SELU`
        The value dropped units take; a SELU nonlinearity stands for its
        saturation value ``-scale * scale_neg``.  The default is that of
        :data:`~graphc.nonlinearities.selu`.

    Raises
    ------
    ValueError
        For ``p`` outside ``[0, 1)`` or axes the input does not have.
    TypeError
        For a ``p`` or an ``alpha`` that is neither a number nor a scalar expression
        (nor a SELU, for ``alpha``).

    Notes
    -----
    With ``deterministic=True`` (or ``p == 0``) the input passes unchanged.
    Integer inputs are computed in ``floatX`` and cast back to the input dtype,
    as upstream's tests expect (the values are then truncated).
    """

    def __init__(
        self,
        incoming: Any,
        p: Any = 0.1,
        rescale: bool = True,
        shared_axes: Any = (),
        alpha: Any = -1.7580993408473766,
        **kwargs: Any,
    ) -> None:
        super().__init__(incoming, p=p, rescale=rescale, shared_axes=shared_axes, **kwargs)
        if isinstance(alpha, SELU):
            alpha = -alpha.scale * alpha.scale_neg
        _number(self, alpha, "alpha")
        self.alpha = alpha

    def get_output_for(self, input: Any, deterministic: bool = False, **kwargs: Any) -> Variable:  # noqa: A002
        x = T.as_tensor_variable(input)
        if deterministic or (not isinstance(self.p, Variable) and self.p == 0):
            return x
        dtype = x.dtype if np.dtype(x.dtype).kind == "f" else config.floatX
        symbolic = isinstance(self.p, Variable) or isinstance(self.alpha, Variable)
        # numbers stay Python floats (weakly typed) so a float32 input stays float32
        p: Any = T.cast(self.p, dtype) if isinstance(self.p, Variable) else float(self.p)
        alpha: Any = T.cast(self.alpha, dtype) if isinstance(self.alpha, Variable) else float(self.alpha)
        retain = 1 - p
        a = T.pow(retain + alpha**2 * retain * p, -0.5) if symbolic else (retain + alpha**2 * retain * p) ** -0.5
        b = -a * p * alpha
        x_float = T.cast(x, dtype) if x.dtype != dtype else x
        if self.rescale:
            x_float = x_float / retain
        shared = resolve_axes(self, self.shared_axes, x.ndim)
        mask = self._srng.binomial(static_or_symbolic_shape(x, shared), p=retain, dtype=dtype)
        out = a * (x_float * mask + alpha * (1 - mask)) + b
        return out if out.dtype == x.dtype else T.cast(out, x.dtype)


alpha_dropout = AlphaDropoutLayer


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
