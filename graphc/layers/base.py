"""The Lasagne layer base classes: :class:`Layer` and :class:`MergeLayer`.

A layer knows its input layer(s) and static output shape (ints, None for sizes
known at run time) and builds expressions in :meth:`Layer.get_output_for`; it
knows nothing of ONNX, gradients or passes.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..tensor.shared import SharedVariable
from ..tensor.variable import Variable
from ..utils import collect_shared_vars, create_param

__all__ = ["Layer", "MergeLayer", "check_shape", "format_layer"]

Shape = tuple[Any, ...]


def format_layer(layer: Any) -> str:
    """``DenseLayer 'hidden'`` or ``DenseLayer`` for error messages."""
    name = getattr(layer, "name", None)
    return f"{type(layer).__name__} {name!r}" if name else type(layer).__name__


def check_shape(shape: Any, what: str, kind: str = "shape") -> Shape:
    """A shape tuple of positive ints and Nones, or ``ValueError`` naming ``what`` (and ``kind``: ``'output shape'``)."""
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    try:
        shape = tuple(shape)
    except TypeError:
        raise TypeError(f"{what}: shape must be a tuple of ints and Nones, got {shape!r}") from None
    for d in shape:
        if d is None:
            continue
        if isinstance(d, Variable):
            raise ValueError(
                f"{what}: a symbolic {kind} {shape!r} (it holds a symbolic size); shapes must be tuples of "
                "integers for fixed-size dimensions and Nones for variable dimensions"
            )
        if not isinstance(d, (int, np.integer)) or isinstance(d, bool) or d <= 0:
            raise ValueError(f"{what}: cannot create a layer with a non-positive or non-integer dimension in shape {shape!r}")
    return tuple(None if d is None else int(d) for d in shape)


def is_layer_like(obj: Any) -> bool:
    """Whether ``obj`` can stand for a layer: a :class:`Layer`, or (Lasagne is duck-typed) any object with an
    ``output_shape`` or a ``get_output_for`` (a wrapper, a stand-in, a ``unittest.mock.Mock``)."""
    if isinstance(obj, Layer):
        return True
    if isinstance(obj, (str, bytes, tuple, list, dict, np.ndarray, Variable)) or obj is None:
        return False
    return hasattr(obj, "output_shape") or hasattr(obj, "get_output_for")


def _from_stand_in(shape: Any, input_shapes: list[Any]) -> bool:
    """Whether ``shape`` is not a shape but passes through what a stand-in incoming gave as its
    ``output_shape`` (a ``Mock``'s attribute, say): Lasagne takes it as it is, and so does graphc."""
    if isinstance(shape, (tuple, list, int, np.integer)):
        return False
    return any(not isinstance(s, (tuple, list)) for s in input_shapes)


def _incoming(incoming: Any, what: str) -> tuple[Any, Shape]:
    if isinstance(incoming, Layer):
        return incoming, incoming.output_shape
    if isinstance(incoming, (tuple, list)):
        return None, check_shape(incoming, what)
    if is_layer_like(incoming) and hasattr(incoming, "output_shape"):
        shape = incoming.output_shape  # duck typing, as Lasagne: whatever output_shape says
        if isinstance(shape, (tuple, list)):
            bad = [d for d in shape if isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d <= 0]
            if bad:
                raise ValueError(
                    f"{what}: cannot create a layer with a non-positive input_shape dimension: the incoming "
                    f"{format_layer(incoming)} gives output shape {tuple(shape)!r}"
                )
        return incoming, shape
    raise TypeError(
        f"{what}: incoming must be a Layer or a shape tuple, got {type(incoming).__name__} "
        "(a stand-in for a layer needs an output_shape)"
    )


class Layer:
    """Base class of Lasagne-style layers.

    Parameters
    ----------
    incoming : Layer or tuple
        The layer feeding this one, or the expected input shape.
    name : str, optional
        Names the layer; its parameters are named ``"<name>.<param>"``.

    Attributes
    ----------
    input_shape : tuple
    input_layer : Layer or None
    params : OrderedDict
        Parameter variable -> set of tags (``trainable``, ``regularizable``...).
    get_output_kwargs : list of str
        Keyword arguments of :meth:`get_output_for` this layer understands.
    """

    def __init__(self, incoming: Any, name: str | None = None) -> None:
        if name is not None and not isinstance(name, str):
            raise TypeError(f"{type(self).__name__}: name must be a str, got {type(name).__name__}")
        self.name = name
        self.input_layer, self.input_shape = _incoming(incoming, format_layer(self))
        self.params: OrderedDict[Variable, set[str]] = OrderedDict()
        self.get_output_kwargs: list[str] = []

    @property
    def output_shape(self) -> Shape:
        """The static output shape (ints and None)."""
        shape = self.get_output_shape_for(self.input_shape)
        if _from_stand_in(shape, [self.input_shape]):
            return shape
        return check_shape(shape, f"{format_layer(self)}.get_output_shape_for()", "output shape")

    def get_params(self, unwrap_shared: bool = True, **tags: bool) -> list[Any]:
        """The layer's parameters, filtered by tags.

        ``tag=True`` keeps parameters that have the tag, ``tag=False`` drops
        them (``get_params(trainable=True, regularizable=False)``).  With
        ``unwrap_shared``, parameters that are expressions are replaced by the
        shared variables they depend on.
        """
        only = {k for k, v in tags.items() if v}
        exclude = {k for k, v in tags.items() if not v}
        result = [p for p, t in self.params.items() if not (only - t) and not (t & exclude)]
        if unwrap_shared:
            out: list[Any] = []
            for p in result:
                out.extend([p] if isinstance(p, SharedVariable) else collect_shared_vars(p))
            return out
        return result

    def get_output_shape_for(self, input_shape: Any) -> Any:
        """The output shape for ``input_shape`` (the identity by default)."""
        return input_shape

    def get_output_for(self, input: Any, **kwargs: Any) -> Variable:  # noqa: A002  (Lasagne's name)
        """The output expression for an input expression; subclasses implement it."""
        raise NotImplementedError(f"{type(self).__name__} does not implement get_output_for")

    def add_param(self, spec: Any, shape: Sequence[int], name: str | None = None, **tags: bool) -> Any:
        """Create (or adopt) a parameter and register it with its tags.

        Parameters
        ----------
        spec : initializer, numpy array, number, shared variable or expression
            See :func:`graphc.utils.create_param`.
        shape : tuple of int
        name : str, optional
            Prefixed with the layer name: ``"<layer>.<name>"``.
        **tags : bool
            ``trainable`` and ``regularizable`` default to True.

        Returns
        -------
        Variable
            The parameter.
        """
        if name is not None and self.name is not None:
            name = f"{self.name}.{name}"
        try:
            param = create_param(spec, shape, name)
        except (ValueError, TypeError) as exc:
            raise type(exc)(f"{format_layer(self)}: {exc}") from None
        tags.setdefault("trainable", True)
        tags.setdefault("regularizable", True)
        self.params[param] = {tag for tag, value in tags.items() if value}
        return param

    def __repr__(self) -> str:
        return f"<{format_layer(self)} output_shape={self.output_shape}>"


class MergeLayer(Layer):
    """Base class of layers with several inputs.

    Parameters
    ----------
    incomings : sequence of Layer or tuple
    name : str, optional
    """

    def __init__(self, incomings: Sequence[Any], name: str | None = None) -> None:
        if name is not None and not isinstance(name, str):
            raise TypeError(f"{type(self).__name__}: name must be a str, got {type(name).__name__}")
        self.name = name
        if isinstance(incomings, Layer) or not isinstance(incomings, (list, tuple)):
            raise TypeError(f"{format_layer(self)}: incomings must be a list of layers or shapes")
        if not incomings:
            raise ValueError(f"{format_layer(self)}: needs at least one incoming layer or shape, got none")
        pairs = [_incoming(i, format_layer(self)) for i in incomings]
        self.input_layers = [p[0] for p in pairs]
        self.input_shapes = [p[1] for p in pairs]
        self.params = OrderedDict()
        self.get_output_kwargs = []

    @property
    def output_shape(self) -> Shape:
        shape = self.get_output_shape_for(self.input_shapes)
        if _from_stand_in(shape, self.input_shapes):
            return shape
        return check_shape(shape, f"{format_layer(self)}.get_output_shape_for()", "output shape")

    def get_output_shape_for(self, input_shapes: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not implement get_output_shape_for")

    def get_output_for(self, inputs: Any, **kwargs: Any) -> Variable:
        raise NotImplementedError(f"{type(self).__name__} does not implement get_output_for")
