"""Normalization layers (Lasagne's ``layers.normalization``).

:class:`BatchNormLayer` and :func:`batch_norm`, :class:`StandardizationLayer`
with :func:`instance_norm` and :func:`layer_norm`, and
:class:`LocalResponseNormalization2DLayer`.
"""

from __future__ import annotations

from typing import Any

from .. import init, nonlinearities
from .. import tensor as T
from ..tensor.shape import dim_of
from ..tensor.shared import SharedVariable
from ..tensor.variable import Variable
from .base import Layer, format_layer
from .special import BiasLayer, NonlinearityLayer, ScaleLayer, broadcast_pattern, resolve_axes

__all__ = [
    "BatchNormLayer",
    "batch_norm",
    "StandardizationLayer",
    "instance_norm",
    "layer_norm",
    "LocalResponseNormalization2DLayer",
]


def _float(layer: Any, value: Any, what: str, low: float, high: float | None = None) -> Any:
    if isinstance(value, Variable):
        return value
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{format_layer(layer)}: {what} must be a number, got {value!r}") from None
    if not v >= low or (high is not None and v > high):
        bounds = f"[{low}, {high}]" if high is not None else f">= {low}"
        raise ValueError(f"{format_layer(layer)}: {what} must be {bounds}, got {value!r}")
    return value


class BatchNormLayer(Layer):
    """Batch normalization: ``y = (x - mean) * inv_std * gamma + beta``.

    In training, ``mean`` and ``inv_std = 1 / sqrt(var + epsilon)`` are the
    statistics of the mini-batch over ``axes``; the layer also keeps
    exponential moving averages of them, used when ``deterministic=True``.
    It stores ``inv_std`` rather than the variance (``var = 1 / inv_std**2 -
    epsilon``), and averages in ``inv_std`` space, as Lasagne (and cuDNN).

    Parameters
    ----------
    incoming : Layer or tuple
    axes : 'auto', int or tuple of int
        Axes to normalize over; ``'auto'`` is every axis but the second (the
        batch for dense layers, batch and spatial axes for feature maps).
    epsilon : float
        Added to the variance before the square root.
    alpha : float
        Weight of the newest batch in the moving averages:
        ``running = (1 - alpha) * running + alpha * batch``.
    beta, gamma : initializer, array, shared variable, expression or None
        Shift (trainable, not regularizable) and scale (trainable,
        regularizable); None fixes them at 0 and 1.  Shape: the input shape
        without ``axes``.
    mean, inv_std : initializer, array, shared variable or expression
        The running averages (neither trainable nor regularizable).

    Raises
    ------
    ValueError
        For bad ``axes``, unknown sizes on the axes that are not normalized
        over, a parameter array of the wrong shape, or ``alpha`` outside [0, 1].

    Notes
    -----
    ``get_output_for`` takes ``batch_norm_use_averages`` (default:
    ``deterministic``) and ``batch_norm_update_averages`` (default: ``not
    deterministic``).  Updating sets the ``default_update`` of aliases of the
    ``mean`` and ``inv_std`` shared variables, so a function compiled with
    :func:`graphc.function` from the output updates the averages on every call
    (``no_default_updates=True`` turns that off).
    """

    def __init__(
        self,
        incoming: Any,
        axes: Any = "auto",
        epsilon: float = 1e-4,
        alpha: float = 0.1,
        beta: Any = init.Constant(0),
        gamma: Any = init.Constant(1),
        mean: Any = init.Constant(0),
        inv_std: Any = init.Constant(1),
        **kwargs: Any,
    ) -> None:
        super().__init__(incoming, **kwargs)
        ndim = len(self.input_shape)
        self.axes = resolve_axes(self, axes, ndim, what="axes", auto=(0,) + tuple(range(2, ndim)))
        self.epsilon = _float(self, epsilon, "epsilon", 0.0)
        self.alpha = _float(self, alpha, "alpha", 0.0, 1.0)
        shape = tuple(size for axis, size in enumerate(self.input_shape) if axis not in self.axes)
        if any(size is None for size in shape):
            raise ValueError(
                f"{format_layer(self)} needs specified input sizes for all axes not normalized over; got input "
                f"shape {self.input_shape} with axes {self.axes}"
            )
        self.beta = None if beta is None else self.add_param(beta, shape, "beta", trainable=True, regularizable=False)
        self.gamma = None if gamma is None else self.add_param(gamma, shape, "gamma", trainable=True, regularizable=True)
        self.mean = self.add_param(mean, shape, "mean", trainable=False, regularizable=False)
        self.inv_std = self.add_param(inv_std, shape, "inv_std", trainable=False, regularizable=False)

    def get_output_for(
        self,
        input: Any,  # noqa: A002
        deterministic: bool = False,
        batch_norm_use_averages: bool | None = None,
        batch_norm_update_averages: bool | None = None,
        **kwargs: Any,
    ) -> Variable:
        x = T.as_tensor_variable(input)
        input_mean = x.mean(self.axes)
        input_inv_std = T.reciprocal(T.sqrt(x.var(self.axes) + self.epsilon))

        use_averages = deterministic if batch_norm_use_averages is None else batch_norm_use_averages
        mean, inv_std = (self.mean, self.inv_std) if use_averages else (input_mean, input_inv_std)

        update_averages = (not deterministic) if batch_norm_update_averages is None else batch_norm_update_averages
        if update_averages:
            for param, batch_stat in ((self.mean, input_mean), (self.inv_std, input_inv_std)):
                if not isinstance(param, SharedVariable):
                    continue  # an expression given as the average has nothing to update
                running = param.alias()
                running.default_update = (1 - self.alpha) * running + self.alpha * batch_stat
                # the alias joins the graph without changing its values, so compiled functions collect its update
                if param is self.mean:
                    mean = mean + 0 * running
                else:
                    inv_std = inv_std + 0 * running

        pattern = broadcast_pattern(x.ndim, self.axes)
        beta: Any = 0 if self.beta is None else self.beta.dimshuffle(*pattern)
        gamma: Any = 1 if self.gamma is None else self.gamma.dimshuffle(*pattern)
        return (x - mean.dimshuffle(*pattern)) * (gamma * inv_std.dimshuffle(*pattern)) + beta


def _strip(layer: Any) -> Any:
    """Take ``layer``'s nonlinearity (leaving the identity) and drop its bias; return the nonlinearity."""
    nonlinearity = getattr(layer, "nonlinearity", None)
    if nonlinearity is not None:
        layer.nonlinearity = nonlinearities.identity
    if getattr(layer, "b", None) is not None:
        del layer.params[layer.b]
        layer.b = None
    return nonlinearity


def _derived_name(layer: Any, kwargs: dict[str, Any], suffix: str) -> str | None:
    return kwargs.pop("name", None) or (getattr(layer, "name", None) and layer.name + suffix)


def batch_norm(layer: Any, **kwargs: Any) -> Layer:
    """Insert batch normalization before ``layer``'s nonlinearity.

    ``layer`` is modified: its bias (redundant before normalization) is
    removed and its nonlinearity becomes the identity.  On top come a
    :class:`BatchNormLayer` (named ``<layer>_bn``) and, if the layer had a
    nonlinearity, a :class:`NonlinearityLayer` applying it
    (``<layer>_bn_nonlin``).

    Parameters
    ----------
    layer : Layer
    **kwargs
        Passed to :class:`BatchNormLayer` (``name`` names it).

    Returns
    -------
    BatchNormLayer or NonlinearityLayer

    Examples
    --------
    >>> from graphc.layers import DenseLayer, InputLayer, get_all_layers
    >>> from graphc.nonlinearities import tanh
    >>> l2 = batch_norm(DenseLayer(InputLayer((64, 768)), num_units=500, nonlinearity=tanh))
    >>> [type(lyr).__name__ for lyr in get_all_layers(l2)]
    ['InputLayer', 'DenseLayer', 'BatchNormLayer', 'NonlinearityLayer']
    """
    nonlinearity = _strip(layer)
    bn_name = _derived_name(layer, kwargs, "_bn")
    out: Layer = BatchNormLayer(layer, name=bn_name, **kwargs)
    if nonlinearity is not None:
        out = NonlinearityLayer(out, nonlinearity, name=bn_name and bn_name + "_nonlin")
    return out


class StandardizationLayer(Layer):
    """Standardizes each example: ``y = (x - mean) / sqrt(var + epsilon)`` over ``axes``.

    Unlike batch normalization, the statistics are those of the data itself
    in training and testing alike, and nothing is stored.

    Parameters
    ----------
    incoming : Layer or tuple
    axes : 'auto', 'spatial', 'features', int or tuple of int
        ``'spatial'``: all axes after the second (instance normalization);
        ``'features'``: all axes after the first (layer normalization);
        ``'auto'``: ``(1,)`` for 2-dimensional inputs, else ``'spatial'``.
    epsilon : float

    Raises
    ------
    ValueError
        For bad axes, and when they leave nothing to normalize over (e.g.
        ``'spatial'`` on a 2-dimensional input, which would output zeros).
    """

    def __init__(self, incoming: Any, axes: Any = "auto", epsilon: float = 1e-4, **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        ndim = len(self.input_shape)
        named = {
            "auto": (1,) if ndim == 2 else tuple(range(2, ndim)),
            "spatial": tuple(range(2, ndim)),
            "features": tuple(range(1, ndim)),
        }
        if isinstance(axes, str) and axes in named:
            self.axes = named[axes]
        else:
            self.axes = resolve_axes(self, axes, ndim, what="axes")
        if not self.axes:
            raise ValueError(f"{format_layer(self)}: axes={axes!r} leaves no axis to normalize over in input shape {self.input_shape}")
        self.epsilon = _float(self, epsilon, "epsilon", 0.0)

    def get_output_for(self, input: Any, **kwargs: Any) -> Variable:  # noqa: A002
        x = T.as_tensor_variable(input)
        mean = x.mean(self.axes, keepdims=True)
        std = T.sqrt(x.var(self.axes, keepdims=True) + self.epsilon)
        return (x - mean) / std


def _affine_on_top(layer: Layer, name: str | None, scale: bool, bias: bool, nonlinearity: Any) -> Layer:
    if scale:
        layer = ScaleLayer(layer, shared_axes="auto", name=name and name + "_scale")
    if bias:
        layer = BiasLayer(layer, shared_axes="auto", name=name and name + "_bias")
    if nonlinearity is not None:
        layer = NonlinearityLayer(layer, nonlinearity, name=name and name + "_nonlin")
    return layer


def instance_norm(layer: Any, learn_scale: bool = True, learn_bias: bool = True, **kwargs: Any) -> Layer:
    """Insert instance normalization (per example and channel, over the spatial axes) before ``layer``'s nonlinearity.

    ``layer`` loses its bias and nonlinearity; on top come a
    :class:`StandardizationLayer` over the spatial axes (``<layer>_in``), a
    per-channel :class:`ScaleLayer` (``_in_scale``, if ``learn_scale``) and
    :class:`BiasLayer` (``_in_bias``, if ``learn_bias``), and a
    :class:`NonlinearityLayer` with the old nonlinearity (``_in_nonlin``).

    Parameters
    ----------
    layer : Layer
        With at least 3 output dimensions.
    learn_scale, learn_bias : bool
    **kwargs
        Passed to :class:`StandardizationLayer` (``name`` names it).

    Returns
    -------
    Layer
        The top layer.
    """
    nonlinearity = _strip(layer)
    name = _derived_name(layer, kwargs, "_in")
    out = StandardizationLayer(layer, axes="spatial", name=name, **kwargs)
    return _affine_on_top(out, name, learn_scale, learn_bias, nonlinearity)


def layer_norm(layer: Any, **kwargs: Any) -> Layer:
    """Insert layer normalization (per example, over all non-batch axes) before ``layer``'s nonlinearity.

    ``layer`` loses its bias and nonlinearity; on top come a
    :class:`StandardizationLayer` over all axes but the first (``<layer>_ln``),
    a :class:`ScaleLayer` and a :class:`BiasLayer` with ``shared_axes='auto'``
    (``_ln_scale``, ``_ln_bias``) and a :class:`NonlinearityLayer` with the old
    nonlinearity (``_ln_nonlin``).

    Parameters
    ----------
    layer : Layer
    **kwargs
        Passed to :class:`StandardizationLayer` (``name`` names it).

    Returns
    -------
    Layer
        The top layer.
    """
    nonlinearity = _strip(layer)
    name = _derived_name(layer, kwargs, "_ln")
    out = StandardizationLayer(layer, axes="features", name=name, **kwargs)
    return _affine_on_top(out, name, True, True, nonlinearity)


class LocalResponseNormalization2DLayer(Layer):
    """Cross-channel local response normalization of ``(batch, channels, rows, cols)`` feature maps.

    ``y_c = x_c / (k + alpha * sum_{c'} x_{c'}**2) ** beta``, the sum over the
    ``n`` channels centred on ``c`` (fewer at the edges).

    Parameters
    ----------
    incoming : Layer or tuple
        4-dimensional.
    alpha, k, beta : float
    n : int
        Odd number of adjacent channels.

    Raises
    ------
    NotImplementedError
        For an even ``n`` (as Lasagne).
    ValueError
        For an input that is not 4-dimensional or ``n < 1``.

    Notes
    -----
    Lasagne's ``alpha`` is not divided by ``n``; ONNX's ``LRN`` divides its
    ``alpha`` by ``size``, so this layer equals ``LRN(size=n, alpha=alpha * n,
    beta=beta, bias=k)``.  The layer is built from elementwise ops, slices and
    a concatenation rather than as an op lowered to ONNX ``LRN``: ONNX
    Runtime's CPU provider has an ``LRN`` kernel for float32 only (float64
    would be computed in float32), the composition is exact in every float
    dtype, and gradients follow from the ops it uses with no rule of its own.
    """

    def __init__(self, incoming: Any, alpha: float = 1e-4, k: float = 2, beta: float = 0.75, n: int = 5, **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        if len(self.input_shape) != 4:
            raise ValueError(f"{format_layer(self)} needs a 4-dimensional input (batch, channels, rows, cols), got shape {self.input_shape}")
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(f"{format_layer(self)}: n must be a positive odd int, got {n!r}")
        if n % 2 == 0:
            raise NotImplementedError(f"{format_layer(self)}: only odd n is supported, got n={n}")
        self.alpha = alpha
        self.k = k
        self.beta = beta
        self.n = n

    def get_output_for(self, input: Any, **kwargs: Any) -> Variable:  # noqa: A002
        x = T.as_tensor_variable(input)
        half = self.n // 2
        sqr = T.sqr(x)
        channels = dim_of(x, 1)
        if half:
            zeros = T.zeros((dim_of(x, 0), half, dim_of(x, 2), dim_of(x, 3)), dtype=x.dtype)
            sqr = T.concatenate([zeros, sqr, zeros], axis=1)
        window = sqr[:, 0:channels]
        for i in range(1, self.n):
            window = window + sqr[:, i : i + channels]
        return x / (self.k + self.alpha * window) ** self.beta
