"""The ``scan`` op: a loop that owns a body graph (Theano's ``scan``).

Inputs, in order: ``n_seqs`` sequences (iterated over axis 0), ``n_states``
initial carried states, ``n_nonseqs`` non-sequences (weights and anything the
body reads from outside), then, when ``has_n_steps``, the int step count.

The body is a :class:`~graphc.ir.graph.Graph` whose inputs are, in order,
one element of each sequence, the carried states, and the non-sequences; its
outputs are the new carried states then ``n_extra`` per-step outputs.  The
op's outputs are every body output stacked over the steps (axis 0), in the
order the steps ran, as Theano's scan returns them; ``reverse`` runs the steps
from the last sequence element to the first.  ``truncate_gradient`` (-1: none)
is kept for the backward pass.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..graph import Graph
from ..registry import register_op
from ..types import Dim, DimLike, TensorType, format_shape, fresh_dim

__all__ = ["scan_step_dim", "check_body", "GRADIENT_SCAN_SUFFIX"]

# ``scan_until`` (Theano's ``scan`` whose step returns ``until(cond)``) has the inputs and
# attributes of ``scan``; its body returns one more value, last: the bool scalar that stops
# the loop after the step that computed it.  Every body output is stacked, the condition too,
# over the steps that ran (at most the step count).  It is an op of its own so that passes
# that rewrite counted loops (unrolling, native RNNs, stashing) never see one.

GRADIENT_SCAN_SUFFIX = "_grad"  # the scan gradient rule names its backward scan "<forward name>_grad"


def _compatible(a: TensorType, b: TensorType) -> bool:
    if a.dtype != b.dtype or a.ndim != b.ndim:
        return False
    return all(x == y or isinstance(x, Dim) or isinstance(y, Dim) for x, y in zip(a.shape, b.shape))


def check_body(body: Graph, types: list[TensorType], n_seqs: int, n_states: int, n_nonseqs: int) -> None:
    """Check that ``body`` fits the scan's inputs.

    Raises
    ------
    TypeError
        Naming the body input or carried state whose type does not fit.
    """
    n_in = n_seqs + n_states + n_nonseqs
    if len(body.inputs) != n_in:
        raise TypeError(f"scan: the body takes {len(body.inputs)} inputs, the scan gives {n_in}")
    for k in range(n_seqs):
        seq = types[k]
        if seq.ndim == 0:
            raise TypeError(f"scan: sequence {k} is a scalar; sequences are iterated over axis 0")
        want = TensorType(seq.dtype, seq.shape[1:])
        got = body.data(body.inputs[k]).types[0]
        if not _compatible(want, got):
            raise TypeError(f"scan: body input {k} has type {got.compact}, but sequence {k} gives elements of type {want.compact}")
    for j in range(n_states):
        init = types[n_seqs + j]
        got_in = body.data(body.inputs[n_seqs + j]).types[0]
        new = body.type_of(body.outputs[j][0])
        if not _compatible(init, got_in):
            raise TypeError(f"scan: carried state {j} starts as {init.compact} but the body reads it as {got_in.compact}")
        if not _compatible(init, new):
            raise TypeError(
                f"scan: carried state {j} starts as {init.compact} but the step returns {new.compact}; a carried value must keep "
                f"its dtype and shape {format_shape(init.shape)} (cast it in the step function)"
            )


def scan_step_dim(types: list[TensorType], values: list[Any], n_seqs: int, has_n_steps: bool) -> DimLike:
    """The number of steps: the step-count input's value, or the sequences' first size."""
    if has_n_steps:
        v = values[-1]
        if isinstance(v, int):
            if v < 0:
                raise ValueError(f"scan: n_steps must be non-negative, got {v}")
            return v
        if isinstance(v, Dim):
            return v
        return fresh_dim("steps")
    if n_seqs == 0:
        raise ValueError("scan: give sequences or n_steps")
    firsts = [t.shape[0] for t in types[:n_seqs]]
    static = {d for d in firsts if isinstance(d, int)}
    if len(static) > 1:
        raise ValueError(f"scan: sequences have different lengths {sorted(static)} on axis 0")
    return static.pop() if static else firsts[0]


def _infer(
    types: list[TensorType],
    values: list[Any],
    body: Graph,
    n_seqs: int,
    n_states: int,
    n_nonseqs: int,
    has_n_steps: bool,
    reverse: bool = False,
    truncate_gradient: int = -1,
    name: str | None = None,
    step: Any = None,
) -> list[TensorType]:
    expected = n_seqs + n_states + n_nonseqs + int(has_n_steps)
    if len(types) != expected:
        raise TypeError(f"scan: expected {expected} inputs, got {len(types)}")
    if has_n_steps:
        t = types[-1]
        if t.ndim != 0 or t.dtype not in ("int32", "int64"):
            raise TypeError(f"scan: n_steps must be an int scalar, got {t.compact}")
    check_body(body, types, n_seqs, n_states, n_nonseqs)
    steps = scan_step_dim(types, values, n_seqs, has_n_steps)
    return [TensorType(body.type_of(v).dtype, (steps,) + tuple(body.type_of(v).shape)) for v, _ in body.outputs]


def run_body(body: Graph, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """Evaluate the body on one step's inputs (numpy)."""
    from ..evaluate import evaluate

    return evaluate(body, {nid: x for nid, x in zip(body.inputs, inputs)})


def _eval(
    xs: list[np.ndarray],
    body: Graph,
    n_seqs: int,
    n_states: int,
    n_nonseqs: int,
    has_n_steps: bool,
    reverse: bool = False,
    truncate_gradient: int = -1,
    name: str | None = None,
    step: Any = None,
    until: bool = False,
) -> list[np.ndarray]:
    seqs = xs[:n_seqs]
    states = list(xs[n_seqs : n_seqs + n_states])
    nonseqs = xs[n_seqs + n_states : n_seqs + n_states + n_nonseqs]
    steps = int(xs[-1]) if has_n_steps else len(seqs[0])
    if any(len(s) < steps for s in seqs):
        raise ValueError(f"scan: a sequence is shorter than the {steps} steps")
    per_step: list[list[np.ndarray]] = [[] for _ in body.outputs]
    order = range(steps - 1, -1, -1) if reverse else range(steps)
    for t in order:
        outs = run_body(body, [s[t] for s in seqs] + states + list(nonseqs))
        states = outs[:n_states]
        for k, o in enumerate(outs):
            per_step[k].append(o)
        if until and bool(outs[-1]):
            break
    result = []
    for k, (v, _) in enumerate(body.outputs):
        t = body.type_of(v)
        if per_step[k]:
            result.append(np.stack(per_step[k]).astype(t.dtype, copy=False))
        else:
            shape = tuple(0 if isinstance(d, Dim) else d for d in t.shape)
            result.append(np.zeros((0,) + shape, dtype=t.dtype))
    return result


def _infer_until(types: list[TensorType], values: list[Any], body: Graph, **attrs: Any) -> list[TensorType]:
    if not body.outputs:
        raise TypeError("scan: a scan with until needs the condition as the body's last output")
    cond = body.type_of(body.outputs[-1][0])
    if cond.ndim != 0 or cond.dtype != "bool":
        raise TypeError(f"scan: the until condition must be a bool scalar, got {cond}")
    outs = _infer(types, values, body, **attrs)
    steps = fresh_dim("steps")  # how many steps run is known only when the loop stops
    return [TensorType(t.dtype, (steps,) + tuple(t.shape[1:])) for t in outs]


def _eval_until(xs: list[np.ndarray], body: Graph, **attrs: Any) -> list[np.ndarray]:
    return _eval(xs, body, until=True, **attrs)


register_op(
    "scan_until",
    infer=_infer_until,
    eval=_eval_until,
    uses_values=True,
    doc="a scan that stops after the step whose last body output (a bool scalar) is true",
)

register_op(
    "scan",
    infer=_infer,
    eval=_eval,
    uses_values=True,
    doc="a loop over sequences with carried states; per-step outputs stacked on axis 0",
)
