"""Partitioned steps at collectives, in one process: two "ranks" are two threads on a fake communicator.

The fake has mpi4py's surface (``Get_rank``, ``Get_size``, ``allgather``,
``Allreduce`` with ``IN_PLACE``/``SUM``, ``Abort``...) and sums the ranks'
buffers in rank order, so both ranks get bitwise the same reduction, as MPI
gives.  The oracle of a data-parallel step is the same step compiled in one
process (collectives are identities there) on the whole batch; numpy oracles
check the multi-round reductions.
"""

from __future__ import annotations

import copy
import threading

import numpy as np
import pytest

import graphc
import graphc.tensor as T
from graphc import distributed as dist
from graphc.ir.partition import partition_at_collectives
from graphc.runtime import partitioned
from graphc.runtime.partitioned import GraphMismatchError

from .scripts.partition_models import BUILDERS, data, mlp_step

RNG = np.random.default_rng(7)


class AbortError(Exception):
    """What the fake's Abort (and a rank waiting when another aborts) raises."""


class FakeWorld:
    """The shared memory of ``n`` fake ranks."""

    def __init__(self, n: int, timeout: float = 60.0) -> None:
        self.n = n
        self.barrier = threading.Barrier(n, timeout=timeout)
        self.slots: list = [None] * n
        self.allreduces: list[tuple[int, str, int]] = []  # (rank, dtype, elements) per Allreduce call
        self.aborted: list[tuple[int, int]] = []

    def comms(self) -> list[FakeComm]:
        return [FakeComm(self, r) for r in range(self.n)]


class FakeComm:
    """One rank's communicator (mpi4py's ``Comm`` surface, over threads)."""

    def __init__(self, world: FakeWorld, rank: int) -> None:
        self.world, self.rank = world, rank

    def Get_rank(self) -> int:  # noqa: N802  (mpi4py's name)
        return self.rank

    def Get_size(self) -> int:  # noqa: N802  (mpi4py's name)
        return self.world.n

    def _sync(self) -> None:
        try:
            self.world.barrier.wait()
        except threading.BrokenBarrierError:
            raise AbortError(f"rank {self.rank}: another rank aborted") from None

    def _exchange(self, value):
        self.world.slots[self.rank] = value
        self._sync()
        got = list(self.world.slots)
        self._sync()
        return got

    def Barrier(self) -> None:  # noqa: N802  (mpi4py's name)
        self._sync()

    def allgather(self, obj):
        return self._exchange(copy.deepcopy(obj))

    def bcast(self, obj, root=0):
        return copy.deepcopy(self._exchange(obj)[root])

    def Bcast(self, buf, root=0):  # noqa: N802  (mpi4py's name)
        arr = buf[0] if isinstance(buf, (list, tuple)) else buf
        got = self._exchange(np.array(arr, copy=True))
        arr[...] = got[root]

    def Allreduce(self, sendbuf, recvbuf, op=None):  # noqa: N802  (mpi4py's name)
        assert sendbuf is partitioned.IN_PLACE and op is partitioned.SUM  # in place, summed
        assert recvbuf.flags.c_contiguous and recvbuf.ndim == 1  # one fused flat buffer
        self.world.allreduces.append((self.rank, str(recvbuf.dtype), recvbuf.size))
        got = self._exchange(np.array(recvbuf, copy=True))
        total = got[0].copy()
        for g in got[1:]:
            total += g
        recvbuf[...] = total

    def Abort(self, code=1):  # noqa: N802  (mpi4py's name)
        self.world.aborted.append((self.rank, code))
        self.world.barrier.abort()
        raise AbortError(f"rank {self.rank} aborted with code {code}")


def run_ranks(jobs, timeout: float = 120.0):
    """Run ``jobs[r]()`` in a thread per rank; (results, errors) by rank; fails if any thread hangs."""
    results, errors = [None] * len(jobs), [None] * len(jobs)

    def work(r):
        try:
            results[r] = jobs[r]()
        except BaseException as exc:  # noqa: BLE001  (reported to the test)
            errors[r] = exc

    threads = [threading.Thread(target=work, args=(r,), daemon=True) for r in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    assert not any(t.is_alive() for t in threads), "a rank hung"
    return results, errors


def _compile_on(comm, build):
    """``build()`` compiled while ``comm`` is graphc's communicator (the function keeps it)."""
    if comm is None:
        return build()
    with dist.use_comm(comm):
        return build()




@pytest.mark.parametrize("case", sorted(BUILDERS))
def test_two_ranks_on_half_batches_match_one_process_on_the_whole(case):
    build, kind = BUILDERS[case]
    world = FakeWorld(2)
    ranks = [_compile_on(c, build) for c in world.comms()]
    single, single_params = _compile_on(None, build)
    initial = [p.get_value() for p in single_params]
    assert single._guard is None and all(step._guard is not None for step, _ in ranks)
    batches = [data(kind, 8, RNG) for _ in range(4)]
    halves = [[tuple(a[r * 4 : (r + 1) * 4] for a in batch) for batch in batches] for r in range(2)]

    def job(r):
        step, params = ranks[r]
        return [step(*b) for b in halves[r]], [p.get_value() for p in params]

    results, errors = run_ranks([lambda r=r: job(r) for r in range(2)])
    assert errors == [None, None], errors
    single_outs = [single(*b) for b in batches]
    (outs0, params0), (outs1, params1) = results
    for p0, p1, ps, p_init in zip(params0, params1, [p.get_value() for p in single_params], initial):
        assert not np.allclose(ps, p_init)  # the steps moved every parameter
        np.testing.assert_array_equal(p0, p1)  # bitwise the same on both ranks
        np.testing.assert_allclose(p0, ps, rtol=1e-5, atol=1e-5)
    if case == "hand_written":
        for k, (o0, o1, os_) in enumerate(zip(outs0, outs1, single_outs)):
            np.testing.assert_allclose((o0[0] + o1[0]) / 2, os_[0], rtol=1e-5)  # each rank's own half
            np.testing.assert_array_equal(o0[1], o1[1])  # the mean over the ranks, on both
            np.testing.assert_allclose(o0[1], os_[0], rtol=1e-5)
            assert float(o0[2]) == float(o1[2]) == k  # the counter before the step
    else:
        for o0, o1, os_ in zip(outs0, outs1, single_outs):
            np.testing.assert_allclose((o0 + o1) / 2, os_, rtol=1e-5)
    # one fused all-reduce per step and rank (one dtype), of every gradient element (+ counts)
    n_elements = sum(p.get_value().size for p in single_params)
    sizes = {size for _, _, size in world.allreduces}
    assert len(world.allreduces) == 2 * len(batches)
    assert sizes == {n_elements + (2 if case == "hand_written" else 0)}


def test_the_partition_of_an_adam_step():
    """One round: stage 0 is forward and backward (outputs the cost and the gradients), stage 1 the
    optimizer (reads the reduced gradients, outputs the cost and the new state)."""
    world = FakeWorld(2)
    step, params = _compile_on(world.comms()[0], mlp_step)
    part = partition_at_collectives(step.graph)
    assert part is not None and len(part.stages) == 2 and len(part.rounds) == 1
    assert [r.kind for r in part.rounds[0]] == ["mean"] * len(params)
    assert sorted(r.type.shape for r in part.rounds[0]) == sorted(p.get_value().shape for p in params)
    first, last = part.stages
    assert not any(first.graph.data(n).op in ("allreduce_mean", "allreduce_sum") for n in first.graph.nodes())
    assert [name for _, name in last.graph.outputs] == [name for _, name in step.graph.outputs]
    boundary = {key for kind, key in last.sources if kind == "value"}
    assert {r.target for r in part.rounds[0]} <= boundary  # the reduced gradients feed the optimizer
    assert len(step.onnx_model.graph.output) == 1 + 2 * len(params) + 1 + len(params)  # cost, m, v, t, params


def test_a_collective_of_a_reduced_value_takes_a_second_round():
    """Synchronized standardization: the mean over all ranks' rows, then the variance around it:
    two rounds, three stages; the values match numpy on the whole batch."""
    x = T.matrix("x")
    mu = dist.mean(x.mean(axis=0))
    var = dist.mean(((x - mu) ** 2).mean(axis=0))
    world = FakeWorld(2)
    fns = [_compile_on(c, lambda: graphc.function([x], [(x - mu) / T.sqrt(var + 1e-5), mu, var])) for c in world.comms()]
    part = partition_at_collectives(fns[0].graph)
    assert part is not None and len(part.rounds) == 2 and len(part.stages) == 3
    rows = RNG.normal(loc=2.0, size=(10, 3)).astype(np.float32)
    results, errors = run_ranks([lambda r=r: fns[r](rows[r * 5 : (r + 1) * 5]) for r in range(2)])
    assert errors == [None, None], errors
    want_mu, want_var = rows.mean(0), rows.var(0)
    for r, (z, m, v) in enumerate(results):
        np.testing.assert_allclose(m, want_mu, rtol=1e-5)
        np.testing.assert_allclose(v, want_var, rtol=1e-5)
        np.testing.assert_allclose(z, (rows[r * 5 : (r + 1) * 5] - want_mu) / np.sqrt(want_var + 1e-5), rtol=1e-4, atol=1e-5)
    assert [n for _, _, n in world.allreduces] == [3, 3, 3, 3]  # two rounds of one (3,) buffer per rank


def test_sum_of_integers_and_floats_uses_one_buffer_per_dtype():
    x = T.matrix("x")
    count = dist.sum(T.cast(x.shape[0], "int64"))
    total = dist.sum(x.sum(axis=0))
    world = FakeWorld(2)
    fns = [_compile_on(c, lambda: graphc.function([x], [count, total / T.cast(count, "float32")])) for c in world.comms()]
    a, b = RNG.normal(size=(3, 4)).astype(np.float32), RNG.normal(size=(5, 4)).astype(np.float32)
    results, errors = run_ranks([lambda: fns[0](a), lambda: fns[1](b)])
    assert errors == [None, None], errors
    for n, mean in results:
        assert int(n) == 8
        np.testing.assert_allclose(mean, np.concatenate([a, b]).mean(0), rtol=1e-5)
    assert sorted((d, n) for r, d, n in world.allreduces if r == 0) == [("float32", 4), ("int64", 1)]


def test_ranks_with_different_graphs_are_named_at_the_first_step():
    world = FakeWorld(2)
    comms = world.comms()
    steps = [_compile_on(comms[0], lambda: mlp_step(hidden=9)), _compile_on(comms[1], lambda: mlp_step(hidden=5))]
    x, y = data("mlp", 4, RNG)
    results, errors = run_ranks([lambda r=r: steps[r][0](x, y) for r in range(2)])
    for e in errors:
        assert isinstance(e, GraphMismatchError)
        assert "rank(s) 1 differ from rank 0" in str(e) and "graph hash" in str(e) and "first buffers" in str(e)
        assert "[9, 3]" in str(e) and "[5, 3]" in str(e)  # the gradient of W2 on each rank
    assert world.aborted == []  # every rank raised: nobody is left waiting, no abort
    _, again = run_ranks([lambda r=r: steps[r][0](x, y) for r in range(2)])  # later steps are refused too
    assert all(isinstance(e, GraphMismatchError) for e in again) and world.aborted == []


def test_a_different_number_of_collectives_is_named():
    world = FakeWorld(2)
    comms = world.comms()
    steps = [_compile_on(comms[0], mlp_step), _compile_on(comms[1], lambda: mlp_step(reduce_all=False))]
    x, y = data("mlp", 4, RNG)
    _, errors = run_ranks([lambda r=r: steps[r][0](x, y) for r in range(2)])
    for e in errors:
        assert isinstance(e, GraphMismatchError), e
        assert "number of collectives: 2 on rank 1, 4 on rank 0" in str(e)


def test_a_rank_that_fails_mid_step_aborts_every_rank(capfd):
    world = FakeWorld(2, timeout=30)
    steps = [_compile_on(c, mlp_step)[0] for c in world.comms()]
    x, y = data("mlp", 4, RNG)
    bad_x = RNG.normal(size=(4, 6)).astype(np.float32)  # rank 1 gets a batch of the wrong width
    _, errors = run_ranks([lambda: [steps[0](x, y) for _ in range(3)], lambda: [steps[1](x, y), steps[1](bad_x, y)]])
    assert all(isinstance(e, AbortError) for e in errors), errors
    assert (1, 1) in world.aborted
    err = capfd.readouterr().err
    assert "rank 1 of 2: a step of 'graphc.function' failed; aborting all ranks" in err
    assert "input 'input' has shape (4, 6)" in err  # the cause, named


def test_one_process_keeps_collectives_as_identities():
    x = T.matrix("x")
    f = graphc.function([x], [dist.mean(2 * x), dist.sum(x.sum())])
    assert f._guard is None and partition_at_collectives(f.graph) is not None
    a = RNG.normal(size=(3, 2)).astype(np.float32)
    m, s = f(a)
    np.testing.assert_allclose(m, 2 * a, rtol=1e-6)
    np.testing.assert_allclose(s, a.sum(), rtol=1e-5)


def test_timeout_is_checked():
    x = T.matrix("x")
    with pytest.raises(ValueError, match="timeout must be a positive number of seconds, got -1"):
        graphc.function([x], dist.mean(x), collective_timeout=-1)
    assert partitioned.resolve_timeout(2) == 2.0


def test_gradients_are_written_into_the_fused_buffer_and_reduced_there():
    """The Adam step's gradients have static shapes and only the collective reads them: stage 0
    writes them straight into the round's one float32 buffer, which then holds their mean."""
    world = FakeWorld(2)
    ranks = [_compile_on(c, mlp_step) for c in world.comms()]
    part = ranks[0][0]._step.partition
    assert all(r.in_place for r in part.rounds[0])
    (group,) = ranks[0][0]._step._rounds[0].groups
    assert group.static and group.buffer.dtype == np.float32
    x, y = data("mlp", 8, RNG)

    # the oracle: the gradients of one process on the whole batch, before any step
    def whole_batch_grads():
        step, params = mlp_step()
        cost = step.outputs[0]
        inputs = step.inputs
        return graphc.function(inputs, T.grad(cost, params))(x, y)

    want = whole_batch_grads()
    _, errors = run_ranks([lambda r=r: ranks[r][0](x[r * 4 : (r + 1) * 4], y[r * 4 : (r + 1) * 4]) for r in range(2)])
    assert errors == [None, None], errors
    assert len(group.members) == len(want)
    for step, _ in ranks:
        (g,) = step._step._rounds[0].groups
        got = {tuple(v.shape): v for v in g.views}
        for w in want:
            np.testing.assert_allclose(got[w.shape], w, rtol=1e-5, atol=1e-7)


def test_a_collective_inside_a_loop_is_refused_under_mpi():
    x = T.matrix("x")
    ys, _ = graphc.scan(lambda x_t: dist.mean(2 * x_t), sequences=x)
    assert np.allclose(graphc.function([x], ys)(np.ones((3, 2), dtype=np.float32)), 2.0)  # one process: identity
    with pytest.raises(ValueError, match="collectives must be outside loops"):
        _compile_on(FakeWorld(2).comms()[0], lambda: graphc.function([x], ys))


def test_leaves_reduced_as_they_are_parameter_averaging_and_an_input():
    """A function of no inputs that averages a parameter over the ranks (its own update), and
    one that sums an integer input: the values reduced are a shared variable and an argument."""
    world = FakeWorld(2)
    ws = [graphc.shared(np.arange(6, dtype=np.float32).reshape(2, 3) * (r + 1), name="w") for r in range(2)]
    n = T.lscalar("n")
    average = [_compile_on(c, lambda w=w: graphc.function([], w.sum(), updates=[(w, dist.mean(w))])) for c, w in zip(world.comms(), ws)]
    count = [_compile_on(c, lambda: graphc.function([n], dist.sum(n) * 2)) for c in FakeWorld(2).comms()]
    results, errors = run_ranks([lambda r=r: (average[r](), count[r](r + 3)) for r in range(2)])
    assert errors == [None, None], errors
    for r, (before, total) in enumerate(results):
        assert float(before) == 15 * (r + 1)  # the sum before the update: this rank's own values
        assert int(total) == 2 * (3 + 4)
        np.testing.assert_array_equal(ws[r].get_value(), np.arange(6, dtype=np.float32).reshape(2, 3) * 1.5)


def test_a_stage_with_nothing_to_compute_is_skipped():
    """``mean(mean(x))``: round 1 reduces what round 0 produced; the stage between has no work."""
    x = T.matrix("x")
    fns = [_compile_on(c, lambda: graphc.function([x], dist.mean(dist.mean(x)) + 1)) for c in FakeWorld(2).comms()]
    part = fns[0]._step.partition
    assert len(part.rounds) == 2 and fns[0]._step.sessions[1] is None
    a = RNG.normal(size=(2, 3)).astype(np.float32)
    results, errors = run_ranks([lambda: fns[0](a), lambda: fns[1](3 * a)])
    assert errors == [None, None], errors
    for got in results:
        np.testing.assert_allclose(got, 2 * a + 1, rtol=1e-6)
