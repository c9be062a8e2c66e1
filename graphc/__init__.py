"""graphc: a graph compiler for neural networks, from Lasagne/Theano-style code to ONNX."""

__version__ = "0.1.0"

from . import tensor  # noqa: E402
from .config import config  # noqa: E402
from .tensor.shared import shared  # noqa: E402

__all__ = ["__version__", "config", "shared", "tensor"]
