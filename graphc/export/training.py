"""Exporting a training step as a standalone ONNX model any ONNX Runtime client can loop.

Naming contract (also stored as JSON in the model's ``graphc.training`` metadata):

* inputs: the data inputs (their names), then every shared variable the step
  reads, under its name (unnamed ones are called ``state<k>``, numbered in the
  order of the updates, then of first use);
* outputs: the requested outputs (``cost`` for a single one, else their names),
  then, for every updated shared variable ``N``, its new value ``N.next``.

A client feeds the initial state (:func:`training_model` returns it; ``save``
writes it beside the model as ``.npz``), runs one step, and feeds each
``N.next`` back as ``N`` for the next step.

A step with collectives (``dist.mean``/``dist.sum``) is written as one model
per stage instead (``gradients`` then ``apply``), with the client's all-reduce
between them: see :mod:`graphc.export.training_stages`.
"""

from __future__ import annotations

import io
import json
import os
import struct
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from ..ir.build import build_graph
from ..ir.partition import has_collectives
from .arrays import read_npz
from .budget import BudgetError
from .context import check_loop_op
from .io import atomic_write_bytes, save
from .model import DEFAULT_OPSET, _normalize_outputs, graph_to_onnx
from .training_stages import TrainingStages, split_training_step, stage_path

__all__ = ["training_model", "save_training", "load_training_state", "METADATA_KEY", "TrainingStages"]

METADATA_KEY = "graphc.training"


def training_model(
    inputs: Sequence[Any],
    outputs: Any,
    updates: Any,
    *,
    opset: int = DEFAULT_OPSET,
    name: str = "graphc_train",
    optimize: Any = None,
    passes: Any = None,
    check: bool = True,
    return_report: bool = False,
    loop_op: str = "scan",
) -> Any:
    """The training step ``outputs, updates`` as an ONNX model (or one per stage), and its initial state.

    Parameters
    ----------
    inputs : list of Variable
        Data inputs (placeholders), in order.
    outputs : Variable, list or dict
        What each step returns (the cost, metrics...).
    updates : list of pairs or dict
        As for :func:`graphc.function` (e.g. ``graphc.updates.adam(cost, params)``).
    opset, name, optimize, passes, check, return_report, loop_op
        As for :func:`graphc.export.to_onnx` (with ``return_report`` the
        result is ``(model, state, report)``; ``loop_op='loop'`` makes the
        forward and the backward recurrences ONNX ``Loop``s).

    Returns
    -------
    (onnx.ModelProto or TrainingStages, dict)
        The model and ``{input name: initial value}`` for every state input.  A step
        whose graph has collectives (:func:`graphc.distributed.mean`,
        :func:`graphc.distributed.sum`) gives a :class:`TrainingStages` instead of
        one model: ``gradients`` and ``apply`` models (one more per further round of
        collectives) with a client's all-reduce between them (see
        :mod:`graphc.export.training_stages` and ``docs/training-contract.md``).

    Raises
    ------
    ValueError
        For empty ``updates``, an unsupported ``loop_op``, or a collective inside a
        loop body.
    """
    from ..passes.manager import optimize as run_passes
    from ..tensor.update_pairs import default_updates as _default_updates
    from ..tensor.update_pairs import normalize_updates as _normalize_updates

    if not isinstance(inputs, (list, tuple)):
        raise TypeError(f"training_model: inputs must be a list of input variables, got {type(inputs).__name__}")
    if not isinstance(name, str):
        raise TypeError(f"training_model: name must be a str, got {type(name).__name__} {name!r}")
    check_loop_op(loop_op, "training_model")
    if not updates:
        raise ValueError(
            "training_model: updates is empty, so the step would train nothing; pass the optimizer's updates "
            "(e.g. graphc.updates.adam(cost, params))"
        )
    if isinstance(outputs, (list, tuple, dict)) or outputs is None:
        named_outputs = _normalize_outputs(outputs) if outputs else []
    else:
        named_outputs = _normalize_outputs({"cost": outputs})
    pairs = _normalize_updates(updates)
    pairs += _default_updates([v for v, _ in named_outputs], pairs, False)
    # stable names for the state: the variable's name, else state<k>; updated variables first
    taken = {v.name for v in inputs if getattr(v, "name", None)}
    state_names: dict[int, str] = {}

    def name_state(var: Any) -> str:
        label = var.name if var.name and var.name not in taken else f"state{len(state_names)}"
        taken.add(label)
        state_names[id(var)] = label
        return label

    graph_outputs = named_outputs + [(new, f"{name_state(var)}.next") for var, new in pairs]
    graph = build_graph(graph_outputs, list(inputs), what="training_model")
    for nid in graph.toposort():
        d = graph.data(nid)
        if d.kind == "param":
            d.name = state_names.get(id(d.ref)) or name_state(d.ref)  # read-only state after the updated
    graph.outputs = _unclash_outputs(graph.outputs, len(named_outputs), set(state_names.values()))
    report = run_passes(graph, optimize, passes)
    if has_collectives(graph):
        stages, state = split_training_step(
            graph, opset=opset, name=name, loop_op=loop_op, check=check, metadata_key=METADATA_KEY
        )
        return (stages, state, report) if return_report else (stages, state)
    model, names = graph_to_onnx(graph, opset=opset, params_as_inputs=True, graph_name=name, loop_op=loop_op)
    state = {names.params[nid]: graph.data(nid).ref.get_value() for nid in names.params}
    contract = {
        "data_inputs": names.inputs,
        "outputs": [n for n in names.outputs if not n.endswith(".next")],
        "state": {names.params[nid]: f"{names.params[nid]}.next" for nid in names.params
                  if f"{names.params[nid]}.next" in names.outputs},
        "read_only_state": [names.params[nid] for nid in names.params
                            if f"{names.params[nid]}.next" not in names.outputs],
    }
    entry = model.metadata_props.add()
    entry.key = METADATA_KEY
    entry.value = json.dumps(contract)
    if check:
        onnx.checker.check_model(model, full_check=True)
    return (model, state, report) if return_report else (model, state)


def _unclash_outputs(outputs: list[Any], n_requested: int, state: set[str]) -> list[Any]:
    """A requested output named like a state input (``counter``, the variable itself) becomes ``counter.out``.

    The state input keeps its name, so that ``N`` and ``N.next`` stay paired.
    """
    taken = state | {label for _, label in outputs}
    renamed = []
    for i, (value, label) in enumerate(outputs):
        if i < n_requested and label in state:
            new, k = f"{label}.out", 2
            while new in taken:
                new, k = f"{label}.out{k}", k + 1
            taken.add(new)
            label = new
        renamed.append((value, label))
    return renamed


def save_training(
    model: onnx.ModelProto | TrainingStages, state: dict[str, np.ndarray], path: str | os.PathLike[str]
) -> tuple[Any, Path]:
    """Write the model to ``path`` and its initial state to ``<path without suffix>.state.npz``.

    Every file is written atomically.  :class:`TrainingStages` (a step with
    collectives) are written one file per model, ``<path without suffix>.<role>.onnx``
    (``step.onnx`` -> ``step.gradients.onnx``, ``step.apply.onnx``).

    Returns
    -------
    (Path or list of Path, Path)
        The model file (for stages: their files, in order) and the state file.

    Raises
    ------
    TypeError
        If ``model`` is neither an ``onnx.ModelProto`` nor :class:`TrainingStages`.
    """
    if isinstance(model, TrainingStages):
        written: Any = [save(m, stage_path(path, role)) for m, role in zip(model.models, model.roles)]
        state_path = Path(path).with_suffix(".state.npz")
    else:
        written = save(model, path)
        state_path = written.with_suffix(".state.npz")
    buf = io.BytesIO()
    np.savez(buf, **state)
    atomic_write_bytes(state_path, buf.getvalue())
    return written, state_path


def load_training_state(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Read a state file written by :func:`save_training` (no pickled objects are accepted).

    The archive is read by :func:`graphc.export.arrays.read_npz`: every array's declared
    size is checked against the file and the memory budget before anything inflates.

    Raises
    ------
    FileNotFoundError
        When there is no file at ``path``.
    ValueError
        Naming the file, when it is not an ``.npz`` archive of numeric arrays (empty,
        truncated, damaged, a single array, Python objects...); a
        :class:`~graphc.export.budget.BudgetError` when its arrays exceed the memory budget.
    """
    where = os.fspath(path)
    try:
        arrays = read_npz(path)
    except (FileNotFoundError, BudgetError):
        raise
    except ValueError as exc:
        reason = str(exc)
        for prefix in (f"{where} is not a .npy/.npz array file: ", f"{where} "):
            if reason.startswith(prefix):
                reason = reason[len(prefix) :]
                break
        if "Python objects" in reason:
            reason += " (pickled data runs code when loaded, so it is refused, as numpy.load(allow_pickle=False) does)"
        raise ValueError(
            f"{where} is not a training state file (an .npz archive of arrays written by save_training): {reason}"
        ) from None
    except (OSError, EOFError, NotImplementedError, zipfile.BadZipFile, zlib.error, struct.error) as exc:
        raise ValueError(f"{where} is not a training state file: its archive is damaged ({type(exc).__name__}: {exc})") from None
    for name, arr in arrays.items():
        if arr.dtype.kind not in "biuf":
            raise ValueError(f"{where}: the state {name!r} holds {arr.dtype} values; a training state holds numbers")
    return arrays
