"""Saving and loading theanets models in a safe format (no pickle).

A model file is an ``.npz``: one array per parameter, named by the parameter
(``'hid1.w'``), and ``__graphc_model__``, the UTF-8 bytes (a uint8 array) of a
JSON description: the model class, its losses and every layer's spec
(:meth:`Layer.to_spec` and the arguments it leaves out, see
:func:`~graphc.theanets.layers._spec.file_spec`).  ``numpy.load(path, allow_pickle=False)``
reads it.
Loading checks the file completely first (:mod:`graphc._model_check`): a damaged or
hostile file gives one ``ValueError`` naming it, never a traceback from deep inside
numpy, a ``MemoryError`` or a crash; then it rebuilds the layers from their specs and
sets the parameter values.  Only finite parameter values are written or read.
"""

from __future__ import annotations

import io
import json
import math
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..export.budget import BudgetError
from ..export.io import atomic_write_bytes
from ._file_checks import FileContentError, read_archive, read_description, require_finite, to_values
from ._formats import FORMAT, SPEC_KEY, VERSION
from ._model_check import (
    DrawLedger,
    check_description,
    check_param_arrays,
    check_param_names,
    describe,
    guarded_spec,
    model_expect,
)
from .layers._spec import file_spec
from .layers.base import ConfigurationError, Layer

__all__ = [
    "save_model",
    "model_arrays",
    "load_model",
    "check_param_values",
    "set_param_values",
    "refuse_nonfinite",
    "SPEC_KEY",
    "FORMAT",
    "VERSION",
]



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
    """Write ``net`` to ``path`` atomically (see the module docstring).

    Raises
    ------
    ValueError
        When a parameter holds NaN or infinite values (a model file holds only finite ones).
    """
    arrays = model_arrays(net)
    refuse_nonfinite(arrays, path, "the network")
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue())


def model_arrays(net: Any) -> dict[str, np.ndarray]:
    """The arrays of ``net``'s model file: one per parameter, and the description under :data:`SPEC_KEY`."""
    layers = []
    for layer in net.layers:
        spec = file_spec(layer)
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
    root = next(c for c in reversed(base.__mro__) if "itertrain" in c.__dict__)  # Network, without importing it
    if base is not root:
        found = _model_class(root, name)
        raise TypeError(f"the file holds a {found.__name__}, not a {base.__name__}; load it with {root.__name__}.load")
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


# what building layers from a checked description can still raise for a file that does not fit together
_BUILD_ERRORS = (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError, RecursionError, ZeroDivisionError)


def load_model(cls: type, path: str | os.PathLike[str]) -> Any:
    """Read a model written by :func:`save_model`; ``cls`` is the class ``load`` was called on.

    The file's arrays are read within the memory budget, its description is checked
    completely, and the layers are built with a generator that refuses any draw of initial
    values the file's arrays could not fill (see :mod:`graphc._model_check`).

    Raises
    ------
    FileNotFoundError
        For a path with no file.
    ValueError
        Naming the file and what is wrong with it (a
        :class:`~graphc.export.budget.BudgetError` when it asks for more memory than the
        budget, a :class:`ConfigurationError` for an unregistered layer form).
    TypeError
        When the file holds another model class than ``cls`` (load it with ``Network.load``).
    """
    where = os.fspath(path)
    # first the description, and every array's shape from its header (no parameter inflated)
    declared: dict[str, tuple[int, ...]] = {}
    first_check = model_expect(where)

    def record(name: str, shape: tuple[int, ...], dtype: np.dtype) -> None:
        first_check(name, shape, dtype)
        declared[name] = shape

    head = read_archive(path, "graphc model file", expect=record, only={SPEC_KEY})
    desc = read_description(head, SPEC_KEY, where, "model")
    check_description(desc, where, (FORMAT, VERSION))
    try:
        model_cls = _model_class(cls, desc["class"])
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{where}: {exc}") from None
    check_param_names(desc, declared, where)
    ledger = DrawLedger({k: math.prod(v) for k, v in declared.items() if not k.startswith("__")}, where)
    try:
        layers = [_build_layer(guarded_spec(spec, ledger)) for spec in desc["layers"]]
        losses = [dict(loss) for loss in desc["losses"]]
        weighted = bool(losses[0].pop("weighted", False))
        net = model_cls(layers=layers, loss=losses[0], weighted=weighted, rng=desc["rng"])
        for extra in losses[1:]:
            net.add_loss(extra, weighted=bool(extra.pop("weighted", False)))
        outputs, _ = net.build_graph()
    except (BudgetError, FileContentError):
        raise
    except ConfigurationError as exc:
        raise ConfigurationError(f"{where}: {exc}") from None
    except MemoryError as exc:
        raise BudgetError(
            f"{where}: building the network the file describes ran out of memory ({describe(exc)}); "
            "the description asks for more than this machine has"
        ) from None
    except _BUILD_ERRORS as exc:
        raise FileContentError(f"{where}: the model description does not build a network: {describe(exc)}") from None
    finally:
        ledger.armed = False
    for layer, spec in zip(layers, desc["layers"]):
        if "rng" in spec:
            layer.kwargs["rng"] = spec["rng"]  # what to_spec writes back; the guarded generator served only the build
    for loss in net.losses:
        if loss.output_name not in outputs:
            raise FileContentError(f"{where}: loss {loss.form!r} reads the output {loss.output_name!r}, which the network does not have")
    arrays = read_archive(path, "graphc model file", expect=_shape_check(net, where))
    params = check_param_arrays(desc, arrays, where)
    set_param_values(net, params, where)
    return net


def _shape_check(net: Any, where: str) -> Any:
    """An ``expect`` callback: every parameter array's declared shape must be its parameter's, before any inflates."""
    shapes = {p.name: (layer.name, tuple(p.type.shape)) for layer in net.layers for p in layer.params}

    def expect(name: str, shape: tuple[int, ...], dtype: np.dtype) -> None:
        if name in shapes and tuple(shape) != shapes[name][1]:
            layer, want = shapes[name]
            raise FileContentError(f"{where}: layer {layer!r}: parameter {name!r} has shape {tuple(shape)} in the file, expected {want}")

    return expect


def check_param_values(net: Any, arrays: Mapping[str, np.ndarray], where: str = "") -> list[tuple[Any, np.ndarray]]:
    """Each parameter of ``net`` with its new value from ``arrays`` (by name), checked; nothing is set.

    Values are converted to the parameter's dtype (same kind: float64 to float32 is fine,
    floats into an integer parameter are not) and must be finite.

    Raises
    ------
    ValueError
        For a missing or extra array, an array of the wrong shape or dtype, or a non-finite
        value; the message names the file (``where``), the layer and the parameter.
    """
    prefix = f"{where}: " if where else ""
    todo = []
    seen: set[str] = set()
    for layer in net.layers:
        for p in layer.params:
            if p.name in seen:
                continue
            seen.add(p.name)
            label = f"layer {layer.name!r}: parameter {p.name!r}"
            if p.name not in arrays:
                raise ValueError(f"{prefix}layer {layer.name!r}: no values for parameter {p.name!r}")
            arr = to_values(np.asarray(arrays[p.name]), p.dtype, tuple(p.type.shape), where or "the values", label)
            require_finite(arr, where or "the values", label)
            todo.append((p, arr))
    extra = sorted(set(arrays) - seen)
    if extra:
        raise ValueError(f"{prefix}values for unknown parameters {extra}; the network has {sorted(seen)}")
    return todo


def set_param_values(net: Any, arrays: Mapping[str, np.ndarray], where: str = "") -> None:
    """Set every parameter of ``net`` from ``arrays`` (by parameter name).

    Everything is checked (:func:`check_param_values`) before any value changes.

    Raises
    ------
    ValueError
        For a missing or extra array, an array of the wrong shape or dtype, or a non-finite
        value; the message names the layer and the parameter.
    """
    for p, arr in check_param_values(net, arrays, where):
        p.set_value(arr)


def refuse_nonfinite(arrays: Mapping[str, np.ndarray], path: str | os.PathLike[str], what: str) -> None:
    """Refuse to write ``arrays`` to ``path`` when a float array holds NaN or infinite values.

    Raises
    ------
    ValueError
        Naming the file and the array.
    """
    for name, arr in arrays.items():
        if name.startswith("__graphc"):
            continue
        require_finite(np.asarray(arr), f"cannot save {what} to {os.fspath(path)}", f"{name!r}")
