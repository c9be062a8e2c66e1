"""Lowerings of the elementwise ops."""

from __future__ import annotations

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
    "softplus": "Softplus",
    "relu": "Relu",
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


@lowering(*DIRECT_UNARY, *DIRECT_BINARY, "where")
def _direct(ctx: LoweringContext, n: LowerNode) -> list[str]:
    op_type = DIRECT_UNARY.get(n.op) or DIRECT_BINARY.get(n.op) or "Where"
    return ctx.node(op_type, n.inputs, name=n.name)


@lowering("neq")
def _neq(ctx: LoweringContext, n: LowerNode) -> list[str]:
    return [ctx.op("Not", ctx.op("Equal", *n.inputs, name=n.name), name=n.name)]


@lowering("cast")
def _cast(ctx: LoweringContext, n: LowerNode) -> list[str]:
    return [ctx.op("Cast", n.inputs[0], to=onnx_dtype(n.attrs["dtype"]), name=n.name)]


@lowering("log1p")
def _log1p(ctx: LoweringContext, n: LowerNode) -> list[str]:
    # Goldberg's trick: log(u) * x / (u - 1) with u = 1 + x keeps full relative
    # precision for tiny x, where log(1 + x) would round 1 + x first.
    (x,) = n.inputs
    one = ctx.const(1, dtype=n.in_types[0].dtype)
    zero = ctx.const(0, dtype=n.in_types[0].dtype)
    u = ctx.op("Add", x, one, name=n.name)
    d = ctx.op("Sub", u, one, name=n.name)
    ratio = ctx.op("Div", x, d, name=n.name)
    scaled = ctx.op("Mul", ctx.op("Log", u, name=n.name), ratio, name=n.name)
    return [ctx.op("Where", ctx.op("Equal", d, zero, name=n.name), x, scaled, name=n.name)]


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
