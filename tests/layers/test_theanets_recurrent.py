"""theanets recurrent layers against step-by-step numpy implementations of the reference equations."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import graphc
from graphc import theanets
from graphc.testing import reference_evaluator
from graphc.theanets.layers import (
    GRU,
    LSTM,
    MRNN,
    MUT1,
    RNN,
    RRNN,
    SCRN,
    Bidirectional,
    Clockwork,
    ConfigurationError,
    Input,
)
from graphc.theanets.layers import Layer as TheanetsLayer
from graphc.theanets.layers._spec import file_spec

NI, NH, NO = 3, 5, 2  # input, hidden and output sizes: all different, so a swapped axis shows
B, T = 2, 7


def sig(z):
    return 1 / (1 + np.exp(-z))


def relu(z):
    return np.maximum(z, 0)


ACTS = {"tanh": np.tanh, "relu": relu, "linear": lambda z: z}


@pytest.fixture
def rng():
    return np.random.default_rng(11)


def _x(rng, b=B, t=T, n=NI):
    return rng.normal(size=(b, t, n)).astype("f")


def _params(layer):
    return {p.name.split(".", 1)[1]: p.get_value().astype(np.float64) for p in layer.params}


def _network(spec, extra_inputs=()):
    """A network of an input ``in`` (B, T, NI), optional extra inputs and the layer ``l`` from ``spec``."""
    layers = [dict(size=NI, ndim=3, name="in"), *extra_inputs, dict(name="l", inputs="in", **spec)]
    return theanets.Network(layers)


# -- the numpy oracle -----------------------------------------------------------------------------
def run_np(cell, x, states, back=False, mask=None):
    """Run ``cell(x_t, k, states) -> (new_states, outputs)`` over time; masked steps keep the states.

    ``k`` counts the steps in the order they run; outputs are stacked in input time order.
    """
    steps = x.shape[1]
    order = range(steps - 1, -1, -1) if back else range(steps)
    outs: dict = {}
    for k, t in enumerate(order):
        new, extra = cell(x[:, t], k, states)
        if mask is not None:
            keep = mask[:, t, None] != 0
            new = {name: np.where(keep, v, states[name]) for name, v in new.items()}
        states = new
        for name, v in {**new, **extra}.items():
            outs.setdefault(name, [None] * steps)[t] = v
    return {name: np.stack(v, axis=1) for name, v in outs.items()}


def reference(form, p, x, act="tanh", back=False, mask=None, h0=None, c0=None, s0=None, **kw):
    """Every output of a theanets recurrent layer of ``form`` with parameters ``p``, from its equations."""
    x = x.astype(np.float64)
    f = ACTS[act]
    b = x.shape[0]
    n = p["hh"].shape[0] if "hh" in p else p["b"].shape[0]
    zeros = np.zeros((b, n))
    h0 = zeros if h0 is None else h0.astype(np.float64)

    if form == "rnn":
        def cell(x_t, k, s):
            pre = x_t @ p["xh"] + p["b"] + s["out"] @ p["hh"]
            return {"out": f(pre)}, {"pre": pre}

        return run_np(cell, x, {"out": h0}, back, mask)

    if form == "rrnn":
        mode = kw.get("rate", "matrix")

        def cell(x_t, k, s):
            h = s["out"]
            if mode == "matrix":
                r = sig(x_t @ p["xr"] + p["r"])
            elif mode == "vector":
                r = sig(p["r"]) * np.ones_like(h)
            else:
                r = kw["rates"] * np.ones_like(h)
            pre = x_t @ p["xh"] + p["b"] + h @ p["hh"]
            hid = f(pre)
            return {"out": (1 - r) * h + r * hid}, {"pre": pre, "hid": hid, "rate": r}

        return run_np(cell, x, {"out": h0}, back, mask)

    if form == "mut1":
        def cell(x_t, k, s):
            h = s["out"]
            z = sig(x_t @ p["xz"] + p["bz"])
            r = sig(x_t @ p["xr"] + p["br"] + h @ p["hr"])
            pre = np.tanh(x_t @ p["xh"] + p["bh"]) + (r * h) @ p["hh"]
            hid = np.tanh(pre)
            return {"out": (1 - z) * h + z * hid}, {"pre": pre, "hid": hid, "rate": z}

        return run_np(cell, x, {"out": h0}, back, mask)

    if form == "gru":
        w_h, w_r, w_z = p["xh"], p["xr"], p["xz"]
        b_h, b_r, b_z = p["bh"], p["br"], p["bz"]

        def cell(x_t, k, s):
            h = s["out"]
            r = sig(x_t @ w_r + b_r + h @ p["hr"])
            z = sig(x_t @ w_z + b_z + h @ p["hz"])
            pre = x_t @ w_h + b_h + (r * h) @ p["hh"]
            hid = f(pre)
            return {"out": (1 - z) * h + z * hid}, {"pre": pre, "hid": hid, "rate": z}

        return run_np(cell, x, {"out": h0}, back, mask)

    if form == "lstm":
        w_i, w_f, w_c, w_o = np.split(p["xh"], 4, axis=1)
        u_i, u_f, u_c, u_o = np.split(p["hh"], 4, axis=1)
        b_i, b_f, b_c, b_o = np.split(p["b"], 4)

        def cell(x_t, k, s):
            h, c = s["out"], s["cell"]
            i = sig(x_t @ w_i + h @ u_i + b_i + c * p["ci"])
            fg = sig(x_t @ w_f + h @ u_f + b_f + c * p["cf"])
            c_new = fg * c + i * np.tanh(x_t @ w_c + h @ u_c + b_c)
            o = sig(x_t @ w_o + h @ u_o + b_o + c_new * p["co"])
            return {"out": o * np.tanh(c_new), "cell": c_new}, {}

        return run_np(cell, x, {"out": h0, "cell": zeros if c0 is None else c0}, back, mask)

    if form == "mrnn":
        def cell(x_t, k, s):
            fac = x_t @ p["xf"]
            pre = x_t @ p["xh"] + p["b"] + (fac * (s["out"] @ p["hf"])) @ p["fh"]
            return {"out": f(pre)}, {"pre": pre, "factors": fac}

        return run_np(cell, x, {"out": h0}, back, mask)

    if form == "scrn":
        c_size = p["sh"].shape[0]
        w_h, w_s = p["xh"], p["xs"]
        r = sig(p["r"]) if kw.get("rate", "vector") == "vector" else kw["rates"]

        def cell(x_t, k, s):
            s_new = (1 - r) * s["state"] + r * (x_t @ w_s)
            hid = sig(x_t @ w_h + s["hid"] @ p["hh"] + s_new @ p["sh"])  # logistic, whatever the activation
            return {"hid": hid, "state": s_new}, {}

        s_init = np.zeros((b, c_size)) if s0 is None else s0
        res = run_np(cell, x, {"hid": h0, "state": s_init}, back, mask)
        res["pre"] = res["hid"] @ p["ho"] + res["state"] @ p["so"] + p["b"]
        res["out"] = f(res["pre"])
        res["rate"] = np.broadcast_to(r, res["state"].shape)
        return res

    if form == "clockwork":
        periods = sorted(kw["periods"])
        size = len(periods)
        module = np.arange(n) // (n // size)
        blocks = (module[:, None] >= module[None, :]).astype(float)  # source j feeds target i iff slower or same
        unit_period = np.asarray(periods)[module]

        def cell(x_t, k, s):
            pre_new = x_t @ p["xh"] + p["b"] + s["out"] @ (p["hh"] * blocks)
            upd = (k % unit_period) == 0
            return {"out": np.where(upd, f(pre_new), s["out"]), "pre": np.where(upd, pre_new, s["pre"])}, {}

        return run_np(cell, x, {"out": h0, "pre": zeros}, back, mask)
    raise ValueError(form)


def _compare(got, want, names=None, atol=2e-5):
    for name in names or sorted(want):
        np.testing.assert_allclose(got[name], want[name], rtol=1e-4, atol=atol, err_msg=name)


# -- values ---------------------------------------------------------------------------------------
CASES = [
    ("rnn", {}, "tanh"),
    ("rnn", {}, "relu"),
    ("rrnn", {"rate": "matrix"}, "tanh"),
    ("rrnn", {"rate": "vector"}, "relu"),
    ("rrnn", {"rate": "uniform"}, "tanh"),
    ("rrnn", {"rate": "log"}, "tanh"),
    ("mut1", {}, "relu"),  # MUT1 always uses tanh
    ("gru", {}, "tanh"),
    ("gru", {}, "relu"),
    ("lstm", {}, "linear"),  # LSTM always uses tanh
    ("mrnn", {}, "tanh"),
    ("mrnn", {"factors": 4}, "relu"),
    ("scrn", {}, "tanh"),
    ("scrn", {"rate": "log", "context_size": 4}, "relu"),
    ("clockwork", {"periods": (4, 1, 2)}, "tanh"),  # unsorted on purpose; size 6 = 3 modules of 2
]
OUTPUTS = {
    "rnn": "out pre", "rrnn": "hid out pre rate", "mut1": "hid out pre rate", "gru": "hid out pre rate",
    "lstm": "cell out", "mrnn": "factors out pre", "scrn": "hid out pre rate state", "clockwork": "out pre",
}


def _size(form):
    return 6 if form == "clockwork" else NH


def _np_kwargs(layer, kwargs):
    kw = dict(kwargs)
    if getattr(layer, "_rates", None) is not None:
        kw["rates"] = layer._rates.get_value().astype(np.float64)
    return kw


@pytest.mark.parametrize("form, kwargs, act", CASES)
@pytest.mark.parametrize("direction", [None, "back"])
def test_values_against_numpy(rng, form, kwargs, act, direction):
    net = _network(dict(form=form, size=_size(form), activation=act, direction=direction, **kwargs))
    layer = net.layers[-1]
    x = _x(rng)
    got = {k.split(":")[1]: v for k, v in net.feed_forward(x).items() if k.startswith("l:")}
    assert sorted(got) == OUTPUTS[form].split()
    want = reference(form, _params(layer), x, act=act, back=direction == "back", **_np_kwargs(layer, kwargs))
    _compare(got, want)
    for name, value in got.items():
        assert value.shape == (B, T) + tuple(layer.output_shape_of(name)[1:])


@pytest.mark.parametrize("form, kwargs, act", CASES)
def test_back_equals_forward_on_reversed_input(rng, form, kwargs, act):
    spec = dict(form=form, size=_size(form), activation=act, **kwargs)
    np.random.seed(5)  # fixed 'uniform'/'log' rates come from numpy's global generator, as upstream's
    fw = _network(spec)
    np.random.seed(5)
    bw = _network(dict(spec, direction="backwards"))
    for p, q in zip(fw.params, bw.params):  # same seed, same parameters
        np.testing.assert_array_equal(p.get_value(), q.get_value())
    x = _x(rng)
    a, b = fw.feed_forward(x[:, ::-1].copy()), bw.feed_forward(x)
    for name in a:
        np.testing.assert_allclose(b[name], a[name][:, ::-1], rtol=1e-5, atol=1e-6, err_msg=name)


def test_clockwork_modules_update_on_their_periods(rng):
    net = _network(dict(form="clockwork", size=6, periods=(1, 2, 4), activation="tanh"))
    out = net.feed_forward(_x(rng, t=9))["l:out"]
    # module 1 (period 2) holds its value at odd steps, module 2 (period 4) between multiples of 4
    np.testing.assert_array_equal(out[:, 1::2, 2:4], out[:, 0:-1:2, 2:4])
    for t in range(9):
        np.testing.assert_array_equal(out[:, t, 4:], out[:, t - t % 4, 4:])
    assert not np.allclose(out[:, 1, 0:2], out[:, 0, 0:2])  # the fast module moves every step
    hh = net.layers[-1]
    mask = hh.block_mask()
    assert mask[4, 0] == 1 and mask[0, 4] == 0  # slow feeds fast, not the reverse (theanets #125)


# -- bidirectional --------------------------------------------------------------------------------
@pytest.mark.parametrize("worker, outs", [("rnn", "out pre"), ("lstm", "cell out"), ("gru", "hid out pre rate")])
def test_bidirectional_halves_line_up_in_time(rng, worker, outs):
    net = _network(dict(form="bidirectional", worker=worker, size=2 * NH, activation="tanh"))
    layer = net.layers[-1]
    assert isinstance(layer, Bidirectional) and layer.forward.name == "l_fw" and layer.backward.name == "l_bw"
    x = _x(rng)
    got = {k.split(":")[1]: v for k, v in net.feed_forward(x).items()}
    fw = reference(worker, _params(layer.forward), x, act="tanh")
    bw = reference(worker, _params(layer.backward), x, act="tanh", back=True)
    for name in outs.split():
        _compare(got, {f"fw_{name}": fw[name], f"bw_{name}": bw[name]})
    concat = {"out"} | ({"pre", "cell"} & set(outs.split()))
    for name in concat:
        np.testing.assert_allclose(got[name], np.concatenate([fw[name], bw[name]], axis=-1), rtol=1e-4, atol=2e-5)
    expected = concat | {f"fw_{o}" for o in outs.split()} | {f"bw_{o}" for o in outs.split()}
    assert set(got) - {"in:out"} == expected
    # as upstream: an int seed gives each worker a generator of its own from that seed, so they start equal
    np.testing.assert_array_equal(_params(layer.forward)["hh"], _params(layer.backward)["hh"])


# -- parameters -------------------------------------------------------------------------------------
NH_U = 9  # upstream's counts; MRNN with 3 factors


@pytest.mark.parametrize("form, kwargs, count, params, outputs", [
    ("rnn", {}, (1 + NI + NH_U) * NH_U, "xh hh b", "out pre"),
    ("clockwork", {"periods": (1, 3, 9)}, (1 + NI + NH_U) * NH_U, "xh hh b", "out pre"),
    ("rrnn", {"rate": "uniform"}, (1 + NI + NH_U) * NH_U, "xh hh b", "out pre rate hid"),
    ("rrnn", {"rate": "log"}, (1 + NI + NH_U) * NH_U, "xh hh b", "out pre rate hid"),
    ("rrnn", {"rate": "vector"}, (2 + NI + NH_U) * NH_U, "xh hh b r", "out pre rate hid"),
    ("rrnn", {"rate": "matrix"}, (2 + NH_U + 2 * NI) * NH_U, "xh hh b r xr", "out pre rate hid"),
    ("gru", {}, 3 * (1 + NI + NH_U) * NH_U, "xh xr xz hh hr hz bh br bz", "hid out pre rate"),
    ("mut1", {}, (3 + 3 * NI + 2 * NH_U) * NH_U, "bh br bz hh hr xh xr xz", "hid out pre rate"),
    ("lstm", {}, (7 + 4 * NH_U + 4 * NI) * NH_U, "xh hh b cf ci co", "out cell"),
    ("mrnn", {"factors": 3}, (7 + NI) * NH_U + 3 * NI, "xh xf hf fh b", "out pre factors"),
    ("scrn", {}, 2 * (1 + NI + 2 * NH_U) * NH_U, "xs xh sh hh ho so b r", "out pre hid rate state"),
])
def test_build_names_counts_and_outputs(form, kwargs, count, params, outputs):
    layer = TheanetsLayer.build(form, size=NH_U, name="l", inputs="in", **kwargs)
    layer.bind(theanets.Network([dict(size=NI, ndim=3)]))
    assert type(layer).__name__.lower() == form
    assert sorted(p.name for p in layer.params) == sorted("l." + p for p in params.split())
    assert layer.num_params == count
    out, upd = layer.connect({"in:out": graphc.tensor.tensor3("x")})
    assert upd == []
    assert sorted(out) == sorted("l:" + o for o in outputs.split())
    # upstream's to_spec: what the layer keeps among its options, not rate or context_size
    extra = {"factors": 3} if form == "mrnn" else {"periods": (1, 3, 9)} if form == "clockwork" else {}
    extra.update({"c_0": None} if form == "lstm" else {"s_0": None} if form == "scrn" else {})
    assert layer.to_spec() == dict(form=form, name="l", size=NH_U, inputs=("in:out",), activation="relu", h_0=None,
                                   **extra)
    # what a model file records rebuilds the layer exactly, rates included
    spec = file_spec(layer)
    assert spec["form"] == form and spec["h_0"] is None and "mask" not in spec
    rebuilt = TheanetsLayer.build(spec.pop("form"), **spec)
    rebuilt.bind(theanets.Network([dict(size=NI, ndim=3)]))
    assert [(p.name, p.type.shape) for p in rebuilt.params] == [(p.name, p.type.shape) for p in layer.params]
    if form == "rrnn" and kwargs["rate"] in ("uniform", "log"):
        np.testing.assert_array_equal(rebuilt._rates.get_value(), layer._rates.get_value())


def test_bidirectional_parameters():
    layer = TheanetsLayer.build("bidirectional", size=NH_U - 1, name="l", inputs="in")
    layer.bind(theanets.Network([dict(size=NI, ndim=3)]))
    half = (NH_U - 1) // 2
    assert sorted(p.name for p in layer.params) == sorted(
        f"l_{d}.{p}" for d in ("fw", "bw") for p in ("xh", "hh", "b"))
    assert layer.num_params == 2 * (1 + NI + half) * half
    assert layer.to_spec()["worker"] == "rnn"
    assert layer.find("l_bw.hh") is layer.backward.find("hh")


def test_parameter_shapes_non_square():
    net = _network(dict(form="scrn", size=NH, context_size=4))
    shapes = {p.name: p.type.shape for p in net.params}
    assert shapes == {"l.xs": (NI, 4), "l.xh": (NI, NH), "l.sh": (4, NH), "l.hh": (NH, NH), "l.ho": (NH, NH), "l.so": (4, NH),
                      "l.b": (NH,), "l.r": (4,)}
    scrn = net.layers[-1]
    assert "context_size" not in scrn.to_spec() and "rate" not in scrn.to_spec()  # as upstream's to_spec
    assert file_spec(scrn)["context_size"] == 4 and file_spec(scrn)["rate"] == "vector"
    net = _network(dict(form="lstm", size=NH))
    assert {p.name: p.type.shape for p in net.params} == {
        "l.xh": (NI, 4 * NH), "l.hh": (NH, 4 * NH), "l.b": (4 * NH,), "l.ci": (NH,), "l.cf": (NH,), "l.co": (NH,)}
    net = _network(dict(form="gru", size=NH))
    assert {p.name: p.type.shape for p in net.params} == {
        "l.xh": (NI, NH), "l.xr": (NI, NH), "l.xz": (NI, NH), "l.bh": (NH,), "l.br": (NH,), "l.bz": (NH,),
        "l.hh": (NH, NH), "l.hr": (NH, NH), "l.hz": (NH, NH)}
    assert [p.name for p in net.layers[-1].params] == [f"l.{k}" for k in "xh xr xz hh hr hz bh br bz".split()]
    net = _network(dict(form="mrnn", size=NH))  # ceil(sqrt(5)) = 3 factors
    assert {p.name: p.type.shape for p in net.params} == {
        "l.xh": (NI, NH), "l.xf": (NI, 3), "l.hf": (NH, 3), "l.fh": (3, NH), "l.b": (NH,)}


def test_initialization_radius_and_lstm_bias():
    layer = LSTM(size=40, inputs="in", name="l", radius=0.9, rng=3)
    layer.bind([Input(size=40, ndim=3)])
    hh = layer.find("hh").get_value()
    for block in np.split(hh, 4, axis=1):
        np.testing.assert_allclose(np.linalg.svd(block, compute_uv=False)[0], 0.9, rtol=1e-5)
    # as upstream: any matrix made of square (size, size) blocks gets the radius, the input one too
    np.testing.assert_allclose(np.linalg.svd(layer.find("xh").get_value()[:, :40], compute_uv=False)[0], 0.9, rtol=1e-5)
    b = layer.find("b").get_value()
    assert 1.7 < b.mean() < 2.3 and 0.8 < b.std() < 1.2  # theanets draws all of b from N(2, 1)
    rnn = RNN(size=NH, inputs="in", name="r", radius=1.5, rng=3)
    rnn.bind([Input(size=NI, ndim=3)])
    np.testing.assert_allclose(np.linalg.svd(rnn.find("hh").get_value(), compute_uv=False)[0], 1.5, rtol=1e-5)


def test_bptt_limit_reaches_the_scan():
    net = _network(dict(form="gru", size=NH, bptt_limit=3))
    found = []
    stack = [net.build_graph()[0]["l:out"]]
    seen = set()
    while stack:
        v = stack.pop()
        if id(v) in seen or v.owner is None:
            continue
        seen.add(id(v))
        if v.owner.op == "scan":
            found.append(v.owner.attrs)
        stack.extend(v.owner.inputs)
    assert [a["truncate_gradient"] for a in found] == [3]
    assert found[0]["reverse"] is False


# -- initial states and masks ------------------------------------------------------------------------
@pytest.mark.parametrize("form, refs", [("rnn", "h_0"), ("gru", "h_0"), ("lstm", "h_0 c_0"), ("scrn", "h_0 s_0"),
                                        ("clockwork", "h_0")])
def test_initial_states_from_outputs(rng, form, refs):
    size = _size(form)
    extra = [dict(form="input", size=size, name=ref.replace("_", "")) for ref in refs.split()]
    kwargs = {ref: ref.replace("_", "") for ref in refs.split()}
    if form == "clockwork":
        kwargs["periods"] = (1, 2)
    net = _network(dict(form=form, size=size, activation="tanh", **kwargs), extra)
    layer = net.layers[-1]
    assert layer.h_0 == "h0:out"
    x = _x(rng)
    states = {ref.replace("_", ""): rng.normal(size=(B, size)).astype("f") for ref in refs.split()}
    got = {k.split(":")[1]: v for k, v in net.feed_forward([x, *states.values()]).items() if k.startswith("l:")}
    want = reference(form, _params(layer), x, **states, **{k: v for k, v in kwargs.items() if k == "periods"})
    _compare(got, want)
    assert layer.to_spec()["h_0"] == "h0:out"


@pytest.mark.parametrize("form, kwargs", [("rnn", {}), ("lstm", {}), ("gru", {}), ("rrnn", {"rate": "vector"}),
                                          ("scrn", {}), ("clockwork", {"periods": (1, 3)})])
@pytest.mark.parametrize("direction", [None, "back"])
def test_masked_steps_keep_the_state(rng, form, kwargs, direction):
    size = _size(form)
    spec = dict(form=form, size=size, activation="tanh", mask="m", direction=direction, **kwargs)
    net = _network(spec, [dict(form="input", size=1, ndim=3, name="m")])
    x = _x(rng)
    mask = np.ones((B, T, 1), "f")
    mask[0, 4:] = 0  # right padding
    mask[1, 2] = 0  # a hole
    got = {k.split(":")[1]: v for k, v in net.feed_forward([x, mask]).items() if k.startswith("l:")}
    layer = net.layers[-1]
    want = reference(form, _params(layer), x, back=direction == "back", mask=mask[..., 0], **_np_kwargs(layer, kwargs))
    _compare(got, want)
    # padded steps carry the last valid state forward; run backward they keep the (zero) initial state
    state = got["hid" if form == "scrn" else "out"][0]
    held = np.broadcast_to(state[3], (T - 4, size)) if direction is None else np.zeros((T - 4, size))
    np.testing.assert_array_equal(state[4:], held)


def test_bidirectional_with_a_mask(rng):
    net = _network(dict(form="bidirectional", worker="lstm", size=2 * NH, mask="m"), [dict(form="input", size=1, ndim=3, name="m")])
    layer = net.layers[-1]
    x = _x(rng)
    mask = np.ones((B, T), "f")
    mask[1, 5:] = 0
    got = net.feed_forward([x, mask[..., None]])
    fw = reference("lstm", _params(layer.forward), x, mask=mask)
    bw = reference("lstm", _params(layer.backward), x, mask=mask, back=True)
    np.testing.assert_allclose(got["l:out"], np.concatenate([fw["out"], bw["out"]], -1), rtol=1e-4, atol=2e-5)


# -- errors -------------------------------------------------------------------------------------------
def test_configuration_errors():
    with pytest.raises(ConfigurationError, match="ndim=3"):
        theanets.Network([dict(size=NI, ndim=2), dict(form="rnn", size=NH)])
    with pytest.raises(ConfigurationError, match="multiple of the 2 modules"):
        Clockwork(size=5, periods=(1, 2), inputs="in")
    with pytest.raises(ConfigurationError, match="periods"):
        Clockwork(size=4, inputs="in")
    with pytest.raises(ConfigurationError, match="even size"):
        Bidirectional(size=5, inputs="in")
    with pytest.raises(ConfigurationError, match="worker must be a recurrent form"):
        Bidirectional(size=4, inputs="in", worker="ff")
    with pytest.raises(ConfigurationError, match="direction"):
        RNN(size=4, inputs="in", direction="sideways")
    with pytest.raises(ConfigurationError, match="bptt_limit"):
        RNN(size=4, inputs="in", bptt_limit=0)
    with pytest.raises(ConfigurationError, match="rate must be"):
        RRNN(size=4, inputs="in", rate="sometimes")
    with pytest.raises(ConfigurationError, match="rate must be"):
        SCRN(size=4, inputs="in", rate="matrix")
    with pytest.raises(ConfigurationError, match="cannot resolve h_0='nope'"):
        theanets.Network([dict(size=NI, ndim=3), dict(form="gru", size=NH, h_0="nope")])
    # an h_0 input another layer reads keeps its size: the state cannot take it
    with pytest.raises(ConfigurationError, match=r"h_0 'h0:out' must be \(batch, 5\)"):
        theanets.Network([dict(size=NI, ndim=3), dict(form="input", size=4, name="h0"),
                          dict(form="ff", size=3, inputs="h0", name="f"), dict(form="gru", size=NH, h_0="h0", inputs="in")])
    with pytest.raises(ConfigurationError, match=r"h_0 'hid:out' must be \(batch, 5\)"):
        theanets.Network([dict(size=NI, ndim=3), dict(form="input", size=4, name="h0"),
                          dict(form="ff", size=3, inputs="h0", name="hid"), dict(form="gru", size=NH, h_0="hid", inputs="in")])
    with pytest.raises(ConfigurationError, match="mask"):
        theanets.Network([dict(size=NI, ndim=3), dict(form="input", size=2, ndim=3, name="m"),
                          dict(form="rnn", size=NH, mask="m", inputs="in")])
    with pytest.raises(ConfigurationError, match="exactly one input"):
        theanets.Network([dict(size=NI, ndim=3), dict(form="input", size=NI, ndim=3, name="b"),
                          dict(form="rnn", size=NH, inputs=("in", "b"))])


def test_registered_forms():
    for form, cls in [("rnn", RNN), ("rrnn", RRNN), ("mut1", MUT1), ("gru", GRU), ("lstm", LSTM), ("mrnn", MRNN),
                      ("scrn", SCRN), ("clockwork", Clockwork), ("bidirectional", Bidirectional)]:
        assert TheanetsLayer._registry[form] is cls


# -- models, compiled functions, export ---------------------------------------------------------------
def test_one_function_serves_two_batch_sizes_and_lengths(rng):
    net = _network(dict(form="lstm", size=NH))
    layer = net.layers[-1]
    outputs, _ = net.build_graph()
    fn = graphc.function(net.inputs, [outputs["l:out"], outputs["l:cell"]])
    for b, t in [(2, 7), (5, 3)]:
        x = _x(rng, b, t)
        out, cell = fn(x)
        want = reference("lstm", _params(layer), x)
        np.testing.assert_allclose(out, want["out"], rtol=1e-4, atol=2e-5)
        np.testing.assert_allclose(cell, want["cell"], rtol=1e-4, atol=2e-5)


MODEL_SPECS = [
    (NH, "rnn"),
    dict(size=NH, form="rrnn", rate="vector"),
    dict(size=NH, form="rrnn", rate="uniform"),
    (NH, "mut1"),
    (NH, "gru"),
    (NH, "lstm", "tanh"),
    (NH, "mrnn"),
    (NH, "scrn"),
    dict(size=6, form="clockwork", periods=(1, 2, 4)),
    dict(size=6, form="bidirectional", worker="gru"),
    dict(size=NH, form="lstm", direction="back"),
]


@pytest.mark.parametrize("spec", MODEL_SPECS)
def test_model_builds_predicts_and_exports(tmp_path, rng, spec):
    net = theanets.Regressor([NI, spec, NO])
    assert net.layers[0].ndim == 3
    x = _x(rng)
    y = net.predict(x)
    assert y.shape == (B, T, NO)
    model = net.export(tmp_path / "m.onnx")
    onnx.checker.check_model(model, full_check=True)
    sess = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    for b, t in [(B, T), (3, 4)]:
        xb = _x(rng, b, t)
        np.testing.assert_allclose(sess.run(None, {"in": xb})[0], net.predict(xb), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("spec", [(NH, "rnn"), (NH, "lstm"), (NH, "gru"), dict(size=NH, form="gru", direction="back"),
                                  dict(size=6, form="clockwork", periods=(1, 2))])
def test_reference_evaluator_agrees(rng, spec):
    net = theanets.Regressor([NI, spec, NO])
    model = net.to_onnx(outputs="all")
    x = _x(rng, 3, 4)
    names = [o.name for o in model.graph.output]
    want = net.feed_forward(x)
    got = reference_evaluator(model).run(None, {"in": x})
    for name, value in zip(names, got):
        np.testing.assert_allclose(value, want[name], rtol=1e-4, atol=1e-5, err_msg=name)


def test_network_with_sequence_input_and_save_load(tmp_path, rng):
    net = theanets.Regressor([NI, dict(size=NH, form="rrnn", rate="log"),
                              dict(size=4, form="bidirectional", worker="rrnn", rate="uniform"), NO])
    x = _x(rng)
    path = tmp_path / "net.npz"
    net.save(path)
    loaded = theanets.Regressor.load(path)
    np.testing.assert_allclose(loaded.predict(x), net.predict(x), rtol=1e-6)  # fixed rates survive
    np.testing.assert_allclose(loaded.layers[1]._rates.get_value(), net.layers[1]._rates.get_value())
    bi, bi_loaded = net.layers[2], loaded.layers[2]
    assert not np.allclose(bi.forward._rates.get_value(), bi.backward._rates.get_value())
    np.testing.assert_allclose(bi_loaded.backward._rates.get_value(), bi.backward._rates.get_value())
    classifier = theanets.Classifier([NI, (NH, "gru"), 3])
    assert classifier.predict(x).shape == (B, T)


def test_an_input_holding_only_h0_takes_the_state_size(rng, capsys):
    # upstream never checks an input's size against its data: theanets' own test declares an
    # h_0 input of 7 units for an 8-unit layer and feeds it 8 columns
    net = theanets.recurrent.Regressor([dict(size=NI, form="input", name="h0", ndim=2), dict(size=NI, form="input", name="in"),
                                        dict(size=NH, form="rnn", name="rnn", h_0="h0", activation="tanh"),
                                        dict(size=2, form="ff", name="out")])
    assert "h_0 'h0:out' has size 3, but the state has 5 units; input 'h0' takes size 5" in capsys.readouterr().err
    assert net.layers[0].size == 5 and net.layers[0].input.type.shape[1:] == (5,)
    assert net.layers[0].to_spec()["size"] == 5
    h0, x = rng.normal(size=(B, NH)).astype("f"), _x(rng)
    got = net.feed_forward([h0, x])
    want = reference("rnn", _params(net.layers[2]), x, h0=h0)
    _compare({"out": got["rnn:out"], "pre": got["rnn:pre"]}, want)
