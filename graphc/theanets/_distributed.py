"""Data-parallel theanets training: what :class:`~graphc.theanets.trainer.Trainer` does when ``dist.size() > 1``.

Every rank holds the same data and walks the same minibatches in the same
order (the shuffling generator is rank 0's, broadcast at the start); each rank
computes on its contiguous slice of every minibatch
(:func:`graphc.distributed.shard_bounds`), and the compiled step all-reduces,
in one fused ``Allreduce``, the gradients and the monitors, so every rank
applies the same update to the same parameters.

Exact whole-batch values, even for uneven slices.  A loss term that averages
over the rows of a batch (mse, mae, xe, hinge, kl, gll, and the regularizers'
terms) is, on the whole batch, the sum over the ranks of each rank's average
times its *share* ``n_r / N`` of the rows.  A weighted loss
``sum(w * err) / sum(w)`` is the sum over the ranks of each rank's value times
``sum(w_r) / sum(w)``.  The step therefore takes the shares as scalar inputs
(computed here from the batch, which every rank knows whole) and differentiates
the rank's *local objective* ``sum_t share_t * term_t``; :func:`dist.sum` of its
gradients is the whole batch's gradient, and :func:`dist.sum` of each monitor
times its share is the whole batch's monitor.  Everything after the reduction
(gradient clipping, the update rule, the non-finite probe, gradient monitors)
sees the whole batch's values, the same on every rank.

A rank whose slice is empty (a batch with fewer rows than ranks) computes on
the batch's first row with every share 0, and a weighted loss whose weights are
all zero on a rank's slice is fed weights of one with share 0: such a rank adds
exact zeros, so the result is still the whole batch's.

Not supported under MPI (a ``ValueError`` at construction, naming it): the
``mmd`` loss (a mean over pairs of examples, which no split of the rows gives)
and ``esgd`` (its Hessian-vector products would need a second all-reduce).
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import distributed as dist
from .. import tensor as T
from ..config import config
from ..train.grad import grad as _grad
from . import losses as _losses

__all__ = ["DataParallel", "ReducedStep", "RootOnlyFilter"]

#: the state a resumed or restarted run takes from rank 0 besides the parameters and the optimizer state
_COUNTERS = ("iterations", "updates", "validations", "_best_validation", "best_iteration", "best_loss")


class RootOnlyFilter(logging.Filter):
    """A logging filter that lets records through on rank 0 only (training logs once, not once per rank)."""

    def filter(self, record: logging.LogRecord) -> bool:  # noqa: A003  (logging's name)
        try:
            return dist.rank() == 0
        except Exception:  # an unusable MPI setup is reported by the training itself, not by logging
            return True


for _name in ("graphc.theanets.trainer", "graphc.theanets._pretrain"):
    logging.getLogger(_name).addFilter(RootOnlyFilter())


@dataclass
class ReducedStep:
    """The expressions of a data-parallel step (see :meth:`DataParallel.build`).

    Attributes
    ----------
    shares : list of Variable
        The scalar inputs: the rows' share, then one per weighted loss.
    local_loss : Variable
        This rank's local objective (its share of the whole batch's loss).
    grads : list of Variable
        The whole batch's gradients (all-reduced), one per parameter.
    monitors : list of (str, Variable)
        The whole batch's monitors (all-reduced), ``loss`` first.
    layer_updates : list of (SharedVariable, Variable)
        The layers' updates, float values averaged over the ranks by their shares.
    """

    shares: list[Any]
    local_loss: Any
    grads: list[Any]
    monitors: list[tuple[str, Any]]
    layer_updates: list[tuple[Any, Any]]


class DataParallel:
    """The ranks a theanets training runs on, and how each feeds its slice of a batch.

    Parameters
    ----------
    comm : mpi4py.MPI.Comm
        A communicator of more than one rank.
    """

    def __init__(self, comm: Any) -> None:
        self.comm = comm
        self.rank = int(comm.Get_rank())
        self.size = int(comm.Get_size())
        self._weighted: list[int] = []  # indices, in the step's data, of the weighted losses' weights

    @classmethod
    def current(cls) -> DataParallel | None:
        """The job's :class:`DataParallel` when ``dist.size() > 1``, else None (one process)."""
        c = dist.comm()
        if c is None or int(c.Get_size()) < 2:
            return None
        return cls(c)

    @property
    def is_root(self) -> bool:
        """Whether this is rank 0, the one that logs, shows progress and writes files."""
        return self.rank == 0

    # -- the step's graph ----------------------------------------------------------------
    def build(self, network: Any, params: Sequence[Any], regularizers: dict[str, Any], algo: str) -> ReducedStep:
        """The data-parallel step's expressions for ``network`` trained with ``regularizers``.

        Raises
        ------
        ValueError
            For the ``mmd`` loss or the ``esgd`` algorithm, which have no exact data-parallel form here.
        """
        if algo == "esgd":
            raise ValueError(
                "esgd cannot train data-parallel (dist.size() > 1): its Hessian-vector products need the whole "
                "batch; use another algorithm (rmsprop, adam...) or run one process"
            )
        loss_terms, reg_terms = network.loss_terms(**regularizers)
        variables = list(network.variables)
        rows = T.scalar("share/rows", dtype=config.floatX)
        shares, share_of = [rows], {}
        self._weighted = []
        for loss, _ in loss_terms:
            if isinstance(loss, _losses.MaximumMeanDiscrepancy):
                raise ValueError(
                    f"the {loss.form!r} loss cannot train data-parallel (dist.size() > 1): it is a mean over pairs "
                    "of examples of the whole batch, which no split of the batch across ranks gives; run one process"
                )
            if loss._weights is not None:
                share = T.scalar(f"share/{loss.output_name}/weights{len(shares)}", dtype=config.floatX)
                self._weighted.append(next(i for i, v in enumerate(variables) if v is loss._weights))
                shares.append(share)
                share_of[id(loss)] = share
        local: Any = None
        for loss, term in loss_terms:
            part = share_of.get(id(loss), rows) * term
            local = part if local is None else local + part
        for term in reg_terms:
            local = local + rows * term
        grads = dist.sum(list(_grad(local, list(params))))
        first = share_of.get(id(network.losses[0]), rows)
        named = list(network.monitors(**regularizers))
        weights = [first if i == 0 or (name == "acc" and first is not rows) else rows for i, (name, _) in enumerate(named)]
        reduced = dist.sum([local, *(w * expr for w, (_, expr) in zip(weights, named))])
        monitors = [("loss", reduced[0]), *((name, r) for (name, _), r in zip(named, reduced[1:]))]
        layer_updates = []
        for var, new in network.updates(**regularizers):
            if np.dtype(new.dtype).kind == "f":
                new = T.cast(dist.sum(rows * new), new.dtype)
            layer_updates.append((var, new))
        return ReducedStep(shares, local, grads, monitors, layer_updates)

    # -- feeding a step ------------------------------------------------------------------
    def feed(self, batch: Sequence[np.ndarray]) -> list[Any]:
        """This rank's slice of the whole minibatch ``batch``, then the share values of :meth:`build`'s inputs."""
        n = len(batch[0])
        start, stop = dist.shard_bounds(n, self.rank, self.size)
        empty = stop == start
        if empty:  # fewer rows than ranks: compute on a real row, add nothing
            start, stop = 0, 1
        local = [a[start:stop] for a in batch]
        dtype = np.dtype(config.floatX)
        shares = [dtype.type(0.0 if empty else (stop - start) / n)]
        for index in self._weighted:
            total = float(np.sum(batch[index], dtype=np.float64))
            mine = 0.0 if empty else float(np.sum(local[index], dtype=np.float64))
            if mine == 0.0:  # sum(w * err) / sum(w) would be 0/0 here: feed ones, count nothing
                local[index] = np.ones_like(local[index])
                shares.append(dtype.type(0.0))
            else:
                shares.append(dtype.type(mine / total if total != 0.0 else np.nan))
        return [*local, *shares]

    def batches_from_root(self, data: Any) -> Any:
        """``data`` itself, or for a callable dataset one that calls it on rank 0 and broadcasts the batch.

        A callable (a generator of random batches, say) would give each rank another batch;
        rank 0's is the one every rank slices, as a single process would see it.
        """
        if not callable(data) or isinstance(data, np.ndarray):
            return data
        return _RootCallable(data, self)

    # -- keeping the ranks equal ------------------------------------------------------------
    def decide(self, value: Any) -> Any:
        """Rank 0's ``value`` on every rank (a decision every rank must take alike)."""
        return self.comm.bcast(value if self.is_root else None, root=0)

    def sync(self, trainer: Any, train_set: Any) -> None:
        """Give every rank rank 0's training state: parameters, optimizer state, counters, shuffling, data position.

        The arrays travel as buffers (:func:`graphc.distributed.broadcast`, ``Bcast``), the rest pickled.
        """
        dist.broadcast([*trainer.params, *trainer.state_variables], root=0, comm=self.comm)
        best = [np.array(v, dtype=p.dtype, order="C") for p, v in zip(trainer.params, trainer.best_params)]
        for array in best:  # the same shapes on every rank: the broadcast above checked the parameters
            self.comm.Bcast(array, root=0)
        trainer.best_params = best
        state = None
        if self.is_root:
            state = {name: getattr(trainer, name) for name in _COUNTERS}
            state["last_validation"] = dict(trainer.last_validation)
            state["rng"] = trainer.rng.get_state() if trainer.rng is not None else None
            if train_set is not None and train_set.num_examples is not None:
                state["position"] = (train_set._index, train_set._order)
        state = self.comm.bcast(state, root=0)
        if self.is_root:
            return
        for name in _COUNTERS:
            setattr(trainer, name, state[name])
        trainer.last_validation = dict(state["last_validation"])
        if state["rng"] is not None and trainer.rng is not None:
            trainer.rng.set_state(state["rng"])
        if "position" in state and train_set is not None:
            train_set._index, train_set._order = state["position"]

    def on_root(self, what: str, action: Callable[[], Any]) -> None:
        """Run ``action`` on rank 0 only; should it fail, end the job (the other ranks would wait forever)."""
        if not self.is_root:
            return
        try:
            action()
        except Exception:
            sys.stderr.write(f"rank 0 of {self.size}: {what} failed; aborting all ranks\n{traceback.format_exc()}")
            sys.stderr.flush()
            self.comm.Abort(1)
            raise

    def root_raises(self, action: Callable[[], Any]) -> None:
        """Run ``action`` on rank 0; every rank raises when it failed (a collective: every rank calls it).

        Rank 0 raises the original exception, the others a ``RuntimeError`` quoting it.
        """
        error: BaseException | None = None
        if self.is_root:
            try:
                action()
            except Exception as exc:  # every rank must learn of it, or they wait for rank 0 forever
                error = exc
        message = self.comm.bcast(None if error is None else f"{type(error).__name__}: {error}", root=0)
        if error is not None:
            raise error
        if message is not None:
            raise RuntimeError(f"rank 0 failed: {message}")


class _RootCallable:
    """A callable dataset whose batches rank 0 draws and broadcasts; its ``len()`` is the original's (rank 0's)."""

    def __init__(self, source: Callable[[], Any], parallel: DataParallel) -> None:
        self._source, self._parallel = source, parallel

    def __call__(self) -> Any:
        return self._parallel.decide(self._source() if self._parallel.is_root else None)

    def __len__(self) -> int:
        try:
            size = len(self._source)  # type: ignore[arg-type]
        except TypeError:
            size = None
        size = self._parallel.decide(size)
        if size is None:
            raise TypeError("the callable dataset has no len()")
        return size


def save_on_root(save: Callable[[], Any]) -> None:
    """Run ``save`` once for the job: in one process directly, under MPI on rank 0, every rank waiting for it.

    Every rank raises when rank 0's ``save`` failed (so that none goes on to read a file that is not there).
    """
    parallel = DataParallel.current()
    if parallel is None:
        save()
        return
    parallel.root_raises(save)
