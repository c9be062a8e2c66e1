"""ONNX lowerings of the IR ops, one module per op family; importing registers them."""

from . import elemwise, index, nn, random, reduce, shape  # noqa: F401
from . import scan  # noqa: F401  (loops)
