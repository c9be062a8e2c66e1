"""The ring all-reduce cost model behind ``bench/distributed.py``'s cluster projection.

Ring all-reduce (Patarasuk & Yuan, "Bandwidth optimal all-reduce algorithms for clusters of
workstations", 2009; Thakur, Rabenseifner & Gropp, 2005) over ``p`` nodes of ``n`` bytes, with link
bandwidth ``B`` and per-message latency ``alpha``::

    t_allreduce(p, n) = 2 (p - 1) / p * n / B  +  2 (p - 1) * alpha

(2 (p - 1) steps: a reduce-scatter then an all-gather, each moving n / p bytes a node).  A step
projected at ``p`` nodes is the measured one-node compute plus that, with no overlap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Network", "NETWORKS", "NODE_COUNTS", "ring_allreduce_seconds", "project"]

NODE_COUNTS = (8, 16, 32, 64)


@dataclass(frozen=True)
class Network:
    """A network the projection assumes: its line rate and per-message latency."""

    name: str
    gbit_per_s: float
    latency_us: float


NETWORKS = (
    Network("10 Gb/s Ethernet, TCP", 10.0, 50.0),
    Network("25 Gb/s Ethernet", 25.0, 20.0),
    Network("100 Gb/s InfiniBand-class, RDMA", 100.0, 5.0),
)


def ring_allreduce_seconds(nbytes: float, nodes: int, gbit_per_s: float, latency_s: float) -> float:
    """Seconds of a ring all-reduce: ``2 (p-1)/p * n / B + 2 (p-1) * alpha`` (the module docstring).

    Parameters
    ----------
    nbytes : float
        Bytes all-reduced (``n``), at least 0.
    nodes : int
        Nodes in the ring (``p``), at least 1; one node takes no time.
    gbit_per_s : float
        Link bandwidth in Gb/s (10**9 bits per second), positive.
    latency_s : float
        Per-message latency ``alpha`` in seconds, at least 0.
    """
    if isinstance(nodes, bool) or not isinstance(nodes, (int, np.integer)) or nodes < 1:
        raise ValueError(f"nodes must be an integer >= 1, got {nodes!r}")
    if not nbytes >= 0:
        raise ValueError(f"nbytes must be >= 0, got {nbytes!r}")
    if not gbit_per_s > 0:
        raise ValueError(f"gbit_per_s must be positive, got {gbit_per_s!r}")
    if not latency_s >= 0:
        raise ValueError(f"latency_s must be >= 0, got {latency_s!r}")
    p = int(nodes)
    bandwidth = gbit_per_s * 1e9 / 8  # bytes per second
    return 2 * (p - 1) / p * nbytes / bandwidth + 2 * (p - 1) * latency_s


def project(compute_s: float, nbytes: float, nodes: int, network: Network) -> tuple[float, float, float]:
    """``(all-reduce s, step s, efficiency)`` at ``nodes`` nodes: ``step = compute + all-reduce``."""
    if not compute_s > 0:
        raise ValueError(f"compute_s must be positive, got {compute_s!r}")
    allreduce = ring_allreduce_seconds(nbytes, nodes, network.gbit_per_s, network.latency_us * 1e-6)
    step = compute_s + allreduce
    return allreduce, step, compute_s / step
