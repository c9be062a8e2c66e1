"""Walking layer graphs: outputs, shapes, parameters and their values (Lasagne's ``layers.helper``)."""

from __future__ import annotations

import inspect
import warnings
from collections import deque
from collections.abc import Iterable, Mapping
from difflib import get_close_matches
from itertools import chain
from typing import Any

import numpy as np

from ..ir.types import format_shape
from ..tensor.variable import Variable, provenance
from ..utils import as_theano_expression, unique
from .base import Layer, MergeLayer, format_layer, is_layer_like

__all__ = [
    "get_all_layers",
    "get_output",
    "get_output_shape",
    "get_all_params",
    "count_params",
    "get_all_param_values",
    "set_all_param_values",
]


def _layers_of(layer_or_layers: Any) -> tuple[list[Any], bool]:
    """The layers asked for, and whether one was given alone; stand-ins (:func:`is_layer_like`) count as layers."""
    if is_layer_like(layer_or_layers) and not isinstance(layer_or_layers, (list, tuple)):
        return [layer_or_layers], True
    try:
        layers = list(layer_or_layers)
    except TypeError:
        raise TypeError(f"expected a Layer or a list of layers, got {type(layer_or_layers).__name__}") from None
    for item in layers:
        if not is_layer_like(item):
            raise TypeError(f"expected a Layer or a list of layers, got an item of type {type(item).__name__}")
    return layers, False


def _label(layer: Any) -> str:
    """A layer's name for provenance: its ``name`` when that is a str (a stand-in's may be anything), else its type."""
    name = getattr(layer, "name", None)
    return name if isinstance(name, str) and name else type(layer).__name__


def get_all_layers(layer: Any, treat_as_input: Iterable[Any] | None = None) -> list[Any]:
    """Every layer ``layer`` (or a list of layers) depends on, inputs first.

    Parameters
    ----------
    layer : Layer or list of Layer
    treat_as_input : iterable of Layer, optional
        Layers whose inputs are not followed.

    Returns
    -------
    list of Layer
        In topological order (depth first, inputs before the layers using them).
    """
    layers, _ = _layers_of(layer)
    queue = deque(layers)
    seen: set[int] = set()
    done: set[int] = set()
    result: list[Any] = []
    stop = {id(x) for x in (treat_as_input or [])}
    seen |= stop
    while queue:
        current = queue[0]
        if current is None:
            queue.popleft()
        elif id(current) not in seen:
            seen.add(id(current))
            queue.extendleft(reversed(_inputs_of(current)))
        else:
            queue.popleft()
            if id(current) not in done:
                # in a DAG a layer comes back to the front only after all its inputs are done
                if id(current) not in stop and any(i is not None and id(i) not in done for i in _inputs_of(current)):
                    raise ValueError(_cycle_message(current))
                result.append(current)
                done.add(id(current))
    return result


def _inputs_of(layer: Any) -> list[Any]:
    """What ``layer`` reads: its ``input_layers`` or its ``input_layer``, as Lasagne walks them.

    A stand-in's attributes are followed only where they hold layers: ``input_layers`` must be a
    list or tuple, and an ``input_layer`` a :class:`Layer` or an object whose ``output_shape`` is a
    tuple (a bare ``Mock`` invents every attribute it is asked for, and would lead on forever).
    """
    if hasattr(layer, "input_layers"):
        found = layer.input_layers
        return list(found) if isinstance(found, (list, tuple)) else []
    if hasattr(layer, "input_layer"):
        found = layer.input_layer
        if found is None or isinstance(found, Layer) or isinstance(getattr(found, "output_shape", None), (tuple, list)):
            return [found]
    return []


def _cycle_message(layer: Any) -> str:
    """Describe a cycle through ``layer`` (layers feeding back into themselves cannot be evaluated)."""
    stack: list[tuple[Any, list[Any]]] = [(i, [layer]) for i in _inputs_of(layer) if i is not None]
    seen: set[int] = set()
    path = [layer, layer]
    while stack:
        current, trail = stack.pop()
        if current is layer:
            path = [*trail, layer]
            break
        if id(current) in seen:
            continue
        seen.add(id(current))
        stack.extend((i, [*trail, current]) for i in _inputs_of(current) if i is not None)
    # trail runs against the data flow (each layer, then its input): show it the way data flows
    chain = " -> ".join(format_layer(x) for x in reversed(path))
    return f"the layers form a cycle ({chain}): a layer cannot depend on its own output"


def _accepted_kwargs(layer: Any) -> set[str]:
    try:
        names = {n for n in getattr(layer, "get_output_kwargs", []) if isinstance(n, str)}
    except TypeError:  # a stand-in's attribute that is not a list
        names = set()
    try:
        sig = inspect.signature(layer.get_output_for)
    except (TypeError, ValueError):
        return names
    return names | {p.name for p in sig.parameters.values() if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)}


def get_output(layer_or_layers: Any, inputs: Any = None, **kwargs: Any) -> Any:
    """The output expression(s) of a network.

    Parameters
    ----------
    layer_or_layers : Layer or list of Layer
    inputs : expression, array or dict, optional
        None: each InputLayer's ``input_var``; a single expression (networks
        with one InputLayer); or ``{layer: expression}``, which also cuts the
        network at any layer given.
    **kwargs
        Passed to every layer's ``get_output_for``; ``deterministic=True``
        turns off dropout and noise.  Keywords no layer accepts warn.

    Returns
    -------
    Variable or list of Variable
        One expression per requested layer.  Stochastic layers are sampled
        once per call, so outputs of one call share their samples.

    Raises
    ------
    ValueError
        For a single input expression on a network with several inputs, or
        a layer left without an input.
    """
    from .input import InputLayer

    layers, single = _layers_of(layer_or_layers)
    treat_as_input = list(inputs.keys()) if isinstance(inputs, Mapping) else []
    all_layers = get_all_layers(layers, treat_as_input)
    outputs: dict[int, Variable] = {
        id(layer): layer.input_var for layer in all_layers if isinstance(layer, InputLayer) and layer not in treat_as_input
    }
    if isinstance(inputs, Mapping):
        for layer, expr in inputs.items():
            # None stands for the missing input of a layer built from a shape, as in Lasagne
            if layer is not None and not is_layer_like(layer):
                raise TypeError(f"get_output(): the inputs dict must map layers to expressions, got a key {layer!r}")
            outputs[id(layer)] = _given(layer, as_theano_expression(expr))
    elif inputs is not None:
        if len(outputs) > 1:
            raise ValueError(
                "get_output() was called with a single input expression on a network with multiple input "
                "layers. Please call it with a dictionary of input expressions instead."
            )
        by_id = {id(x): x for x in all_layers}
        for key in outputs:
            outputs[key] = _given(by_id[key], as_theano_expression(inputs))
    accepted = {"deterministic"}
    for layer in all_layers:
        if id(layer) in outputs:
            continue
        try:
            if isinstance(layer, MergeLayer):
                layer_inputs: Any = [outputs[id(i)] for i in layer.input_layers]
            else:
                layer_inputs = outputs[id(layer.input_layer)]
        except KeyError:
            raise ValueError(
                f"get_output() was called without giving an input expression for the free-floating layer "
                f"{format_layer(layer)}. Please call it with a dictionary mapping this layer to an input expression."
            ) from None
        with provenance(_label(layer)):
            outputs[id(layer)] = layer.get_output_for(layer_inputs, **kwargs)
        accepted |= _accepted_kwargs(layer)
    unused = set(kwargs) - accepted
    if unused:
        hints = []
        for kw in sorted(unused):
            close = get_close_matches(kw, accepted)
            hints.append(f"{kw} (perhaps you meant {close[0]})" if close else kw)
        warnings.warn("get_output() was called with unused kwargs:\n\t" + "\n\t".join(hints), stacklevel=2)
    result = [outputs[id(layer)] for layer in layers]
    return result[0] if single else result


def _given(layer: Any, expr: Any) -> Any:
    """An expression given for a graphc ``layer`` must have the rank of the layer's output (its static sizes
    may differ); stand-ins and layers whose shape cannot be computed pass unchecked, as in Lasagne."""
    if not issubclass(type(layer), Layer):  # type(): a Mock(spec=Layer) passes isinstance
        return expr
    try:
        shape = layer.output_shape
    except Exception:  # noqa: BLE001  (a base class without get_output_shape_for: Lasagne never asks)
        return expr
    ndim = getattr(expr, "ndim", None)
    if isinstance(ndim, int) and isinstance(shape, (tuple, list)) and ndim != len(shape):
        raise ValueError(
            f"get_output(): the expression {expr!r} given for {format_layer(layer)} has {ndim} dims; the layer's "
            f"output shape {format_shape(tuple(shape))} has {len(shape)}"
        )
    return expr


def get_output_shape(layer_or_layers: Any, input_shapes: Any = None) -> Any:
    """The static output shape(s), optionally for other input shapes.

    Parameters
    ----------
    layer_or_layers : Layer or list of Layer
    input_shapes : tuple or dict, optional
        A shape for the single InputLayer, or ``{layer: shape}``.
    """
    from .input import InputLayer

    layers, single = _layers_of(layer_or_layers)
    if input_shapes is None or (isinstance(input_shapes, Mapping) and not input_shapes):
        shapes = [layer.output_shape for layer in layers]
        return shapes[0] if single else shapes
    treat_as_input = list(input_shapes.keys()) if isinstance(input_shapes, Mapping) else []
    all_layers = get_all_layers(layers, treat_as_input)
    known: dict[int, Any] = {id(layer): layer.shape for layer in all_layers if isinstance(layer, InputLayer) and layer not in treat_as_input}
    if isinstance(input_shapes, Mapping):
        known.update((id(layer), tuple(shape)) for layer, shape in input_shapes.items())
    else:
        if len(known) > 1:
            raise ValueError(
                "get_output_shape() was called with a single input shape on a network with multiple input "
                "layers. Please call it with a dictionary of input shapes instead."
            )
        for key in known:
            known[key] = tuple(input_shapes)
    for layer in all_layers:
        if id(layer) in known:
            continue
        try:
            if isinstance(layer, MergeLayer):
                in_shape: Any = [known[id(i)] for i in layer.input_layers]
            else:
                in_shape = known[id(layer.input_layer)]
        except KeyError:
            raise ValueError(
                f"get_output_shape() was called without giving an input shape for the free-floating layer "
                f"{format_layer(layer)}. Please call it with a dictionary mapping this layer to an input shape."
            ) from None
        known[id(layer)] = layer.get_output_shape_for(in_shape)
    shapes = [known[id(layer)] for layer in layers]
    return shapes[0] if single else shapes


def get_all_params(layer: Any, unwrap_shared: bool = True, **tags: bool) -> list[Any]:
    """The parameters of every layer of the network, deduplicated, in layer order.

    ``tags`` filter as in :meth:`Layer.get_params` (``trainable=True``...).
    """
    layers = get_all_layers(layer)
    params = chain.from_iterable(lyr.get_params(unwrap_shared=unwrap_shared, **tags) for lyr in layers)
    return unique(params)


def count_params(layer: Any, **tags: bool) -> int:
    """Total number of parameter values in the network (tags filter as in :func:`get_all_params`)."""
    return int(sum(int(np.prod(p.type.shape)) for p in get_all_params(layer, **tags)))


def get_all_param_values(layer: Any, **tags: bool) -> list[np.ndarray]:
    """Copies of the values of :func:`get_all_params`."""
    return [p.get_value() for p in get_all_params(layer, **tags)]


def set_all_param_values(layer: Any, values: Any, **tags: bool) -> None:
    """Set the network's parameters from a list of arrays (as :func:`get_all_param_values` gives).

    Raises
    ------
    ValueError
        If the number of arrays or any array's shape does not match; nothing
        is changed in that case.
    """
    params = get_all_params(layer, **tags)
    values = list(values)
    if len(params) != len(values):
        raise ValueError(f"mismatch: got {len(values)} values to set {len(params)} parameters")
    arrays = []
    for p, v in zip(params, values):
        arr = np.asarray(v)
        if tuple(p.type.shape) != arr.shape:
            raise ValueError(
                f"mismatch: parameter {p.name or p!r} has shape {tuple(p.type.shape)!r} but the value to set has "
                f"shape {arr.shape!r}"
            )
        arrays.append(arr)
    for p, arr in zip(params, arrays):
        p.set_value(arr)
