"""Norm constraints: max-norm rescaling of tensor slices and of a list of tensors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import tensor as T
from ..config import config
from ..tensor.basic import as_tensor_variable
from ..tensor.variable import Variable
from ._common import _hyper, _like

__all__ = ["norm_constraint", "total_norm_constraint"]


def norm_constraint(
    tensor_var: Any, max_norm: Any, norm_axes: Sequence[int] | None = None, epsilon: Any = 1e-7
) -> Variable:
    """Rescale the slices of a tensor whose L2 norm exceeds ``max_norm``.

    ``x * clip(norms, 0, max_norm) / (epsilon + norms)``, the norms taken
    over ``norm_axes`` (max-norm weight constraints, or gradient clipping).

    Parameters
    ----------
    tensor_var : tensor
        A parameter update, gradient or other expression.
    max_norm : float or symbolic scalar
    norm_axes : sequence of int, optional
        Default: ``(0,)`` for a matrix (a dense layer's incoming weights),
        all axes but the first for 3-, 4- and 5-dim tensors (convolutions).
    epsilon : float
        Keeps the division finite for zero norms.

    Returns
    -------
    Variable
        ``tensor_var`` rescaled, of its dtype.

    Raises
    ------
    ValueError
        Without ``norm_axes`` for other ranks ("Unsupported tensor
        dimensionality"), for axes out of range, or an invalid ``max_norm``.
    """
    rule = "norm_constraint"
    x = as_tensor_variable(tensor_var)
    limit, eps = _hyper(rule, "max_norm", max_norm), _hyper(rule, "epsilon", epsilon)
    ndim = x.ndim
    if norm_axes is not None:
        axes = tuple(int(a) for a in norm_axes)
        if any(not -ndim <= a < ndim for a in axes):
            raise ValueError(f"{rule}: norm_axes {tuple(norm_axes)} out of range for {x!r}")
    elif ndim == 2:
        axes = (0,)
    elif ndim in (3, 4, 5):
        axes = tuple(range(1, ndim))
    else:
        raise ValueError(f"{rule}: Unsupported tensor dimensionality {ndim} of {x!r}. Must specify `norm_axes`")
    norms = T.sqrt(T.sum(T.sqr(x), axis=axes, keepdims=True))
    target = T.clip(norms, 0.0, limit)
    return _like(x * (target / (eps + norms)), x)


def total_norm_constraint(tensor_vars: Any, max_norm: Any, epsilon: Any = 1e-7, return_norm: bool = False) -> Any:
    """Rescale a list of tensors so that their combined L2 norm is at most ``max_norm``.

    ``norm = sqrt(sum of all squares)``; each tensor is multiplied by
    ``clip(norm, 0, max_norm) / (epsilon + norm)`` (gradient clipping for
    recurrent networks, Sutskever et al., 2014).

    Parameters
    ----------
    tensor_vars : list of tensors
    max_norm : float or symbolic scalar
    epsilon : float
    return_norm : bool
        Also return the combined norm before rescaling (to monitor training).

    Returns
    -------
    list of Variable, or (list of Variable, Variable)
        The rescaled tensors (each of its own dtype), and the norm with
        ``return_norm``.

    Raises
    ------
    ValueError
        For an invalid ``max_norm`` or ``epsilon``.
    """
    rule = "total_norm_constraint"
    limit, eps = _hyper(rule, "max_norm", max_norm), _hyper(rule, "epsilon", epsilon)
    tensors = [as_tensor_variable(x) for x in tensor_vars]
    total: Any = T.constant(0.0, dtype=config.floatX)
    for i, x in enumerate(tensors):
        term = T.sum(T.sqr(x))
        total = term if i == 0 else total + term
    norm = T.sqrt(total)
    multiplier = T.clip(norm, 0.0, limit) / (eps + norm)
    scaled = [_like(x * multiplier, x) for x in tensors]
    return (scaled, norm) if return_norm else scaled
