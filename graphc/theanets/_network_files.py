"""A theanets :class:`~graphc.theanets.graph.Network`'s files: its model file (``save``/``load``) and its
ONNX export (``to_onnx``/``export``), a mixin of the network."""

from __future__ import annotations

import os
from typing import Any

import onnx

from ..export.model import DEFAULT_OPSET

__all__ = ["NetworkFiles"]


class NetworkFiles:
    """Model-file and ONNX methods of :class:`~graphc.theanets.graph.Network`."""

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the model to ``path`` (an ``.npz``: parameter arrays and a JSON description; no pickle).

        The write is atomic: ``path`` holds the old or the new model, never half of one.
        Under MPI (``graphc.distributed.size() > 1``) every rank calls it and rank 0
        alone writes, the others waiting until the file is complete (and raising
        ``RuntimeError`` when rank 0 failed).

        Raises
        ------
        TypeError
            If a layer option cannot be written as JSON (naming the layer).
        ValueError
            If a parameter holds NaN or infinite values (nothing is written).
        """
        from ._distributed import save_on_root
        from ._model_io import save_model

        save_on_root(lambda: save_model(self, path))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Any:
        """Read a model written by :meth:`save`.

        Custom layer classes must be defined (registered) before loading.

        Raises
        ------
        FileNotFoundError
            For a path with no file.
        ValueError
            Naming the file: damaged, not a graphc model, a bad description or array,
            over the memory budget, or an unregistered layer form (checked first).
        """
        from ._model_io import load_model

        return load_model(cls, path)

    def to_onnx(self, outputs: Any = None, opset: int = DEFAULT_OPSET) -> onnx.ModelProto:
        """The model as ONNX (parameters as initializers, dynamic batch size).

        Parameters
        ----------
        outputs : str, sequence of str or 'all', optional
            Output names (``'hid1:out'``, or a layer name); default the network output.
        opset : int

        Returns
        -------
        onnx.ModelProto
            Inputs named after the input layers, outputs ``'<layer>:<output>'``.
        """
        from ..export.model import to_onnx

        graph = self._outputs()
        if outputs is None:
            names = [self.layers[-1].output_name]
        elif outputs == "all":
            names = list(graph)
        else:
            names = [self._output_key(o) for o in ([outputs] if isinstance(outputs, str) else outputs)]
        return to_onnx({n: graph[n] for n in names}, self.inputs, opset=opset, name=type(self).__name__)

    def export(self, path: str | os.PathLike[str], outputs: Any = None, opset: int = DEFAULT_OPSET) -> onnx.ModelProto:
        """Write :meth:`to_onnx`'s model to ``path`` (atomically) and return it."""
        from ..export.io import save

        model = self.to_onnx(outputs, opset=opset)
        save(model, path)
        return model
