"""graphc.function: values against numpy, Theano's update semantics, symbolic
shapes across calls, and the errors every bad call gets."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

import graphc
import graphc.tensor as T
from graphc import MissingInputError, UnusedInputError


def test_counter_update_accumulates_over_calls():
    x = T.vector("x")
    s = graphc.shared(np.zeros(3), name="s")
    step = graphc.function([x], s, updates=[(s, s + x)])
    rng = np.random.default_rng(0)
    xs = rng.normal(size=(7, 3)).astype("float32")
    expected = np.zeros(3, dtype=np.float32)
    for row in xs:
        before = step(row)
        np.testing.assert_allclose(before, expected, rtol=1e-6)  # the output reads the old value
        expected = expected + row
    np.testing.assert_allclose(s.get_value(), xs.sum(0), rtol=1e-5)
    assert s.get_value().dtype == np.float32


def test_updates_read_each_others_old_values():
    a = graphc.shared(np.float32(1.0), name="a")
    b = graphc.shared(np.float32(2.0), name="b")
    swap = graphc.function([], [], updates=[(a, b), (b, a + b)])
    swap()
    assert (a.get_value(), b.get_value()) == (2.0, 3.0)
    swap()
    assert (a.get_value(), b.get_value()) == (3.0, 5.0)


def test_update_from_ordered_dict_and_outputs_with_updates():
    from collections import OrderedDict

    x = T.matrix("x")
    w = graphc.shared(np.arange(6, dtype=np.float32).reshape(2, 3), name="w")
    y = T.dot(x, w)
    f = graphc.function([x], [y, y.sum()], updates=OrderedDict([(w, w * 2)]))
    xv = np.arange(4, dtype=np.float32).reshape(2, 2)
    out, total = f(xv)
    w0 = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_allclose(out, xv @ w0)
    np.testing.assert_allclose(total, (xv @ w0).sum())
    np.testing.assert_allclose(w.get_value(), 2 * w0)


def test_shared_value_stays_resident_and_get_value_copies():
    x = T.vector("x")
    s = graphc.shared(np.zeros(4), name="acc")
    f = graphc.function([x], [], updates=[(s, s + x)])
    f(np.ones(4))
    assert isinstance(s._storage(), ort.OrtValue)
    v = s.get_value()
    v[:] = 100
    np.testing.assert_array_equal(s.get_value(), np.ones(4))


def test_set_value_between_calls_and_functions_sharing_state():
    x = T.scalar("x")
    s = graphc.shared(np.float32(0), name="s")
    inc = graphc.function([x], [], updates=[(s, s + x)])
    read = graphc.function([], s * 10)
    inc(2.0)
    assert read() == pytest.approx(20.0)
    s.set_value(5.0)
    inc(1.5)
    assert s.get_value() == pytest.approx(6.5)
    assert read() == pytest.approx(65.0)


def test_symbolic_reshape_by_shape_elements_serves_two_sizes():
    x = T.tensor3("x")
    n_batch, n_time, n_feat = x.shape
    flat = T.reshape(x, (-1, n_feat))
    back = T.reshape(flat * 2, (n_batch, n_time * n_feat))
    f = graphc.function([x], [flat, back])
    for shape in [(2, 3, 5), (4, 7, 5), (1, 1, 3)]:
        xv = np.random.default_rng(1).normal(size=shape).astype("float32")
        a, b = f(xv)
        np.testing.assert_allclose(a, xv.reshape(-1, shape[2]))
        np.testing.assert_allclose(b, 2 * xv.reshape(shape[0], -1))
    assert back.type.shape[0] == x.type.shape[0]  # the batch dim stays symbolic and identical


def test_single_output_vs_list_output():
    x = T.vector("x")
    assert isinstance(graphc.function([x], x * 2)(np.ones(2)), np.ndarray)
    out = graphc.function([x], [x * 2])(np.ones(2))
    assert isinstance(out, list) and len(out) == 1


def test_outputs_that_are_inputs_or_shared_or_constants():
    x = T.matrix("x")
    s = graphc.shared(np.ones((2, 2)), name="s")
    f = graphc.function([x], [x, s, T.constant(3.0), x])
    xv = np.arange(6, dtype=np.float32).reshape(3, 2)
    a, b, c, d = f(xv)
    np.testing.assert_array_equal(a, xv)
    np.testing.assert_array_equal(b, np.ones((2, 2)))
    assert c == 3.0 and c.shape == ()
    np.testing.assert_array_equal(d, xv)


def test_keyword_arguments_and_givens():
    x = T.vector("x")
    y = T.vector("y")
    f = graphc.function([x, y], x - y)
    np.testing.assert_allclose(f(y=np.ones(3), x=np.full(3, 4.0)), np.full(3, 3.0))
    z = T.vector("z")
    g = graphc.function([z], x * 2, givens={x: z + 1})
    np.testing.assert_allclose(g(np.arange(3.0)), 2 * (np.arange(3.0) + 1))


def test_castable_dtypes_are_cast():
    x = T.matrix("x")  # float32
    f = graphc.function([x], x + 1)
    out = f(np.ones((2, 3), dtype=np.float64))
    assert out.dtype == np.float32
    out = f(np.ones((2, 3), dtype=np.int64))
    np.testing.assert_array_equal(out, np.full((2, 3), 2.0, np.float32))
    out = f([[1, 2, 3]])  # nested lists become arrays
    np.testing.assert_array_equal(out, [[2, 3, 4]])


# -- bad calls ---------------------------------------------------------------
@pytest.fixture(scope="module")
def fixed_fn():
    x = T.tensor("float32", shape=(None, 3), name="x")
    n = T.lscalar("n")
    return graphc.function([x, n], T.reshape(x, (n, -1)), name="shaper")


def test_wrong_rank_names_input_and_shapes(fixed_fn):
    with pytest.raises(ValueError, match=r"shaper: input 'x' has 3 dims \(shape \(2, 3, 1\)\); expected 2 dims, shape \(x_dim0, 3\)"):
        fixed_fn(np.ones((2, 3, 1)), 1)


def test_wrong_fixed_dim_names_input_and_axis(fixed_fn):
    with pytest.raises(ValueError, match=r"input 'x' has shape \(2, 4\); expected \(x_dim0, 3\) \(axis 1 must be 3\)"):
        fixed_fn(np.ones((2, 4)), 1)


def test_missing_and_extra_inputs(fixed_fn):
    with pytest.raises(TypeError, match=r"missing input\(s\) n; expected \(x, n\)"):
        fixed_fn(np.ones((2, 3)))
    with pytest.raises(TypeError, match=r"takes 2 input\(s\) \(x, n\) but 3 were given"):
        fixed_fn(np.ones((2, 3)), 1, 2)
    with pytest.raises(TypeError, match="unexpected input 'm'"):
        fixed_fn(np.ones((2, 3)), m=1)
    with pytest.raises(TypeError, match="given both by position and by name"):
        fixed_fn(np.ones((2, 3)), x=np.ones((2, 3)))


def test_uncastable_dtype(fixed_fn):
    with pytest.raises(TypeError, match=r"input 'n' has dtype float64, which cannot be cast to the expected int64"):
        fixed_fn(np.ones((2, 3)), 1.5)
    with pytest.raises(TypeError, match=r"input 'x' has dtype <U1"):
        fixed_fn(np.array([["a", "b", "c"]]), 1)


def test_invalid_reshape_at_build_and_at_run(fixed_fn):
    x = T.tensor("float32", shape=(3, 4), name="x")
    with pytest.raises(ValueError, match=r"cannot reshape a tensor of shape \(3, 4\) \(12 elements\) into \(5, -1\)"):
        T.reshape(x, (5, -1))
    with pytest.raises(ValueError, match=r"cannot reshape a tensor of shape \(3, 4\) \(12 elements\) into \(5, 2\)"):
        T.reshape(x, (5, 2))
    with pytest.raises(ValueError, match=r"only specify one unknown dimension"):
        T.reshape(x, (-1, -1))
    with pytest.raises(ValueError, match=r"shaper: ONNX Runtime could not run the graph on inputs x\(2, 3\), n\(\).*reshape"):
        fixed_fn(np.ones((2, 3)), 4)


def test_compile_time_errors():
    x, y = T.matrix("x"), T.matrix("y")
    with pytest.raises(MissingInputError, match="depends on the input <y"):
        graphc.function([x], x + y)
    with pytest.raises(UnusedInputError, match=r"input 1 \(<y"):
        graphc.function([x, y], x * 2)
    graphc.function([x, y], x * 2, on_unused_input="ignore")
    s = graphc.shared(np.zeros(2), name="s")
    with pytest.raises(TypeError, match="shared variables are used implicitly"):
        graphc.function([s], s * 2)
    with pytest.raises(TypeError, match="inputs must be a list"):
        graphc.function(x, x * 2)
    with pytest.raises(TypeError, match="is not a shared variable"):
        graphc.function([x], x, updates=[(x, x + 1)])
    with pytest.raises(ValueError, match="updated twice"):
        graphc.function([], [], updates=[(s, s + 1), (s, s * 2)])
    with pytest.raises(TypeError, match=r"has dtype bool; expected float32"):
        graphc.function([], [], updates=[(s, T.gt(s, 0))])
    with pytest.raises(ValueError, match=r"has shape \(3,\); expected \(2,\)"):
        graphc.function([], [], updates=[(s, T.zeros((3,)))])
    with pytest.raises(TypeError, match="unexpected arguments: bogus"):
        graphc.function([x], x, bogus=1)


def test_update_with_wrong_runtime_shape_changes_nothing():
    x = T.vector("x")
    s = graphc.shared(np.zeros(2), name="s")
    f = graphc.function([x], [], updates=[(s, x)])
    with pytest.raises(ValueError, match=r"update of <shared s: float32\(2,\)> produced shape \(3,\); expected \(2,\)"):
        f(np.ones(3))
    np.testing.assert_array_equal(s.get_value(), np.zeros(2))
    f(np.ones(2))
    np.testing.assert_array_equal(s.get_value(), np.ones(2))


def test_device_selection(monkeypatch):
    x = T.vector("x")
    f = graphc.function([x], x + 1, device="cpu")
    assert f.device == "cpu" and f.providers == ["CPUExecutionProvider"]
    with pytest.raises(ValueError, match="device must be"):
        graphc.function([x], x + 1, device="tpu")
    from graphc.runtime.providers import cuda_usable

    if not cuda_usable():
        g = graphc.function([x], x + 1)  # auto: falls back to the CPU without noise
        assert g.device == "cpu" and g.providers == ["CPUExecutionProvider"]
        monkeypatch.setenv("GRAPHC_DEVICE", "cuda")
        with pytest.raises(graphc.runtime.DeviceError, match="GRAPHC_DEVICE asks for 'cuda'"):
            graphc.function([x], x + 1)
    else:  # pragma: no cover - only on machines with a GPU
        g = graphc.function([x], x + 1, device="cuda")
        assert g.providers[0] == "CUDAExecutionProvider"
        np.testing.assert_allclose(g(np.arange(3.0)), np.arange(3.0) + 1)


@pytest.mark.skipif(not graphc.runtime.cuda_usable(), reason="no CUDA device here")
def test_cuda_updates_stay_on_device():  # pragma: no cover - only on machines with a GPU
    x = T.vector("x")
    s = graphc.shared(np.zeros(3), name="s")
    f = graphc.function([x], s * 1, updates=[(s, s + x)], device="cuda")
    for _ in range(3):
        f(np.ones(3))
    assert s._storage().device_name().lower() == "cuda"
    np.testing.assert_allclose(s.get_value(), np.full(3, 3.0))


def test_default_updates_apply_unless_overridden_or_disabled():
    x = T.vector("x")
    count = graphc.shared(np.float32(0), name="count")
    total = graphc.shared(np.float32(0), name="total")
    count.default_update = count + 1
    total.default_update = total + x.sum() + count  # reads another shared variable with a default update
    f = graphc.function([x], total * 1)
    f(np.ones(3))
    assert (count.get_value(), total.get_value()) == (1.0, 3.0)
    f(np.ones(3))
    assert (count.get_value(), total.get_value()) == (2.0, 7.0)
    g = graphc.function([x], total * 1, updates=[(count, count * 0)])  # explicit update wins
    g(np.ones(3))
    assert (count.get_value(), total.get_value()) == (0.0, 12.0)
    h = graphc.function([x], total * 1, no_default_updates=True, on_unused_input="ignore")
    h(np.ones(3))
    assert (count.get_value(), total.get_value()) == (0.0, 12.0)
    k = graphc.function([x], total * 1, no_default_updates=[count])
    k(np.ones(3))
    assert (count.get_value(), total.get_value()) == (0.0, 15.0)


def test_alias_shares_storage_but_keeps_its_own_default_update():
    x = T.vector("x")
    s = graphc.shared(np.zeros(2), name="s")
    a = s.alias()
    a.default_update = a + x
    train = graphc.function([x], s + 0 * a)  # reads the alias: its update applies
    infer = graphc.function([x], s + x)  # reads only the base: no update
    train(np.ones(2))
    np.testing.assert_array_equal(s.get_value(), [1, 1])
    infer(np.ones(2))
    np.testing.assert_array_equal(a.get_value(), [1, 1])
    a.set_value([5, 6])
    np.testing.assert_array_equal(s.get_value(), [5, 6])


def test_training_sessions_do_not_preallocate_a_memory_pattern(monkeypatch):
    w = graphc.shared(np.ones(3, np.float32), name="w")
    x = T.vector("x")
    infer = graphc.function([x], x * w)
    train = graphc.function([x], (x * w).sum(), updates=[(w, w - 0.1 * x)])
    assert infer._session.get_session_options().enable_mem_pattern
    assert not train._session.get_session_options().enable_mem_pattern
    monkeypatch.setenv("GRAPHC_MEM_PATTERN", "1")
    assert graphc.function([x], (x * w).sum(), updates=[(w, w - x)])._session.get_session_options().enable_mem_pattern
