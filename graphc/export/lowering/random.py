"""Lowerings of the random ops: ``ConstantOfShape`` then ``Random*Like``.

The ``*Like`` forms take their shape from a tensor, so sample shapes may be
symbolic (a batch size known only at run time).
"""

from __future__ import annotations

import numpy as np
from onnx import numpy_helper

from ..context import LoweringContext, LowerNode, lowering, onnx_dtype


@lowering("random_uniform", "random_normal")
def _random(ctx: LoweringContext, n: LowerNode) -> list[str]:
    dt = n.attrs["dtype"]
    zeros = ctx.op(
        "ConstantOfShape", n.inputs[0], name=n.name, value=numpy_helper.from_array(np.zeros(1, dtype=dt))
    )
    seed = float(n.attrs["seed"])
    if n.op == "random_uniform":
        out = ctx.op(
            "RandomUniformLike", zeros, name=n.name, dtype=onnx_dtype(dt),
            low=float(n.attrs["low"]), high=float(n.attrs["high"]), seed=seed,
        )
    else:
        out = ctx.op(
            "RandomNormalLike", zeros, name=n.name, dtype=onnx_dtype(dt),
            mean=float(n.attrs["mean"]), scale=float(n.attrs["scale"]), seed=seed,
        )
    return [out]
