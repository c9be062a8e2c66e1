"""ONNX lowerings of the IR ops, one module per op family; importing registers them."""

from . import collective, conv, elemwise, index, nn, pool, random, reduce, rnn, scan, shape  # noqa: F401
