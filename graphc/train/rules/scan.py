"""Backpropagation through time: the gradient of a ``scan`` is a reverse ``scan``.

The forward scan's stacked outputs give every step's starting states (the
initial states, then each step's result).  The backward scan runs over the
steps from the last to the first; its step differentiates the forward step
(cloned onto the backward step's inputs) given the carried state cotangents
plus the gradients arriving at that step's outputs, and returns the cotangents
of the previous states (carried), the gradient of the step's sequence
elements (stacked), and the running sums of the non-sequence gradients
(carried).  ``truncate_gradient=k`` stops the carried cotangents k steps back
from the end of the sequence, as Theano does.

The step is differentiated with respect to its non-sequence placeholders, as
leaves: when one non-sequence is computed from another (``V = 2 * W`` beside
``W``), each gets only its direct gradient here, and the outer graph carries
``V``'s on to ``W`` (differentiating the outer expressions inside the step
counted that path twice).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ... import tensor as T
from ...ir.ops.scan import GRADIENT_SCAN_SUFFIX
from ...tensor.clone import clone
from ..registry import grad_rule


def _is_float(v: Any) -> bool:
    return np.dtype(v.dtype).kind == "f"


@grad_rule("scan")
def _scan(node: Any, gs: list[Any]) -> list[Any]:
    from ..grad import grad

    a = node.attrs
    seq_ph, state_ph, nonseq_ph, step_outs = a["step"]
    n_seqs, n_states, n_nonseqs = a["n_seqs"], a["n_states"], a["n_nonseqs"]
    ins = node.inputs
    seqs = list(ins[:n_seqs])
    inits = list(ins[n_seqs : n_seqs + n_states])
    nonseqs = list(ins[n_seqs + n_states : n_seqs + n_states + n_nonseqs])
    outs = node.outputs
    reverse = a["reverse"]
    truncate = a.get("truncate_gradient", -1)
    label = f"{a.get('name') or 'scan'}{GRADIENT_SCAN_SUFFIX}"

    # sequences in the order the forward steps consumed them
    seqs_it = [s[::-1] for s in seqs] if reverse else seqs
    steps_len = outs[0].shape[0] if outs else seqs_it[0].shape[0]
    prevs = [T.concatenate([T.expand_dims(init, 0), out[:-1]], axis=0) for init, out in zip(inits, outs[:n_states])]
    # only the outputs that receive a gradient are read by the backward steps (an unused output,
    # often a stacked cell state, would otherwise be a sequence of zeros added at every step)
    given = [k for k, g in enumerate(gs) if g is not None]
    out_grads = [gs[k] for k in given]
    float_states = [_is_float(s) for s in inits]
    float_nonseqs = [_is_float(n) for n in nonseqs]
    # with truncation, each step knows how far it is from the end of the sequence
    distance = T.arange(steps_len, dtype="int64")[::-1] if truncate > 0 else None

    def step_grads(s_t: list[Any], p_t: list[Any], g_t: list[Any], d_t: Any, carried: list[Any]) -> tuple[dict[int, Any], list[Any]]:
        """Gradients of one forward step: of its float sequence elements and states (keyed by id),
        and of each non-sequence input (by position; None for an integer one).

        The step is differentiated with respect to the non-sequence placeholders, which
        are leaves: a non-sequence computed from another (``V = 2 * W``) must give ``W``
        only its direct part here, since the outer graph adds the part through ``V``
        (differentiating with respect to the outer expressions counted it twice).
        The gradients read the outer non-sequences again once taken.
        """
        replace = dict(zip(seq_ph, s_t))
        replace.update(zip(state_ph, p_t))
        new = clone(list(step_outs), replace)
        # Theano's truncate_gradient: only the last `truncate` steps backpropagate at all
        scale = T.cast(T.lt(d_t, truncate), step_outs[0].dtype) if d_t is not None else None
        known = {}
        for k, (o, g) in enumerate(zip(new, g_t)):
            if not _is_float(o) or (g is None and k >= n_states):
                continue
            total = carried[k] if g is None else g + carried[k] if k < n_states else g
            known[o] = total * T.cast(scale, total.dtype) if scale is not None else total
        wrt = [v for v in s_t + p_t + list(nonseq_ph) if _is_float(v)]
        if known and wrt:
            grads = grad(None, wrt, known_grads=known, disconnected_inputs="ignore")
        else:
            grads = [T.zeros_like(v) for v in wrt]
        grads = clone(grads, dict(zip(nonseq_ph, nonseqs))) if grads else []
        found = dict(zip((id(v) for v in wrt), grads))
        return found, [found.get(id(p)) for p in nonseq_ph]

    def _all_outputs(read: list[Any]) -> list[Any]:
        """The step's gradient for every forward output, None for those that receive none."""
        full: list[Any] = [None] * len(outs)
        for k, g in zip(given, read):
            full[k] = g
        return full

    def batched_product(g: Any, step_inputs: list[Any]) -> tuple[int, Any] | None:
        """``(k, B)`` when ``g`` is ``A_k^T @ B`` with ``A_k`` the step's k-th (2-d) sequence input:
        summed over the steps, that is one large product of the stacked ``A`` and ``B`` after the loop."""
        node = g.owner
        if node is None or node.op != "matmul" or g.ndim != 2:
            return None
        left, right = node.inputs
        if left.owner is None or left.owner.op != "transpose" or tuple(left.owner.attrs["perm"]) != (1, 0):
            return None
        a_in = left.owner.inputs[0]
        for k, v in enumerate(step_inputs):
            if v is a_in and v.ndim == 2 and right.ndim == 2:
                return k, right
        return None

    n_seq_args = len(seqs_it) + len(prevs)
    # a trial step on placeholders decides which weight gradients leave the loop
    trial_in = [T.tensor(v.dtype, shape=v.type.shape[1:]) for v in seqs_it + prevs + out_grads]
    trial_d = T.lscalar() if distance is not None else None
    _, trial_nonseq_grads = step_grads(
        trial_in[: len(seqs_it)], trial_in[len(seqs_it) : n_seq_args], _all_outputs(trial_in[n_seq_args:]), trial_d,
        [T.zeros_like(i) for i in inits],
    )
    batched = {
        m: hit[0]
        for m, (g, f) in enumerate(zip(trial_nonseq_grads, float_nonseqs))
        if f and (hit := batched_product(g, trial_in[:n_seq_args])) is not None
    }
    # vectors and scalars (biases and peepholes read inside the step): each step's part is stacked and
    # summed once after the loop, rather than added to a carried sum at every step (two nodes a step)
    summed = [m for m in range(len(nonseqs)) if m not in batched and float_nonseqs[m] and nonseqs[m].ndim <= 1]
    carried_nonseqs = [m for m in range(len(nonseqs)) if m not in batched and m not in summed]

    def back_step(*args: Any) -> list[Any]:
        it = iter(args)
        s_t = [next(it) for _ in seqs_it]
        p_t = [next(it) for _ in prevs]
        g_t = _all_outputs([next(it) for _ in out_grads])
        d_t = next(it) if distance is not None else None
        carried = [next(it) for _ in inits]
        acc = [next(it) for _ in carried_nonseqs]
        found, nonseq_grads = step_grads(s_t, p_t, g_t, d_t, carried)
        g_s = [found.get(id(v), T.zeros_like(v)) if _is_float(v) else T.zeros_like(v) for v in s_t]
        g_p = [found.get(id(v), T.zeros_like(v)) if f else c for v, f, c in zip(p_t, float_states, carried)]
        g_n = []
        for acc_m, m in zip(acc, carried_nonseqs):
            g_n.append(acc_m + nonseq_grads[m] if float_nonseqs[m] else acc_m)
        partials = [batched_product(nonseq_grads[m], s_t + p_t)[1] for m in batched]  # type: ignore[index]
        return g_p + g_n + g_s + partials + [nonseq_grads[m] for m in summed]

    sequences = seqs_it + prevs + out_grads + ([distance] if distance is not None else [])
    inits_b = [T.zeros_like(i) for i in inits] + [T.zeros_like(nonseqs[m]) for m in carried_nonseqs]
    results, _ = T.scan(
        back_step,
        sequences=sequences,
        outputs_info=inits_b + [None] * (len(seqs_it) + len(batched) + len(summed)),
        go_backwards=True,
        name=label,
        _aligned=True,  # every sequence is one entry per forward step
    )
    results = results if isinstance(results, list) else [results]
    n_carried = len(carried_nonseqs)
    g_prev_steps = results[:n_states]
    g_carried_steps = results[n_states : n_states + n_carried]
    first_partial = n_states + n_carried + len(seqs_it)
    g_seq_steps = results[n_states + n_carried : first_partial]
    partial_steps = results[first_partial : first_partial + len(batched)]
    summed_steps = results[first_partial + len(batched) :]
    # the backward scan stacks in the order it ran (last step first)
    g_seqs = []
    for g in g_seq_steps:
        g = g[::-1]
        g_seqs.append(g[::-1] if reverse else g)
    g_inits = [g[-1] if f else None for g, f in zip(g_prev_steps, float_states)]
    g_nonseqs: list[Any] = [None] * len(nonseqs)
    for m, parts in zip(summed, summed_steps):
        total = T.sum(parts, axis=0)
        g_nonseqs[m] = total if total.dtype == parts.dtype else T.cast(total, parts.dtype)
    for m, g in zip(carried_nonseqs, g_carried_steps):
        g_nonseqs[m] = g[-1] if float_nonseqs[m] else None
    stacked_inputs = seqs_it + prevs
    for (m, k), b_steps in zip(batched.items(), partial_steps):
        # b_steps are stacked in the order the backward steps ran (the forward's last step first), the
        # stacked inputs in the forward's; one of the two is read reversed.  For a forward scan, B: the
        # export then has the backward loop write it in that order (no copy: export/loop_outputs.py).
        # A reverse scan's sequence gradients already read B as stacked (in sequence order), so A.
        if reverse:
            a_steps = stacked_inputs[k][::-1]
        else:
            a_steps, b_steps = stacked_inputs[k], b_steps[::-1]
        a2 = T.reshape(a_steps, (-1, a_steps.shape[2]))
        b2 = T.reshape(b_steps, (-1, b_steps.shape[2]))
        g_nonseqs[m] = T.dot(a2.T, b2)
    extra = [None] if a["has_n_steps"] else []
    return g_seqs + g_inits + g_nonseqs + extra


@grad_rule("scan_until")
def _scan_until(node: Any, gs: list[Any]) -> list[Any]:
    """No gradient through a scan that stops early, as in Theano."""
    raise NotImplementedError(
        f"{node.attrs.get('name') or 'scan'}: no gradient through a scan whose step returns until(...) "
        "(a while loop); Theano has none either: give a fixed n_steps and mask the steps instead"
    )
