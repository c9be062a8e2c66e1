"""Dtypes ONNX Runtime's CPU provider has no kernel for, and what to compute in instead.

The ONNX spec lets some ops take types that ONNX Runtime does not implement
(and some ops' type constraints leave out types graphc supports).  Lowerings
pass the data dtype to :meth:`LoweringContext.node`, which casts the data
inputs to a dtype that has a kernel, runs the op, and casts the result back.
Integer widenings are exact (results wrap back as numpy's do); ``Erf`` in
float64 is computed in float32 (about 1e-7 relative error), as ONNX Runtime
ships no float64 ``Erf``.  ``tests/export/test_kernels.py`` probes ONNX
Runtime to keep this table honest.
"""

from __future__ import annotations

_SMALL_INTS = {"int8": "int32", "uint8": "int32", "int16": "int32"}

#: ONNX op -> {dtype without a kernel: dtype to compute in}
WIDEN: dict[str, dict[str, str]] = {
    "Neg": {"uint8": "int32"},
    "Erf": {"float64": "float32"},
    "Pow": dict(_SMALL_INTS),
    "Max": {"int16": "int32"},
    "Min": {"int16": "int32"},
    "Where": {"bool": "uint8", "int16": "int32"},
    "ReduceSum": dict(_SMALL_INTS),
    "ReduceProd": dict(_SMALL_INTS),
    "ReduceMax": {"int16": "int32"},
    "ReduceMin": {"int16": "int32"},
    "ArgMax": {"int16": "int32"},
    "ArgMin": {"int16": "int32"},
    "Range": {"int8": "int32", "uint8": "int32"},
}

#: input positions that carry the data dtype (default: all inputs)
DATA_INPUTS: dict[str, tuple[int, ...]] = {
    "Where": (1, 2),
    "ReduceSum": (0,),
    "ReduceProd": (0,),
    "ReduceMax": (0,),
    "ReduceMin": (0,),
    "ArgMax": (0,),
    "ArgMin": (0,),
}

#: ops whose outputs are not of the data dtype, so nothing is cast back
INDEX_OUTPUTS = frozenset({"ArgMax", "ArgMin"})


def compute_dtype(op_type: str, dtype: str | None) -> str | None:
    """The dtype to run ``op_type`` in when ``dtype`` has no kernel, else None."""
    if dtype is None:
        return None
    return WIDEN.get(op_type, {}).get(dtype)
