"""``loop_op='loop'``: every recurrence over sequences exported as an ONNX ``Loop`` computes what the
``Scan`` export and ``graphc.function`` compute (ONNX Runtime and ``onnx.reference``), and runs
zero-length sequences, which ONNX Runtime's ``Scan`` refuses."""

from __future__ import annotations

import textwrap
from collections import Counter

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import graphc
import graphc.tensor as T
from graphc.cli import main
from graphc.export import graph_to_onnx, to_onnx, training_model
from graphc.ir.build import build_graph
from graphc.layers import ConcatLayer, DenseLayer, GRULayer, InputLayer, LSTMLayer, get_all_params, get_output
from graphc.testing import reference_evaluator

RNG = np.random.default_rng(19)
TOL = {"rtol": 1e-5, "atol": 1e-6}


def _ops(model: onnx.ModelProto) -> Counter:
    """Op types of the model, loop bodies included."""
    found: Counter = Counter()

    def walk(graph: onnx.GraphProto) -> None:
        for node in graph.node:
            found[node.op_type] += 1
            for attr in node.attribute:
                if attr.type == onnx.AttributeProto.GRAPH:
                    walk(attr.g)

    walk(model.graph)
    return found


def _ort(model: onnx.ModelProto, feeds: dict) -> list[np.ndarray]:
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


def _reference(model: onnx.ModelProto, feeds: dict) -> list[np.ndarray]:
    return reference_evaluator(model).run(None, feeds)


def _export_both(outputs, inputs, **kw):
    scan = to_onnx(outputs, inputs, **kw)
    loop = to_onnx(outputs, inputs, loop_op="loop", **kw)
    onnx.checker.check_model(loop, full_check=True)
    assert _ops(scan)["Scan"] >= 1
    assert _ops(loop)["Loop"] == _ops(scan)["Scan"] + _ops(scan)["Loop"] and not _ops(loop)["Scan"]
    return scan, loop


def _check_same(outputs, inputs, feeds_list, **kw):
    """The Loop export equals the Scan export and graphc.function, in ONNX Runtime and onnx.reference."""
    scan, loop = _export_both(outputs, inputs, **kw)
    fn = graphc.function(inputs, list(outputs.values()) if isinstance(outputs, dict) else outputs)
    for feeds in feeds_list:
        args = [feeds[i.name] for i in loop.graph.input[: len(inputs)]]  # the ONNX names of the inputs, in order
        want = fn(*args)
        want = want if isinstance(want, list) else [want]
        got_loop = _ort(loop, feeds)
        for a, b, c, r in zip(got_loop, _ort(scan, feeds), want, _reference(loop, feeds)):
            assert a.shape == b.shape == c.shape == r.shape
            np.testing.assert_allclose(a, b, **TOL)
            np.testing.assert_allclose(a, c, **TOL)
            np.testing.assert_allclose(r, c, **TOL)
    return scan, loop


def _two_sequence_scan(go_backwards: bool):
    """Two sequences, two carried states, a per-step output that is not fed back, shared non-sequences."""
    x = T.tensor3("x")  # (time, batch, 3)
    u = T.tensor3("u")  # (time, batch, 2)
    W = graphc.shared(RNG.normal(size=(3, 4)).astype(np.float32), name="W")
    V = graphc.shared(RNG.normal(size=(2, 4)).astype(np.float32), name="V")
    M = graphc.shared(RNG.normal(size=(4, 5)).astype(np.float32), name="M")
    h0 = T.zeros((x.shape[1], 4))
    a0 = T.ones((x.shape[1], 2))

    def step(x_t, u_t, h, acc):
        h_new = T.tanh(T.dot(x_t, W) + T.dot(u_t, V) + 0.5 * h)
        acc_new = acc * 0.9 + u_t
        return h_new, acc_new, T.dot(h_new, M)

    (hs, accs, ys), _ = graphc.scan(step, sequences=[x, u], outputs_info=[h0, a0, None], go_backwards=go_backwards)
    return [x, u], {"hs": hs, "accs": accs, "ys": ys}, (W, V, M)


def _feeds_xu(t: int, b: int) -> dict:
    return {"x": RNG.normal(size=(t, b, 3)).astype(np.float32), "u": RNG.normal(size=(t, b, 2)).astype(np.float32)}


@pytest.mark.parametrize("go_backwards", [False, True], ids=["forward", "reverse"])
def test_sequences_states_and_step_outputs(go_backwards):
    inputs, outputs, shared = _two_sequence_scan(go_backwards)
    scan, loop = _check_same(outputs, inputs, [_feeds_xu(7, 3), _feeds_xu(1, 2)], optimize="O2")
    assert _ops(loop)["Gather"] >= 2  # each sequence element is a Gather on the iteration number
    if go_backwards:  # the reversed index T - 1 - i is computed in the body from T - 1 computed once outside
        body = next(n for n in loop.graph.node if n.op_type == "Loop").attribute[0].g
        assert [n.op_type for n in body.node].count("Sub") == 1
    # the values themselves, from a numpy loop
    feeds = _feeds_xu(5, 2)
    W, V, M = (v.get_value() for v in shared)
    order = range(4, -1, -1) if go_backwards else range(5)
    h, acc, ys = np.zeros((2, 4), np.float32), np.ones((2, 2), np.float32), []
    for t in order:
        h = np.tanh(feeds["x"][t] @ W + feeds["u"][t] @ V + 0.5 * h)
        acc = acc * 0.9 + feeds["u"][t]
        ys.append(h @ M)
    np.testing.assert_allclose(_ort(loop, feeds)[2], np.stack(ys), rtol=1e-5, atol=1e-5)


def test_taps_on_sequences_and_outputs():
    x = T.matrix("x")  # (time, 3)
    x0 = T.matrix("x0")  # (2, 3): the two steps before the first

    def step(x_prev, x_t, y_2, y_1):
        return 0.5 * y_1 - 0.25 * y_2 + x_t * x_prev

    ys, _ = graphc.scan(step, sequences=[{"input": x, "taps": [-1, 0]}], outputs_info=[{"initial": x0, "taps": [-2, -1]}])
    feeds = {"x": RNG.normal(size=(6, 3)).astype(np.float32), "x0": RNG.normal(size=(2, 3)).astype(np.float32)}
    _, loop = _check_same({"ys": ys}, [x, x0], [feeds], optimize="O1")
    y = [feeds["x0"][0], feeds["x0"][1]]
    for t in range(1, 6):
        y.append(0.5 * y[-1] - 0.25 * y[-2] + feeds["x"][t] * feeds["x"][t - 1])
    np.testing.assert_allclose(_ort(loop, feeds)[0], np.stack(y[2:]), rtol=1e-5, atol=1e-6)


def _bidirectional(cls, masked: bool, **kw):
    graphc.random.set_rng(np.random.RandomState(5))
    l_in = InputLayer((None, None, 3), name="x")
    l_mask = InputLayer((None, None), name="m") if masked else None
    fwd = cls(l_in, 4, mask_input=l_mask, name="fwd", **kw)
    bwd = cls(l_in, 4, mask_input=l_mask, backwards=True, name="bwd", **kw)
    out = ConcatLayer([fwd, bwd], axis=2, name="y")
    inputs = [l_in.input_var] + ([l_mask.input_var] if masked else [])
    return out, inputs


def _masked_feeds(b: int, t: int) -> dict:
    mask = (RNG.random(size=(b, t)) > 0.35).astype(np.float32)
    mask[0, :] = 1.0
    mask[-1, t // 2 :] = 0.0  # right padding; the random zeros elsewhere are holes
    return {"x": RNG.normal(size=(b, t, 3)).astype(np.float32), "m": mask}


@pytest.mark.parametrize("cls", [LSTMLayer, GRULayer])
def test_masked_bidirectional_layers_with_holes(cls):
    out, inputs = _bidirectional(cls, masked=True)
    expr = get_output(out, deterministic=True)
    _check_same({"y": expr}, inputs, [_masked_feeds(3, 6), _masked_feeds(1, 2)])


@pytest.mark.parametrize("cls", [LSTMLayer, GRULayer])
def test_layers_on_the_loop_path(cls):
    out, inputs = _bidirectional(cls, masked=False)
    expr = get_output(out, deterministic=True)
    feeds = [{"x": RNG.normal(size=(2, 5, 3)).astype(np.float32)}]
    _check_same({"y": expr}, inputs, feeds, passes={"native_rnn": False})


def test_native_cells_stay_native():
    graphc.random.set_rng(np.random.RandomState(6))
    layer = GRULayer(InputLayer((None, None, 3), name="x"), 4)
    model = to_onnx({"y": layer}, loop_op="loop")
    assert _ops(model)["GRU"] == 1 and not (_ops(model)["Loop"] or _ops(model)["Scan"])


def test_zero_length_sequences_run_as_zero_iterations():
    out, inputs = _bidirectional(LSTMLayer, masked=True)
    expr = get_output(out, deterministic=True)
    scan, loop = _export_both({"y": expr}, inputs)
    feeds = {"x": np.zeros((3, 0, 3), np.float32), "m": np.zeros((3, 0), np.float32)}
    got = _ort(loop, feeds)[0]
    assert got.shape == (3, 0, 8) and got.dtype == np.float32
    assert _reference(loop, feeds)[0].shape == (3, 0, 8)  # (onnx.reference's empty Loop outputs are float64)
    with pytest.raises(Exception, match="Scan"):  # why loop_op='loop' exists: ONNX Runtime's Scan refuses them
        _ort(scan, feeds)
    # a step output that is not a carried state: its step shape comes from the inputs' sizes
    inputs, outputs, _ = _two_sequence_scan(go_backwards=True)
    loop = to_onnx(outputs, inputs, loop_op="loop")
    feeds = _feeds_xu(0, 4)
    for got in (_ort(loop, feeds), _reference(loop, feeds)):
        assert [g.shape for g in got] == [(0, 4, 4), (0, 4, 2), (0, 4, 5)]
    # the same model still runs real sequences
    feeds = _feeds_xu(3, 4)
    for a, b in zip(_ort(loop, feeds), _ort(to_onnx(outputs, inputs), feeds)):
        np.testing.assert_allclose(a, b, **TOL)


def test_nested_scans_are_loops_inside_loops():
    x = T.tensor3("x")  # (rows, cols, 2)

    def row(r):
        def col(v, acc):
            return acc * 0.5 + v

        sums, _ = graphc.scan(col, sequences=[r], outputs_info=[T.zeros((2,))])
        return sums

    out, _ = graphc.scan(row, sequences=[x])
    feeds = {"x": RNG.normal(size=(3, 4, 2)).astype(np.float32)}
    scan, loop = _check_same({"out": out}, [x], [feeds], optimize="O1")
    assert _ops(loop)["Loop"] == 2
    want = np.zeros_like(feeds["x"])
    for i in range(3):
        acc = np.zeros(2, np.float32)
        for j in range(4):
            acc = acc * 0.5 + feeds["x"][i, j]
            want[i, j] = acc
    np.testing.assert_allclose(_ort(loop, feeds)[0], want, **TOL)


def _training_problem():
    out, inputs = _bidirectional(LSTMLayer, masked=True, peepholes=False)
    dense = DenseLayer(out, 2, num_leading_axes=2, nonlinearity=None, name="out")
    target = T.tensor3("t")
    cost = T.mean((get_output(dense) - target) ** 2)
    params = get_all_params(dense, trainable=True)
    updates = graphc.updates.adam(cost, params, learning_rate=0.01)
    return inputs + [target], cost, updates, params


def test_training_step_with_recurrences():
    inputs, cost, updates, params = _training_problem()
    scan, state = training_model(inputs, cost, updates)
    loop, state_loop = training_model(inputs, cost, updates, loop_op="loop")
    onnx.checker.check_model(loop, full_check=True)
    # forward and backward loops (loop fusion joins each direction pair: tests/passes/test_fuse_loops.py)
    assert _ops(loop)["Loop"] == _ops(scan)["Scan"] >= 2 and not _ops(loop)["Scan"]
    feeds = {**_masked_feeds(3, 5), "t": RNG.normal(size=(3, 5, 2)).astype(np.float32)}
    names = [o.name for o in loop.graph.output]
    got = dict(zip(names, _ort(loop, {**feeds, **state_loop})))
    want = dict(zip([o.name for o in scan.graph.output], _ort(scan, {**feeds, **state})))
    ref = dict(zip(names, _reference(loop, {**feeds, **state_loop})))
    for name in names:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-4, atol=1e-6, err_msg=name)
        np.testing.assert_allclose(ref[name], want[name], rtol=1e-4, atol=1e-6, err_msg=name)
    # graphc.function runs the same step: its cost and updated parameters
    step = graphc.function(inputs, cost, updates=updates)
    cost_fn = step(*(feeds[i.name] for i in loop.graph.input[: len(inputs)]))
    np.testing.assert_allclose(got["cost"], cost_fn, rtol=1e-5)
    for p in params:
        np.testing.assert_allclose(got[f"{p.name}.next"], p.get_value(), rtol=1e-4, atol=1e-6, err_msg=p.name)


@pytest.mark.parametrize("bad", ["Loop", "while", None, 1])
def test_loop_op_is_checked(bad):
    x = T.matrix("x")
    ys, _ = graphc.scan(lambda v, h: h + v, sequences=[x], outputs_info=[T.zeros((3,))])
    with pytest.raises(ValueError, match=r"to_onnx: loop_op must be 'scan' or 'loop', got"):
        to_onnx(ys, [x], loop_op=bad)
    W = graphc.shared(np.ones(3, np.float32), name="W")
    cost = T.sum(ys * W)
    with pytest.raises(ValueError, match=r"training_model: loop_op must be 'scan' or 'loop'"):
        training_model([x], cost, [(W, W - 0.1 * graphc.grad(cost, W))], loop_op=bad)
    with pytest.raises(ValueError, match=r"graph_to_onnx: loop_op must be"):
        graph_to_onnx(build_graph([(ys, "ys")], [x], what="test"), loop_op=bad)


TARGETS = textwrap.dedent(
    """
    import numpy as np
    import graphc
    from graphc.layers import InputLayer, LSTMLayer

    def lstm():
        graphc.random.set_rng(np.random.RandomState(0))
        return LSTMLayer(InputLayer((None, None, 3), name="x"), 5, name="lstm", backwards=True)
    """
)


def test_command_line_flag(tmp_path, capsys):
    (tmp_path / "nets.py").write_text(TARGETS)
    target = str(tmp_path / "nets.py") + ":lstm"
    assert main(["export", target, "-o", str(tmp_path / "loop.onnx"), "--loop-op", "loop", "--check"]) == 0
    assert "check passed" in capsys.readouterr().out
    assert main(["export", target, "-o", str(tmp_path / "scan.onnx")]) == 0  # default: scan
    loop, scan = onnx.load(tmp_path / "loop.onnx"), onnx.load(tmp_path / "scan.onnx")
    assert _ops(loop)["Loop"] == 1 and not _ops(loop)["Scan"] and _ops(scan)["Scan"] == 1
    x = RNG.normal(size=(2, 4, 3)).astype(np.float32)
    np.testing.assert_allclose(_ort(loop, {"x": x})[0], _ort(scan, {"x": x})[0], **TOL)
    assert _ort(loop, {"x": x[:, :0]})[0].shape == (2, 0, 5)
    step = tmp_path / "step.onnx"
    assert main(["export", target, "-o", str(step), "--training", "--loss", "squared_error", "--loop-op", "loop"]) == 0
    assert _ops(onnx.load(step))["Loop"] == 2 and not _ops(onnx.load(step))["Scan"]
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(["export", target, "-o", str(tmp_path / "bad.onnx"), "--loop-op", "while"])
    assert exc.value.code == 2 and "--loop-op" in capsys.readouterr().err


@pytest.mark.parametrize("loop_op", ["scan", "loop"])
def test_a_reversed_sequence_is_read_backwards_without_a_copy(loop_op):
    x = T.matrix("x")  # (time, 3)
    fwd, _ = graphc.scan(lambda v, h: 0.5 * h + v, sequences=[x[::-1]], outputs_info=[T.zeros((3,))])
    bwd, _ = graphc.scan(lambda v, h: 0.5 * h - v, sequences=[x[::-1]], outputs_info=[T.zeros((3,))], go_backwards=True)
    model = to_onnx({"fwd": fwd, "bwd": bwd}, [x], loop_op=loop_op, optimize="O1", passes={"fuse_loops": False})
    assert not _ops(model)["Slice"]  # no reversed copy of x: each loop reads x in the other direction
    if loop_op == "scan":
        dirs = sorted(a.ints[0] for n in model.graph.node if n.op_type == "Scan" for a in n.attribute
                      if a.name == "scan_input_directions")  # fmt: skip
        assert dirs == [0, 1]
    feeds = {"x": RNG.normal(size=(5, 3)).astype(np.float32)}
    rev = feeds["x"][::-1]
    h, want_f = np.zeros(3, np.float32), []
    for t in range(5):
        h = 0.5 * h + rev[t]
        want_f.append(h)
    h, want_b = np.zeros(3, np.float32), []
    for t in range(4, -1, -1):
        h = 0.5 * h - rev[t]
        want_b.append(h)
    for got in (_ort(model, feeds), _reference(model, feeds)):
        np.testing.assert_allclose(got[0], np.stack(want_f), **TOL)
        np.testing.assert_allclose(got[1], np.stack(want_b), **TOL)
    # a reversal something else reads too stays, and the loop still reads x backwards
    model = to_onnx({"fwd": fwd, "rev": x[::-1] * 2.0}, [x], loop_op=loop_op, optimize="O1")
    assert _ops(model)["Slice"] == 1
    got = _ort(model, feeds)
    np.testing.assert_allclose(got[0], np.stack(want_f), **TOL)
    np.testing.assert_allclose(got[1], rev * 2.0, **TOL)
