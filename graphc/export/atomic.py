"""Atomic file writes: a path holds either its old bytes or the new ones, never a mix.

Every file graphc saves (models, training state, networks, checkpoints, ``graphc run -o``)
goes through :func:`atomic_write_bytes`.  Besides atomicity it keeps four promises:

* it replaces regular files only: a device (``/dev/null``), a FIFO, a socket or a
  directory at the path is refused with :class:`SpecialFileError`, never replaced;
* a symbolic link is written *through*: its final target is replaced (atomically, in the
  target's own folder) and the link stays a link; a dangling link or a loop is refused;
* an existing file keeps its permission bits (and, where allowed, its owner and group); a
  new file gets ``0o666 & ~umask``, as ``open()`` would give it;
* temporary files are named ``.NAME.<boot>-<pid>-<random>.tmp`` and locked
  (``flock``) by their writer while it writes, so that the temporary files that a killed
  writer left behind are deleted by the next save to the same path, while the temporary
  file of a save still running (in this or another process) is never touched.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import secrets
import stat
import threading
import time
from pathlib import Path

try:  # POSIX only: without it, stale temporary files are not cleaned
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["atomic_write_bytes", "check_writable", "SpecialFileError", "current_umask", "clean_stale_temporaries"]

_MAX_LINKS = 40  # Linux's own limit on symbolic links followed in one lookup
_LEGACY_AGE_S = 3600.0  # mkstemp-named temporaries of older graphc versions: deleted past this age
_OTHER_BOOT_AGE_S = 60.0  # another machine's (or boot's) temporaries: deleted past this age
_umask_lock = threading.Lock()


class SpecialFileError(OSError):
    """The path of a save is not something graphc replaces: a device, FIFO, socket,
    directory, dangling symbolic link or a loop of links.  The message names the path and
    what is there."""


class _DirectoryError(SpecialFileError, IsADirectoryError):
    """The path of a save is a directory."""


def _error(cls: type[SpecialFileError], code: int, message: str) -> SpecialFileError:
    exc = cls(message)  # one argument: str(exc) is the message alone, with no "[Errno N]"
    exc.errno = code
    return exc


def current_umask() -> int:
    """The process's umask, read without changing it where possible.

    ``os.umask`` can only be read by setting it, which races with other threads creating
    files; on Linux ``/proc/self/status`` shows it (``Umask:``).  Elsewhere it is set and
    restored under a lock.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _umask_lock:
        old = os.umask(0o022)
        os.umask(old)
    return old


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def _resolve(target: Path) -> tuple[Path, os.stat_result | None]:
    """The file a save to ``target`` replaces (symbolic links followed) and its lstat (None: no file yet)."""
    current = target
    for _ in range(_MAX_LINKS):
        try:
            st = os.lstat(current)
        except FileNotFoundError:
            if current == target:
                return current, None
            raise _error(
                SpecialFileError, errno.ENOENT,
                f"cannot write {target}: it is a symbolic link to {current}, which does not exist (a dangling link); "
                "graphc writes through links to existing files only: remove the link or create its target",
            ) from None
        except NotADirectoryError:
            raise FileNotFoundError(f"cannot write {target}: {current.parent} is not a folder") from None
        if not stat.S_ISLNK(st.st_mode):
            return current, st
        link = os.readlink(current)
        current = Path(link) if os.path.isabs(link) else current.parent / link
    raise _error(SpecialFileError, errno.ELOOP, f"cannot write {target}: more than {_MAX_LINKS} symbolic links to follow (a loop of links?)")


def _refuse_special(target: Path, final: Path, st: os.stat_result) -> None:
    if stat.S_ISREG(st.st_mode):
        return
    what = "it is" if final == target else f"it is a symbolic link to {final}, which is"
    if stat.S_ISDIR(st.st_mode):
        raise _error(
            _DirectoryError, errno.EISDIR,
            f"cannot write {target}: {what} a directory; give the path of a file, such as {final / 'NAME'}",
        )
    raise _error(
        SpecialFileError, errno.EINVAL,
        f"cannot write {target}: {what} {_kind(st.st_mode)}, not a regular file; graphc replaces regular files "
        "only, so give the path of a file",
    )


def _stem(name: str) -> str:
    """The file name as it appears in temporary names (long names shortened, to stay under NAME_MAX)."""
    if len(os.fsencode(name)) <= 160:
        return name
    return name[:80] + "~" + hashlib.sha1(os.fsencode(name)).hexdigest()[:12]


def _boot_token() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            return f.read().strip().replace("-", "")[:12] or "0" * 12
    except OSError:
        return "0" * 12


_BOOT = _boot_token()


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _lock(fd: int) -> bool:
    """Take the exclusive lock of ``fd`` without waiting; False when a live writer holds it."""
    if fcntl is None:  # pragma: no cover
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return False
        raise
    return True


def _is_stale(path: Path, boot: str | None, pid: int | None) -> bool:
    """Whether the temporary file ``path`` belongs to no live writer; deletes it (under its lock) if so."""
    try:
        st = os.lstat(path)
        if not stat.S_ISREG(st.st_mode):
            return False
        age = time.time() - st.st_mtime
        if pid is None:  # an older graphc's mkstemp name: no owner recorded, so judge by age and lock
            if age < _LEGACY_AGE_S:
                return False
        elif boot == _BOOT:
            if _pid_alive(pid):  # also covers the moment between a writer's open() and its flock()
                return False
        elif age < _OTHER_BOOT_AGE_S:  # another machine's writer (a shared folder): give it time to lock
            return False
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return False
    try:
        if not _lock(fd):
            return False
        try:
            if os.path.samestat(os.fstat(fd), os.lstat(path)):
                os.unlink(path)
                return True
        except OSError:
            pass
        return False
    finally:
        os.close(fd)


def clean_stale_temporaries(path: str | os.PathLike[str]) -> list[Path]:
    """Delete the temporary files that killed saves to ``path`` left in its folder.

    A temporary file is stale when nobody holds its lock and its writer is gone (its
    process no longer exists on this boot of this machine; or it was written on another
    boot or machine at least a minute ago).  Temporary files named by older graphc
    versions (``.NAME.XXXXXXXX.tmp``, no owner recorded) are stale once an hour old and
    unlocked.  The temporary file of a save still running, here or in another process,
    is never deleted.

    Returns
    -------
    list of Path
        The files deleted.
    """
    if fcntl is None:  # pragma: no cover
        return []
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    prefix = f".{_stem(target.name)}."
    ours = re.compile(r"([0-9a-f]{12})-(\d+)-[0-9a-f]{8}\.tmp")
    legacy = re.compile(r"[a-z0-9_]{8}\.tmp")
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    for entry in entries:
        name = entry.name
        if not name.startswith(prefix) or not name.endswith(".tmp"):
            continue
        rest = name[len(prefix):]
        m = ours.fullmatch(rest)
        if m:
            stale = _is_stale(folder / name, m.group(1), int(m.group(2)))
        elif legacy.fullmatch(rest):
            stale = _is_stale(folder / name, None, None)
        else:
            continue
        if stale:
            removed.append(folder / name)
    return removed


def _open_temporary(folder: Path, name: str) -> tuple[int, Path]:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = folder / f".{_stem(name)}.{_BOOT}-{os.getpid()}-{secrets.token_hex(4)}.tmp"
        try:
            fd = os.open(tmp, flags, 0o600)
        except FileExistsError:
            continue
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)  # ours alone: never waits
        except BaseException:
            os.close(fd)
            os.unlink(tmp)
            raise
        return fd, tmp
    raise FileExistsError(f"cannot create a temporary file in {folder}")  # pragma: no cover


def _carry_metadata(fd: int, st: os.stat_result | None) -> None:
    """Give the temporary file the mode (and owner) the file it replaces had, or a new file's mode."""
    if not hasattr(os, "fchmod"):  # pragma: no cover - Windows: no POSIX modes to carry
        return
    if st is None:
        os.fchmod(fd, 0o666 & ~current_umask())
        return
    mine = os.fstat(fd)
    if hasattr(os, "fchown") and (mine.st_uid, mine.st_gid) != (st.st_uid, st.st_gid):
        try:  # root keeps owner and group; a user keeps a group it belongs to
            os.fchown(fd, st.st_uid, st.st_gid)
        except PermissionError:
            try:
                os.fchown(fd, -1, st.st_gid)
            except PermissionError:
                pass
    os.fchmod(fd, stat.S_IMODE(st.st_mode))


def _writable(target: Path) -> tuple[Path, os.stat_result | None]:
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        if folder.exists():
            raise FileNotFoundError(f"cannot write {target}: {folder} is not a folder")
        raise FileNotFoundError(f"cannot write {target}: folder {folder} does not exist")
    final, st = _resolve(target)
    if st is not None:
        _refuse_special(target, final, st)
    return final, st


def check_writable(path: str | os.PathLike[str]) -> Path:
    """Check, without writing, that :func:`atomic_write_bytes` would accept ``path`` (to fail before long work).

    Returns
    -------
    Path
        The file a save would replace or create (symbolic links followed).

    Raises
    ------
    SpecialFileError, FileNotFoundError
        As :func:`atomic_write_bytes` would.
    """
    return _writable(Path(path))[0]


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes | bytearray | memoryview) -> Path:
    """Write ``data`` to ``path`` so that ``path`` holds either the old or the new bytes.

    The bytes go to a temporary file in the same folder (``.NAME.<boot>-<pid>-<random>.tmp``,
    locked by this writer), are flushed and fsynced, and the file is renamed over ``path``; a
    crash at any point leaves the previous file intact, and the next save to ``path`` deletes
    the temporary files that crashed or killed saves left (see :func:`clean_stale_temporaries`).

    Parameters
    ----------
    path : path-like
        A regular file (replaced), a path with no file yet (created), or a symbolic link to a
        regular file: the link's final target is replaced, atomically, in the target's
        folder, and the link itself stays as it is.
    data : bytes-like

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    SpecialFileError
        An ``OSError`` naming the path and what is there when ``path`` is a device (such as
        ``/dev/null``), a FIFO, a socket or a directory (then also an
        ``IsADirectoryError``), a dangling symbolic link or a loop of links: these are
        refused, never replaced.
    FileNotFoundError
        If the folder does not exist.

    Notes
    -----
    A replaced file keeps its permission bits and, where the writer may set them (root), its
    owner and group; a new file gets ``0o666 & ~umask``.  Hard links to the old file keep the
    old bytes (the new file is a new inode).
    """
    target = Path(path)
    final, st = _writable(target)
    final_folder = final.parent if str(final.parent) else Path(".")
    if not final_folder.is_dir():  # pragma: no cover - _resolve found the file there
        raise FileNotFoundError(f"cannot write {target}: folder {final_folder} does not exist")
    clean_stale_temporaries(final)
    fd, tmp = _open_temporary(final_folder, final.name)
    try:
        with os.fdopen(fd, "wb", closefd=False) as f:
            f.write(data)
            f.flush()
        _carry_metadata(fd, st)
        os.fsync(fd)
        os.replace(tmp, final)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    finally:
        os.close(fd)  # releases the lock (on what is now the file itself)
    _fsync_folder(final_folder)
    return target


def _fsync_folder(folder: Path) -> None:
    try:
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
