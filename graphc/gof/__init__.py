"""``theano.gof``: the graph classes (``Variable``, ``Constant``, ``Apply``) and :mod:`graphc.gof.graph`."""

from ..tensor.variable import Apply, TensorConstant, Variable
from . import graph

Constant = TensorConstant

__all__ = ["Variable", "Constant", "Apply", "graph"]
