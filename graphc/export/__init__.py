"""``graphc.export``: graphs to ONNX models (``to_onnx``), and ``save``/``load``."""

from .io import load, save
from .model import DEFAULT_OPSET, SUPPORTED_OPSETS, graph_to_onnx, to_onnx

__all__ = ["to_onnx", "graph_to_onnx", "save", "load", "DEFAULT_OPSET", "SUPPORTED_OPSETS"]
