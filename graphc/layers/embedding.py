"""EmbeddingLayer: integer ids to learned vectors (Lasagne's ``layers.embedding``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import init
from .. import tensor as T
from ..tensor.variable import Variable
from .base import Layer, format_layer

__all__ = ["EmbeddingLayer"]


class EmbeddingLayer(Layer):
    """Looks up one row of ``W`` per integer of the input (word embeddings).

    Parameters
    ----------
    incoming : Layer or tuple
        Integer ids of any shape (the input variable must have an integer dtype).
    input_size : int
        Number of embeddings; ids run from 0 to ``input_size - 1``.
    output_size : int
        Size of each embedding.
    W : initializer, array or shared variable
        Shape ``(input_size, output_size)``.

    Raises
    ------
    ValueError
        For non-positive sizes or a ``W`` array of the wrong shape.
    TypeError
        When the input expression is not of an integer dtype.

    Notes
    -----
    The output shape is ``input_shape + (output_size,)``.

    Examples
    --------
    >>> import numpy as np, graphc, graphc.tensor as T
    >>> from graphc.layers import EmbeddingLayer, InputLayer, get_output
    >>> x = T.imatrix('x')
    >>> l_in = InputLayer((None, 2), input_var=x)
    >>> W = np.arange(3 * 5).reshape((3, 5)).astype('float32')
    >>> l1 = EmbeddingLayer(l_in, input_size=3, output_size=5, W=W)
    >>> f = graphc.function([x], get_output(l1))
    >>> f(np.array([[0, 2], [1, 2]], dtype='int32'))[1, 0]
    array([5., 6., 7., 8., 9.], dtype=float32)
    """

    def __init__(self, incoming: Any, input_size: int, output_size: int, W: Any = init.Normal(), **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        for what, size in (("input_size", input_size), ("output_size", output_size)):
            if not isinstance(size, (int, np.integer)) or isinstance(size, bool) or size <= 0:
                raise ValueError(f"{format_layer(self)}: {what} must be a positive int, got {size!r}")
        self.input_size = int(input_size)
        self.output_size = int(output_size)
        self.W = self.add_param(W, (self.input_size, self.output_size), name="W")

    def get_output_shape_for(self, input_shape: Any) -> Any:
        return tuple(input_shape) + (self.output_size,)

    def get_output_for(self, input: Any, **kwargs: Any) -> Variable:  # noqa: A002
        ids = T.as_tensor_variable(input)
        if np.dtype(ids.dtype).kind not in "iu":
            raise TypeError(
                f"{format_layer(self)} needs integer ids, got {ids!r}; give its InputLayer an integer "
                f"input_var (e.g. T.imatrix())"
            )
        if ids.dtype not in ("int32", "int64"):
            ids = T.cast(ids, "int64")
        return self.W[ids]
