"""Making every rank start equal: root's parameter values and one shared seed.

:func:`broadcast` sends the root rank's values of shared variables to every
rank (after building a network, before training, so all ranks start from the
same initial weights).  :func:`shared_seed` gives every rank the seed the root
drew, for shuffling and dropout streams that must agree across ranks.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np

from .communicator import resolve

__all__ = ["broadcast", "shared_seed"]

#: bytes per MPI call: message counts are C ints in MPI before 4.0
_CHUNK_BYTES = 1 << 30


def _as_variables(shared_variables: Any) -> list[Any]:
    single = callable(getattr(shared_variables, "get_value", None))  # a variable is iterable (its rows): not a list
    items = [shared_variables] if single or not isinstance(shared_variables, Iterable) else list(shared_variables)
    for i, v in enumerate(items):
        if not (callable(getattr(v, "get_value", None)) and callable(getattr(v, "set_value", None))):
            raise TypeError(
                f"broadcast: item {i} is {type(v).__name__}, expected a shared variable (with get_value and set_value)"
            )
    return items


def _check_root(root: Any, n_ranks: int) -> int:
    if isinstance(root, bool) or not isinstance(root, numbers.Integral) or not 0 <= int(root) < n_ranks:
        raise ValueError(f"root must be a rank from 0 to {n_ranks - 1}, got {root!r}")
    return int(root)


def _describe_mismatch(metas: list[list[tuple[str | None, tuple[int, ...], str]]], root: int) -> str | None:
    """The first difference between a rank's variables and the root's, or None when all agree."""
    mine = metas[root]
    for r, theirs in enumerate(metas):
        if len(theirs) != len(mine):
            return f"rank {r} passed {len(theirs)} shared variables, root rank {root} passed {len(mine)}"
        for i, ((name, shape, dtype), (rname, rshape, rdtype)) in enumerate(zip(theirs, mine)):
            if (shape, dtype) != (rshape, rdtype):
                label = f"shared variable {i} ({rname!r})" if rname else f"shared variable {i} (unnamed)"
                return (
                    f"{label} is {dtype}{list(shape)} on rank {r} ({name!r}) but {rdtype}{list(rshape)} on root "
                    f"rank {root}: every rank must build the same model"
                )
    return None


def broadcast(shared_variables: Any, root: int = 0, comm: Any | None = None) -> list[Any]:
    """Give every rank the root rank's values of ``shared_variables``.

    Every rank calls it with the same variables in the same order (those of the
    same model, built the same way); afterwards each holds root's values
    (``set_value`` on every rank but root).  The values travel in one buffer.

    Parameters
    ----------
    shared_variables : SharedVariable or iterable of SharedVariable
        The variables, such as ``lasagne.layers.get_all_params(l_out)``.
    root : int
        The rank whose values win.
    comm : mpi4py.MPI.Comm, optional
        The communicator; by default the one of :func:`graphc.distributed.comm`.

    Returns
    -------
    list of SharedVariable
        The variables, in order.

    Raises
    ------
    TypeError
        If an item is not a shared variable.
    ValueError
        On every rank alike, if ``root`` is not a rank or if the ranks' variables
        differ in number, shape or dtype, naming the first such variable and rank.
    """
    items = _as_variables(shared_variables)
    c = resolve(comm, "broadcast")
    n_ranks = 1 if c is None else int(c.Get_size())
    root = _check_root(root, n_ranks)
    if n_ranks == 1:
        return items
    values = [np.asarray(v.get_value(), order="C") for v in items]  # (ascontiguousarray makes 0-d 1-d)
    meta = [(getattr(v, "name", None), tuple(int(d) for d in a.shape), a.dtype.str) for v, a in zip(items, values)]
    # every rank sees every rank's description, so all raise the same error and none waits for a broadcast
    problem = _describe_mismatch(c.allgather(meta), root)
    if problem is not None:
        raise ValueError(f"broadcast: {problem}")
    sizes = [a.nbytes for a in values]
    buf = np.empty(int(np.sum(sizes, dtype=np.int64)), dtype=np.uint8)
    if int(c.Get_rank()) == root:
        offset = 0
        for a, n in zip(values, sizes):
            buf[offset : offset + n] = a.reshape(-1).view(np.uint8)
            offset += n
    for start in range(0, buf.size, _CHUNK_BYTES):
        c.Bcast(buf[start : start + _CHUNK_BYTES], root=root)
    if int(c.Get_rank()) != root:
        offset = 0
        for v, a, n in zip(items, values, sizes):
            v.set_value(buf[offset : offset + n].view(a.dtype).reshape(a.shape).copy())
            offset += n
    return items


def shared_seed(seed: int | None = None, root: int = 0, comm: Any | None = None) -> int:
    """One seed, the same on every rank: root's ``seed``, or one root draws.

    Parameters
    ----------
    seed : int, optional
        Root's seed (the other ranks' values are ignored); None: root draws one
        from the operating system's entropy, so each job gets another.
    root : int
        The rank whose seed wins.
    comm : mpi4py.MPI.Comm, optional
        The communicator; by default the one of :func:`graphc.distributed.comm`.

    Returns
    -------
    int
        A seed in ``[0, 2**31)`` when drawn (fits ``numpy.random.RandomState``
        and Theano's ``RandomStreams``); root's ``seed`` as given otherwise.

    Raises
    ------
    ValueError
        If ``seed`` is not a non-negative integer, or ``root`` is not a rank.
    """
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0):
        raise ValueError(f"seed must be a non-negative integer or None, got {seed!r}")
    c = resolve(comm, "shared_seed")
    n_ranks = 1 if c is None else int(c.Get_size())
    root = _check_root(root, n_ranks)
    mine = int(seed) if seed is not None else None
    if c is None or n_ranks == 1 or int(c.Get_rank()) == root:
        if mine is None:
            mine = int(np.random.SeedSequence().entropy % (1 << 31))  # type: ignore[operator]
    if c is None or n_ranks == 1:
        assert mine is not None
        return mine
    return int(c.bcast(mine, root=root))
