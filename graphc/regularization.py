"""Penalties on parameters (Lasagne's ``lasagne.regularization``).

:func:`l1` and :func:`l2` compute the penalty of one tensor;
:func:`apply_penalty` sums a penalty over tensors; the ``regularize_*``
helpers apply it to the parameters of layers, by default those tagged
``regularizable`` (weights, not biases).

Examples
--------
>>> import graphc as lasagne
>>> from graphc.layers import InputLayer, DenseLayer
>>> from graphc.regularization import l1, l2, regularize_layer_params, regularize_layer_params_weighted
>>> layer1 = DenseLayer(InputLayer((100, 20)), num_units=3)
>>> layer2 = DenseLayer(layer1, num_units=5)
>>> penalty = regularize_layer_params_weighted({layer1: 0.1, layer2: 0.5}, l2)
>>> penalty = penalty + regularize_layer_params(layer2, l1) * 1e-4
>>> penalty.ndim
0
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import numpy as np

from . import tensor as T
from .layers.base import Layer, is_layer_like
from .layers.helper import get_all_params
from .tensor.basic import as_tensor_variable
from .tensor.variable import Variable

__all__ = [
    "l1",
    "l2",
    "apply_penalty",
    "regularize_layer_params",
    "regularize_layer_params_weighted",
    "regularize_network_params",
]

#: the default ``tags`` of the ``regularize_*`` helpers (read-only: a shared default)
REGULARIZABLE: Mapping[str, bool] = MappingProxyType({"regularizable": True})


def l1(x: Any) -> Variable:
    """The L1 norm ``sum(|x|)`` of a tensor.

    Parameters
    ----------
    x : tensor

    Returns
    -------
    Variable or int
        A scalar (the Python int 0 when there is nothing to penalize, as in Lasagne).
    """
    return T.sum(abs(as_tensor_variable(x)))


def l2(x: Any) -> Variable:
    """The squared L2 norm ``sum(x ** 2)`` of a tensor.

    Parameters
    ----------
    x : tensor

    Returns
    -------
    Variable or int
        A scalar (the Python int 0 when there is nothing to penalize, as in Lasagne).
    """
    return T.sum(T.sqr(as_tensor_variable(x)))


def apply_penalty(tensor_or_tensors: Any, penalty: Callable[..., Any], **kwargs: Any) -> Variable | int:
    """The total of ``penalty`` over a tensor or a list of tensors.

    Parameters
    ----------
    tensor_or_tensors : tensor or iterable of tensors
        A single symbolic tensor or numpy array is penalized whole (it is
        never iterated over its first axis).
    penalty : callable
        ``penalty(x, **kwargs)`` gives a scalar, such as :func:`l1` or :func:`l2`.
    **kwargs
        Passed to ``penalty``.

    Returns
    -------
    Variable or int
        A scalar; the Python int 0 for an empty list, as in Lasagne.

    Raises
    ------
    TypeError
        If ``penalty`` is not callable.
    """
    if not callable(penalty):
        raise TypeError(f"apply_penalty: penalty must be callable (such as l1 or l2), got {penalty!r}")
    if isinstance(tensor_or_tensors, (Variable, np.ndarray)):
        return penalty(tensor_or_tensors, **kwargs)
    try:
        tensors = list(tensor_or_tensors)
    except TypeError:
        return penalty(tensor_or_tensors, **kwargs)
    # Python's sum, as Lasagne: 0 + p(x0) + p(x1)..., the int 0 for no tensors (graphs compare equal to upstream's)
    return sum(penalty(x, **kwargs) for x in tensors)


def _layers(layer: Any, fname: str) -> list[Layer]:
    layers = [layer] if is_layer_like(layer) else layer
    try:
        layers = list(layers)
    except TypeError:
        raise TypeError(f"{fname}: expected a Layer or a list of layers, got {type(layer).__name__}") from None
    for item in layers:
        if not is_layer_like(item):
            raise TypeError(f"{fname}: expected a Layer or a list of layers, got an item of type {type(item).__name__}")
    return layers


def regularize_layer_params(
    layer: Any, penalty: Callable[..., Any], tags: Mapping[str, bool] = REGULARIZABLE, **kwargs: Any
) -> Variable | int:
    """The penalty of the parameters of a layer or a list of layers.

    Parameters
    ----------
    layer : Layer or list of Layer
        Only these layers' own parameters count (not those of the layers
        below them: see :func:`regularize_network_params`).  A parameter
        shared by two of the layers counts twice, as in Lasagne.
    penalty : callable
        Such as :func:`l1` or :func:`l2`.
    tags : dict
        Tag filter for ``get_params``; by default the parameters tagged
        ``regularizable``.
    **kwargs
        Passed to ``penalty``.

    Returns
    -------
    Variable or int
        A scalar (the Python int 0 when there is nothing to penalize, as in Lasagne).

    Raises
    ------
    TypeError
        If ``layer`` is not a layer or a list of layers.
    """
    params: list[Any] = []
    for lyr in _layers(layer, "regularize_layer_params"):
        params += lyr.get_params(**dict(tags))
    return apply_penalty(params, penalty, **kwargs)


def regularize_layer_params_weighted(
    layers: Mapping[Any, Any], penalty: Callable[..., Any], tags: Mapping[str, bool] = REGULARIZABLE, **kwargs: Any
) -> Variable | int:
    """The sum over layers of a coefficient times the penalty of the layer's parameters.

    Parameters
    ----------
    layers : dict
        ``{layer: coefficient}`` (a coefficient may be a number or a
        symbolic scalar).
    penalty : callable
        Such as :func:`l1` or :func:`l2`.
    tags : dict
        Tag filter for ``get_params``; by default the parameters tagged
        ``regularizable``.
    **kwargs
        Passed to ``penalty``.

    Returns
    -------
    Variable or int
        A scalar (the Python int 0 when there is nothing to penalize, as in Lasagne).

    Raises
    ------
    TypeError
        If ``layers`` is not a mapping from layers to coefficients.
    """
    if not isinstance(layers, Mapping):
        raise TypeError(
            f"regularize_layer_params_weighted: layers must be a dict {{layer: coefficient}}, got {type(layers).__name__}"
        )
    _layers(list(layers), "regularize_layer_params_weighted")
    return sum(coeff * apply_penalty(lyr.get_params(**dict(tags)), penalty, **kwargs) for lyr, coeff in layers.items())


def regularize_network_params(
    layer: Any, penalty: Callable[..., Any], tags: Mapping[str, bool] = REGULARIZABLE, **kwargs: Any
) -> Variable | int:
    """The penalty of the parameters of every layer of a network.

    Parameters
    ----------
    layer : Layer or list of Layer
        The network's output layer(s); the parameters of all layers below
        are included, each shared parameter once.
    penalty : callable
        Such as :func:`l1` or :func:`l2`.
    tags : dict
        Tag filter for ``get_all_params``; by default the parameters tagged
        ``regularizable``.
    **kwargs
        Passed to ``penalty``.

    Returns
    -------
    Variable or int
        A scalar (the Python int 0 when there is nothing to penalize, as in Lasagne).
    """
    return apply_penalty(get_all_params(layer, **dict(tags)), penalty, **kwargs)
