"""Update rules of downhill (theanets' optimizer library) that Lasagne lacks: :func:`rprop`, :func:`esgd`.

They follow :mod:`graphc.updates`' conventions (a loss or gradients, a list of
shared variables, an ``OrderedDict`` of updates; state named
``'<param name>.<role>'``).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np

from .. import tensor as T
from ..tensor.random import RandomStreams
from ..tensor.shared import SharedVariable, shared
from ..tensor.variable import Variable
from ._common import _check_params, _hyper, _like, _state, get_or_compute_grads

__all__ = ["rprop", "esgd"]


def rprop(
    loss_or_grads: Any,
    params: Any,
    learning_rate: Any = 1e-4,
    increase: Any = 1.01,
    decrease: Any = 0.99,
    min_step: Any = 0.0,
    max_step: Any = 100.0,
) -> OrderedDict[SharedVariable, Variable]:
    """Resilient backpropagation, the iRprop- variant (Igel and Huesken, 2000), as downhill's ``RProp``.

    Per element, with ``s = grad * grad_prev``: ``step := clip(step * (increase
    if s > 0, decrease if s < 0, 1 if s == 0), min_step, max_step)``; where
    ``s < 0`` the gradient is taken as 0 (no move, and no sign memory for the
    next step); ``param := param - sign(grad) * step``; ``grad_prev := grad``.
    Steps start at ``learning_rate``.

    Parameters
    ----------
    loss_or_grads : scalar expression or list of expressions
    params : list of SharedVariable
    learning_rate : float
        The initial step size of every element.
    increase, decrease : float
        Step factors when the gradient keeps (changes) its sign.
    min_step, max_step : float
        Bounds of the step sizes.

    Returns
    -------
    OrderedDict
        Per parameter: the parameter, its previous gradient, its step sizes.

    Raises
    ------
    ValueError
        For a negative or non-finite hyper-parameter, or ``min_step > max_step``.
    """
    rule = "rprop"
    lr = _hyper(rule, "learning_rate", learning_rate)
    inc, dec = _hyper(rule, "increase", increase), _hyper(rule, "decrease", decrease)
    lo, hi = _hyper(rule, "min_step", min_step), _hyper(rule, "max_step", max_step)
    if isinstance(lr, Variable):
        raise TypeError("rprop: learning_rate is the initial step size and must be a number, not a symbolic value")
    if not isinstance(lo, Variable) and not isinstance(hi, Variable) and lo > hi:
        raise ValueError(f"rprop: min_step ({min_step!r}) must not exceed max_step ({max_step!r})")
    params = _check_params(rule, params)
    grads = get_or_compute_grads(loss_or_grads, params)
    updates: OrderedDict[SharedVariable, Variable] = OrderedDict()
    for param, grad in zip(params, grads):
        grad_prev = _state(param, "grad")
        name = f"{param.name}.step" if param.name else "step"
        step_prev = shared(np.full(param.type.shape, lr, dtype=param.dtype), name=name, dtype=param.dtype)
        test = grad * grad_prev
        flipped = T.lt(test, 0)
        # the factors multiply the state inside the branches, so they take its dtype (float64 stays exact)
        scaled = T.switch(T.gt(test, 0), step_prev * inc, T.switch(flipped, step_prev * dec, step_prev))
        step = _like(T.minimum(hi, T.maximum(lo, scaled)), param)
        kept = _like(T.switch(flipped, 0.0, grad), param)
        updates[param] = _like(param - T.sgn(kept) * step, param)
        updates[grad_prev] = kept
        updates[step_prev] = step
    return updates


def esgd(
    loss: Any,
    params: Any,
    learning_rate: Any = 1e-4,
    rho: Any = 0.95,
    epsilon: Any = 1e-8,
    grads: Any = None,
    rng: Any = None,
) -> OrderedDict[SharedVariable, Variable]:
    """Equilibrated SGD (Dauphin et al., 2015), as downhill's ``ESGD``.

    Per step a fresh ``v ~ N(0, 1)`` of each parameter's shape gives the
    Hessian-vector product ``Hv = grad(sum(grad * v), param)`` (double
    backpropagation); ``D := rho * D + (1 - rho) * Hv**2``;
    ``param := param - learning_rate * grad / (sqrt(D) + epsilon)``.

    Parameters
    ----------
    loss : scalar expression
        ESGD differentiates twice, so it needs the loss itself.
    params : list of SharedVariable
    learning_rate, rho, epsilon : float or symbolic scalar
        Step size, the decay of the diagonal estimate (in [0, 1)), and the
        term added to its root.
    grads : list of expressions, optional
        The gradients to step along (clipped ones, say); they must still be
        differentiable functions of the parameters.  Default ``grad(loss, params)``.
    rng : RandomStreams or int, optional
        Where ``v`` comes from; default a stream seeded with 12345.

    Returns
    -------
    OrderedDict
        Per parameter: its diagonal estimate ``D``, then the parameter.

    Raises
    ------
    TypeError
        If ``loss`` is a list of gradients.
    ValueError
        For an invalid hyper-parameter.
    """
    rule = "esgd"
    if isinstance(loss, (list, tuple)):
        raise TypeError("esgd: needs the scalar loss (it differentiates twice), got a list of gradients")
    lr, rho_, eps = _hyper(rule, "learning_rate", learning_rate), _hyper(rule, "rho", rho, upper=1.0), _hyper(rule, "epsilon", epsilon)
    params = _check_params(rule, params)
    grads = get_or_compute_grads(loss if grads is None else grads, params)
    if rng is None or isinstance(rng, (int, np.integer)):
        rng = RandomStreams(12345 if rng is None else int(rng))
    from ..train.grad import grad as _grad

    updates: OrderedDict[SharedVariable, Variable] = OrderedDict()
    for param, g in zip(params, grads):
        v = rng.normal(size=param.shape, dtype=param.dtype)
        (hv,) = _grad(T.sum(g * v), [param], disconnected_inputs="ignore")
        d_prev = _state(param, "D")
        d_t = _like(rho_ * d_prev + (1 - rho_) * T.sqr(hv), param)
        updates[d_prev] = d_t
        updates[param] = _like(param - lr * g / (T.sqrt(d_t) + eps), param)
    return updates
