"""graphc.theanets' data-parallel pieces in one process (the two-rank runs are in tests/distributed/test_theanets_mpi.py).

A stand-in communicator of two ranks makes ``dist.size() == 2`` without MPI: it checks the slices
and shares each rank feeds (against numpy sums over the whole batch), that the shares add up to the
whole batch's loss, and the clear errors for what has no exact data-parallel form.
"""

from __future__ import annotations

import numpy as np
import pytest

from graphc import distributed as dist
from graphc import theanets
from graphc.theanets._distributed import DataParallel


class TwoRanks:
    """Rank ``rank`` of two; only what graphc.theanets asks of a communicator before a step runs."""

    def __init__(self, rank: int) -> None:
        self.rank = rank

    def Get_rank(self) -> int:  # noqa: N802  (mpi4py's names)
        return self.rank

    def Get_size(self) -> int:  # noqa: N802
        return 2

    def Barrier(self) -> None:  # noqa: N802
        pass

    def bcast(self, value, root=0):
        return value

    def Bcast(self, buf, root=0):  # noqa: N802
        pass

    def allgather(self, value):
        return [value, value]

    def Allreduce(self, *args, **kwargs):  # noqa: N802
        raise AssertionError("no step runs in these tests")

    def Abort(self, code=1):  # noqa: N802
        raise AssertionError("aborted")


def _parallel(net, rank):
    parallel = DataParallel(TwoRanks(rank))
    parallel.build(net, net.params, {}, "adam")
    return parallel


def test_one_process_builds_no_data_parallel_step():
    net = theanets.Regressor([4, 5, 3])
    trainer = theanets.trainer.Trainer(net, "sgd")
    assert trainer._parallel is None and DataParallel.current() is None


def test_uneven_slices_share_the_rows_and_cover_the_batch():
    net = theanets.Regressor([4, 5, 3])
    x = np.arange(5 * 4, dtype="float32").reshape(5, 4)
    y = np.ones((5, 3), "float32")
    fed = [_parallel(net, r).feed([x, y]) for r in (0, 1)]
    np.testing.assert_array_equal(np.concatenate([f[0] for f in fed]), x)  # contiguous, in rank order
    assert [len(f[0]) for f in fed] == [3, 2]
    assert [float(f[2]) for f in fed] == pytest.approx([3 / 5, 2 / 5])
    assert all(f[2].dtype == np.dtype("float32") for f in fed)


def test_a_rank_without_rows_computes_on_a_real_row_and_counts_nothing():
    net = theanets.Regressor([4, 5, 3])
    x, y = np.ones((1, 4), "float32"), np.zeros((1, 3), "float32")
    first, second = (_parallel(net, r).feed([x, y]) for r in (0, 1))
    assert float(first[2]) == 1.0 and float(second[2]) == 0.0
    assert len(second[0]) == 1  # a real row, so its (zero-weighted) values are finite


def test_weighted_shares_are_the_ranks_part_of_the_weights_sum():
    net = theanets.Regressor([4, 5, 3], weighted=True)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(7, 4)).astype("float32"), rng.normal(size=(7, 3)).astype("float32")
    w = rng.uniform(size=(7, 3)).astype("float32")
    w[:4] = 0  # rank 0's rows weigh nothing: it feeds ones and counts nothing
    first, second = (_parallel(net, r).feed([x, y, w]) for r in (0, 1))
    np.testing.assert_array_equal(first[2], np.ones((4, 3), "float32"))
    assert float(first[4]) == 0.0 and float(second[4]) == pytest.approx(1.0)
    assert [float(first[3]), float(second[3])] == pytest.approx([4 / 7, 3 / 7])
    # the shares times each rank's weighted mean add up to the whole batch's weighted mean
    err = (x @ np.ones((4, 3)) - y) ** 2
    w2 = w.copy()
    w2[4:] *= 1 + np.arange(3)[:, None]  # another weighting, with weight on both ranks
    shares, parts = [], []
    for r in (0, 1):
        fed = _parallel(net, r).feed([x, y, w2])
        rows = slice(0, 4) if r == 0 else slice(4, 7)
        shares.append(float(fed[4]))
        parts.append((w2[rows] * err[rows]).sum() / w2[rows].sum() if w2[rows].sum() else 0.0)
    assert sum(s * p for s, p in zip(shares, parts)) == pytest.approx((w2 * err).sum() / w2.sum(), rel=1e-6)


def test_esgd_and_mmd_refuse_to_train_data_parallel():
    with dist.use_comm(TwoRanks(0)):
        with pytest.raises(ValueError, match="esgd cannot train data-parallel"):
            theanets.trainer.Trainer(theanets.Regressor([4, 5, 3]), "esgd")
        with pytest.raises(ValueError, match="'maximummeandiscrepancy' loss cannot train data-parallel"):
            theanets.trainer.Trainer(theanets.Regressor([4, 5, 3], loss="mmd"), "adam")
