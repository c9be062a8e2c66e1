"""theanets sparse inputs: Input(sparse='csr'|'csc') takes scipy.sparse matrices.

Oracle: the same network fed the dense matrix.  Sparse data stay sparse while they
are split into minibatches; only each minibatch is densified (checked with a
duck-typed CSR stand-in that records the shapes its ``toarray`` is asked for,
which needs no scipy).
"""

from __future__ import annotations

import numpy as np
import pytest

from graphc import theanets
from graphc.theanets.layers import ConfigurationError, Input

N, NIN, NHID, NOUT, NCLS = 37, 7, 6, 5, 4  # non-square everywhere

RNG = np.random.RandomState(42)
DENSE = (RNG.rand(N, NIN) * (RNG.rand(N, NIN) < 0.35)).astype("f")  # mostly zeros
TARGETS = RNG.randn(N, NOUT).astype("f")
LABELS = RNG.randint(NCLS, size=N).astype("i")
WEIGHTS = np.abs(RNG.randn(N, NOUT)).astype("f")


class RecordingCSR:
    """A duck-typed CSR matrix over a dense array: rows slice lazily, ``toarray`` records its shapes."""

    format = "csr"

    def __init__(self, array, log):
        self._a = np.asarray(array)
        self.log = log

    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)

    def tocsr(self):
        return self

    def __getitem__(self, rows):
        return RecordingCSR(self._a[rows], self.log)

    def toarray(self):
        self.log.append(self._a.shape)
        return self._a.copy()


def sparse_mod():
    return pytest.importorskip("scipy.sparse")


def to_sparse(x, fmt):
    sp = sparse_mod()
    return sp.csr_matrix(x) if fmt == "csr" else sp.csc_matrix(x)


def layers(fmt, out, model=theanets.Regressor):
    first = dict(size=NIN, sparse=fmt) if fmt else NIN
    return model([first, NHID, out])


# -- configuration ---------------------------------------------------------------------
@pytest.mark.parametrize("spec, expected", [(False, None), (None, None), (True, "csr"), ("csr", "csr"), ("CSC", "csc")])
def test_sparse_argument(spec, expected):
    layer = Input(NIN, sparse=spec)
    assert layer.sparse == expected
    assert layer.input.ndim == 2 and layer.params == []


@pytest.mark.parametrize("spec", ["coo", "dense", 1.5, ["csr"]])
def test_bad_sparse_argument(spec):
    with pytest.raises(ConfigurationError, match="sparse must be"):
        Input(NIN, sparse=spec)


def test_sparse_input_must_be_a_matrix():
    with pytest.raises(ConfigurationError, match="ndim=2"):
        Input(NIN, ndim=3, sparse="csr")


@pytest.mark.parametrize(
    "spec", [(NIN, "csr"), dict(size=NIN, sparse="csr"), dict(form="input", size=NIN, sparse="csr")]
)
def test_network_specs(spec):
    net = theanets.Regressor([spec, NHID, NOUT])
    assert net.layers[0].sparse == "csr"
    assert net.layers[0].to_spec()["sparse"] == "csr"


def test_save_load_keeps_sparse(tmp_path):
    net = layers("csc", NOUT)
    net.save(tmp_path / "m.npz")
    back = theanets.Regressor.load(tmp_path / "m.npz")
    assert back.layers[0].sparse == "csc"
    x = to_sparse(DENSE, "csc")
    np.testing.assert_allclose(back.predict(x), net.predict(x), rtol=1e-6)


# -- forward passes: sparse == dense ------------------------------------------------------
@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_regressor_forward(fmt):
    dense, sparse = layers(None, NOUT), layers(fmt, NOUT)
    x = to_sparse(DENSE, fmt)
    expected = dense.predict(DENSE)
    assert expected.shape == (N, NOUT)
    np.testing.assert_allclose(sparse.predict(x), expected, rtol=1e-6, atol=1e-7)
    ff_dense, ff_sparse = dense.feed_forward(DENSE), sparse.feed_forward(x)
    assert sorted(ff_dense) == sorted(ff_sparse)
    for key in ff_dense:
        np.testing.assert_allclose(ff_sparse[key], ff_dense[key], rtol=1e-6, atol=1e-7)
    assert sparse.score(x, TARGETS) == pytest.approx(dense.score(DENSE, TARGETS), rel=1e-6)
    assert sparse.score(x, TARGETS, WEIGHTS) == pytest.approx(dense.score(DENSE, TARGETS, WEIGHTS), rel=1e-6)
    np.testing.assert_allclose(sparse.predict({"in": x}), expected, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_classifier_and_autoencoder_forward(fmt):
    x = to_sparse(DENSE, fmt)
    dense, sparse = layers(None, NCLS, theanets.Classifier), layers(fmt, NCLS, theanets.Classifier)
    np.testing.assert_allclose(sparse.predict_proba(x), dense.predict_proba(DENSE), rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(sparse.predict(x), dense.predict(DENSE))
    np.testing.assert_allclose(sparse.predict_logit(x), dense.predict_logit(DENSE), rtol=1e-6, atol=1e-7)
    assert sparse.score(x, LABELS) == dense.score(DENSE, LABELS)
    dense, sparse = layers(None, NIN, theanets.Autoencoder), layers(fmt, NIN, theanets.Autoencoder)
    np.testing.assert_allclose(sparse.encode(x), dense.encode(DENSE), rtol=1e-6, atol=1e-7)
    assert sparse.score(x) == pytest.approx(dense.score(DENSE), rel=1e-6)  # a sparse target is densified


def test_export_takes_the_dense_input():
    from graphc.testing import reference_evaluator

    net = layers("csr", NOUT)
    model = net.to_onnx()
    (out,) = reference_evaluator(model).run(None, {"in": DENSE})
    np.testing.assert_allclose(out, net.predict(to_sparse(DENSE, "csr")), rtol=1e-5, atol=1e-6)


# -- training: same trajectory as dense --------------------------------------------------
def trajectory(net, data, iterations=4):
    history = []
    for train, valid in net.itertrain(data, algo="sgd", batch_size=5, learning_rate=0.05, momentum=0.5):
        history.append((train["loss"], valid["loss"]))
        if len(history) == iterations:
            break
    return np.array(history), [p.get_value() for p in net.params]


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("kind", ["regressor", "weighted", "classifier", "autoencoder"])
def test_training_matches_dense(fmt, kind):
    x = to_sparse(DENSE, fmt)
    if kind == "regressor":
        make, dense_data, sparse_data = (lambda f: layers(f, NOUT)), [DENSE, TARGETS], [x, TARGETS]
    elif kind == "weighted":

        def make(f):
            first = dict(size=NIN, sparse=f) if f else NIN
            return theanets.Regressor([first, NHID, NOUT], weighted=True)

        dense_data, sparse_data = [DENSE, TARGETS, WEIGHTS], [x, TARGETS, WEIGHTS]
    elif kind == "classifier":
        make, dense_data, sparse_data = (lambda f: layers(f, NCLS, theanets.Classifier)), [DENSE, LABELS], [x, LABELS]
    else:
        make, dense_data, sparse_data = (lambda f: layers(f, NIN, theanets.Autoencoder)), [DENSE], [x]
    hist_dense, params_dense = trajectory(make(None), dense_data)
    hist_sparse, params_sparse = trajectory(make(fmt), sparse_data)
    assert hist_dense.shape == (4, 2)
    np.testing.assert_allclose(hist_sparse, hist_dense, rtol=1e-5, atol=1e-6)
    for a, b in zip(params_sparse, params_dense):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


# -- minibatches are densified one at a time ---------------------------------------------
@pytest.mark.parametrize("batch_size", [5, 8])
def test_only_minibatches_are_densified(batch_size):
    log = []
    net = layers("csr", NOUT)
    ref = layers(None, NOUT)
    got, want = [], []
    for train, _ in net.itertrain([RecordingCSR(DENSE, log), TARGETS], algo="sgd", batch_size=batch_size):
        got.append(train["loss"])
        if len(got) == 3:
            break
    for train, _ in ref.itertrain([DENSE, TARGETS], algo="sgd", batch_size=batch_size):
        want.append(train["loss"])
        if len(want) == 3:
            break
    np.testing.assert_allclose(got, want, rtol=1e-5)
    assert log, "the sparse data were never densified"
    assert all(shape[0] <= batch_size and shape[1] == NIN for shape in log), log
    assert sum(shape[0] for shape in log) >= 3 * N  # train (shuffled) and validation passes, batch by batch


def test_callable_batches_are_densified():
    log = []
    net = layers("csr", NOUT)
    batch = lambda: [RecordingCSR(DENSE[:6], log), TARGETS[:6]]  # noqa: E731
    train, _ = next(net.itertrain(batch, valid=batch, algo="sgd", train_batches=2, valid_batches=1))
    assert np.isfinite(train["loss"])
    assert log and set(log) == {(6, NIN)}


# -- errors ------------------------------------------------------------------------------
def test_dense_data_for_a_sparse_input():
    net = layers("csr", NOUT)
    with pytest.raises(TypeError, match=r"'in' is a sparse \('csr'\) input.*dense ndarray of shape \(37, 7\)"):
        net.predict(DENSE)
    with pytest.raises(TypeError, match="'in' is a sparse"):
        net.feed_forward({"in": DENSE})
    with pytest.raises(TypeError, match="train data: 'in' is a sparse"):
        net.train([DENSE, TARGETS], algo="sgd", max_updates=1)


def test_sparse_data_for_a_dense_input():
    net = layers(None, NOUT)
    x = RecordingCSR(DENSE, [])
    with pytest.raises(TypeError, match=r"'in' takes dense arrays, got a sparse CSR matrix of shape \(37, 7\)"):
        net.predict(x)
    with pytest.raises(TypeError, match="train data: 'in' takes dense arrays"):
        net.train([x, TARGETS], algo="sgd", max_updates=1)
    sparse = layers("csr", NOUT)
    with pytest.raises(TypeError, match="takes dense arrays"):  # a sparse target
        sparse.train([x, RecordingCSR(TARGETS, [])], algo="sgd", max_updates=1)


def test_sparse_data_of_the_wrong_width():
    net = layers("csr", NOUT)
    with pytest.raises(ValueError, match="axis 1 must be 7"):
        net.predict(RecordingCSR(DENSE[:, :4], []))
    with pytest.raises(ValueError, match="same number of examples"):
        net.train([RecordingCSR(DENSE, []), TARGETS[:-1]], algo="sgd", max_updates=1)
