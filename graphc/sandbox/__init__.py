"""``theano.sandbox``: the parts graphc provides (:mod:`graphc.sandbox.rng_mrg`).

Theano's GPU back-ends under ``theano.sandbox`` (``cuda``, ``gpuarray``) are reached
through :mod:`graphc.compat` and report themselves absent.
"""

from . import rng_mrg

__all__ = ["rng_mrg"]
