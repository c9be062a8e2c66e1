"""Which trainer an ``algo`` name asks for: theanets' pretrainers or the optimizer loop.

Kept apart from :mod:`.trainer` and :mod:`._pretrain` (the pretrainers run the optimizer
loop for each stage), so that neither imports the other's user.
"""

from __future__ import annotations

from typing import Any

from ._pretrain import pretrainer_class
from .trainer import Trainer

__all__ = ["make_trainer"]


def make_trainer(network: Any, algo: str = "rmsprop", **kwargs: Any) -> Any:
    """The trainer for ``algo``: a pretrainer (``'layerwise'``, ``'pretrain'``, ``'sample'``...) or a :class:`Trainer`.

    Parameters
    ----------
    network : Network
    algo : str
    **kwargs
        The trainer's options (``subalgo`` for the pretrainers' stages).

    Returns
    -------
    Trainer or a pretrainer
    """
    special = pretrainer_class(algo)
    if special is not None:
        return special(network, algo, **kwargs)
    kwargs.pop("subalgo", None)  # only the pretrainers' stages use it
    return Trainer(network, algo, **kwargs)
