"""graphc.grad against central finite differences along random directions (float64), per op family."""

from __future__ import annotations

import numpy as np
import pytest

import graphc
import graphc.tensor as T
from graphc.ir.registry import all_ops
from graphc.train import GRAD_RULES, NON_DIFFERENTIABLE

RNG = np.random.default_rng(8)


def _var(arr, name):
    # sizes of 1 are static (Theano's broadcastable dims): symbolic sizes never broadcast
    arr = np.asarray(arr)
    return T.tensor(arr.dtype, shape=[1 if d == 1 else None for d in arr.shape], name=name)


def check_grad(build, *arrays, eps=1e-6, rtol=1e-5, atol=1e-8):
    """Compare graphc.grad of ``build(*vars)`` (a scalar) with central differences along random directions."""
    arrays = [np.asarray(a) for a in arrays]
    xs = [_var(a, f"x{i}") for i, a in enumerate(arrays)]
    cost = build(*xs)
    floats = [i for i, a in enumerate(arrays) if a.dtype.kind == "f"]
    grads = graphc.grad(cost, [xs[i] for i in floats])
    f_cost = graphc.function(xs, cost, on_unused_input="ignore")
    f_grad = graphc.function(xs, grads, on_unused_input="ignore")
    got = f_grad(*arrays)
    for k, i in enumerate(floats):
        for _ in range(2):
            v = RNG.normal(size=arrays[i].shape)
            plus = list(arrays)
            minus = list(arrays)
            plus[i] = arrays[i] + eps * v
            minus[i] = arrays[i] - eps * v
            numeric = (f_cost(*plus) - f_cost(*minus)) / (2 * eps)
            analytic = float(np.sum(got[k] * v))
            np.testing.assert_allclose(analytic, numeric, rtol=rtol, atol=atol * max(1.0, abs(numeric)) + 1e-7)
        assert got[k].shape == arrays[i].shape


def rnd(*shape, lo=-2.0, hi=2.0):
    return RNG.uniform(lo, hi, size=shape)


POS = {"lo": 0.5, "hi": 2.0}

UNARY = {
    "neg": (lambda x: -x, {}),
    "abs": (lambda x: abs(x), {}),
    "exp": (T.exp, {}),
    "log": (T.log, POS),
    "log1p": (T.log1p, POS),
    "expm1": (T.expm1, {}),
    "sqrt": (T.sqrt, POS),
    "tanh": (T.tanh, {}),
    "sigmoid": (T.nnet.sigmoid, {}),
    "softplus": (T.nnet.softplus, {}),
    "relu": (T.nnet.relu, {}),
    "sin": (T.sin, {}),
    "cos": (T.cos, {}),
    "erf": (T.erf, {}),
    "reciprocal": (T.inv, POS),
    "sqr": (T.sqr, {}),
    "elu": (T.nnet.elu, {}),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary(name):
    fn, dom = UNARY[name]
    # ONNX Runtime computes float64 erf in float32 (graphc.export.kernels): difference it coarsely
    tol = {"eps": 1e-3, "rtol": 1e-3} if name == "erf" else {}
    check_grad(lambda x: T.sum(fn(x) * fn(x)), rnd(3, 4, **dom), **tol)


BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (b * b + 1.0),
    "pow": lambda a, b: (a * a + 1.0) ** b,
    "maximum": T.maximum,
    "minimum": T.minimum,
    "where": lambda a, b: T.switch(T.gt(a, b), a * 2.0, b * 3.0),
    "mod": lambda a, b: T.mod(a, b * b + 1.0),
}


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_with_broadcasting(name):
    fn = BINARY[name]
    check_grad(lambda a, b: T.sum(fn(a, b) * fn(a, b)), rnd(3, 1, 4), rnd(5, 1))
    check_grad(lambda a, b: T.sum(fn(a, b)), rnd(2, 3), rnd(2, 3))


@pytest.mark.parametrize(
    ("sa", "sb"), [((3, 4), (4, 5)), ((4,), (4, 5)), ((3, 4), (4,)), ((4,), (4,)), ((2, 3, 4), (4, 5)), ((2, 3, 4), (2, 4, 5)), ((1, 3, 4), (2, 4, 5))]
)
def test_matmul(sa, sb):
    check_grad(lambda a, b: T.sum(T.tanh(T.matmul(a, b))), rnd(*sa), rnd(*sb))


def test_dot_tensordot_and_outer():
    check_grad(lambda a, b: T.sum(T.dot(a, b) ** 2), rnd(2, 3, 4), rnd(3, 4, 2))
    check_grad(lambda a, b: T.sum(T.outer(a, b) ** 2), rnd(3), rnd(4))


@pytest.mark.parametrize("op", ["sum", "mean", "max", "min", "prod", "var", "std"])
@pytest.mark.parametrize("axis", [None, 1, (0, 2), -1])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions(op, axis, keepdims):
    fn = getattr(T, op)
    x = rnd(2, 3, 4, lo=0.5, hi=2.0)
    check_grad(lambda a: T.sum(fn(a, axis=axis, keepdims=keepdims) ** 2), x)


def test_shape_ops():
    x = rnd(2, 3, 4)
    check_grad(lambda a: T.sum(T.reshape(a, (4, -1)) * np.arange(6.0)), x)
    check_grad(lambda a: T.sum(a.dimshuffle(2, "x", 0, 1) * np.arange(4.0).reshape(4, 1, 1, 1)), x)
    check_grad(lambda a: T.sum(T.flatten(a, 2) ** 3), x)
    check_grad(lambda a: T.sum(T.concatenate([a, a * 2.0, a[:, :1]], axis=1) ** 2), x)
    check_grad(lambda a: T.sum(T.stack([a, a * a], axis=1) ** 2), x)
    check_grad(lambda a: T.sum(T.pad(a, [(1, 0), 0, (2, 1)], value=3.0) ** 2), x)
    check_grad(lambda a: T.sum(T.alloc(a[0, 0], 3, 4) * np.arange(12.0).reshape(3, 4)), x)
    check_grad(lambda a: T.sum(T.squeeze(T.expand_dims(a, 1), 1) ** 2), x)


@pytest.mark.parametrize(
    "index",
    [
        (slice(None), -1),
        (slice(1, None), slice(None, None, -1)),
        (0, slice(-3, -1)),
        (Ellipsis, 2),
        (None, slice(None), 1),
        (slice(-5, 9), slice(1, 2)),
        (slice(None, None, -1), slice(2, 0, -1)),
    ],
)
def test_getitem(index):
    x = rnd(3, 4, 5)
    w = RNG.normal(size=np.empty((3, 4, 5))[index].shape)
    check_grad(lambda a: T.sum(a[index] * w), x)


def test_getitem_with_symbolic_bounds():
    i = T.lscalar("i")
    x = T.matrix("x", dtype="float64")
    cost = T.sum(x[i : i + 2, -1] ** 2)
    g = graphc.grad(cost, x)
    xv = rnd(5, 3)
    got = graphc.function([x, i], g)(xv, 2)
    want = np.zeros_like(xv)
    want[2:4, -1] = 2 * xv[2:4, -1]
    np.testing.assert_allclose(got, want)


def test_take_take_along_axis_and_losses():
    idx = np.array([2, 0, 2, 1])
    check_grad(lambda a, i: T.sum(T.take(a, i, axis=0) ** 2), rnd(3, 4), idx)
    check_grad(lambda a, i: T.sum(T.take(a, i, axis=1) ** 2), rnd(3, 4), idx)
    check_grad(lambda a, i: T.sum(a[i] * 2.0), rnd(3, 4), idx)
    targets = np.array([1, 0, 2, 2, 1])
    check_grad(lambda a, t: T.mean(T.nnet.categorical_crossentropy(T.nnet.softmax(a), t)), rnd(5, 3), targets)
    onehot = np.eye(3)[targets]
    check_grad(lambda a, t: T.mean(T.nnet.categorical_crossentropy(T.nnet.softmax(a), t)), rnd(5, 3), onehot)
    check_grad(lambda a: T.sum(T.nnet.log_softmax(a, axis=0) * np.arange(15.0).reshape(5, 3)), rnd(5, 3))
    check_grad(lambda a, t: T.mean(T.nnet.binary_crossentropy(T.nnet.sigmoid(a), t)), rnd(4, 3), (RNG.random((4, 3)) > 0.5) * 1.0)


def test_dense_network_and_shared_variables():
    graphc.config.floatX = "float64"
    try:
        W = graphc.shared(RNG.normal(size=(4, 3)), name="W")
        b = graphc.shared(np.zeros(3), name="b")
        x = T.matrix("x")
        y = T.nnet.softmax(T.tanh(T.dot(x, W) + b))
        cost = -T.mean(T.log(y[:, 1]))
        gW, gb = graphc.grad(cost, [W, b])
        f = graphc.function([x], [cost, gW, gb])
        xv = rnd(5, 4)
        c0, gw, gbv = f(xv)
        eps = 1e-6
        v = RNG.normal(size=(4, 3))
        w0 = W.get_value()
        W.set_value(w0 + eps * v)
        cp = f(xv)[0]
        W.set_value(w0 - eps * v)
        cm = f(xv)[0]
        W.set_value(w0)
        np.testing.assert_allclose(np.sum(gw * v), (cp - cm) / (2 * eps), rtol=1e-5)
        assert gbv.shape == (3,)
    finally:
        graphc.config.floatX = "float32"


def test_grad_clip_consider_constant_known_grads_and_errors():
    x = T.vector("x", dtype="float64")
    y = T.grad_clip(x * 10.0, -1.0, 1.0)
    g = graphc.function([x], graphc.grad(T.sum(y * 5.0), x))(np.ones(3))
    np.testing.assert_allclose(g, np.full(3, 10.0))  # 5 clipped to 1, times d(10x)/dx
    a = x * 2.0
    g2 = graphc.function([x], graphc.grad(T.sum(a * x), x, consider_constant=[a]))(np.arange(3.0))
    np.testing.assert_allclose(g2, 2 * np.arange(3.0))  # a treated as a constant
    h = x * 3.0
    g3 = graphc.function([x], graphc.grad(None, x, known_grads={h: T.ones_like(h)}))(np.ones(3))
    np.testing.assert_allclose(g3, np.full(3, 3.0))
    with pytest.raises(TypeError, match="the cost must be a scalar"):
        graphc.grad(x * 2.0, x)
    z = T.vector("z", dtype="float64")
    with pytest.raises(graphc.DisconnectedInputError, match="does not depend on"):
        graphc.grad(T.sum(x), z)
    zero = graphc.function([z], graphc.grad(T.sum(x), z, disconnected_inputs="ignore"), on_unused_input="ignore")(np.ones(2))
    np.testing.assert_array_equal(zero, np.zeros(2))
    with pytest.warns(UserWarning, match="does not depend on"):
        graphc.grad(T.sum(x), z, disconnected_inputs="warn")
    # integers change in steps: zero gradients (config.floatX), as in Theano; an integer cost too
    i = T.lvector("i")
    gi = graphc.grad(T.sum(x) + T.sum(i), i)
    assert gi.dtype == graphc.config.floatX
    np.testing.assert_array_equal(graphc.function([i], gi)(np.arange(4)), np.zeros(4))
    a, b = graphc.shared(1, name="a"), graphc.shared(2.0, name="b")
    ga, gb = graphc.grad(a + T.cast(b, "int64"), [a, b])
    assert ga.eval() == 0 and gb.eval() == 0 and gb.dtype == b.dtype
    assert T.grad is not None and graphc.grad(T.sum(x * x), [x])[0].ndim == 1


# ops whose gradient rules are still to come (none left: every op has a rule or a mark);
# the list must shrink, never grow: an op here that gains a rule makes the test fail too
PENDING: set[str] = set()


def test_every_op_has_a_gradient_rule_or_a_non_differentiable_mark():
    names = {op.name for op in all_ops()}
    missing = sorted(n for n in names if n not in GRAD_RULES and n not in NON_DIFFERENTIABLE and n not in PENDING)
    assert not missing, f"ops without a gradient rule or non-differentiable mark: {missing}"
    stale = sorted(n for n in PENDING if n in GRAD_RULES or n in NON_DIFFERENTIABLE)
    assert not stale, f"remove from PENDING (they have rules now): {stale}"


def test_second_derivatives_through_take_and_take_along_axis():
    """The scatter-add gradients of take/take_along_axis are differentiable (gathers back), repeated indices included."""
    idx = np.array([[2, 0], [2, 3], [1, 2]])

    def take_cost(w):
        (g,) = graphc.grad(T.sum(T.take(w, idx, axis=1) ** 3), [w])
        return T.sum(g * g * w)

    check_grad(take_cost, rnd(3, 4))
    along = np.array([[0, 2, 2], [1, 1, 0]])

    def along_cost(x):
        picked = graphc.tensor.variable.apply_op("take_along_axis", [x, T.as_tensor_variable(along)], axis=1)
        (g,) = graphc.grad(T.sum(T.sin(picked) * picked), [x])
        return T.sum(T.tanh(g) * x)

    check_grad(along_cost, rnd(2, 5))


def _check_grad_numpy(build, *arrays, eps=1e-6, rtol=1e-6):
    """check_grad on graphc's numpy evaluator (float64 throughout; ONNX Runtime's LSTM/GRU are float32-only)."""
    from graphc.ir.build import build_graph
    from graphc.ir.evaluate import evaluate

    xs = [_var(a, f"x{i}") for i, a in enumerate(arrays)]
    cost = build(*xs)
    grads = graphc.grad(cost, xs)
    g_cost = build_graph([(cost, "cost")], xs)
    g_grad = build_graph([(g, f"g{k}") for k, g in enumerate(grads)], xs)

    def run(g, values):
        return evaluate(g, dict(zip(g.inputs, values)))

    got = run(g_grad, arrays)
    for k, a in enumerate(arrays):
        v = RNG.normal(size=a.shape)
        plus, minus = list(arrays), list(arrays)
        plus[k], minus[k] = a + eps * v, a - eps * v
        numeric = (run(g_cost, plus)[0] - run(g_cost, minus)[0]) / (2 * eps)
        np.testing.assert_allclose(float(np.sum(got[k] * v)), numeric, rtol=rtol, atol=1e-8)


@pytest.mark.parametrize("zero_initial", [False, True])
@pytest.mark.parametrize("direction", ["forward", "reverse"])
@pytest.mark.parametrize("peepholes", [False, True])
def test_native_lstm_op_gradients(direction, peepholes, zero_initial):
    """lstm (ONNX semantics, as the native-lowering pass emits it) differentiates through an equal scan."""
    from graphc.tensor.variable import apply_op

    t, b, i, n = 4, 2, 3, 5

    def cost(x, w, r, bias, *rest):
        w, r = T.reshape(w, (1, 4 * n, i)), T.reshape(r, (1, 4 * n, n))  # the op wants static weight shapes
        y = apply_op("lstm", [x, w, r, bias, *rest], hidden_size=n, direction=direction,
                     activations=("Sigmoid", "Tanh", "Tanh"), zero_initial=zero_initial)  # fmt: skip
        return T.sum(T.sin(y) * y)

    states = [] if zero_initial else [(1, b, n), (1, b, n)]
    shapes = [(t, b, i), (1, 4 * n, i), (1, 4 * n, n), (1, 8 * n)] + states + ([(1, 3 * n)] if peepholes else [])
    _check_grad_numpy(cost, *[rnd(*s, lo=-0.8, hi=0.8) for s in shapes])


@pytest.mark.parametrize("zero_initial", [False, True])
@pytest.mark.parametrize("direction", ["forward", "reverse"])
def test_native_gru_op_gradients(direction, zero_initial):
    from graphc.tensor.variable import apply_op

    t, b, i, n = 3, 2, 4, 3

    def cost(x, w, r, bias, *h0):
        w, r = T.reshape(w, (1, 3 * n, i)), T.reshape(r, (1, 3 * n, n))
        y = apply_op("gru", [x, w, r, bias, *h0], hidden_size=n, direction=direction, activations=("Sigmoid", "Tanh"),
                     zero_initial=zero_initial)  # fmt: skip
        return T.sum(y * y * T.cos(y))

    shapes = [(t, b, i), (1, 3 * n, i), (1, 3 * n, n), (1, 6 * n)] + ([] if zero_initial else [(1, b, n)])
    _check_grad_numpy(cost, *[rnd(*s, lo=-0.8, hi=0.8) for s in shapes])
