"""theanets' ``Experiment`` (upstream's ``theanets.main``): a network with its training and saving."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from .graph import Network

__all__ = ["Experiment"]


class Experiment:
    """Build (or load) a network and train, save and load it.

    Parameters
    ----------
    network : type or str or path
        A :class:`~graphc.theanets.graph.Network` subclass (``theanets.Regressor``...),
        built with ``*args, **kwargs``; or the path of a saved model, loaded.
    *args, **kwargs
        The network's arguments (``layers=[...]``, ``loss=...``).

    Attributes
    ----------
    network : Network

    Raises
    ------
    TypeError
        If ``network`` is neither a Network class nor a path.
    """

    def __init__(self, network: Any, *args: Any, **kwargs: Any) -> None:
        if isinstance(network, (str, os.PathLike)):
            self.load(network)
        elif isinstance(network, type) and issubclass(network, Network):
            self.network = network(*args, **kwargs)
        else:
            raise TypeError(
                f"Experiment: network must be a theanets Network class (such as theanets.Regressor) or the path "
                f"of a saved model, got {network!r}"
            )

    def train(self, *args: Any, **kwargs: Any) -> tuple[dict[str, float], dict[str, float]]:
        """Train the network (:meth:`Network.train`); returns the last training and validation monitors."""
        return self.network.train(*args, **kwargs)

    def itertrain(self, *args: Any, **kwargs: Any) -> Iterator[tuple[dict[str, float], dict[str, float]]]:
        """Train the network one step at a time (:meth:`Network.itertrain`)."""
        return self.network.itertrain(*args, **kwargs)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Save the network to ``path`` (:meth:`Network.save`)."""
        self.network.save(path)

    def load(self, path: str | os.PathLike[str]) -> Network:
        """Load a saved network into this experiment and return it."""
        self.network = Network.load(path)
        return self.network
