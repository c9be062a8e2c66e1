"""Each pass keeps values (numpy evaluation before vs after on random inputs), makes the expected
change in node counts, and leaves a verified graph; the pipeline on and off agrees end to end."""

from __future__ import annotations

import numpy as np
import pytest

import graphc
import graphc.tensor as T
from graphc.ir.build import build_graph
from graphc.ir.evaluate import evaluate
from graphc.ir.verify import verify
from graphc.passes import PassManager, canonicalize, constant_folding, cse, dce, optimize

RNG = np.random.default_rng(3)


def _graph(outputs, inputs):
    return build_graph([(o, f"out{i}") for i, o in enumerate(outputs)], inputs)


def _check(graph_fn, pass_fn, feeds, expect_change=True):
    g = graph_fn()
    before = evaluate(g, feeds)
    n_before = len(g)
    hist_before = g.op_histogram()
    changed = pass_fn(g)
    verify(g)
    after = evaluate(g, feeds)
    for a, b in zip(before, after):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)  # float32 sums may change order
    assert (changed > 0) == expect_change
    return g, n_before, hist_before


def test_cse_merges_identical_computations_but_not_random_ones():
    x = T.matrix("x")
    w = graphc.shared(RNG.normal(size=(4, 3)), name="w")
    a = T.tanh(T.dot(x, w)) + 1.0
    b = T.tanh(T.dot(x, w)) + 1.0  # built twice: same ops, same inputs
    feeds = {"x": RNG.normal(size=(5, 4)).astype(np.float32)}
    g, n0, h0 = _check(lambda: _graph([a * b], [x]), cse, feeds)
    assert h0["tanh"] == 2 and g.op_histogram()["tanh"] == 1
    assert g.op_histogram()["matmul"] == 1 and len(g) < n0
    srng = T.RandomStreams(1)
    r1 = srng.uniform((3,))
    r2 = srng.uniform((3,))
    g2 = _graph([r1 + r2], [])
    cse(g2)
    assert g2.op_histogram()["random_uniform"] == 2


def test_constant_folding_and_dce():
    x = T.vector("x")
    c = T.constant(np.arange(6.0, dtype=np.float32)).reshape((2, 3)).sum(axis=0) * 2.0
    y = x * c + T.exp(T.constant(np.float32(0.5)))
    feeds = {"x": RNG.normal(size=3).astype(np.float32)}
    g, n0, h0 = _check(lambda: _graph([y], [x]), constant_folding, feeds)
    assert "reduce_sum" in h0 and "reduce_sum" not in g.op_histogram() and "exp" not in g.op_histogram()
    assert g.op_histogram() == {"add": 1, "mul": 1}
    # dce removes what a rewrite left dead
    g2 = _graph([y], [x])
    (add,) = [n for n in g2.op_nodes() if g2.data(n).op == "add"]
    mul = g2.node_inputs(add)[0]
    g2.outputs = [(mul, "out0")]
    n = len(g2)
    assert dce(g2) == 3 and len(g2) == n - 3  # the add, the exp and exp's constant
    assert "add" not in g2.op_histogram() and "exp" not in g2.op_histogram()


def test_constant_folding_leaves_large_results_and_random_ops():
    big = T.ones((512, 512)) * 2.0
    g = _graph([big], [])
    assert constant_folding(g) == 0  # a 1 MiB constant would bloat the model


def test_canonicalize_rules():
    x = T.tensor("float32", shape=(2, 3, 4), name="x")
    y = T.cast(x, "float32")
    y = y.transpose(1, 0, 2).transpose(1, 0, 2)  # composes to the identity
    y = T.reshape(y, (2, 3, 4)) * 1.0 + 0.0
    y = T.squeeze(T.expand_dims(y, 1), 1)
    n = T.shape(x)[1] * 2  # x is fully static: shape folds
    feeds = {"x": RNG.normal(size=(2, 3, 4)).astype(np.float32)}
    g, n0, h0 = _check(lambda: _graph([y, n], [x]), lambda g: canonicalize(g) + constant_folding(g), feeds)
    assert g.op_histogram() == {}
    assert len(g) < n0


def test_pass_manager_levels_switches_and_scan_bodies():
    x = T.tensor3("x")
    w = graphc.shared(RNG.normal(size=(4, 3)) * 0.5, name="w")

    def step(x_t, h):
        a = T.tanh(T.dot(x_t, w) + h)
        b = T.tanh(T.dot(x_t, w) + h)  # duplicated inside the loop body
        return a * 0.5 + b * 0.5

    hs, _ = graphc.scan(step, sequences=x, outputs_info=[T.zeros((x.shape[1], 3))])
    feeds = {"x": RNG.normal(size=(5, 2, 4)).astype(np.float32)}
    g = _graph([hs], [x])
    body_before = g.data(next(n for n in g.op_nodes() if g.data(n).op == "scan")).attrs["body"]
    tanh_before = body_before.op_histogram()["tanh"]
    ref = evaluate(g, feeds)
    report = PassManager("O1", verify=True).run(g)
    assert report.changes["cse"] >= 2 and report.nodes_after <= report.nodes_before
    body = g.data(next(n for n in g.op_nodes() if g.data(n).op == "scan")).attrs["body"]
    assert body.op_histogram()["tanh"] == 1
    assert body_before.op_histogram()["tanh"] == tanh_before  # the user's expression is untouched
    np.testing.assert_allclose(evaluate(g, feeds)[0], ref[0], rtol=1e-6)
    g0 = _graph([hs], [x])
    assert optimize(g0, "O0").changes == {}
    g1 = _graph([hs], [x])
    r1 = optimize(g1, "O1", passes={"cse": False})
    assert "cse" not in r1.changes
    with pytest.raises(ValueError, match="unknown passes"):
        PassManager("O1", passes={"fuse_everything": True})
    with pytest.raises(ValueError, match="optimization level must be one of"):
        PassManager("O7")


@pytest.mark.parametrize("level", ["O0", "O1", "O2"])
def test_functions_agree_at_every_level(level):
    from graphc.layers import DenseLayer, InputLayer, LSTMLayer, get_output

    graphc.random.set_rng(np.random.RandomState(4))
    l_in = InputLayer((None, None, 3))
    l_mask = InputLayer((None, None))
    lstm = LSTMLayer(l_in, 5, mask_input=l_mask, backwards=True)
    out = DenseLayer(lstm, 2, num_leading_axes=2)
    expr = get_output(out)
    f = graphc.function([l_in.input_var, l_mask.input_var], expr, optimize=level)
    g = graphc.function([l_in.input_var, l_mask.input_var], expr, optimize="O0")
    x = RNG.normal(size=(3, 6, 3)).astype(np.float32)
    m = (RNG.random((3, 6)) > 0.3).astype(np.float32)
    np.testing.assert_allclose(f(x, m), g(x, m), rtol=1e-5, atol=1e-6)


def test_hoist_moves_input_projection_and_invariants_out_of_the_loop():
    from graphc.passes import hoist

    x = T.tensor3("x")
    w = graphc.shared(RNG.normal(size=(4, 3)) * 0.5, name="w")
    u = graphc.shared(RNG.normal(size=(3, 3)) * 0.5, name="u")
    srng = T.RandomStreams(2)

    def step(x_t, h, w_):
        w2 = w_ * 2.0  # loop-invariant (w_ is a non-sequence)
        proj = T.tanh(T.dot(x_t, w2)) * 0.5  # per-step: batches over time
        noise = srng.uniform((3,)) * 0.0  # random: stays in the loop (one draw per step)
        return T.tanh(proj + T.dot(h, u) + noise)

    hs, _ = graphc.scan(step, sequences=x, outputs_info=[T.zeros((x.shape[1], 3))], non_sequences=[w], go_backwards=True)
    g = _graph([hs], [x])
    scan = next(n for n in g.op_nodes() if g.data(n).op == "scan")
    body_before = dict(g.data(scan).attrs["body"].op_histogram())
    feeds = {"x": RNG.normal(size=(5, 2, 4)).astype(np.float32)}
    before = evaluate(g, feeds)[0]
    from graphc.passes.base import own_bodies

    own_bodies(g)
    moved = hoist(g)
    verify(g)
    assert moved >= 4  # w * 2, the matmul, its tanh and the scaling
    scan = next(n for n in g.op_nodes() if g.data(n).op == "scan")
    body = g.data(scan).attrs["body"]
    assert body_before["matmul"] == 2 and body.op_histogram()["matmul"] == 1  # only h @ u remains
    assert body.op_histogram()["tanh"] == 1 and body.op_histogram()["random_uniform"] == 1
    assert g.op_histogram()["matmul"] == 1  # one projection for all steps, outside
    np.testing.assert_allclose(evaluate(g, feeds)[0], before, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cls_name", ["LSTMLayer", "GRULayer", "RecurrentLayer"])
def test_precompute_off_is_hoisted_and_matches(cls_name):
    import graphc.layers as L
    from graphc.export import to_onnx

    cls = getattr(L, cls_name)
    l_in = L.InputLayer((None, None, 3), name="x")
    kw = {"nonlinearity": T.tanh} if cls_name == "RecurrentLayer" else {}
    on = cls(l_in, 4, **kw)
    off = cls(l_in, 4, precompute_input=False, **kw)
    L.set_all_param_values(off, L.get_all_param_values(on))
    f = graphc.function([l_in.input_var], L.get_output([on, off]))
    x = RNG.normal(size=(3, 6, 3)).astype(np.float32)
    a, b = f(x)
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    ops = {n.op_type for n in to_onnx({"y": off}, target="cpu").graph.node}
    if cls_name != "RecurrentLayer":
        assert not {"Loop", "Scan"} & ops  # hoisted, then lowered to the native cell


@pytest.mark.parametrize("backwards", [False, True])
def test_unroll_static_short_loops(backwards):
    from graphc.passes import unroll

    x = T.tensor("float32", shape=(5, None, 4), name="x")  # 5 static steps
    w = graphc.shared(RNG.normal(size=(4, 3)) * 0.5, name="w")
    u = graphc.shared(RNG.normal(size=(3, 3)) * 0.5, name="u")
    (hs, tot), _ = graphc.scan(
        lambda x_t, h: [T.tanh(T.dot(x_t, w) + T.dot(h, u)), T.sum(x_t)],
        sequences=x, outputs_info=[T.zeros((x.shape[1], 3)), None], go_backwards=backwards,
    )
    g = _graph([hs, tot], [x])
    feeds = {"x": RNG.normal(size=(5, 2, 4)).astype(np.float32)}
    before = evaluate(g, feeds)
    assert unroll(g) == 1
    verify(g)
    assert "scan" not in g.op_histogram() and g.op_histogram()["tanh"] == 5
    for a, b in zip(before, evaluate(g, feeds)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    long = T.tensor("float32", shape=(40, None, 4), name="long")
    hs2, _ = graphc.scan(lambda x_t, h: T.tanh(T.dot(x_t, w) + h), sequences=long, outputs_info=[T.zeros((long.shape[1], 3))])
    assert unroll(_graph([hs2], [long])) == 0  # past AUTO_MAX_STEPS the Loop stays
    dyn = T.tensor3("dyn")
    hs3, _ = graphc.scan(lambda x_t, h: T.tanh(T.dot(x_t, w) + h), sequences=dyn, outputs_info=[T.zeros((dyn.shape[1], 3))])
    assert unroll(_graph([hs3], [dyn])) == 0  # unknown step count


def test_unroll_cost_model_keeps_differentiated_loops():
    """The measured model: an 8-step LSTM loop unrolls in an inference graph but stays a Scan when
    the graph also differentiates through it (the Scan's gradient is one GEMM over all steps);
    unroll_limits(None) lifts both budgets.  Values agree whichever form runs."""
    from graphc.layers import DenseLayer, InputLayer, LSTMLayer, get_all_params, get_output
    from graphc.passes.unroll import INFERENCE_MAX_NODES, TRAINING_MAX_NODES, unroll_limits

    assert TRAINING_MAX_NODES < 8 * 16 <= INFERENCE_MAX_NODES
    graphc.random.set_rng(np.random.RandomState(2))
    l_in = InputLayer((None, 8, 3))
    out = DenseLayer(LSTMLayer(l_in, 4, peepholes=False, only_return_final=True), 1, nonlinearity=None)
    pred = get_output(out)
    cost = T.sum(pred**2)
    grads = graphc.grad(cost, get_all_params(out))
    off = {"native_rnn": False}

    def scans(fn):
        return sum(n.op_type == "Scan" for n in fn.onnx_model.graph.node)

    infer = graphc.function([l_in.input_var], pred, passes=off)
    train = graphc.function([l_in.input_var], [cost, *grads], passes=off)
    with unroll_limits(None):
        train_unrolled = graphc.function([l_in.input_var], [cost, *grads], passes=off)
    with unroll_limits(0):
        infer_loop = graphc.function([l_in.input_var], pred, passes=off)
    assert scans(infer) == 0 and scans(infer_loop) == 1
    assert scans(train) == 2 and scans(train_unrolled) == 0
    x = RNG.normal(size=(3, 8, 3)).astype(np.float32)
    np.testing.assert_allclose(infer(x), infer_loop(x), rtol=1e-5, atol=1e-6)
    for a, b in zip(train(x), train_unrolled(x)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_fuse_dense_merges_projections_of_one_input_inside_loops_too():
    from graphc.passes import fuse_dense
    from graphc.passes.base import own_bodies
    from graphc.passes.fuse_dense import MIN_TOP_LEVEL_INNER

    k = MIN_TOP_LEVEL_INNER
    x = T.matrix("x")
    ws = [graphc.shared(RNG.normal(size=(k, n)), name=f"w{n}") for n in (3, 5, 2)]
    y = T.tanh(T.dot(x, ws[0])).sum() + T.dot(x, ws[1]).sum() * T.dot(x, ws[2]).mean()
    feeds = {"x": RNG.normal(size=(6, k)).astype(np.float32)}
    g, n0, h0 = _check(lambda: _graph([y], [x]), fuse_dense, feeds)
    assert h0["matmul"] == 3 and g.op_histogram()["matmul"] == 1
    # outside loops a thin product is not worth slicing apart again: x @ W1, x @ W2 with 2 input rows stay
    thin = [graphc.shared(RNG.normal(size=(2, n)), name=f"t{n}") for n in (3, 5)]
    x2 = T.matrix("x2")
    y2 = T.dot(x2, thin[0]).sum() + T.dot(x2, thin[1]).sum()
    _check(lambda: _graph([y2], [x2]), fuse_dense, {"x2": RNG.normal(size=(6, 2)).astype(np.float32)}, expect_change=False)
    # theanets-style gates: h @ W_r, h @ W_z inside a loop body
    seq = T.tensor3("seq")
    wr = graphc.shared(RNG.normal(size=(3, 3)) * 0.3, name="wr")
    wz = graphc.shared(RNG.normal(size=(3, 3)) * 0.3, name="wz")
    hs, _ = graphc.scan(
        lambda s_t, h: T.tanh(s_t + T.nnet.sigmoid(T.dot(h, wr)) * T.dot(h, wz)),
        sequences=seq, outputs_info=[T.zeros((seq.shape[1], 3))],
    )
    g2 = _graph([hs], [seq])
    own_bodies(g2)
    feeds2 = {"seq": RNG.normal(size=(4, 2, 3)).astype(np.float32)}
    before = evaluate(g2, feeds2)[0]
    assert fuse_dense(g2) == 1
    verify(g2)
    body = g2.data(next(n for n in g2.op_nodes() if g2.data(n).op == "scan")).attrs["body"]
    assert body.op_histogram()["matmul"] == 1
    np.testing.assert_allclose(evaluate(g2, feeds2)[0], before, rtol=1e-5, atol=1e-6)


def _recurrent_builders():
    import graphc.layers as L

    def custom(l_in, mask):
        i2h = L.DenseLayer(L.InputLayer((None, 3)), 4, nonlinearity=None)
        h2h = L.DenseLayer(L.InputLayer((None, 4)), 4, nonlinearity=None, b=None)
        return L.CustomRecurrentLayer(l_in, i2h, h2h, nonlinearity=T.tanh, mask_input=mask, backwards=True)

    return {
        "lstm": lambda l_in, mask: L.LSTMLayer(l_in, 4),
        "lstm_masked_final": lambda l_in, mask: L.LSTMLayer(l_in, 4, mask_input=mask, only_return_final=True),
        "lstm_nopeep_noprecompute": lambda l_in, mask: L.LSTMLayer(l_in, 4, peepholes=False, precompute_input=False, backwards=True),
        "gru_masked": lambda l_in, mask: L.GRULayer(l_in, 4, mask_input=mask, backwards=True),
        "gru": lambda l_in, mask: L.GRULayer(l_in, 4, grad_clipping=2.0),
        "rnn": lambda l_in, mask: L.RecurrentLayer(l_in, 4, nonlinearity=T.tanh, mask_input=mask),
        "rnn_noprecompute": lambda l_in, mask: L.RecurrentLayer(l_in, 4, precompute_input=False),
        "custom": custom,
    }


@pytest.mark.parametrize("name", sorted(_recurrent_builders()))
def test_pipeline_on_and_off_agree_for_recurrent_layers(name):
    import graphc.layers as L

    graphc.random.set_rng(np.random.RandomState(9))
    l_in = L.InputLayer((None, None, 3))
    l_mask = L.InputLayer((None, None))
    layer = _recurrent_builders()[name](l_in, l_mask)
    uses_mask = l_mask in L.get_all_layers(layer)
    ins = [l_in.input_var] + ([l_mask.input_var] if uses_mask else [])
    expr = L.get_output(layer)
    x = RNG.normal(size=(3, 6, 3)).astype(np.float32)
    m = (RNG.random((3, 6)) > 0.3).astype(np.float32)
    args = [x, m] if uses_mask else [x]
    outs = [graphc.function(ins, expr, optimize=level)(*args) for level in ("O0", "O1", "O2")]
    for o in outs[1:]:
        np.testing.assert_allclose(o, outs[0], rtol=1e-5, atol=1e-6)


def test_canonicalize_drops_double_reversals_and_reversals_under_reductions():
    x = T.tensor3("x")
    twice = x[::-1][::-1] * 2.0
    summed = T.sum(x[:, ::-1], axis=(0, 1))  # the reversed axis is summed: its order does not matter
    kept = T.sum(x[:, ::-1], axis=0)  # not summed over the reversed axis: the reversal stays
    feeds = {"x": RNG.normal(size=(4, 3, 2)).astype(np.float32)}
    g, _, before = _check(lambda: _graph([twice, summed, kept], [x]), canonicalize, feeds)
    assert before["getitem"] == 4 and g.op_histogram()["getitem"] == 1


def test_canonicalize_moves_a_reversal_after_the_transpose_that_reads_it():
    x = T.tensor3("x")
    moved = T.transpose(x[:, ::-1], (1, 0, 2)) * 2.0  # -> transpose(x)[::-1]: the time axis comes first
    shared = x[:, :, ::-1]
    both = T.transpose(shared, (2, 0, 1)) + T.sum(shared)  # the reversal has another reader: left in place
    feeds = {"x": RNG.normal(size=(4, 3, 2)).astype(np.float32)}
    g, _, _ = _check(lambda: _graph([moved, both], [x]), canonicalize, feeds)
    flips = [g.data(n).attrs["index"] for n in g.nodes() if g.data(n).op == "getitem"]
    assert (("slice", None, None, -1), ("slice", None, None, 1), ("slice", None, None, 1)) in flips
    assert (("slice", None, None, 1), ("slice", None, None, 1), ("slice", None, None, -1)) in flips
    for n in g.nodes():
        if g.data(n).op == "getitem" and g.data(n).attrs["index"][0] == ("slice", None, None, -1):
            assert g.data(g.node_inputs(n)[0][0]).op == "transpose"
