"""``theano.tensor.nnet.bn``: batch normalization written with elementwise ops."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...tensor import as_tensor_variable, sqrt
from ...tensor.variable import Variable

__all__ = ["batch_normalization", "batch_normalization_train", "batch_normalization_test"]


def batch_normalization(inputs: Any, gamma: Any, beta: Any, mean: Any, std: Any, mode: str = "low_mem") -> Variable:
    """``(inputs - mean) * (gamma / std) + beta``, as Theano's ``batch_normalization``.

    Parameters
    ----------
    inputs, gamma, beta, mean, std : tensor
        Broadcast together elementwise.
    mode : {'low_mem', 'high_mem'}
        Theano's memory trade-off; the same expression either way here.

    Returns
    -------
    Variable
    """
    if mode not in ("low_mem", "high_mem"):
        raise ValueError(f'mode must be either "low_mem", "high_mem", got {mode!r}')
    return (as_tensor_variable(inputs) - mean) * (as_tensor_variable(gamma) / std) + beta


def _axes(axes: Any, ndim: int) -> tuple[int, ...]:
    if axes == "per-activation":
        return (0,)
    if axes == "spatial":
        return (0, *range(2, ndim))
    if isinstance(axes, Sequence):
        return tuple(int(a) for a in axes)
    raise ValueError(f"axes should be 'per-activation', 'spatial' or a tuple of ints, got {axes!r}")


def batch_normalization_train(
    inputs: Any,
    gamma: Any,
    beta: Any,
    axes: Any = "per-activation",
    epsilon: float = 1e-4,
    running_average_factor: float = 0.1,
    running_mean: Any = None,
    running_var: Any = None,
) -> tuple[Variable, ...]:
    """Normalize by the batch statistics over ``axes``, as Theano 1.0's ``batch_normalization_train``.

    Parameters
    ----------
    inputs : tensor
    gamma, beta : tensor
        Scale and shift, broadcastable against the statistics (kept dims).
    axes : 'per-activation', 'spatial' or tuple of int
        ``'per-activation'`` is ``(0,)``; ``'spatial'`` is ``(0, 2, 3, ...)``.
    epsilon : float
    running_average_factor : float
    running_mean, running_var : tensor, optional
        Given together: their updated values are returned too.

    Returns
    -------
    out, mean, invstd : Variable
        The normalized inputs, the batch mean and ``1 / sqrt(var + epsilon)`` (kept dims).
    new_running_mean, new_running_var : Variable
        Only with ``running_mean`` and ``running_var``; the variance is unbiased
        (``m / (m - 1)``), as Theano's.
    """
    x = as_tensor_variable(inputs)
    ax = _axes(axes, x.ndim)
    mean = x.mean(axis=ax, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=ax, keepdims=True)
    invstd = 1.0 / sqrt(var + epsilon)
    out = (x - mean) * invstd * gamma + beta
    if running_mean is None and running_var is None:
        return out, mean, invstd
    if running_mean is None or running_var is None:
        raise ValueError("running_mean and running_var must be given together")
    m = 1
    for a in ax:
        m = m * x.shape[a]
    m = as_tensor_variable(m).astype(x.dtype)
    f = running_average_factor
    new_mean = running_mean * (1.0 - f) + mean * f
    new_var = running_var * (1.0 - f) + var * (m / (m - 1)) * f
    return out, mean, invstd, new_mean, new_var


def batch_normalization_test(
    inputs: Any, gamma: Any, beta: Any, mean: Any, var: Any, axes: Any = "per-activation", epsilon: float = 1e-4
) -> Variable:
    """Normalize by given statistics, as Theano 1.0's ``batch_normalization_test``.

    Parameters
    ----------
    inputs, gamma, beta, mean, var : tensor
    axes : 'per-activation', 'spatial' or tuple of int
        Accepted for Theano's signature; the statistics broadcast as given.
    epsilon : float

    Returns
    -------
    Variable
    """
    x = as_tensor_variable(inputs)
    _axes(axes, x.ndim)
    return (x - mean) * (gamma / sqrt(as_tensor_variable(var) + epsilon)) + beta
