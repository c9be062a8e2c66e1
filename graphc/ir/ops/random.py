"""Random sampling ops.  They are impure: passes never merge or fold them.

Each op takes a shape vector and carries an integer ``seed``; ONNX Runtime's
generators are seeded once per session and advance on every run, so repeated
calls draw fresh samples and a fresh session repeats the sequence.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..registry import register_op
from ..types import TensorType
from .elemwise import FLOATS
from .shape import _dims_from_vector


def _random_infer(op: str):  # type: ignore[no-untyped-def]
    def infer(types: list[TensorType], values: list[Any], dtype: str, seed: int, **params: float) -> list[TensorType]:
        if dtype not in FLOATS:
            raise TypeError(f"{op}: dtype must be a float type, got {dtype}")
        return [TensorType(dtype, _dims_from_vector(op, types[0], values[0]))]

    return infer


_GENERATORS: dict[tuple[str, int], np.random.Generator] = {}


def _rng(op: str, seed: int) -> np.random.Generator:
    key = (op, seed)
    if key not in _GENERATORS:
        _GENERATORS[key] = np.random.default_rng(seed)
    return _GENERATORS[key]


def _uniform_eval(xs: list[np.ndarray], dtype: str, seed: int, low: float, high: float) -> list[np.ndarray]:
    shape = tuple(int(v) for v in xs[0])
    return [_rng("random_uniform", seed).uniform(low, high, size=shape).astype(dtype)]


def _normal_eval(xs: list[np.ndarray], dtype: str, seed: int, mean: float, scale: float) -> list[np.ndarray]:
    shape = tuple(int(v) for v in xs[0])
    return [_rng("random_normal", seed).normal(mean, scale, size=shape).astype(dtype)]


register_op(
    "random_uniform",
    infer=_random_infer("random_uniform"),
    eval=_uniform_eval,
    arity=1,
    pure=False,
    uses_values=True,
    doc="samples from U[low, high)",
)
register_op(
    "random_normal",
    infer=_random_infer("random_normal"),
    eval=_normal_eval,
    arity=1,
    pure=False,
    uses_values=True,
    doc="samples from N(mean, scale**2)",
)
