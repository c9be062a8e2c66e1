"""``graphc check MODEL``: the ONNX checker, an ONNX Runtime load, and ONNX Runtime against ``onnx.reference``."""

from __future__ import annotations

import argparse
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .dtypes import compare, run_session
from .errors import CLIError
from .inputs import check_inputs, input_specs, parse_dims, random_inputs, read_inputs, recurrent_ops
from .interrupt import TimeoutExpired, call_stoppable, current_guard, stage
from .limits import add_limit_arguments, check_model_file, check_model_size, positive_seconds

__all__ = [
    "CheckResult", "check_model", "cmd_check", "add_check_parser", "add_device_argument", "run_stoppable", "run_options",
    "DEFAULT_REFERENCE_TIMEOUT",
]

DEFAULT_REFERENCE_TIMEOUT = 60.0
"""Seconds ``onnx.reference`` may take in ``graphc check`` before the comparison is skipped."""


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
    """An ONNX Runtime session for ``model`` with graphc's session options (quiet logs) on ``device``.

    It is created in a worker thread (:func:`graphc.cli.interrupt.call_stoppable`), so that
    Ctrl-C and ``--timeout`` are heard while ONNX Runtime works.
    """
    from ..runtime.providers import open_session as runtime_session

    return call_stoppable(
        lambda: runtime_session(model, device, threads=threads), stage="creating the ONNX Runtime session",
        thread_name="graphc-ort-load",
    )


def run_options() -> Any:
    """Fresh ``onnxruntime.RunOptions`` (quiet, as graphc's sessions), whose ``terminate`` stops a run."""
    import onnxruntime as ort

    from ..runtime.providers import ort_log_level

    ro = ort.RunOptions()
    ro.log_severity_level = ort_log_level()
    return ro


def run_stoppable(sess: Any, feeds: dict[str, Any], stage: str = "running the model in ONNX Runtime") -> list[Any]:
    """``sess.run(None, feeds)`` (every dtype, see :func:`graphc.cli.dtypes.run_session`) that Ctrl-C and
    ``--timeout`` stop: ``RunOptions.terminate`` is set and the run returns within moments."""
    ro = run_options()
    return call_stoppable(lambda: run_session(sess, feeds, ro), stop=lambda: setattr(ro, "terminate", True), stage=stage)


def open_session(model: Any, path: Any, threads: int | None = None, device: str = "cpu") -> Any:
    """:func:`session`, or a :class:`CLIError` naming the model (or the device) when ONNX Runtime refuses it."""
    from ..runtime.providers import DeviceError

    try:
        return session(model, threads, device)
    except DeviceError as exc:
        raise CLIError(f"--device {device}: {exc}") from None
    except MemoryError:
        raise CLIError(f"ONNX Runtime ran out of memory loading {path}") from None
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
    device: str = "cpu", reference_timeout: float | None = DEFAULT_REFERENCE_TIMEOUT, max_nodes: int | None = None,
) -> CheckResult:
    """Run the three checks on a loaded model; every step is reported, failures do not raise.

    Parameters
    ----------
    reference_timeout : float, optional
        Seconds ``onnx.reference`` (pure Python, slow on big models) may take before it is
        stopped and the comparison is reported as skipped (None: no limit).  Needs the
        command's :class:`~graphc.cli.interrupt.Guard` (``graphc`` commands have one).
    max_nodes : int, optional
        The model-size limit (:func:`graphc.cli.limits.check_model_size`).

    Raises
    ------
    CLIError, graphc.export.budget.BudgetError
        For a model over the size limits (before any step), or an unusable ``device``.
    """
    import onnx

    from ..testing import reference_evaluator

    check_model_size(model, path, "check", max_nodes)
    result = CheckResult(path)
    guard = current_guard()
    try:
        with stage("running the ONNX checker"):
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
        got = run_stoppable(sess, feeds)
        result.step(True, "ONNX Runtime runs it")
    except Exception as exc:
        hint = " (random sizes may not fit: give them with --dim NAME=SIZE)" if sizes is not None and feeds_random else ""
        result.step(False, f"ONNX Runtime cannot run it on those inputs{hint}: {first_line(exc)}")
        return result
    limit: Any = nullcontext()
    if guard is not None and reference_timeout is not None:
        limit = guard.deadline(reference_timeout, f"--reference-timeout {reference_timeout:g}")
    try:
        with limit as deadline, stage("running onnx.reference"):
            want = reference_evaluator(model).run(None, feeds)
    except TimeoutExpired as exc:
        if exc.deadline is not deadline:
            raise
        result.lines.append(
            f"  skip onnx.reference: stopped after {reference_timeout:g} s (--reference-timeout), so ONNX Runtime's "
            "outputs are not cross-checked"
        )
        return result
    except MemoryError:
        result.lines.append("  skip onnx.reference ran out of memory, so ONNX Runtime's outputs are not cross-checked")
        return result
    except Exception as exc:  # an op onnx.reference lacks is not the model's fault: say so, do not fail
        result.lines.append(f"  skip onnx.reference cannot run it: {type(exc).__name__}: {first_line(exc)}")
        return result
    names = [o.name for o in model.graph.output]
    for name, a, b in zip(names, got, want):
        close, text = compare(a, b, rtol, atol)
        result.step(close, f"output {name} {text}")
    return result


def cmd_check(args: argparse.Namespace) -> int:
    """``graphc check``."""
    from ..export.io import load

    check_model_file(args.model, "check", args.max_nodes)
    with stage("loading the model"):
        model = load(args.model, check=False)
    check_model_size(model, args.model, "check", args.max_nodes)
    feeds = None
    if args.input:
        feeds = check_inputs(input_specs(model), read_inputs(args.input), recurrent_ops(model))
    result = check_model(
        model, str(args.model), parse_dims(args.dim), args.seed, args.rtol, args.atol, feeds, device=args.device,
        reference_timeout=args.reference_timeout, max_nodes=args.max_nodes,
    )
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
    p.add_argument(
        "--reference-timeout", type=positive_seconds, default=DEFAULT_REFERENCE_TIMEOUT, metavar="SECONDS",
        help=f"stop onnx.reference after SECONDS and report the comparison as skipped (default {DEFAULT_REFERENCE_TIMEOUT:g})",
    )
    add_device_argument(p)
    add_limit_arguments(p)
    p.set_defaults(func=cmd_check)
