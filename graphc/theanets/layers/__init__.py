"""theanets' layers (upstream's ``theanets.layers``): the :class:`Layer` base and its catalog.

``Layer.build('lstm', size=10, inputs='in')`` (or a network's compact specs) makes a
layer by its registered form name; the modules mirror upstream's: :mod:`.base`,
:mod:`.feedforward`, :mod:`.convolution`, :mod:`.recurrent`.
"""

from . import base, convolution, feedforward, recurrent
from .base import ConfigurationError, Layer
from .convolution import Conv1, Conv2, Pool1, Pool2
from .feedforward import Classifier, Concatenate, Feedforward, Flatten, Input, Product, Reshape, Tied
from .recurrent import GRU, LSTM, MRNN, MUT1, RNN, RRNN, SCRN, Bidirectional, Clockwork, Recurrent

__all__ = [
    "base",
    "feedforward",
    "convolution",
    "recurrent",
    "Layer",
    "ConfigurationError",
    "Input",
    "Concatenate",
    "Flatten",
    "Product",
    "Reshape",
    "Feedforward",
    "Classifier",
    "Tied",
    "Conv1",
    "Conv2",
    "Pool1",
    "Pool2",
    "Recurrent",
    "RNN",
    "RRNN",
    "MUT1",
    "GRU",
    "LSTM",
    "MRNN",
    "SCRN",
    "Clockwork",
    "Bidirectional",
]
