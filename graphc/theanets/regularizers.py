"""theanets regularizers: penalties added to a network's loss, and noise injected into its graph.

(Lasagne's penalty functions are in :mod:`graphc.regularization`.)

A :class:`Regularizer` either adds a scalar term to the loss (:meth:`~Regularizer.loss`:
:class:`WeightL2`, :class:`WeightL1`, :class:`HiddenL1`, :class:`RecurrentL2`,
:class:`RecurrentNorm`, :class:`RecurrentState`, :class:`Contractive`) or rewrites layer outputs while the graph is built
(:meth:`~Regularizer.modify_graph`: :class:`GaussianNoise`, :class:`BernoulliDropout`).
They are usually made from keyword arguments by :func:`from_kwargs`::

    net.train(data, weight_l2=1e-4, hidden_dropout=0.5)
    net.predict(x, input_noise=0.1)

Patterns are shell-style globs (``fnmatch``) over parameter names
(``'hid1.w'``) or output names (``'hid1:out'``); a tuple of patterns matches
any of them.

Differences from theanets, on purpose:

- the default pattern of :class:`HiddenL1`, :class:`RecurrentL2` and
  :class:`Contractive` with several hidden layers is the tuple of their output
  names; theanets built ``'{a,b}'``, which ``fnmatch`` does not expand, so the
  penalty silently matched nothing;
- :class:`RecurrentL2` computes the formula its documentation gives (the mean
  squared change of the squared state norm between steps); theanets averaged the
  unsquared differences, a telescoping sum that can be negative.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from ..tensor.random import RandomStreams
from ..tensor.variable import Variable
from ..train.grad import grad as _grad
from .util import ConfigurationError, _patterns, outputs_matching, params_matching

__all__ = [
    "Regularizer",
    "WeightL2",
    "WeightL1",
    "HiddenL1",
    "RecurrentL2",
    "RecurrentNorm",
    "RecurrentState",
    "Contractive",
    "GaussianNoise",
    "BernoulliDropout",
    "from_kwargs",
    "params_matching",
    "outputs_matching",
    "DEFAULT_NOISE_SEED",
    "options",
]

DEFAULT_NOISE_SEED = 12345
"""Seed of the noise/dropout stream when none is given (MRG_RandomStreams' default, as in theanets)."""


def _hidden_names(layers: Sequence[Any]) -> tuple[str, ...]:
    return tuple(layer.output_name for layer in layers[1:-1])


def _mean_of(terms: list[Any]) -> Any:
    if not terms:
        return 0
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total / len(terms)


class Regularizer:
    """A theanets regularizer: a loss term, or a rewrite of layer outputs.

    Subclasses register themselves by their lowercase class name and by the
    names in :attr:`aliases`; :meth:`build` makes one from any of them.

    Parameters
    ----------
    pattern : str or tuple of str, optional
        Which parameters or outputs it applies to (glob patterns).
    weight : float
        The strength: the coefficient of the loss term, a noise level, or a
        dropout probability.

    Raises
    ------
    ValueError
        For a weight that is not a finite number >= 0.
    """

    aliases: ClassVar[tuple[str, ...]] = ()
    _registry: ClassVar[dict[str, type[Regularizer]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__name__.startswith("_"):
            return  # private bases are not regularizers of their own
        for key in (cls.__name__.lower(), *cls.__dict__.get("aliases", ())):  # aliases are not inherited
            Regularizer._registry[key] = cls

    def __init__(self, pattern: Any = None, weight: float = 0.0) -> None:
        if pattern is not None:
            pattern = _patterns(pattern, type(self).__name__)
            pattern = pattern[0] if len(pattern) == 1 else pattern
        if isinstance(weight, bool) or not isinstance(weight, (int, float, np.integer, np.floating)):
            raise TypeError(f"{type(self).__name__}: weight must be a number, got {weight!r}")
        if not np.isfinite(weight) or weight < 0:
            raise ValueError(f"{type(self).__name__}: weight must be a finite number >= 0, got {weight!r}")
        self.pattern = pattern
        self.weight = float(weight)

    @classmethod
    def is_registered(cls, key: str) -> bool:
        """Whether ``key`` names a regularizer."""
        return isinstance(key, str) and key.lower() in cls._registry

    @classmethod
    def build(cls, key: str, *args: Any, **kwargs: Any) -> Regularizer:
        """A regularizer of the registered name ``key``: ``Regularizer.build('weight_l2', 0.01)``.

        Positional arguments go to the constructor (``pattern``, ``weight``),
        except that a lone number is the weight: upstream passed it on as the
        pattern, which left the regularizer with weight 0 and a pattern that
        matches nothing.

        Raises
        ------
        ValueError
            For an unknown name, listing the known ones.
        """
        if not cls.is_registered(key):
            raise ValueError(f"unknown regularizer {key!r}; known: {', '.join(sorted(cls._registry))}")
        if (
            len(args) == 1
            and "weight" not in kwargs
            and isinstance(args[0], (int, float, np.integer, np.floating))
            and not isinstance(args[0], bool)
        ):
            args, kwargs = (), {**kwargs, "weight": args[0]}
        return cls._registry[key.lower()](*args, **kwargs)

    def modify_graph(self, outputs: dict[str, Variable]) -> None:
        """Rewrite some of one layer's outputs in place (default: nothing)."""

    def loss(self, layers: Sequence[Any], outputs: Mapping[str, Variable]) -> Any:
        """The unweighted loss term for the network's layers and outputs (default 0)."""
        return 0

    def key(self) -> tuple[Any, ...]:
        """What identifies the graph this regularizer builds (graphs are cached by it)."""
        return (type(self).__name__, self.pattern, self.weight)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(pattern={self.pattern!r}, weight={self.weight!r})"


class WeightL2(Regularizer):
    """Weight decay: the mean over matching weight arrays (ndim > 1) of ``mean(W ** 2)``.

    Keyword names: ``weight_l2``, ``weight_decay``; default pattern ``'*'``.
    """

    aliases = ("weight_l2", "weight_decay")

    def _weights(self, layers: Sequence[Any]) -> list[Any]:
        return [v for _, v in params_matching(layers, self.pattern or "*") if v.ndim > 1]

    def loss(self, layers: Sequence[Any], outputs: Mapping[str, Variable]) -> Any:
        return _mean_of([(v * v).mean() for v in self._weights(layers)])


class WeightL1(WeightL2):
    """Weight sparsity: the mean over matching weight arrays (ndim > 1) of ``mean(|W|)``.

    Keyword names: ``weight_l1``, ``weight_sparsity``.
    """

    aliases = ("weight_l1", "weight_sparsity")

    def loss(self, layers: Sequence[Any], outputs: Mapping[str, Variable]) -> Any:
        return _mean_of([abs(v).mean() for v in self._weights(layers)])


class HiddenL1(Regularizer):
    """Activation sparsity: the mean over matching outputs of ``mean(|h|)``.

    Keyword names: ``hidden_l1``, ``hidden_sparsity``; default: the hidden
    layers' outputs.
    """

    aliases = ("hidden_l1", "hidden_sparsity")

    def _targets(self, layers: Sequence[Any], outputs: Mapping[str, Variable]) -> list[Variable]:
        pattern = self.pattern if self.pattern is not None else _hidden_names(layers)
        return [expr for _, expr in outputs_matching(outputs, pattern)] if pattern else []

    def loss(self, layers: Sequence[Any], outputs: Mapping[str, Variable]) -> Any:
        return _mean_of([abs(h).mean() for h in self._targets(layers, outputs)])


class RecurrentL2(HiddenL1):
    """Smooth recurrent states: mean over matching 3-D outputs of ``mean((|z_t|^2 - |z_{t-1}|^2)^2)``.

    Keyword name: ``recurrent_l2``.
    """

    aliases = ("recurrent_l2",)

    def loss(self, layers: Sequence[Any], outputs: Mapping[str, Variable]) -> Any:
        terms = []
        for h in self._targets(layers, outputs):
            if h.ndim == 3:
                norms = (h * h).sum(axis=-1)
                delta = norms[:, 1:] - norms[:, :-1]
                terms.append((delta * delta).mean())
        return _mean_of(terms)


def _sequences(reg: Regularizer, outputs: Mapping[str, Variable]) -> list[Variable]:
    """The ``(batch, time, ...)`` outputs matching ``reg.pattern``, which must be given."""
    if reg.pattern is None:
        raise ConfigurationError(
            f"{type(reg).__name__} requires a pattern naming recurrent outputs, e.g. "
            f"{type(reg).aliases[0]}=dict(weight=0.1, pattern='hid1:out')"
        )
    return [expr for _, expr in outputs_matching(outputs, reg.pattern) if expr.ndim == 3]


class RecurrentNorm(Regularizer):
    """Stable norms over time (Krueger & Memisevic 2016): mean over matching outputs of
    ``mean_{b,t}((|z_t|^2 - |z_{t-1}|^2)^2)``, with the squared L2 norm over the last axis.

    Keyword name: ``recurrent_norm``.  A ``pattern`` is required (as upstream:
    :class:`~graphc.theanets.util.ConfigurationError` without one); matching
    outputs that are not ``(batch, time, n)`` are skipped.  Upstream averaged
    the unsquared differences (a telescoping sum that can be negative); this
    computes the formula its documentation gives.
    """

    aliases = ("recurrent_norm",)

    def loss(self, layers: Sequence[Any], outputs: Mapping[str, Variable]) -> Any:
        terms = []
        for h in _sequences(self, outputs):
            norms = (h * h).sum(axis=-1)
            delta = norms[:, 1:] - norms[:, :-1]
            terms.append((delta * delta).mean())
        return _mean_of(terms)


class RecurrentState(Regularizer):
    """Slowly changing states: mean over matching outputs of ``mean((z_t - z_{t-1})^2)``.

    Keyword name: ``recurrent_state``.  A ``pattern`` is required (as upstream:
    :class:`~graphc.theanets.util.ConfigurationError` without one); matching
    outputs that are not ``(batch, time, n)`` are skipped.
    """

    aliases = ("recurrent_state",)

    def loss(self, layers: Sequence[Any], outputs: Mapping[str, Variable]) -> Any:
        terms = []
        for h in _sequences(self, outputs):
            delta = h[:, 1:] - h[:, :-1]
            terms.append((delta * delta).mean())
        return _mean_of(terms)


class Contractive(HiddenL1):
    """Contractive penalty: mean over matching outputs of ``mean((d mean(h) / d x) ** 2)``.

    Parameters
    ----------
    pattern, weight
        As :class:`Regularizer` (default pattern: the hidden outputs).
    wrt : str
        Glob over the input layers' variable names (default ``'*'``): the
        inputs ``x`` the derivative is taken with respect to.
    """

    def __init__(self, pattern: Any = None, weight: float = 0.0, wrt: str = "*") -> None:
        super().__init__(pattern=pattern, weight=weight)
        self.wrt = wrt

    def key(self) -> tuple[Any, ...]:
        return (*super().key(), self.wrt)

    def loss(self, layers: Sequence[Any], outputs: Mapping[str, Variable]) -> Any:
        from .layers.feedforward import Input

        targets = self._targets(layers, outputs)
        wrt = [lyr.input for lyr in layers if isinstance(lyr, Input) and fnmatch.fnmatchcase(lyr.input.name, self.wrt)]
        if not targets or not wrt:
            return 0
        terms = []
        for h in targets:
            grads = _grad(h.mean(), wrt, disconnected_inputs="ignore")
            terms.append(_mean_of([(g * g).mean() for g in grads]))
        return _mean_of(terms)


class _Noise(Regularizer):
    """Base of the graph-rewriting regularizers: a sample from ``rng`` per matching output."""

    suffix: ClassVar[str] = ""

    def __init__(self, pattern: Any = "*:out", weight: float = 0.0, rng: Any = None) -> None:
        super().__init__(pattern=pattern, weight=weight)
        if rng is None or isinstance(rng, (int, np.integer)):
            rng = RandomStreams(DEFAULT_NOISE_SEED if rng is None else int(rng))
        if not isinstance(rng, RandomStreams):
            raise TypeError(f"{type(self).__name__}: rng must be a RandomStreams or an int seed, got {rng!r}")
        self.rng = rng

    def _sample(self, expr: Variable) -> Variable:
        raise NotImplementedError

    def modify_graph(self, outputs: dict[str, Variable]) -> None:
        for name, expr in list(outputs_matching(outputs, self.pattern)):
            if name.endswith(("-prenoise", "-predrop")):
                continue
            outputs[name + self.suffix] = expr
            outputs[name] = self._sample(expr)


class GaussianNoise(_Noise):
    """Additive noise: matching outputs become ``h + N(0, weight**2)`` (``h`` kept as ``'<name>-prenoise'``).

    Keyword names: ``input_noise``, ``hidden_noise``, ``output_noise``, ``noise`` (a dict pattern -> std).
    """

    suffix = "-prenoise"

    def _sample(self, expr: Variable) -> Variable:
        return expr + self.rng.normal(size=expr.shape, std=self.weight, dtype=expr.dtype)


class BernoulliDropout(_Noise):
    """Dropout: matching outputs become ``h * m``, ``m ~ Bernoulli(1 - weight)``, not rescaled (as theanets).

    Keyword names: ``input_dropout``, ``hidden_dropout``, ``output_dropout``,
    ``dropout`` (a dict pattern -> probability).  ``weight`` must be < 1.
    """

    suffix = "-predrop"

    def __init__(self, pattern: Any = "*:out", weight: float = 0.0, rng: Any = None) -> None:
        super().__init__(pattern=pattern, weight=weight, rng=rng)
        if self.weight >= 1:
            raise ValueError(f"BernoulliDropout: the dropout probability must be < 1, got {weight!r}")

    def _sample(self, expr: Variable) -> Variable:
        return expr * self.rng.binomial(size=expr.shape, n=1, p=1.0 - self.weight, dtype=expr.dtype)


_CANNED = {"dropout": BernoulliDropout, "noise": GaussianNoise}

_FIXED_OPTIONS = frozenset(
    {"regularizers", "rng", "monitors"}
    | {f"{group}_{kind}" for group in ("input", "hidden", "output") for kind in _CANNED}
    | set(_CANNED)
)


def options() -> frozenset[str]:
    """Every keyword :func:`from_kwargs` understands, registered subclasses included.

    (``monitors`` is read by :meth:`Network.monitors`.)
    """
    return _FIXED_OPTIONS | frozenset(Regularizer._registry)


def from_kwargs(network: Any, **kwargs: Any) -> list[Regularizer]:
    """The regularizers that theanets' keyword arguments ask for.

    Parameters
    ----------
    network : Network
        The network they regularize (its layers give the default patterns).
    regularizers : list of Regularizer or dict, optional
        A list is returned as is; a dict is merged into ``kwargs``.
    rng : RandomStreams or int, optional
        The stream (or seed) for noise and dropout; default seed
        :data:`DEFAULT_NOISE_SEED`.
    input_dropout, hidden_dropout, output_dropout : float
        Dropout probability on the input layers', the hidden layers' and the
        output layer's outputs.
    input_noise, hidden_noise, output_noise : float
        Standard deviation of Gaussian noise added there.
    dropout, noise : dict
        ``{pattern: level}`` for any outputs.
    **kwargs
        Any registered regularizer name (``weight_l2=0.1``, or a dict of its
        arguments: ``weight_l2={'weight': 0.1, 'pattern': 'hid1.w'}``);
        other keys are ignored.

    Returns
    -------
    list of Regularizer

    Raises
    ------
    TypeError, ValueError
        For a value that is neither a number nor a dict, or a bad weight.
    """
    from .layers.feedforward import Input

    regs = kwargs.get("regularizers")
    if isinstance(regs, (tuple, list)):
        bad = [r for r in regs if not isinstance(r, Regularizer)]
        if bad:
            raise TypeError(f"regularizers: expected Regularizer instances, got {bad!r}")
        return list(regs)
    if isinstance(regs, Mapping):
        kwargs = {**kwargs, **regs}
    rng = kwargs.get("rng")
    stream = rng if isinstance(rng, RandomStreams) else RandomStreams(
        int(rng) if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) else DEFAULT_NOISE_SEED
    )
    layers = network.layers
    groups = {
        "input": tuple(lyr.output_name for lyr in layers if isinstance(lyr, Input)),
        "hidden": _hidden_names(layers),
        "output": (layers[-1].output_name,) if layers else (),
    }
    result: list[Regularizer] = []
    for kind, cls in _CANNED.items():
        spec: dict[Any, Any] = {pattern: kwargs.get(f"{group}_{kind}", 0) for group, pattern in groups.items()}
        extra = kwargs.get(kind) or {}
        if not isinstance(extra, Mapping):
            raise TypeError(f"{kind}: expected a dict of output pattern -> level, got {extra!r}")
        spec.update(extra)
        for pattern, level in spec.items():
            if level and pattern:
                result.append(cls(pattern=pattern, weight=level, rng=stream))
    for key, value in kwargs.items():
        if key in _CANNED or not Regularizer.is_registered(key) or value is None or value is False:
            continue
        if isinstance(value, Mapping):
            result.append(Regularizer.build(key, **value))
        elif value:
            result.append(Regularizer.build(key, weight=value))
    return result
