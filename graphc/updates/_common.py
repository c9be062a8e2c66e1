"""Helpers of the update rules: hyper-parameter checks, optimizer state, gradients."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from .. import tensor as T
from ..config import config
from ..tensor.basic import as_tensor_variable
from ..tensor.shared import SharedVariable, shared
from ..tensor.variable import Variable

__all__ = ["get_or_compute_grads"]


# -- checks and helpers ---------------------------------------------------------
def _hyper(rule: str, name: str, value: Any, upper: float | None = None) -> Any:
    """Check a hyper-parameter: a finite number ``>= 0`` (``< upper`` when given), or a symbolic scalar.

    Numbers come back as Python floats, which keep the dtype of the tensors
    they meet (a numpy float64 would upcast float32 parameters).
    """
    if isinstance(value, Variable):
        if value.ndim != 0:
            raise ValueError(f"{rule}: {name} must be a scalar, got {value!r}")
        return value
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{rule}: {name} must be a number or a symbolic scalar, got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{rule}: {name} must be a finite number, got {value!r}")
    if v < 0:
        raise ValueError(f"{rule}: {name} must be non-negative, got {value!r}")
    if upper is not None and v >= upper:
        raise ValueError(f"{rule}: {name} must be in [0, {upper:g}), got {value!r}")
    return v


def _state(param: SharedVariable, role: str) -> SharedVariable:
    """Zeros of the parameter's dtype and shape, named after it."""
    name = f"{param.name}.{role}" if param.name else role
    return shared(np.zeros(param.type.shape, dtype=param.dtype), name=name, dtype=param.dtype)


def _counter(rule: str) -> SharedVariable:
    return shared(np.asarray(0.0, dtype=config.floatX), name=f"{rule}.t")


def _like(expr: Any, like: Variable) -> Variable:
    """``expr`` in the dtype of ``like`` (a float result of a float variable; ints are left alone)."""
    v = as_tensor_variable(expr)
    if v.dtype == like.dtype or np.dtype(v.dtype).kind != np.dtype(like.dtype).kind:
        return v
    return T.cast(v, like.dtype)


def _check_params(rule: str, params: Any, trainable: bool = True) -> list[SharedVariable]:
    """``params`` as a list of distinct shared variables; with ``trainable``, of float dtype (an update rule
    cannot move an integer by a fraction of a gradient: Theano would refuse the update's type when compiling)."""
    out = _shared_list(rule, params)
    if trainable:
        for p in out:
            if np.dtype(p.dtype).kind != "f":
                raise TypeError(f"{rule}: cannot train {p!r}, which is not a float tensor")
    return out


def _shared_list(rule: str, params: Any) -> list[SharedVariable]:
    if isinstance(params, (Variable, Mapping)) or isinstance(params, (str, bytes)):
        raise TypeError(f"{rule}: params must be a list of shared variables, got {type(params).__name__}")
    try:
        out = list(params)
    except TypeError:
        raise TypeError(f"{rule}: params must be a list of shared variables, got {type(params).__name__}") from None
    for i, p in enumerate(out):
        if not isinstance(p, SharedVariable):
            raise ValueError(
                f"{rule}: params must contain shared variables only, but params[{i}] is {p!r}. If it contains "
                "arbitrary parameter expressions, graphc.utils.collect_shared_vars() may help you."
            )
    seen: set[int] = set()
    for p in out:
        if id(p) in seen:
            raise ValueError(f"{rule}: the parameter {p!r} is listed twice")
        seen.add(id(p))
    return out


def _grad_function() -> Any:
    import graphc

    fn = getattr(graphc, "grad", None)
    if fn is None:
        try:
            from ..train import grad as fn  # type: ignore[attr-defined,no-redef]
        except ImportError:
            fn = None
    return fn


def get_or_compute_grads(loss_or_grads: Any, params: Any) -> list[Any]:
    """The gradients of the parameters: given, or computed from a loss.

    Parameters
    ----------
    loss_or_grads : scalar expression or list of expressions
        A scalar loss, differentiated with ``graphc.grad``, or a list (or
        tuple) of gradient expressions, one per parameter.
    params : list of SharedVariable
        The variables to return the gradients for.

    Returns
    -------
    list
        A given list is returned as is (the same object when it holds
        symbolic expressions only); otherwise ``graphc.grad(loss, params)``.

    Raises
    ------
    ValueError
        If a parameter is not a shared variable or is listed twice, if the
        number of gradients differs from the number of parameters, or if a
        gradient's shape cannot be the parameter's.
    NotImplementedError
        For a loss when symbolic differentiation (``graphc.grad``) is not
        available.
    """
    rule = "get_or_compute_grads"
    params = _check_params(rule, params, trainable=False)  # integers get zero gradients, as in Theano
    if isinstance(loss_or_grads, (list, tuple)):
        if len(loss_or_grads) != len(params):
            raise ValueError(f"{rule}: got {len(loss_or_grads)} gradient expressions for {len(params)} parameters")
        grads = [as_tensor_variable(g) for g in loss_or_grads]
        for i, (p, g) in enumerate(zip(params, grads)):
            fits = g.ndim <= p.ndim and all(
                not isinstance(a, int) or a in (1, b) for a, b in zip(g.type.shape[::-1], p.type.shape[::-1])
            )
            if not fits:
                raise ValueError(f"{rule}: gradient {i} {g!r} does not fit the shape of its parameter {p!r}")
        if isinstance(loss_or_grads, list) and all(isinstance(g, Variable) for g in loss_or_grads):
            return loss_or_grads
        return grads
    grad = _grad_function()
    if grad is None:
        raise NotImplementedError(
            f"{rule}: computing gradients of a loss needs graphc.grad (symbolic differentiation), which this "
            "version of graphc does not provide yet; pass a list of gradient expressions, one per parameter"
        )
    return list(grad(loss_or_grads, params))
