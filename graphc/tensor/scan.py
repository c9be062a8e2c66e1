"""``scan``: loops over sequences with carried state (Theano's ``theano.scan``).

The step function is called once, on placeholder variables for the sequence
elements and states and, as in Theano, on the non-sequences themselves (so the
step may differentiate with respect to them); what it returns, with the
non-sequences swapped for placeholders, becomes the body graph of one ``scan`` op.  The step may read anything from
outside (weights, shared variables, precomputed tensors): those values
become extra non-sequence inputs of the op automatically, so the body holds
only per-step work.

As in Theano, the step may also return an updates dict (each updated shared
variable becomes a carried state; ``scan`` returns its value after the last
step in its updates) and ``until(cond)`` (a ``scan_until`` op: an ONNX ``Loop``
whose condition stops it), outputs may feed back several earlier steps
(``taps=[-2, -1]``), and sequences of different lengths are cut to the shortest.

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
from .clone import clone
from .scan_helpers import OutputInfo, level_sequences, output_infos, split_step_return, until
from .variable import TensorConstant, Variable, apply_op, next_apply_serial

__all__ = ["scan", "until"]


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
    current step, so ``[1]`` alone skips the first element).  With ``go_backwards``, Theano cuts
    each tap's slice from the sequence as it is and then runs the slices backwards: step t reads
    element ``len - 1 - t - max(taps, 0) + tap`` (``backwards`` changes nothing here).
    """
    del backwards  # the slices are the same; the scan runs them reversed
    if taps == [0]:
        return [seq]
    low, high = min(*taps, 0), max(*taps, 0)
    out = []
    for t in taps:
        before, after = t - low, high - t
        out.append(seq[before : (-after if after else None)])
    return out


def _placeholder(t: TensorType, name: str) -> Variable:
    return Variable(t, name=name)


def _inner_flags(outputs: Sequence[Variable], placeholders: set[int], since: int) -> dict[int, bool]:
    """For every variable reachable from ``outputs``: is it computed per step?

    It is when it depends on a placeholder, or when it is a random op built by
    the step function (serial >= ``since``): each step draws its own sample,
    as Theano's scan does through the random stream's updates.  A random op
    built before never is, even from a non-sequence: it is drawn once.
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
        pure = get_op(v.owner.op).pure
        if not pure and v.owner.serial < since:
            inner[id(v)] = False  # drawn outside the step (perhaps from a non-sequence): read as a value
        else:
            inner[id(v)] = not pure or any(inner[id(i)] for i in v.owner.inputs)
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
    mode: Any = None,
    name: str | None = None,
    profile: bool = False,
    allow_gc: Any = None,
    strict: bool = False,
    return_list: bool = False,
    *,
    _aligned: bool = False,
) -> tuple[Any, OrderedDict]:
    """Run ``fn`` over the steps of ``sequences`` (Theano's ``scan``).

    Parameters
    ----------
    fn : callable
        ``fn(*seq_elements, *previous_states, *non_sequences)`` returns the
        new state for each fed-back ``outputs_info`` entry, in order, then any
        per-step outputs (one value or a list).  It may also return an updates
        dict ``{shared: new_value}`` (or a list of pairs) and
        ``until(condition)``, in any order beside the outputs.
    sequences : variable, dict or list
        Iterated over axis 0 (time-major); ``{'input': x, 'taps': [-1, 0]}``
        passes several elements per step.  Sequences of different lengths are
        cut to the shortest.
    outputs_info : list
        Initial states; None entries mark per-step outputs that are not fed
        back.  ``{'initial': x0, 'taps': [-2, -1]}`` feeds back several earlier
        steps: ``x0`` holds the ``-min(taps)`` leading steps on axis 0 (``x0[0]``
        is step ``min(taps)``), and the step receives one value per tap.
    non_sequences : variable or list
        Passed to every step unchanged: fn receives the variables themselves, so it
        may differentiate with respect to them (``T.grad(y[i], x)``, Theano's Jacobian
        loop); the loop reads them as inputs.  Values the step reads from outside
        without listing them are passed the same way.  The step may update a
        shared variable listed here through the argument it receives for it.
    n_steps : int or int scalar, optional
        Number of steps; required without sequences.  Sequences are cut to it
        (with ``go_backwards``, to their last ``n_steps`` elements, as Theano
        reverses before cutting).  With ``until`` it is the most steps run.
    truncate_gradient : int
        Backpropagate through at most this many steps (-1: all).
    go_backwards : bool
        Run from the last sequence element to the first; outputs are in the
        order the steps ran, as Theano's.
    mode, profile, allow_gc
        Theano options with no meaning here (accepted and ignored).
    name : str, optional
    strict : bool
        When True, the step may read only listed non-sequences and shared
        variables; other outside values raise ``ValueError``.
    return_list : bool
        Return a list of outputs even when there is one.

    Returns
    -------
    (outputs, updates)
        ``outputs`` is one variable, a list in the order ``fn`` returns them,
        or None when the step returns none; each is stacked over the steps on
        axis 0 (without the initial steps of a multi-tap output).  ``updates``
        is an OrderedDict ``{shared: value after the last step}`` for every
        shared variable the step updates; pass it to ``graphc.function(...,
        updates=updates)``.  Inside the step such a variable reads its value
        as of that step.  (Random streams inside the step draw per step
        without updates.)

    Raises
    ------
    TypeError
        When a carried state changes dtype or shape, or ``fn`` returns the
        wrong number of values.
    NotImplementedError
        From ``grad``, through a scan that stops with ``until`` (as Theano).
    """
    label = name or "scan"
    if not callable(fn):
        raise TypeError(f"{label}: fn must be callable (the step function), got {type(fn).__name__} {fn!r}")
    has_n_steps = n_steps is not None
    steps: Variable | None = None
    if has_n_steps:
        if isinstance(n_steps, (int, np.integer)) and n_steps < 0:
            raise ValueError(f"{label}: n_steps must be non-negative, got {n_steps}")
        steps = as_tensor_variable(n_steps)
        if steps.ndim != 0 or np.dtype(steps.dtype).kind not in "iu":
            raise TypeError(f"{label}: n_steps must be an int scalar, got {steps!r}")
    groups: list[list[Variable]] = []
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
        groups.append(_tap_slices(v, taps, bool(go_backwards)))
        seq_args += [f"sequence {k} tap {t}" for t in taps] if taps != [0] else [f"sequence {k}"]
        tapped = tapped or taps != [0]
    if steps is not None and go_backwards:
        groups = [[_last(s, steps) for s in g] for g in groups]  # Theano reverses, then cuts to n_steps
    elif steps is None and not _aligned:  # _aligned: the caller's sequences have equal lengths (the gradient rule's)
        groups = level_sequences(groups)
    seqs = [s for g in groups for s in g]
    infos = output_infos(_as_list(outputs_info), label)
    nonseqs = [as_tensor_argument(v, f"{label}: non_sequences entry {k}") for k, v in enumerate(_as_list(non_sequences))]

    seq_ph = [_placeholder(TensorType(s.dtype, s.type.shape[1:]), f"{label}.seq{k}") for k, s in enumerate(seqs)]
    # carried states: one per taps-[-1] output, a window of -min(taps) slots per multi-tap output
    init_states: list[Variable] = []
    state_ph: list[Variable] = []
    step_state_args: list[Variable] = []
    for k, info in enumerate(infos):
        if not info.taps:
            continue
        init = info.initial
        assert init is not None
        if not info.window:
            init_states.append(init)
            state_ph.append(_placeholder(init.type, f"{label}.state{k}"))
            step_state_args.append(state_ph[-1])
            continue
        slot = TensorType(init.dtype, init.type.shape[1:])
        window = [_placeholder(slot, f"{label}.state{k}.tap{j - info.depth}") for j in range(info.depth)]
        init_states += [init[j] for j in range(info.depth)]
        state_ph += window
        step_state_args += [window[info.depth + t] for t in info.taps]
    # as Theano, fn gets the non-sequences themselves (so it may differentiate with respect to
    # them); the body reads them through these placeholders, swapped in once fn has returned
    nonseq_ph = [_placeholder(v.type, f"{label}.nonseq{k}") for k, v in enumerate(nonseqs)]
    since = next_apply_serial()
    try:
        returned = fn(*seq_ph, *step_state_args, *nonseqs)
    except TypeError as exc:
        if exc.__traceback__ is None or exc.__traceback__.tb_next is not None:
            raise  # raised inside fn, not by the call itself
        hint = "; a sequence with taps passes one argument per tap" if tapped else ""
        raise TypeError(
            f"{label}: fn was called with {len(seq_ph) + len(step_state_args) + len(nonseq_ph)} arguments ("
            + ", ".join(seq_args + [f"state {k}" for k in range(len(step_state_args))] + [f"non-sequence {k}" for k in range(len(nonseq_ph))])
            + f") and failed: {exc}{hint}"
        ) from None
    returned_outs, updates, cond = split_step_return(returned, label)
    outs = [as_tensor_variable(o) for o in returned_outs]
    n_out = len(infos) if infos else len(outs)
    if infos and len(outs) != n_out:
        raise TypeError(f"{label}: the step returned {len(outs)} values but outputs_info has {len(infos)} entries")

    # shared variables the step updates are carried states too: the step reads each one's current value
    shared_vars, shared_new = _shared_updates(updates, label)
    shared_ph = [_placeholder(v.type, f"{label}.shared{k}") for k, v in enumerate(shared_vars)]
    if cond is not None and cond.dtype != "bool":
        from .elemwise import neq

        cond = neq(cond, 0)
    if shared_vars:
        swap = dict(zip(shared_vars, shared_ph))
        swapped = clone(outs + shared_new + ([cond] if cond is not None else []), swap)
        outs, shared_new = swapped[: len(outs)], swapped[len(outs) : len(outs) + len(shared_new)]
        cond = swapped[-1] if cond is not None else None
    states_new: list[Variable] = []
    for k, info in enumerate(infos):
        if info.window:
            j0 = len(states_new)
            states_new += state_ph[j0 + 1 : j0 + info.depth] + [outs[k]]  # the window moves one step on
        elif info.taps:
            states_new.append(outs[k])
    states_new += shared_new
    init_states += shared_vars
    state_ph += shared_ph
    extra = [o for k, o in enumerate(outs) if not (infos and infos[k].taps)]
    body_results = states_new + extra + ([cond] if cond is not None else [])

    # values read from outside become implicit non-sequences; the listed ones count as per-step
    # inputs here, so what the step computes from them stays in the body, on their placeholders
    placeholders = {id(p) for p in seq_ph + state_ph} | {id(v) for v in nonseqs}
    captured = [c for c in _captures(body_results, placeholders, since) if id(c) not in {id(v) for v in nonseqs}]
    if strict:
        from .shared import SharedVariable

        loose = [c for c in captured if not isinstance(c, SharedVariable)]
        if loose:
            raise ValueError(f"{label}: strict scan reads outside values {loose!r}; list them in non_sequences")
    cap_ph = [_placeholder(c.type, f"{label}.capture{k}") for k, c in enumerate(captured)]
    replace = {c: p for c, p in zip(captured, cap_ph)}
    listed: dict[Any, Variable] = {}
    for v, p in zip(nonseqs, nonseq_ph):
        listed.setdefault(v, p)  # a variable listed twice is read through its first placeholder
    replace.update(listed)
    # a returned value that is a placeholder or an outside value needs an op to own it
    body_outs = [(o, f"out{k}") for k, o in enumerate(body_results)]
    body = build_graph(body_outs, seq_ph + state_ph + nonseq_ph + cap_ph, what=label, replace=replace)

    inputs = seqs + init_states + nonseqs + captured
    if steps is not None:
        from .elemwise import cast

        inputs.append(cast(steps, "int64"))
    elif not seqs:
        raise ValueError(f"{label}: give sequences or n_steps")
    result = apply_op(
        "scan_until" if cond is not None else "scan",
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
        step=(tuple(seq_ph), tuple(state_ph), tuple(nonseq_ph + cap_ph), tuple(_on_placeholders(states_new + extra, replace))),
    )
    stacked = result if isinstance(result, list) else [result]
    # back to the order fn returned them in
    ordered: list[Variable] = []
    j = 0
    extras = iter(stacked[len(init_states) :])
    for k in range(n_out):
        info = infos[k] if infos else OutputInfo([], None)
        if info.taps:
            j += info.depth if info.window else 1
            ordered.append(stacked[j - 1])
        else:
            ordered.append(next(extras))
    new_values = OrderedDict((v, stacked[j + m][-1]) for m, v in enumerate(shared_vars))
    if not ordered:
        return None, new_values  # as Theano, return_list or not
    return (ordered[0] if len(ordered) == 1 and not return_list else ordered), new_values


def _on_placeholders(outs: list[Variable], replace: dict[Any, Variable]) -> list[Variable]:
    """The step's results with the non-sequences, listed and read from outside, read through their placeholders.

    The op's ``step`` attribute promises expressions of its placeholders: the gradient rule
    differentiates with respect to them, as leaves (fn itself saw the non-sequences).
    """
    if not replace:
        return outs
    return list(clone(outs, replace))


def _last(seq: Variable, steps: Variable) -> Variable:
    """The last ``steps`` elements of ``seq`` (all of it when shorter: the scan then reports the short sequence)."""
    n = seq.type.shape[0]
    if isinstance(n, int) and isinstance(steps, TensorConstant):
        k = int(steps.value)
        return seq[max(n - k, 0) :]
    from .elemwise import cast, maximum

    return seq[maximum(seq.shape[0] - cast(steps, "int64"), 0) :]


def _shared_updates(updates: OrderedDict, label: str) -> tuple[list[Any], list[Variable]]:
    """The shared variables a step updates and their new values, checked."""
    from .shared import SharedVariable

    keys, values = [], []
    for var, new in updates.items():
        if not isinstance(var, SharedVariable):
            raise TypeError(f"{label}: the step's updates must map shared variables to new values; {var!r} is not shared")
        new = as_tensor_variable(new)
        if new.dtype != var.dtype or new.ndim != var.ndim:
            raise TypeError(
                f"{label}: the step updates shared variable {var.name!r} ({var.type.compact}) with {new!r} of type "
                f"{new.type.compact}; cast the new value to {var.dtype}"
            )
        keys.append(var)
        values.append(new)
    return keys, values
