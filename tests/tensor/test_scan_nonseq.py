"""The step function gets the non-sequences themselves, as in Theano (report groups 8 and 10).

So the step may differentiate with respect to a non-sequence (Theano's tutorial Jacobian and
Hessian), and ``graphc.gradient.jacobian``/``hessian`` loop with ``scan`` when the length is
symbolic.  Values against numpy formulas and central differences (float64), through
``graphc.function``, an exported model in ONNX Runtime, and ``onnx.reference``.
"""

from __future__ import annotations

import numpy as np
import pytest

import graphc as theano
import graphc.tensor as T
from graphc.gradient import hessian, jacobian

from .oracles import run_exported

RNG = np.random.default_rng(8)


def _jac_x2_sum(xv: np.ndarray) -> np.ndarray:
    """d/dx of ``x**2 * sum(x)``: ``diag(2 x s) + x**2`` in every column."""
    return np.diag(2 * xv * xv.sum()) + (xv**2)[:, None]


def _hess_cubed_sum(xv: np.ndarray) -> np.ndarray:
    """Hessian of ``sum(x**2 * sum(x)) = s * sum(x**2)``: ``2 s I + 2 x 1^T + 2 1 x^T``."""
    n = len(xv)
    return 2 * xv.sum() * np.eye(n) + 2 * xv[:, None] + 2 * xv[None, :]


def _fd_jacobian(f, xv: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    cols = [(f(xv + eps * e) - f(xv - eps * e)) / (2 * eps) for e in np.eye(len(xv))]
    return np.stack(cols, axis=-1)


def _check_everywhere(outs: list, inputs: list, feeds: dict, expected: list) -> None:
    got = theano.function(inputs, outs)(*feeds.values())
    got = got if isinstance(got, list) else [got]
    ort_out, ref_out = run_exported({f"o{k}": o for k, o in enumerate(outs)}, inputs, feeds)
    for g, o, r, e in zip(got, ort_out, ref_out, expected):
        np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(o, e, rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(r, e, rtol=1e-10, atol=1e-10)


def test_tutorial_jacobian_and_hessian():
    x = T.dvector("x")
    y = x**2
    J, updates = theano.scan(lambda i, y, x: T.grad(y[i], x), sequences=T.arange(y.shape[0]), non_sequences=[y, x])
    assert not updates
    np.testing.assert_allclose(theano.function([x], J, updates=updates)([4, 4]), [[8, 0], [0, 8]])
    gy = T.grad(T.sum(x**2), x)
    H, updates = theano.scan(lambda i, gy, x: T.grad(gy[i], x), sequences=T.arange(gy.shape[0]), non_sequences=[gy, x])
    np.testing.assert_allclose(theano.function([x], H, updates=updates)([4, 4]), [[2, 0], [0, 2]])


@pytest.mark.parametrize("n", [3, 5])
def test_jacobian_and_hessian_through_scan_non_square(n):
    x = T.dvector("x")
    y = x**2 * x.sum()
    J, _ = theano.scan(lambda i, y, x: T.grad(y[i], x), sequences=T.arange(y.shape[0]), non_sequences=[y, x])
    gy = T.grad(y.sum(), x)
    H, _ = theano.scan(lambda i, gy, x: T.grad(gy[i], x), sequences=T.arange(gy.shape[0]), non_sequences=[gy, x])
    xv = RNG.normal(size=n)
    _check_everywhere([J, H], [x], {"x": xv}, [_jac_x2_sum(xv), _hess_cubed_sum(xv)])


def test_jacobian_through_scan_with_a_matrix_non_sequence():
    # y = tanh(W x) (4 outputs, 3 inputs): d y / d W and d y / d x for every output, in one step
    W, x = T.dmatrix("W"), T.dvector("x")
    y = T.tanh(T.dot(W, x))

    def step(i, y, W, x):
        return T.grad(y[i], [W, x])

    (JW, Jx), _ = theano.scan(step, sequences=T.arange(y.shape[0]), non_sequences=[y, W, x])
    Wv, xv = RNG.normal(size=(4, 3)), RNG.normal(size=3)
    d = 1 - np.tanh(Wv @ xv) ** 2
    jw = np.zeros((4, 4, 3))
    for i in range(4):
        jw[i, i] = d[i] * xv
    _check_everywhere([JW, Jx], [W, x], {"W": Wv, "x": xv}, [jw, d[:, None] * Wv])


def test_step_reads_an_outer_variable_it_does_not_list():
    # the step differentiates with respect to x, which only y lists; W is read from outside
    x, W = T.dvector("x"), T.dmatrix("W")
    y = T.dot(W, x) ** 2

    J, _ = theano.scan(lambda i, y: T.grad(y[i], x) * W[i], sequences=T.arange(y.shape[0]), non_sequences=[y])
    Wv, xv = RNG.normal(size=(4, 3)), RNG.normal(size=3)
    expected = 2 * (Wv @ xv)[:, None] * Wv * Wv
    _check_everywhere([J], [W, x], {"W": Wv, "x": xv}, [expected])


def test_listed_non_sequences_are_still_read_through_placeholders():
    # fn gets the variable itself, but the body reads it as an input of the loop (no copy of its graph)
    x, W = T.dvector("x"), T.dmatrix("W")
    wt = W.T * 2.0
    hs, _ = theano.scan(lambda x_t, h, w: T.tanh(T.dot(w, h) + x_t), sequences=x[:, None] * T.ones((1, 3)),
                        outputs_info=[T.zeros((3,), dtype="float64")], non_sequences=[wt])
    scan_node = hs.owner
    assert scan_node.inputs[scan_node.attrs["n_seqs"] + scan_node.attrs["n_states"]] is wt
    assert "transpose" not in scan_node.attrs["body"].op_histogram()
    Wv, xv = RNG.normal(size=(3, 3)) * 0.5, RNG.normal(size=4)
    h, out = np.zeros(3), []
    for t in range(4):
        h = np.tanh(2 * Wv.T @ h + xv[t])
        out.append(h)
    np.testing.assert_allclose(theano.function([x, W], hs)(xv, Wv), np.array(out), rtol=1e-12)


def test_step_outputs_that_read_no_loop_input():
    # every step gives the same value: hoisting moves all the work out of the loop (group 8's second bug)
    x = T.dvector("x")
    y = x**2
    J, _ = theano.scan(lambda i, y, x: T.grad(y.sum(), x), sequences=T.arange(y.shape[0]), non_sequences=[y, x])
    K, _ = theano.scan(
        lambda i, y, x: T.grad(T.constant(2.0) * x[0], y, disconnected_inputs="ignore"),
        sequences=T.arange(y.shape[0]), non_sequences=[y, x],
    )
    xv = RNG.normal(size=3)
    _check_everywhere([J, K], [x], {"x": xv}, [np.tile(2 * xv, (3, 1)), np.zeros((3, 3))])


@pytest.mark.parametrize("n", [3, 5])
def test_jacobian_and_hessian_with_symbolic_length(n):
    x = T.dvector("x")
    y = x**2 * x.sum()
    J = jacobian(y, x)
    H = hessian((y * T.sin(x)).sum(), x)
    xv = RNG.normal(size=n)
    f_y = theano.function([x], y)
    f_g = theano.function([x], T.grad((y * T.sin(x)).sum(), x))
    got_j, got_h = theano.function([x], [J, H])(xv)
    np.testing.assert_allclose(got_j, _jac_x2_sum(xv), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(got_j, _fd_jacobian(f_y, xv), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(got_h, _fd_jacobian(f_g, xv), rtol=1e-6, atol=1e-6)
    _check_everywhere([J, H], [x], {"x": xv}, [got_j, got_h])


def test_symbolic_jacobian_of_several_targets_matches_the_static_one():
    W, x = T.dmatrix("W"), T.dvector("x")
    Ws, xs = T.dmatrix("Ws", shape=(4, 3)), T.dvector("xs", shape=(3,))
    sym = jacobian(T.tanh(T.dot(W, x)), [W, x])
    static = jacobian(T.tanh(T.dot(Ws, xs)), [Ws, xs])
    assert all(v.owner is not None and v.owner.op == "scan" for v in sym)
    Wv, xv = RNG.normal(size=(4, 3)), RNG.normal(size=3)
    got = theano.function([W, x], sym)(Wv, xv)
    want = theano.function([Ws, xs], static)(Wv, xv)
    assert [g.shape for g in got] == [(4, 4, 3), (4, 3)]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)


def test_a_sample_drawn_outside_from_a_non_sequence_is_drawn_once():
    # r depends on the listed x but was drawn before the step: every step reads the same draw
    x = T.dvector("x")
    r = T.RandomStreams(4).normal(x.shape) * x
    out, _ = theano.scan(lambda i, x_: r + 0.0 * x_, sequences=T.arange(3), non_sequences=[x])
    got = theano.function([x], out)(np.ones(5))
    assert got.shape == (3, 5)
    np.testing.assert_array_equal(got[0], got[1])
    np.testing.assert_array_equal(got[0], got[2])
