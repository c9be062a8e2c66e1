"""ONNX lowerings of the IR ops, one module per op family; importing registers them."""

from . import conv, elemwise, index, nn, pool, random, reduce, scan, shape  # noqa: F401
