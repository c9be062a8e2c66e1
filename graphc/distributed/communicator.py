"""The communicator graphc's data parallelism runs on, and rank, size and barrier.

graphc talks MPI through mpi4py, imported lazily: ``import graphc`` never
initializes MPI.  The communicator in use (:func:`comm`) is, in order:

1. the one given to :func:`set_comm` (or to :func:`use_comm` for a block);
2. ``GRAPHC_MPI=0`` in the environment: none (one process, even under a launcher);
3. MPI's ``COMM_WORLD`` when ``GRAPHC_MPI=1``, when the program already imported
   ``mpi4py.MPI``, or when an MPI launcher started this process (``mpiexec``,
   ``mpirun``, ``srun``: detected by the variables they set, such as
   ``PMI_RANK``, ``PMIX_RANK`` or ``OMPI_COMM_WORLD_SIZE``);
4. otherwise none: a plain ``python train.py`` is one process of rank 0 in a job
   of size 1, whether or not mpi4py is installed, and MPI is not initialized.

A communicator is any object with mpi4py's ``Comm`` methods ``Get_rank``,
``Get_size``, ``Barrier``, ``bcast``, ``Bcast``, ``allgather``, ``Allreduce`` and
``Abort`` (a failing rank ends the job with it).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["comm", "set_comm", "use_comm", "rank", "size", "barrier", "launcher_size", "COMM_METHODS"]

#: the mpi4py ``Comm`` methods graphc calls on a communicator
COMM_METHODS = ("Get_rank", "Get_size", "Barrier", "bcast", "Bcast", "allgather", "Allreduce", "Abort")

#: variables whose presence means an MPI launcher started this process
_LAUNCHER_VARS = ("PMI_RANK", "PMI_SIZE", "PMI_FD", "PMIX_RANK", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE")
#: variables holding the number of processes the launcher started
_SIZE_VARS = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE", "SLURM_STEP_NUM_TASKS")

_INSTALL_HINT = "pip install 'graphc[distributed]' (mpi4py; add the mpich package for PyPI's MPICH)"

_explicit: list[Any] = []  # the set_comm stack's top is the communicator in use; empty: the default


def _check_comm(c: Any, what: str) -> None:
    missing = [m for m in COMM_METHODS if not callable(getattr(c, m, None))]
    if missing:
        raise TypeError(
            f"{what}: expected an MPI communicator (such as mpi4py's MPI.COMM_WORLD), got "
            f"{type(c).__name__}, which lacks {', '.join(missing)}"
        )


def launcher_size() -> int | None:
    """The number of processes an MPI launcher started with this one, or None when none did.

    Read from the launcher's environment variables (``PMI_SIZE``,
    ``OMPI_COMM_WORLD_SIZE``, ``MV2_COMM_WORLD_SIZE``, Slurm's
    ``SLURM_STEP_NUM_TASKS``); 1 when a launcher is detected but tells no size.
    """
    for var in _SIZE_VARS:
        v = os.environ.get(var, "").strip()
        if v.isdigit() and (var != "SLURM_STEP_NUM_TASKS" or int(v) > 1):
            return int(v)
    if any(var in os.environ for var in _LAUNCHER_VARS):
        return 1
    return None


def _world() -> Any | None:
    """MPI's COMM_WORLD where this process runs under MPI, else None (see the module docstring)."""
    flag = os.environ.get("GRAPHC_MPI", "").strip()
    if flag not in ("", "0", "1"):
        raise ValueError(f"GRAPHC_MPI must be 0 (no MPI), 1 (use MPI) or unset (detect a launcher), got {flag!r}")
    if flag == "0":
        return None
    launched = launcher_size()
    if flag != "1" and "mpi4py.MPI" not in sys.modules and launched is None:
        return None
    try:
        from mpi4py import MPI
    except ImportError as e:
        if flag == "1":
            raise ImportError(f"GRAPHC_MPI=1 asks for MPI, but mpi4py cannot be imported ({e}): {_INSTALL_HINT}") from e
        if launched is not None and launched > 1:
            raise RuntimeError(
                f"this process was started by an MPI launcher as one of {launched} processes, but mpi4py cannot "
                f"be imported ({e}), so each would train alone: {_INSTALL_HINT}, or set GRAPHC_MPI=0 to run "
                "independent single processes on purpose"
            ) from e
        return None
    return MPI.COMM_WORLD


def comm() -> Any | None:
    """The communicator graphc's collectives and helpers use, or None for a single process.

    Returns
    -------
    mpi4py.MPI.Comm or None
        The communicator given to :func:`set_comm`, else MPI's ``COMM_WORLD``
        when this process runs under MPI, else None (see :mod:`graphc.distributed.communicator`).

    Raises
    ------
    RuntimeError
        When an MPI launcher started several processes but mpi4py is missing.
    """
    if _explicit:
        return _explicit[-1]
    return _world()


def set_comm(c: Any | None) -> Any | None:
    """Make ``c`` the communicator graphc uses from now on; None goes back to the default.

    Parameters
    ----------
    c : mpi4py.MPI.Comm or None
        A communicator (such as ``MPI.COMM_WORLD.Split(...)`` or ``MPI.COMM_SELF``),
        or None for the default of :func:`comm`.

    Returns
    -------
    mpi4py.MPI.Comm or None
        The communicator set before (None where it was the default).

    Raises
    ------
    TypeError
        If ``c`` lacks a method graphc calls (listed in ``COMM_METHODS``).
    """
    if c is not None:
        _check_comm(c, "set_comm")
    previous = _explicit[-1] if _explicit else None
    _explicit.clear()
    if c is not None:
        _explicit.append(c)
    return previous


@contextmanager
def use_comm(c: Any) -> Iterator[Any]:
    """Use the communicator ``c`` inside a ``with`` block, then the one before.

    Examples
    --------
    >>> from mpi4py import MPI                               # doctest: +SKIP
    >>> with dist.use_comm(MPI.COMM_SELF):                   # doctest: +SKIP
    ...     assert dist.size() == 1
    """
    _check_comm(c, "use_comm")
    _explicit.append(c)
    try:
        yield c
    finally:
        # the latest entry of c (a set_comm inside the block may have cleared it already)
        for i in range(len(_explicit) - 1, -1, -1):
            if _explicit[i] is c:
                del _explicit[i]
                break


def resolve(c: Any | None, what: str) -> Any | None:
    """``c`` itself (checked) when given, else :func:`comm`."""
    if c is None:
        return comm()
    _check_comm(c, what)
    return c


def rank(comm: Any | None = None) -> int:
    """This process's rank: 0 to ``size() - 1``; 0 in a single process.

    Parameters
    ----------
    comm : mpi4py.MPI.Comm, optional
        The communicator; by default the one of :func:`graphc.distributed.comm`.
    """
    c = resolve(comm, "rank")
    return 0 if c is None else int(c.Get_rank())


def size(comm: Any | None = None) -> int:
    """The number of processes (ranks) in the job; 1 in a single process.

    Parameters
    ----------
    comm : mpi4py.MPI.Comm, optional
        The communicator; by default the one of :func:`graphc.distributed.comm`.
    """
    c = resolve(comm, "size")
    return 1 if c is None else int(c.Get_size())


def barrier(comm: Any | None = None) -> None:
    """Wait until every rank has called ``barrier``; returns at once in a single process.

    Parameters
    ----------
    comm : mpi4py.MPI.Comm, optional
        The communicator; by default the one of :func:`graphc.distributed.comm`.
    """
    c = resolve(comm, "barrier")
    if c is not None:
        c.Barrier()
