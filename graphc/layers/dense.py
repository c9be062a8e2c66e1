"""Fully connected layers: DenseLayer and NINLayer."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import init, nonlinearities
from .. import tensor as T
from ..ir.types import format_shape
from ..tensor.variable import Variable
from .base import Layer, format_layer

__all__ = ["DenseLayer", "NINLayer"]


def _nonlinearity(fn: Any) -> Any:
    return nonlinearities.identity if fn is None else fn


class DenseLayer(Layer):
    """A fully connected layer: ``nonlinearity(dot(x, W) + b)``.

    Parameters
    ----------
    incoming : Layer or tuple
    num_units : int
    W : initializer, array or shared variable
        Shape ``(num_inputs, num_units)``, where ``num_inputs`` is the product
        of the input's trailing axes (those after ``num_leading_axes``).
    b : initializer, array, shared variable or None
        Shape ``(num_units,)``; None for no bias.
    nonlinearity : callable or None
        None means linear.
    num_leading_axes : int
        Axes kept as they are (negative: counted from the end); the rest are
        flattened into the dot product.

    Raises
    ------
    ValueError
        When ``num_leading_axes`` leaves no axis to flatten or a trailing
        input size is unknown.
    """

    def __init__(
        self,
        incoming: Any,
        num_units: int,
        W: Any = init.GlorotUniform(),
        b: Any = init.Constant(0.0),
        nonlinearity: Any = nonlinearities.rectify,
        num_leading_axes: int = 1,
        **kwargs: Any,
    ) -> None:
        super().__init__(incoming, **kwargs)
        if not isinstance(num_units, (int, np.integer)) or isinstance(num_units, bool) or num_units <= 0:
            raise ValueError(f"{format_layer(self)}: num_units must be a positive int, got {num_units!r}")
        if nonlinearity is not None and not callable(nonlinearity):
            raise TypeError(
                f"{format_layer(self)}: nonlinearity must be callable (e.g. graphc.nonlinearities.rectify) or None, "
                f"got {nonlinearity!r}"
            )
        self.nonlinearity = _nonlinearity(nonlinearity)
        self.num_units = int(num_units)
        ndim = len(self.input_shape)
        if num_leading_axes >= ndim:
            raise ValueError(
                f"{format_layer(self)}: got num_leading_axes={num_leading_axes} for a {ndim}-dimensional input, "
                f"leaving no trailing dimensions for the dot product"
            )
        if num_leading_axes < -ndim:
            raise ValueError(
                f"{format_layer(self)}: got num_leading_axes={num_leading_axes} for a {ndim}-dimensional input, "
                f"requesting more trailing dimensions than there are input dimensions"
            )
        self.num_leading_axes = num_leading_axes
        trailing = self.input_shape[num_leading_axes:]
        if any(s is None for s in trailing):
            raise ValueError(
                f"{format_layer(self)} needs a fixed input shape for all but the first {num_leading_axes} "
                f"dimension(s), got input shape {self.input_shape}"
            )
        num_inputs = int(np.prod(trailing))
        self.W = self.add_param(W, (num_inputs, self.num_units), name="W")
        self.b = None if b is None else self.add_param(b, (self.num_units,), name="b", regularizable=False)

    def get_output_shape_for(self, input_shape: Any) -> Any:
        # shape arithmetic only, as Lasagne: the features are checked when the output is built
        return tuple(input_shape[: self.num_leading_axes]) + (self.num_units,)

    def _check_features(self, features: int, given: str) -> None:
        """The input must bring as many features as ``W`` has rows (Lasagne only finds out at run time)."""
        rows = self.W.type.shape[0]
        if isinstance(rows, int) and features != rows:
            source = f" (from {format_layer(self.input_layer)})" if self.input_layer is not None else ""
            raise ValueError(
                f"{format_layer(self)}: its input{source} has {given}, which gives {features} features; "
                f"expected {rows}, as the layer was built for input shape {format_shape(tuple(self.input_shape))}"
            )

    def get_output_for(self, input: Any, **kwargs: Any) -> Variable:  # noqa: A002
        x = T.as_tensor_variable(input)
        lead = self.num_leading_axes % x.ndim if self.num_leading_axes < 0 else self.num_leading_axes
        if x.ndim > lead + 1:
            x = T.flatten(x, lead + 1)
        if isinstance(x.type.shape[-1], int):
            self._check_features(x.type.shape[-1], f"the expression {T.as_tensor_variable(input)!r}")
        activation = T.dot(x, self.W)
        if self.b is not None:
            activation = activation + self.b
        return self.nonlinearity(activation)


class NINLayer(Layer):
    """Network-in-network: a dense layer applied across axis 1 at every position of the trailing axes.

    Parameters
    ----------
    incoming : Layer or tuple
        Shape ``(batch, channels, ...)``.
    num_units : int
    untie_biases : bool
        One bias per position (shape ``(num_units,) + input_shape[2:]``).
    W : shape ``(channels, num_units)``
    b : bias or None
    nonlinearity : callable or None
    """

    def __init__(
        self,
        incoming: Any,
        num_units: int,
        untie_biases: bool = False,
        W: Any = init.GlorotUniform(),
        b: Any = init.Constant(0.0),
        nonlinearity: Any = nonlinearities.rectify,
        **kwargs: Any,
    ) -> None:
        super().__init__(incoming, **kwargs)
        if len(self.input_shape) < 2 or self.input_shape[1] is None:
            raise ValueError(f"{format_layer(self)} needs an input of shape (batch, channels, ...) with known channels, got {self.input_shape}")
        self.nonlinearity = _nonlinearity(nonlinearity)
        self.num_units = int(num_units)
        self.untie_biases = untie_biases
        num_input_channels = self.input_shape[1]
        self.W = self.add_param(W, (num_input_channels, self.num_units), name="W")
        if b is None:
            self.b = None
        else:
            if untie_biases:
                if any(s is None for s in self.input_shape[2:]):
                    raise ValueError(f"{format_layer(self)}: untie_biases needs fixed trailing sizes, got {self.input_shape}")
                biases_shape = (self.num_units,) + tuple(self.input_shape[2:])
            else:
                biases_shape = (self.num_units,)
            self.b = self.add_param(b, biases_shape, name="b", regularizable=False)

    def get_output_shape_for(self, input_shape: Any) -> Any:
        return (input_shape[0], self.num_units) + tuple(input_shape[2:])

    def get_output_for(self, input: Any, **kwargs: Any) -> Variable:  # noqa: A002
        x = T.as_tensor_variable(input)
        # move channels last, contract with W, move units back to axis 1
        perm = [0] + list(range(2, x.ndim)) + [1]
        out = T.dot(x.dimshuffle(*perm), self.W)
        back = [0, x.ndim - 1] + list(range(1, x.ndim - 1))
        out = out.dimshuffle(*back)
        if self.b is not None:
            if self.untie_biases:
                out = out + T.shape_padleft(self.b)
            else:
                out = out + self.b.dimshuffle(*(["x", 0] + ["x"] * (x.ndim - 2)))
        return self.nonlinearity(out)
