"""``graphc legacy SCRIPT [ARGS...]``: run an unchanged Theano, Lasagne or theanets program on graphc."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_legacy_parser", "cmd_legacy"]


def add_legacy_parser(sub: Any) -> None:
    """Register the ``legacy`` sub-command on the ``graphc`` parser's sub-parsers."""
    p = sub.add_parser(
        "legacy",
        help="run an unchanged Theano/Lasagne/theanets script",
        description=(
            "Run SCRIPT as `python SCRIPT ARGS...`, with `import theano`, `import lasagne` and "
            "`import theanets` giving graphc's modules. Everything after SCRIPT goes to the script."
        ),
    )
    p.add_argument("script", help="the Python file to run")
    p.add_argument("args", nargs=argparse.REMAINDER, help="the script's arguments")
    p.set_defaults(func=cmd_legacy)


def cmd_legacy(args: argparse.Namespace) -> int:
    """Run the script; its exit status is the command's (1 after an uncaught exception)."""
    from ..compat.runner import run_script

    return run_script(args.script, list(args.args))
