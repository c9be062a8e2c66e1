"""The exported training step, looped by plain ONNX Runtime, reproduces graphc.function's training."""

from __future__ import annotations

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import graphc
import graphc.tensor as T
from graphc.export import load_training_state, save_training, training_model


def _problem():
    rng = np.random.default_rng(4)
    W = graphc.shared(rng.normal(size=(4, 3)) * 0.3, name="W")
    b = graphc.shared(np.zeros(3), name="b")
    velocity = graphc.shared(np.zeros((4, 3)))  # unnamed: becomes state<k>
    x = T.matrix("x")
    t = T.lvector("t")
    cost = T.mean(T.nnet.categorical_crossentropy(T.nnet.softmax(T.dot(x, W) + b), t))
    gW, gb = graphc.grad(cost, [W, b])
    new_v = 0.9 * velocity - 0.5 * gW
    updates = [(velocity, new_v), (W, W + new_v), (b, b - 0.5 * gb)]
    data = [(rng.normal(size=(6, 4)).astype(np.float32), rng.integers(0, 3, size=6)) for _ in range(5)]
    return x, t, cost, updates, (W, b, velocity), data


def test_exported_training_step_matches_graphc_function(tmp_path):
    x, t, cost, updates, shared, data = _problem()
    model, state = training_model([x, t], cost, updates)
    onnx.checker.check_model(model, full_check=True)
    contract = json.loads(next(p.value for p in model.metadata_props if p.key == "graphc.training"))
    assert contract["data_inputs"] == ["x", "t"] and contract["outputs"] == ["cost"]
    assert contract["state"] == {"W": "W.next", "b": "b.next", "state0": "state0.next"}
    assert [i.name for i in model.graph.input][:2] == ["x", "t"]
    # onnx.reference (an oracle independent of ONNX Runtime) runs one step to the same values
    from graphc.testing import reference_evaluator

    xb, tb = data[0]
    ref = dict(zip([o.name for o in model.graph.output], reference_evaluator(model).run(None, {"x": xb, "t": tb, **state})))
    sess0 = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    ort_out = dict(zip([o.name for o in sess0.get_outputs()], sess0.run(None, {"x": xb, "t": tb, **state})))
    for name, value in ort_out.items():
        np.testing.assert_allclose(ref[name], value, rtol=1e-5, atol=1e-6, err_msg=name)
    model_path, state_path = save_training(model, state, tmp_path / "step.onnx")
    assert state_path.name == "step.state.npz"

    # reference: graphc.function on copies of the same initial values
    step = graphc.function([x, t], cost, updates=updates)
    # the client: only ONNX Runtime, the model file and the state file
    sess = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    current = load_training_state(state_path)
    costs_client = []
    for xb, tb in data:
        outs = sess.run(None, {"x": xb, "t": tb, **current})
        names = [o.name for o in sess.get_outputs()]
        result = dict(zip(names, outs))
        costs_client.append(float(result["cost"]))
        current = {k: result[v] for k, v in contract["state"].items()}
    costs_graphc = [float(step(xb, tb)) for xb, tb in data]
    np.testing.assert_allclose(costs_client, costs_graphc, rtol=1e-5)
    assert costs_client[-1] < costs_client[0]
    np.testing.assert_allclose(current["W"], shared[0].get_value(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(current["state0"], shared[2].get_value(), rtol=1e-5, atol=1e-6)


def test_state_files_refuse_pickles(tmp_path):
    bad = tmp_path / "bad.npz"
    np.savez(bad, obj=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="allow_pickle"):
        load_training_state(bad)
