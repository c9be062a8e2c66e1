"""The graphc command: every sub-command through the real entry point, and their failure modes.

The main flows run the command in a subprocess (``python -m graphc.cli``, what the ``graphc``
script calls); the long list of failure modes runs ``graphc.cli.main`` in-process, which is the
same code without the interpreter start-up.
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
from graphc.cli import main
from graphc.export import save, to_onnx
from graphc.export.training import load_training_state

TARGETS = textwrap.dedent(
    """
    import numpy as np
    import graphc
    from graphc import theanets
    import graphc.tensor as T
    from graphc.layers import DenseLayer, InputLayer, LSTMLayer, get_all_params, get_output

    def lstm():
        graphc.random.set_rng(np.random.RandomState(0))
        return LSTMLayer(InputLayer((None, None, 3), name="x"), 5, name="lstm")

    def two_heads():
        l_in = InputLayer((None, 4), name="x")
        return [DenseLayer(l_in, 2, name="a"), DenseLayer(l_in, 3, name="b")]

    def step():
        graphc.random.set_rng(np.random.RandomState(1))
        l_in = InputLayer((None, 4), name="x")
        out = DenseLayer(l_in, 2, nonlinearity=None)
        y = T.matrix("y")
        cost = T.mean((get_output(out) - y) ** 2)
        return graphc.function([l_in.input_var, y], cost, updates=graphc.updates.adam(cost, get_all_params(out), 0.01))

    def predict():
        x = T.matrix("x")
        return graphc.function([x], T.tanh(x) * 2)

    def net():
        return theanets.Regressor([4, (6, "tanh"), 2])

    def broken():
        raise RuntimeError("boom")

    def wrong():
        return 42

    def classifier():
        graphc.random.set_rng(np.random.RandomState(2))
        l_in = InputLayer((None, 5), name="x")
        hid = DenseLayer(l_in, 7, nonlinearity=graphc.nonlinearities.tanh)
        return DenseLayer(hid, 3, nonlinearity=graphc.nonlinearities.softmax)

    LAYER = InputLayer((None, 2), name="z")
    """
)


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    (d / "nets.py").write_text(TARGETS)
    return d


def graphc_cmd(*args, cwd):
    return subprocess.run([sys.executable, "-m", "graphc.cli", *map(str, args)], capture_output=True, text=True, cwd=cwd)


def test_version_and_help():
    out = subprocess.run([sys.executable, "-m", "graphc.cli", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"graphc {graphc.__version__}"
    for cmd in ("export", "info", "check", "run", "bench"):
        res = subprocess.run([sys.executable, "-m", "graphc.cli", cmd, "--help"], capture_output=True, text=True)
        assert res.returncode == 0 and "usage: graphc " + cmd in res.stdout
    res = subprocess.run([sys.executable, "-m", "graphc.cli"], capture_output=True, text=True)
    assert res.returncode == 2 and "COMMAND" in res.stderr


def test_export_check_run_bench_an_lstm(work):
    res = graphc_cmd("export", "nets.py:lstm", "-o", "lstm.onnx", "--check", "--runs-on", "cpu", cwd=work)
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "exported Lasagne layers from nets.py:lstm" in out
    assert "x: float32 (x_dim0, x_dim1, 3)" in out and "lstm: float32" in out
    assert "initializers:" in out and "LSTM" in out  # op histogram: the native cell
    assert "native_rnn            1 change(s)" in out  # what each pass changed
    assert "check passed" in out
    x = np.random.default_rng(0).normal(size=(2, 6, 3)).astype(np.float32)
    np.save(work / "x.npy", x)
    res = graphc_cmd("run", "lstm.onnx", "--input", "x=x.npy", "--output", "out.npz", cwd=work)
    assert res.returncode == 0, res.stderr
    sess = ort.InferenceSession(str(work / "lstm.onnx"), providers=["CPUExecutionProvider"])
    with np.load(work / "out.npz") as got:
        np.testing.assert_allclose(got["lstm"], sess.run(None, {"x": x})[0], rtol=1e-6)
    res = graphc_cmd("check", "lstm.onnx", "--dim", "x_dim0=3", "--dim", "x_dim1=7", cwd=work)
    assert res.returncode == 0 and "x(3, 7, 3)" in res.stdout and "check passed" in res.stdout
    res = graphc_cmd("bench", "lstm.onnx", "--runs", "20", "--warmup", "2", "--dim", "x_dim0=4", cwd=work)
    assert res.returncode == 0, res.stderr
    assert "latency ms: p50" in res.stdout and "p99" in res.stdout and "examples/s (batch 4)" in res.stdout
    res = graphc_cmd("info", "lstm.onnx", cwd=work)
    assert res.returncode == 0 and "opsets: ai.onnx 18" in res.stdout


def test_export_options_reach_the_passes_and_the_shapes(work):
    assert main(["export", str(work / "nets.py") + ":lstm", "-o", str(work / "loop.onnx"), "--no-native-rnn", "-O2"]) == 0
    ops = {n.op_type for n in onnx.load(work / "loop.onnx").graph.node}
    assert "LSTM" not in ops and "Scan" in ops
    assert main(["export", str(work / "nets.py") + ":lstm", "-o", str(work / "o0.onnx"), "-O0"]) == 0
    assert "LSTM" not in {n.op_type for n in onnx.load(work / "o0.onnx").graph.node}
    # fixed sizes: the time axis becomes static, so auto unrolling applies; --unroll never keeps the loop
    target = str(work / "nets.py") + ":lstm"
    assert main(["export", target, "-o", str(work / "u.onnx"), "--no-native-rnn", "--input-shape", "x=?,5,3"]) == 0
    model = onnx.load(work / "u.onnx")
    assert not {"Scan", "Loop"} & {n.op_type for n in model.graph.node}
    dims = model.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_value for d in dims[1:]] == [5, 3] and dims[0].dim_param
    assert main(["export", target, "-o", str(work / "n.onnx"), "--no-native-rnn", "--unroll", "never",
                 "--input-shape", "x=?,5,3"]) == 0  # fmt: skip
    assert "Scan" in {n.op_type for n in onnx.load(work / "n.onnx").graph.node}
    assert main(["export", target, "-o", str(work / "d.onnx"), "--disable", "cse", "--enable", "native_rnn"]) == 0


def test_export_training_steps_that_a_bare_session_can_loop(work, capsys):
    assert main(["export", str(work / "nets.py") + ":step", "-o", str(work / "step.onnx"), "--training", "--check"]) == 0
    assert "check passed" in capsys.readouterr().out
    model = onnx.load(work / "step.onnx")
    contract = json.loads(next(p.value for p in model.metadata_props if p.key == "graphc.training"))
    assert contract["outputs"] == ["cost"] and contract["state"]["W"] == "W.next"
    state = load_training_state(work / "step.state.npz")
    sess = ort.InferenceSession(str(work / "step.onnx"), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(8, 4)).astype(np.float32), rng.normal(size=(8, 2)).astype(np.float32)
    names = [o.name for o in sess.get_outputs()]
    costs = []
    for _ in range(5):
        outs = dict(zip(names, sess.run(None, {"x": x, "y": y, **state})))
        costs.append(float(outs["cost"]))
        state = {k: outs[f"{k}.next"] for k in state if f"{k}.next" in outs} | {
            k: v for k, v in state.items() if f"{k}.next" not in outs
        }
    assert costs[-1] < costs[0]
    # a theanets network's training step, with the algorithm chosen on the command line
    assert main(["export", str(work / "nets.py") + ":net", "-o", str(work / "net.onnx"), "--training", "--algo", "sgd"]) == 0
    contract = json.loads(next(p.value for p in onnx.load(work / "net.onnx").metadata_props if p.key == "graphc.training"))
    assert contract["outputs"] == ["loss", "err"] and set(contract["state"]) == {"hid1.w", "hid1.b", "out.w", "out.b"}
    # two output layers, and an inference export of a compiled function
    assert main(["export", str(work / "nets.py") + ":two_heads", "-o", str(work / "two.onnx")]) == 0
    assert [o.name for o in onnx.load(work / "two.onnx").graph.output] == ["a", "b"]
    assert main(["export", str(work / "nets.py") + ":predict", "-o", str(work / "p.onnx")]) == 0


def test_export_training_of_a_layer_graph_matches_graphc_function(work, capsys):
    """--training --loss on Lasagne layers: cost mean(loss(output, target)), the rule's updates, a printed contract."""
    import importlib.util

    import graphc
    from graphc.layers import get_all_param_values, get_all_params, get_output
    from graphc.objectives import categorical_crossentropy

    out_path = work / "clf.onnx"
    args = ["export", str(work / "nets.py") + ":classifier", "-o", str(out_path), "--training",
            "--loss", "categorical_crossentropy", "--algo", "momentum", "--learning-rate", "0.5"]  # fmt: skip
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "data inputs: x (x_dim0, 5), target (target_dim0)" in printed and "outputs: cost" in printed
    assert "W.velocity" in printed and "<- W.next" in printed
    model = onnx.load(out_path)
    assert [i.name for i in model.graph.input][:2] == ["x", "target"]
    state = load_training_state(work / "clf.state.npz")
    # the same step built by hand and run by graphc.function, from the same initial parameters
    spec = importlib.util.spec_from_file_location("nets_again", work / "nets.py")
    nets = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(nets)
    net = nets.classifier()
    for want, got in zip(get_all_param_values(net), [state[k] for k in ("W", "b", "W_1", "b_1")] if "W_1" in state else []):
        np.testing.assert_array_equal(want, got)
    t = graphc.tensor.ivector("t")
    cost = categorical_crossentropy(get_output(net), t).mean()
    step = graphc.function([net.input_layer.input_layer.input_var, t], cost,
                           updates=graphc.updates.momentum(cost, get_all_params(net, trainable=True), 0.5))  # fmt: skip
    sess = ort.InferenceSession(str(out_path), providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    contract = json.loads(next(p.value for p in model.metadata_props if p.key == "graphc.training"))
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(9, 5)).astype(np.float32), rng.integers(0, 3, size=9).astype(np.int32)
    for _ in range(4):
        outs = dict(zip(names, sess.run(None, {"x": x, "target": y, **state})))
        state.update({n: outs[nxt] for n, nxt in contract["state"].items()})
        np.testing.assert_allclose(outs["cost"], step(x, y), rtol=1e-5)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["export", "absent.py:f", "-o", "x.onnx"], "TARGET: no such file absent.py"),
        (["export", "nets.py:nothing", "-o", "x.onnx"], "has no attribute 'nothing'"),
        (["export", "nets.py:broken", "-o", "x.onnx"], "calling nets.py:broken failed: RuntimeError: boom"),
        (["export", "nets.py:wrong", "-o", "x.onnx"], "TARGET returned int (42); expected an output layer"),
        (["export", "nets", "-o", "x.onnx"], "TARGET must be module:callable or path/to/file.py:callable"),
        (["export", "no_such_module_xyz:f", "-o", "x.onnx"], "cannot import module 'no_such_module_xyz'"),
        (["export", "nets.py:lstm", "-o", "x.txt"], "must name an .onnx file"),
        (["export", "nets.py:lstm", "-o", "missing_dir/x.onnx"], "folder missing_dir does not exist"),
        (["export", "nets.py:lstm", "-o", "x.onnx", "--training"], "--training on a layer graph needs --loss"),
        (["export", "nets.py:lstm", "-o", "x.onnx", "--training", "--loss", "mse"], "--loss 'mse' is not one of"),
        (["export", "nets.py:lstm", "-o", "x.onnx", "--training", "--loss", "squared_error", "--algo", "bfgs"],
         "--algo 'bfgs' is not an update rule of lasagne.updates"),
        (["export", "nets.py:lstm", "-o", "x.onnx", "--training", "--loss", "squared_error", "--algo", "sgd"],
         "--algo sgd has no default learning rate"),
        (["export", "nets.py:two_heads", "-o", "x.onnx", "--training", "--loss", "squared_error"],
         "--training trains one output layer, got 2"),
        (["export", "nets.py:predict", "-o", "x.onnx", "--training"], "has no updates"),
        (["export", "nets.py:lstm", "-o", "x.onnx", "--disable", "nope"], "unknown pass 'nope'"),
        (["export", "nets.py:lstm", "-o", "x.onnx", "--input-shape", "y=1,2"], "unknown input(s) ['y']"),
        (["export", "nets.py:lstm", "-o", "x.onnx", "--input-shape", "x=1,2"], "2 sizes given"),
        (["export", "nets.py:lstm", "-o", "x.onnx", "--input-shape", "x=1,2,4"], "axis 2 is 3 in the model, not 4"),
        (["export", "nets.py:lstm", "-o", "x.onnx", "--input-shape", "x=a,2,3"], "is not a size"),
        (["export", "nets.py:net", "-o", "x.onnx", "--training", "--algo", "bfgs"], "unknown training algorithm"),
        (["export", "nets.py:lstm", "-o", "x.onnx", "--opset", "9"], "opset"),
        (["info", "absent.onnx"], "no ONNX model at absent.onnx"),
        (["check", "junk.onnx"], "is not an ONNX model"),
        (["run", "model.onnx", "--input", "y=x.npy"], "unknown input(s) ['y']"),
        (["run", "model.onnx"], "missing input(s)"),
        (["run", "model.onnx", "--input", "x=bad_rank.npy"], "has shape (2,); the model expects 2 dimensions"),
        (["run", "model.onnx", "--input", "x=wide.npy"], "axis 1 must be 3"),
        (["run", "model.onnx", "--input", "x=ints.npy"], "has dtype int64; the model expects float32"),
        (["run", "model.onnx", "--input", "x=absent.npy"], "no such file absent.npy"),
        (["run", "model.onnx", "--input", "x=junk.onnx"], "is not a .npy/.npz array file"),
        (["run", "model.onnx", "--input", "x.npy"], "a single .npy array needs a name"),
        (["run", "model.onnx", "--input", "x=x.npy", "--input", "x=x.npy"], "given twice"),
        (["run", "model.onnx", "--input", "x=x.npy", "-o", "no_dir/out.npz"], "folder no_dir does not exist"),
        (["check", "model.onnx", "--dim", "nope=3"], "match no dynamic dimension"),
        (["check", "model.onnx", "--dim", "x_dim0=0"], "must be positive"),
        (["bench", "model.onnx", "--runs", "0"], "--runs must be >= 1"),
    ],
)
def test_failures_exit_1_with_one_clear_line(work, monkeypatch, capsys, args, message):
    monkeypatch.chdir(work)
    if not (work / "model.onnx").exists():
        w = graphc.shared(np.ones((3, 2), np.float32), name="W")
        x = T.tensor("float32", shape=(None, 3), name="x")
        save(to_onnx({"y": T.dot(x, w)}, [x]), work / "model.onnx")
        np.save(work / "x.npy", np.ones((2, 3), np.float32))
        np.save(work / "bad_rank.npy", np.ones(2, np.float32))
        np.save(work / "wide.npy", np.ones((2, 4), np.float32))
        np.save(work / "ints.npy", np.ones((2, 3), np.int64))
        (work / "junk.onnx").write_text("hello")
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"graphc {args[0]}: error: ") and message in err, err
    assert len(err.strip().splitlines()) == 1


def test_a_failing_comparison_fails_check(work, capsys):
    # a model whose output is random: ONNX Runtime and onnx.reference draw different numbers
    from graphc.tensor.random import RandomStreams

    x = T.tensor("float32", shape=(None, 3), name="x")
    noisy = x + RandomStreams(1).normal(size=x.shape)
    save(to_onnx({"y": noisy}, [x]), work / "noisy.onnx")
    assert main(["check", str(work / "noisy.onnx")]) == 1
    out = capsys.readouterr().out
    assert "FAIL output y" in out and "check FAILED" in out


def test_the_installed_command_exports_and_runs_a_lasagne_network(work):
    """Through the console script: InputLayer names are the model's inputs; --training --loss on layers."""
    import shutil

    exe = shutil.which("graphc") or str(Path(sys.executable).parent / "graphc")
    if not Path(exe).exists():
        pytest.skip("the graphc console script is not installed in this environment")
    res = subprocess.run([exe, "export", "nets.py:classifier", "-o", "clf_inf.onnx"], capture_output=True, text=True, cwd=work)
    assert res.returncode == 0, res.stderr
    np.save(work / "xc.npy", np.ones((3, 5), np.float32))
    res = subprocess.run([exe, "run", "clf_inf.onnx", "--input", "x=xc.npy", "-o", "clf_out.npz"], capture_output=True,
                         text=True, cwd=work)  # fmt: skip
    assert res.returncode == 0, res.stderr
    with np.load(work / "clf_out.npz") as got:
        (probs,) = got.values()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    res = subprocess.run([exe, "export", "nets.py:classifier", "-o", "clf_step.onnx", "--training", "--loss",
                          "categorical_crossentropy", "--algo", "sgd", "--learning-rate", "0.1"], capture_output=True,
                         text=True, cwd=work)  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "data inputs: x (x_dim0, 5), target (target_dim0)" in res.stdout and (work / "clf_step.state.npz").exists()
