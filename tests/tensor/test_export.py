"""graphc.export.to_onnx of tensor expressions: the models pass the full ONNX check and
onnx.reference.ReferenceEvaluator (an oracle independent of ONNX Runtime) agrees with numpy."""

import numpy as np
import onnx
import pytest
from onnx.reference import ReferenceEvaluator

import graphc
import graphc.tensor as T

RNG = np.random.default_rng(31)
XV = RNG.standard_normal((5, 4)).astype(np.float32)
WV = RNG.standard_normal((4, 3)).astype(np.float32)


def np_softmax(a):
    a = np.asarray(a, np.float64)
    e = np.exp(a - a.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _check_against(model, feed, wants, rtol=1e-5, atol=1e-6):
    onnx.checker.check_model(model, full_check=True)
    got = ReferenceEvaluator(model).run(None, feed)
    assert len(got) == len(wants)
    for g, w in zip(got, wants):
        w = np.asarray(w)
        assert g.shape == w.shape, (g.shape, w.shape)
        assert g.dtype == w.dtype, (g.dtype, w.dtype)
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol)
    return got


def test_indexing_model():
    x, i, idx = T.matrix("x"), T.lscalar("i"), T.lvector("idx")
    outs = [x[::-1, 1:][i], x[:, -1], x[None, :, 2], x[idx], x[:, [3, 0]], x[1:-1:2]]
    model = graphc.export.to_onnx(outs, [x, i, idx])
    assert [v.name for v in model.graph.input] == ["x", "i", "idx"]
    iv = np.array([4, 0, -1])
    _check_against(
        model,
        {"x": XV, "i": np.int64(2), "idx": iv},
        [XV[::-1, 1:][2], XV[:, -1], XV[None, :, 2], XV[iv], XV[:, [3, 0]], XV[1:-1:2]],
    )


def test_shape_model_serves_two_sizes():
    x = T.matrix("x")
    n, m = x.shape
    outs = {
        "r": x.reshape((m, -1)),
        "c": T.concatenate([x, T.cast(x > 0, "int32")], axis=-1),
        "z": T.zeros((n, 2)),
        "a": T.arange(n),
        "d": x.dimshuffle(1, "x", 0),
        "f": T.stack([x, -x], axis=1).flatten(2),
    }
    model = graphc.export.to_onnx(outs, [x])
    assert [o.name for o in model.graph.output] == list(outs)
    for shape in ((5, 4), (2, 3)):
        v = RNG.standard_normal(shape).astype(np.float32)
        _check_against(
            model,
            {"x": v},
            [
                v.reshape(shape[1], -1),
                np.concatenate([v, (v > 0).astype(np.float32)], axis=-1),
                np.zeros((shape[0], 2), np.float32),
                np.arange(shape[0]),
                v.T[:, None, :],
                np.stack([v, -v], axis=1).reshape(shape[0], -1),
            ],
        )


def test_reductions_model():
    x = T.matrix("x")
    outs = [
        x.sum(axis=1),
        x.mean(),
        x.argmax(axis=-1),
        x.std(axis=0, ddof=1),
        T.max(x, axis=(0, 1), keepdims=True),
        (x > 0).sum(),
        T.var(x, axis=-1, keepdims=True),
    ]
    model = graphc.export.to_onnx(outs, [x])
    x64 = XV.astype(np.float64)
    _check_against(
        model,
        {"x": XV},
        [
            x64.sum(axis=1).astype(np.float32),
            np.float32(x64.mean()),
            XV.argmax(axis=-1),
            x64.std(axis=0, ddof=1).astype(np.float32),
            XV.max(keepdims=True),
            np.int64((XV > 0).sum()),
            x64.var(axis=-1, keepdims=True).astype(np.float32),
        ],
        rtol=1e-4,
    )


@pytest.mark.parametrize("params", ["initializers", "inputs"])
def test_nnet_model_with_a_shared_weight(params):
    x, y = T.matrix("x"), T.lvector("y")
    w = graphc.shared(WV, name="W")
    probs = T.nnet.softmax(T.dot(x, w))
    outs = {
        "probs": probs,
        "loss": T.nnet.categorical_crossentropy(probs, y).mean(),
        "logp": T.nnet.log_softmax(x),
        "softplus": T.nnet.softplus(x * 50),
        "sig": T.nnet.sigmoid(x),
    }
    model = graphc.export.to_onnx(outs, [x, y], params=params)
    feed = {"x": XV, "y": np.array([0, 2, 1, 1, 0])}
    if params == "inputs":
        assert "W" in [v.name for v in model.graph.input]
        feed["W"] = WV
    else:
        assert "W" in [init.name for init in model.graph.initializer]
    p = np_softmax(XV @ WV)
    logp = np.log(np_softmax(XV))
    _check_against(
        model,
        feed,
        [
            p.astype(np.float32),
            np.float32(-np.log(p[np.arange(5), feed["y"]]).mean()),
            logp.astype(np.float32),
            np.logaddexp(0, XV.astype(np.float64) * 50).astype(np.float32),
            (1 / (1 + np.exp(-XV.astype(np.float64)))).astype(np.float32),
        ],
        atol=1e-5,
    )


def test_dtype_model():
    x, i = T.matrix("x"), T.ivector("i")
    outs = [i / 2, T.cast(x, "int32"), T.switch(x, 1.0, 0.0), i // 3, i % 3, x * i.dimshuffle(0, "x")]
    model = graphc.export.to_onnx(outs, [x, i])
    iv = np.array([-7, 0, 5, 2, 9], np.int32)
    xv = XV.copy()
    xv[0, 0] = 0
    _check_against(
        model,
        {"x": xv, "i": iv},
        [
            (iv / 2).astype(np.float32),
            xv.astype(np.int32),
            np.where(xv != 0, 1, 0).astype(np.float32),
            iv // 3,
            iv % 3,
            xv * iv[:, None].astype(np.float32),
        ],
    )


def test_model_loads_in_onnx_runtime_and_matches_function():
    import onnxruntime as ort

    x = T.matrix("x")
    out = T.nnet.softmax(x[:, ::-1] * 2)
    model = graphc.export.to_onnx(out, [x])
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (got,) = sess.run(None, {"x": XV})
    np.testing.assert_allclose(got, graphc.function([x], out)(XV), rtol=1e-6)
    np.testing.assert_allclose(got, np_softmax(XV[:, ::-1] * 2), rtol=1e-5, atol=1e-6)
