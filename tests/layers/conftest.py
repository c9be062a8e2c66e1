"""Shared helpers for layer tests: compile and run, and the onnx.reference oracle."""

from __future__ import annotations

import numpy as np
import pytest

import graphc
from graphc.export import to_onnx
from graphc.testing import reference_evaluator as ReferenceEvaluator  # onnx.reference with a stacking Loop


def run_layer(layer, *arrays, inputs=None, **kwargs):
    """Output of ``layer`` for ``arrays`` fed to its network's InputLayers (in ``inputs`` order),
    through graphc.function (ONNX Runtime) and through onnx.reference; both returned."""
    in_layers = inputs or [lyr for lyr in graphc.layers.get_all_layers(layer) if isinstance(lyr, graphc.layers.InputLayer)]
    out = graphc.layers.get_output(layer, **kwargs)
    variables = [lyr.input_var for lyr in in_layers]
    ort_out = graphc.function(variables, out)(*arrays)
    model = to_onnx({"y": out}, variables)
    feeds = {inp.name: np.asarray(a, dtype=v.dtype) for inp, a, v in zip(model.graph.input, arrays, variables)}
    ref_out = ReferenceEvaluator(model).run(None, feeds)[0]
    return ort_out, ref_out


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
