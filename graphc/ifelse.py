"""``theano.ifelse``: ``ifelse(condition, then_branch, else_branch)``.

Theano's ``IfElse`` is lazy: only the chosen branch is computed.  graphc builds a
``switch`` (ONNX ``Where``): both branches are computed and the condition picks the
result, so the values are Theano's, but a branch that is expensive, or that would fail
on the inputs that do not choose it, still runs.  The gradient flows to the chosen
branch only, as Theano's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .tensor import as_tensor_variable, neq, switch
from .tensor.variable import Variable

__all__ = ["ifelse", "IfElse"]


def ifelse(condition: Any, then_branch: Any, else_branch: Any, name: str | None = None) -> Any:
    """``then_branch`` where the scalar ``condition`` is non-zero, else ``else_branch``.

    Parameters
    ----------
    condition : scalar tensor
        Any dtype; non-zero means true.
    then_branch, else_branch : tensor or list of tensor
        The same number of outputs, pairwise of the same rank; dtypes are upcast
        together.
    name : str, optional
        Accepted for Theano compatibility.

    Returns
    -------
    Variable or list of Variable
        A list when the branches are lists.

    Raises
    ------
    TypeError
        For a non-scalar condition, branches of different lengths or ranks.

    Examples
    --------
    >>> import numpy as np, graphc, graphc.tensor as T
    >>> from graphc.ifelse import ifelse
    >>> a, b = T.scalars('a', 'b')
    >>> f = graphc.function([a, b], ifelse(T.lt(a, b), a, b))
    >>> float(f(1, 2)), float(f(3, 2))
    (1.0, 2.0)
    """
    cond = as_tensor_variable(condition)
    if cond.ndim != 0:
        raise TypeError(f"ifelse: the condition must be a scalar, got {cond!r}")
    single = not isinstance(then_branch, (list, tuple))
    thens: Sequence[Any] = [then_branch] if single else list(then_branch)
    elses: Sequence[Any] = [else_branch] if not isinstance(else_branch, (list, tuple)) else list(else_branch)
    if len(thens) != len(elses):
        raise TypeError(f"ifelse: then_branch has {len(thens)} outputs but else_branch has {len(elses)}")
    if cond.dtype != "bool":
        cond = neq(cond, 0)
    outs: list[Variable] = []
    for i, (t, e) in enumerate(zip(thens, elses)):
        tv, ev = as_tensor_variable(t), as_tensor_variable(e)
        if tv.ndim != ev.ndim:
            raise TypeError(f"ifelse: output {i}: then_branch {tv!r} and else_branch {ev!r} have different ranks")
        outs.append(switch(cond, tv, ev))
    return outs[0] if single else outs


class IfElse:
    """Theano's ``IfElse(n_outs)`` op: ``IfElse(n)(condition, *then, *else)``; see :func:`ifelse`.

    Parameters
    ----------
    n_outs : int
        Number of outputs of each branch.
    as_view, gpu, name
        Accepted for Theano compatibility.
    """

    def __init__(self, n_outs: int, as_view: bool = False, gpu: bool = False, name: str | None = None) -> None:
        self.n_outs = int(n_outs)

    def __call__(self, condition: Any, *args: Any, **kwargs: Any) -> Any:
        """Apply: ``2 * n_outs`` branch values after the condition."""
        if len(args) != 2 * self.n_outs:
            raise TypeError(f"IfElse({self.n_outs}) takes {2 * self.n_outs} branch values, got {len(args)}")
        out = ifelse(condition, list(args[: self.n_outs]), list(args[self.n_outs :]))
        return out[0] if self.n_outs == 1 else out
