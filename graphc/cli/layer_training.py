"""``graphc export --training`` for a Lasagne layer graph: a loss by name, an update rule by name."""

from __future__ import annotations

import inspect
from typing import Any

from .errors import CLIError

__all__ = ["LOSSES", "CLASS_INDEX_LOSSES", "layer_training_parts"]

LOSSES = ("squared_error", "binary_crossentropy", "categorical_crossentropy", "binary_hinge_loss",
          "multiclass_hinge_loss", "huber_loss")  # fmt: skip
"""The ``--loss`` names: Lasagne's objectives that compare predictions with targets."""

CLASS_INDEX_LOSSES = ("categorical_crossentropy", "multiclass_hinge_loss")
"""Losses whose ``target`` input holds integer class indices (one dim fewer than the output, int32)."""

_NOT_RULES = ("get_or_compute_grads", "apply_momentum", "apply_nesterov_momentum", "norm_constraint",
              "total_norm_constraint")  # fmt: skip


def _update_rules() -> dict[str, Any]:
    from .. import updates

    return {name: getattr(updates, name) for name in updates.__all__ if name not in _NOT_RULES}


def layer_training_parts(layers: list[Any], loss: str | None, algo: str, learning_rate: float | None) -> Any:
    """The training step of a Lasagne network: ``mean(loss(get_output(layer), target))`` and its updates.

    Parameters
    ----------
    layers : list of Layer
        Exactly one output layer.
    loss : str or None
        One of :data:`LOSSES`; required.
    algo : str
        A rule of :mod:`graphc.updates` (Lasagne's names: ``sgd``, ``momentum``,
        ``nesterov_momentum``, ``adagrad``, ``rmsprop``, ``adadelta``, ``adam``, ``adamax``...).
    learning_rate : float or None
        The rule's learning rate; ``None`` keeps its default (``sgd``, ``momentum`` and
        ``nesterov_momentum`` have none, as in Lasagne, and need it).

    Returns
    -------
    ExportParts
        Output ``cost``; inputs: the network's ``InputLayer`` variables (named after the
        layers), then ``target`` (integer class indices for :data:`CLASS_INDEX_LOSSES`,
        else the output's dtype and rank); updates of the trainable parameters.

    Raises
    ------
    CLIError
        For a missing or unknown loss or rule, several output layers, a missing
        learning rate, or a loss that does not fit the output.
    """
    from .. import objectives
    from .. import tensor as T
    from ..layers.helper import get_all_layers, get_all_params, get_output
    from ..layers.input import InputLayer
    from .target import ExportParts

    if loss is None:
        raise CLIError(f"--training on a layer graph needs --loss, one of {', '.join(LOSSES)}")
    if loss not in LOSSES:
        raise CLIError(f"--loss {loss!r} is not one of Lasagne's losses: {', '.join(LOSSES)}")
    rules = _update_rules()
    if algo not in rules:
        raise CLIError(f"--algo {algo!r} is not an update rule of lasagne.updates; the rules are {', '.join(rules)}")
    if len(layers) != 1:
        raise CLIError(f"--training trains one output layer, got {len(layers)}; return the layer the loss is on")
    rule = rules[algo]
    kwargs: dict[str, Any] = {}
    if learning_rate is not None:
        kwargs["learning_rate"] = learning_rate
    elif inspect.signature(rule).parameters["learning_rate"].default is inspect.Parameter.empty:
        raise CLIError(f"--algo {algo} has no default learning rate (as in Lasagne): give --learning-rate")
    (out,) = layers
    prediction = get_output(out)  # training mode: dropout and noise on, as Lasagne trains
    if loss in CLASS_INDEX_LOSSES:
        target = T.tensor("int32", shape=(None,) * (prediction.ndim - 1), name="target")
    else:
        target = T.tensor(prediction.dtype, shape=(None,) * prediction.ndim, name="target")
    try:
        cost = objectives.aggregate(getattr(objectives, loss)(prediction, target), mode="mean")
    except (TypeError, ValueError) as exc:
        raise CLIError(f"--loss {loss} does not fit the output {prediction!r}: {exc}") from None
    params = get_all_params(out, trainable=True)
    if not params:
        raise CLIError("--training: the network has no trainable parameters")
    try:
        updates = rule(cost, params, **kwargs)
    except (TypeError, ValueError) as exc:
        raise CLIError(f"--algo {algo}: {exc}") from None
    inputs = [lyr.input_var for lyr in get_all_layers(out) if isinstance(lyr, InputLayer)]
    return ExportParts([(cost, "cost")], [*inputs, target], list(updates.items()), f"Lasagne layers ({loss}, {algo})")
