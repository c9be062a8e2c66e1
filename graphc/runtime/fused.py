"""The fused all-reduce buffers of one round of a partitioned step.

All the values a round reduces live in one contiguous buffer per dtype, so
that the round costs one ``Allreduce`` per dtype however many collectives the
graph has (Horovod's tensor fusion).  The ``mean`` segments come first, so one
slice is divided by the number of ranks after the sum.

Where every value of a dtype has a static shape the buffer is allocated once
and kept: the stage before the round writes each value it alone reads
(:attr:`graphc.ir.partition.Reduction.in_place`) straight into its
segment through IO binding, MPI reduces the buffer in place, and the next
stage reads the reduced segments as they are, with no copy at all.  Other
values (computed earlier, read again later, or of a symbolic shape) are
copied into their segment; a buffer with symbolic shapes is allocated per step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import onnxruntime as ort

from ..ir.partition import Reduction, Value

__all__ = ["FusedRound"]


class _Group:
    """The reductions of one dtype in one round, means first."""

    def __init__(self, dtype: np.dtype, members: list[int], n_means: int, reductions: list[Reduction]) -> None:
        self.dtype, self.members, self.n_means = dtype, members, n_means
        types = [reductions[i].type for i in members]
        self.static = all(t.is_static for t in types)
        self.buffer: np.ndarray | None = None
        self.views: list[np.ndarray] = []
        if self.static:
            shapes = [tuple(int(d) for d in t.shape) for t in types]
            sizes = [int(np.prod(s, dtype=np.int64)) for s in shapes]
            self.buffer = np.zeros(sum(sizes), dtype=dtype)
            starts = np.cumsum([0, *sizes])
            self.views = [self.buffer[a:b].reshape(s) for a, b, s in zip(starts[:-1], starts[1:], shapes)]
            self.mean_end = int(starts[n_means])
            # the reduced values as the next stage reads them (the same memory every step)
            self.targets = [ort.OrtValue.ortvalue_from_numpy(v) for v in self.views]


class FusedRound:
    """The buffers of one all-reduce round.

    Parameters
    ----------
    reductions : list of Reduction
        The round's collectives, in the partition's (rank-independent) order.
    """

    def __init__(self, reductions: list[Reduction]) -> None:
        self.reductions = reductions
        by_dtype: dict[str, list[int]] = {}
        for i, r in enumerate(reductions):
            by_dtype.setdefault(r.type.dtype, []).append(i)
        self.groups = []
        for dtype, positions in by_dtype.items():
            means = [i for i in positions if reductions[i].kind == "mean"]
            members = means + [i for i in positions if reductions[i].kind != "mean"]
            self.groups.append(_Group(np.dtype(dtype), members, len(means), reductions))
        # values the stage before writes straight into a kept buffer: source -> its segment
        self.in_place: dict[Value, ort.OrtValue] = {}
        for g in self.groups:
            if g.static:
                for i, view in zip(g.members, g.views):
                    if reductions[i].in_place:
                        self.in_place[reductions[i].source] = ort.OrtValue.ortvalue_from_numpy(view)

    def shapes(self, env: dict[Value, Any]) -> list[str]:
        """Each reduction's kind, dtype and shape this step (for the first step's check)."""
        out = []
        for r in self.reductions:
            shape = list(r.type.shape) if r.source in self.in_place else list(ort.OrtValue(env[r.source]).shape())
            out.append(f"{r.kind} {r.type.dtype}{[int(d) for d in shape]}")
        return out

    def reduce(self, env: dict[Value, Any], allreduce: Callable[[np.ndarray], None], size: int) -> list[np.ndarray]:
        """Reduce the round: sources read from ``env`` (C-level ``OrtValue`` objects), targets written to it.

        Returns
        -------
        list of numpy.ndarray
            The buffers the targets live in (kept alive until the step is over).
        """
        buffers = []
        for g in self.groups:
            if g.static:
                buf = g.buffer
                assert buf is not None
                for i, view in zip(g.members, g.views):
                    source = self.reductions[i].source
                    if source not in self.in_place:
                        np.copyto(view, ort.OrtValue(env[source]).numpy().reshape(view.shape))
                mean_end = g.mean_end
                targets = [t._get_c_value() for t in g.targets]
            else:
                arrays = [ort.OrtValue(env[self.reductions[i].source]).numpy() for i in g.members]
                buf = np.concatenate([a.reshape(-1) for a in arrays]).astype(g.dtype, copy=False)
                starts = np.cumsum([0, *(a.size for a in arrays)])
                mean_end = int(starts[g.n_means])
                views = [buf[a:b].reshape(x.shape) for a, b, x in zip(starts[:-1], starts[1:], arrays)]
                targets = [ort.OrtValue.ortvalue_from_numpy(v)._get_c_value() for v in views]
            allreduce(buf)
            if mean_end:  # the means are one slice at the front
                np.divide(buf[:mean_end], size, out=buf[:mean_end])
            for i, target in zip(g.members, targets):
                env[self.reductions[i].target] = target
            buffers.append(buf)
        return buffers
