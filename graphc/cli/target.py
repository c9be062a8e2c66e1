"""``graphc export`` targets: ``module:callable`` or ``path/to/file.py:callable``, and what they return."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import CLIError

__all__ = ["load_target", "ExportParts", "export_parts"]


def _module_from_file(path: Path) -> Any:
    if not path.is_file():
        raise CLIError(f"TARGET: no such file {path}")
    name = f"_graphc_target_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise CLIError(f"TARGET: cannot load {path} as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.parent.resolve()))  # the file's own imports of its neighbours
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except SystemExit as exc:
        raise CLIError(f"TARGET: running {path} called sys.exit({exc.code})") from None
    except Exception as exc:  # the user's code: report it, whatever it is
        raise CLIError(f"TARGET: running {path} failed: {type(exc).__name__}: {exc}") from exc
    finally:
        sys.path.pop(0)
    return module


def load_target(target: str) -> Any:
    """Import ``target``'s module, find the callable, call it (with no arguments) and return the result.

    A target that is not callable (a layer or network object defined at module
    level) is returned as it is.

    Raises
    ------
    CLIError
        For a malformed TARGET, a missing file or module, a missing attribute,
        or an exception raised by the user's code (named in the message).
    """
    where, sep, attr = target.rpartition(":")
    if not sep or not where or not attr:
        raise CLIError(f"TARGET must be module:callable or path/to/file.py:callable, got {target!r}")
    if where.endswith(".py") or "/" in where or "\\" in where:
        module = _module_from_file(Path(where))
    else:
        try:
            module = importlib.import_module(where)
        except ImportError as exc:
            raise CLIError(f"TARGET: cannot import module {where!r}: {exc}") from None
        except Exception as exc:
            raise CLIError(f"TARGET: importing {where!r} failed: {type(exc).__name__}: {exc}") from exc
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise CLIError(f"TARGET: {where!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    from ..layers.base import Layer
    from ..runtime.function import Function
    from ..theanets.graph import Network

    if callable(obj) and not isinstance(obj, (Layer, Network, Function, type)):
        try:
            obj = obj()
        except Exception as exc:
            raise CLIError(f"TARGET: calling {target} failed: {type(exc).__name__}: {exc}") from exc
    return obj


@dataclass
class ExportParts:
    """What to export: named output expressions, input placeholders, and (for training) updates."""

    outputs: list[tuple[Any, str]]
    inputs: list[Any]
    updates: list[tuple[Any, Any]] = field(default_factory=list)
    kind: str = ""


def _is_layer_list(obj: Any) -> bool:
    from ..layers.base import Layer

    return isinstance(obj, (list, tuple)) and bool(obj) and all(isinstance(x, Layer) for x in obj)


def export_parts(
    obj: Any, training: bool, algo: str = "adam", learning_rate: float | None = None, loss: str | None = None
) -> ExportParts:
    """Expressions and placeholders for what a target returned.

    Parameters
    ----------
    obj : Layer, list of Layer, Network or Function
    training : bool
        Export the training step: needs a compiled function with updates, a
        theanets network (trained with ``algo``), or a Lasagne output layer
        (with ``loss``; see :func:`graphc.cli.layer_training.layer_training_parts`).
    algo, learning_rate
        For a theanets network's or a layer graph's training step.
    loss : str, optional
        For a layer graph's training step: a Lasagne objective's name.

    Raises
    ------
    CLIError
        For anything else, or a training export of something that does not train.
    """
    from ..export.model import _normalize_outputs
    from ..layers.base import Layer
    from ..layers.helper import get_all_layers
    from ..layers.input import InputLayer
    from ..runtime.function import Function
    from ..theanets.graph import Network

    if isinstance(obj, Function):
        single = "cost" if training else "output"  # a training step's one output is its cost
        outs = [(v, single if len(obj.outputs) == 1 else f"output_{i}") for i, v in enumerate(obj.outputs)]
        if obj.givens:
            from ..tensor.clone import clone

            new = clone([v for v, _ in outs], dict(obj.givens))  # a dict, or (old, new) pairs
            outs = [(n, name) for n, (_, name) in zip(new, outs)]
        if training and not obj.updates:
            raise CLIError("--training: the compiled function has no updates, so it does not train anything")
        return ExportParts(outs, list(obj.inputs), list(obj.updates) if training else [], "compiled function")
    if isinstance(obj, Network):
        inputs = list(obj.inputs)
        if not training:
            name = obj.layers[-1].output_name
            return ExportParts([(obj.build_graph()[0][name], name)], inputs, [], f"theanets {type(obj).__name__}")
        from ..theanets.trainer import Trainer

        kw = {} if learning_rate is None else {"learning_rate": learning_rate}
        try:
            trainer = Trainer(obj, algo, progress=False, **kw)
        except (ValueError, TypeError) as exc:
            raise CLIError(f"--training: {exc}") from None
        exprs = trainer.step_outputs
        return ExportParts(exprs, list(obj.variables), trainer.step_updates, f"theanets {type(obj).__name__} ({algo})")
    if isinstance(obj, Layer) or _is_layer_list(obj):
        layers = list(obj) if isinstance(obj, (list, tuple)) else [obj]
        if training:
            from .layer_training import layer_training_parts

            return layer_training_parts(layers, loss, algo, learning_rate)
        inputs = [lyr.input_var for lyr in get_all_layers(layers) if isinstance(lyr, InputLayer)]
        return ExportParts(_normalize_outputs(obj), inputs, [], "Lasagne layers")
    raise CLIError(
        f"TARGET returned {type(obj).__name__} ({obj!r:.80}); expected an output layer, a list of layers, a theanets "
        "Network or a compiled graphc.function"
    )
