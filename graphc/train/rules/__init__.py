"""Gradient rules by op family; importing registers them."""

from . import collective, conv, elemwise, index, linalg, nn, reduce, rnn, scan, shape  # noqa: F401
