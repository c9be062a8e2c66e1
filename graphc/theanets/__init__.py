"""theanets on graphc: ``from graphc import theanets`` (``graphc legacy`` maps ``import theanets`` here).

The package mirrors upstream theanets' tree: :mod:`.graph` (:class:`Network`),
:mod:`.feedforward` (:class:`Regressor`, :class:`Classifier`, :class:`Autoencoder`),
:mod:`.recurrent` and :mod:`.convolution` (the same models on sequences and images),
:mod:`.layers` (the :class:`Layer` catalog), :mod:`.losses`, :mod:`.regularizers`,
:mod:`.activations`, :mod:`.trainer`, :mod:`.main` (:class:`Experiment`) and :mod:`.util`.
Networks compile with graphc and export to ONNX (:meth:`Network.to_onnx`).
"""

from . import activations, convolution, feedforward, graph, layers, losses, main, recurrent, regularizers, trainer, util
from .activations import Activation
from .feedforward import Autoencoder, Classifier, Regressor
from .graph import Network
from .layers import ConfigurationError, Layer
from .losses import Loss
from .main import Experiment
from .regularizers import Regularizer
from .util import log

__all__ = [
    "activations",
    "convolution",
    "feedforward",
    "graph",
    "layers",
    "losses",
    "main",
    "recurrent",
    "regularizers",
    "trainer",
    "util",
    "Activation",
    "Autoencoder",
    "Classifier",
    "ConfigurationError",
    "Experiment",
    "Layer",
    "Loss",
    "Network",
    "Regressor",
    "Regularizer",
    "log",
]
