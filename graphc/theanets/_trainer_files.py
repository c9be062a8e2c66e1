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
    iterations: int
    save_every: Any
    save_progress: Any

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
        from it.  With ``final``, its network holds the best parameters (the
        last ones are kept for resuming).  See :mod:`graphc.theanets._checkpoint`.

        Raises
        ------
        ValueError
            When a parameter or optimizer state is not finite (nothing is written).
        """
        from ._checkpoint import save_checkpoint

        save_checkpoint(self, path, train_set, final=final)
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
