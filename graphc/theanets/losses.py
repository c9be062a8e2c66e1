"""theanets loss functions (``theanets.losses``): symbolic costs of a network's outputs.

A loss reads one output of the network graph (``'out:out'`` by default) and
compares it with a target placeholder (or a given expression, such as an
autoencoder's input).  ``weighted=True`` adds a ``weights`` placeholder of the
target's shape.  Losses register by lowercased class name and aliases:
``mse``, ``mae``, ``xe``/``crossentropy``, ``hinge``, ``mmd``, ``kl``/``kld``
and ``gll``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from .. import tensor as T
from ..config import config
from ..tensor.variable import Variable

__all__ = [
    "Loss",
    "MeanSquaredError",
    "MeanAbsoluteError",
    "CrossEntropy",
    "Hinge",
    "GaussianLogLikelihood",
    "MaximumMeanDiscrepancy",
    "KullbackLeiblerDivergence",
    "build",
]


def build(name: str, **kwargs: Any) -> Loss:
    """Construct a registered loss by name (upstream's ``theanets.losses.build``); see :meth:`Loss.build`."""
    return Loss.build(name, **kwargs)


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


class Hinge(CrossEntropy):
    """Hinge loss of integer class targets: ``mean(max(0, max_k(q_k - q_target)))``.

    The output holds class scores on its last axis (as for :class:`CrossEntropy`,
    whose targets, weights and ``accuracy`` it shares).  The loss of an example
    is how much the largest score exceeds the target class's score: zero when
    the target class scores highest.  Weighted: ``sum(w * err) / sum(w)``.
    """

    __extra_registration_keys__ = ()

    def __call__(self, outputs: Mapping[str, Variable]) -> Variable:
        """The mean hinge error."""
        flat, target, n = self._probabilities(outputs)
        true = flat[T.arange(n), target]
        err = T.maximum(0, (flat - true.dimshuffle(0, "x")).max(axis=-1))
        if self._weights is not None:
            return (T.reshape(self._weights, [n]) * err).sum() / self._weights.sum()
        return err.mean()


class KullbackLeiblerDivergence(Loss):
    """Elementwise KL divergence of target distributions from the outputs.

    ``kl = t * log(t / clip(x, eps, 1 - eps))`` with ``t = clip(target, eps,
    1 - eps)`` and ``eps = 1e-8``; the loss is ``mean(|kl|)``, or
    ``sum(|w * kl|) / sum(w)`` when weighted (upstream's formula, absolute
    value included).  Outputs and targets are probability distributions over
    the last axis (a softmax output, normalized targets).
    """

    __extra_registration_keys__ = ("kl", "kld")

    def __call__(self, outputs: Mapping[str, Variable]) -> Variable:
        """The mean absolute elementwise KL term."""
        eps = 1e-8
        t = T.clip(self._target, eps, 1 - eps)
        kl = t * T.log(t / T.clip(self._output(outputs), eps, 1 - eps))
        if self._weights is not None:
            return abs(self._weights * kl).sum() / self._weights.sum()
        return abs(kl).mean()


class MaximumMeanDiscrepancy(Loss):
    """Maximum mean discrepancy between the batch of targets and the batch of outputs.

    ``mean(k(t, t)) - 2 mean(k(t, x)) + mean(k(x, x))``, the kernel taken
    between every pair of examples (first axis); by default a Gaussian kernel
    ``k(a, b) = exp(-|a - b|^2 / bandwidth)`` over the last axis.

    Parameters
    ----------
    kernel : float or callable
        The Gaussian bandwidth (default 1), or a function of two expressions of
        shape ``(N, ..., D)`` returning the pairwise kernel values ``(N, N, ...)``.
    **kwargs
        As :class:`Loss`.

    Notes
    -----
    Upstream ignores ``weighted``.  Here the weights count: example ``i`` has
    the weight ``mean(w[i], axis=-1)`` in both samples, a pair the product of
    its examples' weights, and each term is the weighted mean over the pairs
    (with all weights equal it is upstream's value).
    """

    __extra_registration_keys__ = ("mmd",)

    @staticmethod
    def gaussian(bw: float) -> Callable[[Variable, Variable], Variable]:
        """The Gaussian kernel of bandwidth ``bw``: ``k(x, y)[i, j] = exp(-|x_i - y_j|^2 / bw)``."""

        def kernel(x: Variable, y: Variable) -> Variable:
            r = x.dimshuffle(0, "x", *range(1, x.ndim))
            return T.exp(T.sqr(r - y).sum(axis=-1) / -float(bw))

        return kernel

    def __init__(self, kernel: Any = 1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(kernel, (int, float)) and not isinstance(kernel, bool):
            if not kernel > 0:
                raise ValueError(f"mmd: the kernel bandwidth must be > 0, got {kernel!r}")
            kernel = MaximumMeanDiscrepancy.gaussian(kernel)
        if not callable(kernel):
            raise TypeError(f"mmd: kernel must be a bandwidth (a number) or a callable, got {kernel!r}")
        self.kernel = kernel

    def __call__(self, outputs: Mapping[str, Variable]) -> Variable:
        """The (squared) maximum mean discrepancy."""
        output = self._output(outputs)
        target = self._target
        xx = self.kernel(target, target)
        xy = self.kernel(target, output)
        yy = self.kernel(output, output)
        if self._weights is None:
            return xx.mean() - 2 * xy.mean() + yy.mean()
        w = self._weights.mean(axis=-1)
        pairs = w.dimshuffle(0, "x", *range(1, w.ndim)) * w
        total = pairs.sum()
        return ((pairs * xx).sum() - 2 * (pairs * xy).sum() + (pairs * yy).sum()) / total


class GaussianLogLikelihood(Loss):
    """Negative log-likelihood of the targets under a diagonal Gaussian the network outputs.

    The network computes a mean ``mu`` (output ``mean_name``) and the diagonal
    of a covariance (output ``covar_name``; ``sigma = |covar| + covar_eps``).
    For each example, over the last axis,

    ``nll = 0.5 * sum(log(2 pi) + log(sigma) + (y - mu)^2 / sigma)``

    and the loss is the mean over the examples; weighted, each element's term
    counts with its weight: ``d * sum(w * nll_elem) / sum(w)`` (``d`` the last
    axis' size; the unweighted value when all weights are equal).

    Parameters
    ----------
    mean_name, covar_name : str
        The outputs holding the mean and the covariance diagonal (``':out'``
        is added to a bare layer name).  Defaults ``'mean'`` and ``'covar'``.
    covar_eps : float
        Added to ``|covar|`` to keep the precision finite (default 1e-3).
    **kwargs
        As :class:`Loss` (``output_name`` is not used).

    Notes
    -----
    Upstream's code does not compute its own documented density: it takes
    ``log(sum(prec))`` for the log-determinant of the precision (it is
    ``sum(log(prec))``) and ``eta * prec * eta`` (``mu^2 prec^3``) for the
    quadratic constant (it is ``mu^2 prec``), and it ignores ``weighted``.
    This is the exact negative log-likelihood it documents; the two agree
    only up to a constant, and only where the covariance is 1.
    """

    __extra_registration_keys__ = ("gll",)

    def __init__(self, mean_name: str = "mean", covar_name: str = "covar", covar_eps: float = 1e-3, **kwargs: Any) -> None:
        self.mean_name = mean_name if ":" in mean_name else f"{mean_name}:out"
        self.covar_name = covar_name if ":" in covar_name else f"{covar_name}:out"
        if not isinstance(covar_eps, (int, float)) or isinstance(covar_eps, bool) or not covar_eps >= 0:
            raise ValueError(f"gll: covar_eps must be a number >= 0, got {covar_eps!r}")
        self.covar_eps = float(covar_eps)
        super().__init__(**kwargs)

    def _named(self, outputs: Mapping[str, Variable], name: str) -> Variable:
        if name not in outputs:
            raise KeyError(f"loss {self.form!r}: the graph has no output {name!r}; outputs are {sorted(outputs)}")
        return outputs[name]

    def __call__(self, outputs: Mapping[str, Variable]) -> Variable:
        """The mean negative log-likelihood."""
        mean = self._named(outputs, self.mean_name)
        covar = self._named(outputs, self.covar_name)
        sigma = abs(covar) + self.covar_eps
        err = self._target - mean
        elem = 0.5 * (math.log(2 * math.pi) + T.log(sigma) + err * err / sigma)
        if self._weights is not None:
            d = T.cast(mean.shape[-1], config.floatX)
            return d * (self._weights * elem).sum() / self._weights.sum()
        return elem.sum(axis=-1).mean()
