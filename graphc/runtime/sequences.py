"""Zero-length sequences: refused at call time, naming the input, the axis and the scan.

A scan over a sequence of length 0 cannot run: ONNX Runtime's ``Scan`` rejects
it deep inside the session (and its native ``GRU`` kernel aborts the process),
and Theano itself refuses it (``NotImplementedError``: "We didn't implemented
yet the case where scan do 0 iteration").  :func:`sequence_axes` finds, once at
compile time, the input axes whose size is the length of some scan's
sequence (the symbolic dims the scan iterates over, through every nested
body); :func:`graphc.function` then checks those axes (a tuple lookup per
call: nothing proportional to the model) and raises
:class:`ZeroLengthSequenceError` before the run.
"""

from __future__ import annotations

from ..ir.graph import Graph
from ..ir.types import Dim

__all__ = ["ZeroLengthSequenceError", "sequence_dims", "sequence_axes", "refuse_empty"]


class ZeroLengthSequenceError(ValueError, NotImplementedError):
    """An input gives a scan a sequence of length 0 (a ValueError; a NotImplementedError as in Theano)."""


def sequence_dims(graph: Graph) -> dict[str, str]:
    """The symbolic dims some scan iterates over (axis 0 of its sequences), each with the scan's name.

    Parameters
    ----------
    graph : graphc.ir.Graph
        Before the passes rewrite scans (into native recurrent ops, unrolled steps).

    Returns
    -------
    dict
        Dim name -> a label of the first scan found iterating over it (its layer or name).
    """
    found: dict[str, str] = {}
    todo = [graph]
    while todo:
        g = todo.pop()
        for nid in g.op_nodes():
            d = g.data(nid)
            if d.op != "scan":
                continue
            name = d.attrs.get("name")
            label = f"the scan in layer {d.provenance!r}" if d.provenance else f"the scan {name!r}" if name else "a scan"
            for value in g.node_inputs(nid)[: d.attrs.get("n_seqs", 0)]:
                shape = g.type_of(value).shape
                if shape and isinstance(shape[0], Dim):
                    found.setdefault(shape[0].name, str(label))
            body = d.attrs.get("body")
            if isinstance(body, Graph):
                todo.append(body)
    return found


def sequence_axes(shape: tuple[object, ...], dims: dict[str, str]) -> tuple[tuple[int, str], ...]:
    """The axes of an input of symbolic ``shape`` that are a scan's sequence length, each with the scan's label."""
    return tuple((axis, dims[d.name]) for axis, d in enumerate(shape) if isinstance(d, Dim) and d.name in dims)


def refuse_empty(fn_name: str, input_name: str, shape: tuple[int, ...], axis: int, scan: str) -> None:
    """Raise :class:`ZeroLengthSequenceError` for ``input_name``, whose ``axis`` is 0 long."""
    raise ZeroLengthSequenceError(
        f"{fn_name}: input {input_name!r} has shape {tuple(shape)}: its axis {axis} has length 0, but it is the "
        f"sequence length of {scan}, and a scan cannot run 0 steps (Theano refuses it too: \"scan do 0 "
        f"iteration\"); give at least one step (pad and mask it to leave it out)"
    )
