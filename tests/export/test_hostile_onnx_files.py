"""Hostile ONNX files through the installed ``graphc`` command: no byte of a file outside the model's folder ever shows.

Every model here is ``y = x + C`` (float32, 4 values) with ``C`` stored externally somewhere an
older check did not look (a sparse initializer, a Constant's sparse value, a subgraph, a
model-local function, a function's attribute default, a training graph) and pointing at
``secret.bin`` outside the model's folder.  ``secret.bin`` holds recognizable float32 values; each
command (``info``, ``check``, ``run``, ``bench``) must exit with status 1 after printing one line
``graphc CMD: error: ...`` and no traceback, and none of those values (nor the raw bytes) may
appear in what it prints.  A run in the model's own folder (where ONNX Runtime would resolve a
relative location left in the model) and one in the secret's folder are both tried.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from graphc.export import load
from graphc.export.safety import iter_tensors

GRAPHC = str(Path(sys.executable).with_name("graphc"))
SECRET = np.array([31337.25, -27182.5, 16180.125, 14142.75] * 4, np.float32)
"""What ``secret.bin`` holds: values that print recognizably however numpy formats them."""
PATTERNS = ("31337", "3.1337", "27182", "2.7182", "16180", "1.618", "14142", "1.4142")


def _external(name: str, location: str, dtype: int = TensorProto.FLOAT, dims: tuple[int, ...] = (4,), length: int | None = None) -> TensorProto:
    t = TensorProto(name=name, data_type=dtype, dims=list(dims), data_location=TensorProto.EXTERNAL)
    entries = [("location", location), ("offset", "0")] + ([("length", str(length))] if length is not None else [])
    for k, v in entries:
        t.external_data.add(key=k, value=v)
    return t


def _io() -> tuple[list[onnx.ValueInfoProto], list[onnx.ValueInfoProto]]:
    return [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])], [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])]


def _model(nodes: list[onnx.NodeProto], **graph_kw: object) -> onnx.ModelProto:
    inputs, outputs = _io()
    g = helper.make_graph(nodes, "g", inputs, outputs, **graph_kw)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)])
    m.ir_version = 10
    return m


def _sparse(values: TensorProto, indices: TensorProto | None = None) -> onnx.SparseTensorProto:
    if indices is None:
        indices = numpy_helper.from_array(np.arange(4, dtype=np.int64), "idx")
    return helper.make_sparse_tensor(values, indices, [4])


def _branch(node: onnx.NodeProto, name: str) -> onnx.GraphProto:
    return helper.make_graph([node], name, [], [helper.make_tensor_value_info("c", TensorProto.FLOAT, [4])])


def hostile_models(location: str) -> dict[str, onnx.ModelProto]:
    """One model per place a tensor can hide, each with its data at ``location``."""
    add = helper.make_node("Add", ["x", "C"], ["y"])
    inline = numpy_helper.from_array(np.zeros(4, np.float32), "z")
    models = {
        "initializer": _model([add], initializer=[_external("C", location, length=16)]),
        "sparse-initializer": _model([add], sparse_initializer=[_sparse(_external("C", location))]),
        "sparse-indices": _model(
            [add], sparse_initializer=[_sparse(numpy_helper.from_array(np.ones(4, np.float32), "C"), _external("idx", location, TensorProto.INT64))]
        ),
        "constant-value": _model([helper.make_node("Constant", [], ["C"], value=_external("v", location)), add]),
        "constant-sparse-value": _model([helper.make_node("Constant", [], ["C"], sparse_value=_sparse(_external("v", location))), add]),
    }
    cond = numpy_helper.from_array(np.array(True), "cond")
    then = _branch(helper.make_node("Constant", [], ["c"], value=_external("v", location)), "then")
    other = _branch(helper.make_node("Constant", [], ["c"], sparse_value=_sparse(_external("v", location))), "else")
    models["if-subgraph"] = _model([helper.make_node("If", ["cond"], ["C"], then_branch=then, else_branch=other), add], initializer=[cond])
    plain = _branch(helper.make_node("Constant", [], ["c"], value=inline), "plain")
    deeper = helper.make_graph(
        [helper.make_node("If", ["cond"], ["c"], then_branch=then, else_branch=plain)], "outer", [],
        [helper.make_tensor_value_info("c", TensorProto.FLOAT, [4])],
    )
    models["nested-subgraph"] = _model([helper.make_node("If", ["cond"], ["C"], then_branch=deeper, else_branch=plain), add], initializer=[cond])
    fn = helper.make_function(
        "local", "addc", ["a"], ["b"],
        [helper.make_node("Constant", [], ["c"], value=_external("v", location)), helper.make_node("Add", ["a", "c"], ["b"])],
        [helper.make_opsetid("", 18)],
    )
    m = _model([helper.make_node("addc", ["x"], ["y"], domain="local")])
    m.opset_import.append(helper.make_opsetid("local", 1))
    m.functions.append(fn)
    models["local-function"] = m
    fn = helper.make_function(
        "local", "addv", ["a"], ["b"],
        [helper.make_node("Constant", [], ["c"]), helper.make_node("Add", ["a", "c"], ["b"])],
        [helper.make_opsetid("", 18)],
    )
    fn.node[0].attribute.add(name="value", type=onnx.AttributeProto.TENSOR, ref_attr_name="v")
    fn.attribute_proto.append(helper.make_attribute("v", _external("v", location)))
    m = _model([helper.make_node("addv", ["x"], ["y"], domain="local")])
    m.opset_import.append(helper.make_opsetid("local", 1))
    m.functions.append(fn)
    models["function-attribute-default"] = m
    m = _model([add], initializer=[numpy_helper.from_array(np.zeros(4, np.float32), "C")])
    init = helper.make_graph([], "init", [], [helper.make_tensor_value_info("C", TensorProto.FLOAT, [4])], initializer=[_external("C", location)])
    m.training_info.add(initialization=init, algorithm=helper.make_graph([], "algo", [], []))
    models["training-info"] = m
    return models


@pytest.fixture(scope="module")
def layout(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``root/secret.bin`` (the secret), ``root/outside/w.bin`` (the same bytes) and ``root/models/`` (the models' folder)."""
    root = tmp_path_factory.mktemp("hostile")
    (root / "secret.bin").write_bytes(SECRET.tobytes())
    (root / "outside").mkdir()
    (root / "outside" / "w.bin").write_bytes(SECRET.tobytes())
    (root / "models").mkdir()
    (root / "models" / "x.npy").write_bytes(b"")
    np.save(root / "models" / "x.npy", np.zeros(4, np.float32))
    return {"root": root, "models": root / "models"}


def graphc(args: list[str], cwd: Path, memory: int | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run the installed ``graphc`` command (under an address-space limit of ``memory`` bytes if given)."""

    def limit() -> None:
        if memory is not None:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    env = {k: v for k, v in os.environ.items() if k != "GRAPHC_MEMORY_BUDGET"}
    return subprocess.run([GRAPHC, *args], cwd=cwd, capture_output=True, timeout=300, preexec_fn=limit, env=env)


def assert_refused(proc: subprocess.CompletedProcess[bytes], command: str, *fragments: str) -> str:
    """Exit status 1, one line ``graphc COMMAND: error: ...`` on stderr, nothing of the secret anywhere."""
    out, err = proc.stdout, proc.stderr
    for blob in (out, err):
        assert SECRET.tobytes()[:8] not in blob and SECRET[:2].tobytes() not in blob
        text = blob.decode("utf-8", "replace")
        assert not [p for p in PATTERNS if p in text], text
    lines = err.decode().strip().splitlines()
    assert proc.returncode == 1, (proc.returncode, err.decode())
    assert len(lines) == 1 and lines[0].startswith(f"graphc {command}: error: "), err.decode()
    assert "Traceback" not in err.decode() and not out.strip()
    for f in fragments:
        assert f in lines[0], lines[0]
    return lines[0]


COMMANDS = (["info"], ["check"], ["run", "--input", "x=x.npy"], ["bench", "--runs", "1", "--warmup", "0"])


PLACES = list(hostile_models("x"))
LOCATIONS = {"../secret.bin": "points outside the model's folder", "ABSOLUTE": "points outside the model's folder", "secret.bin": "does not exist"}
"""Where the data is said to be: up and out, absolute, and a name that only the working folder holds."""


def _location(layout: dict[str, Path], location: str) -> str:
    return str(layout["root"] / "secret.bin") if location == "ABSOLUTE" else location


@pytest.mark.parametrize("place", PLACES)
def test_a_tensor_hidden_anywhere_is_refused_by_every_command(layout: dict[str, Path], place: str) -> None:
    for location, fragment in LOCATIONS.items():  # in-process: every place with every location
        path = layout["models"] / f"{place}.onnx"
        path.write_bytes(hostile_models(_location(layout, location))[place].SerializeToString())
        with pytest.raises(ValueError, match=fragment):
            load(path, check=False)
    location = list(LOCATIONS)[PLACES.index(place) % len(LOCATIONS)]  # the command: one location per place, in turn
    path.write_bytes(hostile_models(_location(layout, location))[place].SerializeToString())
    for k, cmd in enumerate(COMMANDS):
        # run in the secret's folder (where ONNX Runtime would resolve 'secret.bin') and in the model's ('../secret.bin')
        cwd = layout["root"] if k % 2 == 0 else layout["models"]
        args = [cmd[0], str(path), *[a if a != "x=x.npy" else f"x={layout['models'] / 'x.npy'}" for a in cmd[1:]]]
        assert_refused(graphc(args, cwd), cmd[0], LOCATIONS[location])


def test_links_folders_and_devices_inside_the_folder_are_refused(layout: dict[str, Path]) -> None:
    models = layout["models"]
    link_dir = models / "linked"
    if not link_dir.exists():
        os.symlink(layout["root"] / "outside", link_dir)
        os.mkdir(models / "adir")
        os.mkfifo(models / "fifo")
    cases = {
        "linked/w.bin": "symbolic link ('linked'",
        "adir": "is not a regular file",
        "fifo": "is not a regular file",
        ".": "names the model's folder",
        "x.npy/w.bin": "'x.npy' is not a folder",
    }
    for k, (location, fragment) in enumerate(cases.items()):
        path = models / f"local{k}.onnx"
        path.write_bytes(hostile_models(location)["sparse-initializer"].SerializeToString())
        for cmd in (["info"], ["run", "--input", f"x={models / 'x.npy'}"]):
            assert_refused(graphc([cmd[0], str(path), *cmd[1:]], models), cmd[0], fragment)


def test_versions_are_checked_by_the_command(layout: dict[str, Path]) -> None:
    models = layout["models"]
    base = _model([helper.make_node("Add", ["x", "x"], ["y"])])
    cases = {"ir-1": ("ir_version", -1, "IR version -1 is not supported"), "ir99": ("ir_version", 99, "IR version 99 is not supported")}
    for name, (field, value, fragment) in cases.items():
        m = onnx.ModelProto()
        m.CopyFrom(base)
        setattr(m, field, value)
        (models / f"{name}.onnx").write_bytes(m.SerializeToString())
        assert_refused(graphc(["check", str(models / f"{name}.onnx")], models), "check", fragment)
    m = onnx.ModelProto()
    m.CopyFrom(base)
    m.opset_import.append(helper.make_opsetid("ai.onnx.ml", 0))
    (models / "ml0.onnx").write_bytes(m.SerializeToString())
    assert_refused(graphc(["info", str(models / "ml0.onnx")], models), "info", "opset 0 of domain 'ai.onnx.ml' is not supported")


GIB = 1 << 30


def test_a_huge_sparse_data_file_costs_no_memory(layout: dict[str, Path]) -> None:
    """A 1.6 GB (sparse) data file: a 4-value tensor without ``length`` reads 16 bytes; a tensor claiming it all is refused before any read."""
    models = layout["models"]
    with open(models / "huge.bin", "wb") as f:
        f.write(np.arange(4, dtype=np.float32).tobytes())
        f.truncate(1_600_000_000)
    small = _model([helper.make_node("Add", ["x", "C"], ["y"])], initializer=[_external("C", "huge.bin")])
    (models / "small.onnx").write_bytes(small.SerializeToString())
    big = _model([helper.make_node("Add", ["x", "C"], ["y"])], initializer=[_external("C", "huge.bin", dims=(400_000_000,))])
    big.graph.input[0].type.tensor_type.shape.dim[0].dim_value = 400_000_000
    big.graph.output[0].type.tensor_type.shape.dim[0].dim_value = 400_000_000
    (models / "big.onnx").write_bytes(big.SerializeToString())
    probe = subprocess.run(
        [sys.executable, "-c", "import numpy, onnxruntime, graphc.cli"], preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (3 * GIB, 3 * GIB)),
        capture_output=True,
    )
    assert probe.returncode == 0, probe.stderr.decode()[-2000:]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    ok = graphc(["run", str(models / "small.onnx"), "--input", f"x={models / 'x.npy'}"], models, memory=3 * GIB)
    assert ok.returncode == 0, ok.stderr.decode()
    assert "[0. 1. 2. 3.]" in ok.stdout.decode()
    line = assert_refused(graphc(["run", str(models / "big.onnx")], models, memory=3 * GIB), "run", "over the memory budget")
    assert "external data of its tensors needs 1.5 GiB" in line
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    assert max(peak, before) < 600 * 1024, f"a child's peak resident memory was {peak / 1024:.0f} MiB"  # ru_maxrss is in KiB
    # a file shorter than the dims need is refused before reading it
    short = _model([helper.make_node("Add", ["x", "C"], ["y"])], initializer=[_external("C", "x.npy", dims=(1_000_000,))])
    (models / "short.onnx").write_bytes(short.SerializeToString())
    assert_refused(graphc(["info", str(models / "short.onnx")], models), "info", "lies past the end of 'x.npy'")


def test_the_same_data_inside_the_folder_loads_from_every_place(layout: dict[str, Path], tmp_path: Path) -> None:
    """The walk reads what it refuses outside: each hidden place, pointed inside the folder, loads with the right values."""
    values = np.array([1.5, -2.0, 3.25, 4.0], np.float32)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "w.bin").write_bytes(values.tobytes())
    for place, model in hostile_models("data/w.bin").items():
        if place == "sparse-indices":
            continue  # float bytes are no indices
        path = tmp_path / f"{place}.onnx"
        path.write_bytes(model.SerializeToString())
        loaded = load(path, check=False)
        external = {label for label, t in iter_tensors(model) if t.data_location == TensorProto.EXTERNAL}
        got = [numpy_helper.to_array(t) for label, t in iter_tensors(loaded) if label in external]
        assert got and all(np.array_equal(g, values) for g in got), place
        assert not any(t.data_location == TensorProto.EXTERNAL for _, t in iter_tensors(loaded))
        if place not in ("training-info",):
            proc = graphc(["run", str(path), "--input", f"x={layout['models'] / 'x.npy'}"], tmp_path)
            assert proc.returncode == 0, (place, proc.stderr.decode())
            assert "[ 1.5  -2.    3.25  4.  ]" in proc.stdout.decode(), (place, proc.stdout.decode())
