"""theanets activation functions, built from strings such as ``'relu'`` or ``'relu+norm:z'``.

Every name of the theanets reference is here: ``linear``, ``logistic``/``sigmoid``,
``tanh``, ``softmax``, ``softplus``, ``relu`` (also ``rect:max``), ``rect:min``
(``min(x, 1)``), ``rect:minmax`` (``clip(x, 0, 1)``), ``norm:mean``, ``norm:max``,
``norm:std``, ``norm:z`` (per example, over the last axis), and the parametric
``prelu``, ``lgrelu``, ``elu`` and ``maxout:k``, whose parameters belong to the
layer (``<layer>.leak``, ``<layer>.gain``, ``<layer>.slope``, ``<layer>.intercept``).
Names joined with ``'+'`` compose left to right: ``'relu+norm:z'`` is
``norm:z(relu(x))``.

Subclasses of :class:`Activation` register under their lowercased class name
(and ``__extra_registration_keys__``), as theanets' do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from .. import tensor as T
from ..config import config
from ..tensor.shared import SharedVariable, shared
from ..tensor.variable import Variable

__all__ = ["Activation", "build", "check", "COMMON", "EPSILON"]

EPSILON = 1e-8
"""Added to the divisor of the ``norm:*`` activations (theanets' value)."""


def _linear(x: Variable) -> Variable:
    return x


def _relu(x: Variable) -> Variable:
    return T.relu(x)


def _rect_min(x: Variable) -> Variable:
    return T.minimum(x, 1.0)


def _rect_minmax(x: Variable) -> Variable:
    return T.clip(x, 0.0, 1.0)


def _softmax(x: Variable) -> Variable:
    return T.nnet.softmax(x, axis=-1)


def _norm_mean(x: Variable) -> Variable:
    return x - x.mean(axis=-1, keepdims=True)


def _norm_max(x: Variable) -> Variable:
    return x / (abs(x).max(axis=-1, keepdims=True) + EPSILON)


def _norm_std(x: Variable) -> Variable:
    return x / (x.std(axis=-1, keepdims=True) + EPSILON)


def _norm_z(x: Variable) -> Variable:
    return (x - x.mean(axis=-1, keepdims=True)) / (x.std(axis=-1, keepdims=True) + EPSILON)


COMMON: dict[str, Callable[[Variable], Variable]] = {
    "linear": _linear,
    "logistic": T.sigmoid,
    "sigmoid": T.sigmoid,
    "tanh": T.tanh,
    "softmax": _softmax,
    "softplus": T.softplus,
    "relu": _relu,
    "rect:max": _relu,
    "rect:min": _rect_min,
    "rect:minmax": _rect_minmax,
    "norm:mean": _norm_mean,
    "norm:max": _norm_max,
    "norm:std": _norm_std,
    "norm:z": _norm_z,
}
"""The activations without parameters, by name."""


class Activation:
    """An activation function of a layer, possibly with parameters of its own.

    Parameters
    ----------
    name : str
        The name it was built from (``'prelu'``, ``'maxout:3'``...).
    layer : theanets layer
        The layer it belongs to; parameters are named after it and sized by
        its ``size``, and drawn from its ``rng``.
    **kwargs
        Options of the activation (``pieces`` for maxout).

    Attributes
    ----------
    name : str
    layer : Layer
    params : list of SharedVariable
    """

    _registry: ClassVar[dict[str, type[Activation]]] = {}
    __extra_registration_keys__: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        Activation._registry[cls.__name__.lower()] = cls
        for key in cls.__dict__.get("__extra_registration_keys__", ()):
            Activation._registry[key.lower()] = cls

    def __init__(self, name: str, layer: Any, **kwargs: Any) -> None:
        self.name = name
        self.layer = layer
        self.kwargs = kwargs
        self.params: list[SharedVariable] = []

    def _param(self, suffix: str, value: np.ndarray) -> SharedVariable:
        param = shared(np.asarray(value, dtype=config.floatX), name=f"{self.layer.name}.{suffix}")
        self.params.append(param)
        return param

    def _draw(self, *shape: int) -> np.ndarray:
        # cast before scaling, as upstream (``0.1 * abs(randn(n).astype(floatX))``)
        return self.layer.rng.randn(*shape).astype(config.floatX)

    def __call__(self, x: Variable) -> Variable:
        """The symbolic output for the input ``x``."""
        raise NotImplementedError(f"activation {self.name!r} does not implement __call__")

    def __repr__(self) -> str:
        return f"<activation {self.name}>"


class Prelu(Activation):
    """Parametric rectifier: ``x`` for ``x >= 0``, ``leak * x`` below.

    ``leak`` has one entry per unit, initially ``0.1 * |N(0, 1)|``.
    """

    __extra_registration_keys__ = ("leaky-relu",)

    def __init__(self, name: str, layer: Any, **kwargs: Any) -> None:
        super().__init__(name, layer, **kwargs)
        self.leak = self._param("leak", 0.1 * np.abs(self._draw(layer.size)))

    def __call__(self, x: Variable) -> Variable:
        return T.relu(x) + self.leak * T.minimum(x, 0.0)


class LGrelu(Activation):
    """Rectifier with a learned gain and leak: ``gain * x`` for ``x >= 0``, ``leak * x`` below.

    Initially ``gain = 0.1 * |N(0, 1)|`` and ``leak = 0.1 * |N(0, 1)|`` per unit,
    drawn in that order from the layer's ``rng``, as upstream (so a new layer's
    positive slope starts near 0.1, not 1).
    """

    __extra_registration_keys__ = ("leaky-gain-relu",)

    def __init__(self, name: str, layer: Any, **kwargs: Any) -> None:
        super().__init__(name, layer, **kwargs)
        self.gain = self._param("gain", 0.1 * np.abs(self._draw(layer.size)))
        self.leak = self._param("leak", 0.1 * np.abs(self._draw(layer.size)))

    def __call__(self, x: Variable) -> Variable:
        return self.gain * T.relu(x) + self.leak * T.minimum(x, 0.0)


class Elu(Activation):
    """Exponential linear unit with a learned gain: ``x`` for ``x > 0``, ``gain * (exp(x) - 1)`` below.

    Initially ``gain = 1 + 0.1 * |N(0, 1)|`` per unit.
    """

    def __init__(self, name: str, layer: Any, **kwargs: Any) -> None:
        super().__init__(name, layer, **kwargs)
        self.gain = self._param("gain", 1.0 + 0.1 * np.abs(self._draw(layer.size)))

    def __call__(self, x: Variable) -> Variable:
        # expm1 of min(x, 0): the branch not taken stays finite, so its gradient is not NaN
        return T.switch(T.gt(x, 0), x, self.gain * T.expm1(T.minimum(x, 0.0)))


class Maxout(Activation):
    """Piecewise linear: ``max_k(slope[:, k] * x + intercept[:, k])`` per unit.

    ``slope`` and ``intercept`` are ``(size, pieces)``, initially ``N(0, 1)``.
    Built from ``'maxout:k'``.
    """

    def __init__(self, name: str, layer: Any, pieces: int = 2, **kwargs: Any) -> None:
        super().__init__(name, layer, pieces=pieces, **kwargs)
        self.pieces = int(pieces)
        self.slope = self._param("slope", self._draw(layer.size, self.pieces))
        self.intercept = self._param("intercept", self._draw(layer.size, self.pieces))

    def __call__(self, x: Variable) -> Variable:
        return T.max(T.expand_dims(x, x.ndim) * self.slope + self.intercept, axis=-1)


class _Composed:
    """Activations applied left to right (``'relu+tanh'`` is ``tanh(relu(x))``)."""

    def __init__(self, parts: list[Any]) -> None:
        self.parts = parts
        name = parts[0].name
        for p in parts[1:]:
            name = f"{p.name}({name})"
        self.name = name
        self.params = [q for p in parts for q in getattr(p, "params", [])]

    def __call__(self, x: Variable) -> Variable:
        for p in self.parts:
            x = p(x)
        return x


class _Plain:
    """A parameterless activation from :data:`COMMON`."""

    def __init__(self, name: str, fn: Callable[[Variable], Variable]) -> None:
        self.name = name
        self.fn = fn
        self.params: list[SharedVariable] = []

    def __call__(self, x: Variable) -> Variable:
        return self.fn(x)


def _layer_label(layer: Any) -> str:
    name = getattr(layer, "name", None)
    return f"layer {name!r}" if name else "layer"


def _parse(name: str, layer: Any) -> tuple[type[Activation] | None, dict[str, Any]]:
    """The class and options for one (non-composed) activation name."""
    if name in COMMON:
        return None, {}
    key = name.lower()
    options: dict[str, Any] = {}
    if ":" in key and key.split(":", 1)[0] == "maxout":
        base, pieces = key.split(":", 1)
        try:
            k = int(pieces)
        except ValueError:
            k = 0
        if k < 1:
            raise ValueError(f"{_layer_label(layer)}: activation {name!r} needs a positive number of pieces, e.g. 'maxout:3'")
        key, options = base, {"pieces": k}
    elif key == "maxout":
        raise ValueError(f"{_layer_label(layer)}: activation {name!r} needs a number of pieces, e.g. 'maxout:3'")
    cls = Activation._registry.get(key)
    if cls is None:
        known = sorted(set(COMMON) | set(Activation._registry) | {"maxout:k"})
        raise ValueError(f"{_layer_label(layer)}: unknown activation {name!r}; known activations: {', '.join(known)}")
    return cls, options


def check(name: Any, layer: Any = None) -> None:
    """Raise ``ValueError`` (naming the layer) if ``name`` is not a valid activation.

    Parameters
    ----------
    name : str or Activation
    layer : Layer, optional
        Named in the error message.
    """
    if isinstance(name, Activation):
        return
    if not isinstance(name, str) or not name:
        raise ValueError(f"{_layer_label(layer)}: activation must be a name such as 'relu', got {name!r}")
    for part in name.split("+"):
        _parse(part.strip(), layer)


def build(name: Any, layer: Any, **kwargs: Any) -> Any:
    """Build the activation ``name`` for ``layer``.

    Parameters
    ----------
    name : str or Activation
        An activation name, a ``'+'``-joined composition, or a built instance.
    layer : Layer
        The owner: parametric activations take its ``name``, ``size`` and ``rng``.
    **kwargs
        Passed to :class:`Activation` subclasses.

    Returns
    -------
    callable
        With ``name`` and ``params`` attributes.

    Raises
    ------
    ValueError
        For an unknown name (the message names the layer and the string), or
        when two parts of a composition would create parameters of one name.
    """
    if isinstance(name, Activation):
        return name
    check(name, layer)
    parts: list[Any] = []
    for part in name.split("+"):
        part = part.strip()
        cls, options = _parse(part, layer)
        if cls is None:
            parts.append(_Plain(part, COMMON[part]))
        else:
            parts.append(cls(part, layer, **{**kwargs, **options}))
    act = parts[0] if len(parts) == 1 else _Composed(parts)
    names = [p.name for p in act.params]
    dups = sorted({n for n in names if names.count(n) > 1})
    if dups:
        raise ValueError(f"{_layer_label(layer)}: activation {name!r} creates parameters {dups} twice")
    return act
