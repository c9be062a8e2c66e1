"""theanets loss functions (``theanets.losses``): symbolic costs of a network's outputs.

A loss reads one output of the network graph (``'out:out'`` by default) and
compares it with a target placeholder (or a given expression, such as an
autoencoder's input).  ``weighted=True`` adds a ``weights`` placeholder of the
target's shape.  Losses register by lowercased class name and aliases:
``mse``, ``mae``, ``xe``/``crossentropy``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from .. import tensor as T
from ..config import config
from ..tensor.variable import Variable

__all__ = ["Loss", "MeanSquaredError", "MeanAbsoluteError", "CrossEntropy"]


def _placeholder(ndim: int, name: str, dtype: str) -> Variable:
    return T.tensor(dtype, ndim, name=name)


class Loss:
    """Base class of losses.

    Parameters
    ----------
    target : int or Variable
        The number of axes of a new target placeholder named ``'target'``, or
        an expression to use as the target.
    weight : float
        Importance of this loss in a sum of losses.
    weighted : bool
        Add a placeholder ``'weights'`` (the target's shape) that weighs each value.
    output_name : str
        The network output to compare, ``'<layer>:<output>'`` (``':out'`` is added
        to a bare layer name).

    Attributes
    ----------
    weight : float
    output_name : str
    """

    _registry: ClassVar[dict[str, type[Loss]]] = {}
    __extra_registration_keys__: ClassVar[tuple[str, ...]] = ()
    TARGET_DTYPE: ClassVar[str | None] = None  # None: config.floatX

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        Loss._registry[cls.__name__.lower()] = cls
        for key in cls.__dict__.get("__extra_registration_keys__", ()):
            Loss._registry[key.lower()] = cls

    @classmethod
    def build(cls, key: str, **kwargs: Any) -> Loss:
        """Construct a registered loss by name (``'mse'``, ``'xe'``...).

        Raises
        ------
        ValueError
            For an unknown name.
        """
        if not isinstance(key, str) or key.lower() not in Loss._registry:
            raise ValueError(f"unknown loss {key!r}; known losses: {', '.join(sorted(Loss._registry))}")
        return Loss._registry[key.lower()](**kwargs)

    def __init__(self, target: Any, weight: float = 1.0, weighted: bool = False, output_name: str = "out") -> None:
        self.weight = float(weight)
        dtype = self.TARGET_DTYPE or config.floatX
        self._own_target = isinstance(target, int)
        self._target: Variable = _placeholder(int(target), "target", dtype) if isinstance(target, int) else target
        self._weights: Variable | None = None
        if weighted:
            self._weights = _placeholder(self._target.ndim, "weights", config.floatX)
        self.output_name = output_name if ":" in output_name else f"{output_name}:out"

    @property
    def form(self) -> str:
        """The registry name of this loss."""
        return type(self).__name__.lower()

    @property
    def variables(self) -> list[Variable]:
        """The placeholders this loss needs beyond the network inputs (target, weights)."""
        result = [self._target] if self._own_target else []
        if self._weights is not None:
            result.append(self._weights)
        return result

    def _output(self, outputs: Mapping[str, Variable]) -> Variable:
        if self.output_name not in outputs:
            raise KeyError(f"loss {self.form!r}: the graph has no output {self.output_name!r}; outputs are {sorted(outputs)}")
        return outputs[self.output_name]

    def __call__(self, outputs: Mapping[str, Variable]) -> Variable:
        """The symbolic (scalar) loss for the graph ``outputs``."""
        raise NotImplementedError(f"{type(self).__name__} does not implement __call__")


class MeanSquaredError(Loss):
    """``mean((output - target)^2)``, or ``sum(w * err^2) / sum(w)`` when weighted."""

    __extra_registration_keys__ = ("mse",)

    def __call__(self, outputs: Mapping[str, Variable]) -> Variable:
        """The mean squared error."""
        err = self._output(outputs) - self._target
        if self._weights is not None:
            return (self._weights * err * err).sum() / self._weights.sum()
        return (err * err).mean()


class MeanAbsoluteError(Loss):
    """``mean(|output - target|)``, or ``sum(|w * err|) / sum(w)`` when weighted."""

    __extra_registration_keys__ = ("mae",)

    def __call__(self, outputs: Mapping[str, Variable]) -> Variable:
        """The mean absolute error."""
        err = self._output(outputs) - self._target
        if self._weights is not None:
            return abs(self._weights * err).sum() / self._weights.sum()
        return abs(err).mean()


class CrossEntropy(Loss):
    """Cross-entropy of integer class targets: ``mean(-log(clip(p[target], 1e-8, 1)))``.

    The output holds class probabilities on its last axis; targets are int64
    class indices with one axis fewer.
    """

    __extra_registration_keys__ = ("xe", "crossentropy")
    TARGET_DTYPE = "int64"

    def _probabilities(self, outputs: Mapping[str, Variable]) -> tuple[Variable, Variable, Any]:
        output = self._output(outputs)
        k = output.shape[-1]
        n = T.prod(output.shape) // k
        flat = T.reshape(output, [n, k])
        target = T.reshape(self._target, [n])
        return flat, target, n

    def __call__(self, outputs: Mapping[str, Variable]) -> Variable:
        """The mean negative log-probability of the target classes."""
        flat, target, n = self._probabilities(outputs)
        # -log(clip(p, 1e-8, 1)[target]): the clip is elementwise, so clipping first is the same
        nlp = T.nnet.categorical_crossentropy(T.clip(flat, 1e-8, 1.0), target)
        if self._weights is not None:
            return (T.reshape(self._weights, [n]) * nlp).sum() / self._weights.sum()
        return nlp.mean()

    def accuracy(self, outputs: Mapping[str, Variable]) -> Variable:
        """Fraction (weighted when ``weighted``) of examples whose most probable class is the target."""
        output = self._output(outputs)
        correct = T.cast(T.eq(T.argmax(output, axis=-1), self._target), config.floatX)
        if self._weights is not None:
            return (self._weights * correct).sum() / self._weights.sum()
        return correct.mean()
