"""Native RNN lowering: a ``scan`` that is exactly an LSTM or GRU cell becomes ONNX's ``LSTM``/``GRU``.

The proof obligation is met by matching, not by trust: the loop body must be
exactly the cell's equations (:data:`lstm_template`, :data:`gru_template`:
structure, the gate slices of one stacked hidden matmul, sigmoid gates and
tanh cell activations, optional peepholes), the sequence must be the input projection
``x W_in + b`` computed before the loop (Lasagne's precompute_input), the
graph must read nothing of the scan but its stacked hidden states (not the
stacked cell states, nor per-step values ``stash`` made a training graph's
forward loop emit for the backward pass: a loop that must run anyway is not
doubled by a native op beside it; every output stacking the hidden state is
replaced, so the scan is gone and a second run finds nothing to do), and
everything must be float32 (ONNX Runtime's CPU kernels have no float64).  Weights are reordered to ONNX's gate
order ([i, o, f, c] for LSTM; [z, r, h] for GRU with z = 1 - u, so the update
gate's weights change sign).  Masked scans are never lowered: ONNX's
``sequence_lens`` zero-fills past the end, whereas a masked step carries the
previous state, and a mask may have holes.  ``grad_clip`` marks are looked
through (they only matter for gradients).

Initial states that are provably zero (a zero constant, or a parameter whose
value is zero in a graph with frozen parameters: an inference export with
initializers) are left out of the native op (``zero_initial``): ONNX's default
initial state is zero, and the batch-sized broadcast of the state (``Shape``,
``Expand``) goes with them.  That is most of a batch-1 model's per-call cost
besides the cell itself.

Peephole LSTMs are lowered only for a graph whose target is the CPU
(``graph.target == 'cpu'``): ONNX Runtime's CUDA LSTM kernel runs cuDNN, which
has no peepholes, and ignores the ``P`` input (read in its source,
``cudnn_rnn_base.cc``), and other runtimes (TensorRT) refuse it; an export for
an unknown runtime (``'any'``) keeps such a cell a loop.

Native versus loop is otherwise decided by measurement (``bench/loop_cost.py --native``): on the
CPU, ONNX Runtime's ``LSTM`` kernel beat the loop path at every size measured, its ``GRU`` kernel
only below :data:`NATIVE_GRU_MAX_CELLS` batch x hidden cells a step, so a CPU graph with a known
batch at least that large keeps its GRU a loop (:func:`native_gru_pays`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..ir.graph import Graph, Value
from .base import Pass, log, scan_nodes
from .pattern import emit, emit_const, match

__all__ = ["native_rnn", "NATIVE_RNN", "lstm_template", "gru_template", "native_gru_pays", "NATIVE_GRU_MAX_CELLS"]


def _cols(src: Any, k: int, h: int) -> tuple[Any, ...]:
    index = (("slice", None, None, 1), ("slice", k * h, (k + 1) * h, 1))
    return ("op", "getitem", {"index": index}, [src])


def _add(a: Any, b: Any) -> tuple[Any, ...]:
    return ("op", "add", None, [a, b])


def _mul(a: Any, b: Any) -> tuple[Any, ...]:
    return ("op", "mul", None, [a, b])


def lstm_template(h: int, peepholes: bool) -> tuple[Any, Any]:
    """Templates of (new cell, new hidden) of Lasagne's LSTM step (precomputed input)."""
    gates = _add(("in", "x_t"), ("op", "matmul", None, [("in", "h_prev"), ("in", "W_hid")]))
    i_pre, f_pre, g_pre, o_pre = (_cols(gates, k, h) for k in range(4))
    c_prev = ("in", "c_prev")
    if peepholes:
        i_pre = _add(i_pre, _mul(c_prev, ("in", "w_ci")))
        f_pre = _add(f_pre, _mul(c_prev, ("in", "w_cf")))
    cell = _add(_mul(("act", "f", f_pre), c_prev), _mul(("act", "f", i_pre), ("act", "g", g_pre)))
    if peepholes:
        o_pre = _add(o_pre, _mul(cell, ("in", "w_co")))
    hid = _mul(("act", "f", o_pre), ("act", "h", cell))
    return cell, hid


def gru_template(h: int) -> Any:
    """Template of the new hidden state of Lasagne's GRU step (precomputed input, reset after the matmul)."""
    hid_in = ("op", "matmul", None, [("in", "h_prev"), ("in", "W_hid")])
    x_t = ("in", "x_t")
    reset = ("act", "f", _add(_cols(hid_in, 0, h), _cols(x_t, 0, h)))
    update = ("act", "f", _add(_cols(hid_in, 1, h), _cols(x_t, 1, h)))
    cand = ("act", "g", _add(_cols(x_t, 2, h), _mul(reset, _cols(hid_in, 2, h))))
    keep = ("op", "sub", None, [("const", 1.0), update])
    return _add(_mul(keep, ("in", "h_prev")), _mul(update, cand))


# ONNX Runtime's CPU kernels give wrong results for some non-default activation lists
# (a Relu output activation, seen with 1.31): only the standard cells are lowered.
STANDARD_LSTM = ("Sigmoid", "Tanh", "Tanh")
STANDARD_GRU = ("Sigmoid", "Tanh")

_PROJECTION = ("op", "add", None, [("op", "matmul", None, [("in", "X"), ("in", "W_in")]), ("in", "b")])


def _outer(graph: Graph, scan: int, body: Graph, env: dict[str, Any], name: str) -> Value | None:
    """The scan input feeding body input ``env[name]`` (a non-sequence), or None."""
    v = env.get(name)
    if v is None or v[1] != 0 or v[0] not in body.inputs:
        return None
    k = body.inputs.index(v[0])
    d = graph.data(scan)
    first_nonseq = d.attrs["n_seqs"] + d.attrs["n_states"]
    if k < first_nonseq:
        return None
    return graph.node_inputs(scan)[k]


# ops through which an all-zero value stays all zero whatever their other inputs (shapes, axes)
_ZERO_PRESERVING = frozenset({"expand", "expand_dims", "squeeze", "reshape", "transpose", "broadcast_to", "getitem"})


def _is_zero(graph: Graph, value: Value) -> bool:
    """Whether ``value`` is provably all zeros: a zero constant, or a zero parameter of a frozen graph."""
    nid = value[0]
    while True:
        d = graph.data(nid)
        if d.kind == "op" and d.op in _ZERO_PRESERVING:
            nid = graph.node_inputs(nid)[0][0]
            continue
        if d.kind == "const":
            arr = d.value
        elif d.kind == "param" and graph.frozen_params:
            arr = d.ref.get_value(borrow=True)
        else:
            return False
        return isinstance(arr, np.ndarray) and arr.size > 0 and not np.any(arr)


def _gate_blocks(graph: Graph, mat: Value, order: list[int], h: int, negate: int | None, prov: str | None) -> Value:
    """Columns blocks of a (rows, n*h) matrix in ``order``, transposed to (1, n*h, rows)."""
    blocks = []
    for k in order:
        blk = emit(graph, "getitem", [mat], prov, index=(("slice", None, None, 1), ("slice", k * h, (k + 1) * h, 1)))
        blocks.append(emit(graph, "neg", [blk], prov) if k == negate else blk)
    stacked = emit(graph, "concat", blocks, prov, axis=1)
    return emit(graph, "expand_dims", [emit(graph, "transpose", [stacked], prov, perm=(1, 0))], prov, axes=(0,))


def _bias(graph: Graph, b: Value, order: list[int], h: int, negate: int | None, prov: str | None) -> Value:
    parts = []
    for k in order:
        seg = emit(graph, "getitem", [b], prov, index=(("slice", k * h, (k + 1) * h, 1),))
        parts.append(emit(graph, "neg", [seg], prov) if k == negate else seg)
    parts.append(emit_const(graph, np.zeros(len(order) * h, dtype=np.float32)))  # the recurrent bias Rb
    return emit(graph, "expand_dims", [emit(graph, "concat", parts, prov, axis=0)], prov, axes=(0,))


def _lower_one(graph: Graph, scan: int) -> bool:
    d = graph.data(scan)
    a = d.attrs
    body: Graph = a["body"]
    if a["n_seqs"] != 1 or a["has_n_steps"] or a["n_states"] not in (1, 2):
        return False
    if any(t.dtype != "float32" for t in d.types):
        return False
    ins = graph.node_inputs(scan)
    proj: dict[str, Any] = {}
    if not match(graph, _PROJECTION, ins[0], proj):
        return False
    X, W_in, b = proj["X"], proj["W_in"], proj["b"]
    if graph.type_of(X).ndim != 3 or graph.type_of(W_in).ndim != 2 or graph.type_of(b).ndim != 1:
        return False
    state_t = body.data(body.inputs[1]).types[0]
    if state_t.ndim != 2 or not isinstance(state_t.shape[1], int):
        return False
    h = state_t.shape[1]
    prov = d.provenance
    order_vals = {"x_t": (body.inputs[0], 0)}
    if a["n_states"] == 2:
        return _lower_lstm(graph, scan, body, h, X, W_in, b, order_vals, prov)
    return _lower_gru(graph, scan, body, h, X, W_in, b, order_vals, prov)


def _bound_to_inputs(body: Graph, env: dict[str, Any], expected: dict[str, int]) -> bool:
    return all(env.get(name) == (body.inputs[k], 0) for name, k in expected.items())


def _is_read(graph: Graph, value: Value) -> bool:
    return bool(graph.uses(value) or graph.output_uses(value))


def _provided_ports(graph: Graph, scan: int, hid_port: int) -> list[int] | None:
    """The scan outputs the native op replaces, or None when lowering would leave the scan running.

    The native op gives the stacked new hidden states (ONNX ``Y``), so it replaces
    every output that stacks the body's new hidden state (the carried state's
    own output, and any per-step output of the same value, such as one ``stash``
    added).  Lowering is worth it, and done, only when those outputs are all the
    graph reads of the scan: if anything else is read (the stacked cell states,
    per-step values stashed for a backward pass), the loop has to run anyway
    and a native op beside it would repeat its work.  When nothing is read
    there is nothing to replace either (dead-code elimination removes the scan).
    """
    body: Graph = graph.data(scan).attrs["body"]
    hid_value = body.outputs[hid_port][0]
    provided = [p for p, (v, _) in enumerate(body.outputs) if v == hid_value]
    read = [p for p in range(len(body.outputs)) if _is_read(graph, (scan, p))]
    if not read or any(p not in provided for p in read):
        return None
    return read


def _finish(graph: Graph, scan: int, y: Value, h: int, reverse: bool, ports: list[int], prov: str | None) -> None:
    ys = emit(graph, "squeeze", [y], prov, axes=(1,))
    if reverse:  # ONNX gives outputs in input time order; scan gives them in the order the steps ran
        ys = emit(graph, "getitem", [ys], prov, index=(("slice", None, None, -1),))
    for port in ports:
        graph.replace_all_uses_with((scan, port), ys)


def _lower_lstm(graph: Graph, scan: int, body: Graph, h: int, X: Value, W_in: Value, b: Value, seed: dict[str, Any], prov: str | None) -> bool:
    ports = _provided_ports(graph, scan, 1)
    if ports is None:
        return False  # e.g. the stacked cell states are needed, and ONNX's LSTM does not give them
    (c_out, _), (h_out, _) = body.outputs[:2]
    for peepholes in (True, False):
        if peepholes and graph.target != "cpu":
            continue  # only ONNX Runtime's CPU kernel is known to honour P
        cell_t, hid_t = lstm_template(h, peepholes)
        env = dict(seed)
        if not (match(body, cell_t, c_out, env) and match(body, hid_t, h_out, env)):
            continue
        if not _bound_to_inputs(body, env, {"x_t": 0, "c_prev": 1, "h_prev": 2}):
            continue
        names = ["W_hid"] + (["w_ci", "w_co", "w_cf"] if peepholes else [])
        outer = {n: _outer(graph, scan, body, env, n) for n in names}
        if any(v is None for v in outer.values()):
            continue
        acts = (env["act:f"], env["act:g"], env["act:h"])
        if acts != STANDARD_LSTM:
            return False  # (checked before emitting anything: a refusal leaves the graph as it was)
        order = [0, 3, 1, 2]  # Lasagne [i, f, c, o] -> ONNX [i, o, f, c]
        ins = graph.node_inputs(scan)
        inputs = [
            X,
            _gate_blocks(graph, W_in, order, h, None, prov),
            _gate_blocks(graph, outer["W_hid"], order, h, None, prov),  # type: ignore[arg-type]
            _bias(graph, b, order, h, None, prov),
        ]
        zero_initial = _is_zero(graph, ins[2]) and _is_zero(graph, ins[1])
        if not zero_initial:
            inputs.append(emit(graph, "expand_dims", [ins[2]], prov, axes=(0,)))  # initial hidden
            inputs.append(emit(graph, "expand_dims", [ins[1]], prov, axes=(0,)))  # initial cell
        if peepholes:
            p = emit(graph, "concat", [outer["w_ci"], outer["w_co"], outer["w_cf"]], prov, axis=0)  # type: ignore[list-item]
            inputs.append(emit(graph, "expand_dims", [p], prov, axes=(0,)))
        direction = "reverse" if graph.data(scan).attrs["reverse"] else "forward"
        y = emit(graph, "lstm", inputs, prov, hidden_size=h, direction=direction, activations=acts, zero_initial=zero_initial)
        _finish(graph, scan, y, h, direction == "reverse", ports, prov)
        return True
    return False


#: Batch x hidden cells a step from which ONNX Runtime's CPU ``GRU`` kernel ran slower than graphc's
#: loop path (``bench/loop_cost.py --native``, 2 threads: native/loop 1.02-1.14 at batch 64 and 128
#: with hidden 256 and 512 and at batch 32 with hidden 512; 0.7-0.95 below, 0.06-0.3 at batch 1).
#: Its ``LSTM`` kernel was faster at every size measured (0.06-0.88), so LSTMs are always lowered.
NATIVE_GRU_MAX_CELLS = 64 * 256


def native_gru_pays(graph: Graph, batch: object, hidden: int) -> bool:
    """Whether a GRU cell of this batch and hidden size should become ONNX's ``GRU`` node.

    By the measurements behind :data:`NATIVE_GRU_MAX_CELLS`, for a graph that runs on the CPU
    with a known batch size; a symbolic batch, or another target (cuDNN's GRU on a GPU), keeps
    the native node, whose loss where it loses is at most about 15 %, while its gain at small
    batches is several times.
    """
    if graph.target != "cpu" or not isinstance(batch, int):
        return True
    return batch * hidden < NATIVE_GRU_MAX_CELLS


def _lower_gru(graph: Graph, scan: int, body: Graph, h: int, X: Value, W_in: Value, b: Value, seed: dict[str, Any], prov: str | None) -> bool:
    ports = _provided_ports(graph, scan, 0)
    if ports is None:
        return False  # per-step values the native op does not give are read: the loop stays
    batch = graph.type_of(X).shape[1] if graph.type_of(X).ndim == 3 else None
    if not native_gru_pays(graph, batch, h):
        log.debug("native_rnn: GRU of batch %s, hidden %d kept as a loop (faster on the CPU)", batch, h)
        return False
    env = dict(seed)
    (h_out, _) = body.outputs[0]
    if not match(body, gru_template(h), h_out, env) or not _bound_to_inputs(body, env, {"x_t": 0, "h_prev": 1}):
        return False
    w_hid = _outer(graph, scan, body, env, "W_hid")
    if w_hid is None or (env["act:f"], env["act:g"]) != STANDARD_GRU:
        return False
    order = [1, 0, 2]  # Lasagne [r, u, c] -> ONNX [z, r, h] with z = 1 - u
    ins = graph.node_inputs(scan)
    inputs = [
        X,
        _gate_blocks(graph, W_in, order, h, 1, prov),
        _gate_blocks(graph, w_hid, order, h, 1, prov),
        _bias(graph, b, order, h, 1, prov),
    ]
    zero_initial = _is_zero(graph, ins[1])
    if not zero_initial:
        inputs.append(emit(graph, "expand_dims", [ins[1]], prov, axes=(0,)))
    direction = "reverse" if graph.data(scan).attrs["reverse"] else "forward"
    acts = (env["act:f"], env["act:g"])
    y = emit(graph, "gru", inputs, prov, hidden_size=h, direction=direction, activations=acts, zero_initial=zero_initial)
    _finish(graph, scan, y, h, direction == "reverse", ports, prov)
    return True


def native_rnn(graph: Graph) -> int:
    """Lower every provably-LSTM/GRU scan of ``graph``; return how many were lowered."""
    lowered = 0
    for scan in list(scan_nodes(graph)):
        if _lower_one(graph, scan):
            lowered += 1
            log.debug("native_rnn: lowered scan %s (%s)", scan, graph.data(scan).attrs.get("name"))
    if lowered:
        graph.prune()
    return lowered


NATIVE_RNN = Pass("native_rnn", native_rnn, "replace scans that are exactly LSTM/GRU cells by ONNX LSTM/GRU")
