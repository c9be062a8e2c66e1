"""``theano.sandbox.rng_mrg``: ``MRG_RandomStreams`` (graphc's random streams)."""

from ..tensor.random import MRG_RandomStreams

__all__ = ["MRG_RandomStreams"]
