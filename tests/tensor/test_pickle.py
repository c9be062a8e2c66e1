"""Pickling: shared variables (values as arrays, fresh locks), expressions, Lasagne layers."""

import pickle

import numpy as np
import pytest

import graphc
import graphc as lasagne
import graphc.tensor as T

L = lasagne.layers
RNG = np.random.default_rng(11)


def _roundtrip(obj):
    return pickle.loads(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))


def test_shared_variable_roundtrip():
    w = graphc.shared(RNG.standard_normal((3, 5)), name="W")
    w.default_update = w * 2
    w2 = _roundtrip(w)
    assert w2 is not w and w2.name == "W" and w2.dtype == "float32" and w2.type.shape == (3, 5)
    np.testing.assert_array_equal(w2.get_value(), w.get_value())
    assert w2._lock is not w._lock
    with w2._lock:  # a working re-entrant lock
        w2.set_value(np.zeros((3, 5)))
    np.testing.assert_array_equal(w.get_value() != 0, True)  # the original keeps its value
    np.testing.assert_array_equal(w2.get_value(), 0)
    np.testing.assert_array_equal(w2.default_update.eval(), 0)  # the update expression reads the new variable


def test_shared_value_held_by_onnx_runtime_pickles_as_array():
    w = graphc.shared(np.arange(6, dtype=np.float32).reshape(2, 3), name="W")
    graphc.function([], [], updates=[(w, w + 1)])()
    assert not isinstance(w._storage(), np.ndarray)  # the runtime's OrtValue now
    w2 = _roundtrip(w)
    assert isinstance(w2._storage(), np.ndarray)
    np.testing.assert_array_equal(w2.get_value(), np.arange(6).reshape(2, 3) + 1)


def test_alias_keeps_sharing_storage_after_unpickling():
    w = graphc.shared(np.ones(4), name="w")
    a = w.alias()
    w2, a2 = _roundtrip((w, a))
    assert a2._lock is w2._lock
    w2.set_value(np.full(4, 3.0))
    np.testing.assert_array_equal(a2.get_value(), 3.0)
    np.testing.assert_array_equal(a.get_value(), 1.0)  # the originals are untouched


def test_expression_roundtrip_drops_compiled_functions():
    x = T.matrix("x")
    w = graphc.shared(RNG.standard_normal((4, 3)), name="W")
    cost = T.nnet.softmax(T.dot(x, w)).max(axis=1).mean()
    xv = RNG.standard_normal((5, 4)).astype(np.float32)
    want = cost.eval({x: xv})
    assert cost._fn_cache
    cost2 = _roundtrip(cost)
    assert "_fn_cache" not in cost2.__dict__
    # the unpickled graph has its own placeholder and shared variable
    inputs = _leaves(cost2)
    (x2,) = [v for v in inputs if v.name == "x"]
    np.testing.assert_allclose(cost2.eval({x2: xv}), want, rtol=1e-6)
    np.testing.assert_allclose(graphc.grad(cost2, x2).eval({x2: xv}), graphc.grad(cost, x).eval({x: xv}), rtol=1e-5)
    # ops built after unpickling are newer than the unpickled ones (scan relies on the order)
    assert (x2 + 1).owner.serial > cost2.owner.serial


def _leaves(v):
    seen, stack, out = set(), [v], []
    while stack:
        u = stack.pop()
        if id(u) in seen:
            continue
        seen.add(id(u))
        if u.owner is None:
            out.append(u)
        else:
            stack.extend(u.owner.inputs)
    return out


def _networks():
    img = L.InputLayer((None, 3, 8, 10), name="img")
    conv = L.Conv2DLayer(img, 4, 3, name="conv")
    dense = L.DenseLayer(L.DropoutLayer(L.batch_norm(L.MaxPool2DLayer(conv, 2))), 5, name="out")
    seq = L.InputLayer((None, 7, 3), name="seq")
    lstm = L.LSTMLayer(seq, 4, name="lstm")
    gru = L.GRULayer(seq, 4, only_return_final=True, name="gru")
    merged = L.ConcatLayer([L.DenseLayer(gru, 2), L.DenseLayer(L.FlattenLayer(lstm), 2)], name="cat")
    emb = L.EmbeddingLayer(L.InputLayer((None, 6), input_var=T.imatrix("words")), 10, 3, name="emb")
    return [
        (dense, RNG.standard_normal((2, 3, 8, 10)).astype(np.float32)),
        (merged, RNG.standard_normal((2, 7, 3)).astype(np.float32)),
        (emb, RNG.integers(0, 10, size=(2, 6)).astype(np.int32)),
    ]


@pytest.mark.parametrize("case", range(3))
def test_lasagne_layer_roundtrip(case):
    layer, xv = _networks()[case]
    layer2 = _roundtrip(layer)
    params, params2 = L.get_all_params(layer), L.get_all_params(layer2)
    assert [p.name for p in params2] == [p.name for p in params]
    for p, p2 in zip(params, params2):
        assert p2 is not p
        np.testing.assert_array_equal(p2.get_value(), p.get_value())
    assert [sorted(t) for t in layer2.params.values()] == [sorted(t) for t in layer.params.values()]
    assert layer2.output_shape == layer.output_shape

    def value(net):
        inputs = [lay for lay in L.get_all_layers(net) if isinstance(lay, L.InputLayer)]
        out = L.get_output(net, deterministic=True)
        return graphc.function([i.input_var for i in inputs], out)(*([xv] * len(inputs)))

    np.testing.assert_allclose(value(layer2), value(layer), rtol=1e-6)
    # the copy owns its parameters
    params2[0].set_value(params2[0].get_value() + 1)
    assert not np.array_equal(params2[0].get_value(), params[0].get_value())


def test_compiled_function_roundtrip_recompiles():
    import graphc.runtime.pickling  # noqa: F401  (registers the reduction; graphc.runtime imports it once wired)

    x = T.matrix("x")
    w = graphc.shared(RNG.standard_normal((4, 3)), name="W")
    count = graphc.shared(np.int64(0), name="count")
    count.default_update = count + 1
    out = T.dot(x, w).sum(axis=1) + T.cast(count, "float32")  # reads count: its default update applies
    step = graphc.function([x], out, updates=[(w, w * 0.5)], name="step")
    xv = RNG.standard_normal((5, 4)).astype(np.float32)
    step(xv)
    f2, w2, count2 = _roundtrip((step, w, count))
    want = step(xv)  # the original goes on with its own state
    got = f2(xv)
    np.testing.assert_allclose(got, want, rtol=1e-6)
    assert f2.name == "step" and isinstance(got, np.ndarray)  # a single output stays single
    np.testing.assert_allclose(w2.get_value(), w.get_value(), rtol=1e-6)  # the update ran on the copy
    assert int(count2.get_value()) == 2 == int(count.get_value())  # default updates kept
