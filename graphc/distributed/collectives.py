"""``dist.mean`` and ``dist.sum``: all-reduce expressions across ranks.

Each builds one IR op per expression (``allreduce_mean`` or ``allreduce_sum``,
defined in :mod:`graphc.ir.ops.collective`): the elementwise mean or sum of
that expression over all ranks, the same value on every rank.  In a single
process they are the identity.  :func:`graphc.function` cuts a compiled graph
at these ops and reduces their inputs with MPI on the communicator of
:func:`graphc.distributed.comm`, all of a step's collectives in one fused
all-reduce.

The gradient of ``mean(x)`` with respect to ``x`` is the mean of the incoming
gradients over the ranks (and that of ``sum(x)`` their sum), so the usual
data-parallel step averages gradients::

    grads = dist.mean(T.grad(cost, params))
    step = theano.function([x, y], cost, updates=lasagne.updates.adam(grads, params))
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, overload

from ..ir.ops.collective import ALLREDUCE_MEAN, ALLREDUCE_SUM
from ..tensor.basic import as_tensor_variable
from ..tensor.variable import Variable, apply_op, describe

__all__ = ["mean", "sum"]


def _one(op: str, caller: str, x: Any, index: int | None) -> Variable:
    where = f"{caller}: expression {index}" if index is not None else f"{caller}: the expression"
    if x is None:
        raise TypeError(f"{where} is None, expected a symbolic expression (a gradient of a disconnected input?)")
    if not isinstance(x, Variable):
        try:
            x = as_tensor_variable(x)
        except (TypeError, ValueError) as e:
            raise TypeError(f"{where} is {type(x).__name__}, expected a symbolic expression or an array ({e})") from e
    try:
        out = apply_op(op, [x])
    except TypeError as e:
        raise TypeError(f"{where} ({describe(x)}) cannot be all-reduced: {e}") from e
    assert isinstance(out, Variable)
    return out


def _apply(op: str, caller: str, exprs: Any) -> Any:
    if isinstance(exprs, (list, tuple)):
        return [_one(op, caller, x, i) for i, x in enumerate(exprs)]
    return _one(op, caller, exprs, None)


@overload
def mean(exprs: Variable) -> Variable: ...
@overload
def mean(exprs: Sequence[Variable]) -> list[Variable]: ...


def mean(exprs: Any) -> Any:
    """The elementwise mean of each expression over all ranks (an all-reduce).

    Parameters
    ----------
    exprs : Variable or list of Variable
        Float expressions (typically gradients); arrays are taken as constants.

    Returns
    -------
    Variable or list of Variable
        One ``allreduce_mean`` per expression, of its type: a list for a list or
        tuple, a single expression for a single one.  The identity in one process.

    Raises
    ------
    TypeError
        If an expression is not a float tensor (or not an expression), naming it by position.
    """
    return _apply(ALLREDUCE_MEAN, "dist.mean", exprs)


@overload
def sum(exprs: Variable) -> Variable: ...  # noqa: A001  (the package's public name)
@overload
def sum(exprs: Sequence[Variable]) -> list[Variable]: ...


def sum(exprs: Any) -> Any:  # noqa: A001
    """The elementwise sum of each expression over all ranks (an all-reduce).

    Parameters
    ----------
    exprs : Variable or list of Variable
        Numeric expressions (floats or integers, such as per-rank counts).

    Returns
    -------
    Variable or list of Variable
        One ``allreduce_sum`` per expression, of its type: a list for a list or
        tuple, a single expression for a single one.  The identity in one process.

    Raises
    ------
    TypeError
        If an expression is not a numeric tensor (or not an expression), naming it by position.
    """
    return _apply(ALLREDUCE_SUM, "dist.sum", exprs)
