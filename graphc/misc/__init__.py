"""Theano's ``theano.misc``: :mod:`.pkl_utils` (zip archives of pickles with arrays beside)."""

from . import pkl_utils

__all__ = ["pkl_utils"]
