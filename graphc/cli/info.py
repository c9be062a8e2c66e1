"""``graphc info MODEL``: opsets, inputs, outputs, parameters and an op histogram of an ONNX model."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

__all__ = ["describe_model", "cmd_info"]


def _dims(value_info: object) -> str:
    t = value_info.type.tensor_type  # type: ignore[attr-defined]
    if not t.HasField("shape"):
        return "(?)"
    dims = [d.dim_param if d.HasField("dim_param") else (str(d.dim_value) if d.HasField("dim_value") else "?") for d in t.shape.dim]
    return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"


def _dtype(value_info: object) -> str:
    from onnx import helper

    elem = value_info.type.tensor_type.elem_type  # type: ignore[attr-defined]
    try:
        return str(helper.tensor_dtype_to_np_dtype(elem))
    except (KeyError, ValueError):
        return f"elem_type={elem}"


def describe_model(model: object, path: str | None = None) -> str:
    """A human-readable summary of an ONNX model (what ``graphc info`` prints)."""
    import numpy as np

    g = model.graph  # type: ignore[attr-defined]
    init_names = {t.name for t in g.initializer}
    lines = []
    if path:
        lines.append(f"model: {path} ({Path(path).stat().st_size:,} bytes)")
    opsets = ", ".join(f"{o.domain or 'ai.onnx'} {o.version}" for o in model.opset_import)  # type: ignore[attr-defined]
    lines.append(f"ir_version: {model.ir_version}   opsets: {opsets}")  # type: ignore[attr-defined]
    producer = f"{model.producer_name} {model.producer_version}".strip()  # type: ignore[attr-defined]
    if producer:
        lines.append(f"producer: {producer}")
    lines.append(f"graph: {g.name or '(unnamed)'}")
    lines.append("inputs:")
    for i in g.input:
        if i.name not in init_names:
            lines.append(f"  {i.name}: {_dtype(i)} {_dims(i)}")
    lines.append("outputs:")
    for o in g.output:
        lines.append(f"  {o.name}: {_dtype(o)} {_dims(o)}")
    n_params = sum(int(np.prod(t.dims)) if len(t.dims) else 1 for t in g.initializer)
    lines.append(f"initializers: {len(g.initializer)} ({n_params:,} values)")
    hist = Counter(n.op_type for n in g.node)
    lines.append(f"nodes: {len(g.node)}")
    for op, count in sorted(hist.items(), key=lambda kv: (-kv[1], kv[0])):
        lines.append(f"  {op:<24}{count}")
    return "\n".join(lines)


def cmd_info(args: argparse.Namespace) -> int:
    """``graphc info MODEL``."""
    from ..export.io import load

    model = load(args.model, check=False)
    print(describe_model(model, str(args.model)))
    return 0
