"""graphc.updates: trajectories against Lasagne's torch.optim references, numpy and torch.optim.

Every rule runs 10 steps of ``graphc.function([...], [], updates=rule(grads, params, ...))``
with the gradients given as explicit expressions, so these tests do not depend
on symbolic differentiation (one test also checks the loss form with ``graphc.grad``).
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

import graphc
import graphc.tensor as T
from graphc import updates as U

COEF = np.array([0.1, 0.2, 0.3])

# Lasagne's test_updates.py: 10 steps on f(X) = sum([.1, .2, .3] * X**2) from X = [1, 1, 1],
# values computed with torch.optim
TORCH_VALUES = {
    "sgd": [0.81707280688755, 0.6648326359915, 0.5386151140949],
    "momentum": [0.6848486952183, 0.44803321781003, 0.27431190123502],
    "nesterov_momentum": [0.67466543592725, 0.44108468114241, 0.2769002108997],
    "adagrad": [0.55373120047759, 0.55373120041518, 0.55373120039438],
    "rmsprop": [0.83205403985348, 0.83205322744821, 0.83205295664444],
    "adadelta": [0.95453237704725, 0.9545237471374, 0.95452214847397],
    "adam": [0.90034972009036, 0.90034967993061, 0.90034966654402],
    "adamax": [0.90211749000754, 0.90211748762402, 0.90211748682951],
}
TORCH_KWARGS = {
    "sgd": {"learning_rate": 0.1},
    "momentum": {"learning_rate": 0.1, "momentum": 0.5},
    "nesterov_momentum": {"learning_rate": 0.1, "momentum": 0.5},
    "adagrad": {"learning_rate": 0.1},
    "rmsprop": {"learning_rate": 0.01},
    "adadelta": {},
    "adam": {"learning_rate": 0.01},
    "adamax": {"learning_rate": 0.01},
}


def _pair():
    ones = graphc.utils.floatX([1, 1, 1])
    return graphc.shared(ones, name="A"), graphc.shared(ones, name="B")


@pytest.mark.parametrize("method", sorted(TORCH_VALUES))
def test_reference_trajectories_explicit_grads(method):
    A, B = _pair()
    updates = getattr(U, method)([2 * COEF * A, 2 * COEF * B], [A, B], **TORCH_KWARGS[method])
    step = graphc.function([], [], updates=updates)
    for _ in range(10):
        step()
    np.testing.assert_allclose(A.get_value(), B.get_value())
    assert np.allclose(A.get_value(), TORCH_VALUES[method])
    assert A.get_value().dtype == graphc.config.floatX


@pytest.mark.parametrize("method", ["sgd", "momentum", "adam", "adadelta"])
def test_reference_trajectories_from_a_loss(method):
    if getattr(graphc, "grad", None) is None:
        pytest.skip("graphc.grad is not available")
    A, B = _pair()

    def f(X):
        return (COEF * X**2).sum()

    step = graphc.function([], [], updates=getattr(U, method)(f(A) + f(B), [A, B], **TORCH_KWARGS[method]))
    for _ in range(10):
        step()
    assert np.allclose(A.get_value(), TORCH_VALUES[method])
    assert np.allclose(B.get_value(), TORCH_VALUES[method])


# -- numpy oracles of Lasagne's formulas ---------------------------------------------------
def np_rule(name, kw):
    """A stateful numpy implementation of an update rule: step(params, grads) -> new params."""
    state = {}
    lr = kw.get("learning_rate")

    def zeros(i, key, p):
        return state.setdefault((i, key), np.zeros_like(p))

    def step(params, grads):
        state["t"] = state.get("t", 0) + 1
        t = state["t"]
        out = []
        for i, (p, g) in enumerate(zip(params, grads)):
            if name == "sgd":
                new = p - lr * g
            elif name in ("momentum", "nesterov_momentum"):
                mu = kw.get("momentum", 0.9)
                v = mu * zeros(i, "v", p) - lr * g
                state[(i, "v")] = v
                new = p + v if name == "momentum" else p + mu * v - lr * g
            elif name == "adagrad":
                eps = kw.get("epsilon", 1e-6)
                a = zeros(i, "a", p) + g**2
                state[(i, "a")] = a
                new = p - lr * g / np.sqrt(a + eps)
            elif name == "rmsprop":
                rho, eps = kw.get("rho", 0.9), kw.get("epsilon", 1e-6)
                a = rho * zeros(i, "a", p) + (1 - rho) * g**2
                state[(i, "a")] = a
                new = p - lr * g / np.sqrt(a + eps)
            elif name == "adadelta":
                lr_, rho, eps = kw.get("learning_rate", 1.0), kw.get("rho", 0.95), kw.get("epsilon", 1e-6)
                a = rho * zeros(i, "a", p) + (1 - rho) * g**2
                d = zeros(i, "d", p)
                upd = g * np.sqrt(d + eps) / np.sqrt(a + eps)
                state[(i, "a")], state[(i, "d")] = a, rho * d + (1 - rho) * upd**2
                new = p - lr_ * upd
            elif name == "rprop":
                inc, dec = kw.get("increase", 1.01), kw.get("decrease", 0.99)
                lo, hi = kw.get("min_step", 0.0), kw.get("max_step", 100.0)
                test = g * zeros(i, "g", p)
                step_prev = state.setdefault((i, "s"), np.full_like(p, lr))
                factor = np.where(test > 0, inc, np.where(test < 0, dec, 1.0))
                step_new = np.clip(step_prev * factor, lo, hi)
                kept = np.where(test < 0, 0.0, g)
                state[(i, "g")], state[(i, "s")] = kept, step_new
                new = p - np.sign(kept) * step_new
            else:  # adam family
                b1, b2, eps = kw.get("beta1", 0.9), kw.get("beta2", 0.999), kw.get("epsilon", 1e-8)
                m = b1 * zeros(i, "m", p) + (1 - b1) * g
                state[(i, "m")] = m
                if name == "adamax":
                    u = np.maximum(b2 * zeros(i, "u", p), np.abs(g))
                    state[(i, "u")] = u
                    new = p - lr / (1 - b1**t) * m / (u + eps)
                else:
                    v = b2 * zeros(i, "v", p) + (1 - b2) * g**2
                    state[(i, "v")] = v
                    if name == "amsgrad":
                        v = np.maximum(zeros(i, "vh", p), v)
                        state[(i, "vh")] = v
                    new = p - lr * np.sqrt(1 - b2**t) / (1 - b1**t) * m / (np.sqrt(v) + eps)
            out.append(new)
        return out

    return step


ORACLE_CASES = [
    ("sgd", {"learning_rate": 0.05}),
    ("momentum", {"learning_rate": 0.05, "momentum": 0.8}),
    ("nesterov_momentum", {"learning_rate": 0.05, "momentum": 0.7}),
    ("adagrad", {"learning_rate": 0.3, "epsilon": 1e-4}),
    ("rmsprop", {"learning_rate": 0.02, "rho": 0.8, "epsilon": 1e-4}),
    ("adadelta", {"learning_rate": 0.9, "rho": 0.9, "epsilon": 1e-4}),
    ("adam", {"learning_rate": 0.05, "beta1": 0.8, "beta2": 0.95, "epsilon": 1e-4}),
    ("adamax", {"learning_rate": 0.05, "beta1": 0.85, "beta2": 0.9, "epsilon": 1e-4}),
    ("amsgrad", {"learning_rate": 0.05, "beta1": 0.8, "beta2": 0.9, "epsilon": 1e-4}),
    ("rprop", {"learning_rate": 0.05, "increase": 1.2, "decrease": 0.5, "min_step": 1e-3, "max_step": 0.2}),
]


def _problem(dtype):
    """Two parameters of non-square shapes; grad = 2 * C * W - X with fresh data X every step."""
    rng = np.random.default_rng(7)
    W0, b0 = rng.normal(size=(4, 3)), rng.normal(size=(5,))
    CW, Cb = rng.uniform(0.5, 2.0, (4, 3)), rng.uniform(0.5, 2.0, (5,))
    data = [(rng.normal(size=(4, 3)), rng.normal(size=(5,))) for _ in range(10)]
    W = graphc.shared(W0.astype(dtype), name="W", dtype=dtype)
    b = graphc.shared(b0.astype(dtype), name="b", dtype=dtype)
    XW, Xb = T.matrix("XW", dtype=dtype), T.vector("Xb", dtype=dtype)
    grads = [2 * CW.astype(dtype) * W - XW, 2 * Cb.astype(dtype) * b - Xb]

    def np_grads(ps, x):
        return [2 * CW * ps[0] - x[0], 2 * Cb * ps[1] - x[1]]

    return (W, b), (XW, Xb), grads, (W0, b0), data, np_grads


@pytest.mark.parametrize("name, kw", ORACLE_CASES, ids=[c[0] for c in ORACLE_CASES])
def test_against_numpy_float64(name, kw):
    params, inputs, grads, start, data, np_grads = _problem("float64")
    step = graphc.function(list(inputs), [], updates=getattr(U, name)(grads, list(params), **kw))
    oracle, ps = np_rule(name, kw), list(start)
    for x in data:
        step(*x)
        ps = oracle(ps, np_grads(ps, x))
    for p, expected in zip(params, ps):
        assert p.get_value().dtype == np.float64
        np.testing.assert_allclose(p.get_value(), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name, kw", ORACLE_CASES[::2], ids=[c[0] for c in ORACLE_CASES[::2]])
def test_against_numpy_float32(name, kw):
    params, inputs, grads, start, data, np_grads = _problem("float32")
    step = graphc.function(list(inputs), [], updates=getattr(U, name)(grads, list(params), **kw))
    oracle, ps = np_rule(name, kw), [s.astype("float32").astype("float64") for s in start]
    for x in data:
        x32 = [a.astype("float32") for a in x]
        step(*x32)
        ps = oracle(ps, np_grads(ps, x32))
    for p, expected in zip(params, ps):
        assert p.get_value().dtype == np.float32
        np.testing.assert_allclose(p.get_value(), expected, rtol=2e-4, atol=2e-5)


# -- torch.optim as an oracle (optional) ---------------------------------------------------
TORCH_CASES = [
    ("sgd", {"learning_rate": 0.05}, "SGD", {"lr": 0.05}),
    ("momentum", {"learning_rate": 0.05, "momentum": 0.8}, "SGD", {"lr": 0.05, "momentum": 0.8}),
    (
        "nesterov_momentum",
        {"learning_rate": 0.05, "momentum": 0.7},
        "SGD",
        {"lr": 0.05, "momentum": 0.7, "nesterov": True},
    ),
    # epsilon=0 where torch puts epsilon elsewhere (outside the square root, or scaled): then the rules agree exactly
    ("adagrad", {"learning_rate": 0.3, "epsilon": 0.0}, "Adagrad", {"lr": 0.3, "eps": 0.0}),
    ("rmsprop", {"learning_rate": 0.02, "rho": 0.8, "epsilon": 0.0}, "RMSprop", {"lr": 0.02, "alpha": 0.8, "eps": 0.0}),
    ("adadelta", {"learning_rate": 0.9, "rho": 0.9, "epsilon": 1e-4}, "Adadelta", {"lr": 0.9, "rho": 0.9, "eps": 1e-4}),
    (
        "adam",
        {"learning_rate": 0.05, "beta1": 0.8, "beta2": 0.95, "epsilon": 0.0},
        "Adam",
        {"lr": 0.05, "betas": (0.8, 0.95), "eps": 0.0},
    ),
    (
        "adamax",
        {"learning_rate": 0.05, "beta1": 0.85, "beta2": 0.9, "epsilon": 0.0},
        "Adamax",
        {"lr": 0.05, "betas": (0.85, 0.9), "eps": 0.0},
    ),
    (
        "amsgrad",
        {"learning_rate": 0.05, "beta1": 0.8, "beta2": 0.9, "epsilon": 0.0},
        "Adam",
        {"lr": 0.05, "betas": (0.8, 0.9), "eps": 0.0, "amsgrad": True},
    ),
]


@pytest.mark.parametrize("name, kw, tname, tkw", TORCH_CASES, ids=[c[0] for c in TORCH_CASES])
def test_against_torch_optim(name, kw, tname, tkw):
    torch = pytest.importorskip("torch")
    params, inputs, grads, start, data, np_grads = _problem("float64")
    step = graphc.function(list(inputs), [], updates=getattr(U, name)(grads, list(params), **kw))
    tparams = [torch.tensor(s, dtype=torch.float64, requires_grad=True) for s in start]
    opt = getattr(torch.optim, tname)(tparams, **tkw)
    for x in data:
        step(*x)
        with torch.no_grad():
            for tp, g in zip(tparams, np_grads([tp.detach().numpy() for tp in tparams], x)):
                tp.grad = torch.from_numpy(g)
        opt.step()
    for p, tp in zip(params, tparams):
        np.testing.assert_allclose(p.get_value(), tp.detach().numpy(), rtol=1e-9, atol=1e-12)


# -- structure of the returned updates --------------------------------------------------------
EXPECTED_KEYS = {
    "sgd": ["W", "b"],
    "momentum": ["W", "b", "W.velocity", "b.velocity"],
    "nesterov_momentum": ["W", "b", "W.velocity", "b.velocity"],
    "adagrad": ["W.accu", "W", "b.accu", "b"],
    "rmsprop": ["W.accu", "W", "b.accu", "b"],
    "adadelta": ["W.accu", "W", "W.delta_accu", "b.accu", "b", "b.delta_accu"],
    "adam": ["W.m", "W.v", "W", "b.m", "b.v", "b", "adam.t"],
    "adamax": ["W.m", "W.u", "W", "b.m", "b.u", "b", "adamax.t"],
    "amsgrad": ["W.m", "W.v", "W.v_hat", "W", "b.m", "b.v", "b.v_hat", "b", "amsgrad.t"],
    "rprop": ["W", "W.grad", "W.step", "b", "b.grad", "b.step"],
}


@pytest.mark.parametrize("name, kw", ORACLE_CASES, ids=[c[0] for c in ORACLE_CASES])
def test_update_keys_order_and_state(name, kw):
    W = graphc.shared(np.ones((4, 3), "float32"), name="W")
    b = graphc.shared(np.ones(5, "float64"), name="b", dtype="float64")
    grads = [T.ones((4, 3)), T.ones(5, dtype="float64")]
    updates = getattr(U, name)(grads, [W, b], **kw)
    assert isinstance(updates, OrderedDict)
    assert [v.name for v in updates] == EXPECTED_KEYS[name]
    keys = list(updates)
    assert keys[EXPECTED_KEYS[name].index("W")] is W and keys[EXPECTED_KEYS[name].index("b")] is b
    for var, new in updates.items():
        assert isinstance(var, graphc.SharedVariable)
        assert new.dtype == var.dtype and new.ndim == var.ndim
        if var.name.endswith(".t"):
            assert var.get_value().shape == () and var.dtype == graphc.config.floatX and var.get_value() == 0
        elif var not in (W, b):
            owner = W if var.name.startswith("W.") else b
            assert var.dtype == owner.dtype and var.get_value().shape == owner.get_value().shape
            initial = kw["learning_rate"] if var.name.endswith(".step") else 0.0  # rprop's steps start at lr
            np.testing.assert_allclose(var.get_value(), initial, rtol=1e-6)
    # each call creates fresh state
    again = getattr(U, name)(grads, [W, b], **kw)
    fresh = [v for v in again if v not in (W, b)]
    assert all(v not in updates for v in fresh)


def test_rprop_reference_trajectory_and_errors():
    """downhill's defaults on f(X) = sum(C X**2) from X = 1: steps 0.1 * 1.01**k while the sign holds."""
    X = graphc.shared(np.ones(3, "float32"), name="X")
    f = T.sum(COEF.astype("float32") * X**2)
    step = graphc.function([], f, updates=U.rprop(f, [X], learning_rate=0.1))
    for _ in range(10):
        step()
    expected = 1 - 0.1 * sum(1.01**k for k in range(10))
    assert X.get_value().dtype == np.float32
    np.testing.assert_allclose(X.get_value(), [expected] * 3, rtol=1e-5)
    step()  # the sign flips: no move, the step shrinks, the gradient memory is cleared
    np.testing.assert_allclose(X.get_value(), [expected] * 3, rtol=1e-5)
    with pytest.raises(ValueError, match="min_step .* must not exceed max_step"):
        U.rprop(f, [X], min_step=2.0, max_step=1.0)
    with pytest.raises(TypeError, match="initial step size"):
        U.rprop(f, [X], learning_rate=T.scalar("lr"))


def test_esgd_preconditions_by_the_hessian_vector_estimate():
    """On sum(C X**2), Hv = 2 C v with v ~ N(0, 1): D / ((1 - rho) 4 C**2) are chi-square(1) draws."""
    c = np.repeat(COEF, 2000).astype("float32")
    X = graphc.shared(np.ones(c.size, "float32"), name="X")
    f = T.sum(c * X**2)
    updates = U.esgd(f, [X], learning_rate=0.1, rho=0.9, epsilon=1e-8, rng=5)
    assert [v.name for v in updates] == ["X.D", "X"]
    graphc.function([], f, updates=updates)()
    D = next(iter(updates)).get_value()
    draws = D / (0.1 * 4 * c**2)
    assert abs(draws.mean() - 1) < 0.08 and abs(draws.var() - 2) < 0.4
    np.testing.assert_allclose(X.get_value(), 1 - 0.1 * 2 * c / (np.sqrt(D) + 1e-8), rtol=1e-5)
    with pytest.raises(TypeError, match="needs the scalar loss"):
        U.esgd([2 * X], [X])


def test_adam_step_counter_counts():
    W = graphc.shared(np.ones(3, "float32"), name="W")
    updates = U.adam([T.ones(3)], [W])
    t = list(updates)[-1]
    step = graphc.function([], [], updates=updates)
    for _ in range(3):
        step()
    assert t.get_value() == 3


def test_apply_momentum_subset_and_copy():
    A, B = _pair()
    base = U.sgd([2 * COEF * A, 2 * COEF * B], [A, B], learning_rate=0.1)
    for apply in (U.apply_momentum, U.apply_nesterov_momentum):
        out = apply(base, [B], momentum=0.5)
        assert [v.name for v in out] == ["A", "B", "B.velocity"]
        assert out[A] is base[A] and out[B] is not base[B]
        assert list(base) == [A, B]  # the input is not modified
    step = graphc.function([], [], updates=U.apply_momentum(base, [A, B], momentum=0.5))
    for _ in range(10):
        step()
    assert np.allclose(A.get_value(), TORCH_VALUES["momentum"])


def test_symbolic_hyper_parameters():
    W = graphc.shared(np.ones(3, "float32"), name="W")
    lr = graphc.shared(np.float32(0.1), name="lr")
    step = graphc.function([], [], updates=U.sgd([T.ones(3)], [W], learning_rate=lr))
    step()
    lr.set_value(np.float32(0.5))
    step()
    np.testing.assert_allclose(W.get_value(), [0.4, 0.4, 0.4], rtol=1e-6)
    with pytest.raises(ValueError, match="sgd: learning_rate must be a scalar"):
        U.sgd([T.ones(3)], [W], learning_rate=T.vector())


# -- get_or_compute_grads ---------------------------------------------------------------
def test_get_or_compute_grads_given_list():
    A = graphc.shared(np.ones((2, 3), "float32"))
    B = graphc.shared(np.ones(4, "float32"))
    grads = [T.zeros((2, 3)), T.zeros(4)]
    assert U.get_or_compute_grads(grads, [A, B]) is grads
    converted = U.get_or_compute_grads((np.zeros((2, 3)), 1.0), [A, B])  # arrays and broadcastable scalars
    assert all(isinstance(g, graphc.tensor.Variable) for g in converted)
    with pytest.raises(ValueError, match="got 2 gradient expressions for 1 parameters"):
        U.get_or_compute_grads(grads, [A])
    with pytest.raises(ValueError, match="does not fit"):
        U.get_or_compute_grads([T.zeros((3, 2)), T.zeros(4)], [A, B])
    with pytest.raises(ValueError, match="shared variables only"):
        U.get_or_compute_grads(grads, [A, T.vector()])
    with pytest.raises(ValueError, match="listed twice"):
        U.sgd([grads[0], grads[0]], [A, A], learning_rate=0.1)


def test_get_or_compute_grads_without_graphc_grad(monkeypatch):
    import sys

    A = graphc.shared(np.ones(3, "float32"))
    monkeypatch.delattr(graphc, "grad", raising=False)
    monkeypatch.setitem(sys.modules, "graphc.train", None)
    with pytest.raises(NotImplementedError, match="list of gradient expressions"):
        U.adam((A**2).sum(), [A])


def test_get_or_compute_grads_with_graphc_grad():
    if getattr(graphc, "grad", None) is None:
        pytest.skip("graphc.grad is not available")
    A = graphc.shared(np.array([1.0, 2.0, 3.0], "float32"))
    (g,) = U.get_or_compute_grads((A**2).sum(), [A])
    np.testing.assert_allclose(graphc.function([], g)(), [2.0, 4.0, 6.0])


# -- hyper-parameter checks ----------------------------------------------------------------
BAD = [
    ("sgd", {"learning_rate": -0.1}, "learning_rate"),
    ("sgd", {"learning_rate": float("nan")}, "learning_rate"),
    ("sgd", {"learning_rate": float("inf")}, "learning_rate"),
    ("momentum", {"learning_rate": -1.0}, "learning_rate"),
    ("momentum", {"learning_rate": 0.1, "momentum": 1.0}, "momentum"),
    ("momentum", {"learning_rate": 0.1, "momentum": -0.1}, "momentum"),
    ("nesterov_momentum", {"learning_rate": 0.1, "momentum": 1.5}, "momentum"),
    ("adagrad", {"epsilon": -1e-6}, "epsilon"),
    ("rmsprop", {"rho": 1.0}, "rho"),
    ("rmsprop", {"rho": float("nan")}, "rho"),
    ("adadelta", {"rho": -0.5}, "rho"),
    ("adadelta", {"learning_rate": float("nan")}, "learning_rate"),
    ("adam", {"beta1": 1.0}, "beta1"),
    ("adam", {"beta2": 1.2}, "beta2"),
    ("adam", {"learning_rate": -0.001}, "learning_rate"),
    ("adamax", {"beta2": -0.1}, "beta2"),
    ("amsgrad", {"epsilon": float("nan")}, "epsilon"),
    ("rprop", {"increase": -1.0}, "increase"),
    ("rprop", {"max_step": float("inf")}, "max_step"),
    ("esgd", {"rho": 1.0}, "rho"),
]


@pytest.mark.parametrize("name, kw, arg", BAD, ids=[f"{b[0]}-{b[2]}-{i}" for i, b in enumerate(BAD)])
def test_bad_hyper_parameters(name, kw, arg):
    W = graphc.shared(np.ones(3, "float32"))
    loss = T.sum(W * W) if name == "esgd" else [T.ones(3)]
    with pytest.raises(ValueError, match=f"{name}: {arg}"):
        getattr(U, name)(loss, [W], **kw)


def test_bad_hyper_parameters_apply_and_types():
    W = graphc.shared(np.ones(3, "float32"))
    base = U.sgd([T.ones(3)], [W], learning_rate=0.1)
    with pytest.raises(ValueError, match="apply_momentum: momentum"):
        U.apply_momentum(base, momentum=1.0)
    with pytest.raises(ValueError, match="apply_nesterov_momentum: momentum"):
        U.apply_nesterov_momentum(base, momentum=-1)
    with pytest.raises(TypeError, match="sgd: learning_rate"):
        U.sgd([T.ones(3)], [W], learning_rate="0.1")
    with pytest.raises(KeyError, match="no entry"):
        U.apply_momentum(base, [graphc.shared(np.ones(2, "float32"))])
    with pytest.raises(TypeError, match="dict"):
        U.apply_momentum([(W, W)])


# -- norm constraints ------------------------------------------------------------------------
def _np_norm_constraint(x, max_norm, axes, eps=1e-7):
    norms = np.sqrt((x**2).sum(axis=axes, keepdims=True))
    return x * (np.clip(norms, 0, max_norm) / (eps + norms))


@pytest.mark.parametrize(
    "shape, axes, expected_axes",
    [
        ((6, 4), None, (0,)),
        ((5, 3, 4), None, (1, 2)),
        ((4, 3, 2, 5), None, (1, 2, 3)),
        ((4, 3, 2, 5), (0, 2), (0, 2)),
        ((7,), (0,), (0,)),
    ],
)
def test_norm_constraint_values(shape, axes, expected_axes):
    x0 = np.random.default_rng(3).normal(size=shape).astype("float32") * 3
    param = graphc.shared(x0)
    update = U.norm_constraint(param, 2.0, norm_axes=axes)
    assert update.dtype == param.dtype
    graphc.function([], [], updates=[(param, update)])()
    np.testing.assert_allclose(param.get_value(), _np_norm_constraint(x0, 2.0, expected_axes), rtol=1e-5)
    norms = graphc.utils.compute_norms(param.get_value(), norm_axes=expected_axes)
    assert norms.max() <= 2.0 * (1 + 1e-5)
    small = np.sqrt((x0**2).sum(axis=expected_axes)) <= 2.0
    np.testing.assert_allclose(norms[small], np.sqrt((x0**2).sum(axis=expected_axes))[small], rtol=1e-5)


def test_norm_constraint_unsupported_dims():
    for shape in [(1, 2, 3, 4, 5, 6), (3,)]:
        with pytest.raises(ValueError, match="Unsupported tensor dimensionality"):
            U.norm_constraint(graphc.shared(np.ones(shape, "float32")), 1.0)
    with pytest.raises(ValueError, match="out of range"):
        U.norm_constraint(T.matrix(), 1.0, norm_axes=(2,))
    with pytest.raises(ValueError, match="norm_constraint: max_norm"):
        U.norm_constraint(T.matrix(), -1.0)


def test_total_norm_constraint_lasagne_case():
    x1, x2 = T.scalar(), T.matrix()
    tensors1 = U.total_norm_constraint([x1, x2], 5.0, return_norm=False)
    tensors2, norm = U.total_norm_constraint([x1, x2], 5.0, return_norm=True)
    f1 = graphc.function([x1, x2], tensors1)
    f2 = graphc.function([x1, x2], [*tensors2, norm])
    x_test = np.arange(1 + 9, dtype="float32")
    out1 = f1(x_test[-1], x_test[:9].reshape(3, 3))
    *out2, n = f2(x_test[-1], x_test[:9].reshape(3, 3))
    for a, b in zip(out1, out2):
        np.testing.assert_allclose(a, b)
    np.testing.assert_allclose(n, np.linalg.norm(x_test), rtol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(np.concatenate([np.ravel(o) for o in out1])), 5.0, rtol=1e-6)


@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_total_norm_constraint_values(max_norm):
    rng = np.random.default_rng(5)
    a0, b0 = rng.normal(size=(3, 5)), rng.normal(size=(4,))
    a, b = T.dmatrix("a"), T.vector("b", dtype="float32")
    scaled, norm = U.total_norm_constraint([a, b], max_norm, epsilon=1e-6, return_norm=True)
    assert [s.dtype for s in scaled] == ["float64", "float32"]
    sa, sb, n = graphc.function([a, b], [*scaled, norm])(a0, b0.astype("float32"))
    total = np.sqrt((a0**2).sum() + (b0.astype("float32") ** 2).sum())
    mult = min(total, max_norm) / (1e-6 + total)
    np.testing.assert_allclose(n, total, rtol=1e-6)
    np.testing.assert_allclose(sa, a0 * mult, rtol=1e-6)
    np.testing.assert_allclose(sb, b0 * mult, rtol=1e-5)


def test_total_norm_constraint_clips_gradients_for_sgd():
    A, B = _pair()
    grads = U.total_norm_constraint([2 * COEF * A, 2 * COEF * B], 0.1)
    graphc.function([], [], updates=U.sgd(grads, [A, B], learning_rate=1.0))()
    step = 1 - A.get_value()
    total = np.sqrt(2 * ((2 * COEF) ** 2).sum())
    np.testing.assert_allclose(step, 2 * COEF * 0.1 / total, rtol=1e-5)


def test_lasagne_namespace():
    import graphc as lasagne

    assert lasagne.updates.adam is U.adam
    assert set(U.__all__) == {
        "get_or_compute_grads", "sgd", "apply_momentum", "momentum", "apply_nesterov_momentum", "nesterov_momentum",
        "adagrad", "rmsprop", "adadelta", "adam", "adamax", "amsgrad", "norm_constraint", "total_norm_constraint",
        "rprop", "esgd",  # downhill's, for theanets
    }  # fmt: skip


def test_training_a_lasagne_network_end_to_end():
    """objectives + regularization + total_norm_constraint + adam on a small classifier (needs graphc.grad)."""
    if getattr(graphc, "grad", None) is None:
        pytest.skip("graphc.grad is not available")
    import graphc as lasagne
    from graphc.layers import DenseLayer, InputLayer, get_all_params, get_output

    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 10)).astype("float32")
    y = X[:, :3].argmax(axis=1).astype("int32")
    l_out = DenseLayer(DenseLayer(InputLayer((None, 10)), 16), 3, nonlinearity=lasagne.nonlinearities.softmax)
    x, t = T.matrix("x"), T.ivector("t")
    pred = get_output(l_out, x)
    loss = lasagne.objectives.aggregate(lasagne.objectives.categorical_crossentropy(pred, t))
    loss = loss + 1e-4 * lasagne.regularization.regularize_network_params(l_out, lasagne.regularization.l2)
    params = get_all_params(l_out, trainable=True)
    grads = U.total_norm_constraint(graphc.grad(loss, params), 10.0)
    acc = T.mean(lasagne.objectives.categorical_accuracy(pred, t))
    train = graphc.function([x, t], [loss, acc], updates=U.adam(grads, params, learning_rate=0.01))
    first = train(X, y)
    for _ in range(60):
        last = train(X, y)
    assert last[0] < 0.25 * first[0] and last[1] > 0.9
