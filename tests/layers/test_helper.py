"""get_all_layers, get_output (kwargs warnings, cut points), shapes, params and their values."""

from __future__ import annotations

import numpy as np
import pytest

import graphc as lasagne
import graphc.tensor as T
from graphc.layers import (
    ConcatLayer,
    DenseLayer,
    InputLayer,
    count_params,
    get_all_layers,
    get_all_param_values,
    get_all_params,
    get_output,
    get_output_shape,
    set_all_param_values,
)


def _net():
    l_in = InputLayer((None, 6), name="in")
    a = DenseLayer(l_in, 4, name="a")
    b = DenseLayer(l_in, 3, name="b")
    c = ConcatLayer([a, b], name="c")
    out = DenseLayer(c, 2, name="out")
    return l_in, a, b, c, out


def test_get_all_layers_is_topological_and_respects_treat_as_input():
    l_in, a, b, c, out = _net()
    assert get_all_layers(out) == [l_in, a, b, c, out]
    assert get_all_layers([a, out]) == [l_in, a, b, c, out]
    assert get_all_layers(out, treat_as_input=[c]) == [c, out]


def test_params_tags_counts_and_values():
    l_in, a, b, c, out = _net()
    assert [p.name for p in get_all_params(out)] == ["a.W", "a.b", "b.W", "b.b", "out.W", "out.b"]
    assert [p.name for p in get_all_params(out, regularizable=True)] == ["a.W", "b.W", "out.W"]
    assert [p.name for p in get_all_params(out, regularizable=False)] == ["a.b", "b.b", "out.b"]
    assert get_all_params(out, trainable=False) == []
    assert count_params(out) == 6 * 4 + 4 + 6 * 3 + 3 + 7 * 2 + 2
    assert count_params(out, regularizable=True) == 24 + 18 + 14
    values = get_all_param_values(out)
    new = [v + 1 for v in values]
    set_all_param_values(out, new)
    for p, v in zip(get_all_params(out), new):
        np.testing.assert_array_equal(p.get_value(), v)
    with pytest.raises(ValueError, match="mismatch: got 5 values to set 6 parameters"):
        set_all_param_values(out, new[:5])
    bad = list(new)
    bad[2] = np.zeros((3, 6))
    with pytest.raises(ValueError, match=r"parameter 'b.W' has shape \(6, 3\) but the value to set has shape \(3, 6\)"):
        set_all_param_values(out, bad)
    np.testing.assert_array_equal(get_all_params(out)[0].get_value(), new[0])  # nothing changed


def test_get_output_cut_at_an_inner_layer_and_shapes():
    l_in, a, b, c, out = _net()
    h = T.matrix("h")
    y = get_output(out, {c: h})
    f = lasagne.function([h], y)
    hv = np.arange(14, dtype=np.float32).reshape(2, 7)
    W, bb = out.W.get_value(), out.b.get_value()
    np.testing.assert_allclose(f(hv), np.maximum(hv @ W + bb, 0), rtol=1e-5)
    assert get_output_shape(out) == (None, 2)
    assert get_output_shape(c, (5, 6)) == (5, 7)
    assert get_output_shape([a, out], {l_in: (9, 6)}) == [(9, 4), (9, 2)]


def test_get_output_errors_and_unused_kwargs_warning():
    l_in, a, b, c, out = _net()
    with pytest.warns(UserWarning, match=r"unused kwargs:\n\tdeterminstic \(perhaps you meant deterministic\)"):
        get_output(out, determinstic=True)
    free = DenseLayer((None, 3), 2)
    with pytest.raises(ValueError, match="free-floating layer DenseLayer"):
        get_output(free)
    with pytest.raises(TypeError, match="expected a Layer or a list of layers"):
        get_output("out")


def test_layer_provenance_reaches_exported_node_names():
    from graphc.export import to_onnx

    l_in, a, b, c, out = _net()
    model = to_onnx(get_output(out), [l_in.input_var])
    prefixes = {n.name.split("/")[0] for n in model.graph.node if "/" in n.name}
    assert {"a", "b", "c", "out"} <= prefixes


def test_summary_table_lists_layers_shapes_params_and_inputs():
    from graphc.layers import ConcatLayer, DenseLayer, InputLayer, LSTMLayer, summary

    l_in = InputLayer((None, None, 3), name="x")
    mask = InputLayer((None, None), name="mask")
    fwd = LSTMLayer(l_in, 5, mask_input=mask, name="fwd")
    bwd = LSTMLayer(l_in, 5, mask_input=mask, backwards=True, name="bwd")
    cat = ConcatLayer([fwd, bwd], axis=2, name="cat")
    out = DenseLayer(cat, 4, num_leading_axes=2, name="out")
    text = summary(out)
    lines = text.splitlines()
    assert lines[0].split() == ["layer", "output", "shape", "params", "reads"]
    rows = {line.split("'")[1]: line for line in lines[2:-2]}
    assert list(rows) == ["x", "mask", "fwd", "bwd", "cat", "out"]
    assert "(None, None, 10)" in rows["cat"] and rows["cat"].rstrip().endswith("fwd, bwd")
    # 4 gates x (3x5 + 5x5 + 5), 3 peepholes x 5, and hid_init, cell_init (not trainable) x 5
    assert " 205 " in rows["fwd"] and rows["fwd"].rstrip().endswith("x, mask")
    assert " 44 " in rows["out"]  # 10 x 4 + 4
    assert lines[-1] == f"parameters: {2 * 205 + 44:,} ({2 * 195 + 44:,} trainable) in 6 layers"
