"""Stacked outputs of lowered loops that their readers only reverse: written reversed by the loop.

A reverse scan stacks its per-step results in the order its steps ran, from the
last sequence element to the first (Theano's order, which the IR keeps), and
backpropagation through time reads them back in sequence order: the gradient
of every step's input, and the per-step factors of the weight gradients, come
out of a backward scan and are reversed (``g[::-1]``) before anything else reads
them.  Each reversal is a copy of the whole stacked tensor.  ONNX ``Scan`` can
stack an output in the other order itself (``scan_output_directions``: each
step's result is prepended rather than appended), so after lowering, a
``Scan`` output whose readers are all such reversals, or reductions over the
time axis (which do not care about the order), is marked to be written
reversed, its reversals are dropped and their readers read the output itself.

This runs on the ONNX graph once the IR is lowered (graphc.export.model): the
IR and its passes keep one meaning of a stacked output.  ``Loop``, whose
stacked outputs always follow its iterations, keeps the reversals.
"""

from __future__ import annotations

from collections.abc import Sequence

import onnx
from onnx import helper, numpy_helper

__all__ = ["write_reversed_outputs"]

_ORDER_FREE = frozenset({"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin"})


def _subgraphs(node: onnx.NodeProto) -> list[onnx.GraphProto]:
    return [a.g for a in node.attribute if a.type == onnx.AttributeProto.GRAPH]


def _readers(nodes: Sequence[onnx.NodeProto]) -> dict[str, list[tuple[onnx.NodeProto, bool]]]:
    """Each value's readers in ``nodes``: (node, True) for a direct reader, (node, False) for a node whose
    subgraph reads it (a loop body reads outer values by name)."""
    found: dict[str, list[tuple[onnx.NodeProto, bool]]] = {}

    def inner(graphs: list[onnx.GraphProto], owner: onnx.NodeProto) -> None:
        for g in graphs:
            for n in g.node:
                for name in n.input:
                    found.setdefault(name, []).append((owner, False))
                inner(_subgraphs(n), owner)
            for o in g.output:
                found.setdefault(o.name, []).append((owner, False))

    for node in nodes:
        for name in node.input:
            if name:
                found.setdefault(name, []).append((node, True))
        inner(_subgraphs(node), node)
    return found


def _time_axis_reduced(node: onnx.NodeProto, consts: dict[str, onnx.TensorProto], opset: int) -> bool:
    """Whether ``node`` reduces its (first) input over axis 0, so that the input's order along it does not matter."""
    if node.op_type not in _ORDER_FREE:
        return False
    axes_attr = [a for a in node.attribute if a.name == "axes"]
    if axes_attr:
        return 0 in list(axes_attr[0].ints)
    takes_input = node.op_type == "ReduceSum" and opset >= 13 or opset >= 18
    if not takes_input or len(node.input) < 2 or not node.input[1]:
        noop = [a for a in node.attribute if a.name == "noop_with_empty_axes"]
        return not (noop and noop[0].i)  # no axes: every axis is reduced
    axes = consts.get(node.input[1])
    return axes is not None and 0 in numpy_helper.to_array(axes).reshape(-1).tolist()


def _rename(nodes: Sequence[onnx.NodeProto], old: str, new: str) -> None:
    for node in nodes:
        for k, name in enumerate(node.input):
            if name == old:
                node.input[k] = new
        for g in _subgraphs(node):
            _rename(g.node, old, new)
            for o in g.output:
                if o.name == old:
                    o.name = new


def write_reversed_outputs(
    nodes: list[onnx.NodeProto],
    reversed_from: dict[str, str],
    keep: Sequence[str],
    initializers: Sequence[onnx.TensorProto],
    opset: int,
) -> int:
    """Make ``Scan`` outputs that are only read reversed be written reversed; return how many were.

    Parameters
    ----------
    nodes : list of onnx.NodeProto
        The lowered graph's nodes (edited in place; loop bodies are searched too).
    reversed_from : dict
        Names of the lowered ``x[::-1]`` reversals, mapped to the ``x`` they reverse
        (:attr:`graphc.export.context.LoweringContext.reversed_from`); the reversals
        removed here are removed from it.
    keep : sequence of str
        The graph's output names: a reversal or an output the graph returns is left as is.
    initializers : sequence of onnx.TensorProto
        Constants (the ``axes`` of reductions are read from them).
    opset : int
        The default-domain opset of the graph.
    """
    consts = {t.name: t for t in initializers}
    kept = set(keep)
    changed = 0
    for node in nodes:
        for g in _subgraphs(node):
            changed += write_reversed_outputs(g.node, reversed_from, [o.name for o in g.output], [*initializers, *g.initializer], opset)
    readers = _readers(nodes)
    for node in [n for n in nodes if n.op_type == "Scan"]:
        n_scan_in = next(a.i for a in node.attribute if a.name == "num_scan_inputs")
        n_states = len(node.input) - n_scan_in
        n_stacked = len(node.output) - n_states
        dirs_attr = [a for a in node.attribute if a.name == "scan_output_directions"]
        directions = list(dirs_attr[0].ints) if dirs_attr else [0] * n_stacked
        flipped = False
        for i, out in enumerate(node.output[n_states:]):
            if not out or out in kept or out not in readers:
                continue
            reversals, free = [], True
            for reader, direct in readers[out]:
                if direct and reader.op_type == "Slice" and reversed_from.get(reader.output[0]) == out:
                    reversals.append(reader)
                elif not (direct and reader.input[0] == out and _time_axis_reduced(reader, consts, opset)):
                    free = False
            if not free or not reversals or any(r.output[0] in kept for r in reversals):
                continue
            directions[i] = 1 - directions[i]
            flipped = True
            for r in reversals:
                del reversed_from[r.output[0]]
                nodes.remove(r)
                _rename(nodes, r.output[0], out)
            readers = _readers(nodes)
            changed += 1
        if flipped:
            for a in dirs_attr:
                node.attribute.remove(a)
            node.attribute.append(helper.make_attribute("scan_output_directions", directions))
    return changed
