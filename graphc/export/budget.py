"""The memory budget: how many bytes one load, input or allocation may ask for.

Hostile or careless files are small and ask for a lot (a ``.npy`` header claiming 10^12
elements, a zip member that inflates a thousandfold, a network file asking for layers of a
million units).  Every reader checks what a file *claims* against this budget before it
allocates, so the answer is one clear error instead of a ``MemoryError`` traceback or a
machine swapping to death.

The budget is ``GRAPHC_MEMORY_BUDGET`` when set (bytes, or with a unit: ``512M``, ``2G``,
``1.5GiB``); otherwise half of the smallest of the machine's memory, the control group's
memory limit and the address space left under ``ulimit -v``.
"""

from __future__ import annotations

import os
import re
import resource

__all__ = ["BudgetError", "memory_budget", "check_bytes", "human_bytes", "parse_bytes", "ENV"]

ENV = "GRAPHC_MEMORY_BUDGET"
"""The environment variable that sets the budget."""

_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


class BudgetError(ValueError):
    """A file, input or request asks for more memory than the budget allows."""


def parse_bytes(text: str, what: str = ENV) -> int:
    """Bytes from ``'1048576'``, ``'512M'``, ``'2G'``, ``'1.5GiB'`` or ``'3 gb'`` (units are powers of 1024).

    Raises
    ------
    ValueError
        Naming ``what`` and the text, for anything else or a size that is not positive.
    """
    m = re.fullmatch(r"\s*(\d+(?:\.\d*)?)\s*([kmgtb]?)(?:i?b)?\s*", str(text).lower())
    if not m:
        raise ValueError(f"{what} must be a size in bytes such as 1073741824, 512M or 2G, got {text!r}")
    size = int(float(m.group(1)) * _UNITS[m.group(2)])
    if size <= 0:
        raise ValueError(f"{what} must be a positive size, got {text!r}")
    return size


def _meminfo(key: str) -> int | None:
    try:
        with open("/proc/self/status" if key == "VmSize" else "/proc/meminfo") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _cgroup_limit() -> int | None:
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(path) as f:
                text = f.read().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < 1 << 60:
            return int(text)
    return None


def memory_budget() -> int:
    """The number of bytes one load or allocation may use (see the module docstring).

    Raises
    ------
    ValueError
        If ``GRAPHC_MEMORY_BUDGET`` is set to something that is not a size.
    """
    text = os.environ.get(ENV)
    if text:
        return parse_bytes(text)
    limits = []
    try:
        limits.append(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        total = _meminfo("MemTotal")
        if total:
            limits.append(total)
    cgroup = _cgroup_limit()
    if cgroup:
        limits.append(cgroup)
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        used = _meminfo("VmSize") or 0
        limits.append(max(soft - used, 0))
    return max(min(limits) // 2, 1 << 20) if limits else 1 << 32


def human_bytes(n: int | float) -> str:
    """``n`` bytes in words: ``'512 B'``, ``'3.0 MiB'``, ``'7.3 TiB'``."""
    n = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{int(n)} B" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PiB"  # pragma: no cover


def check_bytes(nbytes: int, what: str, budget: int | None = None) -> None:
    """Refuse ``what`` if it needs more than ``budget`` bytes (default :func:`memory_budget`).

    Raises
    ------
    BudgetError
        Naming ``what``, the size it asks for and the budget.
    """
    limit = memory_budget() if budget is None else int(budget)
    if nbytes > limit:
        source = f"set {ENV} to change it" if budget is None else "the budget given"
        raise BudgetError(f"{what} needs {human_bytes(nbytes)}, over the memory budget of {human_bytes(limit)} ({source})")
