"""InputLayer: where data enters a network."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from ..config import config
from ..ir.types import format_shape
from ..tensor.basic import tensor
from ..tensor.variable import Variable
from .base import Layer, check_shape, format_layer

__all__ = ["InputLayer"]


class InputLayer(Layer):
    """A network input.

    Parameters
    ----------
    shape : tuple
        Sizes, None for those known only at run time (batch size, sequence length).
    input_var : Variable, optional
        The symbolic input; by default a new ``config.floatX`` tensor named
        ``"<name>.input"`` (or ``"input"``) whose static sizes are ``shape``'s,
        as in Lasagne.
    name : str, optional
        Also the name of the exported ONNX model's input for the default
        ``input_var`` (``graphc run model.onnx --input x=x.npy`` for
        ``InputLayer(..., name="x")``); an explicit ``input_var`` keeps its own name.
    allow_broadcast : bool
        With an explicit ``input_var``: the layer's ``input_var`` becomes
        ``T.patternbroadcast(input_var, [s == 1 for s in shape])`` (an expression
        of the given variable, which stays the one to compile with).

    Raises
    ------
    ValueError
        For a non-positive size, or an ``input_var`` of another rank.
    """

    def __init__(
        self,
        shape: Any,
        input_var: Variable | None = None,
        name: str | None = None,
        allow_broadcast: bool = False,
        **kwargs: Any,
    ) -> None:
        if kwargs:
            raise TypeError(f"InputLayer got unexpected arguments: {', '.join(sorted(kwargs))}")
        self.shape = check_shape(shape, f"InputLayer {name!r}" if name else "InputLayer")
        self.name = name
        # no input_layer / input_shape, as in Lasagne: graph walks stop at a layer without them
        self.params = OrderedDict()
        self.get_output_kwargs = []
        if input_var is None:
            var_name = f"{name}.input" if name is not None else "input"
            input_var = tensor(config.floatX, shape=self.shape, name=var_name)
            if name is not None:
                input_var.export_name = str(name)  # what graphc.ir.build.input_name gives ONNX
        elif not isinstance(input_var, Variable):
            raise TypeError(f"InputLayer: input_var must be a symbolic variable, got {type(input_var).__name__}")
        elif input_var.ndim != len(self.shape):
            raise ValueError(f"InputLayer: shape has {len(self.shape)} dimensions, but variable has {input_var.ndim}")
        else:
            clash = [
                axis for axis, (a, b) in enumerate(zip(self.shape, input_var.type.shape))
                if a is not None and isinstance(b, int) and a != b
            ]
            if clash:
                raise ValueError(
                    f"{format_layer(self)}: input_var {input_var!r} has size {input_var.type.shape[clash[0]]} on axis "
                    f"{clash[0]}, where the layer's shape {format_shape(self.shape)} says {self.shape[clash[0]]}"
                )
        if allow_broadcast and input_var is not None and input_var.broadcastable != tuple(s == 1 for s in self.shape):
            from ..tensor.extra_shape import patternbroadcast

            input_var = patternbroadcast(input_var, [s == 1 for s in self.shape])
        self.input_var = input_var

    @property
    def output_shape(self) -> tuple[Any, ...]:
        return self.shape
