"""What ``scan`` reads from its arguments and from the step's return value, as Theano reads them.

* :class:`until`: a step that returns ``until(cond)`` stops after the step where
  ``cond`` is true (Theano's ``theano.scan_module.until``).
* :func:`split_step_return`: a step may return outputs, an updates dict (or list of
  pairs) and an ``until``, in any order (Theano's ``get_updates_and_outputs``).
* :class:`OutputInfo` and :func:`output_infos`: each ``outputs_info`` entry, as not fed
  back, fed back from the previous step (taps ``[-1]``), or fed back from several
  earlier steps (taps such as ``[-2, -1]``: its initial value holds the leading steps).
* :func:`level_sequences`: sequences of different lengths are cut to the shortest.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

from .basic import as_tensor_argument, as_tensor_variable
from .variable import Variable

__all__ = ["until", "split_step_return", "OutputInfo", "output_infos", "level_sequences"]


class until:  # noqa: N801 - Theano's name
    """Stop a ``scan`` after the step whose condition is true (Theano's ``scan_module.until``).

    The step returns it beside its outputs (``return h, until(h.sum() > 10)``); the
    step that computes a true condition still runs and its outputs are kept.
    With ``n_steps``, the loop runs at most that many steps.  As in Theano,
    such a scan has no gradient.

    Parameters
    ----------
    condition : scalar variable
        Any numeric or bool scalar; nonzero stops the loop.

    Raises
    ------
    TypeError
        When ``condition`` is not a scalar.
    """

    def __init__(self, condition: Any) -> None:
        c = as_tensor_variable(condition)
        if c.ndim != 0:
            raise TypeError(f"until: the condition must be a scalar, got {c!r} with {c.ndim} dimension(s)")
        self.condition = c


def _is_updates(x: Any) -> bool:
    from .shared import SharedVariable

    if isinstance(x, dict):
        return True
    return (
        isinstance(x, (list, tuple)) and len(x) > 0
        and all(isinstance(p, (list, tuple)) and len(p) == 2 and isinstance(p[0], SharedVariable) for p in x)
    )  # fmt: skip


def split_step_return(returned: Any, label: str) -> tuple[list[Any], OrderedDict, Variable | None]:
    """The step's outputs, updates and stopping condition (None without ``until``).

    Raises
    ------
    ValueError
        When the step returns two updates or two conditions.
    """
    if isinstance(returned, until):
        return [], OrderedDict(), returned.condition
    if _is_updates(returned):
        return [], OrderedDict(returned), None
    if not isinstance(returned, (list, tuple)):
        return [returned], OrderedDict(), None
    special = [r for r in returned if isinstance(r, until) or _is_updates(r)]
    if not special:
        return list(returned), OrderedDict(), None
    updates: OrderedDict = OrderedDict()
    cond = None
    n_upd = 0
    rest = []
    for r in returned:
        if isinstance(r, until):
            if cond is not None:
                raise ValueError(f"{label}: the step returned two until conditions")
            cond = r.condition
        elif _is_updates(r):
            n_upd += 1
            if n_upd > 1:
                raise ValueError(f"{label}: the step returned two updates dicts")
            updates.update(r)
        else:
            rest.append(r)
    if len(rest) == 1 and isinstance(rest[0], (list, tuple)):
        rest = list(rest[0])
    return rest, updates, cond


@dataclass
class OutputInfo:
    """One ``outputs_info`` entry.

    Attributes
    ----------
    taps : list of int
        Earlier steps the step function reads, in the order it receives them
        (``[]``: not fed back; ``[-1]``: the previous step).
    initial : Variable or None
        The initial state (taps ``[-1]``), or the ``-min(taps)`` leading steps.
    """

    taps: list[int]
    initial: Variable | None

    @property
    def depth(self) -> int:
        """How many earlier steps are carried."""
        return -min(self.taps) if self.taps else 0

    @property
    def window(self) -> bool:
        """Whether the initial value holds leading steps (taps other than ``[-1]``)."""
        return bool(self.taps) and self.taps != [-1]


def output_infos(outputs_info: list[Any], label: str) -> list[OutputInfo]:
    """Read each ``outputs_info`` entry as Theano does.

    Raises
    ------
    ValueError
        For taps without an initial value or future taps (Theano's errors).
    TypeError
        For malformed taps or initial values of the wrong rank.
    """
    result = []
    for k, info in enumerate(outputs_info):
        if info is None:
            result.append(OutputInfo([], None))
            continue
        if not isinstance(info, dict):
            result.append(OutputInfo([-1], as_tensor_argument(info, f"{label}: outputs_info entry {k}")))
            continue
        if set(info) - {"initial", "taps", "return_steps"}:
            raise TypeError(f"{label}: outputs_info entry {k} has keys {sorted(info)}; expected 'initial' and 'taps'")
        if info.get("return_steps") is not None:
            raise ValueError(f"{label}: using `return_steps` has been deprecated; slice the outputs of scan instead")
        initial, taps = info.get("initial"), info.get("taps")
        if initial is None:
            if taps:
                raise ValueError(f"{label}: outputs_info entry {k}: if you are using slices of an output you need to provide a initial state for it")
            result.append(OutputInfo([], None))
            continue
        if taps is None:
            taps = [-1]
        if isinstance(taps, (int, np.integer)):
            taps = [taps]
        if not isinstance(taps, (list, tuple)) or not all(isinstance(t, (int, np.integer)) and not isinstance(t, bool) for t in taps):
            raise TypeError(f"{label}: outputs_info entry {k} has taps {taps!r}; expected a list of negative ints such as [-2, -1]")
        taps = [int(t) for t in taps]
        if not taps:
            result.append(OutputInfo([], None))  # Theano: an initial value without taps is not fed back
            continue
        if any(t >= 0 for t in taps):
            raise ValueError(f"{label}: outputs_info entry {k}: can not use future taps of outputs ({taps})")
        if len(set(taps)) != len(taps):
            raise TypeError(f"{label}: outputs_info entry {k} repeats a tap in {taps}")
        init = as_tensor_argument(initial, f"{label}: outputs_info entry {k}")
        out = OutputInfo(taps, init)
        if out.window:
            if init.ndim == 0:
                raise TypeError(
                    f"{label}: outputs_info entry {k} has taps {taps}, so its initial value holds the {out.depth} leading steps "
                    f"on axis 0; got a scalar"
                )
            lead = init.type.shape[0]
            if isinstance(lead, int) and lead < out.depth:
                raise ValueError(
                    f"{label}: outputs_info entry {k} has taps {taps}, so its initial value needs {out.depth} leading steps on "
                    f"axis 0; it has {lead}"
                )
        result.append(out)
    return result


def level_sequences(groups: list[list[Variable]]) -> list[list[Variable]]:
    """Cut sequences to the shortest (Theano's scan steps over the shortest sequence).

    ``groups`` holds the slices of each user sequence (one per tap), all of a
    group the same length; lengths that are provably equal leave everything as is.
    """
    firsts = [g[0].type.shape[0] for g in groups]
    if len(groups) < 2 or all(d is firsts[0] or d == firsts[0] for d in firsts):
        return groups
    if all(isinstance(d, int) for d in firsts):
        m = min(firsts)  # type: ignore[type-var]
        return [[s if s.type.shape[0] == m else s[:m] for s in g] for g in groups]
    from .elemwise import minimum

    length = groups[0][0].shape[0]
    for g in groups[1:]:
        length = minimum(length, g[0].shape[0])
    return [[s[:length] for s in g] for g in groups]
