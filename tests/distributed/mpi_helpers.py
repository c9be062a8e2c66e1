"""Running a small Python script under ``mpiexec -n N`` from a test, and reading each rank's output.

Signatures (for every MPI test file)::

    require_mpi() -> str
        The mpiexec to use.  Skips the calling test when mpi4py or mpiexec is
        missing, unless GRAPHC_REQUIRE_MPI is set (as .ci/run does): then it fails.

    run_mpi(script: str, n: int = 2, *, timeout: float = 120.0, env: Mapping[str, str] | None = None,
            check: bool = True, abort_on_error: bool = True, cwd: str | Path | None = None) -> MPIRun
        Runs ``script`` (Python source, dedented here) on ``n`` ranks.  Each rank's stdout and
        stderr go to a file of its own (output is line-buffered, so what a rank printed before
        an abort is kept).  ``abort_on_error`` runs the script as ``python -m mpi4py script``,
        so an exception on one rank aborts all of them instead of leaving the others waiting
        in a collective.  On a timeout the whole process group is killed.  ``check``: raise
        AssertionError (with every rank's output) unless the job exits 0 in time.

    MPIRun: returncode: int | None (None: killed at the timeout), timed_out: bool,
            stdout: list[str] and stderr: list[str] (by rank), launcher: str (mpiexec's own
            output), json() -> list[Any] (each rank's last stdout line parsed as JSON),
            report() -> str (everything, for assertion messages).

The repository root is prepended to PYTHONPATH and is the default working
directory, so ``import graphc`` finds this checkout.  ``GRAPHC_DEVICE=cpu``
unless ``env`` says otherwise (ranks share the machine's cores).

Example::

    from .mpi_helpers import require_mpi, run_mpi

    def test_ranks():
        require_mpi()
        run = run_mpi('''
            import json
            from graphc import distributed as dist
            print(json.dumps([dist.rank(), dist.size()]))
        ''')
        assert run.json() == [[0, 2], [1, 2]]
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

__all__ = ["MPIRun", "find_mpiexec", "require_mpi", "run_mpi", "REPO_ROOT"]

REPO_ROOT = Path(__file__).resolve().parents[2]

# Each rank sends its stdout and stderr to files of its own, named by the rank its launcher gives it.
_WRAPPER = """\
import os, sys, runpy
out_dir, script = sys.argv[1], sys.argv[2]
rank = next((os.environ[v] for v in ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK", "SLURM_PROCID")
             if os.environ.get(v, "").isdigit()), "0")
for fd, name in ((1, "out"), (2, "err")):
    f = os.open(os.path.join(out_dir, f"rank{rank}.{name}"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(f, fd)
    os.close(f)
sys.stdout = open(1, "w", buffering=1, closefd=False)
sys.stderr = open(2, "w", buffering=1, closefd=False)
sys.argv = [script]
runpy.run_path(script, run_name="__main__")
"""


@dataclass
class MPIRun:
    """What one ``mpiexec`` run left: exit status and each rank's output."""

    returncode: int | None
    timed_out: bool
    stdout: list[str]
    stderr: list[str]
    launcher: str

    def json(self) -> list[Any]:
        """Each rank's last non-empty stdout line, parsed as JSON (by rank)."""
        out = []
        for r, text in enumerate(self.stdout):
            lines = [ln for ln in text.splitlines() if ln.strip()]
            if not lines:
                raise AssertionError(f"rank {r} printed nothing\n{self.report()}")
            try:
                out.append(json.loads(lines[-1]))
            except json.JSONDecodeError as e:
                raise AssertionError(f"rank {r}'s last line is not JSON ({e}): {lines[-1]!r}\n{self.report()}") from e
        return out

    def report(self) -> str:
        """All the output, rank by rank, for an assertion message."""
        status = "timed out" if self.timed_out else f"exit status {self.returncode}"
        parts = [f"mpiexec: {status}"]
        for r, (o, e) in enumerate(zip(self.stdout, self.stderr)):
            parts.append(f"--- rank {r} stdout ---\n{o}--- rank {r} stderr ---\n{e}")
        parts.append(f"--- mpiexec ---\n{self.launcher}")
        return "\n".join(parts)


def find_mpiexec() -> str | None:
    """The ``mpiexec`` beside this Python (a venv with PyPI's mpich), else the one on PATH, else None."""
    here = Path(sys.executable).parent / "mpiexec"
    if here.is_file() and os.access(here, os.X_OK):
        return str(here)
    return shutil.which("mpiexec")


def require_mpi() -> str:
    """The mpiexec to use; skip (or, with GRAPHC_REQUIRE_MPI set, fail) when MPI is missing."""
    problems = []
    if importlib.util.find_spec("mpi4py") is None:
        problems.append("mpi4py is not installed")
    mpiexec = find_mpiexec()
    if mpiexec is None:
        problems.append("no mpiexec beside the Python interpreter or on PATH")
    if problems:
        why = "; ".join(problems) + " (pip install mpi4py mpich)"
        if os.environ.get("GRAPHC_REQUIRE_MPI", "").strip() not in ("", "0"):
            pytest.fail(f"GRAPHC_REQUIRE_MPI is set but {why}")
        pytest.skip(why)
    assert mpiexec is not None
    return mpiexec


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""


def run_mpi(
    script: str,
    n: int = 2,
    *,
    timeout: float = 120.0,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    abort_on_error: bool = True,
    cwd: str | Path | None = None,
) -> MPIRun:
    """Run the Python source ``script`` on ``n`` ranks under mpiexec (see the module docstring)."""
    mpiexec = require_mpi()
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    full_env = dict(os.environ)
    full_env.setdefault("GRAPHC_DEVICE", "cpu")
    full_env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), full_env.get("PYTHONPATH", "")) if p)
    full_env.pop("GRAPHC_MPI", None)
    if env:
        full_env.update(env)
    with tempfile.TemporaryDirectory(prefix="graphc_mpi_") as tmp:
        d = Path(tmp)
        (d / "script.py").write_text(textwrap.dedent(script))
        (d / "wrapper.py").write_text(_WRAPPER)
        runner = [sys.executable, "-m", "mpi4py"] if abort_on_error else [sys.executable]
        cmd = [mpiexec, "-n", str(n), *runner, str(d / "wrapper.py"), str(d), str(d / "script.py")]
        proc = subprocess.Popen(
            cmd, cwd=str(cwd or REPO_ROOT), env=full_env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        )  # fmt: skip
        timed_out = False
        try:
            launcher, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(proc.pid, signal.SIGKILL)  # mpiexec, its proxies and the ranks: the session we started
            launcher, _ = proc.communicate()
        run = MPIRun(
            returncode=None if timed_out else proc.returncode,
            timed_out=timed_out,
            stdout=[_read(d / f"rank{r}.out") for r in range(n)],
            stderr=[_read(d / f"rank{r}.err") for r in range(n)],
            launcher=launcher or "",
        )
    if check and (timed_out or run.returncode != 0):
        raise AssertionError(f"the MPI job failed ({n} ranks, timeout {timeout} s)\n{run.report()}")
    return run
