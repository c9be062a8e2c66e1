"""The op registry: every op has a numpy eval, an ONNX lowering and a test case."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

import graphc.export  # noqa: F401  (registers the lowerings)
import graphc.tensor as T
from graphc.export.context import LOWERINGS
from graphc.ir.build import build_graph
from graphc.ir.registry import OPS, all_ops, get_op, register_op
from graphc.ir.types import TensorType

RANDOM_OPS = {"random_uniform", "random_normal"}


def _op_cases() -> ModuleType:
    """The case table of ``test_ops.py`` (the module pytest already imported, if it did)."""
    path = Path(__file__).with_name("test_ops.py").resolve()
    for mod in list(sys.modules.values()):
        f = getattr(mod, "__file__", None)
        if f and Path(f).resolve() == path:
            return mod
    spec = importlib.util.spec_from_file_location("_graphc_tests_ir_op_cases", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up while the class is built
    spec.loader.exec_module(mod)
    return mod


def _ops_in(out: object, inputs: list[object]) -> set[str]:
    graph = build_graph([(out, "y")], inputs)
    return {graph.data(n).op for n in graph.op_nodes()}  # type: ignore[misc]


def test_every_op_has_eval_and_lowering() -> None:
    """No registered op lacks a callable numpy eval, type inference or ONNX lowering."""
    missing = []
    for op in all_ops():
        if not callable(op.eval):
            missing.append(f"{op.name}: no numpy eval")
        if not callable(op.infer):
            missing.append(f"{op.name}: no type inference")
        if not callable(LOWERINGS.get(op.name)):
            missing.append(f"{op.name}: no ONNX lowering in graphc.export.context.LOWERINGS")
        if not op.doc:
            missing.append(f"{op.name}: no doc line")
    assert not missing, "\n".join(missing)


def test_every_lowering_names_a_registered_op() -> None:
    """A lowering registered under a name no op has is a typo or a stale entry."""
    all_ops()
    assert not set(LOWERINGS) - set(OPS), sorted(set(LOWERINGS) - set(OPS))


def test_every_op_has_a_case() -> None:
    """Each registered op appears in the graph of some case of test_ops.py."""
    mod = _op_cases()
    covered: set[str] = set()
    for c in mod.CASES:
        xs = mod.placeholders_for(c)
        covered |= _ops_in(c.fn(*xs), xs)
    for rc in mod.RANDOM_CASES:
        xs = [T.tensor(i.value.dtype.name, shape=i.decl, name=f"x{k}") for k, i in enumerate(rc.inputs)]
        covered |= _ops_in(rc.fn(*xs), xs)
    missing = sorted({op.name for op in all_ops()} - covered)
    assert not missing, f"registered ops with no case in tests/ir/test_ops.py: {', '.join(missing)}"


def test_purity_flags() -> None:
    """Only the sampling ops are impure (passes must neither merge nor fold them)."""
    impure = {op.name for op in all_ops() if not op.pure}
    assert impure == RANDOM_OPS


def test_register_twice_raises() -> None:
    """A second op under a taken name is refused, and the first stays."""
    first = get_op("add")
    with pytest.raises(ValueError, match="already registered"):
        register_op("add", infer=lambda types: types, eval=lambda xs: xs)
    assert get_op("add") is first


def test_get_op_unknown_names_it() -> None:
    """Looking up an unknown op raises KeyError naming it."""
    with pytest.raises(KeyError, match="no_such_op"):
        get_op("no_such_op")


def test_register_and_use_a_new_op() -> None:
    """A newly registered op is applied, inferred and evaluated like the standard ones."""
    from graphc.ir.evaluate import evaluate
    from graphc.tensor.variable import apply_op

    name = "test_registry_double"
    register_op(
        name,
        infer=lambda types: [TensorType(types[0].dtype, types[0].shape)],
        eval=lambda xs: [xs[0] * 2],
        arity=1,
        doc="2 * x",
    )
    try:
        x = T.tensor("float32", shape=(None, 3), name="x")
        y = apply_op(name, [x])
        assert y.type == x.type
        with pytest.raises(TypeError, match="takes 1 inputs"):
            apply_op(name, [x, x])
        graph = build_graph([(y, "y")], [x])
        value = np.arange(6, dtype=np.float32).reshape(2, 3)
        np.testing.assert_array_equal(evaluate(graph, {"x": value})[0], value * 2)
    finally:
        del OPS[name]
