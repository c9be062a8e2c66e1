"""Loss expressions and evaluation measures (Lasagne's ``lasagne.objectives``).

Element- or item-wise losses built from predictions and targets:
:func:`binary_crossentropy`, :func:`categorical_crossentropy`,
:func:`squared_error`, :func:`binary_hinge_loss`, :func:`multiclass_hinge_loss`
and :func:`huber_loss`; :func:`aggregate` reduces one of them to a scalar
suitable for :mod:`graphc.updates`.  :func:`binary_accuracy` and
:func:`categorical_accuracy` are measures for validation (their gradient is
zero almost everywhere).

Shapes are checked when the expression is built: a rank mismatch between
predictions and class targets raises ``TypeError`` (Theano's and Lasagne's
error), operands that cannot broadcast raise ``ValueError`` naming the
objective and both shapes.  As in Lasagne, a prediction column ``(N, 1)``
compared with a target vector ``(N,)`` is aligned to ``(N, 1)`` instead of
broadcasting to ``(N, N)``.

Examples
--------
>>> import graphc as lasagne, graphc.tensor as T
>>> p, t = T.matrix('p'), T.ivector('t')
>>> loss = lasagne.objectives.aggregate(lasagne.objectives.categorical_crossentropy(p, t))
>>> loss.ndim
0
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from . import tensor as T
from .tensor.basic import as_tensor_variable
from .tensor.variable import Variable, apply_op

__all__ = [
    "binary_crossentropy",
    "categorical_crossentropy",
    "squared_error",
    "aggregate",
    "binary_hinge_loss",
    "multiclass_hinge_loss",
    "huber_loss",
    "binary_accuracy",
    "categorical_accuracy",
]


def _build(fname: str, what: str, a: Variable, b: Variable, make: Callable[[], Variable]) -> Variable:
    """Run ``make``; a shape error from the elementwise ops is re-raised naming the objective."""
    try:
        return make()
    except ValueError as exc:
        raise ValueError(f"{fname}: {what} {a!r} and {b!r} do not match: {exc}") from exc


def _operands(fname: str, a: Any, b: Any, names: tuple[str, str] = ("predictions", "targets")) -> tuple[Variable, Variable]:
    """Both operands of a loss as tensors; None or a string is refused naming the loss and the argument."""
    for name, value in zip(names, (a, b)):
        if value is None or isinstance(value, (str, bytes)):
            raise TypeError(f"{fname}: {name} is {value!r}; expected a tensor (an expression or an array)")
    return as_tensor_variable(a), as_tensor_variable(b)


def align_targets(predictions: Any, targets: Any) -> tuple[Variable, Variable]:
    """Align a target vector with a prediction column (Lasagne's helper).

    Parameters
    ----------
    predictions, targets : tensor
        When ``predictions`` is ``(N, 1)`` (broadcastable pattern
        ``(False, True)``) and ``targets`` a vector, the targets become the
        column ``(N, 1)``, so that elementwise losses do not broadcast to
        ``(N, N)``.

    Returns
    -------
    tuple of Variable
        ``(predictions, targets)``.
    """
    p, t = as_tensor_variable(predictions), as_tensor_variable(targets)
    if p.broadcastable == (False, True) and t.ndim == 1:
        t = t.dimshuffle(0, "x")
    return p, t


def binary_crossentropy(predictions: Any, targets: Any) -> Variable:
    """Elementwise binary cross-entropy ``-t log(p) - (1 - t) log(1 - p)``.

    Parameters
    ----------
    predictions : tensor
        Probabilities in (0, 1), such as sigmoid outputs.
    targets : tensor
        Targets in [0, 1] (ints are converted), of a shape that broadcasts
        with ``predictions`` (or a vector for a prediction column).

    Returns
    -------
    Variable
        The loss per element.

    Raises
    ------
    ValueError
        If the shapes do not broadcast.
    """
    p, t = align_targets(*_operands("binary_crossentropy", predictions, targets))
    return _build("binary_crossentropy", "predictions", p, t, lambda: T.nnet.binary_crossentropy(p, t))


def _class_targets(fname: str, p: Variable, t: Variable) -> None:
    if t.ndim not in (p.ndim, p.ndim - 1):
        raise TypeError(
            f"{fname}: rank mismatch between targets and predictions: predictions {p!r} (classes on the last "
            f"axis) need one-hot targets of the same rank or integer class indices with one dim fewer, got {t!r}"
        )
    if p.ndim == 0:
        raise TypeError(f"{fname}: predictions must have a class axis, got the scalar {p!r}")
    lead = p.type.shape[: t.ndim] if t.ndim < p.ndim else p.type.shape
    for axis, (a, b) in enumerate(zip(lead, t.type.shape)):
        if isinstance(a, int) and isinstance(b, int) and a != b and b != 1:
            raise ValueError(f"{fname}: predictions {p!r} and targets {t!r} differ on axis {axis} ({a} vs {b})")


def _indices(fname: str, t: Variable) -> Variable:
    if np.dtype(t.dtype).kind not in "iu":
        raise TypeError(
            f"{fname}: targets with one dim fewer than the predictions must be integer class indices, got {t!r}"
        )
    return T.cast(t, "int64")


def categorical_crossentropy(predictions: Any, targets: Any) -> Variable:
    """Item-wise categorical cross-entropy ``-sum_j t_j log(p_j)``.

    Parameters
    ----------
    predictions : tensor
        Class probabilities on the last axis (rows of a matrix), such as
        softmax outputs.
    targets : tensor
        Either target distributions of the shape of ``predictions``, or
        integer class indices with one dim fewer (``-log p[i, t_i]``).

    Returns
    -------
    Variable
        The loss per item (the class axis reduced).

    Raises
    ------
    TypeError
        For a rank mismatch, or float targets with one dim fewer.
    ValueError
        If the shapes differ.
    """
    p, t = _operands("categorical_crossentropy", predictions, targets)
    fname = "categorical_crossentropy"
    _class_targets(fname, p, t)
    if t.ndim == p.ndim - 1:
        _indices(fname, t)
    return _build(fname, "predictions", p, t, lambda: T.nnet.categorical_crossentropy(p, t))


def squared_error(a: Any, b: Any) -> Variable:
    """Elementwise squared difference ``(a - b) ** 2`` (the dtype is kept).

    Parameters
    ----------
    a, b : tensor
        Shapes that broadcast (or a column and a vector, aligned).

    Returns
    -------
    Variable

    Raises
    ------
    ValueError
        If the shapes do not broadcast.
    """
    x, y = align_targets(*_operands("squared_error", a, b, ("a", "b")))
    return _build("squared_error", "operands", x, y, lambda: T.sqr(x - y))


def aggregate(loss: Any, weights: Any = None, mode: str = "mean") -> Variable:
    """Reduce an element- or item-wise loss to a scalar.

    Parameters
    ----------
    loss : tensor
    weights : tensor, optional
        Multiplies ``loss`` elementwise (must broadcast to its shape); 0/1
        weights mask entries out (masked entries must still be finite: NaNs
        propagate).
    mode : {'mean', 'sum', 'normalized_sum'}
        Mean or sum of the (weighted) loss, or the weighted sum divided by
        ``sum(weights)`` (which needs ``weights``).

    Returns
    -------
    Variable
        A scalar.

    Raises
    ------
    ValueError
        For an unknown mode, ``'normalized_sum'`` without weights, or weights
        that do not broadcast with ``loss``.
    """
    x = as_tensor_variable(loss)
    w = None if weights is None else as_tensor_variable(weights)
    if mode not in ("mean", "sum", "normalized_sum"):
        raise ValueError(f"aggregate: mode must be 'mean', 'sum' or 'normalized_sum', got {mode!r}")
    if mode == "normalized_sum" and w is None:
        raise ValueError("aggregate: require weights for mode='normalized_sum'")
    if w is not None:
        weighted = _build("aggregate", "loss", x, w, lambda: x * w)
        if weighted.ndim != x.ndim:
            raise ValueError(f"aggregate: weights {w!r} have more dims than the loss {x!r}")
        x = weighted
    if mode == "mean":
        return x.mean()
    if mode == "sum":
        return x.sum()
    assert w is not None
    return x.sum() / w.sum()


def binary_hinge_loss(
    predictions: Any, targets: Any, delta: Any = 1, log_odds: bool | None = None, binary: bool = True
) -> Variable:
    """Elementwise binary hinge loss ``max(0, delta - t * p)``.

    Parameters
    ----------
    predictions : tensor
        Real-valued log-odds of the positive class (``log_odds=True``), or
        probabilities in (0, 1) such as sigmoid outputs (``log_odds=False``,
        turned into ``log(p / (1 - p))`` first).
    targets : tensor
        Targets in {0, 1} (``binary=True``, mapped to ``2 t - 1``) or in {-1, 1}.
    delta : scalar
        The margin.
    log_odds : bool, optional
        See ``predictions``.  Left unset it means True with a
        ``FutureWarning``, as Lasagne announced (Lasagne's code raised the
        warning as an exception instead; we warn and go on).
    binary : bool
        Whether the targets are in {0, 1} rather than {-1, 1}.

    Returns
    -------
    Variable

    Raises
    ------
    ValueError
        If the shapes do not broadcast.
    """
    if log_odds is None:
        warnings.warn(
            "binary_hinge_loss: the `log_odds` argument will change its default to False in a future version; "
            "give log_odds=True (predictions are log-odds) or log_odds=False (predictions are probabilities)",
            FutureWarning,
            stacklevel=2,
        )
        log_odds = True
    p, t = _operands("binary_hinge_loss", predictions, targets)
    if not log_odds:
        p = T.log(p / (1 - p))
    if binary:
        t = 2 * t - 1
    p, t = align_targets(p, t)
    return _build("binary_hinge_loss", "predictions", p, t, lambda: T.relu(delta - p * t))


def multiclass_hinge_loss(predictions: Any, targets: Any, delta: Any = 1) -> Variable:
    """Item-wise multi-class hinge loss ``max(0, max_{j != t} p_j - p_t + delta)``.

    Parameters
    ----------
    predictions : tensor
        Scores with the classes on the last axis (rows of a matrix).
    targets : tensor
        Integer class indices with one dim fewer, or one-hot targets of the
        shape of ``predictions`` (non-binary targets are not supported: the
        target class is the position of the largest target).
    delta : scalar
        The margin.

    Returns
    -------
    Variable
        The loss per item.

    Raises
    ------
    TypeError
        For a rank mismatch, or float targets with one dim fewer.
    ValueError
        If the shapes differ.
    """
    fname = "multiclass_hinge_loss"
    p, t = _operands("multiclass_hinge_loss", predictions, targets)
    _class_targets(fname, p, t)
    idx = T.argmax(t, axis=-1) if t.ndim == p.ndim else _indices(fname, t)
    axis = p.ndim - 1
    col = T.expand_dims(idx, axis)
    correct = T.squeeze(apply_op("take_along_axis", [p, col], axis=axis), axis)  # type: ignore[arg-type]
    is_target = T.eq(T.arange(p.shape[axis]), col)
    rest = T.max(T.switch(is_target, -np.inf, p), axis=axis)
    return T.relu(rest - correct + delta)


def huber_loss(predictions: Any, targets: Any, delta: Any = 1) -> Variable:
    """Elementwise Huber loss: quadratic within ``delta``, linear beyond.

    ``0.5 (t - p)**2`` where ``|t - p| <= delta``, else
    ``delta * (|t - p| - delta / 2)``.

    Parameters
    ----------
    predictions, targets : tensor
        Shapes that broadcast (or a column and a vector, aligned).
    delta : scalar
        Where the loss turns linear.

    Returns
    -------
    Variable

    Raises
    ------
    ValueError
        If the shapes do not broadcast.
    """
    p, t = align_targets(*_operands("huber_loss", predictions, targets))

    def make() -> Variable:
        abs_diff = abs(t - p)
        quadratic = 0.5 * squared_error(t, p)
        linear = delta * (abs_diff - delta / 2.0)
        return T.switch(abs_diff <= delta, quadratic, linear)

    return _build("huber_loss", "predictions", p, t, make)


def binary_accuracy(predictions: Any, targets: Any, threshold: Any = 0.5) -> Variable:
    """Elementwise binary accuracy ``t == (p >= threshold)`` (bool).

    Parameters
    ----------
    predictions : tensor
        Probabilities of the positive class.
    targets : tensor
        Targets in {0, 1}.
    threshold : scalar
        Predictions at or above it count as the positive class.

    Returns
    -------
    Variable
        Bool; take ``T.mean`` for the accuracy.  Not for training: its
        gradient is zero.

    Raises
    ------
    ValueError
        If the shapes do not broadcast.
    """
    p, t = align_targets(*_operands("binary_accuracy", predictions, targets))
    return _build("binary_accuracy", "predictions", p, t, lambda: T.eq(T.ge(p, threshold), t))


def categorical_accuracy(predictions: Any, targets: Any, top_k: int = 1) -> Variable:
    """Item-wise categorical accuracy: whether the target class is among the ``top_k`` scores.

    Parameters
    ----------
    predictions : tensor
        Scores with the classes on the last axis (rows of a matrix).
    targets : tensor
        Integer class indices with one dim fewer, or one-hot targets of the
        shape of ``predictions`` (the class is their argmax).
    top_k : int
        How many of the best-scored classes count as correct.

    Returns
    -------
    Variable
        Bool per item; take ``T.mean`` for the accuracy.  Not for training.

    Raises
    ------
    TypeError
        For a rank mismatch, or float targets with one dim fewer.
    ValueError
        If ``top_k`` is not a positive int, or the shapes differ.

    Notes
    -----
    Ties are broken as Lasagne's code breaks them.  ``top_k=1`` compares with
    ``argmax``, the first of tied maxima.  For ``top_k > 1`` Lasagne takes the
    last ``top_k`` entries of an ascending ``argsort``; we compute the same
    set without sorting, as a stable sort orders it: the target is in the top
    ``k`` when fewer than ``k`` classes score higher than it or score the same
    with a larger index.
    """
    fname = "categorical_accuracy"
    if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 1:
        raise ValueError(f"{fname}: top_k must be a positive int, got {top_k!r}")
    p, t = _operands("categorical_accuracy", predictions, targets)
    _class_targets(fname, p, t)
    idx = T.argmax(t, axis=-1) if t.ndim == p.ndim else _indices(fname, t)
    axis = p.ndim - 1
    if top_k == 1:
        return T.eq(T.argmax(p, axis=axis), idx)
    col = T.expand_dims(idx, axis)
    score = apply_op("take_along_axis", [p, col], axis=axis)  # the target's score, kept as a column
    later = T.gt(T.arange(p.shape[axis]), col)
    ranked_above = T.or_(T.gt(p, score), T.and_(T.eq(p, score), later))
    return T.lt(T.sum(ranked_above, axis=axis), int(top_k))
