"""Theano's module tree on graphc: ifelse, printing, gradient, gof, compile, old paths, constructors."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest

import graphc
import graphc.tensor as T
from graphc import gradient as G
from graphc.compat import target_of
from graphc.compat.flags import TheanoConfigWarning, apply_theano_flags, parse_theano_flags
from graphc.compat.old_paths import downsample, nnet_bn, nnet_conv
from graphc.gof import graph
from graphc.ifelse import IfElse, ifelse
from graphc.printing import Print, debugprint, pprint

RNG = np.random.RandomState(7)


def test_typed_and_plural_constructors() -> None:
    x = T.itensor3("x")
    assert (x.dtype, x.ndim, x.name) == ("int32", 3, "x")
    assert T.dtensor4().dtype == "float64" and T.btensor3().dtype == "int8" and T.wvector().dtype == "int16"
    a, b = T.matrices("a", "b")
    assert (a.name, b.name, a.ndim, a.dtype) == ("a", "b", 2, graphc.config.floatX)
    assert [v.name for v in T.dscalars("xyz")] == ["x", "y", "z"]
    assert [v.name for v in T.ivectors("p, q")] == ["p", "q"]
    assert len(T.fvectors(3)) == 3 and T.fvectors(3)[0].dtype == "float32"
    assert T.tensor3s("t").ndim == 3  # one name: one variable
    assert T.row("r").broadcastable == (True, False) and T.col("c").broadcastable == (False, True)
    y = T.TensorType("float64", (False, True))("y")
    assert (y.ndim, y.dtype, y.broadcastable, y.name) == (2, "float64", (False, True), "y")
    assert isinstance(y.type, T.TensorType) and T.TensorType("int32", (False,)).ndim == 1


def test_ifelse_values_and_gradient() -> None:
    a, b = T.dscalars("a", "b")
    f = graphc.function([a, b], ifelse(T.lt(a, b), a * 2, b - 1))
    assert float(f(1.0, 2.0)) == 2.0 and float(f(3.0, 2.0)) == 1.0
    c, x = T.iscalar("c"), T.dvector("x")
    xv = RNG.randn(4)
    outs = graphc.function([c, x], ifelse(c, [x * 2, x.sum()], [x + 1, x.max()]))
    np.testing.assert_allclose(outs(1, xv)[0], xv * 2)
    np.testing.assert_allclose(outs(0, xv)[1], xv.max())
    g = graphc.function([c, x], T.grad(ifelse(c, (x**2).sum(), x.sum()), x))
    np.testing.assert_allclose(g(1, xv), 2 * xv)
    np.testing.assert_allclose(g(0, xv), np.ones(4))
    assert float(graphc.function([c, x], IfElse(1)(c, x.sum(), x.min()))(0, xv)) == pytest.approx(xv.min())
    with pytest.raises(TypeError, match="scalar"):
        ifelse(x, a, b)


def _mlp_jacobian(Wv: np.ndarray, xv: np.ndarray) -> np.ndarray:
    return (1 - np.tanh(Wv @ xv) ** 2)[:, None] * Wv


def test_jacobian_hessian_rop_lop_against_numpy() -> None:
    x, W = T.dvector("x", shape=(3,)), T.dmatrix("W", shape=(4, 3))
    y = T.tanh(T.dot(W, x))
    Wv, xv, v, u = RNG.randn(4, 3), RNG.randn(3), RNG.randn(3), RNG.randn(4)
    J = _mlp_jacobian(Wv, xv)
    np.testing.assert_allclose(graphc.function([W, x], G.jacobian(y, x))(Wv, xv), J, atol=1e-10)
    np.testing.assert_allclose(graphc.function([x], G.hessian((x**3).sum(), x))(xv), np.diag(6 * xv), atol=1e-10)
    rv = T.dvector("v", shape=(3,))
    np.testing.assert_allclose(graphc.function([W, x, rv], G.Rop(y, x, rv))(Wv, xv, v), J @ v, atol=1e-10)
    lu = T.dvector("u", shape=(4,))
    np.testing.assert_allclose(graphc.function([W, x, lu], G.Lop(y, x, lu))(Wv, xv, u), u @ J, atol=1e-10)
    # a symbolic length loops with scan, as Theano (tests/tensor/test_scan_nonseq.py checks values)
    z = T.dvector("z")
    np.testing.assert_allclose(graphc.function([z], G.jacobian(z**2, z))(xv), np.diag(2 * xv), atol=1e-12)


def test_gradient_blockers() -> None:
    x = T.dvector("x")
    xv = RNG.randn(5)
    for block in (G.zero_grad, G.disconnected_grad, G.consider_constant):
        fg = graphc.function([x], T.grad((block(x) * x).sum(), x))
        np.testing.assert_allclose(fg(xv), xv)  # only the unblocked factor's path counts
        np.testing.assert_allclose(graphc.function([x], block(x))(xv), xv)
    clipped = graphc.function([x], T.grad((G.grad_clip(x, -0.5, 0.5) * 3).sum(), x))(xv)
    np.testing.assert_allclose(clipped, np.full(5, 0.5))
    assert G.zero_grad(T.ivector("i")).dtype == "int32"


def test_verify_grad() -> None:
    G.verify_grad(lambda a, b: T.tanh(a * b).sum() * a, [RNG.randn(3), RNG.randn(3)])
    with pytest.raises(G.GradientError, match="input 0"):
        G.verify_grad(lambda a: G.zero_grad(a) ** 2, [RNG.randn(3)])


def test_pprint_and_debugprint() -> None:
    x, y = T.vectors("x", "y")
    assert pprint(x + y * 2) == "(x + (y * 2.0))"
    text = debugprint(T.tanh(x + y) * x, file="str")
    assert text.splitlines() == [
        "mul [id A] ''",
        " |tanh [id B] ''",
        " | |add [id C] ''",
        " |   |x [id D]",
        " |   |y [id E]",
        " |x [id D]",
    ]
    buf = io.StringIO()
    assert debugprint([x * 2], file=buf, ids="") is buf
    assert buf.getvalue() == "mul ''\n |x\n |2.0\n"
    f = graphc.function([x], x.sum())
    assert debugprint(f, file="str").startswith("reduce_sum")


def test_print_is_a_warning_identity() -> None:
    Print._warned = False
    x = T.vector("x")
    with pytest.warns(UserWarning, match="not printed"):
        px = Print("value of x")(x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Print("again")(x)
    np.testing.assert_allclose(graphc.function([x], px * 2)(np.arange(3)), [0, 2, 4])


def test_gof_graph() -> None:
    x, y = T.matrix("x"), T.vector("y")
    s = graphc.shared(np.float32(1), name="s")
    e = T.dot(x, y) * s + 1
    leaves = graph.inputs([e])
    assert leaves[:3] == [x, y, s] and isinstance(leaves[3], graphc.gof.Constant)
    assert graph.is_same_graph(e, T.dot(x, y) * s + 1)
    assert not graph.is_same_graph(e, T.dot(x, y) * s + 2)
    z = T.vector("z")
    assert not graph.is_same_graph(y * 2, z * 2)
    assert graph.is_same_graph(y * 2, z * 2, givens={y: z})
    assert [n.op for n in graph.io_toposort([x, y], [e])] == ["matmul", "mul", "add"]
    assert isinstance(e, graphc.gof.Variable) and graphc.Variable is graphc.gof.Variable


def test_modes() -> None:
    x = T.vector("x")
    f = graphc.function([x], x * 2, mode=graphc.Mode(optimizer="fast_run").including("fusion"))
    np.testing.assert_allclose(f(np.ones(2)), [2, 2])
    assert graphc.compile.get_mode("FAST_COMPILE") is graphc.compile.FAST_COMPILE
    for bad in ("DebugMode", "NanGuardMode"):
        with pytest.raises(NotImplementedError, match=f"graphc cannot honour mode '{bad}'"):
            graphc.compile.get_mode(bad)
    with pytest.raises(graphc.compile.UnsupportedModeError):
        graphc.compile.DebugMode()


def test_clone() -> None:
    x, y = T.dvectors("x", "y")
    e = graphc.clone(x * 2 + 1, replace={x: y})
    np.testing.assert_allclose(graphc.function([y], e)(np.arange(3.0)), [1, 3, 5])


def test_theano_flags() -> None:
    assert parse_theano_flags("floatX=float64, device=cpu,,mode=FAST_RUN") == {
        "floatX": "float64",
        "device": "cpu",
        "mode": "FAST_RUN",
    }
    assert parse_theano_flags("") == {}
    with pytest.warns(TheanoConfigWarning, match="Config key 'floatX' has no value, ignoring it"):
        assert parse_theano_flags("floatX,device=cpu") == {"device": "cpu"}
    assert parse_theano_flags("gcc.cxxflags='-O3 -g,-Wall',mode=FAST_RUN,mode=FAST_COMPILE") == {
        "gcc.cxxflags": "-O3 -g,-Wall",
        "mode": "FAST_COMPILE",
    }
    before = graphc.config.floatX
    try:
        apply_theano_flags("device=cpu")
        assert graphc.config.floatX == before and graphc.config.device == "cpu"
        apply_theano_flags("floatX=float64")
        assert graphc.config.floatX == "float64" and T.matrix().dtype == "float64"
        apply_theano_flags("exception_verbosity=high,blas.ldflags=-lblas")
        assert graphc.config.exception_verbosity == "high" and graphc.config.compute_test_value == "off"
        assert graphc.config.blas.ldflags == "-lblas"
        assert graphc.config.mode == "Mode"  # Theano 1.0's default
        with pytest.raises(NotImplementedError, match="DebugMode"):
            apply_theano_flags("mode=DebugMode")
    finally:
        graphc.config.floatX = before


def test_old_downsample_and_conv() -> None:
    x4 = T.dtensor4("x")
    xv = RNG.randn(2, 3, 5, 6)
    out = graphc.function([x4], downsample.max_pool_2d(x4, (2, 2), ignore_border=True))(xv)
    ref = xv[:, :, :4, :6].reshape(2, 3, 2, 2, 3, 2).max(axis=(3, 5))
    np.testing.assert_allclose(out, ref)
    w = T.dtensor4("w")
    wv = RNG.randn(4, 3, 2, 3)
    conv = graphc.function([x4, w], nnet_conv.conv2d(x4, w, image_shape=(2, 3, 5, 6), filter_shape=(4, 3, 2, 3)))(
        xv, wv
    )
    flipped = wv[:, :, ::-1, ::-1]
    ref = np.zeros((2, 4, 4, 4))
    for i in range(4):
        for j in range(4):
            ref[:, :, i, j] = np.einsum("bchw,fchw->bf", xv[:, :, i : i + 2, j : j + 3], flipped)
    np.testing.assert_allclose(conv, ref, rtol=1e-5, atol=1e-5)


def test_batch_normalization() -> None:
    x = T.dmatrix("x")
    xv, gv, bv = RNG.randn(6, 3), RNG.rand(3) + 0.5, RNG.randn(3)
    mean, std = xv.mean(0), xv.std(0) + 0.1
    g, b, m, s = T.dvectors("g", "b", "m", "s")
    out = graphc.function([x, g, b, m, s], nnet_bn.batch_normalization(x, g, b, m, s))(xv, gv, bv, mean, std)
    np.testing.assert_allclose(out, (xv - mean) * (gv / std) + bv)
    rm, rv = T.dmatrices("rm", "rv")
    fn = graphc.function(
        [x, g, b, rm, rv],
        nnet_bn.batch_normalization_train(
            x, g.dimshuffle("x", 0), b.dimshuffle("x", 0), running_mean=rm, running_var=rv
        ),
    )
    rmv, rvv = np.zeros((1, 3)), np.ones((1, 3))
    o, mu, invstd, nm, nv = fn(xv, gv, bv, rmv, rvv)
    var = xv.var(0, keepdims=True)
    np.testing.assert_allclose(mu, xv.mean(0, keepdims=True))
    np.testing.assert_allclose(invstd, 1 / np.sqrt(var + 1e-4))
    np.testing.assert_allclose(o, (xv - mu) / np.sqrt(var + 1e-4) * gv + bv)
    np.testing.assert_allclose(nm, 0.1 * mu)
    np.testing.assert_allclose(nv, 0.9 + 0.1 * var * 6 / 5)
    test = graphc.function([x, g, b, m, s], nnet_bn.batch_normalization_test(x, g, b, m, s, epsilon=0.0))
    np.testing.assert_allclose(test(xv, gv, bv, mean, std), (xv - mean) * (gv / np.sqrt(std)) + bv)


def test_alias_table() -> None:
    assert target_of("theano.tensor.nnet") == "graphc.tensor.nnet"
    assert target_of("lasagne.layers.recurrent") == "graphc.layers.recurrent"
    assert target_of("theanets") == "graphc.theanets"
    assert target_of("theanets.layers.base") == "graphc.theanets.layers.base"
    assert target_of("theano.sandbox.cuda") == "graphc.compat.gpu.theano_cuda"
    assert target_of("theano.tensor.signal.downsample") == "graphc.compat.old_paths.downsample"
    assert target_of("numpy.linalg") is None


@pytest.mark.parametrize("axis", [None, 0, 1, 2, -1])
def test_cumsum(axis: int | None) -> None:
    x = T.dtensor3("x")
    xv = RNG.randn(2, 3, 4)
    np.testing.assert_allclose(graphc.function([x], T.cumsum(x, axis))(xv), np.cumsum(xv, axis=axis), atol=1e-12)


def test_other_extra_ops() -> None:
    from graphc.tensor import extra_ops as E

    x = T.dtensor3("x")
    xv = RNG.randn(2, 5, 4)
    np.testing.assert_allclose(graphc.function([x], E.diff(x, 2, 1))(xv), np.diff(xv, 2, 1))
    np.testing.assert_allclose(graphc.function([x], E.diff(x))(xv), np.diff(xv))
    g = graphc.function([x], T.grad(E.cumsum(x, 1).sum(), x))(xv)
    np.testing.assert_allclose(g, np.broadcast_to(np.arange(5, 0, -1)[None, :, None], xv.shape))
    y = T.ivector("y")
    np.testing.assert_allclose(graphc.function([y], E.to_one_hot(y, 4))(np.array([0, 3, 1])), np.eye(4)[[0, 3, 1]])
    m = T.dmatrix("m")
    mv = RNG.randn(3, 4)
    ref = mv.copy()
    np.fill_diagonal(ref, 5.0)
    np.testing.assert_allclose(graphc.function([m], T.fill_diagonal(m, 5.0))(mv), ref)


def test_images2neibs_and_back() -> None:
    from graphc.compat.old_paths.nnet_neighbours import images2neibs, neibs2images

    x = T.dtensor4("x")
    xv = RNG.randn(2, 3, 4, 6)
    neibs = graphc.function([x], images2neibs(x, (2, 3)))(xv)
    ref = [
        xv[b, c, 2 * i : 2 * i + 2, 3 * j : 3 * j + 3].ravel()
        for b in range(2)
        for c in range(3)
        for i in range(2)
        for j in range(2)
    ]
    np.testing.assert_array_equal(neibs, np.array(ref))
    back = graphc.function([x], neibs2images(images2neibs(x, (2, 3)), (2, 3), x.shape))(xv)
    np.testing.assert_array_equal(back, xv)
    odd = RNG.randn(1, 2, 5, 7)
    cut = graphc.function([x], images2neibs(x, (2, 3), mode="ignore_borders"))(odd)
    ref = [
        odd[0, c, 2 * i : 2 * i + 2, 3 * j : 3 * j + 3].ravel() for c in range(2) for i in range(2) for j in range(2)
    ]
    np.testing.assert_array_equal(cut, np.array(ref))
    with pytest.raises(NotImplementedError, match="overlapping"):
        images2neibs(x, (2, 2), (1, 1))
    with pytest.raises(ValueError, match="multiple of 2"):
        images2neibs(T.tensor4("y", shape=(1, 1, 3, 4)), (2, 2))
