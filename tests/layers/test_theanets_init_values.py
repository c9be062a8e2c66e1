"""Initial parameter values as upstream theanets draws them (same RandomState, same order).

The oracle re-draws upstream's formulas with numpy: ``util.random_matrix``
(normal(mean, std) draws, then a sparsity mask, spectral radius via the top
singular value, or a diagonal), ``random_vector``, the recurrent block rule and
each layer's order of draws.  Networks pass their ``rng=13`` to every layer as
the int, so each layer starts a fresh ``RandomState(13)``.
"""

from __future__ import annotations

import numpy as np
import pytest

from graphc import theanets

F = np.float32
NI, NH, NO = 3, 4, 2  # non-square everywhere


def rmat(rng, rows, cols, mean=0.0, std=None, sparsity=0.0, radius=0.0, diagonal=0.0):
    std = 1 / np.sqrt(rows + cols) if std is None else std
    arr = mean + std * rng.randn(rows, cols)
    if 1 > sparsity > 0:
        k = min(rows, cols)
        mask = rng.binomial(n=1, p=1 - sparsity, size=(rows, cols)).astype(bool)
        mask[:k, :k] |= np.eye(k).astype(bool)
        arr *= mask
    if radius > 0:
        u, s, vt = np.linalg.svd(arr, full_matrices=False)
        arr = np.dot(np.dot(u, np.diag(radius * s / abs(s[0]))), vt)
    if diagonal != 0:
        arr = diagonal * np.eye(max(rows, cols))[:rows, :cols]
    return arr.astype(F)


def rvec(rng, size, mean=0.0, std=1.0):
    return (mean + std * rng.randn(size)).astype(F)


def rweights(rng, size, nin, nout, **kw):
    """Upstream's Recurrent.add_weights: square blocks when nin is the layer size."""
    kw.setdefault("std", 1 / np.sqrt(nin + nout))  # glorot of the whole matrix, not of a block
    if nin == size and nout % nin == 0:
        return np.concatenate([rmat(rng, nin, nin, **kw) for _ in range(nout // nin)], axis=1)
    kw.pop("radius", None), kw.pop("diagonal", None)
    return rmat(rng, nin, nout, **kw)


def values(net, layer):
    return {p.name.split(".", 1)[1]: p.get_value() for p in _layer(net, layer).params}


def _layer(net, name):
    return [lyr for lyr in net.layers if lyr.name == name][0]


def check(got, want):
    assert sorted(got) == sorted(want)
    for k in want:
        assert got[k].dtype == np.float32
        np.testing.assert_array_equal(got[k], want[k], err_msg=k)


def ff_oracle(nin, nout, rng=None, **kw):
    rng = rng or np.random.RandomState(13)
    return {"w": rmat(rng, nin, nout, **kw), "b": rvec(rng, nout)}


@pytest.mark.parametrize("Model", [theanets.Regressor, theanets.Classifier, theanets.Autoencoder])
def test_feedforward_networks_seed_each_layer_with_the_int(Model):
    sizes = [NI, NH, 5, NI if Model is theanets.Autoencoder else NO]
    net = Model(sizes, rng=13)
    for i, lyr in enumerate(net.layers[1:], 1):
        check(values(net, lyr.name), ff_oracle(sizes[i - 1], sizes[i]))


def test_feedforward_options_mean_std_sparsity_diagonal():
    net = theanets.Regressor([NI, dict(size=NH, mean=0.5, std_w=0.3, sparsity=0.4), dict(size=NO, diagonal=2.0)], rng=7)
    check(values(net, "hid1"), ff_oracle(NI, NH, np.random.RandomState(7), mean=0.5, std=0.3, sparsity=0.4))
    rng = np.random.RandomState(7)
    want = {"w": rmat(rng, NH, NO, diagonal=2.0), "b": rvec(rng, NO)}
    check(values(net, "out"), want)


def test_shared_randomstate_draws_in_layer_order():
    net = theanets.Regressor([NI, NH, NO], rng=np.random.RandomState(5))
    rng = np.random.RandomState(5)
    want1, want2 = ff_oracle(NI, NH, rng), ff_oracle(NH, NO, rng)
    check(values(net, "hid1"), want1)
    check(values(net, "out"), want2)


def test_tied_only_draws_its_bias():
    net = theanets.Autoencoder([NI, NH, "tied"], rng=13)
    check(values(net, "out"), {"b": rvec(np.random.RandomState(13), NI)})


@pytest.mark.parametrize("act", ["prelu", "lgrelu", "maxout:3"])
def test_parametric_activations_draw_before_the_weights(act):
    net = theanets.Regressor([NI, (NH, act), NO], rng=13)
    rng = np.random.RandomState(13)
    want = {}
    if act == "prelu":
        want["leak"] = 0.1 * abs(rng.randn(NH).astype(F))
    elif act == "lgrelu":
        want["gain"] = 0.1 * abs(rng.randn(NH).astype(F))
        want["leak"] = 0.1 * abs(rng.randn(NH).astype(F))
    else:
        want["slope"] = rng.randn(NH, 3).astype(F)
        want["intercept"] = rng.randn(NH, 3).astype(F)
    want.update(ff_oracle(NI, NH, rng))
    check(values(net, "hid1"), want)


def _rec(form, draws, size=NH, nin=NI, **kw):
    net = theanets.recurrent.Regressor([nin, dict(form=form, size=size, **kw), NO], rng=13)
    rng = np.random.RandomState(13)
    opts = {k: v for k, v in kw.items() if k in ("radius", "sparsity", "diagonal", "mean")}
    want = {}
    for name, a, b, extra in draws:
        if b is None:
            want[name] = rvec(rng, a, **extra)
        else:
            want[name] = rweights(rng, size, a, b, **{**opts, **extra})
    check(values(net, "hid1"), want)


N = NH
RECURRENT = {
    "rnn": [("xh", NI, N, {}), ("hh", N, N, {}), ("b", N, None, {})],
    "mut1": [("xh", NI, N, {}), ("xr", NI, N, {}), ("xz", NI, N, {}), ("hh", N, N, {}), ("hr", N, N, {}),
             ("bh", N, None, {}), ("br", N, None, {}), ("bz", N, None, {})],
    "gru": [("xh", NI, N, {}), ("xr", NI, N, {}), ("xz", NI, N, {}), ("hh", N, N, {}), ("hr", N, N, {}),
            ("hz", N, N, {}), ("bh", N, None, {}), ("br", N, None, {}), ("bz", N, None, {})],
    "lstm": [("xh", NI, 4 * N, {}), ("hh", N, 4 * N, {}), ("b", 4 * N, None, {"mean": 2}),
             ("ci", N, None, {}), ("cf", N, None, {}), ("co", N, None, {})],
    "mrnn": [("xh", NI, N, {}), ("xf", NI, 2, {}), ("hf", N, 2, {}), ("fh", 2, N, {}), ("b", N, None, {})],
    "scrn": [("xs", NI, N, {}), ("xh", NI, N, {}), ("sh", N, N, {}), ("hh", N, N, {}), ("ho", N, N, {}),
             ("so", N, N, {}), ("b", N, None, {}), ("r", N, None, {})],
    "rrnn": [("xh", NI, N, {}), ("hh", N, N, {}), ("b", N, None, {}), ("r", N, None, {}), ("xr", NI, N, {})],
    "clockwork": [("hh", N, N, {}), ("xh", NI, N, {}), ("b", N, None, {})],
}  # fmt: skip


@pytest.mark.parametrize("form", sorted(RECURRENT))
def test_recurrent_draw_order(form):
    kw = {"periods": (1, 2)} if form == "clockwork" else {}
    _rec(form, RECURRENT[form], **kw)


def test_recurrent_radius_sparsity_and_blocks_on_square_inputs():
    # input size == layer size: upstream builds the input matrix from blocks too (radius applies)
    draws = [("xh", N, 4 * N, {}), ("hh", N, 4 * N, {}), ("b", 4 * N, None, {"mean": 2}),
             ("ci", N, None, {}), ("cf", N, None, {}), ("co", N, None, {})]  # fmt: skip
    _rec("lstm", draws, nin=N, radius=1.1, sparsity=0.3)
    _rec("rnn", RECURRENT["rnn"], radius=0.9)
    _rec("rnn", [("xh", N, N, {}), ("hh", N, N, {}), ("b", N, None, {})], nin=N, diagonal=0.5)


@pytest.mark.parametrize("mode", ["uniform", "log"])
def test_fixed_rates_come_from_numpys_global_generator(mode):
    np.random.seed(3)
    eps = 1e-4
    z = np.random.uniform(eps, 1 - eps, size=N) if mode == "uniform" else np.random.uniform(-6, -eps, size=N)
    want = z.astype(F) if mode == "uniform" else np.exp(z.astype(F))
    np.random.seed(3)
    net = theanets.recurrent.Regressor([NI, dict(form="rrnn", size=N, rate=mode), NO], rng=13)
    np.testing.assert_array_equal(_layer(net, "hid1")._rates.get_value(), want)
    rng = np.random.RandomState(13)
    check(values(net, "hid1"), {"xh": rmat(rng, NI, N), "hh": rmat(rng, N, N), "b": rvec(rng, N)})


def test_bidirectional_workers_each_seeded_with_the_int():
    net = theanets.recurrent.Regressor([NI, dict(form="bidirectional", worker="rnn", size=2 * N), NO], rng=13)
    params = {p.name: p.get_value() for p in _layer(net, "hid1").params}
    for half in ("fw", "bw"):
        rng = np.random.RandomState(13)
        want = {"xh": rmat(rng, NI, N), "hh": rmat(rng, N, N), "b": rvec(rng, N)}
        check({k: params[f"hid1_{half}.{k}"] for k in want}, want)


@pytest.mark.parametrize("form, shape, kernel", [("conv1", (5, NI), (1, 3)), ("conv2", (6, 5, NI), (3, 2))])
def test_convolution_draws_one_matrix_per_kernel_position(form, shape, kernel):
    fs = kernel[1] if form == "conv1" else kernel
    Model = theanets.recurrent.Regressor if form == "conv1" else theanets.Regressor
    net = Model([dict(form="input", size=NI, shape=shape), dict(form=form, size=NH, filter_size=fs), "flatten", NO], rng=13)
    rng = np.random.RandomState(13)
    w = np.zeros((NH, NI) + kernel, F)
    for r in range(kernel[0]):
        for c in range(kernel[1]):
            w[:, :, r, c] = rmat(rng, NH, NI)
    got = values(net, "hid1")
    got["w"] = got["w"].reshape(w.shape)
    check(got, {"w": w, "b": rvec(rng, NH)})
