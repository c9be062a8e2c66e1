"""EmbeddingLayer: row lookups for integer ids of any rank."""

from __future__ import annotations

import numpy as np
import pytest
from onnx.reference import ReferenceEvaluator

import graphc
import graphc.tensor as T
from graphc.export import to_onnx
from graphc.layers import DenseLayer, EmbeddingLayer, InputLayer, count_params, get_all_params, get_output

RNG = np.random.default_rng(5)


def run(layer, ids):
    var = layer.input_layer.input_var
    out = get_output(layer)
    got = graphc.function([var], out)(ids)
    model = to_onnx({"y": out}, [var])
    ref = ReferenceEvaluator(model).run(None, {model.graph.input[0].name: ids})[0]
    return got, ref


@pytest.mark.parametrize(
    "dtype, in_shape, ids_shape",
    [("int32", (None, 4), (3, 4)), ("int64", (None, None, 2), (2, 5, 2)), ("int8", (6,), (6,)), ("uint8", (None, 3), (2, 3))],
)
def test_embedding_values_and_shapes(dtype, in_shape, ids_shape):
    var = T.tensor(dtype, shape=in_shape, name="ids")
    W = RNG.normal(size=(7, 5)).astype(np.float32)
    layer = EmbeddingLayer(InputLayer(in_shape, input_var=var), input_size=7, output_size=5, W=W, name="emb")
    ids = RNG.integers(0, 7, size=ids_shape).astype(dtype)
    assert layer.output_shape == in_shape + (5,)
    for got in run(layer, ids):
        assert got.shape == ids_shape + (5,) and got.dtype == np.float32
        np.testing.assert_array_equal(got, W[ids.astype(np.int64)])


def test_embedding_params():
    layer = EmbeddingLayer(InputLayer((None, 3), input_var=T.imatrix("i")), input_size=9, output_size=4, name="emb")
    assert {p.name: (p.get_value().shape, layer.params[p]) for p in layer.params} == {"emb.W": ((9, 4), {"trainable", "regularizable"})}
    # Lasagne's default: Normal(std=0.01)
    assert abs(float(layer.W.get_value().std()) - 0.01) < 0.005
    out = DenseLayer(layer, num_units=2, name="d")
    assert [p.name for p in get_all_params(out)] == ["emb.W", "d.W", "d.b"]
    assert count_params(out) == 9 * 4 + 12 * 2 + 2
    assert out.output_shape == (None, 2)
    shared = EmbeddingLayer(InputLayer((None, 3), input_var=T.imatrix("j")), 9, 4, W=layer.W)
    assert shared.W is layer.W


def test_embedding_errors():
    with pytest.raises(ValueError, match="EmbeddingLayer 'emb': input_size must be a positive int, got 0"):
        EmbeddingLayer((None, 3), input_size=0, output_size=4, name="emb")
    with pytest.raises(ValueError, match="EmbeddingLayer 'emb': output_size must be a positive int, got 2.5"):
        EmbeddingLayer((None, 3), input_size=3, output_size=2.5, name="emb")
    with pytest.raises(ValueError, match=r"EmbeddingLayer 'emb': cannot initialize parameter 'emb.W': the provided numpy array has shape \(4, 3\), should be \(3, 4\)"):
        EmbeddingLayer((None, 3), 3, 4, W=np.zeros((4, 3), np.float32), name="emb")
    float_ids = EmbeddingLayer(InputLayer((None, 3)), 3, 4, name="emb")  # the default input_var is floatX
    with pytest.raises(TypeError, match="EmbeddingLayer 'emb' needs integer ids"):
        get_output(float_ids)
