"""``graphc check MODEL``: the ONNX checker, an ONNX Runtime load, and ONNX Runtime against ``onnx.reference``."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import CLIError
from .inputs import check_inputs, input_specs, parse_dims, random_inputs, read_inputs

__all__ = ["CheckResult", "check_model", "cmd_check", "add_check_parser", "add_device_argument"]


@dataclass
class CheckResult:
    """What ``graphc check`` found: one line per step, and whether everything passed."""

    path: str
    lines: list[str] = field(default_factory=list)
    ok: bool = True

    def step(self, passed: bool, text: str) -> None:
        self.lines.append(f"  {'ok  ' if passed else 'FAIL'} {text}")
        self.ok = self.ok and passed

    def summary(self) -> str:
        verdict = "passed" if self.ok else "FAILED"
        return "\n".join([f"check {self.path}:", *self.lines, f"check {verdict}"])


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (ONNX Runtime's run to many)."""
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def session(model: Any, threads: int | None = None, device: str = "cpu") -> Any:
    """An ONNX Runtime session for ``model`` with graphc's session options (quiet logs) on ``device``."""
    from ..runtime.providers import open_session as runtime_session

    return runtime_session(model, device, threads=threads)


def open_session(model: Any, path: Any, threads: int | None = None, device: str = "cpu") -> Any:
    """:func:`session`, or a :class:`CLIError` naming the model (or the device) when ONNX Runtime refuses it."""
    from ..runtime.providers import DeviceError

    try:
        return session(model, threads, device)
    except DeviceError as exc:
        raise CLIError(f"--device {device}: {exc}") from None
    except Exception as exc:  # ORT's own exception types vary between versions
        raise CLIError(f"ONNX Runtime cannot load {path}: {first_line(exc)}") from None


def add_device_argument(p: Any) -> None:
    """The ``--device`` option of ``check``, ``run`` and ``bench``."""
    p.add_argument(
        "--device", default="cpu", metavar="DEVICE",
        help="where ONNX Runtime runs the model: cpu (default), cuda, cuda:N or auto (CUDA when usable)",
    )


def check_model(
    model: Any, path: str, sizes: dict[str, int], seed: int, rtol: float, atol: float, feeds: dict[str, np.ndarray] | None = None,
    device: str = "cpu",
) -> CheckResult:
    """Run the three checks on a loaded model; every step is reported, failures do not raise."""
    import onnx

    from ..testing import reference_evaluator

    result = CheckResult(path)
    try:
        onnx.checker.check_model(model, full_check=True)
        result.step(True, "onnx.checker (full check, shape inference)")
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as exc:
        result.step(False, f"onnx.checker: {first_line(exc)}")
    from ..runtime.providers import DeviceError

    try:
        sess = session(model, device=device)
        result.step(True, f"ONNX Runtime loads it ({', '.join(sess.get_providers())})")
    except DeviceError as exc:
        raise CLIError(f"--device {device}: {exc}") from None
    except Exception as exc:  # ORT's own exception types vary between versions
        result.step(False, f"ONNX Runtime cannot load it: {first_line(exc)}")
        return result
    specs = input_specs(model)
    feeds_random = feeds is None
    if feeds is None:
        feeds = random_inputs(specs, sizes, seed)
        shown = ", ".join(f"{k}{tuple(v.shape)}" for k, v in feeds.items()) or "none"
        result.lines.append(f"       random inputs: {shown}")
    try:
        got = sess.run(None, feeds)
        result.step(True, "ONNX Runtime runs it")
    except Exception as exc:
        hint = " (random sizes may not fit: give them with --dim NAME=SIZE)" if sizes is not None and feeds_random else ""
        result.step(False, f"ONNX Runtime cannot run it on those inputs{hint}: {first_line(exc)}")
        return result
    try:
        want = reference_evaluator(model).run(None, feeds)
    except Exception as exc:  # an op onnx.reference lacks is not the model's fault: say so, do not fail
        result.lines.append(f"  skip onnx.reference cannot run it: {type(exc).__name__}: {first_line(exc)}")
        return result
    names = [o.name for o in model.graph.output]
    for name, a, b in zip(names, got, want):
        a, b = np.asarray(a), np.asarray(b)
        if a.shape != b.shape:
            result.step(False, f"output {name}: ONNX Runtime shape {a.shape}, onnx.reference {b.shape}")
            continue
        if a.dtype.kind in "fc":
            diff = float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)))) if a.size else 0.0
            close = bool(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True))
        else:
            diff = float(np.sum(a != b))
            close = diff == 0
        result.step(close, f"output {name} {a.shape}: ONNX Runtime vs onnx.reference, max |diff| {diff:.3g}")
    return result


def cmd_check(args: argparse.Namespace) -> int:
    """``graphc check``."""
    from ..export.io import load

    model = load(args.model, check=False)
    feeds = None
    if args.input:
        feeds = check_inputs(input_specs(model), read_inputs(args.input))
    result = check_model(model, str(args.model), parse_dims(args.dim), args.seed, args.rtol, args.atol, feeds, device=args.device)
    print(result.summary())
    return 0 if result.ok else 1


def add_check_parser(sub: Any) -> None:
    """The ``check`` sub-command's arguments."""
    p = sub.add_parser(
        "check",
        help="check an ONNX model: checker, ONNX Runtime, onnx.reference",
        description=(
            "Check an ONNX model: the ONNX checker (full), loading and running it in ONNX Runtime, and comparing "
            "ONNX Runtime's outputs with onnx.reference's on random (or given) inputs. Exit status 1 on any failure."
        ),
    )
    p.add_argument("model", type=Path, help="path to an .onnx file")
    p.add_argument("--input", action="append", metavar="NAME=FILE.npy | FILE.npz", help="inputs instead of random data")
    p.add_argument("--dim", action="append", metavar="NAME=SIZE", help="size of a dynamic dimension (default 2)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random inputs")
    p.add_argument("--rtol", type=float, default=1e-4)
    p.add_argument("--atol", type=float, default=1e-5)
    add_device_argument(p)
    p.set_defaults(func=cmd_check)
