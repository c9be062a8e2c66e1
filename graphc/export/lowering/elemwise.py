"""Lowerings of the elementwise ops."""

from __future__ import annotations

import numpy as np

from ..context import LoweringContext, LowerNode, lowering, onnx_dtype

DIRECT_UNARY = {
    "neg": "Neg",
    "abs": "Abs",
    "sign": "Sign",
    "exp": "Exp",
    "log": "Log",
    "sqrt": "Sqrt",
    "tanh": "Tanh",
    "sigmoid": "Sigmoid",
    "floor": "Floor",
    "ceil": "Ceil",
    "round": "Round",
    "sin": "Sin",
    "cos": "Cos",
    "erf": "Erf",
    "reciprocal": "Reciprocal",
    "logical_not": "Not",
}

DIRECT_BINARY = {
    "add": "Add",
    "sub": "Sub",
    "mul": "Mul",
    "div": "Div",
    "pow": "Pow",
    "maximum": "Max",
    "minimum": "Min",
    "eq": "Equal",
    "lt": "Less",
    "le": "LessOrEqual",
    "gt": "Greater",
    "ge": "GreaterOrEqual",
    "logical_and": "And",
    "logical_or": "Or",
    "logical_xor": "Xor",
}


@lowering(*DIRECT_UNARY, *DIRECT_BINARY)
def _direct(ctx: LoweringContext, n: LowerNode) -> list[str]:
    op_type = DIRECT_UNARY.get(n.op) or DIRECT_BINARY[n.op]
    return ctx.node(op_type, n.inputs, name=n.name, dtype=n.in_types[0].dtype)


@lowering("where")
def _where(ctx: LoweringContext, n: LowerNode) -> list[str]:
    return ctx.node("Where", n.inputs, name=n.name, dtype=n.out_types[0].dtype)


@lowering("softplus")
def _softplus(ctx: LoweringContext, n: LowerNode) -> list[str]:
    dt = n.in_types[0].dtype
    if dt != "float64":
        return ctx.node("Softplus", n.inputs, name=n.name)
    # ONNX Runtime has no float64 Softplus kernel (at opset 18 it inlines the function
    # body log(exp(x) + 1), which overflows past x ~ 709): max(x, 0) + log1p(exp(-|x|)).
    (x,) = n.inputs
    tail = ctx.op("Exp", ctx.op("Neg", ctx.op("Abs", x, name=n.name), name=n.name), name=n.name)
    return [ctx.op("Add", ctx.op("Relu", x, name=n.name), _log1p_of(ctx, tail, dt, n.name), name=n.name)]


@lowering("relu")
def _relu(ctx: LoweringContext, n: LowerNode) -> list[str]:
    dt = n.in_types[0].dtype
    if dt.startswith("float"):
        return ctx.node("Relu", n.inputs, name=n.name)
    # ONNX Runtime's Relu lacks most integer kernels (int64, uint8); Max has them.
    return ctx.node("Max", [n.inputs[0], ctx.const(0, dtype=dt)], name=n.name, dtype=dt)


@lowering("neq")
def _neq(ctx: LoweringContext, n: LowerNode) -> list[str]:
    return [ctx.op("Not", ctx.op("Equal", *n.inputs, name=n.name), name=n.name)]


@lowering("cast")
def _cast(ctx: LoweringContext, n: LowerNode) -> list[str]:
    return [ctx.op("Cast", n.inputs[0], to=onnx_dtype(n.attrs["dtype"]), name=n.name)]


def _log1p_of(ctx: LoweringContext, x: str, dtype: str, name: str) -> str:
    """log(1 + x) by Goldberg's trick, log(u) * x / (u - 1) with u = 1 + x, which keeps
    full relative precision for tiny x, where log(1 + x) would round 1 + x first."""
    one = ctx.const(1, dtype=dtype)
    zero = ctx.const(0, dtype=dtype)
    u = ctx.op("Add", x, one, name=name)
    d = ctx.op("Sub", u, one, name=name)
    ratio = ctx.op("Div", x, d, name=name)
    scaled = ctx.op("Mul", ctx.op("Log", u, name=name), ratio, name=name)
    # d == 0: x is tiny and log1p(x) == x; x == +inf: x / d would be inf / inf
    inf = ctx.const(np.inf, dtype=dtype)
    exact = ctx.op("Or", ctx.op("Equal", d, zero, name=name), ctx.op("Equal", x, inf, name=name), name=name)
    return ctx.op("Where", exact, x, scaled, name=name)


@lowering("log1p")
def _log1p(ctx: LoweringContext, n: LowerNode) -> list[str]:
    return [_log1p_of(ctx, n.inputs[0], n.in_types[0].dtype, n.name)]


def _is_float(n: LowerNode) -> bool:
    return n.in_types[0].dtype.startswith("float")


@lowering("mod")
def _mod(ctx: LoweringContext, n: LowerNode) -> list[str]:
    a, b = n.inputs
    if not _is_float(n):
        return [ctx.op("Mod", a, b, fmod=0, name=n.name)]  # integer Mod already takes the sign of b
    zero = ctx.const(0, dtype=n.in_types[0].dtype)
    r = ctx.op("Mod", a, b, fmod=1, name=n.name)
    signs_differ = ctx.op("Xor", ctx.op("Less", r, zero, name=n.name), ctx.op("Less", b, zero, name=n.name), name=n.name)
    fix = ctx.op("And", ctx.op("Not", ctx.op("Equal", r, zero, name=n.name), name=n.name), signs_differ, name=n.name)
    return [ctx.op("Where", fix, ctx.op("Add", r, b, name=n.name), r, name=n.name)]


@lowering("floor_div")
def _floor_div(ctx: LoweringContext, n: LowerNode) -> list[str]:
    a, b = n.inputs
    dt = n.in_types[0].dtype
    if not _is_float(n):
        # a - mod(a, b) is an exact multiple of b, so the truncating Div is exact.
        m = ctx.op("Mod", a, b, fmod=0, name=n.name)
        return [ctx.op("Div", ctx.op("Sub", a, m, name=n.name), b, name=n.name)]
    # numpy's npy_divmod: exact where floor(a / b) would round the quotient first.
    zero, one, half = (ctx.const(v, dtype=dt) for v in (0, 1, 0.5))
    m = ctx.op("Mod", a, b, fmod=1, name=n.name)
    div = ctx.op("Div", ctx.op("Sub", a, m, name=n.name), b, name=n.name)
    signs_differ = ctx.op("Xor", ctx.op("Less", m, zero, name=n.name), ctx.op("Less", b, zero, name=n.name), name=n.name)
    fix = ctx.op("And", ctx.op("Not", ctx.op("Equal", m, zero, name=n.name), name=n.name), signs_differ, name=n.name)
    div = ctx.op("Where", fix, ctx.op("Sub", div, one, name=n.name), div, name=n.name)
    fl = ctx.op("Floor", div, name=n.name)
    up = ctx.op("Greater", ctx.op("Sub", div, fl, name=n.name), half, name=n.name)
    fl = ctx.op("Where", up, ctx.op("Add", fl, one, name=n.name), fl, name=n.name)
    # b == 0: numpy gives a / b (inf or nan)
    plain = ctx.op("Div", a, b, name=n.name)
    return [ctx.op("Where", ctx.op("Equal", b, zero, name=n.name), plain, fl, name=n.name)]


@lowering("grad_clip")
def _grad_clip(ctx: LoweringContext, n: LowerNode) -> list[str]:
    # forward it is the identity; the clipping lives in the gradient rule
    return ctx.node("Identity", n.inputs, name=n.name)
