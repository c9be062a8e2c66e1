"""Builders of hostile network files and checkpoints, and a memory-limited subprocess runner (issue 14 tests)."""

from __future__ import annotations

import io
import json
import os
import resource
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from graphc.theanets._checkpoint import TRAINING_KEY
from graphc.theanets._model_io import SPEC_KEY

ROOT = Path(__file__).resolve().parents[2]
ADDRESS_SPACE = 3 << 30  # the child's RLIMIT_AS


def read(path: Path) -> dict[str, np.ndarray]:
    """Every array of a (trusted, test-written) ``.npz``."""
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def description(arrays: dict[str, np.ndarray], key: str) -> dict[str, Any]:
    """The JSON description stored under ``key``."""
    return json.loads(arrays[key].tobytes().decode("utf-8"))


def write(path: Path, arrays: dict[str, np.ndarray], key: str | None = None, desc: Any = None, text: str | None = None) -> Path:
    """Write ``arrays`` as an ``.npz``, with ``desc`` (JSON) or ``text`` (raw) as the description under ``key``."""
    arrays = dict(arrays)
    if key is not None:
        raw = text if text is not None else json.dumps(desc)
        arrays[key] = np.frombuffer(raw.encode("utf-8"), dtype=np.uint8)
    np.savez(path, **arrays)
    return path


def with_model(arrays: dict[str, np.ndarray], path: Path, change: Any) -> Path:
    """A copy of a model file whose description is ``change(desc)`` (or the description ``change`` returns)."""
    desc = description(arrays, SPEC_KEY)
    out = change(desc)
    return write(path, arrays, SPEC_KEY, desc if out is None else out)


def with_training(arrays: dict[str, np.ndarray], path: Path, change: Any) -> Path:
    """A copy of a checkpoint whose training description is ``change(desc)``'s."""
    desc = description(arrays, TRAINING_KEY)
    out = change(desc)
    return write(path, arrays, TRAINING_KEY, desc if out is None else out)


def zip_bomb(path: Path, name: str, shape: tuple[int, ...], extra: dict[str, np.ndarray] | None = None) -> Path:
    """An ``.npz`` whose member ``name`` is a float32 array of zeros of ``shape``, deflated (about 1000:1), streamed."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": shape})
    left = int(np.prod(shape)) * 4
    chunk = bytes(1 << 22)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for key, value in (extra or {}).items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, value)
            archive.writestr(f"{key}.npy", buf.getvalue())
        with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
            member.write(header.getvalue())
            while left:
                n = min(left, len(chunk))
                member.write(chunk[:n])
                left -= n
    return path


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def run_limited(code: str, budget: str | None = None, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a child Python limited to 3 GiB of address space (and ``GRAPHC_MEMORY_BUDGET=budget``).

    The child's ``catch(fn)`` prints ``ERROR <type>: <message>`` for an exception, and
    ``peak()`` its peak resident memory in MiB (``PEAK <n>``).
    """
    prelude = textwrap.dedent(
        """
        import resource, sys, traceback
        def peak():
            print("PEAK", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, flush=True)
        def catch(fn):
            try:
                fn()
                print("NO ERROR", flush=True)
            except BaseException as exc:
                print("ERROR", type(exc).__name__ + ":", str(exc), flush=True)
        """
    )
    env = dict(os.environ, GRAPHC_PROGRESS="0")
    env.pop("GRAPHC_MEMORY_BUDGET", None)
    if budget is not None:
        env["GRAPHC_MEMORY_BUDGET"] = budget
    return subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        preexec_fn=_limit,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=ROOT,
    )


def outcome(proc: subprocess.CompletedProcess[str]) -> tuple[str, int]:
    """The child's one ``ERROR``/``NO ERROR`` line and its peak memory in MiB (asserting it exited normally)."""
    assert proc.returncode == 0, (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
    lines = proc.stdout.splitlines()
    errors = [ln for ln in lines if ln.startswith(("ERROR", "NO ERROR"))]
    peaks = [int(ln.split()[1]) for ln in lines if ln.startswith("PEAK")]
    assert len(errors) == 1 and peaks, proc.stdout
    return errors[0], peaks[-1]
