"""The ``graphc`` command against models and files that hang or ask for too much (issue 14).

Every test runs the installed command in a subprocess; where memory is the point, under an
address-space limit (``RLIMIT_AS``).  Each checks the exit status, that standard error is one
line, and that no process is left behind.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

GRAPHC = str(Path(sys.executable).with_name("graphc"))
LIMIT_AS = 3 << 30


def _model(nodes, inputs, outputs, inits=(), opset=18):
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=9)


def loop_model(trip: int | None) -> onnx.ModelProto:
    """``y = x + (number of iterations)``: a Loop whose condition stays true, with or without a trip count."""
    body = helper.make_graph(
        [helper.make_node("Identity", ["cond_in"], ["cond_out"]), helper.make_node("Add", ["v_in", "one"], ["v_out"])],
        "body",
        [helper.make_tensor_value_info("i", TensorProto.INT64, []), helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
         helper.make_tensor_value_info("v_in", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []), helper.make_tensor_value_info("v_out", TensorProto.FLOAT, [1])],
        [helper.make_tensor("one", TensorProto.FLOAT, [1], [1.0])],
    )  # fmt: skip
    inits = [helper.make_tensor("cond", TensorProto.BOOL, [], [True])]
    if trip is not None:
        inits.append(helper.make_tensor("M", TensorProto.INT64, [], [trip]))
    node = helper.make_node("Loop", ["M" if trip is not None else "", "cond", "x"], ["y"], body=body)
    return _model([node], [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])], [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])], inits)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("hostile_cli")
    onnx.save(loop_model(None), d / "forever.onnx")
    onnx.save(loop_model(2**62), d / "trip62.onnx")
    onnx.save(loop_model(1_000_000), d / "slow_reference.onnx")
    np.save(d / "x.npy", np.zeros(1, np.float32))
    return d


def _limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT_AS, LIMIT_AS))


class Command:
    """The installed ``graphc`` in a subprocess, tagged so that the test can tell none of its processes is left."""

    def __init__(self, *args, cwd, memory_limit=False, env=None):
        self.tag = uuid.uuid4().hex
        full_env = {**os.environ, "GRAPHC_TEST_TAG": self.tag, **(env or {})}
        self.proc = subprocess.Popen(
            [GRAPHC, *map(str, args)], cwd=cwd, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            preexec_fn=_limit_memory if memory_limit else None,
        )

    def threads(self) -> set[str]:
        names = set()
        try:
            for task in os.listdir(f"/proc/{self.proc.pid}/task"):
                with open(f"/proc/{self.proc.pid}/task/{task}/comm") as f:
                    names.add(f.read().strip())
        except OSError:
            pass
        return names

    def wait_for_run(self, timeout=120.0):
        """Until ONNX Runtime runs the model (the worker thread named graphc-ort-run exists)."""
        end = time.monotonic() + timeout
        while "graphc-ort-run" not in self.threads():
            assert self.proc.poll() is None, self.proc.communicate()
            assert time.monotonic() < end, "the command never started running the model"
            time.sleep(0.05)
        time.sleep(0.5)

    def finish(self, timeout):
        try:
            out, err = self.proc.communicate(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.communicate()
        assert not _tagged(self.tag), "a process of the command is still running"
        return self.proc.returncode, out, err


def _tagged(tag):
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                if f"GRAPHC_TEST_TAG={tag}".encode() in f.read():
                    found.append(pid)
        except OSError:
            continue
    return found


def _one_line(err):
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


STOPPABLE = [
    ("run", "forever.onnx", ["--input", "x=x.npy"]),
    ("check", "trip62.onnx", []),
    ("bench", "forever.onnx", []),
    ("run", "trip62.onnx", ["--input", "x=x.npy", "-o", "out.npz"]),
]


@pytest.mark.parametrize("command,model,extra", STOPPABLE, ids=[f"{c}-{m}" for c, m, _ in STOPPABLE])
def test_ctrl_c_stops_a_run_that_never_ends(files, command, model, extra):
    cmd = Command(command, model, *extra, cwd=files)
    cmd.wait_for_run()
    start = time.monotonic()
    cmd.proc.send_signal(signal.SIGINT)
    status, out, err = cmd.finish(timeout=10)
    assert time.monotonic() - start < 10
    assert status == 130 and _one_line(err) == f"graphc {command}: interrupted"
    assert not (files / "out.npz").exists()


@pytest.mark.parametrize("command,model,extra", STOPPABLE[:3], ids=[f"{c}-{m}" for c, m, _ in STOPPABLE[:3]])
def test_timeout_stops_a_run_that_never_ends(files, command, model, extra):
    start = time.monotonic()
    cmd = Command(command, model, *extra, "--timeout", "2", cwd=files)
    status, out, err = cmd.finish(timeout=60)
    line = _one_line(err)
    assert status == 1 and line.startswith(f"graphc {command}: error: stopped after 2 s (--timeout 2) while ")
    assert "ONNX Runtime" in line and time.monotonic() - start < 30


def test_ctrl_c_and_timeout_while_onnx_runtime_creates_a_session(files):
    onnx.save(_chain(100_000), files / "chain100k.onnx")  # several seconds of session creation
    cmd = Command("check", "chain100k.onnx", cwd=files)
    end = time.monotonic() + 120
    while "graphc-ort-load" not in cmd.threads():  # ONNX Runtime is creating the session (it cannot be stopped)
        assert cmd.proc.poll() is None and time.monotonic() < end, cmd.proc.communicate()
        time.sleep(0.02)
    start = time.monotonic()
    cmd.proc.send_signal(signal.SIGINT)
    status, out, err = cmd.finish(timeout=10)
    assert status == 130 and _one_line(err) == "graphc check: interrupted" and out == ""
    assert time.monotonic() - start < 10
    start = time.monotonic()
    # a short limit: creating this session took 1-4 s here, and once under 1 s (the run then went on to the input check)
    status, _, err = Command("run", "chain100k.onnx", "--input", "x=x.npy", "--timeout", "0.3", cwd=files).finish(timeout=60)
    assert status == 1 and _one_line(err).startswith("graphc run: error: stopped after 0.3 s (--timeout 0.3)"), err
    assert time.monotonic() - start < 15


def test_a_slow_reference_is_skipped_with_the_reason(files):
    cmd = Command("check", "slow_reference.onnx", "--reference-timeout", "1", cwd=files)
    status, out, err = cmd.finish(timeout=120)
    assert status == 0 and err == "", err
    assert "ok   ONNX Runtime runs it" in out
    assert "skip onnx.reference: stopped after 1 s (--reference-timeout)" in out and "check passed" in out


def test_options_are_checked(files):
    for bad in (["--timeout", "0"], ["--timeout", "soon"], ["--max-nodes", "-1"]):
        status, _, err = Command("run", "forever.onnx", *bad, cwd=files).finish(timeout=60)
        assert status == 2 and "graphc run: error: argument" in err.strip().splitlines()[-1]


# --- memory ----------------------------------------------------------------------------------


def test_the_address_space_limit_leaves_room_for_the_command(files):
    out = subprocess.run(
        [sys.executable, "-c", "import numpy, onnxruntime, graphc.cli; print('ok')"], preexec_fn=_limit_memory,
        capture_output=True, text=True, timeout=120,
    )
    assert out.stdout.strip() == "ok", out.stderr


def test_a_npy_header_claiming_a_trillion_elements(files):
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000, 1000000), }".ljust(117) + "\n"
    (files / "bomb.npy").write_bytes(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode())
    (files / "bomb_full.npy").write_bytes(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode() + b"\0" * 4096)
    for name in ("bomb.npy", "bomb_full.npy"):
        status, _, err = Command("run", "forever.onnx", "--input", f"x={name}", cwd=files, memory_limit=True).finish(timeout=120)
        line = _one_line(err)
        assert status == 1 and line.startswith("graphc run: error: --input x: ") and name in line, line


def test_truncated_and_empty_npz_inputs(files):
    np.savez(files / "good.npz", x=np.zeros(1, np.float32))
    data = (files / "good.npz").read_bytes()
    (files / "cut.npz").write_bytes(data[: len(data) // 2])
    (files / "empty.npz").write_bytes(b"")
    for name in ("cut.npz", "empty.npz"):
        status, _, err = Command("run", "forever.onnx", "--input", name, "--timeout", "30", cwd=files).finish(timeout=120)
        line = _one_line(err)
        assert status == 1 and line.startswith("graphc run: error: --input: ") and name in line, line


def test_random_inputs_over_the_budget_are_refused_before_drawing(files):
    big = _model(
        [helper.make_node("Identity", ["x"], ["y"])],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2**20, 2**20])], [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2**20, 2**20])],
    )
    onnx.save(big, files / "huge_input.onnx")
    dyn = _model(
        [helper.make_node("Identity", ["x"], ["y"])],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3])], [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 3])],
    )
    onnx.save(dyn, files / "dyn.onnx")
    cases = [
        (["check", "huge_input.onnx"], r"input 'x' of shape \(1048576, 1048576\) \(float32, "),
        (["bench", "huge_input.onnx"], r"input 'x' of shape \(1048576, 1048576\)"),
        (["check", "dyn.onnx", "--dim", "n=1000000000000"], r"input 'x' of shape \(1000000000000, 3\).*--dim n=1000000000000"),
    ]
    import re

    for args, pattern in cases:
        status, _, err = Command(*args, cwd=files, memory_limit=True).finish(timeout=120)
        line = _one_line(err)
        assert status == 1 and re.search(pattern, line) and "over the memory budget" in line, line


def _chain(n: int) -> onnx.ModelProto:
    model = _model([], [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 4])], [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 4])])
    graph = model.graph
    prev = "x"
    for i in range(n):
        node = graph.node.add()
        node.op_type = ("Relu", "Identity", "Neg")[i % 3]
        node.input.append(prev)
        prev = f"t{i}" if i < n - 1 else "y"
        node.output.append(prev)
    return model


def test_a_million_nodes_are_refused_quickly_under_a_memory_limit(files):
    onnx.save(_chain(1_000_000), files / "chain.onnx")
    np.save(files / "x4.npy", np.zeros((2, 4), np.float32))
    for command in ("check", "run", "bench"):
        extra = ["--input", "x=x4.npy"] if command == "run" else []
        start = time.monotonic()
        status, _, err = Command(command, "chain.onnx", *extra, cwd=files, memory_limit=True).finish(timeout=120)
        line = _one_line(err)
        assert status == 1 and "chain.onnx has more than 200,000 nodes" in line and "--max-nodes" in line, line
        assert time.monotonic() - start < 60
    # allowed more nodes, the memory estimate still refuses it under the budget
    status, _, err = Command(
        "check", "chain.onnx", "--max-nodes", "2000000", cwd=files, memory_limit=True, env={"GRAPHC_MEMORY_BUDGET": "1G"}
    ).finish(timeout=120)
    line = _one_line(err)
    assert status == 1 and "1,000,000 nodes" in line and "over the memory budget of 1.0 GiB" in line, line


def test_a_model_under_the_limits_still_checks(files):
    onnx.save(_chain(3000), files / "chain3k.onnx")
    status, out, err = Command("check", "chain3k.onnx", "--max-nodes", "5000", cwd=files, memory_limit=True).finish(timeout=300)
    assert status == 0 and "check passed" in out, (out, err)
    status, _, err = Command("check", "chain3k.onnx", "--max-nodes", "2999", cwd=files).finish(timeout=300)
    assert status == 1 and "more than 2,999 nodes" in _one_line(err)
