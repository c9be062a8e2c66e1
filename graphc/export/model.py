"""Assembling an ONNX model from a graph, and the public :func:`to_onnx`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import onnx
from onnx import helper, numpy_helper

from .. import __version__
from ..ir.build import build_graph
from ..ir.graph import Graph
from ..ir.types import Dim, TensorType
from ..ir.unify import known_sizes
from . import lowering as _lowerings  # noqa: F401  (registers the lowerings)
from .context import LOOP_OPS, LoweringContext, check_loop_op, onnx_dtype
from .loop_outputs import write_reversed_outputs

__all__ = [
    "to_onnx", "graph_to_onnx", "ExportedNames", "SUPPORTED_OPSETS", "DEFAULT_OPSET", "TARGETS", "LOOP_OPS",
    "ir_version_for",
]  # fmt: skip

DEFAULT_OPSET = 18
TARGETS = ("any", "cpu", "cuda")  # where an exported model will run (see to_onnx)
SUPPORTED_OPSETS = range(17, 22)


def ir_version_for(opset: int) -> int:
    """The lowest ONNX IR version that carries ``opset``.

    onnx stamps its newest IR version by default, which older ONNX Runtime
    releases refuse to load; the lowest version that carries the opset loads
    everywhere that opset runs.
    """
    return helper.find_min_ir_version_for([helper.make_opsetid("", opset)])


@dataclass
class ExportedNames:
    """Where each graph value went in the ONNX model.

    Attributes
    ----------
    inputs : list of str
        ONNX input names of the graph's input nodes, in order.
    params : dict
        ONNX name of each ``param`` node (by node id).
    outputs : list of str
        ONNX output names, in order.
    known_sizes : dict
        Sizes the graph's ops fix for its symbolic dims (by dim name; see
        :func:`graphc.ir.unify.known_sizes`), written as static sizes.
    """

    inputs: list[str] = field(default_factory=list)
    params: dict[int, str] = field(default_factory=dict)
    outputs: list[str] = field(default_factory=list)
    known_sizes: dict[str, int] = field(default_factory=dict)


def _value_info(name: str, t: TensorType, labels: Mapping[str, str], known: Mapping[str, int] | None = None) -> onnx.ValueInfoProto:
    known = known or {}
    dims = [
        (known[d.name] if d.name in known else _dim_param(d, labels)) if isinstance(d, Dim) else int(d) for d in t.shape
    ]
    return helper.make_tensor_value_info(name, onnx_dtype(t.dtype), dims)


def _dim_param(d: Dim, labels: Mapping[str, str]) -> str:
    return "*".join(labels.get(part, part) for part in d.name.split("*"))


def _dim_labels(graph: Graph, input_names: list[str]) -> dict[str, str]:
    """Readable dim names for the model: ``<input>_dim<axis>`` for each input's
    symbolic sizes (internal names carry counters that keep same-named inputs
    of a session apart)."""
    labels: dict[str, str] = {}
    taken: set[str] = set()
    for nid, onnx_name in zip(graph.inputs, input_names):
        for axis, d in enumerate(graph.data(nid).types[0].shape):
            if isinstance(d, Dim) and "*" not in d.name and d.name not in labels:
                label = f"{onnx_name}_dim{axis}"
                if label in taken:
                    label = d.name
                labels[d.name] = label
                taken.add(label)
    return labels


def _check_opset(opset: int) -> int:
    if isinstance(opset, bool) or not isinstance(opset, (int, np.integer)) or int(opset) not in SUPPORTED_OPSETS:
        raise ValueError(
            f"opset {opset!r} is not supported; graphc exports opsets "
            f"{SUPPORTED_OPSETS.start}..{SUPPORTED_OPSETS.stop - 1} (default {DEFAULT_OPSET})"
        )
    return int(opset)


def graph_to_onnx(
    graph: Graph,
    *,
    opset: int = DEFAULT_OPSET,
    params_as_inputs: bool = False,
    graph_name: str = "graphc",
    param_values: Mapping[int, np.ndarray] | None = None,
    loop_op: str = "scan",
) -> tuple[onnx.ModelProto, ExportedNames]:
    """Lower ``graph`` to an ONNX model.

    Parameters
    ----------
    graph : Graph
    opset : int
        Default-domain opset, 17..21.
    params_as_inputs : bool
        When True, shared variables become graph inputs (the runtime binds
        them); otherwise initializers holding their current values.
    graph_name : str
    param_values : mapping, optional
        Initializer values by param node id (default: each variable's value).
    loop_op : {'scan', 'loop'}
        The ONNX op of scans over sequences (see :func:`to_onnx`).

    Returns
    -------
    (onnx.ModelProto, ExportedNames)

    Raises
    ------
    ValueError
        For an unsupported opset or ``loop_op``.
    """
    opset = _check_opset(opset)
    ctx = LoweringContext(opset, check_loop_op(loop_op, "graph_to_onnx"))
    names = ExportedNames()
    onnx_inputs: list[onnx.ValueInfoProto] = []
    initializers: list[onnx.TensorProto] = []
    value_name: dict[tuple[int, int], str] = {}

    # names the user chose come first so generated names never take them
    for i, nid in enumerate(graph.inputs):
        name = ctx.reserve(graph.data(nid).name or f"input_{i}")
        value_name[(nid, 0)] = name
        names.inputs.append(name)
    out_names = [ctx.reserve(name) for _, name in graph.outputs]
    labels = _dim_labels(graph, names.inputs)
    known = names.known_sizes = known_sizes(graph)  # sizes the graph's ops fix: written as static sizes
    onnx_inputs = [_value_info(name, graph.data(nid).types[0], labels, known) for name, nid in zip(names.inputs, graph.inputs)]
    order = graph.toposort()
    for nid in order:
        d = graph.data(nid)
        if d.kind == "param":
            name = ctx.reserve(d.name or f"param_{nid}")
            value_name[(nid, 0)] = name
            names.params[nid] = name
            if params_as_inputs:
                onnx_inputs.append(_value_info(name, d.types[0], labels, known))
            else:
                if param_values is not None and nid in param_values:
                    value = param_values[nid]
                else:
                    value = d.ref.get_value()
                initializers.append(numpy_helper.from_array(np.array(value, order="C"), name=name))

    # an op value that is exactly one output is written under that output's name
    direct: dict[tuple[int, int], str] = {}
    for (v, _), oname in zip(graph.outputs, out_names):
        if graph.data(v[0]).kind == "op" and v not in direct:
            direct[v] = oname
    ctx.lower(graph, value_name, direct)
    onnx_outputs = []
    for ((v, _), oname) in zip(graph.outputs, out_names):
        if value_name[v] != oname:
            ctx.node("Identity", [value_name[v]], outputs=[oname], name=f"output/{oname}")
        onnx_outputs.append(_value_info(oname, graph.type_of(v), labels, known))
        names.outputs.append(oname)
    # loops write reversed what is only read reversed; then reversals every loop reads backwards go
    write_reversed_outputs(ctx.nodes, ctx.reversed_from, out_names, ctx.initializers, opset)
    ctx.drop_unread(list(ctx.reversed_from), out_names)

    g = helper.make_graph(
        ctx.nodes, graph_name, onnx_inputs, onnx_outputs, initializer=initializers + ctx.initializers
    )
    model = helper.make_model(
        g,
        opset_imports=[helper.make_opsetid("", opset)],
        producer_name="graphc",
        producer_version=__version__,
    )
    model.ir_version = ir_version_for(opset)
    return model, names


def _is_layer(x: Any) -> bool:
    return hasattr(x, "get_output_for") and hasattr(x, "output_shape")


def _layers_to_expressions(outputs: Any) -> Any:
    """Output layers become their deterministic output expressions, named after the layers."""
    from ..layers.helper import get_output

    if _is_layer(outputs):
        outputs = [outputs]
    if isinstance(outputs, Mapping):
        keys = list(outputs)
        layers = [outputs[k] for k in keys]
    elif isinstance(outputs, (list, tuple)) and any(_is_layer(o) for o in outputs):
        layers = list(outputs)
        keys = [lyr.name or ("output" if len(layers) == 1 else f"output_{i}") for i, lyr in enumerate(layers)]
    else:
        return outputs
    if not all(_is_layer(o) for o in layers):
        if any(_is_layer(o) for o in layers):
            raise TypeError("to_onnx: give either layers or expressions as outputs, not a mix")
        return outputs
    exprs = get_output(layers, deterministic=True)
    return dict(zip(keys, exprs))


def _normalize_outputs(outputs: Any) -> list[tuple[Any, str]]:
    from ..tensor.basic import as_tensor_variable

    outputs = _layers_to_expressions(outputs)
    if isinstance(outputs, Mapping):
        items = [(as_tensor_variable(v), str(k)) for k, v in outputs.items()]
    else:
        seq = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
        if not seq:
            raise ValueError("to_onnx: no outputs given")
        items = []
        for i, v in enumerate(seq):
            var = as_tensor_variable(v)
            items.append((var, var.name or f"output_{i}" if len(seq) > 1 else var.name or "output"))
    seen: dict[str, int] = {}
    out = []
    for v, name in items:
        k = seen.get(name, 0)
        seen[name] = k + 1
        out.append((v, name if k == 0 else f"{name}_{k}"))
    return out


def to_onnx(
    outputs: Any,
    inputs: Sequence[Any] | None = None,
    *,
    opset: int = DEFAULT_OPSET,
    params: str = "initializers",
    name: str = "graphc",
    check: bool = True,
    optimize: Any = None,
    passes: Mapping[str, bool] | None = None,
    return_report: bool = False,
    target: str = "any",
    loop_op: str = "scan",
) -> Any:
    """Export symbolic expressions as an ONNX model.

    Parameters
    ----------
    outputs : Variable, Layer, list of either, or dict of name -> either
        What the model computes.  Output layers give their deterministic
        output (dropout and noise off).  Output names come from the dict
        keys, else from the layers' or variables' names, else
        ``output``/``output_<i>``.
    inputs : list of Variable, optional
        Input placeholders in order; inferred (first-use order) when omitted.
    opset : int
        Default-domain opset, 17..21 (default 18).
    params : {'initializers', 'inputs'}
        Whether shared variables become initializers holding their current
        values (a self-contained inference model) or graph inputs.
    name : str
        The ONNX graph name.
    check : bool
        Run ``onnx.checker.check_model(full_check=True)`` on the result.
    optimize : {'O0', 'O1', 'O2'} or 0..2, optional
        Optimization level (default ``GRAPHC_OPTIMIZE`` or ``'O2'``).
    passes : dict, optional
        Per-pass switches by name.
    return_report : bool
        Also return the passes' :class:`~graphc.passes.PassReport` (what
        each pass changed), as ``(model, report)``.
    target : {'any', 'cpu', 'cuda'}
        Where the model will run.  ``'any'`` (default) keeps the model
        portable: LSTMs with peepholes stay loops, since ONNX Runtime's CUDA
        kernel ignores ONNX's peephole input and other runtimes refuse it;
        ``'cpu'`` lowers them to ONNX ``LSTM`` too (exact on ONNX Runtime's
        CPU kernel, and faster).
    loop_op : {'scan', 'loop'}
        The ONNX op recurrences over sequences become.  ``'scan'`` (default,
        measured faster on ONNX Runtime): an ONNX ``Scan`` reading each
        sequence element in place.  ``'loop'``: an ONNX ``Loop`` whose trip
        count is the sequence length, reading element ``i`` (``T - 1 - i``
        when reversed) with ``Gather``; it also runs zero-length sequences,
        which ONNX Runtime's ``Scan`` refuses.  Scans with an explicit step
        count or a stop condition are ``Loop`` either way, and recurrences a
        pass lowered to ONNX ``LSTM``/``GRU`` stay so.

    Returns
    -------
    onnx.ModelProto
        With ``ir_version`` pinned to the lowest that carries the opset, so
        ONNX Runtime 1.2x-1.3x loads it; unknown sizes are named dynamic dims.

    Raises
    ------
    ValueError
        For an unsupported opset, ``params``, ``target`` or ``loop_op`` value.
    graphc.ir.build.MissingInputError
        If ``inputs`` is given and misses a placeholder the outputs need.
    """
    if not isinstance(name, str):
        raise TypeError(f"to_onnx: name must be a str, got {type(name).__name__} {name!r}")
    if params not in ("initializers", "inputs"):
        raise ValueError(f"to_onnx: params must be 'initializers' or 'inputs', got {params!r}")
    if target not in TARGETS:
        raise ValueError(f"to_onnx: target must be one of {', '.join(map(repr, TARGETS))}, got {target!r}")
    _check_opset(opset)
    check_loop_op(loop_op, "to_onnx")
    outs = _normalize_outputs(outputs)
    graph = build_graph(outs, list(inputs) if inputs is not None else None, what="to_onnx")
    from ..passes.manager import optimize as run_passes

    graph.frozen_params = params == "initializers"  # the model holds today's values: passes may use them
    graph.target = target
    report = run_passes(graph, optimize, passes)
    model, _ = graph_to_onnx(graph, opset=opset, params_as_inputs=params == "inputs", graph_name=name, loop_op=loop_op)
    if check:
        onnx.checker.check_model(model, full_check=True)
    return (model, report) if return_report else model
