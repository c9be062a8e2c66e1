"""The compile pipeline of :func:`graphc.function`, as one straight path.

::

    expressions (outputs, updates, givens)
      -> updates checked, default updates added          (graphc.tensor.update_pairs)
      -> IR graph, unused inputs refused                  (graphc.ir.build, graphc.runtime.arguments)
      -> passes                                           (graphc.passes)
      -> ONNX model, shared variables as inputs           (graphc.export)
      -> ONNX Runtime session                             (graphc.runtime.providers)

:func:`lower` takes the first three steps and :func:`open_graph_session` the
last two, so that a graph can be cut between them (at collectives, see
:mod:`graphc.ir.partition`) and each part opened as a session of its own.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import onnx
import onnxruntime as ort

from ..export.model import ExportedNames, graph_to_onnx
from ..ir.build import build_graph
from ..ir.graph import Graph
from ..passes.manager import optimize as run_passes
from ..tensor.basic import as_tensor_argument
from ..tensor.shared import SharedVariable
from ..tensor.update_pairs import default_updates, normalize_updates
from ..tensor.variable import Variable
from .arguments import check_unused
from .providers import make_session, resolve_device
from .sequences import sequence_dims

__all__ = ["LoweredStep", "GraphSession", "lower", "open_graph_session"]


@dataclass
class LoweredStep:
    """A function's expressions lowered to an optimized IR graph.

    Attributes
    ----------
    graph : graphc.ir.Graph
        After the passes.  Its outputs are ``out0, out1, ...`` (the outputs) then
        ``update0, update1, ...`` (the new values of the updated variables).
    outputs : list of Variable
    updates : list of (SharedVariable, Variable)
        Explicit updates, then default updates.
    single : bool
        Whether ``outputs`` was one variable (a call returns one array).
    sequence_dims : dict
        Symbolic dims that are a scan's sequence length (found before the passes rewrite scans).
    pass_report : graphc.passes.PassReport
    """

    graph: Graph
    outputs: list[Variable]
    updates: list[tuple[SharedVariable, Variable]]
    single: bool
    sequence_dims: dict[str, str]
    pass_report: Any


@dataclass
class GraphSession:
    """An IR graph exported to ONNX and opened as an ONNX Runtime session.

    Attributes
    ----------
    onnx_model : onnx.ModelProto
    names : graphc.export.model.ExportedNames
        Session input, output and parameter names of the graph's nodes.
    session : onnxruntime.InferenceSession
    device : str
        Where it runs: ``'cpu'`` or ``'cuda:N'``.
    seconds : float
        How long creating the session took.
    """

    onnx_model: onnx.ModelProto
    names: ExportedNames
    session: ort.InferenceSession
    device: str
    seconds: float


def lower(
    inputs: Sequence[Any],
    outputs: Any,
    updates: Any,
    givens: Any,
    *,
    name: str,
    device: str | None,
    on_unused_input: str,
    no_default_updates: Any,
    optimize: Any,
    passes: Mapping[str, bool] | None,
) -> LoweredStep:
    """Expressions -> checked updates -> IR graph -> passes.

    Raises
    ------
    graphc.ir.build.MissingInputError
        If an output needs a placeholder that is not in ``inputs``.
    graphc.runtime.arguments.UnusedInputError
        If an input is not needed and ``on_unused_input='raise'``.
    """
    if on_unused_input not in ("raise", "warn", "ignore"):
        raise ValueError(f"on_unused_input must be 'raise', 'warn' or 'ignore', got {on_unused_input!r}")
    if isinstance(inputs, Variable) or not isinstance(inputs, (list, tuple)):
        raise TypeError(f"{name}: inputs must be a list of variables, got {type(inputs).__name__}")
    single = outputs is not None and not isinstance(outputs, (list, tuple))
    out_list = [] if outputs is None else ([outputs] if single else list(outputs))
    out_vars = [as_tensor_argument(o, f"{name}: output {i}") for i, o in enumerate(out_list)]
    explicit = normalize_updates(updates)
    all_updates = explicit + default_updates(out_vars, explicit, no_default_updates)
    named = [(v, f"out{i}") for i, v in enumerate(out_vars)]
    named += [(new, f"update{i}") for i, (_, new) in enumerate(all_updates)]
    graph = build_graph(named, list(inputs), what=name, replace=givens)
    check_unused(name, inputs, [v for v, _ in named], on_unused_input, givens)
    graph.target = resolve_device(device)[0]  # the passes may use what its kernels do
    seq_dims = sequence_dims(graph)  # before the passes rewrite the scans
    report = run_passes(graph, optimize, passes)
    return LoweredStep(graph, out_vars, all_updates, single, seq_dims, report)


def open_graph_session(graph: Graph, *, opset: int, device: str | None, training: bool, name: str) -> GraphSession:
    """IR graph -> ONNX model (shared variables as inputs) -> ONNX Runtime session.

    Parameters
    ----------
    graph : graphc.ir.Graph
    opset : int
    device : str or None
        As :func:`graphc.runtime.providers.make_session` takes it.
    training : bool
        Whether the session runs training steps (see :func:`~graphc.runtime.providers.make_session`).
    name : str
        The ONNX graph's name.
    """
    model, names = graph_to_onnx(graph, opset=opset, params_as_inputs=True, graph_name=name)
    start = time.perf_counter()
    session, where = make_session(model.SerializeToString(), device, training=training)
    return GraphSession(model, names, session, where, time.perf_counter() - start)
