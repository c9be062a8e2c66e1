"""The safe .npy/.npz readers and the memory budget: sizes are checked before anything inflates."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from graphc.export.arrays import read_array_file, read_npy, read_npz
from graphc.export.budget import BudgetError, check_bytes, human_bytes, memory_budget, parse_bytes


def _bomb(path, claimed, written):
    """An .npz whose one member's header claims ``claimed`` float32s and holds ``written`` zero bytes."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z, z.open("x.npy", "w", force_zip64=True) as m:
        np.lib.format.write_array_header_1_0(m, {"descr": "<f4", "fortran_order": False, "shape": (claimed,)})
        chunk = bytes(1 << 22)
        for _ in range(written // len(chunk)):
            m.write(chunk)
    return path


def test_arrays_round_trip_in_c_and_fortran_order_with_every_plain_dtype(tmp_path):
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    np.save(tmp_path / "c.npy", a)
    np.save(tmp_path / "f.npy", np.asfortranarray(a))
    for name in ("c.npy", "f.npy"):
        got = read_npy(tmp_path / name)
        assert got.shape == (2, 3, 4) and np.array_equal(got, a)
        got[0, 0, 0] = 7  # writable, owned
    arrays = {"x": a, "s": np.array(["ab", "c"]), "b": np.array([True, False]), "i": np.arange(5, dtype=np.int64), "e": np.zeros((0, 3))}
    np.savez_compressed(tmp_path / "z.npz", **arrays)
    got = read_npz(tmp_path / "z.npz")
    assert list(got) == list(arrays)
    for k, v in arrays.items():
        assert got[k].dtype == v.dtype and np.array_equal(got[k], v)


def test_a_header_claiming_a_trillion_elements_is_refused_before_allocating(tmp_path):
    path = tmp_path / "big.npy"
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "<f4", "fortran_order": False, "shape": (10**12,)})
        f.write(bytes(100))
    with pytest.raises(ValueError, match=r"--input x: .*big.npy is not a .npy/.npz array file: .*claims \(1000000000000,\) float32"):
        read_array_file(path, "--input x")


def test_a_zip_bomb_is_refused_by_its_declared_sizes_and_expect_sees_shapes_before_data(tmp_path):
    path = _bomb(tmp_path / "bomb.npz", 50_000_000, 200_000_000)
    assert path.stat().st_size < 2_000_000
    with pytest.raises(BudgetError, match=r"bomb.npz \(inflated\) needs 1\d\d\.\d MiB, over the memory budget of 1.0 MiB"):
        read_npz(path, budget=1 << 20)
    seen = []

    def expect(name, shape, dtype):
        seen.append((name, shape, dtype))
        raise ValueError(f"array {name!r} has shape {shape}, expected (3, 2)")

    with pytest.raises(ValueError, match=r"array 'x' has shape \(50000000,\), expected \(3, 2\)"):
        read_npz(path, expect=expect)
    assert seen == [("x", (50_000_000,), np.dtype("float32"))]


def test_only_reads_the_named_members(tmp_path):
    np.savez(tmp_path / "two.npz", spec=np.arange(3), big=np.ones((40, 50)))
    assert list(read_npz(tmp_path / "two.npz", only={"spec", "absent"})) == ["spec"]
    assert list(read_npz(tmp_path / "two.npz", only=())) == []
    seen = []
    got = read_npz(tmp_path / "two.npz", only={"spec"}, expect=lambda *a: seen.append(a), budget=1000)
    assert list(got) == ["spec"] and seen == [("spec", (3,), np.dtype(int)), ("big", (40, 50), np.dtype(float))]


def test_a_member_that_lies_about_its_size_is_refused(tmp_path):
    path = _bomb(tmp_path / "short.npz", 10_000_000, 1 << 22)  # claims 40 MB, holds 4 MiB
    with pytest.raises(ValueError, match=r"array 'x': its header claims .* but only \d+ bytes follow"):
        read_npz(path)


@pytest.mark.parametrize("damage", ["empty", "truncated", "crc", "text", "object"])
def test_broken_files_give_one_value_error_naming_the_file(tmp_path, damage):
    good = tmp_path / "good.npz"
    np.savez_compressed(good, x=np.arange(1000.0))
    data = bytearray(good.read_bytes())
    path = tmp_path / f"{damage}.npz"
    if damage == "empty":
        data = b""
    elif damage == "truncated":
        data = data[: len(data) // 2]
    elif damage == "crc":
        data[120] ^= 0xFF
    elif damage == "text":
        data = b"hello, not an array\n"
    if damage == "object":
        np.save(tmp_path / "object.npy", np.array([1, "a"], dtype=object), allow_pickle=True)
        path = tmp_path / "object.npy"
    else:
        path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=rf"{path.name} is not a .npy/.npz array file: ") as info:
        read_array_file(path)
    assert "\n" not in str(info.value)


def test_missing_files_folders_and_special_files(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no such file .*absent.npy"):
        read_array_file(tmp_path / "absent.npy")
    with pytest.raises(ValueError, match=r"is a folder"):
        read_array_file(tmp_path)
    with pytest.raises(ValueError, match=r"/dev/null is not a regular file"):
        read_array_file("/dev/null")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match=r"fifo is not a regular file"):
        read_array_file(fifo)  # would block forever if it were opened for reading and read


def test_npy_and_npz_are_told_apart(tmp_path):
    np.save(tmp_path / "a.npy", np.ones(3))
    np.savez(tmp_path / "b.npz", a=np.ones(3))
    with pytest.raises(ValueError, match="single .npy array, not an .npz"):
        read_npz(tmp_path / "a.npy")
    with pytest.raises(ValueError, match="an .npz archive of several arrays, not one .npy"):
        read_npy(tmp_path / "b.npz")


def test_the_budget_parses_sizes_and_names_what_asks(monkeypatch):
    assert parse_bytes("512M") == 512 << 20 and parse_bytes("1.5GiB") == 3 << 29 and parse_bytes("4096") == 4096
    for bad in ("lots", "-3G", "0"):
        with pytest.raises(ValueError, match="GRAPHC_MEMORY_BUDGET must be"):
            parse_bytes(bad)
    monkeypatch.setenv("GRAPHC_MEMORY_BUDGET", "3M")
    assert memory_budget() == 3 << 20
    with pytest.raises(BudgetError, match=r"input 'x' needs 4.0 MiB, over the memory budget of 3.0 MiB \(set GRAPHC_MEMORY_BUDGET"):
        check_bytes(4 << 20, "input 'x'")
    check_bytes(3 << 20, "input 'x'")
    assert human_bytes(100) == "100 B" and human_bytes(5 << 40) == "5.0 TiB"


def test_the_default_budget_follows_ulimit_v():
    code = "from graphc.export.budget import memory_budget; print(memory_budget())"
    limit = 3 << 30

    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    env = {k: v for k, v in os.environ.items() if k != "GRAPHC_MEMORY_BUDGET"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, preexec_fn=cap, env=env, timeout=120, check=True)
    assert 0 < int(out.stdout) < limit // 2
