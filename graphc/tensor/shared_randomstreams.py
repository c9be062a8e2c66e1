"""Theano's module path for :class:`RandomStreams` (``T.shared_randomstreams.RandomStreams``)."""

from .random import MRG_RandomStreams, RandomStreams

__all__ = ["RandomStreams", "MRG_RandomStreams"]
