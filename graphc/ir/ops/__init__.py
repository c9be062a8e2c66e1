"""The standard ops; importing this package registers them all."""

from . import conv, elemwise, index, linalg, nn, pool, random, reduce, scan, shape  # noqa: F401
from . import rnn  # noqa: F401  (native recurrent ops)
