"""The ``graphc`` command: ``export``, ``info``, ``check``, ``run``, ``bench`` (one module each).

Failures the user can fix print one line, ``graphc COMMAND: error: ...``, to
standard error and exit with status 1; usage errors exit with 2 (argparse).
Every command has ``--help``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .errors import CLIError
from .info import cmd_info, describe_model

__all__ = ["main", "describe_model", "CLIError"]


def _parser() -> argparse.ArgumentParser:
    from .. import __version__
    from .bench import add_bench_parser
    from .check import add_check_parser
    from .export import add_export_parser
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
    except (CLIError, FileNotFoundError, ValueError, TypeError, OSError) as exc:
        print(f"graphc {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"graphc {args.command}: interrupted", file=sys.stderr)
        return 130
