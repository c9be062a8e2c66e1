"""Layers that apply a fixed function or a few learned coefficients (Lasagne's ``layers.special``).

:class:`NonlinearityLayer`, :class:`BiasLayer`, :class:`ScaleLayer`,
:func:`standardize`, :class:`ExpressionLayer`, :class:`ParametricRectifierLayer`
(:func:`prelu`) and :class:`RandomizedRectifierLayer` (:func:`rrelu`).

``InverseLayer`` lives in :mod:`.inverse` and the spatial transformer layers
(``TransformerLayer``, ``TPSTransformerLayer``) in :mod:`.transformer`; Lasagne
defines them here, so they are re-exported.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import init, nonlinearities
from .. import tensor as T
from ..config import config
from ..ir.types import Dim
from ..random import get_rng
from ..tensor.variable import Variable
from .base import Layer, check_shape, format_layer
from .inverse import InverseLayer  # Lasagne defines it in layers.special
from .transformer import TPSTransformerLayer, TransformerLayer  # Lasagne defines them in layers.special

__all__ = [
    "InverseLayer",
    "NonlinearityLayer",
    "BiasLayer",
    "ScaleLayer",
    "standardize",
    "ExpressionLayer",
    "TransformerLayer",
    "TPSTransformerLayer",
    "ParametricRectifierLayer",
    "prelu",
    "RandomizedRectifierLayer",
    "rrelu",
]

# RandomStreams seeds drawn as Lasagne draws them, so a seeded get_rng() reproduces the masks
SEED_HIGH = 2147462579


def resolve_axes(
    layer: Any,
    axes: Any,
    ndim: int,
    what: str = "shared_axes",
    auto: tuple[int, ...] | None = None,
    allow_all: bool = False,
) -> tuple[int, ...]:
    """An axes argument as a tuple of non-negative axes, or ``ValueError`` naming ``layer``.

    Parameters
    ----------
    layer : Layer
        For the error message.
    axes : 'auto', 'all', int or sequence of int
        Negative axes count from the end.
    ndim : int
        Number of input dimensions.
    what : str
        The argument's name, for the error message.
    auto : tuple of int, optional
        What ``'auto'`` stands for; None when ``'auto'`` is not accepted.
    allow_all : bool
        Whether ``'all'`` (every axis) is accepted.

    Returns
    -------
    tuple of int

    Raises
    ------
    ValueError
        For an unknown string, a non-int entry, an axis out of range or a repeated axis.
    """
    if isinstance(axes, str):
        if axes == "auto" and auto is not None:
            return tuple(auto)
        if axes == "all" and allow_all:
            return tuple(range(ndim))
        accepted = ["an int", "a tuple of ints"] + (["'auto'"] if auto is not None else []) + (["'all'"] if allow_all else [])
        options = ", ".join(accepted[:-1]) + " or " + accepted[-1]
        raise ValueError(f"{format_layer(layer)}: {what} must be {options}; got {axes!r}")
    if isinstance(axes, (int, np.integer)) and not isinstance(axes, bool):
        axes = (axes,)
    try:
        items = tuple(axes)
    except TypeError:
        raise ValueError(f"{format_layer(layer)}: {what} must be an int or a tuple of ints, got {axes!r}") from None
    out = []
    for a in items:
        if not isinstance(a, (int, np.integer)) or isinstance(a, bool):
            raise ValueError(f"{format_layer(layer)}: {what} {items!r} holds {a!r}, which is not an int axis")
        if not -ndim <= a < ndim:
            raise ValueError(
                f"{format_layer(layer)}: {what} {items!r} names axis {int(a)}, but the input has {ndim} dimensions"
            )
        out.append(int(a) % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{format_layer(layer)}: {what} {items!r} repeats an axis")
    return tuple(out)


def broadcast_pattern(ndim: int, skipped: tuple[int, ...]) -> list[Any]:
    """The dimshuffle pattern that spreads a parameter over ``ndim`` axes: ``'x'`` on ``skipped``."""
    counter = iter(range(ndim - len(skipped)))
    return ["x" if axis in skipped else next(counter) for axis in range(ndim)]


def static_or_symbolic_shape(x: Variable, ones: tuple[int, ...] = ()) -> tuple[Any, ...]:
    """``x``'s shape as a tuple of ints (static sizes) and symbolic scalars, with 1 on ``ones``."""
    return tuple(1 if a in ones else (d if not isinstance(d, Dim) else x.shape[a]) for a, d in enumerate(x.type.shape))


def _param_shape(layer: Any, skipped: tuple[int, ...], what: str) -> tuple[int, ...]:
    shape = tuple(size for axis, size in enumerate(layer.input_shape) if axis not in skipped)
    if any(size is None for size in shape):
        raise ValueError(
            f"{format_layer(layer)} needs specified input sizes for all axes that {what} are not shared over; "
            f"got input shape {layer.input_shape} with shared axes {skipped}"
        )
    return shape


def _auto_axes(ndim: int) -> tuple[int, ...]:
    """Every axis but the second (the batch axis, and the spatial axes of feature maps)."""
    return (0,) + tuple(range(2, ndim))


def _check_callable(layer: Any, fn: Any, what: str) -> None:
    if not callable(fn):
        raise TypeError(f"{format_layer(layer)}: {what} must be callable, got {type(fn).__name__}")


class NonlinearityLayer(Layer):
    """A layer that applies a nonlinearity elementwise.

    Parameters
    ----------
    incoming : Layer or tuple
    nonlinearity : callable or None
        None means linear.
    """

    def __init__(self, incoming: Any, nonlinearity: Any = nonlinearities.rectify, **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        self.nonlinearity = nonlinearities.identity if nonlinearity is None else nonlinearity
        # not checked here: Lasagne moves whatever a layer held (batch_norm's macro, a sentinel in tests)

    def get_output_for(self, input: Any, **kwargs: Any) -> Variable:  # noqa: A002
        _check_callable(self, self.nonlinearity, "nonlinearity")
        return self.nonlinearity(input)


class BiasLayer(Layer):
    """Adds a (trainable) bias: ``x + b``.

    Parameters
    ----------
    incoming : Layer or tuple
    b : initializer, array, shared variable, expression or None
        Shape: the input shape without the ``shared_axes``.  None passes the
        input through unchanged.
    shared_axes : 'auto', int or tuple of int
        Axes the bias is shared (broadcast) over; ``'auto'`` is every axis but
        the second (per unit for dense layers, per channel for feature maps).

    Raises
    ------
    ValueError
        For bad ``shared_axes``, an unknown size on an axis that is not
        shared, or a ``b`` array of the wrong shape.

    Examples
    --------
    >>> BiasLayer((20, 30, 40, 50), shared_axes=(0, 2)).b.get_value().shape
    (30, 50)
    """

    def __init__(self, incoming: Any, b: Any = init.Constant(0), shared_axes: Any = "auto", **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        ndim = len(self.input_shape)
        self.shared_axes = resolve_axes(self, shared_axes, ndim, auto=_auto_axes(ndim))
        if b is None:
            self.b = None
        else:
            self.b = self.add_param(b, _param_shape(self, self.shared_axes, "biases"), name="b", regularizable=False)

    def get_output_for(self, input: Any, **kwargs: Any) -> Variable:  # noqa: A002
        if self.b is None:
            return input  # as it came, as in Lasagne
        x = T.as_tensor_variable(input)
        return x + self.b.dimshuffle(*broadcast_pattern(x.ndim, self.shared_axes))


class ScaleLayer(Layer):
    """Multiplies by learned coefficients: ``x * scales``.

    Parameters
    ----------
    incoming : Layer or tuple
    scales : initializer, array, shared variable or expression
        Shape: the input shape without the ``shared_axes``.
    shared_axes : 'auto', int or tuple of int
        As for :class:`BiasLayer`.

    Raises
    ------
    ValueError
        As :class:`BiasLayer`.
    """

    def __init__(self, incoming: Any, scales: Any = init.Constant(1), shared_axes: Any = "auto", **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        ndim = len(self.input_shape)
        self.shared_axes = resolve_axes(self, shared_axes, ndim, auto=_auto_axes(ndim))
        shape = _param_shape(self, self.shared_axes, "scales")
        self.scales = self.add_param(scales, shape, name="scales", regularizable=False)

    def get_output_for(self, input: Any, **kwargs: Any) -> Variable:  # noqa: A002
        x = T.as_tensor_variable(input)
        return x * self.scales.dimshuffle(*broadcast_pattern(x.ndim, self.shared_axes))


def standardize(layer: Any, offset: Any, scale: Any, shared_axes: Any) -> ScaleLayer:
    """Subtract a fixed ``offset`` and divide by a fixed ``scale`` (training-set statistics).

    Adds a :class:`BiasLayer` holding ``-offset`` and a :class:`ScaleLayer`
    holding ``1 / scale``, neither tagged ``trainable``.

    Parameters
    ----------
    layer : Layer or tuple
    offset : array, shared variable or expression
    scale : array, shared variable or expression
        As in Lasagne, ``1 / scale`` is an expression, so a numpy ``scale``
        becomes a constant of the graph rather than a shared parameter.
    shared_axes : 'auto', int or tuple of int

    Returns
    -------
    ScaleLayer

    Examples
    --------
    >>> import numpy as np
    >>> from graphc.layers import InputLayer, standardize
    >>> data = np.random.default_rng(0).normal(size=(100, 20))
    >>> l_std = standardize(InputLayer((None, 20)), data.mean(axis=0), data.std(axis=0), shared_axes=0)
    >>> l_std.output_shape
    (None, 20)
    """
    layer = BiasLayer(layer, -offset, shared_axes)
    layer.params[layer.b].discard("trainable")
    layer = ScaleLayer(layer, T.reciprocal(scale), shared_axes)
    layer.params[layer.scales].discard("trainable")
    return layer


class ExpressionLayer(Layer):
    """Applies ``function`` to its input.

    Parameters
    ----------
    incoming : Layer or tuple
    function : callable
        Expression -> expression.
    output_shape : None, tuple, callable or 'auto'
        None: the input shape.  A tuple: that shape for any input.  A
        callable: ``output_shape(input_shape)``.  ``'auto'``: the static shape
        of ``function`` applied to a symbolic input of the input shape (sizes
        that stay symbolic are None).

    Examples
    --------
    >>> from graphc.layers import ExpressionLayer, InputLayer
    >>> l1 = ExpressionLayer(InputLayer((32, 100, 20)), lambda X: X.mean(-1), output_shape='auto')
    >>> l1.output_shape
    (32, 100)
    """

    def __init__(self, incoming: Any, function: Callable[[Any], Any], output_shape: Any = None, **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        _check_callable(self, function, "function")
        self.function = function
        self._auto_cache: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        self._output_shape: Any
        if output_shape is None:
            self._output_shape = None
        elif isinstance(output_shape, str):
            if output_shape != "auto":
                raise ValueError(f"{format_layer(self)}: output_shape must be None, a tuple, a callable or 'auto', got {output_shape!r}")
            self._output_shape = "auto"
        elif callable(output_shape):
            self._output_shape = None
            self.get_output_shape_for = output_shape  # type: ignore[method-assign]
        else:
            self._output_shape = check_shape(output_shape, f"{format_layer(self)} output_shape")

    def get_output_shape_for(self, input_shape: Any) -> Any:
        if self._output_shape is None:
            return input_shape
        if self._output_shape == "auto":
            key = tuple(input_shape)
            if key not in self._auto_cache:
                self._auto_cache[key] = self._infer_shape(key)
            return self._auto_cache[key]
        return self._output_shape

    def _infer_shape(self, input_shape: tuple[Any, ...]) -> tuple[Any, ...]:
        # a symbolic input instead of Lasagne's zero-filled dummy: sizes come from type inference,
        # nothing is computed, and sizes that depend on the unknown ones stay unknown (None)
        probe = T.tensor(config.floatX, shape=input_shape)
        out = T.as_tensor_variable(self.function(probe))
        return tuple(None if isinstance(d, Dim) else int(d) for d in out.type.shape)

    def get_output_for(self, input: Any, **kwargs: Any) -> Variable:  # noqa: A002
        return self.function(input)


class ParametricRectifierLayer(Layer):
    """Parametric rectifier (PReLU): ``max(x, 0) + alpha * min(x, 0)`` with learned ``alpha``.

    Parameters
    ----------
    incoming : Layer or tuple
    alpha : initializer, array, shared variable or expression
        Shape: the input shape without the ``shared_axes``.
    shared_axes : 'auto', 'all', int or tuple of int
        ``'auto'``: every axis but the second; ``'all'``: one scalar ``alpha``.

    Raises
    ------
    ValueError
        For bad ``shared_axes``, unknown sizes on unshared axes, or an
        ``alpha`` array of the wrong shape.
    """

    def __init__(self, incoming: Any, alpha: Any = init.Constant(0.25), shared_axes: Any = "auto", **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        ndim = len(self.input_shape)
        self.shared_axes = resolve_axes(self, shared_axes, ndim, auto=_auto_axes(ndim), allow_all=True)
        shape = _param_shape(self, self.shared_axes, "alphas")
        self.alpha = self.add_param(alpha, shape, name="alpha", regularizable=False)

    def get_output_for(self, input: Any, **kwargs: Any) -> Variable:  # noqa: A002
        x = T.as_tensor_variable(input)
        alpha = self.alpha.dimshuffle(*broadcast_pattern(x.ndim, self.shared_axes))
        return T.nnet.relu(x, alpha)


def _steal_nonlinearity(layer: Any) -> None:
    if getattr(layer, "nonlinearity", None) is not None:
        layer.nonlinearity = nonlinearities.identity


def prelu(layer: Any, **kwargs: Any) -> ParametricRectifierLayer:
    """Replace ``layer``'s nonlinearity (if any) by a :class:`ParametricRectifierLayer` on top.

    ``layer`` is modified: its nonlinearity becomes the identity.  Keyword
    arguments go to :class:`ParametricRectifierLayer`.
    """
    _steal_nonlinearity(layer)
    return ParametricRectifierLayer(layer, **kwargs)


class RandomizedRectifierLayer(Layer):
    """Randomized leaky rectifier (RReLU).

    In training the negative slope is drawn from ``U(lower, upper)`` on
    every call (shared over ``shared_axes``); with ``deterministic=True`` it
    is the mean ``(lower + upper) / 2``.

    Parameters
    ----------
    incoming : Layer or tuple
    lower, upper : float or scalar expression
        Bounds of the slope, ``lower <= upper``.
    shared_axes : 'auto', 'all', int or tuple of int
        Axes sharing one random slope (``'auto'``: every axis but the second).

    Raises
    ------
    ValueError
        If ``lower > upper`` or for bad ``shared_axes``.
    """

    def __init__(self, incoming: Any, lower: Any = 0.3, upper: Any = 0.8, shared_axes: Any = "auto", **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        self._srng = T.RandomStreams(int(get_rng().randint(1, SEED_HIGH)))
        self.lower = lower
        self.upper = upper
        if not isinstance(lower, Variable) and not isinstance(upper, Variable) and lower > upper:
            raise ValueError(
                f"{format_layer(self)}: the upper bound ({upper!r}) needs to be at least the lower bound ({lower!r})"
            )
        ndim = len(self.input_shape)
        self.shared_axes = resolve_axes(self, shared_axes, ndim, auto=_auto_axes(ndim), allow_all=True)

    def get_output_for(self, input: Any, deterministic: bool = False, **kwargs: Any) -> Variable:  # noqa: A002
        fixed = not isinstance(self.lower, Variable) and not isinstance(self.upper, Variable) and self.lower == self.upper
        if deterministic or fixed:
            return T.nnet.relu(input, (self.upper + self.lower) / 2.0)  # numpy in, numpy out, as Lasagne
        x = T.as_tensor_variable(input)
        dtype = x.dtype if np.dtype(x.dtype).kind == "f" else config.floatX
        slopes = self._srng.uniform(static_or_symbolic_shape(x, self.shared_axes), low=self.lower, high=self.upper, dtype=dtype)
        return T.nnet.relu(x, slopes)


def rrelu(layer: Any, **kwargs: Any) -> RandomizedRectifierLayer:
    """Replace ``layer``'s nonlinearity (if any) by a :class:`RandomizedRectifierLayer` on top.

    ``layer`` is modified: its nonlinearity becomes the identity.  Keyword
    arguments go to :class:`RandomizedRectifierLayer`.
    """
    _steal_nonlinearity(layer)
    return RandomizedRectifierLayer(layer, **kwargs)
