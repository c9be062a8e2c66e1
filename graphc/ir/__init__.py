"""The intermediate representation: types, the op registry, graphs, evaluation and verification."""

from . import ops  # noqa: F401  (registers the standard ops)
from .graph import Graph, NodeData
from .registry import OPS, OpDef, all_ops, get_op, register_op
from .types import Dim, TensorType

__all__ = ["Graph", "NodeData", "OPS", "OpDef", "all_ops", "get_op", "register_op", "Dim", "TensorType"]
