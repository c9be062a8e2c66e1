"""The standard ops; importing this package registers them all."""

from . import elemwise, index, linalg, nn, random, reduce, shape  # noqa: F401
from . import scan  # noqa: F401  (loops)
