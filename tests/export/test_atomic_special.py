"""atomic_write_bytes and special files: devices, FIFOs, sockets, folders and links are never replaced;
links are written through; modes and owners are kept (issue 14)."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys

import numpy as np
import pytest

from graphc.export.atomic import SpecialFileError, atomic_write_bytes, current_umask

GRAPHC = os.path.join(os.path.dirname(sys.executable), "graphc")


def _snapshot(path):
    st = os.lstat(path)
    return stat.S_IFMT(st.st_mode), st.st_ino, st.st_rdev


def _refused(path, *fragments):
    before = _snapshot(path)
    with pytest.raises(SpecialFileError) as info:
        atomic_write_bytes(path, b"new bytes")
    for text in (str(path), *fragments):
        assert text in str(info.value), (text, str(info.value))
    assert _snapshot(path) == before  # the same kind of file, the same inode: untouched
    return info.value


def test_a_fifo_a_socket_and_a_folder_are_refused_not_replaced(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    _refused(fifo, "FIFO", "not a regular file")
    sock_path = tmp_path / "sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.bind(str(sock_path))
        _refused(sock_path, "a socket")
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "keep.txt").write_text("kept")
    err = _refused(folder, "a directory", "give the path of a file")
    assert isinstance(err, IsADirectoryError) and isinstance(err, OSError)
    assert (folder / "keep.txt").read_text() == "kept"
    assert sorted(os.listdir(tmp_path)) == ["folder", "pipe", "sock"]  # no temporary file left


def test_dev_null_is_refused_directly_and_through_a_link(tmp_path):
    link = tmp_path / "out.npz"
    os.symlink("/dev/null", link)
    _refused(link, "a symbolic link to /dev/null", "a character device")
    assert os.readlink(link) == "/dev/null"
    before = os.stat("/dev/null")
    with pytest.raises(SpecialFileError, match=r"cannot write /dev/null: it is a character device"):
        atomic_write_bytes("/dev/null", b"x")
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and (after.st_ino, after.st_rdev) == (before.st_ino, before.st_rdev)
    assert not [n for n in os.listdir("/dev") if n.startswith(".null.")]


def test_graphc_run_refuses_special_outputs_in_one_line(tmp_path):
    from onnx import TensorProto, helper, save

    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])], [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])],
    )
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=9), tmp_path / "m.onnx")
    np.save(tmp_path / "x.npy", np.array([-1.0, 2.0], np.float32))
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for out, what in ((fifo, "a FIFO"), ("/dev/null", "a character device"), (tmp_path, "a directory")):
        res = subprocess.run(
            [GRAPHC, "run", str(tmp_path / "m.onnx"), "--input", f"x={tmp_path / 'x.npy'}", "-o", str(out)],
            capture_output=True, text=True, timeout=120,
        )
        lines = res.stderr.strip().splitlines()
        assert res.returncode == 1 and len(lines) == 1, res.stderr
        assert lines[0].startswith(f"graphc run: error: cannot write {out}: it is {what}"), lines
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_a_link_is_written_through_to_its_target(tmp_path):
    real_dir = tmp_path / "real"
    real_dir.mkdir()
    target = real_dir / "model.onnx"
    target.write_bytes(b"old")
    os.chmod(target, 0o640)
    (tmp_path / "links").mkdir()
    rel = tmp_path / "links" / "rel.onnx"
    os.symlink("../real/model.onnx", rel)  # relative to the link's folder
    chain = tmp_path / "chain.onnx"
    os.symlink(rel, chain)  # a link to a link
    atomic_write_bytes(chain, b"through two links")
    assert os.path.islink(chain) and os.path.islink(rel)
    assert target.read_bytes() == b"through two links" and not target.is_symlink()
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o640
    # the temporary file went to the target's folder, and none is left anywhere
    assert sorted(os.listdir(real_dir)) == ["model.onnx"] and sorted(os.listdir(tmp_path / "links")) == ["rel.onnx"]


def test_dangling_links_and_loops_are_refused(tmp_path):
    dangling = tmp_path / "d.onnx"
    os.symlink("nowhere/absent.onnx", dangling)
    _refused(dangling, "a symbolic link to", "absent.onnx", "which does not exist")
    assert not (tmp_path / "nowhere").exists()
    a, b = tmp_path / "a", tmp_path / "b"
    os.symlink("b", a)
    os.symlink("a", b)
    err = _refused(a, "symbolic links", "loop")
    assert err.errno == 40  # ELOOP


def test_modes_are_kept_and_new_files_follow_the_umask(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"0")
    for mode in (0o664, 0o600, 0o444, 0o755):
        os.chmod(path, mode)
        atomic_write_bytes(path, b"data %o" % mode)
        assert stat.S_IMODE(os.stat(path).st_mode) == mode and path.read_bytes() == b"data %o" % mode
    old = os.umask(0o027)
    try:
        assert current_umask() == 0o027
        atomic_write_bytes(tmp_path / "new.bin", b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "new.bin").st_mode) == 0o640
    assert current_umask() == old


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="only root can give a file to another user")
def test_root_keeps_owner_and_group(tmp_path):
    path = tmp_path / "owned.bin"
    path.write_bytes(b"0")
    os.chown(path, 12345, 23456)
    os.chmod(path, 0o660)
    atomic_write_bytes(path, b"new")
    st = os.stat(path)
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (12345, 23456, 0o660)
    assert path.read_bytes() == b"new"


def test_a_missing_folder_and_a_file_as_folder_are_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"folder .*nope does not exist"):
        atomic_write_bytes(tmp_path / "nope" / "f", b"x")
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match=r"file is not a folder"):
        atomic_write_bytes(tmp_path / "file" / "f", b"x")
