"""Gradient rules by op family; importing registers them."""

from . import conv, elemwise, index, linalg, nn, reduce, scan, shape  # noqa: F401
