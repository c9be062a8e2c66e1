"""The standard ops; importing this package registers them all."""

from . import collective, conv, elemwise, index, linalg, nn, pool, random, reduce, rnn, scan, shape  # noqa: F401
