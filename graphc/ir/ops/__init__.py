"""The standard ops; importing this package registers them all."""

from . import conv, elemwise, index, linalg, nn, pool, random, reduce, scan, shape  # noqa: F401
