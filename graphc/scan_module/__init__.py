"""Theano's ``theano.scan_module``: ``scan``, ``until`` and the views ``map``, ``reduce``, ``foldl``, ``foldr``.

``import graphc as theano`` then ``theano.scan_module.until(cond)`` (or
``from theano.scan_module import until``) works as in Theano.
"""

from .scan import scan
from .scan_utils import clone, until
from .scan_views import foldl, foldr, map, reduce  # noqa: A004 - Theano's names

__all__ = ["scan", "until", "clone", "map", "reduce", "foldl", "foldr"]
