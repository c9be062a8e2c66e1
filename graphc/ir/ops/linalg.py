"""Matrix product with numpy ``matmul`` semantics (1-d operands promoted,
leading axes broadcast)."""

from __future__ import annotations

import numpy as np

from ..registry import register_op
from ..types import TensorType, broadcast_shapes, format_shape
from .elemwise import NUMBERS


def _matmul_infer(types: list[TensorType]) -> list[TensorType]:
    a, b = types
    if a.dtype != b.dtype:
        raise TypeError(f"matmul: operand dtypes differ ({a.dtype} and {b.dtype}); cast one first")
    if a.dtype not in NUMBERS or a.dtype in ("int8", "uint8", "int16"):
        raise TypeError(f"matmul: dtype {a.dtype} is not supported")
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: operands must have at least 1 dim, got {format_shape(a.shape)} and {format_shape(b.shape)}")
    ash = a.shape if a.ndim > 1 else (1,) + a.shape
    bsh = b.shape if b.ndim > 1 else b.shape + (1,)
    k1, k2 = ash[-1], bsh[-2]
    if isinstance(k1, int) and isinstance(k2, int) and k1 != k2:
        raise ValueError(
            f"matmul: shapes {format_shape(a.shape)} and {format_shape(b.shape)} are not aligned: "
            f"{k1} (last axis of the first) != {k2} (second to last axis of the second)"
        )
    batch = broadcast_shapes(ash[:-2], bsh[:-2], what="batch axes of matmul")
    out = list(batch) + [ash[-2], bsh[-1]]
    if b.ndim == 1:
        out.pop(-1)
    if a.ndim == 1:
        out.pop(-2 if b.ndim > 1 else -1)
    return [TensorType(a.dtype, tuple(out))]


register_op(
    "matmul",
    infer=_matmul_infer,
    eval=lambda xs: [np.matmul(xs[0], xs[1])],
    arity=2,
    doc="numpy matmul",
)


