"""Temporary files of killed saves are cleaned by the next save to the same path; those of live saves
(another process, another thread, a stopped process) never are (issue 14)."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from graphc.export import atomic
from graphc.export.atomic import atomic_write_bytes, clean_stale_temporaries

BIG = 200 * 1024 * 1024

# A writer that blocks after writing every byte, before fsync and rename (until PATH.go exists):
# the moment a kill -9 leaves the biggest temporary file behind.
WRITER = textwrap.dedent(
    """
    import os, sys, time
    from graphc.export.atomic import atomic_write_bytes
    path, size, fill = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode()
    real_fsync = os.fsync
    def held_fsync(fd):
        open(path + ".ready", "w").close()
        while not os.path.exists(path + ".go"):
            time.sleep(0.02)
        real_fsync(fd)
    os.fsync = held_fsync
    atomic_write_bytes(path, fill * size)
    """
)


def _temporaries(folder, name):
    return sorted(n for n in os.listdir(folder) if n.startswith(f".{name}.") and n.endswith(".tmp"))


def _start_writer(path, size, fill="w"):
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(size), fill])
    deadline = time.monotonic() + 120
    while not os.path.exists(f"{path}.ready"):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            raise AssertionError(f"the writer did not reach its save (status {proc.returncode})")
        time.sleep(0.02)
    os.unlink(f"{path}.ready")
    return proc


def _kill(proc):
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=30)


def test_kill_9_mid_save_leaves_a_temporary_that_the_next_save_deletes(tmp_path):
    path = tmp_path / "ckpt.npz"
    path.write_bytes(b"previous")
    seen = set()
    for _ in range(3):  # three interrupted checkpoints: each save cleans up after the one killed before it
        proc = _start_writer(path, BIG)
        try:
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            _kill(proc)
        assert path.read_bytes() == b"previous"  # atomic: the old file is intact
        left = _temporaries(tmp_path, "ckpt.npz")
        assert len(left) == 1 and os.path.getsize(tmp_path / left[0]) == BIG and left[0] not in seen
        assert str(proc.pid) in left[0]
        seen.add(left[0])
    atomic_write_bytes(path, b"fresh")
    assert path.read_bytes() == b"fresh"
    assert sorted(os.listdir(tmp_path)) == ["ckpt.npz"]


def test_a_live_writers_temporary_survives_and_its_save_completes(tmp_path):
    path = tmp_path / "model.onnx"
    proc = _start_writer(path, 1 << 20, fill="L")
    try:
        live = _temporaries(tmp_path, "model.onnx")
        assert len(live) == 1
        atomic_write_bytes(path, b"mine")  # a save to the same path while the other one is running
        assert clean_stale_temporaries(path) == []
        assert _temporaries(tmp_path, "model.onnx") == live and path.read_bytes() == b"mine"
        (tmp_path / "model.onnx.go").touch()
        assert proc.wait(timeout=120) == 0
    finally:
        _kill(proc)
    assert path.read_bytes() == b"L" * (1 << 20)  # the other save landed whole, after ours
    assert _temporaries(tmp_path, "model.onnx") == []


def test_a_stopped_writer_keeps_its_temporary_until_it_is_killed(tmp_path):
    path = tmp_path / "net.npz"
    proc = _start_writer(path, 1 << 20)
    try:
        os.kill(proc.pid, signal.SIGSTOP)
        stopped = _temporaries(tmp_path, "net.npz")
        atomic_write_bytes(path, b"a")
        assert _temporaries(tmp_path, "net.npz") == stopped  # alive, and holding its lock
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        _kill(proc)
    atomic_write_bytes(path, b"b")
    assert _temporaries(tmp_path, "net.npz") == [] and path.read_bytes() == b"b"


def test_threads_saving_the_same_path_never_delete_each_others_temporaries(tmp_path):
    path = tmp_path / "shared.bin"
    payloads = [bytes([i]) * (256 * 1024 + i) for i in range(6)]
    errors = []

    def save(data):
        try:
            for _ in range(15):
                atomic_write_bytes(path, data)
        except BaseException as exc:  # collected: the assertion below names it
            errors.append(exc)

    threads = [threading.Thread(target=save, args=(p,)) for p in payloads]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert path.read_bytes() in payloads
    assert sorted(os.listdir(tmp_path)) == ["shared.bin"]


def test_other_boots_and_older_graphc_versions_leave_cleanable_temporaries(tmp_path):
    path = tmp_path / "m.onnx"
    old = time.time() - 2 * 3600

    def leftover(name, age=old):
        p = tmp_path / name
        p.write_bytes(b"junk")
        os.utime(p, (age, age))
        return p

    other_boot = leftover(f".m.onnx.{'f' * 12}-{os.getpid()}-0123abcd.tmp")
    fresh_other_boot = leftover(f".m.onnx.{'e' * 12}-1-0123abcd.tmp", age=time.time())
    legacy = leftover(".m.onnx.k2j4_x9z.tmp")
    fresh_legacy = leftover(".m.onnx.abcdefgh.tmp", age=time.time())
    locked_legacy = leftover(".m.onnx.lockedxx.tmp")
    alive_same_boot = leftover(f".m.onnx.{atomic._BOOT}-{os.getpid()}-89abcdef.tmp")
    unrelated = leftover(".m.onnx.notes.tmp")
    other_file = leftover(".other.onnx.k2j4_x9z.tmp")
    fd = os.open(locked_legacy, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # a live (older) writer holding its file
        removed = clean_stale_temporaries(path)
    finally:
        os.close(fd)
    assert sorted(removed) == sorted([other_boot, legacy])
    for kept in (fresh_other_boot, fresh_legacy, locked_legacy, alive_same_boot, unrelated, other_file):
        assert kept.exists(), kept


@pytest.mark.parametrize("name", ["x" * 250, "dots.in.name.npz"])
def test_long_and_dotted_names(tmp_path, name):
    path = tmp_path / name
    atomic_write_bytes(path, b"1")
    atomic_write_bytes(path, b"2")
    assert path.read_bytes() == b"2" and os.listdir(tmp_path) == [name]
