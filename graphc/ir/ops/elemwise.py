"""Elementwise ops: unary math, binary arithmetic with numpy broadcasting,
comparisons, logic, ``where`` and ``cast``.

Binary ops take operands of one dtype (the tensor API inserts the casts that
its promotion rule calls for), so their ONNX lowering is direct.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..registry import register_op
from ..types import TensorType, as_dtype, broadcast_shapes

FLOATS = ("float16", "float32", "float64")
INTS = ("int8", "uint8", "int16", "int32", "int64")
NUMBERS = INTS + FLOATS


def _check_dtype(op: str, t: TensorType, allowed: tuple[str, ...], what: str = "input") -> None:
    if t.dtype not in allowed:
        raise TypeError(f"{op}: {what} has dtype {t.dtype}, expected one of {', '.join(allowed)}")


def _unary_infer(op: str, allowed: tuple[str, ...], out_dtype: str | None = None) -> Callable[..., list[TensorType]]:
    def infer(types: list[TensorType]) -> list[TensorType]:
        (t,) = types
        _check_dtype(op, t, allowed)
        return [TensorType(out_dtype or t.dtype, t.shape)]

    return infer


def _np_unary(fn: Callable[[np.ndarray], np.ndarray]) -> Callable[..., list[np.ndarray]]:
    def ev(xs: list[np.ndarray]) -> list[np.ndarray]:
        x = xs[0]
        with np.errstate(all="ignore"):
            return [np.asarray(fn(x)).astype(x.dtype, copy=False)]

    return ev


def _sigmoid(x: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


UNARY: dict[str, tuple[Callable[[np.ndarray], np.ndarray], tuple[str, ...], str]] = {
    "neg": (np.negative, NUMBERS, "-x"),
    "abs": (np.abs, NUMBERS, "|x|"),
    "sign": (np.sign, NUMBERS, "sign of x (-1, 0, 1)"),
    "exp": (np.exp, FLOATS, "e**x"),
    "log": (np.log, FLOATS, "natural logarithm"),
    "log1p": (np.log1p, FLOATS, "log(1 + x), accurate for small x"),
    "sqrt": (np.sqrt, FLOATS, "square root"),
    "tanh": (np.tanh, FLOATS, "hyperbolic tangent"),
    "sigmoid": (_sigmoid, FLOATS, "logistic sigmoid 1 / (1 + exp(-x))"),
    "softplus": (lambda x: np.logaddexp(0, x), FLOATS, "log(1 + exp(x))"),
    "relu": (lambda x: np.maximum(x, 0), NUMBERS, "max(x, 0)"),
    "floor": (np.floor, FLOATS, "round down"),
    "ceil": (np.ceil, FLOATS, "round up"),
    "round": (np.round, FLOATS, "round half to even (numpy's rule)"),
    "sin": (np.sin, FLOATS, "sine"),
    "cos": (np.cos, FLOATS, "cosine"),
    "erf": (None, FLOATS, "error function"),  # eval set below
    "reciprocal": (np.reciprocal, FLOATS, "1 / x"),
}


def _erf(x: np.ndarray) -> np.ndarray:
    # numpy has no erf; math.erf elementwise is exact to double precision.
    import math

    flat = np.array([math.erf(float(v)) for v in x.ravel()], dtype=np.float64)
    return flat.reshape(x.shape)


for _name, (_fn, _allowed, _doc) in UNARY.items():
    register_op(
        _name,
        infer=_unary_infer(_name, _allowed),
        eval=_np_unary(_erf if _name == "erf" else _fn),
        arity=1,
        doc=_doc,
    )

register_op(
    "logical_not",
    infer=_unary_infer("logical_not", ("bool",)),
    eval=lambda xs: [np.logical_not(xs[0])],
    arity=1,
    doc="boolean not",
)


def _binary_infer(op: str, allowed: tuple[str, ...], out_dtype: str | None = None) -> Callable[..., list[TensorType]]:
    def infer(types: list[TensorType]) -> list[TensorType]:
        a, b = types
        if a.dtype != b.dtype:
            raise TypeError(f"{op}: operand dtypes differ ({a.dtype} and {b.dtype}); cast one first")
        _check_dtype(op, a, allowed, "operands")
        shape = broadcast_shapes(a.shape, b.shape, what=f"operands of {op}")
        return [TensorType(out_dtype or a.dtype, shape)]

    return infer


def _np_binary(fn: Callable[[np.ndarray, np.ndarray], np.ndarray], keep_dtype: bool = True) -> Callable[..., Any]:
    def ev(xs: list[np.ndarray]) -> list[np.ndarray]:
        a, b = xs
        with np.errstate(all="ignore"):
            out = np.asarray(fn(a, b))
        return [out.astype(a.dtype, copy=False) if keep_dtype else out]

    return ev


def _shift_value(op: Callable[[int, int], int]) -> Callable[..., Any]:
    """Known-value rule for integer arithmetic on shape scalars."""

    def value(values: list[Any], types: list[TensorType]) -> Any:
        a, b = values
        if any(t.ndim != 0 for t in types) or not isinstance(a, int) or not isinstance(b, int):
            return None
        if isinstance(a, bool) or isinstance(b, bool):
            return None
        try:
            return op(a, b)
        except ZeroDivisionError:
            return None

    return value


def _dim_mul(values: list[Any], types: list[TensorType]) -> Any:
    from ..types import dim_product

    a, b = values
    if any(t.ndim != 0 for t in types) or a is None or b is None:
        return None
    return dim_product([a, b])


BINARY: dict[str, tuple[Callable[..., Any], tuple[str, ...], str | None, Any, str]] = {
    "add": (np.add, NUMBERS, None, _shift_value(lambda a, b: a + b), "a + b"),
    "sub": (np.subtract, NUMBERS, None, _shift_value(lambda a, b: a - b), "a - b"),
    "mul": (np.multiply, NUMBERS, None, _dim_mul, "a * b"),
    "div": (np.true_divide, FLOATS, None, None, "a / b (floating point)"),
    "floor_div": (np.floor_divide, NUMBERS, None, _shift_value(lambda a, b: a // b), "numpy's a // b"),
    "mod": (np.mod, NUMBERS, None, _shift_value(lambda a, b: a % b), "numpy's a % b (sign of b)"),
    "pow": (np.power, NUMBERS, None, None, "a ** b"),
    "maximum": (np.maximum, NUMBERS, None, None, "elementwise maximum"),
    "minimum": (np.minimum, NUMBERS, None, None, "elementwise minimum"),
    "eq": (np.equal, NUMBERS + ("bool",), "bool", None, "a == b"),
    "neq": (np.not_equal, NUMBERS + ("bool",), "bool", None, "a != b"),
    "lt": (np.less, NUMBERS, "bool", None, "a < b"),
    "le": (np.less_equal, NUMBERS, "bool", None, "a <= b"),
    "gt": (np.greater, NUMBERS, "bool", None, "a > b"),
    "ge": (np.greater_equal, NUMBERS, "bool", None, "a >= b"),
    "logical_and": (np.logical_and, ("bool",), None, None, "boolean and"),
    "logical_or": (np.logical_or, ("bool",), None, None, "boolean or"),
    "logical_xor": (np.logical_xor, ("bool",), None, None, "boolean xor"),
}

for _name, (_fn, _allowed, _out, _value, _doc) in BINARY.items():
    register_op(
        _name,
        infer=_binary_infer(_name, _allowed, _out),
        eval=_np_binary(_fn, keep_dtype=_out is None),
        arity=2,
        value=_value,
        doc=_doc,
    )


def _where_infer(types: list[TensorType]) -> list[TensorType]:
    c, a, b = types
    if c.dtype != "bool":
        raise TypeError(f"where: condition has dtype {c.dtype}, expected bool")
    if a.dtype != b.dtype:
        raise TypeError(f"where: branch dtypes differ ({a.dtype} and {b.dtype})")
    return [TensorType(a.dtype, broadcast_shapes(c.shape, a.shape, b.shape, what="operands of where"))]


register_op(
    "where",
    infer=_where_infer,
    eval=lambda xs: [np.where(xs[0], xs[1], xs[2])],
    arity=3,
    doc="cond ? a : b, broadcasting",
)


def _cast_infer(types: list[TensorType], dtype: str) -> list[TensorType]:
    return [TensorType(as_dtype(dtype), types[0].shape)]


def _cast_eval(xs: list[np.ndarray], dtype: str) -> list[np.ndarray]:
    with np.errstate(all="ignore"):
        return [xs[0].astype(dtype)]


def _cast_value(values: list[Any], types: list[TensorType], dtype: str) -> Any:
    return values[0] if np.dtype(dtype).kind in "iu" and types[0].dtype.startswith("int") else None


register_op("cast", infer=_cast_infer, eval=_cast_eval, arity=1, value=_cast_value, doc="convert to `dtype`")


def _grad_clip_infer(types: list[TensorType], lo: float, hi: float) -> list[TensorType]:
    (t,) = types
    _check_dtype("grad_clip", t, FLOATS)
    if not lo <= hi:
        raise ValueError(f"grad_clip: need lo <= hi, got ({lo}, {hi})")
    return [t]


register_op(
    "grad_clip",
    infer=_grad_clip_infer,
    eval=lambda xs, lo, hi: [xs[0]],
    arity=1,
    doc="identity forward; the gradient flowing back through it is clipped to [lo, hi]",
)
