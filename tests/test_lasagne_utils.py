"""lasagne.utils and friends as upstream behaves: create_param's spec forms, compute_norms, penalties' sums."""

import numpy as np
import pytest

import graphc
import graphc.tensor as T
from graphc import init, regularization
from graphc.scan_module.scan_utils import equal_computations
from graphc.utils import compute_norms, create_param


def test_create_param_from_a_callable_returning_a_shared_variable_or_an_expression():
    W = graphc.shared(np.ones((2, 3), dtype=graphc.config.floatX), name="kept")
    assert create_param(lambda shape: W, (2, 3), name="W") is W  # the same object, its own name kept
    expr = 2 * W
    got = create_param(lambda shape: expr, (2, 3), name="twice")
    assert got is expr and got.name == "twice"
    with pytest.raises(ValueError, match=r"the Theano variable returned by the callable .* has 2 dimensions, should be 3"):
        create_param(lambda shape: W, (2, 3, 4))
    with pytest.raises(TypeError, match="is not a numpy array or a Theano expression"):
        create_param(lambda shape: "nope", (2, 3))
    with pytest.raises(ValueError, match=r"numpy array returned by the callable .* has shape \(3,\), should be \(2, 3\)"):
        create_param(lambda shape: np.zeros(3), (2, 3))


def test_create_param_from_arrays_keeps_integer_dtypes_and_broadcasts_sizes_of_one():
    p = create_param(np.arange(6, dtype=np.int16).reshape(2, 3), (2, 3))
    assert p.dtype == "int16"
    np.testing.assert_array_equal(p.get_value(), np.arange(6).reshape(2, 3))
    q = create_param(init.Constant(0.5), (1, 4), name="row")
    assert q.broadcastable == (True, False) and q.name == "row"
    # float64 becomes config.floatX, as graphc.shared does (graphc's float32 default)
    assert create_param(np.zeros((2, 3)), (2, 3)).dtype == graphc.config.floatX


def test_compute_norms_of_arrays_and_expressions():
    rng = np.random.default_rng(0)
    v = rng.normal(size=7)
    np.testing.assert_array_equal(compute_norms(v), np.abs(v))  # nothing summed over for 1-d
    w = rng.normal(size=(5, 3))
    np.testing.assert_allclose(compute_norms(w), np.sqrt((w**2).sum(0)))
    f = rng.normal(size=(4, 2, 3, 5))
    np.testing.assert_allclose(compute_norms(f), np.sqrt((f**2).sum((1, 2, 3))))
    np.testing.assert_allclose(compute_norms(f, norm_axes=(0, 3)), np.sqrt((f**2).sum((0, 3))))
    x = T.matrix("x")
    got = graphc.function([x], compute_norms(x))(w.astype(np.float32))
    np.testing.assert_allclose(got, np.sqrt((w**2).sum(0)), rtol=1e-5)
    with pytest.raises(RuntimeError, match="Unsupported type list"):
        compute_norms([1.0, 2.0])
    with pytest.raises(ValueError, match="Unsupported tensor dimensionality 6"):
        compute_norms(np.zeros((1,) * 6))


def test_penalties_sum_as_python_sum_does():
    a, b = graphc.shared(np.ones((2, 3)), name="a"), graphc.shared(np.ones(4), name="b")
    assert regularization.apply_penalty([], regularization.l2) == 0
    total = regularization.apply_penalty([a, b], regularization.l2)
    assert equal_computations([total], [sum([regularization.l2(a), regularization.l2(b)])])
    np.testing.assert_allclose(total.eval(), 10.0)


def test_equal_computations_compares_structure_with_given_leaf_pairs():
    x, y = T.matrix("x"), T.matrix("y")
    assert equal_computations([T.exp(x) + 1, x * 2], [T.exp(x) + 1, x * 2])
    assert not equal_computations([T.exp(x)], [T.exp(y)])
    assert equal_computations([T.exp(x)], [T.exp(y)], in_xs=[x], in_ys=[y])
    assert not equal_computations([x + 1], [x + 2])
    with pytest.raises(ValueError, match="xs has 2 expressions, ys has 1"):
        equal_computations([x, y], [x])


def test_initializers_refuse_shapes_with_an_error_both_bases_catch():
    for make, shape in ((init.GlorotUniform, (5,)), (init.HeNormal, (5,)), (init.Orthogonal, (3,)), (init.Sparse, (2, 3, 4))):
        with pytest.raises(RuntimeError):
            make().sample(shape)
        with pytest.raises(ValueError):
            make().sample(shape)
    with pytest.raises(init.UnsupportedShapeError, match="only shapes of length 4 are accepted"):
        init.GlorotNormal(c01b=True).sample((3, 4))
