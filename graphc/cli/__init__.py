"""The ``graphc`` command: ``export``, ``info``, ``check``, ``run``, ``bench``, ``legacy`` (one module each).

Failures the user can fix print one line, ``graphc COMMAND: error: ...``, to
standard error and exit with status 1; usage errors exit with 2 (argparse).
Ctrl-C stops any command, ONNX Runtime runs included (status 130), and ``check``,
``run`` and ``bench`` take ``--timeout SECONDS`` (status 1).  Every command has ``--help``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence

from .errors import CLIError
from .info import cmd_info, describe_model
from .interrupt import Guard, TimeoutExpired

__all__ = ["main", "exit_process", "describe_model", "CLIError"]


def _parser() -> argparse.ArgumentParser:
    from .. import __version__
    from .bench import add_bench_parser
    from .check import add_check_parser
    from .export import add_export_parser
    from .legacy import add_legacy_parser
    from .run import add_run_parser

    p = argparse.ArgumentParser(
        prog="graphc",
        description="graphc: compile Lasagne/Theano/theanets-style networks to ONNX, and check, run and time ONNX models.",
    )
    p.add_argument("--version", action="version", version=f"graphc {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    add_export_parser(sub)
    info = sub.add_parser(
        "info", help="describe an ONNX model", description="Describe an ONNX model: opsets, inputs, outputs, parameters and op histogram."
    )
    from pathlib import Path

    info.add_argument("model", type=Path, help="path to an .onnx file")
    info.set_defaults(func=cmd_info)
    add_check_parser(sub)
    add_run_parser(sub)
    add_bench_parser(sub)
    add_legacy_parser(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``graphc`` command; returns the exit status.

    Errors the user can fix print one line and give status 1; Ctrl-C prints
    ``graphc COMMAND: interrupted`` and gives 130; ``--timeout`` prints one line and
    gives 1.  When ONNX Runtime does not let go of a stopped call in time, the process
    exits at once with that status (see :mod:`graphc.cli.interrupt`).
    """
    try:
        parser = _parser()
        args = parser.parse_args(argv)
    except KeyboardInterrupt:  # Ctrl-C before the command started
        print("graphc: interrupted", file=sys.stderr)
        return 130
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    guard = Guard()
    with guard:
        status = _run(args, guard)
    if guard.abandoned:  # an ONNX Runtime call still running in a thread: do not wait for it
        exit_now(status)
    global _stopped
    _stopped = guard.stopped
    return status


_stopped = False
"""Whether the last :func:`main` was stopped by Ctrl-C or ``--timeout`` (read by :func:`exit_process`)."""


def exit_now(status: int) -> None:
    """Flush the output and end the process at once with ``status`` (no interpreter shutdown)."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(status)


def exit_process(status: int) -> None:
    """End the ``graphc`` process with ``status``, as its entry points do after :func:`main`.

    After a command stopped by Ctrl-C or ``--timeout``, ONNX Runtime may still hold threads
    of a session it was creating; the interpreter's normal shutdown destroys them while they
    run (``std::terminate``: SIGABRT instead of the promised status), so the process then
    ends at once.  In-process callers of :func:`main` (tests, notebooks) are not ended.
    """
    if _stopped:
        exit_now(status)
    sys.exit(status)


def _run(args: argparse.Namespace, guard: Guard) -> int:
    timeout = getattr(args, "timeout", None)
    try:
        with guard.deadline(timeout, f"--timeout {timeout:g}" if timeout else ""):
            return int(args.func(args))
    except TimeoutExpired as exc:
        guard.stopped = True
        print(f"graphc {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        guard.stopped = True
        print(f"graphc {args.command}: interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        doing = f" while {guard.stage}" if guard.stage else ""
        print(f"graphc {args.command}: error: out of memory{doing} (GRAPHC_MEMORY_BUDGET sets the budget graphc checks against)", file=sys.stderr)
        return 1
    except (CLIError, FileNotFoundError, ValueError, TypeError, OSError) as exc:
        print(f"graphc {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 1


def _one_line(exc: BaseException) -> str:
    """The message on one line (some libraries' messages span several)."""
    return " ".join(part.strip() for part in str(exc).splitlines() if part.strip()) or type(exc).__name__
