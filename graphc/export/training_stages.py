"""A training step with collectives, exported as one ONNX model per stage, for a client's own all-reduce.

A data-parallel step (``grads = dist.mean(T.grad(cost, params))`` fed to an
update rule) cannot be one model: the all-reduce needs every rank's values.
:func:`graphc.export.training_model` cuts its optimized graph at the
collectives (:func:`graphc.ir.partition.partition_at_collectives`, the cut
:func:`graphc.function` makes under MPI) and writes each stage as a model:

* ``gradients`` (stage 0): reads the data, the parameters and whatever state
  it needs; outputs one value per collective, named ``mean/<i>`` or
  ``sum/<i>``, and the values later stages need (``carry/<j>``: the cost, the
  step counter...);
* the client all-reduces each ``mean/<i>``/``sum/<i>`` across its ranks (a sum;
  for ``mean``, divided by the number of ranks, in the value's dtype) and feeds
  the result, and every ``carry/<j>`` unchanged, under the same names to the next
  model;
* ``apply`` (the last stage): outputs the requested outputs, then ``N.next`` for
  every updated shared variable ``N``, as the one-model contract does.

A collective that reads another collective's result (a gradient norm summed
after averaging) needs one more round: such a step is written as ``N + 1``
models for ``N`` rounds (``gradients``, ``stage1``, ... ``apply``), each round
reduced between two models in the same way.  The contract (see
``docs/training-contract.md``) is stored as JSON in every model's
``graphc.training`` metadata entry.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from ..ir.graph import Graph, Value
from ..ir.partition import partition_at_collectives
from .model import graph_to_onnx

__all__ = ["TrainingStages", "split_training_step", "stage_roles", "stage_path", "ALLREDUCE_RULE"]

ALLREDUCE_RULE = (
    "after stage k, all-reduce every entry of allreduce[k] across the ranks: op 'sum' sums the output over the "
    "ranks, op 'mean' sums it and divides by the number of ranks (in the output's dtype); every rank issues the "
    "same reductions in the listed order (fusing them into one buffer per dtype is fine); feed each reduced value, "
    "and each carried output unchanged, to the later models under the same name"
)


@dataclass
class TrainingStages:
    """A training step with collectives as ``N + 1`` ONNX models (``N`` all-reduce rounds between them).

    Attributes
    ----------
    models : list of onnx.ModelProto
        In the order they run; two for a usual data-parallel step.
    roles : list of str
        ``'gradients'`` for the first, ``'apply'`` for the last, ``'stage<k>'`` between.
    contract : dict
        The contract every model's ``graphc.training`` metadata holds (without the
        ``stage``/``role`` keys each model adds): see ``docs/training-contract.md``.
    """

    models: list[onnx.ModelProto]
    roles: list[str]
    contract: dict[str, Any]

    @property
    def gradients(self) -> onnx.ModelProto:
        """The first model: what the first all-reduce needs."""
        return self.models[0]

    @property
    def apply(self) -> onnx.ModelProto:
        """The last model: the outputs and the new state."""
        return self.models[-1]

    def paths(self, path: str | os.PathLike[str]) -> list[Path]:
        """Where :func:`graphc.export.save_training` writes each model for ``path`` (see :func:`stage_path`)."""
        return [stage_path(path, role) for role in self.roles]


def stage_roles(n_models: int) -> list[str]:
    """``['gradients', 'apply']`` for two models; ``'stage<k>'`` for those between."""
    return ["gradients", *(f"stage{k}" for k in range(1, n_models - 1)), "apply"]


def stage_path(path: str | os.PathLike[str], role: str) -> Path:
    """``step.onnx`` -> ``step.<role>.onnx`` (the suffix of ``path`` replaced)."""
    return Path(path).with_suffix(f".{role}.onnx")


def _name_inputs(graph: Graph) -> list[str]:
    """Give the data inputs the unique names the one-model export gives them (``input_<i>`` when unnamed)."""
    taken: set[str] = set()
    names = []
    for i, nid in enumerate(graph.inputs):
        base = graph.data(nid).name or f"input_{i}"
        label, k = base, 1
        while label in taken:
            label = f"{base}__{k}"
            k += 1
        taken.add(label)
        graph.data(nid).name = label
        names.append(label)
    return names


def _shape(t: Any) -> list[int | None]:
    return [d if isinstance(d, int) else None for d in t.shape]


def split_training_step(
    graph: Graph, *, opset: int, name: str, loop_op: str, check: bool, metadata_key: str
) -> tuple[TrainingStages, dict[str, np.ndarray]]:
    """Export an optimized training graph that has collectives as one model per stage.

    Parameters
    ----------
    graph : graphc.ir.Graph
        As :func:`graphc.export.training_model` builds it: outputs are the requested
        outputs then ``N.next`` values, shared variables named (``N``). Its input
        nodes are renamed to their ONNX names.
    opset, name, loop_op, check
        As for :func:`graphc.export.training_model` (``name`` prefixes each model's graph name).
    metadata_key : str
        The ``metadata_props`` key of the contract.

    Returns
    -------
    (TrainingStages, dict)
        The models, and ``{state name: initial value}`` for every state input of any model.

    Raises
    ------
    ValueError
        If a collective sits inside a loop body, reduces the result of another
        collective as it is, or a user's name takes one the contract needs.
    """
    data_names = _name_inputs(graph)
    partition = partition_at_collectives(graph, where="training_model", defer_state=True)
    if partition is None:
        raise ValueError("training_model: split_training_step needs a graph with collectives")
    stages = partition.stages
    last = len(stages) - 1
    roles = stage_roles(len(stages))

    reduced: dict[Value, str] = {}  # a collective's output -> the name its input and result go by
    allreduce: list[list[dict[str, Any]]] = []
    for reductions in partition.rounds:
        entries = []
        for red in reductions:
            if red.source in reduced:
                raise ValueError(
                    f"training_model: a collective ({red.kind}) reduces the result of another collective "
                    f"({reduced[red.source]}) as it is; the exported stages reduce values the models compute: "
                    "apply the reduction once, or compute something from the reduced value first"
                )
            label = f"{red.kind}/{len(reduced)}"
            reduced[red.target] = label
            entries.append({"name": label, "op": red.kind, "dtype": red.type.dtype, "shape": _shape(red.type)})
        allreduce.append(entries)
    carried: dict[Value, str] = {}  # a value one stage computes and a later one reads
    producer = {v: s for s, stage in enumerate(stages[:last]) for v in stage.produces}
    for stage in stages:
        for kind, key in stage.sources:
            if kind == "value" and key not in reduced and key not in carried:
                carried[key] = f"carry/{len(carried)}"

    models, state, described = [], {}, []
    for s, stage in enumerate(stages):
        g = stage.graph
        if s < last:
            local = dict(zip(stage.produces, (v for v, _ in g.outputs)))
            outputs = [(local[red.source], reduced[red.target]) for red in partition.rounds[s]]
            outputs += [(local[v], label) for v, label in carried.items() if producer.get(v) == s]
            g.outputs = outputs
        received: dict[str, list[str]] = {"reduced_inputs": [], "carried_inputs": []}
        for nid, (kind, key) in zip(g.inputs, stage.sources):
            if kind == "value":
                label = reduced.get(key) or carried[key]
                g.data(nid).name = label
                received["reduced_inputs" if key in reduced else "carried_inputs"].append(label)
        model, names = graph_to_onnx(g, opset=opset, params_as_inputs=True, graph_name=f"{name}_{roles[s]}", loop_op=loop_op)
        wanted = [g.data(n).name for n in g.inputs] + [g.data(n).name for n in names.params] + [o for _, o in g.outputs]
        got = names.inputs + list(names.params.values()) + names.outputs
        if wanted != got:
            clash = next(w for w, h in zip(wanted, got) if w != h)
            raise ValueError(
                f"training_model: the name {clash!r} is taken twice in the {roles[s]} model (a data input, shared "
                "variable or output named like another, or like the mean/<i>, sum/<i>, carry/<j> values the "
                "exported stages pass on); rename it"
            )
        for nid, label in names.params.items():
            if label not in state:
                state[label] = g.data(nid).ref.get_value()
        described.append({
            "role": roles[s],
            "data_inputs": [g.data(n).name for n, (kind, _) in zip(g.inputs, stage.sources) if kind == "arg"],
            "state_inputs": list(names.params.values()),
            **received,
            "outputs": names.outputs,
        })  # fmt: skip
        models.append(model)

    final = described[-1]["outputs"]
    state_inputs = [n for d in described for n in d["state_inputs"]]
    contract = {
        "data_inputs": data_names,
        "outputs": [n for n in final if not n.endswith(".next")],
        "state": {n: f"{n}.next" for n in dict.fromkeys(state_inputs) if f"{n}.next" in final},
        "read_only_state": [n for n in dict.fromkeys(state_inputs) if f"{n}.next" not in final],
        "stages": described,
        "allreduce": allreduce,
        "allreduce_rule": ALLREDUCE_RULE,
        "carried": list(carried.values()),
    }
    for s, model in enumerate(models):
        entry = model.metadata_props.add()
        entry.key = metadata_key
        entry.value = json.dumps({"stage": s, "role": roles[s], **contract})
        if check:
            onnx.checker.check_model(model, full_check=True)
    return TrainingStages(models, roles, contract), state
