"""Saving and loading theanets models in a safe format (no pickle).

A model file is an ``.npz``: one array per parameter, named by the parameter
(``'hid1.w'``), and ``__graphc_model__``, the UTF-8 bytes (a uint8 array) of a
JSON description: the model class, its losses and every layer's spec
(:meth:`Layer.to_spec`).  ``numpy.load(path, allow_pickle=False)`` reads it.
Loading rebuilds the layers from their specs and then sets the parameter values,
checking names and shapes first so that a bad file changes nothing.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from .export.io import atomic_write_bytes
from .layers.theanets_base import ConfigurationError, Layer

__all__ = ["save_model", "model_arrays", "load_model", "set_param_values", "SPEC_KEY", "FORMAT", "VERSION"]

SPEC_KEY = "__graphc_model__"
FORMAT = "graphc.theanets-model"
VERSION = 1


def _jsonable(value: Any, where: str) -> Any:
    if isinstance(value, (str, bool)) or value is None:
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, where) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v, f"{where}[{k!r}]") for k, v in value.items()}
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        return _jsonable(value.tolist(), where)
    raise TypeError(f"{where} is a {type(value).__name__} ({value!r}), which cannot be saved in a model file")


def save_model(net: Any, path: str | os.PathLike[str]) -> None:
    """Write ``net`` to ``path`` atomically (see the module docstring)."""
    buf = io.BytesIO()
    np.savez(buf, **model_arrays(net))
    atomic_write_bytes(path, buf.getvalue())


def model_arrays(net: Any) -> dict[str, np.ndarray]:
    """The arrays of ``net``'s model file: one per parameter, and the description under :data:`SPEC_KEY`."""
    layers = []
    for layer in net.layers:
        spec = layer.to_spec()
        layers.append({k: _jsonable(v, f"layer {layer.name!r}: option {k!r}") for k, v in spec.items()})
    rng = net._rng if isinstance(net._rng, (int, np.integer)) and not isinstance(net._rng, bool) else None
    desc = {
        "format": FORMAT,
        "version": VERSION,
        "class": type(net).__name__,
        "rng": None if rng is None else int(rng),
        "losses": [
            {"form": loss.form, "weight": loss.weight, "output_name": loss.output_name, "weighted": loss._weights is not None}
            for loss in net.losses
        ],
        "layers": layers,
        "params": [p.name for p in net.params],
    }
    arrays = {p.name: p.get_value() for p in net.params}
    reserved = sorted(k for k in arrays if k.startswith("__"))
    if reserved:
        raise ValueError(f"parameter names starting with '__' are reserved by the model file format, got {reserved}")
    arrays[SPEC_KEY] = np.frombuffer(json.dumps(desc).encode("utf-8"), dtype=np.uint8)
    return arrays


def _model_class(base: type, name: str) -> type:
    stack, seen = [base], []
    while stack:
        cls = stack.pop()
        seen.append(cls)
        if cls.__name__ == name:
            return cls
        stack.extend(cls.__subclasses__())
    from .models import Network

    if base is not Network:
        found = _model_class(Network, name)
        raise TypeError(f"the file holds a {found.__name__}, not a {base.__name__}; load it with Network.load")
    raise ValueError(f"the file holds a model of class {name!r}, which is not defined; import it before loading")


def _build_layer(spec: Mapping[str, Any]) -> Layer:
    kwargs = dict(spec)
    form = kwargs.pop("form", None)
    if not Layer.is_registered(form):
        raise ConfigurationError(
            f"layer {kwargs.get('name')!r}: form {form!r} is not registered; define (import) the custom layer class "
            "before loading the model"
        )
    if "inputs" in kwargs:
        kwargs["inputs"] = tuple(kwargs["inputs"])
    return Layer.build(form, **kwargs)


def load_model(cls: type, path: str | os.PathLike[str]) -> Any:
    """Read a model written by :func:`save_model`; ``cls`` is the class ``load`` was called on."""
    try:
        data = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise
    except (OSError, ValueError) as exc:
        raise ValueError(f"{os.fspath(path)} is not a graphc model file: {exc}") from None
    with data:
        if not hasattr(data, "files") or SPEC_KEY not in data.files:
            raise ValueError(f"{os.fspath(path)} is not a graphc model file (no {SPEC_KEY!r} entry)")
        try:
            desc = json.loads(bytes(data[SPEC_KEY]).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{os.fspath(path)}: the model description is not valid JSON: {exc}") from None
        # entries named __... belong to the format (a training checkpoint's state, for one)
        arrays = {k: np.array(data[k]) for k in data.files if not k.startswith("__")}
    if desc.get("format") != FORMAT or desc.get("version") != VERSION:
        raise ValueError(
            f"{os.fspath(path)}: unsupported model file (format {desc.get('format')!r}, version {desc.get('version')!r})"
        )
    model_cls = _model_class(cls, desc["class"])
    layers = [_build_layer(spec) for spec in desc["layers"]]
    losses = desc.get("losses") or []
    first = dict(losses[0]) if losses else None
    weighted = bool(first.pop("weighted", False)) if first else False
    net = model_cls(layers=layers, loss=first, weighted=weighted, rng=desc.get("rng"))
    for extra in losses[1:]:
        extra = dict(extra)
        net.add_loss(extra, weighted=bool(extra.pop("weighted", False)))
    set_param_values(net, arrays)
    return net


def set_param_values(net: Any, arrays: Mapping[str, np.ndarray]) -> None:
    """Set every parameter of ``net`` from ``arrays`` (by parameter name).

    All names and shapes are checked before any value changes.

    Raises
    ------
    ValueError
        For a missing or extra array, or an array of the wrong shape; the
        message names the layer and the parameter.
    """
    todo = []
    seen: set[str] = set()
    for layer in net.layers:
        for p in layer.params:
            if p.name in seen:
                continue
            seen.add(p.name)
            if p.name not in arrays:
                raise ValueError(f"layer {layer.name!r}: no values for parameter {p.name!r}")
            arr = np.asarray(arrays[p.name])
            if tuple(arr.shape) != tuple(p.type.shape):
                raise ValueError(
                    f"layer {layer.name!r}: parameter {p.name!r} has shape {tuple(arr.shape)} in the file, "
                    f"expected {tuple(p.type.shape)}"
                )
            todo.append((p, arr))
    extra = sorted(set(arrays) - seen)
    if extra:
        raise ValueError(f"values for unknown parameters {extra}; the network has {sorted(seen)}")
    for p, arr in todo:
        p.set_value(arr)
