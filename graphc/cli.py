"""The ``graphc`` command.

``graphc --version`` prints the version; ``graphc info MODEL.onnx`` describes
an ONNX model: opsets, inputs, outputs, parameters and an op histogram.
Failures print one clear line to stderr and exit non-zero.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main", "describe_model"]


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


def _cmd_info(args: argparse.Namespace) -> int:
    from .export.io import load

    model = load(args.model, check=False)
    print(describe_model(model, str(args.model)))
    return 0


def _parser() -> argparse.ArgumentParser:
    from . import __version__

    p = argparse.ArgumentParser(prog="graphc", description="graphc: compile Lasagne/Theano-style networks to ONNX.")
    p.add_argument("--version", action="version", version=f"graphc {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    info = sub.add_parser("info", help="describe an ONNX model", description="Describe an ONNX model: opsets, inputs, outputs, parameters and op histogram.")
    info.add_argument("model", type=Path, help="path to an .onnx file")
    info.set_defaults(func=_cmd_info)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``graphc`` command; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args))
    except (FileNotFoundError, ValueError, TypeError, OSError) as exc:
        print(f"graphc {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
