"""The pass manager: named phases, run to a fixed point, each pass logging what it changed.

Optimization levels:

* ``O0``: no passes (the graph is exported as built);
* ``O1``: canonicalize, CSE, constant folding and dead-code elimination, to a
  fixed point; then the ``stabilize`` phase (numerically stable forms of
  log-sigmoid, log-softmax, softmax and sigmoid cross-entropies and their
  gradients, log1p, expm1: Theano runs these in every optimizing mode);
* ``O2``: O1, then the performance passes registered in :data:`PHASES`, then
  the ``layout`` phase (gate grouping, once the others reached their fixed point).

``passes={'cse': False}`` switches single passes off (or on).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..ir.graph import Graph
from .base import Pass, log, own_bodies
from .canonicalize import CANONICALIZE
from .constant_folding import CONSTANT_FOLDING
from .cse import CSE
from .dce import DCE
from .fuse_dense import FUSE_DENSE
from .fuse_loops import FUSE_LOOPS
from .group_gates import GROUP_GATES
from .hoist import HOIST
from .native_rnn import NATIVE_RNN
from .reassociate import REASSOCIATE
from .sink import SINK
from .stabilize import STABILIZE
from .stabilize_grad import CANCEL_QUOTIENTS
from .stash import STASH
from .unroll import UNROLL

__all__ = ["PassManager", "PassReport", "PHASES", "LEVELS", "optimize", "resolve_level"]

#: phase name -> passes run in order until none changes anything
PHASES: dict[str, list[Pass]] = {
    "simplify": [CANONICALIZE, CSE, CONSTANT_FOLDING, DCE],
    "stabilize": [STABILIZE, CANCEL_QUOTIENTS, CSE, DCE],
    # native lowering needs unfused projections; loops fuse after native lowering and unrolling took theirs
    "performance": [REASSOCIATE, HOIST, STASH, SINK, NATIVE_RNN, FUSE_DENSE, UNROLL, FUSE_LOOPS, CSE, DCE],
    # after the performance fixed point: native lowering, stashing and fusion match cells as written
    "layout": [GROUP_GATES, CSE, DCE],
}

#: level -> phases it runs
LEVELS: dict[str, list[str]] = {
    "O0": [],
    "O1": ["simplify", "stabilize"],
    "O2": ["simplify", "stabilize", "performance", "layout"],
}

MAX_ROUNDS = 16


@dataclass
class PassReport:
    """What the passes did: changes per pass, rounds per phase, and node counts before and after.

    A phase that ran :data:`MAX_ROUNDS` rounds without reaching a round with no
    change stopped at the limit rather than at a fixed point (``unsettled``).
    """

    changes: dict[str, int] = field(default_factory=dict)
    nodes_before: int = 0
    nodes_after: int = 0
    rounds: dict[str, int] = field(default_factory=dict)
    unsettled: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        done = ", ".join(f"{k} {v}" for k, v in self.changes.items() if v) or "no changes"
        return f"{self.nodes_before} -> {self.nodes_after} nodes ({done})"


def resolve_level(level: Any) -> str:
    """``'O0'``/``'O1'``/``'O2'`` from a level given as such, as 0..2, or None (``GRAPHC_OPTIMIZE``, default O2).

    Raises
    ------
    ValueError
        For an unknown level.
    """
    if level is None:
        level = os.environ.get("GRAPHC_OPTIMIZE", "O2")
    if isinstance(level, bool):
        level = "O1" if level else "O0"
    if isinstance(level, int):
        level = f"O{level}"
    if level not in LEVELS:
        raise ValueError(f"optimization level must be one of {', '.join(LEVELS)} (or 0..2), got {level!r}")
    return level


class PassManager:
    """Runs the phases of a level over a graph.

    Parameters
    ----------
    level : str or int, optional
        ``'O0'``, ``'O1'`` or ``'O2'``.
    passes : mapping, optional
        Per-pass switches by name.
    verify : bool
        Run :func:`graphc.ir.verify.verify` after every pass (tests do).
    """

    def __init__(self, level: Any = None, passes: Mapping[str, bool] | None = None, verify: bool = False) -> None:
        self.level = resolve_level(level)
        if passes is not None and not isinstance(passes, Mapping):
            raise TypeError(f"passes must be a dict of pass name -> bool (e.g. {{'cse': False}}), got {type(passes).__name__} {passes!r}")
        switches = dict(passes or {})
        known = {p.name for phase in PHASES.values() for p in phase}
        unknown = set(switches) - known
        if unknown:
            raise ValueError(f"unknown passes {sorted(unknown)}; known passes: {sorted(known)}")
        self.switches = switches
        self.verify = verify

    def _enabled(self, phase: str) -> list[Pass]:
        on_by_level = phase in LEVELS[self.level]
        return [p for p in PHASES[phase] if self.switches.get(p.name, on_by_level)]

    def run(self, graph: Graph) -> PassReport:
        """Optimize ``graph`` in place and report what changed."""
        report = PassReport(nodes_before=len(graph))
        phases = [name for name in PHASES if self._enabled(name)]
        if phases:
            own_bodies(graph)
        for phase in phases:
            passes = self._enabled(phase)
            for round_no in range(1, MAX_ROUNDS + 1):
                report.rounds[phase] = round_no
                round_changes = 0
                for p in passes:
                    n = p.run(graph)
                    if n:
                        log.debug("%s: %s made %d change(s)", phase, p.name, n)
                    report.changes[p.name] = report.changes.get(p.name, 0) + n
                    round_changes += n
                    if self.verify:
                        from ..ir.verify import verify

                        verify(graph)
                if not round_changes:
                    break
            else:
                report.unsettled.append(phase)
                log.info("passes: phase %s still changed the graph after %d rounds (no fixed point)", phase, MAX_ROUNDS)
        report.nodes_after = len(graph)
        log.info("passes (%s): %s", self.level, report)
        return report


def optimize(graph: Graph, level: Any = None, passes: Mapping[str, bool] | None = None, verify: bool = False) -> PassReport:
    """Run :class:`PassManager` over ``graph`` in place."""
    return PassManager(level, passes, verify).run(graph)
