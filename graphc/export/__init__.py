"""``graphc.export``: graphs to ONNX models (``to_onnx``), and ``save``/``load``."""

from .io import load, save
from .model import DEFAULT_OPSET, SUPPORTED_OPSETS, graph_to_onnx, to_onnx
from .training import TrainingStages, load_training_state, save_training, training_model

__all__ = [
    "to_onnx",
    "graph_to_onnx",
    "save",
    "load",
    "training_model",
    "save_training",
    "load_training_state",
    "TrainingStages",
    "DEFAULT_OPSET",
    "SUPPORTED_OPSETS",
]
