"""The files a theanets :class:`~graphc.theanets.trainer.Trainer` writes: checkpoints (``checkpoint=``)
and theanets' ``save_every``/``save_progress`` snapshots (a mixin of the trainer)."""

from __future__ import annotations

import logging
import os
import time
from typing import Any

import numpy as np

from ._training_data import Batches

__all__ = ["TrainerFiles"]

log = logging.getLogger("graphc.theanets.trainer")


class TrainerFiles:
    """Checkpoint and progress-file methods of :class:`~graphc.theanets.trainer.Trainer`."""

    checkpoint: Any
    checkpoint_every: int
    resume: bool
    iterations: int
    save_every: Any
    save_progress: Any

    def _start(self, train_set: Batches) -> bool:
        """Resume from the checkpoint (when asked and it exists) or reset the counters; whether it resumed.

        Under MPI rank 0's file decides and rank 0 reads it; then every rank takes rank 0's
        parameters, optimizer state, counters, shuffling and data position.
        """
        parallel = getattr(self, "_parallel", None)
        resumed = bool(self.resume and self.checkpoint is not None and os.path.exists(self.checkpoint))
        if parallel is not None:
            resumed = parallel.decide(resumed)
            if resumed:
                parallel.root_raises(lambda: self.load_checkpoint(self.checkpoint, train_set))
        elif resumed:
            self.load_checkpoint(self.checkpoint, train_set)
        if not resumed:
            self.best_loss, self.best_iteration, self._best_validation = None, 0, 0
            self.iterations = self.updates = self.validations = 0
        if parallel is not None:
            parallel.sync(self, train_set)
        return resumed

    def _save(self, last: list[float], train_set: Batches) -> None:
        if self.checkpoint is not None and self.iterations % self.checkpoint_every == 0:
            self.save_checkpoint(self.checkpoint, train_set)
            log.info("checkpoint %s (iteration %d)", self.checkpoint, self.iterations)

    def _save_progress(self, last: list[float], train_set: Batches) -> None:
        """theanets' ``save_every``: called after the ``i``-th yield (``i`` from 0), never saves at ``i = 0``.

        An int saves when ``i % save_every == 0`` (after iterations
        ``save_every + 1``, ``2 save_every + 1``...: upstream's timing), a float
        when ``save_every`` minutes passed since the last save (or the start).
        """
        if not self.save_progress or not self.save_every:
            return
        i = self.iterations - 1
        if i <= 0:
            return
        now = time.time()
        if isinstance(self.save_every, (float, np.floating)):
            due = now - last[0] >= 60.0 * float(self.save_every)
        else:
            due = i % int(self.save_every) == 0
        if due:
            path = str(self.save_progress).format(int(now))
            self.save_checkpoint(path, train_set)
            self._last_progress = path
            log.info("saved %s", path)
            last[0] = now

    def save_checkpoint(self, path: str | os.PathLike[str], train_set: Batches | None = None, final: bool = False) -> None:
        """Write the network, the optimizer state and the loop's state to ``path`` (atomically).

        The file is also a model file: :meth:`Network.load` reads the network
        from it.  In data-parallel training (``dist.size() > 1``) only rank 0
        writes it; should that fail, the job is aborted.  With ``final``, its network holds the best parameters (the
        last ones are kept for resuming).  See :mod:`graphc.theanets._checkpoint`.

        Raises
        ------
        ValueError
            When a parameter or optimizer state is not finite (nothing is written).
        """
        from ._checkpoint import save_checkpoint

        parallel = getattr(self, "_parallel", None)
        if parallel is None:
            save_checkpoint(self, path, train_set, final=final)
        else:  # data-parallel: every rank holds the same state; rank 0 writes it, a failure ends the job
            parallel.on_root(f"writing the checkpoint {os.fspath(path)}", lambda: save_checkpoint(self, path, train_set, final=final))
        self._last_checkpoint = (os.fspath(path), self.iterations)

    def _save_final(self, train_set: Batches) -> None:
        """Rewrite the run's checkpoint and last progress file so their network is the best one (what restore_best sets)."""
        paths = [self.checkpoint] if self.checkpoint is not None else []
        last = getattr(self, "_last_progress", None)
        paths += [last] if last is not None else []
        for path in paths:
            self.save_checkpoint(path, train_set, final=True)

    def load_checkpoint(self, path: str | os.PathLike[str], train_set: Batches | None = None) -> None:
        """Restore the network, the optimizer state and the loop's state from :meth:`save_checkpoint`'s file.

        Raises
        ------
        ValueError
            If the file is not a checkpoint of this network and algorithm.
        """
        from ._checkpoint import load_checkpoint

        load_checkpoint(self, path, train_set)

    def _last_checkpoint_note(self) -> str:
        last = getattr(self, "_last_checkpoint", None)
        if last is None:
            return "; no checkpoint was written" if self.checkpoint else ""
        return f"; the last checkpoint, {last[0]}, holds iteration {last[1]} (resume with resume=True)"
