"""ONNX lowerings of the IR ops, one module per op family; importing registers them."""

from . import conv, elemwise, index, nn, pool, random, reduce, scan, shape  # noqa: F401
from . import rnn  # noqa: F401  (native recurrent ops)
