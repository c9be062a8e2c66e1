"""Update rules with adaptive step sizes: adagrad, rmsprop, adadelta, adam, adamax, amsgrad."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np

from .. import tensor as T
from ..ir.types import promote_dtypes
from ..tensor.basic import as_tensor_variable
from ..tensor.shared import SharedVariable
from ..tensor.variable import Variable
from ._common import _check_params, _counter, _hyper, _like, _state, get_or_compute_grads

__all__ = ["adagrad", "rmsprop", "adadelta", "adam", "adamax", "amsgrad"]


def adagrad(
    loss_or_grads: Any, params: Any, learning_rate: Any = 1.0, epsilon: Any = 1e-6
) -> OrderedDict[SharedVariable, Variable]:
    """Adagrad (Duchi et al., 2011): steps scaled by the root of the summed squared gradients.

    ``accu := accu + grad**2``; ``param := param - learning_rate * grad / sqrt(accu + epsilon)``.

    Parameters
    ----------
    loss_or_grads : scalar expression or list of expressions
    params : list of SharedVariable
    learning_rate : float or symbolic scalar
    epsilon : float or symbolic scalar
        Added inside the square root.

    Returns
    -------
    OrderedDict
        Per parameter: its accumulator, then the parameter.

    Raises
    ------
    ValueError
        For a negative or non-finite hyper-parameter.
    """
    rule = "adagrad"
    lr, eps = _hyper(rule, "learning_rate", learning_rate), _hyper(rule, "epsilon", epsilon)
    params = _check_params(rule, params)
    grads = get_or_compute_grads(loss_or_grads, params)
    updates: OrderedDict[SharedVariable, Variable] = OrderedDict()
    for param, grad in zip(params, grads):
        accu = _state(param, "accu")
        accu_new = _like(accu + T.sqr(grad), param)
        updates[accu] = accu_new
        updates[param] = _like(param - lr * grad / T.sqrt(accu_new + eps), param)
    return updates


def rmsprop(
    loss_or_grads: Any, params: Any, learning_rate: Any = 1.0, rho: Any = 0.9, epsilon: Any = 1e-6
) -> OrderedDict[SharedVariable, Variable]:
    """RMSProp (Tieleman and Hinton, 2012): steps scaled by a moving average of squared gradients.

    ``accu := rho * accu + (1 - rho) * grad**2``;
    ``param := param - learning_rate * grad / sqrt(accu + epsilon)``.

    Parameters
    ----------
    loss_or_grads : scalar expression or list of expressions
    params : list of SharedVariable
    learning_rate : float or symbolic scalar
    rho : float or symbolic scalar
        Decay of the moving average, in [0, 1).
    epsilon : float or symbolic scalar
        Added inside the square root.

    Returns
    -------
    OrderedDict
        Per parameter: its accumulator, then the parameter.

    Raises
    ------
    ValueError
        For an invalid hyper-parameter.
    """
    rule = "rmsprop"
    lr, eps = _hyper(rule, "learning_rate", learning_rate), _hyper(rule, "epsilon", epsilon)
    rho = _hyper(rule, "rho", rho, upper=1.0)
    params = _check_params(rule, params)
    grads = get_or_compute_grads(loss_or_grads, params)
    updates: OrderedDict[SharedVariable, Variable] = OrderedDict()
    for param, grad in zip(params, grads):
        accu = _state(param, "accu")
        accu_new = _like(rho * accu + (1 - rho) * T.sqr(grad), param)
        updates[accu] = accu_new
        updates[param] = _like(param - lr * grad / T.sqrt(accu_new + eps), param)
    return updates


def adadelta(
    loss_or_grads: Any, params: Any, learning_rate: Any = 1.0, rho: Any = 0.95, epsilon: Any = 1e-6
) -> OrderedDict[SharedVariable, Variable]:
    """Adadelta (Zeiler, 2012): steps scaled by the ratio of update and gradient RMS averages.

    ``accu := rho * accu + (1 - rho) * grad**2``;
    ``step = grad * sqrt(delta_accu + epsilon) / sqrt(accu + epsilon)`` (the old ``delta_accu``);
    ``param := param - learning_rate * step``;
    ``delta_accu := rho * delta_accu + (1 - rho) * step**2``.

    Parameters
    ----------
    loss_or_grads : scalar expression or list of expressions
    params : list of SharedVariable
    learning_rate : float or symbolic scalar
        The paper has none (1.0).
    rho : float or symbolic scalar
        Decay of the moving averages, in [0, 1).
    epsilon : float or symbolic scalar
        Added inside the square roots (it makes the first steps non-zero).

    Returns
    -------
    OrderedDict
        Per parameter: the gradient accumulator, the parameter, the update accumulator.

    Raises
    ------
    ValueError
        For an invalid hyper-parameter.
    """
    rule = "adadelta"
    lr, eps = _hyper(rule, "learning_rate", learning_rate), _hyper(rule, "epsilon", epsilon)
    rho = _hyper(rule, "rho", rho, upper=1.0)
    params = _check_params(rule, params)
    grads = get_or_compute_grads(loss_or_grads, params)
    updates: OrderedDict[SharedVariable, Variable] = OrderedDict()
    for param, grad in zip(params, grads):
        accu = _state(param, "accu")
        delta_accu = _state(param, "delta_accu")
        accu_new = _like(rho * accu + (1 - rho) * T.sqr(grad), param)
        updates[accu] = accu_new
        step = _like(grad * T.sqrt(delta_accu + eps) / T.sqrt(accu_new + eps), param)
        updates[param] = _like(param - lr * step, param)
        updates[delta_accu] = _like(rho * delta_accu + (1 - rho) * T.sqr(step), param)
    return updates


def _adam_family(
    rule: str, loss_or_grads: Any, params: Any, learning_rate: Any, beta1: Any, beta2: Any, epsilon: Any
) -> tuple[list[SharedVariable], list[Any], SharedVariable, Variable, Variable, tuple[Any, Any, Any, Any]]:
    """Checked arguments, gradients, the step counter ``t_prev`` and its next value.

    The bias corrections use the new count in the widest float dtype of the
    parameters (``tc``): the counter itself is ``config.floatX`` as in Lasagne,
    but float64 parameters then get float64 corrections.
    """
    lr = _hyper(rule, "learning_rate", learning_rate)
    b1 = _hyper(rule, "beta1", beta1, upper=1.0)
    b2 = _hyper(rule, "beta2", beta2, upper=1.0)
    eps = _hyper(rule, "epsilon", epsilon)
    params = _check_params(rule, params)
    grads = get_or_compute_grads(loss_or_grads, params)
    t_prev = _counter(rule)
    t = t_prev + 1
    floats = [p.dtype for p in params if np.dtype(p.dtype).kind == "f"]
    tc = T.cast(t, promote_dtypes(t.dtype, *floats))
    return params, grads, t_prev, t, tc, (lr, b1, b2, eps)


def adam(
    loss_or_grads: Any,
    params: Any,
    learning_rate: Any = 0.001,
    beta1: Any = 0.9,
    beta2: Any = 0.999,
    epsilon: Any = 1e-8,
) -> OrderedDict[SharedVariable, Variable]:
    """Adam (Kingma and Ba, 2014), with the bias correction folded into the step size.

    ``t := t + 1``; ``a_t = learning_rate * sqrt(1 - beta2**t) / (1 - beta1**t)``;
    ``m := beta1 * m + (1 - beta1) * grad``; ``v := beta2 * v + (1 - beta2) * grad**2``;
    ``param := param - a_t * m / (sqrt(v) + epsilon)`` (epsilon after the square
    root, on the uncorrected ``v``, as in Lasagne).

    Parameters
    ----------
    loss_or_grads : scalar expression or list of expressions
    params : list of SharedVariable
    learning_rate : float or symbolic scalar
    beta1, beta2 : float or symbolic scalar
        Decay rates of the moment estimates, in [0, 1).
    epsilon : float or symbolic scalar

    Returns
    -------
    OrderedDict
        Per parameter: ``m``, ``v``, the parameter; last the step counter ``t``.

    Raises
    ------
    ValueError
        For an invalid hyper-parameter.
    """
    params, grads, t_prev, t, tc, (lr, b1, b2, eps) = _adam_family(
        "adam", loss_or_grads, params, learning_rate, beta1, beta2, epsilon
    )
    a_t = lr * T.sqrt(1 - b2**tc) / (1 - b1**tc)
    updates: OrderedDict[SharedVariable, Variable] = OrderedDict()
    for param, g in zip(params, grads):
        m_prev, v_prev = _state(param, "m"), _state(param, "v")
        m_t = _like(b1 * m_prev + (1 - b1) * g, param)
        v_t = _like(b2 * v_prev + (1 - b2) * T.sqr(g), param)
        updates[m_prev] = m_t
        updates[v_prev] = v_t
        updates[param] = _like(param - a_t * m_t / (T.sqrt(v_t) + eps), param)
    updates[t_prev] = _like(t, t_prev)
    return updates


def adamax(
    loss_or_grads: Any,
    params: Any,
    learning_rate: Any = 0.002,
    beta1: Any = 0.9,
    beta2: Any = 0.999,
    epsilon: Any = 1e-8,
) -> OrderedDict[SharedVariable, Variable]:
    """Adamax (Kingma and Ba, 2014): Adam with the infinity norm.

    ``t := t + 1``; ``a_t = learning_rate / (1 - beta1**t)``;
    ``m := beta1 * m + (1 - beta1) * grad``; ``u := max(beta2 * u, |grad|)``;
    ``param := param - a_t * m / (u + epsilon)``.

    Parameters
    ----------
    loss_or_grads : scalar expression or list of expressions
    params : list of SharedVariable
    learning_rate : float or symbolic scalar
    beta1, beta2 : float or symbolic scalar
        Decay rates, in [0, 1).
    epsilon : float or symbolic scalar

    Returns
    -------
    OrderedDict
        Per parameter: ``m``, ``u``, the parameter; last the step counter ``t``.

    Raises
    ------
    ValueError
        For an invalid hyper-parameter.
    """
    params, grads, t_prev, t, tc, (lr, b1, b2, eps) = _adam_family(
        "adamax", loss_or_grads, params, learning_rate, beta1, beta2, epsilon
    )
    a_t = lr / (1 - b1**tc)
    updates: OrderedDict[SharedVariable, Variable] = OrderedDict()
    for param, g in zip(params, grads):
        m_prev, u_prev = _state(param, "m"), _state(param, "u")
        m_t = _like(b1 * m_prev + (1 - b1) * g, param)
        u_t = _like(T.maximum(b2 * u_prev, abs(as_tensor_variable(g))), param)
        updates[m_prev] = m_t
        updates[u_prev] = u_t
        updates[param] = _like(param - a_t * m_t / (u_t + eps), param)
    updates[t_prev] = _like(t, t_prev)
    return updates


def amsgrad(
    loss_or_grads: Any,
    params: Any,
    learning_rate: Any = 0.001,
    beta1: Any = 0.9,
    beta2: Any = 0.999,
    epsilon: Any = 1e-8,
) -> OrderedDict[SharedVariable, Variable]:
    """AMSGrad (Reddi et al., 2018): Adam with the running maximum of ``v`` in the denominator.

    As :func:`adam`, plus ``v_hat := max(v_hat, v)`` and
    ``param := param - a_t * m / (sqrt(v_hat) + epsilon)``.

    Parameters
    ----------
    loss_or_grads : scalar expression or list of expressions
    params : list of SharedVariable
    learning_rate : float or symbolic scalar
    beta1, beta2 : float or symbolic scalar
        Decay rates of the moment estimates, in [0, 1).
    epsilon : float or symbolic scalar

    Returns
    -------
    OrderedDict
        Per parameter: ``m``, ``v``, ``v_hat``, the parameter; last the step counter ``t``.

    Raises
    ------
    ValueError
        For an invalid hyper-parameter.
    """
    params, grads, t_prev, t, tc, (lr, b1, b2, eps) = _adam_family(
        "amsgrad", loss_or_grads, params, learning_rate, beta1, beta2, epsilon
    )
    a_t = lr * T.sqrt(1 - b2**tc) / (1 - b1**tc)
    updates: OrderedDict[SharedVariable, Variable] = OrderedDict()
    for param, g in zip(params, grads):
        m_prev, v_prev, v_hat_prev = _state(param, "m"), _state(param, "v"), _state(param, "v_hat")
        m_t = _like(b1 * m_prev + (1 - b1) * g, param)
        v_t = _like(b2 * v_prev + (1 - b2) * T.sqr(g), param)
        v_hat_t = T.maximum(v_hat_prev, v_t)
        updates[m_prev] = m_t
        updates[v_prev] = v_t
        updates[v_hat_prev] = v_hat_t
        updates[param] = _like(param - a_t * m_t / (T.sqrt(v_hat_t) + eps), param)
    updates[t_prev] = _like(t, t_prev)
    return updates
