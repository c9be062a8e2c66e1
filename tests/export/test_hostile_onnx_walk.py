"""The walk over every tensor a model can hold is exhaustive, and each malformed tensor entry is refused by name."""

from __future__ import annotations

import os
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from graphc.export import load
from graphc.export.safety import assert_no_external_data, check_model_safety, iter_tensors, load_external_data


def _closure() -> dict[str, Any]:
    """Every message type reachable from ModelProto, by full name."""
    types: dict[str, Any] = {}
    queue = deque([onnx.ModelProto.DESCRIPTOR])
    while queue:
        d = queue.popleft()
        if d.full_name not in types:
            types[d.full_name] = d
            queue.extend(f.message_type for f in d.fields if f.message_type is not None)
    return types


def _shortest(start: Any, goal: str) -> tuple[Any, ...] | None:
    """The shortest chain of fields from message type ``start`` to message type ``goal`` (breadth first)."""
    chains: dict[str, tuple[Any, ...]] = {start.full_name: ()}
    queue = deque([start])
    while queue:
        d = queue.popleft()
        if d.full_name == goal:
            return chains[goal]
        for f in d.fields:
            if f.message_type is not None and f.message_type.full_name not in chains:
                chains[f.message_type.full_name] = (*chains[d.full_name], f)
                queue.append(f.message_type)
    return None


def _edges() -> list[Any]:
    """Every message field (reachable from ModelProto) through which a TensorProto can be reached: the edges the walk must follow."""
    tensor = TensorProto.DESCRIPTOR.full_name
    return [
        f for d in _closure().values() for f in d.fields
        if f.message_type is not None and _shortest(f.message_type, tensor) is not None
    ]


def _descend(msg: Any, field: Any) -> Any:
    return getattr(msg, field.name).add() if field.is_repeated else getattr(msg, field.name)


EDGES = _edges()


def test_the_descriptor_search_finds_the_places_we_know_of() -> None:
    names = {f"{f.containing_type.name}.{f.name}" for f in EDGES}
    assert {
        "GraphProto.initializer", "GraphProto.sparse_initializer", "AttributeProto.t", "AttributeProto.tensors",
        "AttributeProto.sparse_tensor", "AttributeProto.sparse_tensors", "AttributeProto.g", "AttributeProto.graphs",
        "SparseTensorProto.values", "SparseTensorProto.indices", "ModelProto.functions", "FunctionProto.node",
        "FunctionProto.attribute_proto", "ModelProto.training_info", "TrainingInfoProto.initialization", "TrainingInfoProto.algorithm",
    } <= names
    assert "ValueInfoProto.type" not in names and "ModelProto.opset_import" not in names


@pytest.mark.parametrize("edge", EDGES, ids=[f"{f.containing_type.name}.{f.name}" for f in EDGES])
def test_a_tensor_planted_through_any_field_is_found(edge: Any) -> None:
    """For every field that can lead to a tensor: a model holding one tensor reached through that field; the walk finds it."""
    tensor = TensorProto.DESCRIPTOR.full_name
    path = (*_shortest(onnx.ModelProto.DESCRIPTOR, edge.containing_type.full_name), edge, *_shortest(edge.message_type, tensor))
    assert path[-1].message_type.full_name == tensor
    model = onnx.ModelProto()
    msg: Any = model
    for f in path:
        msg = _descend(msg, f)
    msg.name = "planted"
    msg.data_location = TensorProto.EXTERNAL
    labels = [label for label, t in iter_tensors(model) if t.name == "planted"]
    assert labels == [".".join(f"{f.name}[0]" if f.is_repeated else f.name for f in path)]
    with pytest.raises(ValueError, match="'planted'"):
        assert_no_external_data(model)


def _base(initializer: TensorProto) -> onnx.ModelProto:
    g = helper.make_graph(
        [helper.make_node("Add", ["x", "C"], ["y"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])], [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])],
        initializer=[initializer],
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)])
    m.ir_version = 10
    return m


def _ext(entries: list[tuple[str, str]], dtype: int = TensorProto.FLOAT, dims: tuple[int, ...] = (4,)) -> TensorProto:
    t = TensorProto(name="C", data_type=dtype, dims=list(dims), data_location=TensorProto.EXTERNAL)
    for k, v in entries:
        t.external_data.add(key=k, value=v)
    return t


def _write(tmp_path: Path, model: onnx.ModelProto, name: str = "m.onnx") -> Path:
    (tmp_path / "w.bin").write_bytes(np.arange(64, dtype=np.float32).tobytes())
    path = tmp_path / name
    path.write_bytes(model.SerializeToString())
    return path


BAD_TENSORS = {
    "unknown-key": (_ext([("location", "w.bin"), ("basepath", "/etc")]), "unknown external data key 'basepath'"),
    "twice": (_ext([("location", "w.bin"), ("location", "../x")]), "key 'location' is given twice"),
    "no-location": (_ext([("offset", "0")]), "names no file"),
    "nul": (_ext([("location", "w.bin\0x")]), "not a relative path"),
    "backslash": (_ext([("location", "..\\w.bin")]), "climbs out"),
    "drive": (_ext([("location", "C:w.bin")]), "not a relative path"),
    "length": (_ext([("location", "w.bin"), ("length", "20")]), "gives length 20, but dims \\[4\\] of dtype FLOAT need 16 bytes"),
    "bad-offset": (_ext([("location", "w.bin"), ("offset", "x")]), "bad offset/length"),
    "negative-offset": (_ext([("location", "w.bin"), ("offset", "-4")]), "negative offset"),
    "past-end": (_ext([("location", "w.bin"), ("offset", "250")]), "byte range 250\\+16 lies past the end of 'w.bin' \\(256 bytes\\)"),
    "string": (_ext([("location", "w.bin")], TensorProto.STRING), "dtype STRING is not supported"),
}


@pytest.mark.parametrize("case", list(BAD_TENSORS))
def test_malformed_external_entries_are_refused(tmp_path: Path, case: str) -> None:
    tensor, match = BAD_TENSORS[case]
    with pytest.raises(ValueError, match=match):
        load(_write(tmp_path, _base(tensor)), check=False)


def test_other_malformed_tensors_are_refused(tmp_path: Path) -> None:
    t = _ext([("location", "w.bin")])
    t.raw_data = b"\0" * 16
    with pytest.raises(ValueError, match="stored externally but also holds data"):
        load(_write(tmp_path, _base(t)), check=False)
    t = numpy_helper.from_array(np.zeros(4, np.float32), "C")
    t.external_data.add(key="location", value="../secret.bin")
    with pytest.raises(ValueError, match="external data entries but is not marked"):
        load(_write(tmp_path, _base(t)), check=False)
    t = numpy_helper.from_array(np.zeros(4, np.float32), "C")
    t.ParseFromString(t.SerializeToString() + b"\x70\x07")  # data_location = 7: protobuf keeps it as an unknown field
    assert t.data_location == TensorProto.DEFAULT and t.SerializeToString().endswith(b"\x70\x07")
    loaded = load(_write(tmp_path, _base(t)), check=False)  # dropped on load: ONNX Runtime sees an inline tensor
    assert not loaded.SerializeToString().endswith(b"\x70\x07") and b"\x70\x07" not in loaded.graph.initializer[0].SerializeToString()
    t = numpy_helper.from_array(np.zeros(4, np.float32), "C")
    t.segment.begin, t.segment.end = 0, 2
    with pytest.raises(ValueError, match="segment"):
        load(_write(tmp_path, _base(t)), check=False)


def test_offset_and_length_read_exactly_the_tensor(tmp_path: Path) -> None:
    for entries in ([("location", "w.bin"), ("offset", "8"), ("length", "16")], [("location", "./w.bin"), ("offset", "8")]):
        m = load(_write(tmp_path, _base(_ext(entries))), check=False)
        np.testing.assert_array_equal(numpy_helper.to_array(m.graph.initializer[0]), [2, 3, 4, 5])
    half = _ext([("location", "w.bin"), ("offset", "1")], TensorProto.INT4, (5,))  # 5 four-bit values: 3 bytes
    m = load(_write(tmp_path, _base(half)), check=False)
    assert m.graph.initializer[0].raw_data == np.arange(64, dtype=np.float32).tobytes()[1:4]


def test_without_a_folder_external_data_is_refused_and_load_external_data_checks_alone(tmp_path: Path) -> None:
    model = _base(_ext([("location", "../w.bin")]))
    with pytest.raises(ValueError, match="not read from a folder"):
        check_model_safety(model)
    with pytest.raises(ValueError, match="points outside"):  # the reader validates again: it is safe called on its own
        load_external_data(model, tmp_path / "m.onnx")


def test_unknown_fields_are_dropped(tmp_path: Path) -> None:
    """A tensor hidden in a field this onnx does not know (but a newer ONNX Runtime might) is dropped on load."""
    hidden = _ext([("location", "../secret.bin")]).SerializeToString()
    model = _base(numpy_helper.from_array(np.zeros(4, np.float32), "C"))
    graph = model.graph.SerializeToString() + bytes([0xBA, 0x3E]) + bytes([len(hidden)]) + hidden  # field 999, length-delimited
    model.graph.ParseFromString(graph)
    assert b"secret.bin" in model.SerializeToString()
    loaded = load(_write(tmp_path, model), check=False)
    assert b"secret.bin" not in loaded.SerializeToString()


def test_a_model_onnx_runtime_would_read_as_ort_format_is_refused(tmp_path: Path) -> None:
    model = _base(numpy_helper.from_array(np.zeros(4, np.float32), "C"))
    model.producer_name = "ORTMxx"
    assert model.SerializeToString()[4:8] == b"ORTM"
    with pytest.raises(ValueError, match="ORT-format"):
        load(_write(tmp_path, model), check=False)
    model.producer_name = "graphc"
    load(_write(tmp_path, model), check=False)
    # with no producer fields, the graph's length and first bytes decide: a graph of 10112..10239 bytes starting
    # with a doc string of 84 bytes spells 'ORTM' at bytes 4..8
    bare = onnx.ModelProto(ir_version=10)
    bare.opset_import.add(domain="", version=18)
    bare.graph.doc_string = "M" * 84
    k = 0
    while bare.graph.ByteSize() < 10112:
        bare.graph.output.add(name=f"o{k}")
        k += 1
    assert bare.SerializeToString()[4:8] == b"ORTM"
    with pytest.raises(ValueError, match="ORT-format"):
        load(_write(tmp_path, bare), check=False)
    bare.graph.doc_string = "N" * 84
    assert bare.SerializeToString()[4:8] != b"ORTM"
    load(_write(tmp_path, bare), check=False)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda m: setattr(m, "ir_version", -1), "IR version -1 is not supported"),
        (lambda m: setattr(m, "ir_version", 2), "IR version 2 is not supported"),
        (lambda m: setattr(m, "ir_version", onnx.IR_VERSION + 1), f"IR version {onnx.IR_VERSION + 1} is not supported"),
        (lambda m: m.opset_import.append(helper.make_opsetid("com.example", 0)), "opset 0 of domain 'com.example'"),
        (lambda m: m.opset_import.append(helper.make_opsetid("ai.onnx.ml", 99)), "opset 99 of domain 'ai.onnx.ml'"),
        (lambda m: m.opset_import.append(helper.make_opsetid("ai.onnx", 18)), "domain 'ai.onnx' is imported twice"),
        (lambda m: m.functions.add(name="f", domain="d").opset_import.add(domain="", version=-3), "imports domain 'ai.onnx' at version -3"),
    ],
)
def test_versions_are_refused(tmp_path: Path, change: Any, match: str) -> None:
    model = _base(numpy_helper.from_array(np.zeros(4, np.float32), "C"))
    change(model)
    with pytest.raises(ValueError, match=match):
        load(_write(tmp_path, model), check=False)


def test_the_oldest_and_newest_versions_load(tmp_path: Path) -> None:
    for ir in (3, onnx.IR_VERSION):
        model = _base(numpy_helper.from_array(np.zeros(4, np.float32), "C"))
        model.ir_version = ir
        model.opset_import.append(helper.make_opsetid("com.example", 1))
        load(_write(tmp_path, model), check=False)


def test_a_folder_or_missing_model_is_refused_clearly(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no ONNX model at .*absent.onnx$"):
        load(tmp_path / "absent.onnx")
    with pytest.raises(FileNotFoundError, match="no ONNX model at"):
        load(tmp_path / "nofolder" / "m.onnx")
    (tmp_path / "d.onnx").mkdir()
    with pytest.raises(FileNotFoundError, match="it is a folder, not a file"):
        load(tmp_path / "d.onnx")
    os.mkfifo(tmp_path / "fifo.onnx")  # opened without blocking, then refused
    for special in (tmp_path / "fifo.onnx", Path("/dev/zero")):
        with pytest.raises(ValueError, match="it is not a regular file"):
            load(special)


def test_without_dir_fd_the_fallback_still_refuses_links_and_reads_inside(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where ``os.open`` takes no ``dir_fd`` (Windows): links are refused by lstat, the opened file is compared with the path."""
    from graphc.export import safety

    monkeypatch.setattr(safety, "_DIR_FD", False)
    monkeypatch.setattr(os, "supports_dir_fd", set())
    m = load(_write(tmp_path, _base(_ext([("location", "w.bin"), ("offset", "4")]))), check=False)
    np.testing.assert_array_equal(numpy_helper.to_array(m.graph.initializer[0]), [1, 2, 3, 4])
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "s.bin").write_bytes(b"\1" * 64)
    (tmp_path / "d").symlink_to(tmp_path / "outside")
    with pytest.raises(ValueError, match="passes through a symbolic link"):
        load(_write(tmp_path, _base(_ext([("location", "d/s.bin")]))), check=False)
    with pytest.raises(ValueError, match="does not exist"):
        load(_write(tmp_path, _base(_ext([("location", "nope.bin")]))), check=False)
