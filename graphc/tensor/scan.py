"""``scan``: loops over sequences with carried state (Theano's ``theano.scan``).

The step function is called once, on placeholder variables; what it returns
becomes the body graph of one ``scan`` op.  The step may read anything from
outside (weights, shared variables, precomputed tensors): those values
become extra non-sequence inputs of the op automatically, so the body holds
only per-step work.

Exported, a scan over sequences is an ONNX ``Scan`` and one with ``n_steps`` a
``Loop`` (see :mod:`graphc.export.lowering.scan`).  As in Theano, which refuses
to run zero iterations, a scan over zero-length sequences fails at run time
(ONNX Runtime's ``Scan`` rejects empty sequences).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..ir.build import build_graph
from ..ir.registry import get_op
from ..ir.types import TensorType
from .basic import as_tensor_argument, as_tensor_variable
from .variable import TensorConstant, Variable, apply_op, next_apply_serial

__all__ = ["scan"]


def _as_list(x: Any) -> list[Any]:
    if x is None:
        return []
    if isinstance(x, (list, tuple)):
        return list(x)
    return [x]


def _sequence_taps(taps: Any, k: int, label: str) -> list[int]:
    """The taps of sequence ``k``: a non-empty list of distinct ints (Theano's sequence taps)."""
    if taps is None:
        return [0]
    if isinstance(taps, (int, np.integer)):
        taps = [taps]
    if (
        not isinstance(taps, (list, tuple)) or not taps
        or not all(isinstance(t, (int, np.integer)) and not isinstance(t, bool) for t in taps)
        or len(set(taps)) != len(taps)
    ):
        raise TypeError(f"{label}: sequence {k} has taps {taps!r}; expected a non-empty list of distinct ints such as [-1, 0]")
    return [int(t) for t in taps]


def _tap_slices(seq: Variable, taps: list[int], backwards: bool) -> list[Variable]:
    """One plain sequence per tap, as Theano slices them: step t reads element t + tap - min(taps, 0).

    As in Theano, the scan runs len(seq) - (max(taps, 0) - min(taps, 0)) steps (tap 0 is the
    current step, so ``[1]`` alone skips the first element); with ``go_backwards`` the taps index
    the reversed sequence.
    """
    if taps == [0]:
        return [seq]
    low, high = min(*taps, 0), max(*taps, 0)
    out = []
    for t in taps:
        before, after = (high - t, t - low) if backwards else (t - low, high - t)
        out.append(seq[before : (-after if after else None)])
    return out


def _placeholder(t: TensorType, name: str) -> Variable:
    return Variable(t, name=name)


def _inner_flags(outputs: Sequence[Variable], placeholders: set[int], since: int) -> dict[int, bool]:
    """For every variable reachable from ``outputs``: is it computed per step?

    It is when it depends on a placeholder, or when it is a random op built by
    the step function (serial >= ``since``): each step draws its own sample,
    as Theano's scan does through the random stream's updates.
    """
    inner: dict[int, bool] = {}
    stack: list[tuple[Variable, bool]] = [(o, False) for o in outputs]
    while stack:
        v, expanded = stack.pop()
        if id(v) in inner:
            continue
        if id(v) in placeholders:
            inner[id(v)] = True
            continue
        if v.owner is None:
            inner[id(v)] = False
            continue
        if not expanded:
            stack.append((v, True))
            stack.extend((i, False) for i in v.owner.inputs if id(i) not in inner)
            continue
        fresh_random = v.owner.serial >= since and not get_op(v.owner.op).pure
        inner[id(v)] = fresh_random or any(inner[id(i)] for i in v.owner.inputs)
        for o in v.owner.outputs:
            inner[id(o)] = inner[id(v)]
    return inner


def _captures(outputs: Sequence[Variable], placeholders: set[int], since: int) -> list[Variable]:
    """Outside values the body reads: non-constant variables consumed by inner ops (or returned as is)."""
    inner = _inner_flags(outputs, placeholders, since)
    found: dict[int, Variable] = {}
    seen: set[int] = set()
    stack = list(outputs)
    for o in outputs:
        if not inner[id(o)] and not isinstance(o, TensorConstant):
            found.setdefault(id(o), o)
    while stack:
        v = stack.pop()
        if id(v) in seen or v.owner is None or not inner.get(id(v), False):
            continue
        seen.add(id(v))
        for i in v.owner.inputs:
            if inner.get(id(i), False):
                stack.append(i)
            elif not isinstance(i, TensorConstant):
                found.setdefault(id(i), i)
    return list(found.values())


def scan(
    fn: Callable[..., Any],
    sequences: Any = None,
    outputs_info: Any = None,
    non_sequences: Any = None,
    n_steps: Any = None,
    truncate_gradient: int = -1,
    go_backwards: bool = False,
    strict: bool = False,
    name: str | None = None,
    **kwargs: Any,
) -> tuple[Any, OrderedDict]:
    """Run ``fn`` over the steps of ``sequences`` (Theano's ``scan``).

    Parameters
    ----------
    fn : callable
        ``fn(*seq_elements, *previous_states, *non_sequences)`` returns the
        new state for each non-None ``outputs_info`` entry, in order, then any
        per-step outputs (one value or a list).
    sequences : variable or list
        Iterated over axis 0 (time-major).
    outputs_info : list
        Initial states; None entries mark per-step outputs that are not fed back.
    non_sequences : variable or list
        Passed to every step unchanged.  Values the step reads from outside
        without listing them are passed the same way.
    n_steps : int or int scalar, optional
        Number of steps; required without sequences.
    truncate_gradient : int
        Backpropagate through at most this many steps (-1: all).
    go_backwards : bool
        Run from the last sequence element to the first; outputs are in the
        order the steps ran, as Theano's.
    strict : bool
        When True, the step may read only listed non-sequences and shared
        variables; other outside values raise ``ValueError``.
    name : str, optional

    Returns
    -------
    (outputs, updates)
        ``outputs`` is one variable, or a list in the order ``fn`` returns them,
        each stacked over the steps on axis 0; ``updates`` is an empty
        OrderedDict (random streams inside the step draw per step, no updates
        are needed).

    Raises
    ------
    TypeError
        When a carried state changes dtype or shape, or ``fn`` returns the
        wrong number of values.
    """
    for ignored in ("mode", "profile", "allow_gc", "return_list"):
        kwargs.pop(ignored, None)  # Theano options with no meaning here
    if kwargs:
        raise TypeError(f"scan() got unexpected arguments: {', '.join(sorted(kwargs))}")
    label = name or "scan"
    if not callable(fn):
        raise TypeError(f"{label}: fn must be callable (the step function), got {type(fn).__name__} {fn!r}")
    seqs: list[Variable] = []
    seq_args: list[str] = []  # per step-function argument from the sequences, what it is (for errors)
    tapped = False
    for k, s in enumerate(_as_list(sequences)):
        taps = [0]
        if isinstance(s, dict):
            if "input" not in s or set(s) - {"input", "taps"}:
                raise TypeError(f"{label}: sequence {k} is a dict with keys {sorted(s)}; expected {{'input': x, 'taps': [...]}}")
            taps = _sequence_taps(s.get("taps", [0]), k, label)
            s = s["input"]
        v = as_tensor_argument(s, f"{label}: sequence {k}")
        if v.ndim == 0:
            raise TypeError(f"{label}: sequence {k} ({v!r}) is a scalar; sequences are iterated over axis 0")
        seqs += _tap_slices(v, taps, bool(go_backwards))
        seq_args += [f"sequence {k} tap {t}" for t in taps] if taps != [0] else [f"sequence {k}"]
        tapped = tapped or taps != [0]
    infos = _as_list(outputs_info)
    nonseqs = [as_tensor_argument(v, f"{label}: non_sequences entry {k}") for k, v in enumerate(_as_list(non_sequences))]
    init_states: list[Variable] = []
    state_pos: list[int] = []
    for k, info in enumerate(infos):
        if info is None:
            continue
        if isinstance(info, dict):
            if "initial" not in info or set(info) - {"initial", "taps"} or info.get("taps", [-1]) != [-1]:
                raise TypeError(f"{label}: outputs_info dicts support only {{'initial': value}} (taps [-1])")
            info = info["initial"]
        init_states.append(as_tensor_argument(info, f"{label}: outputs_info entry {k}"))
        state_pos.append(k)

    seq_ph = [_placeholder(TensorType(s.dtype, s.type.shape[1:]), f"{label}.seq{k}") for k, s in enumerate(seqs)]
    state_ph = [_placeholder(s.type, f"{label}.state{k}") for k, s in enumerate(init_states)]
    nonseq_ph = [_placeholder(v.type, f"{label}.nonseq{k}") for k, v in enumerate(nonseqs)]
    since = next_apply_serial()
    try:
        returned = fn(*seq_ph, *state_ph, *nonseq_ph)
    except TypeError as exc:
        if exc.__traceback__ is None or exc.__traceback__.tb_next is not None:
            raise  # raised inside fn, not by the call itself
        hint = "; a sequence with taps passes one argument per tap" if tapped else ""
        raise TypeError(
            f"{label}: fn was called with {len(seq_ph) + len(state_ph) + len(nonseq_ph)} arguments ("
            + ", ".join(seq_args + [f"state {k}" for k in range(len(state_ph))] + [f"non-sequence {k}" for k in range(len(nonseq_ph))])
            + f") and failed: {exc}{hint}"
        ) from None
    if isinstance(returned, dict):
        raise TypeError(f"{label}: the step returned a dict; updates inside scan steps are not supported")
    if isinstance(returned, tuple) and len(returned) == 2 and isinstance(returned[1], dict):
        returned = returned[0]
    outs = [as_tensor_variable(o) for o in _as_list(returned)]
    n_out = len(infos) if infos else len(outs)
    if infos and len(outs) != n_out:
        raise TypeError(f"{label}: the step returned {len(outs)} values but outputs_info has {len(infos)} entries")
    states_new = [outs[k] for k in state_pos]
    extra = [o for k, o in enumerate(outs) if k not in state_pos]

    # values read from outside become implicit non-sequences
    placeholders = {id(p) for p in seq_ph + state_ph + nonseq_ph}
    captured = [c for c in _captures(states_new + extra, placeholders, since) if id(c) not in {id(v) for v in nonseqs}]
    if strict:
        from .shared import SharedVariable

        loose = [c for c in captured if not isinstance(c, SharedVariable)]
        if loose:
            raise ValueError(f"{label}: strict scan reads outside values {loose!r}; list them in non_sequences")
    cap_ph = [_placeholder(c.type, f"{label}.capture{k}") for k, c in enumerate(captured)]
    replace = {c: p for c, p in zip(captured, cap_ph)}
    # a returned value that is a placeholder or an outside value needs an op to own it
    body_outs = [(o, f"out{k}") for k, o in enumerate(states_new + extra)]
    body = build_graph(body_outs, seq_ph + state_ph + nonseq_ph + cap_ph, what=label, replace=replace)

    inputs = seqs + init_states + nonseqs + captured
    has_n_steps = n_steps is not None
    if has_n_steps:
        if isinstance(n_steps, (int, np.integer)):
            if n_steps < 0:
                raise ValueError(f"{label}: n_steps must be non-negative, got {n_steps}")
        steps = as_tensor_variable(n_steps)
        if steps.ndim != 0 or np.dtype(steps.dtype).kind not in "iu":
            raise TypeError(f"{label}: n_steps must be an int scalar, got {steps!r}")
        from .elemwise import cast

        inputs.append(cast(steps, "int64"))
    elif not seqs:
        raise ValueError(f"{label}: give sequences or n_steps")
    result = apply_op(
        "scan",
        inputs,
        body=body,
        n_seqs=len(seqs),
        n_states=len(init_states),
        n_nonseqs=len(nonseqs) + len(captured),
        has_n_steps=has_n_steps,
        reverse=bool(go_backwards),
        truncate_gradient=int(truncate_gradient),
        name=label,
        # the step as expressions, for the gradient rule: (seq, state, non-sequence placeholders, outputs)
        step=(tuple(seq_ph), tuple(state_ph), tuple(nonseq_ph + cap_ph), tuple(states_new + extra)),
    )
    stacked = result if isinstance(result, list) else [result]
    # back to the order fn returned them in
    by_state = dict(zip(state_pos, stacked[: len(init_states)]))
    extras = iter(stacked[len(init_states) :])
    ordered = [by_state[k] if k in by_state else next(extras) for k in range(n_out)]
    return (ordered[0] if len(ordered) == 1 else ordered), OrderedDict()

