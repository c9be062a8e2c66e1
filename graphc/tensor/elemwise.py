"""Elementwise operations with numpy broadcasting and graphc's dtype rule.

Dtype rule: tensors promote as numpy within a kind (``int32 + int64 ->
int64``), a float tensor wins across kinds unchanged (``int32 + float32 ->
float32``), and Python scalars are weak: they take the tensor's dtype when
they fit its kind (``x_float32 * 2.5`` stays float32; ``i_int32 + 0.5`` is
``config.floatX``).
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from ..config import config
from ..ir.types import as_dtype, promote_dtypes
from .basic import as_tensor_variable, constant
from .variable import Variable, apply_op

__all__ = [
    "add",
    "sub",
    "mul",
    "true_div",
    "div",
    "floor_div",
    "int_div",
    "mod",
    "pow",
    "neg",
    "abs",
    "abs_",
    "sgn",
    "sign",
    "exp",
    "log",
    "log1p",
    "expm1",
    "sqrt",
    "sqr",
    "tanh",
    "sigmoid",
    "softplus",
    "relu",
    "floor",
    "ceil",
    "round",
    "sin",
    "cos",
    "erf",
    "inv",
    "reciprocal",
    "maximum",
    "minimum",
    "clip",
    "eq",
    "neq",
    "lt",
    "le",
    "gt",
    "ge",
    "and_",
    "or_",
    "xor",
    "invert",
    "switch",
    "where",
    "cast",
    "grad_clip",
]


def _is_weak(x: Any) -> bool:
    return isinstance(x, (bool, int, float)) and not isinstance(x, Variable)


def _weak_dtype(value: Any, other: str) -> str:
    kind = np.dtype(other).kind
    if isinstance(value, bool):
        return other
    if isinstance(value, int):
        return other if kind in "iuf" else "int64"
    return other if kind == "f" else config.floatX


def cast(x: Any, dtype: Any) -> Variable:
    """Convert to ``dtype`` (a no-op when it already has it)."""
    v = as_tensor_variable(x)
    dt = as_dtype(dtype)
    if v.dtype == dt:
        return v
    return apply_op("cast", [v], dtype=dt)  # type: ignore[return-value]


def _operands(*xs: Any, floats: bool = False) -> list[Variable]:
    """Convert operands to variables of one dtype (floatX at least when ``floats``)."""
    strong = [x for x in xs if not _is_weak(x)]
    if strong:
        tensors = [as_tensor_variable(x) for x in strong]
        dtype = promote_dtypes(*(t.dtype for t in tensors))
        if builtins.any(isinstance(x, float) for x in xs if _is_weak(x)) and np.dtype(dtype).kind != "f":
            dtype = config.floatX
        elif builtins.any(isinstance(x, int) and not isinstance(x, bool) for x in xs if _is_weak(x)) and dtype == "bool":
            dtype = "int64"
    else:
        dtype = constant(xs[0]).dtype if len(xs) == 1 else promote_dtypes(*(constant(x).dtype for x in xs))
    if floats and np.dtype(dtype).kind != "f":
        dtype = config.floatX
    out = []
    for x in xs:
        if _is_weak(x):
            out.append(constant(x, dtype=_weak_dtype(x, dtype) if strong else dtype))
        else:
            out.append(as_tensor_variable(x))
    return [cast(v, dtype) for v in out]


def _binary(op: str, a: Any, b: Any, floats: bool = False) -> Variable:
    x, y = _operands(a, b, floats=floats)
    return apply_op(op, [x, y])  # type: ignore[return-value]


def _unary(op: str, x: Any, floats: bool = False) -> Variable:
    (v,) = _operands(x, floats=floats)
    return apply_op(op, [v])  # type: ignore[return-value]


def add(a: Any, b: Any) -> Variable:
    """``a + b`` with broadcasting."""
    return _binary("add", a, b)


def sub(a: Any, b: Any) -> Variable:
    """``a - b`` with broadcasting."""
    return _binary("sub", a, b)


def mul(a: Any, b: Any) -> Variable:
    """``a * b`` with broadcasting."""
    return _binary("mul", a, b)


def true_div(a: Any, b: Any) -> Variable:
    """``a / b``; integer operands are converted to ``config.floatX`` first."""
    return _binary("div", a, b, floats=True)


div = true_div


def floor_div(a: Any, b: Any) -> Variable:
    """``a // b`` with numpy's rounding (towards minus infinity)."""
    return _binary("floor_div", a, b)


int_div = floor_div


def mod(a: Any, b: Any) -> Variable:
    """``a % b`` with numpy's sign rule (the result has the sign of ``b``)."""
    return _binary("mod", a, b)


def pow(a: Any, b: Any) -> Variable:  # noqa: A001  (Theano's name)
    """``a ** b``.  A Python int exponent on a float tensor keeps its dtype."""
    return _binary("pow", a, b)


def neg(x: Any) -> Variable:
    """``-x``."""
    return _unary("neg", x)


def abs(x: Any) -> Variable:  # noqa: A001  (Theano's name)
    """``|x|``."""
    return _unary("abs", x)


abs_ = abs


def sign(x: Any) -> Variable:
    """-1, 0 or 1 by the sign of ``x``."""
    return _unary("sign", x)


sgn = sign


def _float_unary(op: str, doc: str):  # type: ignore[no-untyped-def]
    def fn(x: Any) -> Variable:
        return _unary(op, x, floats=True)

    fn.__name__ = op
    fn.__doc__ = f"{doc} (int inputs are converted to ``config.floatX``)."
    return fn


exp = _float_unary("exp", "Elementwise ``e**x``")
log = _float_unary("log", "Elementwise natural logarithm")
log1p = _float_unary("log1p", "Elementwise ``log(1 + x)``, accurate for small x")
sqrt = _float_unary("sqrt", "Elementwise square root")
tanh = _float_unary("tanh", "Elementwise hyperbolic tangent")
sigmoid = _float_unary("sigmoid", "Elementwise logistic sigmoid ``1 / (1 + exp(-x))``")
softplus = _float_unary("softplus", "Elementwise ``log(1 + exp(x))``")
floor = _float_unary("floor", "Round down")
ceil = _float_unary("ceil", "Round up")
round = _float_unary("round", "Round half to even, as numpy")  # noqa: A001
sin = _float_unary("sin", "Elementwise sine")
cos = _float_unary("cos", "Elementwise cosine")
erf = _float_unary("erf", "Elementwise error function")
reciprocal = _float_unary("reciprocal", "Elementwise ``1 / x``")
inv = reciprocal


def relu(x: Any, alpha: float = 0.0) -> Variable:
    """Rectifier ``max(x, 0)``; with ``alpha``, the leaky form ``x if x > 0 else alpha * x``.

    A numpy array (or number) with a numeric ``alpha`` gives a numpy array, as Theano's
    arithmetic definition does (Lasagne's tests and numpy reference code rely on it).
    """
    if isinstance(x, (np.ndarray, np.generic, int, float)) and not isinstance(x, bool) and not isinstance(alpha, Variable):
        a = np.asarray(x)  # Theano's own formulas, so the numbers (and dtypes) are upstream's
        if alpha == 0:
            return 0.5 * (a + np.abs(a))
        return 0.5 * (1 + alpha) * a + 0.5 * (1 - alpha) * np.abs(a)
    if isinstance(alpha, (int, float)) and alpha == 0:
        return _unary("relu", x)
    v = as_tensor_variable(x)
    return where(gt(v, 0), v, mul(v, alpha))


def expm1(x: Any) -> Variable:
    """``exp(x) - 1``, accurate for small ``x`` (a second-order series below ``|x| < 1e-5``)."""
    (v,) = _operands(x, floats=True)
    series = v + mul(mul(v, v), 0.5)
    return switch(lt(abs(v), 1e-5), series, sub(exp(v), 1.0))


def sqr(x: Any) -> Variable:
    """``x * x``."""
    v = as_tensor_variable(x)
    return mul(v, v)


def maximum(a: Any, b: Any) -> Variable:
    """Elementwise maximum."""
    return _binary("maximum", a, b)


def minimum(a: Any, b: Any) -> Variable:
    """Elementwise minimum."""
    return _binary("minimum", a, b)


def clip(x: Any, a_min: Any, a_max: Any) -> Variable:
    """Clip ``x`` into ``[a_min, a_max]`` (bounds may be tensors; they broadcast)."""
    return minimum(maximum(x, a_min), a_max)


def eq(a: Any, b: Any) -> Variable:
    """Elementwise ``a == b`` (bool)."""
    return _binary("eq", a, b)


def neq(a: Any, b: Any) -> Variable:
    """Elementwise ``a != b`` (bool)."""
    return _binary("neq", a, b)


def lt(a: Any, b: Any) -> Variable:
    """Elementwise ``a < b`` (bool)."""
    return _binary("lt", a, b)


def le(a: Any, b: Any) -> Variable:
    """Elementwise ``a <= b`` (bool)."""
    return _binary("le", a, b)


def gt(a: Any, b: Any) -> Variable:
    """Elementwise ``a > b`` (bool)."""
    return _binary("gt", a, b)


def ge(a: Any, b: Any) -> Variable:
    """Elementwise ``a >= b`` (bool)."""
    return _binary("ge", a, b)


def _as_bool(x: Any, what: str) -> Variable:
    v = as_tensor_variable(x)
    if v.dtype != "bool":
        raise TypeError(f"{what}: operand has dtype {v.dtype}; logical ops need bool (compare first, e.g. T.neq(x, 0))")
    return v


def and_(a: Any, b: Any) -> Variable:
    """Elementwise logical and of bool tensors."""
    return apply_op("logical_and", [_as_bool(a, "and_"), _as_bool(b, "and_")])  # type: ignore[return-value]


def or_(a: Any, b: Any) -> Variable:
    """Elementwise logical or of bool tensors."""
    return apply_op("logical_or", [_as_bool(a, "or_"), _as_bool(b, "or_")])  # type: ignore[return-value]


def xor(a: Any, b: Any) -> Variable:
    """Elementwise logical xor of bool tensors."""
    return apply_op("logical_xor", [_as_bool(a, "xor"), _as_bool(b, "xor")])  # type: ignore[return-value]


def invert(x: Any) -> Variable:
    """Elementwise logical not of a bool tensor."""
    return apply_op("logical_not", [_as_bool(x, "invert")])  # type: ignore[return-value]


def switch(cond: Any, ift: Any, iff: Any) -> Variable:
    """``ift`` where ``cond`` holds, else ``iff`` (all three broadcast).

    A non-bool condition counts as true where it is non-zero, as in Theano.
    """
    c = as_tensor_variable(cond)
    if c.dtype != "bool":
        c = neq(c, 0)
    a, b = _operands(ift, iff)
    return apply_op("where", [c, a, b])  # type: ignore[return-value]


where = switch


def grad_clip(x: Any, lower_bound: float, upper_bound: float) -> Variable:
    """Identity in the forward pass; gradients flowing back through it are clipped
    to ``[lower_bound, upper_bound]`` (Theano's ``theano.gradient.grad_clip``)."""
    (v,) = _operands(x, floats=True)
    return apply_op("grad_clip", [v], lo=float(lower_bound), hi=float(upper_bound))  # type: ignore[return-value]


# Theano's op classes of theano.tensor.elemwise, as graph introspection finds them on node.op
from .theano_ops import CAReduce, DimShuffle, Elemwise, Max, Min, Prod, Sum  # noqa: E402

__all__ += ["Elemwise", "DimShuffle", "CAReduce", "Sum", "Prod", "Max", "Min"]
