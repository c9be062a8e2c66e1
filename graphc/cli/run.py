"""``graphc run MODEL --input name=file.npy ... --output out.npz``: run a model on arrays from files."""

from __future__ import annotations

import argparse
import io
from pathlib import Path
from typing import Any

import numpy as np

from .check import add_device_argument
from .errors import CLIError
from .inputs import check_inputs, input_specs, output_path, read_inputs, recurrent_ops
from .interrupt import stage
from .limits import add_limit_arguments, check_model_file, check_model_size

__all__ = ["cmd_run", "add_run_parser", "storable"]


def cmd_run(args: argparse.Namespace) -> int:
    """``graphc run``: check the inputs against the model, run it in ONNX Runtime, write or show the outputs."""
    from ..export.io import atomic_write_bytes, load
    from .check import first_line, open_session, run_stoppable

    check_model_file(args.model, "run", args.max_nodes)
    with stage("loading the model"):
        model = load(args.model)
    check_model_size(model, args.model, "run", args.max_nodes)
    feeds = check_inputs(input_specs(model), read_inputs(args.input), recurrent_ops(model))
    target = output_path(args.output) if args.output else None
    sess = open_session(model, args.model, args.threads, args.device)
    try:
        results = run_stoppable(sess, feeds)
    except MemoryError:
        raise CLIError(f"ONNX Runtime ran out of memory running {args.model}") from None
    except Exception as exc:
        raise CLIError(f"ONNX Runtime could not run {args.model}: {first_line(exc)}") from None
    names = [o.name for o in sess.get_outputs()]
    if target is not None:
        buf = io.BytesIO()
        np.savez(buf, **{n: storable(r, n) for n, r in zip(names, results)})
        atomic_write_bytes(target, buf.getvalue())
        print(f"wrote {len(names)} output(s) to {target}: " + ", ".join(f"{n}{tuple(np.shape(r))}" for n, r in zip(names, results)))
    else:
        with np.printoptions(precision=5, threshold=20, edgeitems=3):
            for n, r in zip(names, results):
                r = np.asarray(r)
                print(f"{n}: {r.dtype} {r.shape}\n{r}")
    return 0


def storable(value: Any, name: str) -> np.ndarray:
    """An output as an array ``np.load(..., allow_pickle=False)`` reads back: strings become numpy text
    (``<U``), ``bfloat16``/``float8`` become float32 (exact: every such value is a float32).

    Raises
    ------
    CLIError
        For an output that is not a tensor (a sequence or a map).
    """
    from .dtypes import is_ml_float

    if isinstance(value, (list, tuple, dict)):
        raise CLIError(f"output {name!r} is a {type(value).__name__}, not a tensor: an .npz holds tensors only (leave out -o to print it)")
    a = np.asarray(value)
    if a.dtype.kind == "O":
        return np.vectorize(lambda t: t.decode("utf-8", "replace") if isinstance(t, bytes) else str(t), otypes=[str])(a) if a.size else a.astype(str)
    if is_ml_float(a.dtype):
        return a.astype(np.float32)
    return a


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
    add_limit_arguments(p)
    p.set_defaults(func=cmd_run)
