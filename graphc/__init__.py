"""graphc: a graph compiler for neural networks, from Lasagne/Theano-style code to ONNX.

``import graphc as theano`` gives ``theano.function`` and ``theano.shared``;
``import graphc.tensor as T`` gives the symbolic tensor API.
"""

__version__ = "0.1.0"

# ``import graphc as theanets`` gives theanets.Layer (the theanets base) and the models
from . import (  # noqa: E402
    export,
    init,
    layers,
    losses,
    nonlinearities,
    objectives,
    random,
    regularization,
    regularizers,
    tensor,
    updates,
    utils,
)
from .config import config  # noqa: E402
from .ir.build import MissingInputError  # noqa: E402
from .layers.theanets_base import ConfigurationError, Layer  # noqa: E402
from .models import Autoencoder, Classifier, Network, Regressor  # noqa: E402
from .runtime import Function, UnusedInputError, function  # noqa: E402
from .tensor.scan import scan  # noqa: E402
from .tensor.shared import SharedVariable, shared  # noqa: E402
from .train import DisconnectedInputError, grad  # noqa: E402

__all__ = [
    "__version__",
    "config",
    "export",
    "function",
    "Function",
    "MissingInputError",
    "UnusedInputError",
    "scan",
    "grad",
    "DisconnectedInputError",
    "shared",
    "SharedVariable",
    "tensor",
    "init",
    "layers",
    "nonlinearities",
    "random",
    "utils",
    "losses",
    "objectives",
    "regularization",
    "regularizers",
    "updates",
    "ConfigurationError",
    "Layer",
    "Network",
    "Regressor",
    "Classifier",
    "Autoencoder",
]
