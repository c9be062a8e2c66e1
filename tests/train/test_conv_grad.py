"""Gradients of conv, conv_transpose, max_pool and avg_pool.

Oracles: central finite differences along random directions (float64, static
shapes), a numpy loop for max pooling's tie rule (the first maximum of a window
in row-major order takes the gradient), the static-shape gradients for the
symbolic-shape code paths, float64 for float32, and PyTorch where installed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import pytest

import graphc
import graphc.tensor as T
from graphc import layers as L
from graphc.export import to_onnx
from graphc.ir.build import build_graph
from graphc.ir.evaluate import evaluate
from graphc.ir.ops.pool import pool_windows
from graphc.tensor.variable import Variable, apply_op

RNG = np.random.default_rng(31)


@pytest.fixture(autouse=True)
def float64() -> Iterator[None]:
    """Build everything in float64 (finite differences need it)."""
    old = graphc.config.floatX
    graphc.config.floatX = "float64"
    try:
        yield
    finally:
        graphc.config.floatX = old


def rnd(*shape: int) -> np.ndarray:
    return RNG.uniform(-2.0, 2.0, size=shape)


def _vars(arrays: Sequence[np.ndarray], decls: Sequence[Any] | None = None) -> list[Variable]:
    decls = decls if decls is not None else [a.shape for a in arrays]
    return [T.tensor(a.dtype.name, shape=d, name=f"x{i}") for i, (a, d) in enumerate(zip(arrays, decls))]


def check_grad(build: Callable[..., Variable], *arrays: np.ndarray, eps: float = 1e-6, rtol: float = 1e-6) -> None:
    """graphc.grad of ``build(*vars)`` (a scalar) against central differences along random directions."""
    xs = _vars(arrays)
    cost = build(*xs)
    grads = graphc.grad(cost, xs)
    f_cost = graphc.function(xs, cost)
    got = graphc.function(xs, grads)(*arrays)
    for k, a in enumerate(arrays):
        assert got[k].shape == a.shape and got[k].dtype == np.float64
        for _ in range(2):
            v = RNG.normal(size=a.shape)
            plus, minus = list(arrays), list(arrays)
            plus[k], minus[k] = a + eps * v, a - eps * v
            numeric = (f_cost(*plus) - f_cost(*minus)) / (2 * eps)
            np.testing.assert_allclose(np.sum(got[k] * v), numeric, rtol=rtol, atol=1e-8 * max(1.0, abs(numeric)))


def cost_of(y: Variable) -> Variable:
    """A nonlinear scalar, so the output gradient is neither constant nor symmetric."""
    return T.sum(y * y + T.sin(y))


# -- the cases: (input shape, weight shape, attributes) ---------------------------------------------
CONV = {
    "1d_stride2_dilation2_asym_pads": ((2, 3, 11), (4, 3, 3), dict(strides=(2,), pads=(2, 1), dilations=(2,))),
    "2d_strides_pads_dilation_groups": ((2, 4, 5, 7), (6, 2, 3, 2),
                                        dict(strides=(2, 1), pads=(1, 0, 0, 2), dilations=(2, 1), groups=2)),
    "2d_stride_per_axis": ((3, 2, 7, 5), (3, 2, 2, 3), dict(strides=(1, 3), pads=(0, 2, 1, 1))),
    "2d_1x1_stride2": ((2, 3, 5, 6), (4, 3, 1, 1), dict(strides=(2, 2), pads=(0, 0, 0, 0))),
    "2d_depthwise": ((2, 4, 6, 5), (4, 1, 3, 3), dict(strides=(1, 1), pads=(1, 1, 1, 1), groups=4)),
    "3d": ((1, 4, 4, 5, 3), (2, 2, 2, 3, 2), dict(strides=(1, 2, 1), pads=(1, 0, 0, 0, 1, 1), dilations=(1, 1, 2),
                                                  groups=2)),
}
CONV_TRANSPOSE = {
    "1d_output_padding": ((2, 3, 4), (3, 2, 3), dict(strides=(2,), pads=(1, 0), output_padding=(1,))),
    "2d_strides_pads_dilation_groups": ((2, 4, 3, 4), (4, 3, 3, 2),
                                        dict(strides=(2, 3), pads=(1, 0, 0, 2), dilations=(2, 1),
                                             output_padding=(1, 2), groups=2)),
    "2d_plain": ((2, 3, 4, 3), (3, 2, 2, 3), dict(strides=(1, 1), pads=(0, 0, 0, 0))),
    "3d": ((1, 2, 3, 2, 4), (2, 2, 2, 2, 3), dict(strides=(2, 1, 2), pads=(0, 1, 1, 1, 0, 0), dilations=(1, 2, 1),
                                                  output_padding=(1, 0, 0), groups=2)),
}
POOL = {
    "1d_overlap_pads": ((2, 3, 9), dict(kernel_shape=(3,), strides=(2,), pads=(1, 1))),
    "2d_ceil_asym_pads": ((2, 3, 5, 7), dict(kernel_shape=(3, 2), strides=(2, 1), pads=(1, 0, 0, 1), ceil_mode=True)),
    "2d_disjoint": ((2, 2, 6, 8), dict(kernel_shape=(2, 2), strides=(2, 2), pads=(0, 0, 0, 0))),
    "2d_gaps_ceil": ((1, 2, 7, 5), dict(kernel_shape=(2, 1), strides=(3, 2), pads=(0, 0, 0, 0), ceil_mode=True)),
    "2d_window_1": ((2, 2, 4, 5), dict(kernel_shape=(1, 1), strides=(2, 1), pads=(0, 0, 0, 0))),
    "3d_ceil": ((1, 2, 4, 5, 3), dict(kernel_shape=(2, 3, 2), strides=(1, 2, 1), pads=(1, 0, 0, 0, 1, 1),
                                      ceil_mode=True)),
}


def conv(attrs: dict[str, Any]) -> Callable[..., Variable]:
    return lambda x, w: apply_op("conv", [x, w], **attrs)  # type: ignore[return-value]


def conv_transpose(attrs: dict[str, Any]) -> Callable[..., Variable]:
    return lambda x, w: apply_op("conv_transpose", [x, w], **attrs)  # type: ignore[return-value]


def pool(op: str, attrs: dict[str, Any], include: bool = False) -> Callable[..., Variable]:
    extra = dict(count_include_pad=include) if op == "avg_pool" else {}
    return lambda x: apply_op(op, [x], **attrs, **extra)  # type: ignore[return-value]


# every (op, case) as a builder and its input shapes
OPS: dict[str, tuple[Callable[..., Variable], tuple[tuple[int, ...], ...]]] = {}
for _name, (_xs, _ws, _a) in CONV.items():
    OPS[f"conv_{_name}"] = (conv(_a), (_xs, _ws))
for _name, (_xs, _ws, _a) in CONV_TRANSPOSE.items():
    OPS[f"conv_transpose_{_name}"] = (conv_transpose(_a), (_xs, _ws))
for _name, (_xs, _a) in POOL.items():
    OPS[f"max_pool_{_name}"] = (pool("max_pool", _a), (_xs,))
    for _inc in (False, True):
        OPS[f"avg_pool_{_name}_{'include' if _inc else 'exclude'}_pad"] = (pool("avg_pool", _a, _inc), (_xs,))


@pytest.mark.parametrize("name", sorted(OPS))
def test_finite_differences(name: str) -> None:
    """Every op and attribute combination, 1-d to 3-d, against central differences."""
    build, shapes = OPS[name]
    check_grad(lambda *xs: cost_of(build(*xs)), *[rnd(*s) for s in shapes])


def _known_grad(build: Callable[..., Variable], arrays: Sequence[np.ndarray], g: np.ndarray,
                decls: Sequence[Any] | None = None, g_decl: Any = None) -> list[np.ndarray]:
    """The gradients of the inputs for the output gradient ``g``, run through ONNX Runtime."""
    xs = _vars(arrays, decls)
    gv = T.tensor(g.dtype.name, shape=g.shape if g_decl is None else g_decl, name="g")
    y = build(*xs)
    grads = graphc.grad(None, xs, known_grads={y: gv})
    return graphc.function([*xs, gv], grads, on_unused_input="ignore")(*arrays, g)


def _output_shape(build: Callable[..., Variable], arrays: Sequence[np.ndarray]) -> tuple[int, ...]:
    y = build(*_vars(arrays))
    return tuple(int(d) for d in y.type.shape)


DECLS = {
    "batch": lambda a, k: (None,) + a.shape[1:] if k == 0 else a.shape,
    "spatial": lambda a, k: (None, None) + (None,) * (a.ndim - 2) if k == 0 else a.shape,
    "all": lambda a, k: (None,) * a.ndim,
}


@pytest.mark.parametrize("mode", sorted(DECLS))
@pytest.mark.parametrize("name", sorted(OPS))
def test_symbolic_shapes_match_static(name: str, mode: str) -> None:
    """Symbolic batch, spatial and kernel sizes take other code paths (crops, run-time counts, a
    conv over the batch axis): they give the static-shape gradients."""
    build, shapes = OPS[name]
    arrays = [rnd(*s) for s in shapes]
    g = rnd(*_output_shape(build, arrays))
    want = _known_grad(build, arrays, g)
    decls = [DECLS[mode](a, k) for k, a in enumerate(arrays)]
    got = _known_grad(build, arrays, g, decls, (None,) * g.ndim)
    # ONNX Runtime has no float64 Conv: with kernels of run-time size it runs in float32 between casts
    tol = 1e-5 if mode == "all" and name.startswith("conv") else 1e-12
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


@pytest.mark.parametrize("name", [n for n in sorted(OPS) if "3d" not in n])
def test_float32_matches_float64(name: str) -> None:
    """float32 gradients (ONNX Runtime's native Conv, ConvTranspose, MaxPool, AveragePool kernels)."""
    build, shapes = OPS[name]
    arrays = [rnd(*s) for s in shapes]
    g = rnd(*_output_shape(build, arrays))
    want = _known_grad(build, arrays, g)
    got = _known_grad(build, [a.astype(np.float32) for a in arrays], g.astype(np.float32))
    for a, b in zip(got, want):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", ["conv_2d_strides_pads_dilation_groups", "conv_transpose_3d", "max_pool_3d_ceil",
                                  "avg_pool_2d_ceil_asym_pads_include_pad"])
def test_numpy_reference_and_onnx_reference_agree(name: str) -> None:
    """The gradient graphs evaluate alike in the numpy reference, ONNX Runtime and onnx.reference."""
    from graphc.testing import reference_evaluator

    build, shapes = OPS[name]
    arrays = [rnd(*s) for s in shapes]
    g = rnd(*_output_shape(build, arrays))
    want = _known_grad(build, arrays, g)
    xs = _vars(arrays)
    gv = T.tensor("float64", shape=g.shape, name="g")
    grads = graphc.grad(None, xs, known_grads={build(*xs): gv})
    graph = build_graph([(d, f"d{k}") for k, d in enumerate(grads)], [*xs, gv])
    for a, b in zip(evaluate(graph, dict(zip(graph.inputs, [*arrays, g]))), want):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    model = to_onnx({f"d{k}": d for k, d in enumerate(grads)}, [*xs, gv])
    feeds = {f"x{k}": a for k, a in enumerate(arrays)} | {"g": g}
    for a, b in zip(reference_evaluator(model).run(None, feeds), want):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


# -- max pooling's ties --------------------------------------------------------------------------
def max_pool_grad_oracle(x: np.ndarray, g: np.ndarray, k: Sequence[int], s: Sequence[int], p: Sequence[int],
                         ceil: bool) -> np.ndarray:
    """Each output gradient added at the first maximum (row-major) of its window's real elements."""
    n = x.ndim - 2
    axes = [pool_windows(x.shape[2 + i], k[i], s[i], p[i], p[n + i], ceil) for i in range(n)]
    dx = np.zeros(x.shape)
    for bc in np.ndindex(*x.shape[:2]):
        for o in np.ndindex(*g.shape[2:]):
            ranges = [range(max(axes[i][o[i]].start - p[i], 0), min(axes[i][o[i]].stop - p[i], x.shape[2 + i]))
                      for i in range(n)]
            best = None
            for pos in np.ndindex(*[len(r) for r in ranges]):
                at = tuple(r[j] for r, j in zip(ranges, pos))
                if best is None or x[bc + at] > x[bc + best]:
                    best = at
            assert best is not None
            dx[bc + best] += g[bc + o]
    return dx


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", sorted(POOL))
def test_max_pool_ties_go_to_the_first_maximum(name: str, dtype: str) -> None:
    """Windows full of equal values (overlapping, padded, ceil_mode) route all to their first maximum."""
    shape, a = POOL[name]
    x = RNG.integers(-1, 2, size=shape).astype(dtype)  # three values: ties everywhere
    build = pool("max_pool", a)
    g = RNG.integers(1, 9, size=_output_shape(build, [x])).astype(dtype)
    (got,) = _known_grad(build, [x], g)
    want = max_pool_grad_oracle(x, g, a["kernel_shape"], a["strides"], a["pads"], bool(a.get("ceil_mode")))
    np.testing.assert_array_equal(got, want)


# -- second derivatives ---------------------------------------------------------------------------
def _double(build: Callable[..., Variable], wrt: int) -> Callable[..., Variable]:
    def cost(*xs: Variable) -> Variable:
        g = graphc.grad(cost_of(build(*xs)), xs[wrt])
        return T.sum(g * g)

    return cost


@pytest.mark.parametrize(
    ("name", "wrt"),
    [("conv_2d_depthwise", 0), ("conv_2d_depthwise", 1), ("conv_transpose_2d_plain", 1),
     ("avg_pool_2d_ceil_asym_pads_exclude_pad", 0),
     ("max_pool_2d_ceil_asym_pads", 0)],  # through take_along_axis_grad, the pooling gradient
)
def test_second_derivatives(name: str, wrt: int) -> None:
    """The gradients are themselves differentiable (double backpropagation, e.g. gradient penalties)."""
    build, shapes = OPS[name]
    check_grad(_double(build, wrt), *[rnd(*s) for s in shapes], rtol=1e-5)


# -- the Theano/Lasagne API ------------------------------------------------------------------------
def test_theano_conv2d_and_pool_2d() -> None:
    """T.nnet.conv2d (flipped kernels, border modes), conv2d_transpose and T.signal.pool.pool_2d."""
    def build(x: Variable, w: Variable, v: Variable) -> Variable:
        y = T.nnet.conv2d(x, w, border_mode=(1, 2), subsample=(2, 1), filter_dilation=(1, 2))
        y = T.signal.pool.pool_2d(y, (2, 3), ignore_border=False, stride=(1, 2), mode="max")
        z = T.nnet.conv2d_transpose(x, v, output_shape=(None, 2, 11, 8), border_mode="half", input_dilation=(2, 1))
        z = T.signal.pool.pool_2d(z, (3, 2), ignore_border=True, pad=(1, 1), mode="average_inc_pad")
        return cost_of(y) + cost_of(z)

    check_grad(build, rnd(2, 3, 6, 8), rnd(4, 3, 3, 2), rnd(3, 2, 3, 3))


def test_lasagne_network_parameter_gradients() -> None:
    """Conv2DLayer -> MaxPool2DLayer -> DenseLayer: the parameter gradients match finite differences."""
    l_in = L.InputLayer((None, 2, 7, 9))
    l_conv = L.Conv2DLayer(l_in, num_filters=3, filter_size=(3, 2), stride=(1, 2), pad=(1, 0),
                           nonlinearity=graphc.nonlinearities.tanh, W=graphc.init.Normal(0.5))
    l_pool = L.MaxPool2DLayer(l_conv, pool_size=(2, 3), stride=(2, 1), ignore_border=False)
    l_out = L.DenseLayer(l_pool, num_units=4, nonlinearity=graphc.nonlinearities.softmax, W=graphc.init.Normal(0.5))
    t = T.ivector("t")
    prediction = L.get_output(l_out)
    cost = T.mean(T.nnet.categorical_crossentropy(prediction, t))
    params = L.get_all_params(l_out, trainable=True)
    assert len(params) == 4
    grads = graphc.grad(cost, params)
    f = graphc.function([l_in.input_var, t], [cost] + grads)
    xv, tv = rnd(5, 2, 7, 9), np.array([0, 3, 1, 1, 2], dtype=np.int32)
    got = f(xv, tv)[1:]
    eps = 1e-6
    for p, gp in zip(params, got):
        p0 = p.get_value()
        assert gp.shape == p0.shape and np.abs(gp).max() > 0
        for _ in range(2):
            v = RNG.normal(size=p0.shape)
            p.set_value(p0 + eps * v)
            plus = f(xv, tv)[0]
            p.set_value(p0 - eps * v)
            minus = f(xv, tv)[0]
            p.set_value(p0)
            np.testing.assert_allclose(np.sum(gp * v), (plus - minus) / (2 * eps), rtol=1e-6, atol=1e-9)


# -- PyTorch, where installed ------------------------------------------------------------------------
def test_against_torch() -> None:
    """conv2d, conv_transpose2d, max_pool2d and avg_pool2d input and weight gradients as PyTorch's autograd."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    x, w, wt = rnd(2, 4, 7, 6), rnd(6, 2, 3, 2), rnd(4, 3, 2, 3)
    cases: list[tuple[Callable[..., Variable], Callable[..., Any], list[np.ndarray]]] = [
        (conv(dict(strides=(2, 1), pads=(1, 2, 1, 2), dilations=(1, 2), groups=2)),
         lambda a, b: F.conv2d(a, b, stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2), [x, w]),
        (conv_transpose(dict(strides=(2, 3), pads=(1, 0, 1, 0), dilations=(2, 1), output_padding=(1, 2), groups=2)),
         lambda a, b: F.conv_transpose2d(a, b, stride=(2, 3), padding=(1, 0), output_padding=(1, 2), groups=2,
                                         dilation=(2, 1)), [x, wt]),
        (pool("max_pool", dict(kernel_shape=(3, 2), strides=(2, 1), pads=(1, 1, 1, 1))),
         lambda a: F.max_pool2d(a, (3, 2), stride=(2, 1), padding=(1, 1)), [x]),
        (pool("avg_pool", dict(kernel_shape=(3, 2), strides=(2, 1), pads=(1, 1, 1, 1)), include=True),
         lambda a: F.avg_pool2d(a, (3, 2), stride=(2, 1), padding=(1, 1), count_include_pad=True), [x]),
        (pool("avg_pool", dict(kernel_shape=(3, 2), strides=(2, 1), pads=(1, 1, 1, 1)), include=False),
         lambda a: F.avg_pool2d(a, (3, 2), stride=(2, 1), padding=(1, 1), count_include_pad=False), [x]),
    ]
    for build, reference, arrays in cases:
        g = rnd(*_output_shape(build, arrays))
        got = _known_grad(build, arrays, g)
        ts = [torch.tensor(a, requires_grad=True) for a in arrays]
        reference(*ts).backward(torch.tensor(g))
        for a, t in zip(got, ts):
            np.testing.assert_allclose(a, t.grad.numpy(), rtol=1e-10, atol=1e-10)
