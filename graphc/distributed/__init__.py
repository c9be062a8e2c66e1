"""Data-parallel training on MPI: ``from graphc import distributed as dist``.

Every rank runs the same program on its own shard of each batch; collectives
in the graph (:func:`mean`, :func:`sum`) all-reduce across the ranks, so all
ranks take the same step::

    from graphc import distributed as dist

    dist.broadcast(params)                              # all ranks start from rank 0's weights
    grads = dist.mean(T.grad(cost, params))             # gradients averaged over the ranks
    step = theano.function([x, y], cost, updates=lasagne.updates.adam(grads, params))
    for xb, yb in batches:                              # the same batches on every rank...
        step(*dist.shard([xb, yb]))                     # ...each rank computes on its slice

Run it with ``mpiexec -n 4 python train.py`` (or ``srun``).  mpi4py is
imported only when a launcher started the process (or the program imported
it, or ``GRAPHC_MPI=1``); in a plain process ``size() == 1``, ``rank() == 0``,
:func:`barrier` returns at once and the collectives are the identity.  See
``docs/distributed.md``.
"""

from .broadcast import broadcast, shared_seed
from .collectives import mean, sum
from .communicator import COMM_METHODS, barrier, comm, launcher_size, rank, set_comm, size, use_comm
from .data import shard, shard_bounds

__all__ = [
    "rank", "size", "barrier", "comm", "set_comm", "use_comm", "launcher_size", "COMM_METHODS",
    "broadcast", "shared_seed", "mean", "sum", "shard", "shard_bounds",
]  # fmt: skip
