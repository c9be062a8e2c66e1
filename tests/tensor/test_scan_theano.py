"""Theano's scan features real code leans on (issue 15): step updates, multi-tap outputs, ``until``,
``return_list``, sequences cut to the shortest, ``theano.map/reduce/foldl/foldr``.

Values against plain numpy loops of the step, through ONNX Runtime (``graphc.function``
and an exported model) and ``onnx.reference``; gradients by finite differences.
"""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import graphc as theano
import graphc.tensor as T
from graphc.export import to_onnx
from graphc.scan_module import until
from graphc.testing import reference_evaluator

RNG = np.random.default_rng(15)


def _run_exported(outputs: dict, inputs: list, feeds: dict) -> tuple[list, list]:
    """The exported model's outputs in ONNX Runtime and in onnx.reference."""
    model = to_onnx(outputs, inputs)
    onnx.checker.check_model(model, full_check=True)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, feeds), reference_evaluator(model).run(None, feeds)


def _fd(f_cost, f_grad, arrays, k, eps=1e-6, rtol=1e-5):
    """Check the gradient w.r.t. ``arrays[k]`` along a random direction (float64)."""
    g = f_grad(*arrays)
    v = RNG.normal(size=arrays[k].shape)
    plus = list(arrays)
    plus[k] = arrays[k] + eps * v
    minus = list(arrays)
    minus[k] = arrays[k] - eps * v
    np.testing.assert_allclose(np.sum(g * v), (f_cost(*plus) - f_cost(*minus)) / (2 * eps), rtol=rtol, atol=1e-9)


@pytest.fixture
def float64():
    theano.config.floatX = "float64"
    yield
    theano.config.floatX = "float32"


# ---------------------------------------------------------------- updates from the step


def test_step_updates_come_out_of_scan_and_apply_in_function():
    count = theano.shared(np.int64(0), name="count")
    x = T.vector("x")
    out, updates = theano.scan(lambda x_t: (x_t + T.cast(count, "float32"), {count: count + 1}), sequences=x)
    assert list(updates) == [count]
    f = theano.function([x], out, updates=updates)
    xv = np.arange(5, dtype=np.float32) * 10
    np.testing.assert_allclose(f(xv), xv + np.arange(5))  # each step reads the count as of that step
    assert count.get_value() == 5
    np.testing.assert_allclose(f(xv), xv + np.arange(5, 10))
    assert count.get_value() == 10
    ort_outs, ref_outs = _run_exported({"out": out, "count_new": updates[count]}, [x], {"x": xv})
    for got in (ort_outs, ref_outs):
        np.testing.assert_allclose(got[0], xv + np.arange(10, 15))
        assert int(got[1]) == 15


@pytest.mark.parametrize("form", ["outputs_updates", "updates_outputs", "pairs", "updates_only"])
def test_update_forms_theano_accepts(form):
    acc = theano.shared(np.zeros(3, np.float32), name="acc")
    x = T.matrix("x", shape=(None, 3))

    def step(x_t):
        new = {acc: acc * 0.5 + x_t}
        if form == "outputs_updates":
            return acc.sum(), new
        if form == "updates_outputs":
            return new, acc.sum()
        if form == "pairs":
            return [acc.sum()], list(new.items())
        return new

    out, updates = theano.scan(step, sequences=x)
    xv = RNG.normal(size=(4, 3)).astype(np.float32)
    a, sums = np.zeros(3, np.float32), []
    for row in xv:
        sums.append(a.sum())
        a = a * 0.5 + row
    if form == "updates_only":
        assert out is None
        theano.function([x], [], updates=updates)(xv)
    else:
        np.testing.assert_allclose(theano.function([x], out, updates=updates)(xv), sums, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(acc.get_value(), a, rtol=1e-5, atol=1e-6)


def test_shared_non_sequence_may_be_updated_through_its_argument():
    w = theano.shared(np.float32(1.5), name="w")
    k = T.scalar("k")
    x = T.vector("x")

    def step(x_t, ww, kk):
        return x_t * ww + kk, {ww: ww * 2}

    out, updates = theano.scan(step, sequences=x, non_sequences=[w, k], strict=True)
    assert list(updates) == [w]
    got = theano.function([x, k], out, updates=updates)(np.ones(3, np.float32), 0.5)
    np.testing.assert_allclose(got, [1.5 + 0.5, 3 + 0.5, 6 + 0.5])
    assert w.get_value() == 12


def test_update_errors():
    x = T.vector("x")
    w = theano.shared(np.zeros(2), name="w")
    with pytest.raises(TypeError, match="updates shared variable 'w' .* cast the new value to float32"):
        theano.scan(lambda x_t: (x_t, {w: T.cast(w, "int32")}), sequences=x)
    with pytest.raises(TypeError, match="must map shared variables"):
        theano.scan(lambda x_t: (x_t, {x: x_t}), sequences=x)


def test_gradient_through_a_step_update(float64):
    s = theano.shared(RNG.normal(size=3), name="s")
    x = T.matrix("x")

    def step(x_t):
        h = T.tanh(x_t * s)
        return h.sum(), {s: s + h}

    out, updates = theano.scan(step, sequences=x)
    cost = (updates[s] ** 2).sum() + out.sum()
    g = theano.grad(cost, x)
    f_cost, f_grad = theano.function([x], cost), theano.function([x], g)
    xv = RNG.normal(size=(4, 3))
    sv, want = s.get_value(), 0.0
    for row in xv:
        h = np.tanh(row * sv)
        want += h.sum()
        sv = sv + h
    np.testing.assert_allclose(f_cost(xv), want + (sv**2).sum(), rtol=1e-10)
    _fd(f_cost, f_grad, [xv], 0)


# ---------------------------------------------------------------- outputs with several taps


def _mit_oracle(x, init, taps, coef):
    """out[t] = x[t] + sum(coef_i * out[t + tap_i]), with init holding the -min(taps) leading steps."""
    depth = -min(taps)
    hist = list(init[:depth])
    for x_t in x:
        hist.append(x_t + sum(c * hist[len(hist) + t] for c, t in zip(coef, taps)))
    return np.array(hist[depth:])


@pytest.mark.parametrize("taps", [[-2, -1], [-1, -2], [-3, -1], [-2]])
def test_outputs_info_with_several_taps(taps):
    x = T.matrix("x", shape=(None, 2))
    init = T.matrix("init", shape=(None, 2))
    coef = [0.5, -0.3, 0.2][: len(taps)]

    def step(x_t, *prev):
        return x_t + sum(c * p for c, p in zip(coef, prev))

    out, _ = theano.scan(step, sequences=x, outputs_info=dict(initial=init, taps=taps))
    xv = RNG.normal(size=(6, 2)).astype(np.float32)
    iv = RNG.normal(size=(-min(taps) + 1, 2)).astype(np.float32)  # extra leading rows are not read
    want = _mit_oracle(xv, iv, taps, coef)
    np.testing.assert_allclose(theano.function([x, init], out)(xv, iv), want, rtol=1e-5, atol=1e-6)
    for got in _run_exported({"out": out}, [x, init], {"x": xv, "init": iv}):
        np.testing.assert_allclose(got[0], want, rtol=1e-5, atol=1e-6)


def test_fibonacci_with_n_steps_beside_a_plain_state():
    f0 = T.vector("f0", shape=(2,))
    (fib, count), _ = theano.scan(
        lambda a, b, c: [a + b, c + 1], outputs_info=[dict(initial=f0, taps=[-2, -1]), T.constant(np.int64(0))], n_steps=8
    )
    fv, cv = theano.function([f0], [fib, count])(np.array([0, 1], np.float32))
    np.testing.assert_array_equal(fv, [1, 2, 3, 5, 8, 13, 21, 34])
    np.testing.assert_array_equal(cv, np.arange(1, 9))


def test_several_taps_gradient(float64):
    x = T.matrix("x")
    init = T.matrix("init")
    out, _ = theano.scan(lambda x_t, a, b: T.tanh(x_t + 0.7 * a - 0.4 * b), sequences=x, outputs_info=dict(initial=init, taps=[-2, -1]))
    cost = (out**2).sum()
    f_cost = theano.function([x, init], cost)
    f_gx, f_gi = theano.function([x, init], theano.grad(cost, x)), theano.function([x, init], theano.grad(cost, init))
    arrays = [RNG.normal(size=(5, 3)), RNG.normal(size=(2, 3))]
    _fd(f_cost, f_gx, arrays, 0)
    _fd(f_cost, f_gi, arrays, 1)


def test_several_taps_errors():
    x = T.vector("x")
    with pytest.raises(ValueError, match="future taps"):
        theano.scan(lambda x_t, a: a, sequences=x, outputs_info=dict(initial=x, taps=[1]))
    with pytest.raises(ValueError, match="need to provide a initial state"):
        theano.scan(lambda x_t, a: a, sequences=x, outputs_info=dict(taps=[-1]))
    short = T.vector("short", shape=(1,))
    with pytest.raises(ValueError, match="needs 2 leading steps on axis 0; it has 1"):
        theano.scan(lambda x_t, a, b: a + b + x_t, sequences=x, outputs_info=dict(initial=short, taps=[-2, -1]))


# ---------------------------------------------------------------- until


def test_until_with_n_steps_as_a_maximum():
    n = T.lscalar("n")
    limit = T.scalar("limit")
    (powers, steps), _ = theano.scan(
        lambda p, k: ([p * 2, k + 1], until(p * 2 > limit)), outputs_info=[T.constant(np.float32(1)), T.constant(np.int64(0))], n_steps=n
    )
    f = theano.function([n, limit], [powers, steps])
    p, k = f(100, 40.0)
    np.testing.assert_array_equal(p, [2, 4, 8, 16, 32, 64])  # the step that meets the condition is kept
    np.testing.assert_array_equal(k, np.arange(1, 7))
    np.testing.assert_array_equal(f(3, 40.0)[0], [2, 4, 8])  # n_steps still bounds it
    for got in _run_exported({"p": powers}, [n, limit], {"n": np.array(100, np.int64), "limit": np.array(40, np.float32)}):
        np.testing.assert_array_equal(got[0], [2, 4, 8, 16, 32, 64])


@pytest.mark.parametrize("backwards", [False, True])
def test_until_over_a_sequence_with_an_update(backwards):
    count = theano.shared(np.int64(0), name="count")
    x = T.vector("x")

    def step(x_t, total):
        new = total + x_t
        return [new, x_t * 2], {count: count + 1}, until(new > 5)

    (totals, doubled), updates = theano.scan(step, sequences=x, outputs_info=[T.constant(np.float32(0)), None], go_backwards=backwards)
    xv = np.array([1, 2, 1, 3, 4, 1], np.float32)
    s = xv[::-1] if backwards else xv
    want = np.cumsum(s)
    stop = int(np.argmax(want > 5)) + 1
    f = theano.function([x], [totals, doubled], updates=updates)
    a, b = f(xv)
    np.testing.assert_allclose(a, want[:stop])
    np.testing.assert_allclose(b, s[:stop] * 2)
    assert count.get_value() == stop
    never = np.full(4, -1, np.float32)  # no step meets the condition: every step runs
    np.testing.assert_allclose(f(never)[0], np.cumsum(never))
    for got in _run_exported({"totals": totals, "doubled": doubled}, [x], {"x": xv}):
        np.testing.assert_allclose(got[0], want[:stop])
        np.testing.assert_allclose(got[1], s[:stop] * 2)


def test_until_has_no_gradient_as_in_theano():
    x = T.vector("x")
    out, _ = theano.scan(lambda x_t, h: (h + x_t, until(h > 3)), sequences=x, outputs_info=T.constant(np.float32(0)))
    with pytest.raises(NotImplementedError, match="no gradient through a scan whose step returns until"):
        theano.grad(out.sum(), x)


def test_until_errors():
    x = T.vector("x")
    with pytest.raises(TypeError, match="the condition must be a scalar"):
        until(x)
    with pytest.raises(ValueError, match="two until conditions"):
        theano.scan(lambda x_t: (x_t, until(x_t > 0), until(x_t < 0)), sequences=x)


# ---------------------------------------------------------------- return_list, lengths, views


def test_return_list():
    x = T.vector("x")
    out, _ = theano.scan(lambda x_t: x_t * 2, sequences=x, return_list=True)
    assert isinstance(out, list) and len(out) == 1
    np.testing.assert_allclose(theano.function([x], out[0])(np.arange(3, dtype=np.float32)), [0, 2, 4])
    single, _ = theano.scan(lambda x_t: x_t * 2, sequences=x)
    assert not isinstance(single, list)


@pytest.mark.parametrize("case", ["symbolic", "static", "mixed"])
def test_sequences_are_cut_to_the_shortest(case):
    if case == "static":
        a, b = T.vector("a", shape=(5,)), T.vector("b", shape=(3,))
    else:
        a, b = T.vector("a"), T.vector("b")
    seqs = [a, T.arange(100, dtype="float32") if case == "mixed" else b]
    out, _ = theano.scan(lambda u, v: u * 10 + v, sequences=seqs)
    inputs = [a] if case == "mixed" else [a, b]
    av, bv = np.arange(5, dtype=np.float32), np.arange(3, dtype=np.float32) + 0.5
    feeds = [av] if case == "mixed" else [av, bv]
    want = av * 10 + np.arange(5) if case == "mixed" else av[:3] * 10 + bv
    np.testing.assert_allclose(theano.function(inputs, out)(*feeds), want)
    if case == "static":
        assert out.type.shape == (3,)
    names = ["a"] if case == "mixed" else ["a", "b"]
    for got in _run_exported({"out": out}, inputs, dict(zip(names, feeds))):
        np.testing.assert_allclose(got[0], want)
    if case == "symbolic":
        np.testing.assert_allclose(theano.function(inputs, out)(bv, av), bv * 10 + av[:3])  # either may be shorter


def test_cut_sequences_gradient(float64):
    a, b = T.vector("a"), T.vector("b")
    out, _ = theano.scan(lambda u, v, h: h * v + u, sequences=[a, b], outputs_info=T.constant(0.0))
    cost = (out**2).sum()
    f_cost = theano.function([a, b], cost)
    arrays = [RNG.normal(size=6), RNG.normal(size=4)]
    ga = theano.function([a, b], theano.grad(cost, a))(*arrays)
    assert np.all(ga[4:] == 0)  # elements past the shortest sequence take no part
    _fd(f_cost, theano.function([a, b], theano.grad(cost, a)), arrays, 0)
    _fd(f_cost, theano.function([a, b], theano.grad(cost, b)), arrays, 1)


@pytest.mark.parametrize("backwards", [False, True])
def test_n_steps_cuts_sequences_as_theano(backwards):
    """Theano reverses a sequence before cutting it to n_steps: backwards, the last n elements run."""
    x = T.vector("x")
    n = T.lscalar("n")
    out, _ = theano.scan(lambda x_t: x_t * 1, sequences=x, n_steps=n, go_backwards=backwards)
    xv = np.arange(6, dtype=np.float32)
    want = xv[::-1][:4] if backwards else xv[:4]
    np.testing.assert_array_equal(theano.function([x, n], out)(xv, 4), want)
    for got in _run_exported({"out": out}, [x, n], {"x": xv, "n": np.array(4, np.int64)}):
        np.testing.assert_array_equal(got[0], want)
    fixed, _ = theano.scan(lambda x_t: x_t * 1, sequences=x, n_steps=2, go_backwards=backwards)
    np.testing.assert_array_equal(theano.function([x], fixed)(xv), want[:2])


def test_map_reduce_foldl_foldr():
    x = T.matrix("x", shape=(None, 3))
    w = T.vector("w", shape=(3,))
    squares, _ = theano.map(lambda r, ww: (r * ww) ** 2, x, non_sequences=w)
    total, _ = theano.reduce(lambda r, acc: acc + r, x, T.zeros((3,)))
    left, _ = theano.foldl(lambda r, acc: acc * 0.5 + r, x, T.zeros((3,)))
    right, _ = theano.foldr(lambda r, acc: acc * 0.5 + r, x, T.zeros((3,)))
    (s_last, p_last), _ = theano.reduce(lambda r, s, p: [s + r, p * r], x, [T.zeros((3,)), T.ones((3,))])
    xv = RNG.normal(size=(5, 3)).astype(np.float32)
    wv = RNG.normal(size=3).astype(np.float32)
    got = theano.function([x, w], [squares, total, left, right, s_last, p_last])(xv, wv)

    def fold(rows):
        acc = np.zeros(3)
        for r in rows:
            acc = acc * 0.5 + r
        return acc

    want = [(xv * wv) ** 2, xv.sum(0), fold(xv), fold(xv[::-1]), xv.sum(0), xv.prod(0)]
    for g, e in zip(got, want):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6)
    assert theano.scan_module.map is theano.map and theano.scan_module.until is until
    for g, e in zip(_run_exported({"left": left, "right": right}, [x], {"x": xv})[1], want[2:4]):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6)
