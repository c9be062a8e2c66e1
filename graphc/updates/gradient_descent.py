"""Gradient descent with and without momentum: sgd, momentum, nesterov_momentum."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from ..tensor.shared import SharedVariable
from ..tensor.variable import Variable
from ._common import _check_params, _hyper, _like, _state, get_or_compute_grads

__all__ = ["sgd", "apply_momentum", "momentum", "apply_nesterov_momentum", "nesterov_momentum"]


def sgd(loss_or_grads: Any, params: Any, learning_rate: Any) -> OrderedDict[SharedVariable, Variable]:
    """Stochastic gradient descent: ``param := param - learning_rate * grad``.

    Parameters
    ----------
    loss_or_grads : scalar expression or list of expressions
        A loss, or one gradient expression per parameter.
    params : list of SharedVariable
    learning_rate : float or symbolic scalar

    Returns
    -------
    OrderedDict
        ``{param: new value}`` in the order of ``params``.

    Raises
    ------
    ValueError
        For a negative or non-finite learning rate, and see :func:`get_or_compute_grads`.
    """
    lr = _hyper("sgd", "learning_rate", learning_rate)
    params = _check_params("sgd", params)
    grads = get_or_compute_grads(loss_or_grads, params)
    updates: OrderedDict[SharedVariable, Variable] = OrderedDict()
    for param, grad in zip(params, grads):
        updates[param] = _like(param - lr * grad, param)
    return updates


def _momentum_params(rule: str, updates: Any, params: Any) -> tuple[OrderedDict[Any, Any], list[SharedVariable]]:
    if not isinstance(updates, Mapping):
        raise TypeError(f"{rule}: updates must be a dict {{shared variable: new value}}, got {type(updates).__name__}")
    out = OrderedDict(updates)
    chosen = list(out.keys()) if params is None else _check_params(rule, params)
    for p in chosen:
        if p not in out:
            raise KeyError(f"{rule}: the parameter {p!r} has no entry in updates")
    return out, chosen


def apply_momentum(updates: Any, params: Any = None, momentum: Any = 0.9) -> OrderedDict[SharedVariable, Variable]:
    """Add momentum to updates.

    ``velocity := momentum * velocity + updates[param] - param``;
    ``param := param + velocity``.

    Parameters
    ----------
    updates : dict
        ``{param: new value}``, such as :func:`sgd` returns.
    params : list of SharedVariable, optional
        The variables to apply momentum to (default: all keys of ``updates``).
    momentum : float or symbolic scalar
        In [0, 1).

    Returns
    -------
    OrderedDict
        A copy of ``updates`` with the parameters' new values and, after the
        existing entries, one velocity per parameter.

    Raises
    ------
    ValueError
        For a momentum outside [0, 1).
    KeyError
        If a parameter has no entry in ``updates``.
    """
    mom = _hyper("apply_momentum", "momentum", momentum, upper=1.0)
    out, chosen = _momentum_params("apply_momentum", updates, params)
    for param in chosen:
        velocity = _state(param, "velocity")
        x = _like(mom * velocity + out[param], param)
        out[velocity] = _like(x - param, param)
        out[param] = x
    return out


def momentum(
    loss_or_grads: Any, params: Any, learning_rate: Any, momentum: Any = 0.9
) -> OrderedDict[SharedVariable, Variable]:
    """SGD with momentum: :func:`sgd` followed by :func:`apply_momentum`.

    ``velocity := momentum * velocity - learning_rate * grad``;
    ``param := param + velocity``.

    Parameters
    ----------
    loss_or_grads : scalar expression or list of expressions
    params : list of SharedVariable
    learning_rate : float or symbolic scalar
    momentum : float or symbolic scalar
        In [0, 1).

    Returns
    -------
    OrderedDict
        The parameters, then their velocities.

    Raises
    ------
    ValueError
        For an invalid learning rate or momentum.
    """
    _hyper("momentum", "learning_rate", learning_rate)
    _hyper("momentum", "momentum", momentum, upper=1.0)
    return apply_momentum(sgd(loss_or_grads, params, learning_rate), momentum=momentum)


def apply_nesterov_momentum(
    updates: Any, params: Any = None, momentum: Any = 0.9
) -> OrderedDict[SharedVariable, Variable]:
    """Add Nesterov momentum to updates (the formulation with the gradient at the current parameters).

    ``velocity := momentum * velocity + updates[param] - param``;
    ``param := param + momentum * velocity + updates[param] - param``.

    Parameters
    ----------
    updates : dict
        ``{param: new value}``, such as :func:`sgd` returns.
    params : list of SharedVariable, optional
        The variables to apply momentum to (default: all keys of ``updates``).
    momentum : float or symbolic scalar
        In [0, 1).

    Returns
    -------
    OrderedDict
        A copy of ``updates`` with the new values and one velocity per parameter.

    Raises
    ------
    ValueError
        For a momentum outside [0, 1).
    KeyError
        If a parameter has no entry in ``updates``.
    """
    mom = _hyper("apply_nesterov_momentum", "momentum", momentum, upper=1.0)
    out, chosen = _momentum_params("apply_nesterov_momentum", updates, params)
    for param in chosen:
        velocity = _state(param, "velocity")
        x = _like(mom * velocity + out[param] - param, param)
        out[velocity] = x
        out[param] = _like(mom * x + out[param], param)
    return out


def nesterov_momentum(
    loss_or_grads: Any, params: Any, learning_rate: Any, momentum: Any = 0.9
) -> OrderedDict[SharedVariable, Variable]:
    """SGD with Nesterov momentum: :func:`sgd` followed by :func:`apply_nesterov_momentum`.

    ``velocity := momentum * velocity - learning_rate * grad``;
    ``param := param + momentum * velocity - learning_rate * grad``.

    Parameters
    ----------
    loss_or_grads : scalar expression or list of expressions
    params : list of SharedVariable
    learning_rate : float or symbolic scalar
    momentum : float or symbolic scalar
        In [0, 1).

    Returns
    -------
    OrderedDict
        The parameters, then their velocities.

    Raises
    ------
    ValueError
        For an invalid learning rate or momentum.
    """
    _hyper("nesterov_momentum", "learning_rate", learning_rate)
    _hyper("nesterov_momentum", "momentum", momentum, upper=1.0)
    return apply_nesterov_momentum(sgd(loss_or_grads, params, learning_rate), momentum=momentum)
