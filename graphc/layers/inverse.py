"""InverseLayer: the gradient-based inverse of a layer (Lasagne's ``InverseLayer``)."""

from __future__ import annotations

from typing import Any

from ..tensor.variable import Variable
from ..train.grad import grad
from .base import Layer, MergeLayer, format_layer

__all__ = ["InverseLayer"]


class InverseLayer(MergeLayer):
    """The transpose of ``layer``'s local linear map, applied to ``incoming``.

    The output is the gradient of ``layer``'s output with respect to its input,
    weighted by ``incoming``: for a dense layer ``f(x W + b)`` it is
    ``(u * f'(x W + b)) W^T``, for a convolution the transposed convolution,
    for max-pooling the unpooling to the maxima.  Its shape is ``layer``'s
    input shape, so it undoes shapes in autoencoders and deconvolution nets.

    Parameters
    ----------
    incoming : Layer
        Feeds ``u``, shaped like ``layer``'s output.
    layer : Layer
        The layer to invert (with a single input).
    """

    def __init__(self, incoming: Any, layer: Any, **kwargs: Any) -> None:
        if not isinstance(layer, Layer) or getattr(layer, "input_layer", None) is None:
            raise TypeError(f"InverseLayer: `layer` must be a layer with one input layer, got {layer!r}")
        super().__init__([incoming, layer, layer.input_layer], **kwargs)
        u, out = self.input_shapes[0], self.input_shapes[1]
        if len(u) != len(out) or any(a is not None and b is not None and a != b for a, b in zip(u, out)):
            raise ValueError(f"{format_layer(self)}: incoming shape {u} must match the inverted layer's output shape {out}")

    def get_output_shape_for(self, input_shapes: Any) -> Any:
        return input_shapes[2]

    def get_output_for(self, inputs: Any, **kwargs: Any) -> Variable:
        u, layer_out, layer_in = inputs
        return grad(None, wrt=layer_in, known_grads={layer_out: u})
