"""``theano.gradient``: gradient helpers built on :func:`graphc.grad`.

``grad_clip``, ``zero_grad``, ``disconnected_grad`` and ``consider_constant`` are
identities in the forward pass that change what flows back.  ``jacobian`` and
``hessian`` differentiate one output element at a time: unrolled when the
differentiated expression's length is static, and, as Theano, in a ``scan`` over
its elements when the length is known only at run time.  ``Lop`` is
a gradient with given output cotangents; ``Rop`` (forward mode) is computed from it
by differentiating the ``Lop``, which is linear in the cotangent, once more.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .tensor import arange, as_tensor_variable, stack, zeros_like
from .tensor.elemwise import grad_clip as _grad_clip
from .tensor.scan import scan
from .tensor.variable import Variable
from .train import DisconnectedInputError, grad

__all__ = [
    "grad",
    "grad_clip",
    "zero_grad",
    "disconnected_grad",
    "consider_constant",
    "jacobian",
    "hessian",
    "Lop",
    "Rop",
    "verify_grad",
    "GradientError",
    "DisconnectedInputError",
]


def grad_clip(x: Any, lower_bound: float, upper_bound: float) -> Variable:
    """Identity forward; the gradient flowing back through ``x`` is clipped to ``[lower_bound, upper_bound]``.

    Parameters
    ----------
    x : tensor
    lower_bound, upper_bound : float

    Returns
    -------
    Variable
    """
    if lower_bound > upper_bound:
        raise ValueError(f"grad_clip: lower_bound {lower_bound} must not exceed upper_bound {upper_bound}")
    return _grad_clip(x, lower_bound, upper_bound)


def _blocked(x: Any) -> Variable:
    v = as_tensor_variable(x)
    if np.dtype(v.dtype).kind != "f":
        return v  # integers carry no gradient anyway
    return _grad_clip(v, 0.0, 0.0)


def zero_grad(x: Any) -> Variable:
    """Identity forward; the gradient through it is zero.

    The zero is the incoming gradient clipped to ``[0, 0]``, so a NaN flowing back stays
    NaN (Theano's ``ZeroGrad`` gives 0 even then).

    Parameters
    ----------
    x : tensor

    Returns
    -------
    Variable
    """
    return _blocked(x)


def disconnected_grad(x: Any) -> Variable:
    """Identity forward; no gradient flows through it (Theano's ``DisconnectedGrad``).

    Theano additionally reports a variable reached only through it as disconnected
    (``grad`` raises with ``disconnected_inputs='raise'``); graphc gives a zero
    gradient instead, as :func:`zero_grad` does.

    Parameters
    ----------
    x : tensor

    Returns
    -------
    Variable
    """
    return _blocked(x)


def consider_constant(x: Any) -> Variable:
    """Identity forward; the gradient through it is zero (Theano's deprecated ``consider_constant`` op).

    Parameters
    ----------
    x : tensor

    Returns
    -------
    Variable
    """
    return _blocked(x)


def _scanned_rows(y: Variable, targets: list[Variable], kw: dict[str, Any]) -> list[Variable]:
    """Theano's Jacobian loop: a ``scan`` over ``arange(len(y))`` whose step is ``grad(y[i], targets)``."""

    def row(i: Variable, y_: Variable, *wrt: Variable) -> list[Variable]:
        return grad(y_[i], list(wrt), **kw)

    rows, _ = scan(row, sequences=arange(y.shape[0]), non_sequences=[y, *targets], name="jacobian", return_list=True)
    return rows


def jacobian(
    expression: Any, wrt: Any, consider_constant: Sequence[Any] | None = None, disconnected_inputs: str = "raise"
) -> Any:
    """The Jacobian of a vector ``expression`` with respect to ``wrt``.

    Parameters
    ----------
    expression : scalar or vector tensor
        A vector of static length is differentiated element by element (unrolled); one whose
        length is known only at run time, in a ``scan`` over its elements (as Theano).
    wrt : Variable or list of Variable
    consider_constant, disconnected_inputs
        As for :func:`graphc.grad`.

    Returns
    -------
    Variable or list of Variable
        For each ``wrt``, shape ``(len(expression), *wrt.shape)`` (``wrt.shape`` for a scalar expression).
    """
    y = as_tensor_variable(expression)
    if y.ndim > 1:
        raise TypeError(f"jacobian: expression must be a scalar or a vector, got {y!r}; flatten it first")
    single = not isinstance(wrt, (list, tuple))
    targets = [wrt] if single else list(wrt)
    kw = {"consider_constant": consider_constant, "disconnected_inputs": disconnected_inputs}
    if y.ndim == 0:
        out = grad(y, targets, **kw)
    elif isinstance(y.type.shape[0], (int, np.integer)) and y.type.shape[0] > 0:
        rows = [grad(y[i], targets, **kw) for i in range(int(y.type.shape[0]))]
        out = [stack([r[k] for r in rows], axis=0) for k in range(len(targets))]
    else:
        out = _scanned_rows(y, targets, kw)
    return out[0] if single else out


def hessian(
    cost: Any, wrt: Any, consider_constant: Sequence[Any] | None = None, disconnected_inputs: str = "raise"
) -> Any:
    """The Hessian of a scalar ``cost`` with respect to vectors ``wrt``.

    Parameters
    ----------
    cost : scalar tensor
    wrt : vector Variable or list of them
    consider_constant, disconnected_inputs
        As for :func:`graphc.grad`.

    Returns
    -------
    Variable or list of Variable
        For each ``wrt`` of length n, an ``(n, n)`` matrix.
    """
    single = not isinstance(wrt, (list, tuple))
    targets = [wrt] if single else list(wrt)
    out = []
    for w in targets:
        if as_tensor_variable(w).ndim != 1:
            raise TypeError(f"hessian: wrt must be vectors, got {w!r}")
        g = grad(cost, w, consider_constant=consider_constant, disconnected_inputs=disconnected_inputs)
        out.append(jacobian(g, w, consider_constant=consider_constant, disconnected_inputs=disconnected_inputs))
    return out[0] if single else out


def Lop(  # noqa: N802  (Theano's name)
    f: Any,
    wrt: Any,
    eval_points: Any,
    consider_constant: Sequence[Any] | None = None,
    disconnected_inputs: str = "raise",
) -> Any:
    """Vector-Jacobian product: ``eval_points`` (cotangents of ``f``) pulled back to ``wrt``.

    Parameters
    ----------
    f : Variable or list of Variable
    wrt : Variable or list of Variable
    eval_points : tensor or list of tensor
        One per ``f``, of its shape.
    consider_constant, disconnected_inputs
        As for :func:`graphc.grad`.

    Returns
    -------
    Variable or list of Variable
        One per ``wrt``.
    """
    fs = list(f) if isinstance(f, (list, tuple)) else [f]
    vs = list(eval_points) if isinstance(eval_points, (list, tuple)) else [eval_points]
    if len(fs) != len(vs):
        raise ValueError(f"Lop: {len(fs)} outputs but {len(vs)} eval_points")
    return grad(
        None,
        wrt,
        consider_constant=consider_constant,
        disconnected_inputs=disconnected_inputs,
        known_grads=dict(zip(fs, vs)),
    )


def Rop(f: Any, wrt: Any, eval_points: Any) -> Any:  # noqa: N802  (Theano's name)
    """Jacobian-vector product: how ``f`` changes when ``wrt`` moves along ``eval_points``.

    Parameters
    ----------
    f : Variable or list of Variable
    wrt : Variable or list of Variable
    eval_points : tensor or list of tensor
        One per ``wrt``, of its shape.

    Returns
    -------
    Variable or list of Variable
        One per ``f``, of its shape.
    """
    fs = list(f) if isinstance(f, (list, tuple)) else [f]
    ws = list(wrt) if isinstance(wrt, (list, tuple)) else [wrt]
    vs = list(eval_points) if isinstance(eval_points, (list, tuple)) else [eval_points]
    if len(ws) != len(vs):
        raise ValueError(f"Rop: {len(ws)} wrt but {len(vs)} eval_points")
    out = []
    for fj in fs:
        fv = as_tensor_variable(fj)
        u = zeros_like(fv)  # the Lop is linear in u, so its gradient in u does not depend on u
        pulled = Lop(fv, ws, u, disconnected_inputs="ignore")
        inner = sum(
            ((p * v).sum() for p, v in zip(pulled, vs)), start=as_tensor_variable(np.asarray(0, dtype=fv.dtype))
        )
        out.append(grad(inner, u, disconnected_inputs="ignore"))
    return out if isinstance(f, (list, tuple)) else out[0]


class GradientError(Exception):
    """A symbolic gradient differs from its finite-difference estimate (Theano's ``verify_grad.E_grad``)."""

    def __init__(
        self, arg: int, num_grad: np.ndarray, analytic_grad: np.ndarray, abs_err: float, rel_err: float
    ) -> None:
        super().__init__(
            f"gradient of input {arg} differs from the finite difference: max abs error {abs_err:.3g}, "
            f"max rel error {rel_err:.3g}"
        )
        self.arg, self.num_grad, self.analytic_grad = arg, num_grad, analytic_grad
        self.abs_err, self.rel_err = abs_err, rel_err


def verify_grad(
    fun: Callable[..., Any],
    pt: Sequence[Any],
    n_tests: int = 2,
    rng: Any = None,
    eps: float | None = None,
    abs_tol: float | None = None,
    rel_tol: float | None = None,
    **kwargs: Any,
) -> None:
    """Check ``fun``'s symbolic gradient at ``pt`` against central finite differences (float64).

    Parameters
    ----------
    fun : callable
        Takes one symbolic tensor per entry of ``pt`` and returns a tensor.
    pt : list of array
        The point; every entry becomes a float64 input.
    n_tests : int
        Random projections of the output to check.
    rng : numpy RandomState or Generator, optional
    eps : float, optional
        Finite-difference step (default 1e-7).
    abs_tol, rel_tol : float, optional
        Tolerances (default 1e-4 each); an entry fails when both are exceeded.
    **kwargs
        Theano's other options (``mode``, ``out_type``...), ignored.

    Raises
    ------
    GradientError
        When an entry's gradient is off.
    """
    from . import function
    from .tensor import tensor

    rng = rng if rng is not None else np.random.RandomState(42)
    draw = rng.standard_normal if hasattr(rng, "standard_normal") else rng.randn
    eps = 1e-7 if eps is None else eps
    abs_tol = 1e-4 if abs_tol is None else abs_tol
    rel_tol = 1e-4 if rel_tol is None else rel_tol
    point = [np.array(p, dtype=np.float64) for p in pt]
    inputs = [tensor("float64", shape=p.shape, name=f"pt{i}") for i, p in enumerate(point)]
    out = as_tensor_variable(fun(*inputs))
    for _ in range(n_tests):
        proj_np = np.asarray(draw(*out.type.shape) if out.ndim else draw(), dtype=np.float64)
        cost = (out * proj_np).sum()
        grads = grad(cost, inputs, disconnected_inputs="ignore")
        f_cost = function(inputs, cost, on_unused_input="ignore")
        f_grad = function(inputs, grads, on_unused_input="ignore")
        analytic = f_grad(*point)
        for i, p in enumerate(point):
            num = np.zeros_like(p)
            flat = num.reshape(-1)
            for j in range(p.size):
                plus = [q.copy() for q in point]
                minus = [q.copy() for q in point]
                plus[i].reshape(-1)[j] += eps
                minus[i].reshape(-1)[j] -= eps
                flat[j] = (float(f_cost(*plus)) - float(f_cost(*minus))) / (2 * eps)
            a = np.asarray(analytic[i], dtype=np.float64)
            abs_err = np.abs(a - num)
            rel_err = abs_err / np.maximum(np.abs(a) + np.abs(num), 1e-8)
            bad = (abs_err > abs_tol) & (rel_err > rel_tol)
            if bad.any():
                raise GradientError(i, num, a, float(abs_err.max()), float(rel_err.max()))
