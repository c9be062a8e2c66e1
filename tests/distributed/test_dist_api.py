"""graphc.distributed in one process: rank/size/barrier, the communicator, the collective ops
(types, numpy eval, gradients, passes, ONNX export), broadcast, shard and shared_seed.

Multi-rank behaviour runs under mpiexec in test_dist_mpi.py; here fake communicators stand in
for other ranks where a test needs one.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx.reference import ReferenceEvaluator

import graphc
import graphc.tensor as T
from graphc import distributed as dist
from graphc.distributed import communicator
from graphc.export import to_onnx
from graphc.ir.build import build_graph
from graphc.ir.evaluate import evaluate
from graphc.ir.ops.collective import COLLECTIVE_OPS
from graphc.ir.registry import get_op
from graphc.ir.types import Dim
from graphc.passes import constant_folding, cse
from tests.tensor.oracles import check_grad

from .mpi_helpers import REPO_ROOT

RNG = np.random.default_rng(18)
LAUNCHER_VARS = ("PMI_RANK", "PMI_SIZE", "PMI_FD", "PMIX_RANK", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE",
                 "SLURM_STEP_NUM_TASKS", "GRAPHC_MPI")  # fmt: skip


@pytest.fixture(autouse=True)
def plain_process(monkeypatch: pytest.MonkeyPatch) -> Any:
    """No launcher variables, the default communicator, and whatever a test set undone afterwards."""
    for var in LAUNCHER_VARS:
        monkeypatch.delenv(var, raising=False)
    previous = dist.set_comm(None)
    yield
    dist.set_comm(previous)


class FakeComm:
    """Rank ``rank`` of ``size``; the other ranks' contributions are given up front.

    ``others_meta`` is what ``allgather`` returns for the other ranks (by rank), and
    ``root_bytes`` is what a ``Bcast`` from another rank delivers.
    """

    def __init__(self, rank: int, size: int, others_meta: dict[int, Any] | None = None, root_bytes: bytes = b"",
                 root_object: Any = None) -> None:  # fmt: skip
        self.rank, self.size = rank, size
        self.others_meta = others_meta or {}
        self.root_bytes, self.root_object = root_bytes, root_object
        self.calls: list[str] = []

    def Get_rank(self) -> int:  # noqa: N802  (mpi4py's name)
        return self.rank

    def Get_size(self) -> int:  # noqa: N802  (mpi4py's name)
        return self.size

    def Barrier(self) -> None:  # noqa: N802  (mpi4py's name)
        self.calls.append("Barrier")

    def allgather(self, obj: Any) -> list[Any]:
        self.calls.append("allgather")
        return [obj if r == self.rank else self.others_meta[r] for r in range(self.size)]

    def Bcast(self, buf: np.ndarray, root: int = 0) -> None:  # noqa: N802  (mpi4py's name)
        self.calls.append(f"Bcast(root={root}, {buf.nbytes} bytes)")
        if root != self.rank:
            buf[...] = np.frombuffer(self.root_bytes, dtype=np.uint8)

    def bcast(self, obj: Any, root: int = 0) -> Any:
        self.calls.append(f"bcast(root={root})")
        return obj if root == self.rank else self.root_object

    def Allreduce(self, *args: Any, **kwargs: Any) -> None:  # noqa: N802  (mpi4py's name)
        raise AssertionError("no test here reduces")

    def Abort(self, code: int = 1) -> None:  # noqa: N802  (mpi4py's name)
        raise AssertionError(f"no test here aborts (code {code})")


# -- rank, size, barrier and the communicator ---------------------------------------------------
def test_plain_process_is_rank_0_of_1() -> None:
    assert dist.size() == 1 and dist.rank() == 0
    assert dist.barrier() is None
    assert dist.launcher_size() is None
    if "mpi4py.MPI" not in sys.modules:  # a program that imported mpi4py.MPI gets COMM_WORLD (of size 1 here)
        assert dist.comm() is None


def test_import_graphc_does_not_import_mpi4py() -> None:
    """Neither importing graphc nor asking for the rank in a plain process initializes MPI."""
    code = (
        "import sys, graphc, graphc.tensor as T\n"
        "from graphc import distributed as dist\n"
        "x = T.matrix('x'); dist.mean(x)\n"
        "print(dist.rank(), dist.size(), dist.comm(), any(m.startswith('mpi4py') for m in sys.modules))\n"
    )
    env = {k: v for k, v in __import__("os").environ.items() if k not in LAUNCHER_VARS}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, env=env,
                         timeout=120, check=True)  # fmt: skip
    assert out.stdout.split() == ["0", "1", "None", "False"]
    assert out.stderr == ""


def test_graphc_mpi_1_uses_comm_world_in_a_singleton() -> None:
    pytest.importorskip("mpi4py")
    code = "from graphc import distributed as dist; from mpi4py import MPI; print(dist.comm() is MPI.COMM_WORLD, dist.size(), dist.rank())"
    env = {k: v for k, v in __import__("os").environ.items() if k not in LAUNCHER_VARS}
    env["GRAPHC_MPI"] = "1"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, env=env,
                         timeout=120, check=True)  # fmt: skip
    assert out.stdout.split() == ["True", "1", "0"]


def test_graphc_mpi_0_and_bad_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PMI_SIZE", "4")
    monkeypatch.setenv("GRAPHC_MPI", "0")
    assert dist.comm() is None and dist.size() == 1
    monkeypatch.setenv("GRAPHC_MPI", "yes")
    with pytest.raises(ValueError, match=r"GRAPHC_MPI must be 0 .* got 'yes'"):
        dist.size()


def test_launcher_without_mpi4py_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Started as one of several ranks without mpi4py, a rank must not train alone in silence."""
    monkeypatch.setitem(sys.modules, "mpi4py", None)  # makes `import mpi4py` fail
    monkeypatch.setitem(sys.modules, "mpi4py.MPI", None)
    monkeypatch.setenv("PMI_RANK", "1")
    monkeypatch.setenv("PMI_SIZE", "3")
    assert dist.launcher_size() == 3
    with pytest.raises(RuntimeError, match=r"one of 3 processes, but mpi4py cannot be imported"):
        dist.rank()
    monkeypatch.setenv("PMI_SIZE", "1")  # a launcher of one process: fine without MPI
    assert dist.size() == 1
    monkeypatch.delenv("PMI_SIZE")
    monkeypatch.delenv("PMI_RANK")
    monkeypatch.setenv("SLURM_STEP_NUM_TASKS", "1")  # a batch step: not a launch
    assert dist.launcher_size() is None
    monkeypatch.setenv("SLURM_STEP_NUM_TASKS", "2")
    assert dist.launcher_size() == 2
    monkeypatch.setenv("GRAPHC_MPI", "1")
    with pytest.raises(ImportError, match="GRAPHC_MPI=1 asks for MPI"):
        dist.comm()


def test_set_comm_and_use_comm() -> None:
    fake = FakeComm(2, 5)
    assert dist.set_comm(fake) is None
    assert dist.comm() is fake and (dist.rank(), dist.size()) == (2, 5)
    dist.barrier()
    assert fake.calls == ["Barrier"]
    other = FakeComm(0, 3)
    with dist.use_comm(other) as c:
        assert c is other and dist.size() == 3
    assert dist.comm() is fake
    assert dist.set_comm(None) is fake
    assert dist.size() == 1
    # an explicit comm= wins over the one in use
    assert dist.rank(comm=FakeComm(4, 7)) == 4 and dist.size(FakeComm(4, 7)) == 7


def test_set_comm_refuses_a_non_communicator() -> None:
    with pytest.raises(TypeError, match=r"set_comm: expected an MPI communicator .* got object, which lacks Get_rank"):
        dist.set_comm(object())
    with pytest.raises(TypeError, match=r"rank: expected an MPI communicator .* lacks .*Allreduce"):
        dist.rank(comm=type("Half", (), {"Get_rank": lambda self: 0})())
    assert dist.comm() is None or "mpi4py.MPI" in sys.modules


def test_mpi4py_comm_self() -> None:
    """A real mpi4py communicator of one rank: everything works and changes nothing."""
    MPI = pytest.importorskip("mpi4py.MPI")
    w = graphc.shared(np.arange(6, dtype=np.float32).reshape(2, 3), name="w")
    with dist.use_comm(MPI.COMM_SELF):
        assert (dist.rank(), dist.size()) == (0, 1)
        dist.barrier()
        assert dist.broadcast([w]) == [w]
        assert dist.shared_seed(123) == 123
    np.testing.assert_array_equal(w.get_value(), np.arange(6, dtype=np.float32).reshape(2, 3))


# -- the collective ops -------------------------------------------------------------------------
def test_mean_and_sum_in_and_out() -> None:
    x = T.tensor("float32", shape=(None, 3), name="x")
    n = T.tensor("int64", shape=(4, None), name="n")
    y = dist.mean(x)
    assert y.owner.op == "allreduce_mean" and tuple(y.owner.inputs) == (x,)
    assert y.type == x.type and isinstance(y.type.shape[0], Dim)
    ys = dist.sum((x, n))
    assert isinstance(ys, list) and [v.owner.op for v in ys] == ["allreduce_sum"] * 2
    assert [v.type for v in ys] == [x.type, n.type]
    assert dist.mean([]) == []
    c = dist.mean(np.ones((2, 5), np.float32))
    assert c.type.shape == (2, 5) and c.owner.op == "allreduce_mean"


def test_mean_refuses_integers_and_none_naming_the_expression() -> None:
    x = T.matrix("x")
    with pytest.raises(TypeError, match=r"dist.mean: expression 1 \('k' int32.* cannot be all-reduced: .*expected one of float"):
        dist.mean([x, T.ivector("k")])
    with pytest.raises(TypeError, match=r"dist.sum: expression 0 is None"):
        dist.sum([None, x])
    with pytest.raises(TypeError, match=r"dist.mean: the expression is str"):
        dist.mean("x")


def test_registry_entries() -> None:
    assert COLLECTIVE_OPS == {"allreduce_mean": "mean", "allreduce_sum": "sum"}
    for name, kind in COLLECTIVE_OPS.items():
        op = get_op(name)
        assert op.pure and op.arity == 1 and op.doc and op.extra["collective"] == kind
        a = RNG.normal(size=(2, 5)).astype(np.float32)
        (out,) = op.eval([a])
        np.testing.assert_array_equal(out, a)
        assert out is not a


def test_numpy_eval_and_runtime_are_the_identity_in_one_process() -> None:
    x = T.tensor("float32", shape=(None, 4), name="x")
    w = graphc.shared(RNG.normal(size=(4, 3)).astype(np.float32), name="w")
    h = T.dot(x, w)
    y = dist.mean(T.tanh(h)) * 2 + dist.sum(h)
    xv = RNG.normal(size=(5, 4)).astype(np.float32)
    expected = np.tanh(xv @ w.get_value()) * 2 + xv @ w.get_value()
    np.testing.assert_allclose(graphc.function([x], y)(xv), expected, rtol=1e-5, atol=1e-6)
    graph = build_graph([(y, "y")], [x])
    (got,) = evaluate(graph, {x: xv})
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("reduce", [dist.mean, dist.sum], ids=["mean", "sum"])
def test_gradient_through_an_allreduce_matches_finite_differences(reduce: Any) -> None:
    def cost(x: Any, w: Any) -> Any:
        h = reduce(T.tanh(T.dot(x, w)))
        return T.sum(h**2 * T.arange(h.shape[1]).astype("float64")) + T.sum(reduce([w * x[0][:, None]])[0])

    check_grad(cost, RNG.normal(size=(3, 4)), RNG.normal(size=(4, 5)))


def test_gradient_of_an_allreduce_is_the_same_allreduce() -> None:
    x = T.matrix("x")
    for reduce, op in ((dist.mean, "allreduce_mean"), (dist.sum, "allreduce_sum")):
        (g,) = graphc.grad(T.sum(reduce(x) * 3), [x])
        assert g.owner.op == op  # (the forward all-reduce stays in g's graph only for its shape)


def test_passes_never_fold_but_may_merge_collectives() -> None:
    c = T.constant(np.arange(6, dtype=np.float32).reshape(2, 3))
    x = T.matrix("x")
    y = dist.mean(c) + dist.mean(x) + dist.mean(x)  # a constant may differ from rank to rank: not folded
    graph = build_graph([(y, "y")], [x])
    assert constant_folding(graph) == 0
    assert cse(graph) == 1  # the two mean(x) are one all-reduce
    ops = sorted(graph.data(n).op for n in graph.op_nodes())
    assert ops.count("allreduce_mean") == 2, ops


def _run_both(model: onnx.ModelProto, feed: dict[str, np.ndarray]) -> tuple[list[Any], list[Any]]:
    onnx.checker.check_model(model, full_check=True)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, feed), ReferenceEvaluator(model).run(None, feed)


def test_onnx_export_lowers_collectives_to_identity() -> None:
    x = T.tensor("float32", shape=(None, 4), name="x")
    w = graphc.shared(RNG.normal(size=(4, 3)).astype(np.float32), name="w")
    h = T.dot(x, w)
    y = T.nnet.softmax(dist.mean(h))
    (g,) = dist.sum(graphc.grad(T.sum(y * T.arange(3).astype("float32")), [w]))
    model = to_onnx({"y": y, "g_w": g}, [x], optimize="O0")
    assert [n.op_type for n in model.graph.node].count("Identity") >= 2
    xv = RNG.normal(size=(5, 4)).astype(np.float32)
    hv = xv @ w.get_value()
    e = np.exp(hv - hv.max(1, keepdims=True))
    sm = e / e.sum(1, keepdims=True)
    k = np.arange(3, dtype=np.float32)
    dh = sm * (k - (sm * k).sum(1, keepdims=True))  # softmax's Jacobian applied to the weights k
    for got in _run_both(model, {"x": xv}):
        np.testing.assert_allclose(got[0], sm, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(got[1], xv.T @ dh, rtol=1e-4, atol=1e-5)
    # optimized, the collectives survive as Identity too (nothing folds them away)
    model = to_onnx({"y": y, "g_w": g}, [x])
    for got in _run_both(model, {"x": xv}):
        np.testing.assert_allclose(got[0], sm, rtol=1e-5, atol=1e-6)


# -- broadcast --------------------------------------------------------------------------------------
def test_broadcast_in_one_process_changes_nothing() -> None:
    w = graphc.shared(np.ones((2, 3), np.float32), name="w")
    b = graphc.shared(np.zeros(3, np.float32), name="b")
    assert dist.broadcast([w, b]) == [w, b]
    assert dist.broadcast(w) == [w]
    np.testing.assert_array_equal(w.get_value(), np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"root must be a rank from 0 to 0, got 1"):
        dist.broadcast([w], root=1)
    with pytest.raises(TypeError, match=r"broadcast: item 1 is ndarray, expected a shared variable"):
        dist.broadcast([w, np.zeros(3)])


def test_broadcast_takes_roots_values_on_another_rank() -> None:
    """Rank 1 of 2 receives root's bytes and sets each variable, across dtypes, in order."""
    mine = [np.zeros((2, 3), np.float32), np.zeros(4, np.int64), np.zeros((), np.float32), np.zeros((3, 1), np.float16)]
    roots = [RNG.normal(size=(2, 3)).astype(np.float32), np.arange(4) * 7, np.array(2.5, np.float32),
             RNG.normal(size=(3, 1)).astype(np.float16)]  # fmt: skip
    vs = [graphc.shared(a, name=f"v{i}") for i, a in enumerate(mine)]
    assert [v.get_value().dtype for v in vs] == [a.dtype for a in roots]
    meta = [(f"v{i}", a.shape, a.dtype.str) for i, a in enumerate(roots)]
    fake = FakeComm(1, 2, others_meta={0: meta}, root_bytes=b"".join(a.tobytes() for a in roots))
    dist.broadcast(vs, root=0, comm=fake)
    for v, a in zip(vs, roots):
        np.testing.assert_array_equal(v.get_value(), a)
        assert v.get_value().dtype == a.dtype
    assert fake.calls == ["allgather", f"Bcast(root=0, {sum(a.nbytes for a in roots)} bytes)"]


def test_broadcast_root_keeps_its_values() -> None:
    w = graphc.shared(np.full((2, 3), 4.0, np.float32), name="w")
    fake = FakeComm(0, 2, others_meta={1: [("w", (2, 3), "<f4")]}, root_bytes=b"\0" * 24)
    dist.broadcast([w], comm=fake)
    np.testing.assert_array_equal(w.get_value(), np.full((2, 3), 4.0))


@pytest.mark.parametrize(
    ("other", "message"),
    [
        ([("w", (3, 2), "<f4"), ("b", (3,), "<f4")], r"shared variable 0 \('w'\) is <f4\[2, 3\] on rank 1 .* but <f4\[3, 2\] on root rank 0"),
        ([("w", (2, 3), "<f4"), ("b", (3,), "<f8")], r"shared variable 1 \('b'\) is <f4\[3\] on rank 1"),
        ([("w", (2, 3), "<f4")], r"rank 1 passed 2 shared variables, root rank 0 passed 1"),
    ],
    ids=["shape", "dtype", "count"],
)
def test_broadcast_mismatch_names_the_variable(other: Any, message: str) -> None:
    w = graphc.shared(np.ones((2, 3), np.float32), name="w")
    b = graphc.shared(np.ones(3, np.float32), name="b")
    fake = FakeComm(1, 2, others_meta={0: other})
    with pytest.raises(ValueError, match=message):
        dist.broadcast([w, b], comm=fake)
    assert not any(c.startswith("Bcast") for c in fake.calls)  # raised before any rank waits on a broadcast


# -- shard and shared_seed ----------------------------------------------------------------------
@pytest.mark.parametrize("n", [7, 8, 10, 3])
@pytest.mark.parametrize("size", [1, 2, 3])
def test_shard_bounds_follow_array_split(n: int, size: int) -> None:
    rows = np.arange(n)
    expected = np.array_split(rows, size)
    got = [rows[slice(*dist.shard_bounds(n, r, size))] for r in range(size)]
    for g, e in zip(got, expected):
        np.testing.assert_array_equal(g, e)
    np.testing.assert_array_equal(np.concatenate(got), rows)  # every row exactly once, in order


def test_shard_batches() -> None:
    x = RNG.normal(size=(7, 3))
    y = np.arange(7)
    parts = [dist.shard([x, y], r, 3) for r in range(3)]
    assert [len(p[0]) for p in parts] == [3, 2, 2] and all(isinstance(p, list) for p in parts)
    np.testing.assert_array_equal(np.concatenate([p[0] for p in parts]), x)
    np.testing.assert_array_equal(parts[1][1], [3, 4])
    t = dist.shard((x, y), 2, 3)
    assert isinstance(t, tuple)
    np.testing.assert_array_equal(t[0], x[5:])
    d = dist.shard({"x": x, "y": y}, 0, 2)
    np.testing.assert_array_equal(d["y"], [0, 1, 2, 3])
    seq = RNG.normal(size=(4, 6, 2))  # time-major: the batch is axis 1
    np.testing.assert_array_equal(dist.shard(seq, 1, 4, axis=1), seq[:, 2:4])
    assert dist.shard(list(range(5)), 1, 2) == [3, 4]  # a plain sequence of rows
    np.testing.assert_array_equal(dist.shard(x), x)  # one process: all rows


def test_shard_defaults_come_from_the_communicator() -> None:
    x = np.arange(10 * 2).reshape(10, 2)
    with dist.use_comm(FakeComm(2, 3)):
        np.testing.assert_array_equal(dist.shard(x), x[7:])
        assert dist.shard_bounds(10) == (7, 10)


def test_shard_errors() -> None:
    with pytest.raises(ValueError, match=r"same number of rows on axis 0; got batch\[0\]: 5, batch\[1\]: 4"):
        dist.shard([np.zeros((5, 2)), np.zeros(4)], 0, 2)
    with pytest.raises(ValueError, match=r"a batch of 2 rows cannot give each of 3 ranks a row"):
        dist.shard(np.zeros((2, 5)), 0, 3)
    with pytest.raises(ValueError, match=r"rank must be from 0 to 1 \(size 2\), got 2"):
        dist.shard(np.zeros(4), 2, 2)
    with pytest.raises(ValueError, match=r"has shape \(4,\), which has no axis 1"):
        dist.shard(np.zeros(4), 0, 2, axis=1)
    with pytest.raises(TypeError, match=r"rank must be an integer, got float"):
        dist.shard_bounds(4, 0.5, 2)
    assert dist.shard_bounds(2, 3, 4) == (2, 2)  # bounds allow an empty shard; shard() refuses it


def test_shared_seed_in_one_process() -> None:
    assert dist.shared_seed(7) == 7
    drawn = [dist.shared_seed() for _ in range(3)]
    assert all(isinstance(s, int) and 0 <= s < 2**31 for s in drawn)
    assert len(set(drawn)) > 1
    np.random.RandomState(drawn[0])  # a valid legacy seed
    with pytest.raises(ValueError, match=r"seed must be a non-negative integer or None, got -1"):
        dist.shared_seed(-1)


def test_shared_seed_takes_roots_seed() -> None:
    fake = FakeComm(1, 2, root_object=4242)
    assert dist.shared_seed(5, comm=fake) == 4242
    assert fake.calls == ["bcast(root=0)"]
    assert dist.shared_seed(5, comm=FakeComm(0, 2)) == 5


def test_comm_module_lists_the_methods_it_calls() -> None:
    assert set(communicator.COMM_METHODS) <= set(dir(FakeComm))


def test_mpi_tests_skip_only_where_mpi_is_not_required(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without mpi4py the MPI tests skip, unless GRAPHC_REQUIRE_MPI is set (as in CI): then they fail."""
    from . import mpi_helpers

    monkeypatch.setattr(mpi_helpers.importlib.util, "find_spec", lambda name: None)
    monkeypatch.delenv("GRAPHC_REQUIRE_MPI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="mpi4py is not installed"):
        mpi_helpers.require_mpi()
    monkeypatch.setenv("GRAPHC_REQUIRE_MPI", "1")
    with pytest.raises(pytest.fail.Exception, match="GRAPHC_REQUIRE_MPI is set but mpi4py is not installed"):
        mpi_helpers.require_mpi()
