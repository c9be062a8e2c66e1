"""Run a Theano-era script as ``__main__`` with the import aliases installed."""

from __future__ import annotations

import os
import runpy
import sys
import traceback

__all__ = ["run_script"]


def run_script(script: str, args: list[str]) -> int:
    """Run ``script`` as ``python script args...`` would, with ``theano``/``lasagne``/``theanets`` aliased.

    The script's folder is first on ``sys.path``, ``__name__`` is ``'__main__'`` and
    ``sys.argv`` is ``[script, *args]``.

    Parameters
    ----------
    script : str
        Path of the Python file.
    args : list of str
        The script's arguments.

    Returns
    -------
    int
        The exit status: 0, a ``SystemExit``'s code, or 1 after an uncaught
        exception (its traceback printed to standard error, as Python does).
    """
    from . import install

    if not os.path.isfile(script):
        print(f"graphc legacy: error: cannot open {script!r}: no such file", file=sys.stderr)
        return 2
    try:
        install()
    except (ValueError, NotImplementedError) as exc:  # THEANO_FLAGS graphc cannot honour
        text = str(exc) if str(exc).startswith("THEANO_FLAGS") else f"THEANO_FLAGS: {exc}"
        print(f"graphc legacy: error: {text}", file=sys.stderr)
        return 1
    sys.argv = [script, *args]
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as exc:
        return _exit_status(exc.code)
    except KeyboardInterrupt:
        traceback.print_exc()
        return 130
    except BaseException:  # noqa: BLE001  (any uncaught error: print it as Python does)
        _print_user_traceback()
        return 1
    finally:
        sys.stdout.flush()
    return 0


def _exit_status(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _print_user_traceback() -> None:
    """The traceback without the runner's own frames (runpy and this module)."""
    etype, value, tb = sys.exc_info()
    here = {os.path.abspath(__file__), os.path.abspath(getattr(sys.modules.get("runpy"), "__file__", "") or "")}
    while tb is not None and (
        tb.tb_frame.f_code.co_filename.startswith("<frozen runpy")
        or os.path.abspath(tb.tb_frame.f_code.co_filename) in here
    ):
        tb = tb.tb_next
    traceback.print_exception(etype, value, tb)
