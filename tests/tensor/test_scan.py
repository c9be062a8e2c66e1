"""graphc.scan (Theano's scan) against step-by-step numpy, through ONNX Runtime and onnx.reference."""

from __future__ import annotations

import numpy as np
import onnx
import pytest

import graphc
import graphc.tensor as T
from graphc.export import to_onnx
from graphc.testing import reference_evaluator

RNG = np.random.default_rng(5)


def _rnn(x, w, u, h0, reverse=False):
    h = h0
    hs = []
    for t in (range(len(x) - 1, -1, -1) if reverse else range(len(x))):
        h = np.tanh(x[t] @ w + h @ u)
        hs.append(h)
    return np.stack(hs)


@pytest.fixture
def weights():
    w = graphc.shared(RNG.normal(size=(4, 3)) * 0.5, name="W")
    u = graphc.shared(RNG.normal(size=(3, 3)) * 0.5, name="U")
    return w, u


@pytest.mark.parametrize("backwards", [False, True])
def test_rnn_with_captured_weights_any_batch_and_length(weights, backwards):
    w, u = weights
    x = T.tensor3("x")  # (time, batch, features)

    def step(x_t, h_prev):
        h = T.tanh(T.dot(x_t, w) + T.dot(h_prev, u))
        return h, h.sum(axis=1)

    (hs, sums), updates = graphc.scan(step, sequences=x, outputs_info=[T.zeros((x.shape[1], 3)), None], go_backwards=backwards)
    assert updates == {}
    assert hs.type.shape[0] == x.type.shape[0]
    f = graphc.function([x], [hs, sums])
    for shape in [(5, 2, 4), (1, 3, 4), (8, 1, 4)]:
        xv = RNG.normal(size=shape).astype(np.float32)
        want = _rnn(xv, w.get_value(), u.get_value(), np.zeros((shape[1], 3), np.float32), backwards)
        a, b = f(xv)
        np.testing.assert_allclose(a, want, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(b, want.sum(2), rtol=1e-5, atol=1e-5)
    model = to_onnx({"hs": hs}, [x])
    onnx.checker.check_model(model, full_check=True)
    assert [n.op_type for n in model.graph.node].count("Scan") == 1  # a scan over sequences is an ONNX Scan
    loop = next(n for n in model.graph.node if n.op_type == "Scan")
    body = next(a.g for a in loop.attribute if a.name == "body")
    body_ops = [n.op_type for n in body.node]
    assert not set(body_ops) & {"Shape", "Size", "ConstantOfShape", "Gather"}  # no shape arithmetic, no indexing
    assert body_ops.count("Identity") == 1  # h is both carried and stacked: one copy, nothing else
    xv = RNG.normal(size=(6, 2, 4)).astype(np.float32)
    (ref,) = reference_evaluator(model).run(None, {"x": xv})
    np.testing.assert_allclose(ref, _rnn(xv, w.get_value(), u.get_value(), np.zeros((2, 3), np.float32), backwards), rtol=1e-5, atol=1e-6)


def test_two_sequences_explicit_non_sequences_and_a_single_output():
    a, b = T.matrix("a"), T.matrix("b")
    k = T.scalar("k")
    out, _ = graphc.scan(lambda x, y, acc, kk: acc + x * y * kk, sequences=[a, b], outputs_info=[T.zeros_like(a[0])], non_sequences=[k])
    f = graphc.function([a, b, k], out)
    av, bv = RNG.normal(size=(4, 3)).astype(np.float32), RNG.normal(size=(4, 3)).astype(np.float32)
    np.testing.assert_allclose(f(av, bv, 2.0), np.cumsum(av * bv * 2, axis=0), rtol=1e-5, atol=1e-6)


def test_n_steps_without_sequences_and_symbolic_step_count():
    x0 = T.scalar("x0")
    n = T.lscalar("n")
    powers, _ = graphc.scan(lambda p: p * 2, outputs_info=[x0], n_steps=n)
    f = graphc.function([x0, n], powers)
    np.testing.assert_allclose(f(1.5, 4), [3, 6, 12, 24])
    np.testing.assert_allclose(f(1.0, 1), [2])
    fixed, _ = graphc.scan(lambda p: p + 1, outputs_info=[x0], n_steps=3)
    assert fixed.type.shape == (3,)


def test_step_returning_unchanged_and_outside_values():
    x = T.vector("x")
    c = T.scalar("c")
    # per-step outputs that are a sequence element itself and an outside value
    (same, outside), _ = graphc.scan(lambda x_t: [x_t, c * 1], sequences=x, outputs_info=[None, None])
    f = graphc.function([x, c], [same, outside])
    s, o = f(np.arange(3, dtype=np.float32), 7.0)
    np.testing.assert_array_equal(s, [0, 1, 2])
    np.testing.assert_array_equal(o, [7, 7, 7])


def test_errors():
    x = T.matrix("x")
    with pytest.raises(TypeError, match=r"carried state 0 starts as float32\(x_\w*dim1,\) but the step returns float64"):
        graphc.scan(lambda x_t, h: T.cast(h + x_t, "float64"), sequences=x, outputs_info=[x[0]])
    with pytest.raises(TypeError, match="the step returned 1 values but outputs_info has 2 entries"):
        graphc.scan(lambda x_t, h: h + x_t, sequences=x, outputs_info=[x[0], None])
    with pytest.raises(ValueError, match="give sequences or n_steps"):
        graphc.scan(lambda h: h * 2, outputs_info=[T.scalar("s")])
    with pytest.raises(TypeError, match="is a scalar; sequences are iterated over axis 0"):
        graphc.scan(lambda s: s, sequences=[T.scalar("s")])
    outside = T.vector("o")
    with pytest.raises(ValueError, match="strict scan reads outside values"):
        graphc.scan(lambda x_t: x_t + outside, sequences=x, strict=True)
    w = graphc.shared(np.ones(3), name="w")
    graphc.scan(lambda x_t: x_t * w, sequences=x, strict=True)  # shared variables are fine under strict


def test_random_ops_built_in_the_step_draw_per_step():
    srng = T.RandomStreams(7)
    x = T.vector("x")
    noise, _ = graphc.scan(lambda x_t: x_t + srng.uniform((3,)), sequences=x)
    outside = srng.uniform((3,))
    same, _ = graphc.scan(lambda x_t: x_t + outside, sequences=x)  # built outside: one sample for all steps
    a, b = graphc.function([x], [noise, same])(np.zeros(4, np.float32))
    assert a.shape == (4, 3) and len({tuple(r) for r in a.round(6)}) == 4
    assert len({tuple(r) for r in b.round(6)}) == 1


@pytest.mark.parametrize("backwards", [False, True])
@pytest.mark.parametrize("taps", [[0, 1], [-1, 0], [-2, 0, 1], [1], [-1], [1, 2], [-2, -1]])
def test_sequence_taps_as_theano_slices_them(taps, backwards):
    """Step t reads seq[t + tap] for t in [-min(taps, 0), len - max(taps, 0)); go_backwards runs those steps
    in reverse, as Theano does (it cuts each tap's slice from the sequence, then reverses the slices)."""
    seq = T.matrix("seq", shape=(None, 3))
    h0 = T.vector("h0", shape=(3,))

    def step(*args):
        return sum(a * (i + 1) for i, a in enumerate(args[:-1])) + args[-1] * 0.5

    out, _ = graphc.scan(step, sequences={"input": seq, "taps": taps}, outputs_info=h0, go_backwards=backwards)
    x = np.random.RandomState(1).rand(7, 3).astype(np.float32)
    got = graphc.function([seq, h0], out)(x, np.zeros(3, np.float32))
    low, high = min(*taps, 0), max(*taps, 0)
    steps = range(-low, len(x) - high)
    h, want = np.zeros(3), []
    for t in reversed(steps) if backwards else steps:
        h = sum(x[t + k] * (i + 1) for i, k in enumerate(taps)) + h * 0.5
        want.append(h)
    np.testing.assert_allclose(got, np.array(want), rtol=1e-5)


def test_sequence_taps_gradient():
    seq = T.matrix("seq", shape=(None, 3))
    out, _ = graphc.scan(lambda a, b, h: h + a * b, sequences={"input": seq, "taps": [-1, 1]}, outputs_info=T.zeros((3,)))
    g = graphc.function([seq], graphc.grad(out[-1].sum(), seq))
    x = np.random.RandomState(2).rand(5, 3).astype(np.float32)
    want = np.zeros_like(x)
    want[:-2] += x[2:]
    want[2:] += x[:-2]
    np.testing.assert_allclose(g(x), want, rtol=1e-5)
