"""The ``graphc`` console script's entry point, outside the ``graphc`` package on purpose.

Importing ``graphc`` takes a second or two (numpy, onnx, ONNX Runtime).  A Ctrl-C in that
time would end in a ``KeyboardInterrupt`` traceback, since no code of the command runs yet;
this module imports the command inside a handler, so it prints one line and exits 130.
"""

from __future__ import annotations

import sys


def main() -> int:
    """Import :func:`graphc.cli.main` and run it; a Ctrl-C during the import prints one line.

    The process then ends through :func:`graphc.cli.exit_process` (at once after a stopped command).
    """
    try:
        from graphc.cli import exit_process
        from graphc.cli import main as graphc_main
    except KeyboardInterrupt:
        print("graphc: interrupted", file=sys.stderr)
        return 130
    exit_process(graphc_main())
    return 0  # not reached: exit_process ends the process


if __name__ == "__main__":
    sys.exit(main())
