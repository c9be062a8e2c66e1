"""A training step with collectives exports as one model per stage (gradients; apply), run with a client's all-reduce.

Oracles: ``graphc.function`` in one process on the whole batch (collectives are
identities there), against the exported models run by bare ONNX Runtime for two
simulated ranks, each on half the batch, with the all-reduce done in numpy; and
``onnx.reference`` running the same models.  The ranks must end bitwise equal.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import graphc
import graphc.tensor as T
from graphc import distributed as dist
from graphc.export import TrainingStages, load_training_state, save_training, training_model
from graphc.export.model import ir_version_for

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "distributed" / "scripts"))
from exported_pair_models import CASES, data, simulate_ranks  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def _contract(model: onnx.ModelProto) -> dict:
    return json.loads(next(p.value for p in model.metadata_props if p.key == "graphc.training"))


def _ort_runner(models: list[onnx.ModelProto]):
    sessions = [ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]) for m in models]

    def run(k: int, pool: dict) -> dict:
        sess = sessions[k]
        outs = sess.run(None, {i.name: pool[i.name] for i in sess.get_inputs()})
        return dict(zip([o.name for o in sess.get_outputs()], outs))

    return run


def _reference_runner(models: list[onnx.ModelProto]):
    from graphc.testing import reference_evaluator

    evaluators = [reference_evaluator(m) for m in models]

    def run(k: int, pool: dict) -> dict:
        outs = evaluators[k].run(None, {i.name: pool[i.name] for i in models[k].graph.input})
        return dict(zip([o.name for o in models[k].graph.output], outs))

    return run


def _halves(names, batch) -> list[dict]:
    half = len(batch[0]) // 2
    return [dict(zip(names, (a[:half] for a in batch))), dict(zip(names, (a[half:] for a in batch)))]


def _train_simulated(case, stages, state, batches, runner):
    """Steps of two simulated ranks; the state after them (checked equal on both ranks) and each step's outputs."""
    contract = stages.contract
    outputs = []
    for batch in batches:
        pools = simulate_ranks(runner, contract, _halves(contract["data_inputs"], batch), state)
        states = [{n: pool[nxt] for n, nxt in contract["state"].items()} for pool in pools]
        for name in states[0]:
            assert states[0][name].tobytes() == states[1][name].tobytes(), f"the ranks differ in {name}"
        state = {**state, **states[0]}
        outputs.append([np.mean([pool[o] for pool in pools], axis=0) for o in contract["outputs"]])
    return state, outputs


@pytest.mark.parametrize("name", sorted(CASES))
def test_stages_on_two_ranks_match_graphc_on_the_whole_batch(name):
    case = CASES[name]()
    stages, state = training_model(case.inputs, case.outputs, case.updates)
    assert isinstance(stages, TrainingStages)
    two_rounds = name == "clipped_two_rounds"
    assert stages.roles == (["gradients", "stage1", "apply"] if two_rounds else ["gradients", "apply"])
    for model in stages.models:
        onnx.checker.check_model(model, full_check=True)
        assert model.ir_version == ir_version_for(18)
    rng = np.random.default_rng(12)
    batches = [data(case.kind, 8, rng) for _ in range(3)]
    final, outputs = _train_simulated(case, stages, state, batches, _ort_runner(stages.models))

    step = case.function()  # one process, whole batch: the oracle
    expected = [step(*batch) for batch in batches]
    for got, want in zip(outputs, expected):
        want = want if isinstance(want, list) else [want]
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
    shared = case.shared()
    assert set(stages.contract["state"]) == set(shared)  # every updated variable is state, under its name
    for label, var in shared.items():
        np.testing.assert_allclose(final[label], var.get_value(), rtol=1e-5, atol=1e-6, err_msg=label)
        assert not np.array_equal(final[label], state[label]), f"{label} did not move"


@pytest.mark.parametrize("name", ["mlp_adam", "hand_written", "clipped_two_rounds"])
def test_onnx_reference_runs_the_stages_to_the_same_values(name):
    case = CASES[name]()
    stages, state = training_model(case.inputs, case.outputs, case.updates)
    batches = [data(case.kind, 6, np.random.default_rng(3))]
    by_ort, out_ort = _train_simulated(case, stages, state, batches, _ort_runner(stages.models))
    by_ref, out_ref = _train_simulated(case, stages, state, batches, _reference_runner(stages.models))
    for label in by_ort:
        np.testing.assert_allclose(by_ref[label], by_ort[label], rtol=1e-5, atol=1e-6, err_msg=label)
    for a, b in zip(out_ref[0], out_ort[0]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_the_contract_names_what_each_model_reads_and_writes():
    case = CASES["mlp_adam"]()
    stages, state = training_model(case.inputs, case.outputs, case.updates)
    gradients, apply = stages.models
    c = stages.contract
    for k, model in enumerate(stages.models):
        meta = _contract(model)
        assert meta.pop("stage") == k and meta.pop("role") == stages.roles[k]
        assert meta == c
    # gradients: the data and the parameters, nothing of the optimizer
    assert [i.name for i in gradients.graph.input] == ["x", "y", "hid.W", "hid.b", "out.W", "out.b"]
    assert c["stages"][0]["data_inputs"] == ["x", "y"] and c["data_inputs"] == ["x", "y"]
    assert c["allreduce"] == [[
        {"name": "mean/0", "op": "mean", "dtype": "float32", "shape": [7, 9]},
        {"name": "mean/1", "op": "mean", "dtype": "float32", "shape": [9]},
        {"name": "mean/2", "op": "mean", "dtype": "float32", "shape": [9, 3]},
        {"name": "mean/3", "op": "mean", "dtype": "float32", "shape": [3]},
    ]]  # fmt: skip
    # the gradients model outputs one value per collective, and the cost for the apply model
    assert [o.name for o in gradients.graph.output] == ["mean/0", "mean/1", "mean/2", "mean/3", "carry/0"]
    assert c["carried"] == ["carry/0"] and c["stages"][1]["carried_inputs"] == ["carry/0"]
    # apply: reduced values, the carried cost, parameters and the optimizer's state
    assert sorted(c["stages"][1]["reduced_inputs"]) == ["mean/0", "mean/1", "mean/2", "mean/3"]
    apply_inputs = {i.name for i in apply.graph.input}
    assert {"hid.W", "hid.W.m", "hid.W.v", "adam.t", "mean/0", "carry/0"} <= apply_inputs
    assert not apply_inputs & {"x", "y"}
    assert [o.name for o in apply.graph.output][0] == "cost" and c["outputs"] == ["cost"]
    assert c["state"]["hid.W"] == "hid.W.next" and c["state"]["adam.t"] == "adam.t.next"
    assert set(state) == set(c["state"]) and c["read_only_state"] == []
    for name, nxt in c["state"].items():
        out = next(o for o in apply.graph.output if o.name == nxt)
        inp = next(i for m in stages.models for i in m.graph.input if i.name == name)
        assert out.type == inp.type, name
    # the gradient of hid.W is the value reduced as mean/0: shapes in the models agree with the contract
    dims = [d.dim_value for d in next(o for o in gradients.graph.output if o.name == "mean/0").type.tensor_type.shape.dim]
    assert dims == [7, 9]


def test_loop_op_threads_through_to_every_model():
    case = CASES["lstm_adam"]()
    scan, state = training_model(case.inputs, case.outputs, case.updates)
    loop, state_loop = training_model(case.inputs, case.outputs, case.updates, loop_op="loop")
    ops = [{n.op_type for n in m.graph.node} for m in loop.models]
    assert "Loop" in ops[0] and not any("Scan" in o for o in ops)
    assert "Scan" in {n.op_type for n in scan.models[0].graph.node}
    batches = [data("lstm", 6, np.random.default_rng(5))]
    by_scan, _ = _train_simulated(case, scan, state, batches, _ort_runner(scan.models))
    by_loop, _ = _train_simulated(case, loop, state_loop, batches, _ort_runner(loop.models))
    for label in by_scan:
        np.testing.assert_allclose(by_loop[label], by_scan[label], rtol=1e-5, atol=1e-6, err_msg=label)


def test_save_training_writes_one_file_per_model_atomically(tmp_path):
    case = CASES["clipped_two_rounds"]()
    stages, state = training_model(case.inputs, case.outputs, case.updates)
    paths, state_path = save_training(stages, state, tmp_path / "step.onnx")
    assert [p.name for p in paths] == ["step.gradients.onnx", "step.stage1.onnx", "step.apply.onnx"]
    assert state_path == tmp_path / "step.state.npz"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*(p.name for p in paths), "step.state.npz"])
    loaded = [onnx.load(str(p)) for p in paths]
    assert [m.SerializeToString() for m in loaded] == [m.SerializeToString() for m in stages.models]
    back = load_training_state(state_path)
    assert set(back) == set(state) and all(np.array_equal(back[k], state[k]) for k in state)


def test_a_step_without_collectives_stays_one_model():
    x = T.matrix("x")
    w = graphc.shared(np.ones((3, 2), dtype=np.float32), name="w")
    counter = graphc.shared(np.float32(0), name="counter")
    cost = T.sum(T.dot(x, w) ** 2)
    model, state = training_model([x], [cost, counter], [(w, w - 0.1 * graphc.grad(cost, w)), (counter, counter + 1)])
    assert isinstance(model, onnx.ModelProto)
    c = _contract(model)
    # an output named like a state variable gets ".out"; the state keeps N -> N.next
    assert c["outputs"] == ["output_0", "counter.out"]
    assert c["state"] == {"w": "w.next", "counter": "counter.next"}
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    outs = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, {"x": np.ones((4, 3), np.float32), **state})))
    assert outs["counter.out"] == 0 and outs["counter.next"] == 1


def test_a_collective_inside_a_loop_is_refused():
    x = T.tensor3("x")
    w = graphc.shared(np.ones((3, 2), dtype=np.float32), name="w")
    hs, _ = graphc.scan(lambda x_t: dist.mean(T.dot(x_t, w)), sequences=[x.dimshuffle(1, 0, 2)])
    cost = T.sum(hs**2)
    with pytest.raises(ValueError, match=r"training_model: a collective \(allreduce_mean\) sits inside the body"):
        training_model([x], cost, [(w, w - 0.1 * graphc.grad(cost, w))])


def test_graphc_export_training_writes_the_stages_and_prints_their_contract(tmp_path):
    (tmp_path / "dp.py").write_text(textwrap.dedent("""
        import numpy as np
        import graphc
        import graphc.tensor as T
        from graphc import distributed as dist
        from graphc.layers import DenseLayer, InputLayer, get_all_params, get_output

        def build():
            graphc.random.set_rng(np.random.RandomState(1))
            l_in = InputLayer((None, 4), name="x")
            out = DenseLayer(DenseLayer(l_in, 6, name="hid"), 2, nonlinearity=None, name="out")
            y = T.matrix("y")
            cost = T.mean((get_output(out) - y) ** 2)
            params = get_all_params(out, trainable=True)
            grads = dist.mean(T.grad(cost, params))
            return graphc.function([l_in.input_var, y], cost, updates=graphc.updates.adam(grads, params, 0.01))
    """))
    res = subprocess.run(
        [sys.executable, "-m", "graphc.cli", "export", "dp.py:build", "--training", "-o", "dp.onnx", "--check"],
        capture_output=True, text=True, cwd=tmp_path, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    out = res.stdout
    assert "a step with collectives, written as 2 models" in out
    assert "1. dp.gradients.onnx (gradients)" in out and "2. dp.apply.onnx (apply)" in out
    assert "mean/0 float32 (4, 6): mean" in out and "mean/3 float32 (2): mean" in out
    assert "hid.W (4, 6) <- hid.W.next" in out and "adam.t () <- adam.t.next" in out
    assert out.count("onnx.checker (full check, shape inference)") == 2
    assert sorted(p.name for p in tmp_path.glob("dp.*")) == ["dp.apply.onnx", "dp.gradients.onnx", "dp.py", "dp.state.npz"]
    assert not (tmp_path / "dp.onnx").exists()
    assert _contract(onnx.load(str(tmp_path / "dp.apply.onnx")))["role"] == "apply"


def test_a_collective_of_a_collective_and_names_the_stages_use_are_refused():
    x = T.matrix("x")
    w = graphc.shared(np.ones((3, 2), dtype=np.float32), name="w")
    cost = T.sum(T.dot(x, w) ** 2)
    twice = dist.mean(dist.mean(graphc.grad(cost, w)))
    with pytest.raises(ValueError, match=r"a collective \(mean\) reduces the result of another collective \(mean/0\)"):
        training_model([x], cost, [(w, w - 0.1 * twice)])
    taken = T.matrix("carry/0")
    cost = T.sum(T.dot(taken, w) ** 2)
    with pytest.raises(ValueError, match=r"the name 'carry/0' is taken twice in the gradients model"):
        training_model([taken], cost, [(w, w - 0.1 * dist.mean(graphc.grad(cost, w)))])
