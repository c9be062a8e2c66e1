"""``graphc run MODEL --input name=file.npy ... --output out.npz``: run a model on arrays from files."""

from __future__ import annotations

import argparse
import io
from pathlib import Path
from typing import Any

import numpy as np

from .check import add_device_argument
from .errors import CLIError
from .inputs import check_inputs, input_specs, output_path, read_inputs

__all__ = ["cmd_run", "add_run_parser"]


def cmd_run(args: argparse.Namespace) -> int:
    """``graphc run``: check the inputs against the model, run it in ONNX Runtime, write or show the outputs."""
    from ..export.io import atomic_write_bytes, load
    from .check import first_line, open_session

    model = load(args.model)
    feeds = check_inputs(input_specs(model), read_inputs(args.input))
    target = output_path(args.output) if args.output else None
    sess = open_session(model, args.model, args.threads, args.device)
    try:
        results = sess.run(None, feeds)
    except Exception as exc:
        raise CLIError(f"ONNX Runtime could not run {args.model}: {first_line(exc)}") from None
    names = [o.name for o in sess.get_outputs()]
    if target is not None:
        buf = io.BytesIO()
        np.savez(buf, **dict(zip(names, results)))
        atomic_write_bytes(target, buf.getvalue())
        print(f"wrote {len(names)} output(s) to {target}: " + ", ".join(f"{n}{tuple(np.shape(r))}" for n, r in zip(names, results)))
    else:
        with np.printoptions(precision=5, threshold=20, edgeitems=3):
            for n, r in zip(names, results):
                r = np.asarray(r)
                print(f"{n}: {r.dtype} {r.shape}\n{r}")
    return 0


def add_run_parser(sub: Any) -> None:
    """The ``run`` sub-command's arguments."""
    p = sub.add_parser(
        "run",
        help="run an ONNX model on .npy/.npz inputs",
        description="Run an ONNX model in ONNX Runtime (CPU, or --device cuda) on arrays from .npy/.npz files; write the outputs to an .npz.",
    )
    p.add_argument("model", type=Path, help="path to an .onnx file")
    p.add_argument("--input", action="append", metavar="NAME=FILE.npy | FILE.npz", help="an input array (repeatable)")
    p.add_argument("--output", "-o", type=Path, help="the .npz to write (default: print the outputs)")
    p.add_argument("--threads", type=int, default=None, help="ONNX Runtime intra-op threads")
    add_device_argument(p)
    p.set_defaults(func=cmd_run)
