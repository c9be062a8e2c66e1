"""Partitioned steps: a function whose graph has collectives, run on several ranks.

Under MPI (``graphc.distributed.size() > 1``) :func:`graphc.function` cuts the
graph at its collectives (:mod:`graphc.ir.partition`) and every call is
one synchronous step:

1. stage 0 runs in its ONNX Runtime session: everything the collectives need;
2. all the values to reduce sit in one contiguous buffer per dtype (a step of
   float32 gradients: one buffer; stage 0 writes gradients of static shape
   straight into it, see :mod:`graphc.runtime.fused`), all-reduced in place with
   ``comm.Allreduce(MPI.IN_PLACE, buf, op=MPI.SUM)`` (one MPI call per dtype),
   and the segments of ``mean`` collectives divided by the number of ranks;
3. stage 1 goes on from the reduced values (more rounds when a collective
   depends on another); the last stage returns the outputs and the new values
   of the shared variables, which are stored as in a one-process call.

Every shared variable a step reads is read once, before stage 0, under the
variables' locks, which are held until the updates are stored; steps on one
communicator run one at a time.

Faults end the job instead of hanging it:

* the first step checks, with an ``allgather``, that every rank built the same
  graph (a hash of its structure, the number of collectives per round, the
  dtypes and shapes of the buffers); if not, every rank raises
  :class:`GraphMismatchError` naming the ranks that differ from rank 0 and
  what differs, and so does every later call of the function;
* any other error during a step (bad inputs on one rank, ONNX Runtime failing,
  a timeout) is printed with the rank and the function's name, then
  ``comm.Abort(1)`` ends every rank (the others may be waiting in a collective);
  a rank that dies is noticed by the MPI launcher, which ends the job;
* ``collective_timeout`` (an argument of :func:`graphc.function`, default
  ``GRAPHC_COLLECTIVE_TIMEOUT``, seconds; no limit when unset) bounds the wait
  for the other ranks at the first step's check and at each all-reduce (with
  mpi4py's non-blocking ``Ibarrier``/``Iallreduce``); past it the rank aborts
  the job.  Without it, a rank that never calls the step (it built the
  function without collectives, say) leaves the others waiting.

A communicator that is not mpi4py's (a test double with the surface of
``mpi4py.MPI.Comm``) receives :data:`IN_PLACE` and :data:`SUM` in place of
``MPI.IN_PLACE`` and ``MPI.SUM``.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import onnxruntime as ort

from ..ir.graph import Graph
from ..ir.partition import Partition, has_collectives
from ..tensor.shared import SharedVariable
from .arguments import ArgumentSpec
from .fused import FusedRound
from .pipeline import GraphSession, open_graph_session
from .state import ORT_ERRORS, Held, as_ortvalue, check_updates, state_locks

__all__ = [
    "PartitionedStep", "GraphMismatchError", "CollectiveTimeoutError", "IN_PLACE", "SUM", "resolve_timeout",
    "partition_comm",
]  # fmt: skip

#: what a communicator other than mpi4py's gets for ``MPI.IN_PLACE`` and ``MPI.SUM``
IN_PLACE = "IN_PLACE"
SUM = "SUM"

_comm_locks: dict[int, tuple[Any, threading.Lock]] = {}
_comm_locks_guard = threading.Lock()


class GraphMismatchError(RuntimeError):
    """The ranks built different graphs for one function (found at its first step, raised on every rank)."""


class CollectiveTimeoutError(RuntimeError):
    """A rank waited longer than the timeout for the others at a collective."""


def resolve_timeout(timeout: float | None) -> float | None:
    """The timeout of collectives: the argument, else ``GRAPHC_COLLECTIVE_TIMEOUT``, else None (none).

    Raises
    ------
    ValueError
        For a timeout that is not a positive number of seconds.
    """
    if timeout is None:
        text = os.environ.get("GRAPHC_COLLECTIVE_TIMEOUT", "").strip()
        if not text:
            return None
        try:
            timeout = float(text)
        except ValueError:
            raise ValueError(f"GRAPHC_COLLECTIVE_TIMEOUT must be a number of seconds, got {text!r}") from None
        where = "GRAPHC_COLLECTIVE_TIMEOUT"
    else:
        where = "timeout"
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0 or timeout != timeout:
        raise ValueError(f"{where} must be a positive number of seconds, got {timeout!r}")
    return float(timeout)


def partition_comm(graph: Graph) -> Any | None:
    """The communicator a function of ``graph`` partitions for, or None (no collectives, or one process).

    Parameters
    ----------
    graph : graphc.ir.Graph
        The function's optimized graph.
    """
    if not has_collectives(graph):
        return None
    from .. import distributed  # imported only for graphs that have collectives

    comm = distributed.comm()
    if comm is None or int(comm.Get_size()) <= 1:
        return None
    return comm


def _comm_lock(comm: Any) -> threading.Lock:
    """One lock per communicator: the collectives of two steps on it must not interleave."""
    with _comm_locks_guard:
        hit = _comm_locks.get(id(comm))
        if hit is None or hit[0] is not comm:
            hit = _comm_locks[id(comm)] = (comm, threading.Lock())
        return hit[1]


def _mpi_constants(comm: Any) -> tuple[Any, Any]:
    if type(comm).__module__.startswith("mpi4py"):
        from mpi4py import MPI

        return MPI.IN_PLACE, MPI.SUM
    return IN_PLACE, SUM


class _StagePlan:
    """How one stage runs: its session, where each input comes from, its outputs.

    ``feeds``: ``(session input, 'arg' | 'param' | 'value', key)``; ``bound``: the outputs
    written straight into a fused all-reduce buffer (through IO binding).
    """

    def __init__(
        self, session: ort.InferenceSession, feeds: list[tuple[str, str, Any]], out_names: list[str], bound: dict[str, ort.OrtValue]
    ) -> None:
        self.session, self.feeds, self.out_names, self.bound = session, feeds, out_names, bound
        self._run_values = session._sess.run_with_ort_values

    def run(self, feed: dict[str, Any]) -> list[Any]:
        """Run with C-level ``OrtValue`` inputs; the outputs as C-level ``OrtValue`` objects."""
        if not self.bound:
            return list(self._run_values(feed, self.out_names, None))
        binding = self.session.io_binding()
        for name, value in feed.items():
            binding.bind_ortvalue_input(name, ort.OrtValue(value))
        for name in self.out_names:
            target = self.bound.get(name)
            if target is None:
                binding.bind_output(name, "cpu")
            else:
                binding.bind_ortvalue_output(name, target)
        self.session.run_with_iobinding(binding)
        return [o._get_c_value() for o in binding.get_outputs()]


class PartitionedStep:
    """Runs a partitioned function's steps (see the module docstring).

    Parameters
    ----------
    name : str
        The function's name (error messages, the stages' ONNX graph names).
    partition : Partition
    comm : mpi4py.MPI.Comm or an object with its surface
    device : str or None
        As :func:`graphc.function` takes it.
    opset : int
    specs : list of ArgumentSpec
        The function's arguments (converted before :meth:`run`).
    update_targets : list of SharedVariable
        The updated variables, in the order of the last stage's update outputs.
    n_out : int
        How many of the last stage's outputs are the function's outputs.
    timeout : float or None
        Seconds to wait for the other ranks at a collective (None: no limit).

    Attributes
    ----------
    sessions : list of GraphSession or None
        One per stage (None for a stage with nothing to compute).
    device : str
    errors : tuple
        What ONNX Runtime raises when a stage fails on particular inputs: the caller turns
        them into a ValueError naming the inputs (then :meth:`guard` aborts the job).
    """

    errors = ORT_ERRORS

    def __init__(
        self,
        name: str,
        partition: Partition,
        comm: Any,
        device: str | None,
        opset: int,
        specs: Sequence[ArgumentSpec],
        update_targets: list[SharedVariable],
        n_out: int,
        timeout: float | None,
    ) -> None:
        self.name, self.partition, self.comm = name, partition, comm
        self.specs, self.update_targets, self.n_out = list(specs), update_targets, n_out
        self.timeout = timeout
        self.rank, self.size = int(comm.Get_rank()), int(comm.Get_size())
        self._in_place, self._sum = _mpi_constants(comm)
        self._lock = _comm_lock(comm)
        self._rounds = [FusedRound(r) for r in partition.rounds]
        self._checked = False
        self._mismatch: str | None = None  # set on every rank when the first step found different graphs
        training = bool(update_targets)
        variables: dict[int, SharedVariable] = {}
        self.sessions: list[GraphSession | None] = []
        self._plans: list[_StagePlan | None] = []
        last = len(partition.stages) - 1
        for stage in partition.stages:
            if stage.index < last and not stage.produces:
                self.sessions.append(None)
                self._plans.append(None)
                continue
            opened = open_graph_session(
                stage.graph, opset=opset, device=device, training=training, name=f"{name}/stage{stage.index}"
            )
            self.sessions.append(opened)
            feeds: list[tuple[str, str, Any]] = [
                (onnx_name, kind, key) for onnx_name, (kind, key) in zip(opened.names.inputs, stage.sources)
            ]
            for nid, onnx_name in sorted(opened.names.params.items()):
                var = stage.graph.data(nid).ref
                variables.setdefault(id(var), var)
                feeds.append((onnx_name, "param", id(var)))
            in_place = self._rounds[stage.index].in_place if stage.index < last else {}
            bound = {name: in_place[v] for v, name in zip(stage.produces, opened.names.outputs) if v in in_place}
            self._plans.append(_StagePlan(opened.session, feeds, opened.names.outputs, bound))
        self.device = next(s.device for s in self.sessions if s is not None)
        self.variables = list(variables.values())
        self.locks = state_locks(self.variables + update_targets)

    # -- one step -------------------------------------------------------------------------------
    @contextmanager
    def guard(self) -> Iterator[None]:
        """Abort every rank when the step inside fails (a :class:`GraphMismatchError` is raised as is)."""
        try:
            yield
        except GraphMismatchError:
            raise
        except BaseException as exc:
            self.abort(exc)
            raise

    def run(self, arrays: list[Any], copy: bool) -> list[Any]:
        """One step with converted arguments; the outputs as arrays (``copy``) or ``OrtValue`` objects."""
        if self._mismatch is not None:  # every rank refuses every later step too: no mismatched all-reduce
            raise GraphMismatchError(self._mismatch)
        with self._lock, Held(self.locks):
            args = [
                (a if type(a) is np.ndarray else a.numpy() if a.device_name().lower() != "cpu" else a) for a in arrays
            ]
            args_c = [ort.OrtValue.ortvalue_from_numpy(a)._get_c_value() if type(a) is np.ndarray else a._get_c_value() for a in args]
            state = {id(var): as_ortvalue(var, "cpu", 0) for var in self.variables}
            state_c = {k: v._get_c_value() for k, v in state.items()}
            env: dict[Any, Any] = {}
            keep: list[Any] = []  # the reduced buffers, alive while later stages read them
            results: list[Any] = []
            for k, plan in enumerate(self._plans):
                if plan is not None:
                    feed = {
                        onnx_name: args_c[key] if kind == "arg" else state_c[key] if kind == "param" else env[key]
                        for onnx_name, kind, key in plan.feeds
                    }
                    results = plan.run(feed)
                    if k < len(self._rounds):
                        env.update(zip(self.partition.stages[k].produces, results))
                if k < len(self._rounds):
                    if not self._checked:
                        self._check_signature(self._rounds[0].shapes(env))
                    keep += self._rounds[k].reduce(env, self._allreduce, self.size)
            n_out = self.n_out
            news = [ort.OrtValue(results[i]) for i in range(n_out, len(results))]
            check_updates(self.name, self.update_targets, news)
            for var, new in zip(self.update_targets, news):
                var._store(new)
        if copy:
            return [ort.OrtValue(results[i]).numpy() for i in range(n_out)]
        return [ort.OrtValue(results[i]) for i in range(n_out)]

    def _allreduce(self, buf: np.ndarray) -> None:
        if self.timeout is not None and hasattr(self.comm, "Iallreduce"):
            self._wait(self.comm.Iallreduce(self._in_place, buf, op=self._sum), "an all-reduce")
        else:
            self.comm.Allreduce(self._in_place, buf, op=self._sum)

    def _wait(self, request: Any, what: str) -> None:
        deadline = time.monotonic() + float(self.timeout)  # type: ignore[arg-type]
        pause = 1e-5
        while not request.Test():
            if time.monotonic() > deadline:
                raise CollectiveTimeoutError(
                    f"{self.name}: rank {self.rank} of {self.size} waited more than {self.timeout:g} s for the other "
                    f"ranks at {what} (a rank is stuck, died, or calls other functions)"
                )
            time.sleep(pause)
            pause = min(pause * 2, 0.01)

    # -- faults ---------------------------------------------------------------------------------
    def signature(self, shapes: list[str]) -> dict[str, Any]:
        """What every rank must agree on: graph hash, collectives, buffers (this rank's first round)."""
        return {
            "graph hash": self.partition.fingerprint,
            "number of collectives": self.partition.n_collectives,
            "collectives per round": [len(r) for r in self.partition.rounds],
            "collectives": [[r.describe() for r in rnd] for rnd in self.partition.rounds],
            "first buffers": shapes,
        }

    def _check_signature(self, shapes: list[str]) -> None:
        """All ranks built the same graph, or every rank raises :class:`GraphMismatchError`."""
        mine = self.signature(shapes)
        if self.timeout is not None and hasattr(self.comm, "Ibarrier"):
            self._wait(self.comm.Ibarrier(), "the first step's check that all ranks built the same graph")
        every = self.comm.allgather(mine)
        self._checked = True
        problems = []
        for r, theirs in enumerate(every):
            diffs = [
                f"{key}: {_short(theirs.get(key))} on rank {r}, {_short(every[0].get(key))} on rank 0"
                for key in mine
                if theirs.get(key) != every[0].get(key)
            ]
            if diffs:
                problems.append((r, diffs))
        if problems:
            ranks = ", ".join(str(r) for r, _ in problems)
            detail = "; ".join(f"rank {r}: " + "; ".join(d) for r, d in problems)
            self._mismatch = (
                f"{self.name}: the ranks built different graphs: rank(s) {ranks} differ from rank 0 ({detail}); "
                "every rank must build the same model and step"
            )
            raise GraphMismatchError(self._mismatch)

    def abort(self, exc: BaseException) -> None:
        """Print ``exc`` with this rank's name and end every rank (``comm.Abort(1)``)."""
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        sys.stderr.write(
            f"graphc: rank {self.rank} of {self.size}: a step of {self.name!r} failed; aborting all ranks "
            f"(the others may be waiting in a collective):\n{text}"
        )
        sys.stderr.flush()
        self.comm.Abort(1)


def _short(value: Any, limit: int = 300) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."

