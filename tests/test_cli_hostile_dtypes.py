"""``graphc check``/``run`` on every tensor dtype ONNX Runtime runs, ONNX Runtime's own log lines,
and the stopping machinery in-process (issue 14)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import ml_dtypes
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from graphc.cli.dtypes import compare, random_array
from graphc.cli.interrupt import Guard, TimeoutExpired, call_stoppable
from graphc.cli.run import storable

GRAPHC = str(Path(sys.executable).with_name("graphc"))

# every element type that ONNX Runtime 1.2x loads and runs an Identity of (complex, 4-bit and
# 6-bit types it refuses to load)
DTYPES = [
    TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.FLOAT16, TensorProto.BFLOAT16, TensorProto.FLOAT8E4M3FN, TensorProto.FLOAT8E4M3FNUZ, TensorProto.FLOAT8E5M2, TensorProto.FLOAT8E5M2FNUZ,
    TensorProto.INT8, TensorProto.INT16, TensorProto.INT32, TensorProto.INT64, TensorProto.UINT8, TensorProto.UINT16, TensorProto.UINT32, TensorProto.UINT64, TensorProto.BOOL, TensorProto.STRING,
]


def _graphc(*args, cwd):
    return subprocess.run([GRAPHC, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=300)


def _two_op_model(elem: int) -> onnx.ModelProto:
    """``y = Identity(x)``, ``z = Transpose(x)`` (an op that moves the values, not only a copy)."""
    nodes = [helper.make_node("Identity", ["x"], ["y"]), helper.make_node("Transpose", ["x"], ["z"], perm=[1, 0])]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", elem, ["n", 3])],
        [helper.make_tensor_value_info("y", elem, ["n", 3]), helper.make_tensor_value_info("z", elem, [3, "n"])],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)], ir_version=10)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    d = tmp_path_factory.mktemp("dtypes")
    for elem in DTYPES:
        onnx.save(_two_op_model(elem), d / f"{TensorProto.DataType.Name(elem)}.onnx")
    return d


@pytest.mark.parametrize("elem", DTYPES, ids=[TensorProto.DataType.Name(e) for e in DTYPES])
def test_check_passes_on_a_correct_model_of_every_dtype(models, elem):
    res = _graphc("check", f"{TensorProto.DataType.Name(elem)}.onnx", "--dim", "n=4", cwd=models)
    assert res.returncode == 0 and res.stderr == "", (res.stdout, res.stderr)
    assert "random inputs: x(4, 3)" in res.stdout and "check passed" in res.stdout
    assert res.stdout.count("ok   output") == 2


def test_run_feeds_text_and_writes_strings_and_bfloat16_readably(models):
    np.save(models / "words.npy", np.array([["a", "bc", "déf"], ["", "g", "hi"]]))
    res = _graphc("run", "STRING.onnx", "--input", "x=words.npy", "-o", "words_out.npz", cwd=models)
    assert res.returncode == 0, res.stderr
    with np.load(models / "words_out.npz", allow_pickle=False) as out:
        assert out["y"].tolist() == [["a", "bc", "déf"], ["", "g", "hi"]]
        assert out["z"].tolist() == [["a", ""], ["bc", "g"], ["déf", "hi"]]
    x = np.array([[1.5, -2.0, 3.25]], np.float32)  # exact in bfloat16
    np.save(models / "xf.npy", x)
    res = _graphc("run", "BFLOAT16.onnx", "--input", "x=xf.npy", "-o", "bf_out.npz", cwd=models)
    assert res.returncode == 0, res.stderr
    with np.load(models / "bf_out.npz", allow_pickle=False) as out:
        assert out["y"].dtype == np.float32 and np.array_equal(out["z"], x.T)


def test_onnx_runtimes_log_lines_stay_quiet_unless_asked(tmp_path):
    graph = helper.make_graph(
        [helper.make_node("Reshape", ["x", "s"], ["y"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n"]), helper.make_tensor_value_info("s", TensorProto.INT64, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["m"])],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=9), tmp_path / "reshape.onnx")
    np.save(tmp_path / "x.npy", np.ones(5, np.float32))
    np.save(tmp_path / "s.npy", np.array([3]))
    args = ["run", "reshape.onnx", "--input", "x=x.npy", "--input", "s=s.npy"]
    res = _graphc(*args, cwd=tmp_path)
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 1 and len(lines) == 1 and "cannot be reshaped" in lines[0], res.stderr
    assert lines[0].startswith("graphc run: error: ONNX Runtime could not run reshape.onnx")
    import os

    asked = subprocess.run([GRAPHC, *args], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                           env={**os.environ, "GRAPHC_ORT_LOG": "1"})  # fmt: skip
    assert asked.returncode == 1 and "[E:onnxruntime" in asked.stderr


def test_compare_per_dtype():
    f = np.array([1.0, np.nan, np.inf], np.float32)
    assert compare(f, f.copy(), 1e-4, 1e-5)[0]
    assert not compare(f, np.array([1.1, np.nan, np.inf], np.float32), 1e-4, 1e-5)[0]
    assert not compare(f, np.array([1.0, 0.0, np.inf], np.float32), 1e-4, 1e-5)[0]  # NaN only equals NaN
    h = np.array([1.0, 2.0], np.float16)
    assert compare(h, h + np.float16(0.001), 1e-4, 1e-5)[0]  # within float16's own precision
    assert not compare(h, h + np.float16(0.1), 1e-4, 1e-5)[0]
    b = np.array([1.0, 2.0], ml_dtypes.bfloat16)
    assert compare(b, b, 1e-4, 1e-5)[0] and not compare(b, b * 2, 1e-4, 1e-5)[0]
    s = np.array(["a", "b"], dtype=object)
    assert compare(s, np.array([b"a", "b"], dtype=object), 0, 0)[0]
    ok, text = compare(s, np.array(["a", "c"], dtype=object), 0, 0)
    assert not ok and "1 string(s) differ" in text
    assert not compare(np.array([True, False]), np.array([True, True]), 0, 0)[0]
    assert not compare(np.array([2**62], np.int64), np.array([2**62 + 1], np.int64), 1.0, 1.0)[0]  # ints are exact
    assert not compare(np.zeros((2, 3)), np.zeros((3, 2)), 1, 1)[0]
    assert compare([np.ones(2), np.zeros(1)], [np.ones(2), np.zeros(1)], 0, 0)[0]
    assert not compare([np.ones(2)], [np.ones(2), np.zeros(1)], 0, 0)[0]
    c = np.array([1 + 2j], np.complex64)
    assert compare(c, c, 1e-6, 0)[0] and not compare(c, c * 1j, 1e-6, 0)[0]


def test_random_arrays_and_storable():
    rng = np.random.default_rng(0)
    words = random_array(rng, (3, 4), np.dtype(object))
    assert words.shape == (3, 4) and all(isinstance(w, str) and 1 <= len(w) <= 8 for w in words.flat)
    assert random_array(rng, (2,), np.dtype(bool)).tolist() == [False, False]
    assert random_array(rng, (0, 3), np.dtype(object)).shape == (0, 3)
    bf = random_array(rng, (1000,), np.dtype(ml_dtypes.bfloat16))
    assert bf.dtype == ml_dtypes.bfloat16 and 0.8 < float(np.std(bf.astype(np.float32))) < 1.2
    assert storable(np.array(["x", b"y"], dtype=object), "o").dtype.kind == "U"
    with pytest.raises(Exception, match="output 'seq' is a list, not a tensor"):
        storable([np.ones(1)], "seq")


def test_deadlines_and_stoppable_calls_in_process():
    with Guard() as guard:
        with pytest.raises(TimeoutExpired, match=r"stopped after 0.2 s \(test limit\) while spinning"):
            with guard.deadline(0.2, "test limit"), guard.stage_of("spinning"):
                while True:  # pure Python: the interrupt arrives between bytecodes
                    pass
        # a deadline that ends first never interrupts later, even when its timer fires as it ends
        with guard.deadline(0.05, "short"):
            pass
        fired = 0
        for i in range(300):
            try:
                with guard.deadline(0.0005 * (i % 7), "racing"):
                    sum(range(2000))
            except TimeoutExpired:
                fired += 1
        time.sleep(0.3)  # a stray interrupt would raise here
        assert 0 < fired < 300
        stop = threading.Event()

        def work():
            while not stop.is_set():
                time.sleep(0.01)
            return "stopped"

        with pytest.raises(TimeoutExpired), guard.deadline(0.3, "limit"):
            call_stoppable(work, stop=stop.set, stage="working")
        assert not guard.abandoned and stop.is_set()
        assert call_stoppable(lambda: 42) == 42
        with pytest.raises(ZeroDivisionError):
            call_stoppable(lambda: 1 / 0)
    # outside a guard, Ctrl-C behaves as before
    import signal

    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
