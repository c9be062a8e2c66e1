"""graphc: a graph compiler for neural networks, from Lasagne/Theano-style code to ONNX.

``import graphc as theano`` gives ``theano.function`` and ``theano.shared``;
``import graphc.tensor as T`` gives the symbolic tensor API.
"""

__version__ = "0.1.0"

# theanets is its own package: ``from graphc import theanets``
from . import (  # noqa: E402
    export,
    init,
    layers,
    nonlinearities,
    objectives,
    random,
    regularization,
    scan_module,
    tensor,
    theano_extensions,
    updates,
    utils,
)
from .config import config  # noqa: E402
from .ir.build import MissingInputError  # noqa: E402
from .runtime import Function, UnusedInputError, function  # noqa: E402
from .runtime.inputs_spec import In, Out, Param  # noqa: E402
from .scan_module import foldl, foldr, map, reduce  # noqa: E402, A004 - Theano's theano.map, theano.reduce
from .tensor.scan import scan  # noqa: E402
from .tensor.shared import SharedVariable, shared  # noqa: E402
from .train import DisconnectedInputError, grad  # noqa: E402

# isort: split
# Theano's other modules and top-level names (theano.printing, theano.clone, theano.Mode, theano.Rop ...)
from . import compile, gof, gradient, ifelse, misc, printing, sandbox  # noqa: E402, A004
from .compile.mode import Mode  # noqa: E402
from .gradient import Lop, Rop  # noqa: E402
from .printing import pp, pprint  # noqa: E402
from .tensor.clone import clone  # noqa: E402
from .tensor.linalg import dot  # noqa: E402  (theano.dot)
from .tensor.variable import Variable  # noqa: E402

__all__ = [
    "__version__",
    "config",
    "export",
    "function",
    "In",
    "Function",
    "MissingInputError",
    "UnusedInputError",
    "scan",
    "scan_module",
    "map",
    "reduce",
    "foldl",
    "foldr",
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
    "objectives",
    "regularization",
    "updates",
]
__all__ += ["Out", "Param", "dot", "misc", "compile", "gof", "gradient", "ifelse", "printing", "sandbox", "Mode", "Lop", "Rop", "pp", "pprint", "clone", "Variable"]
