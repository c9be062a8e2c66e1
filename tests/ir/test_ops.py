"""Per-op tests: every registered op against an independent numpy oracle.

Each case builds an expression through the public ``graphc.tensor`` API (or
``apply_op`` where no public function reaches the op) and checks, against a
numpy expression written here,

* the numpy reference (``build_graph`` + ``evaluate``),
* ONNX Runtime (CPU) on the exported model, at each of the case's opsets,
* ``onnx.reference.ReferenceEvaluator`` on the same model,
* the static shape: every int dim equals the real size, and a symbolic dim
  named after input dims (``x0_dim0``, ``2*x0_dim0``) equals their real sizes.

Random ops are checked statistically in :func:`test_random`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest

import graphc
import graphc.tensor as T
from graphc.export import to_onnx
from graphc.ir.build import build_graph
from graphc.ir.evaluate import evaluate
from graphc.ir.types import Dim
from graphc.ir.verify import verify
from graphc.tensor.variable import Variable, apply_op
from graphc.testing import reference_evaluator as ReferenceEvaluator  # onnx.reference with a stacking Loop

RNG = np.random.default_rng(20240611)
OPSETS = (17, 18, 21)  # 18 is the default; reductions switch axes to an input at 18
TOL = {"float32": (1e-5, 1e-6), "float64": (1e-12, 1e-12)}


# -- the case table ------------------------------------------------------------
@dataclass(frozen=True)
class In:
    """One input: its value and declared shape (None entries are symbolic)."""

    value: np.ndarray
    decl: tuple[int | None, ...]


@dataclass(frozen=True)
class Case:
    """One op test: ``fn(*placeholders)`` is checked against ``oracle(*values)``."""

    name: str
    fn: Callable[..., Variable]
    inputs: tuple[In, ...]
    oracle: Callable[..., Any]
    tol: tuple[float, float] | None = None
    opsets: tuple[int, ...] = OPSETS
    marks: tuple[Any, ...] = field(default=())
    no_reference: str | None = None  # why onnx.reference cannot serve as an oracle here


CASES: list[Case] = []


def _scan_rnn(x: np.ndarray, w: np.ndarray, reverse: bool) -> np.ndarray:
    h = np.zeros((x.shape[1], w.shape[1]), x.dtype)
    out = []
    for t in (range(len(x) - 1, -1, -1) if reverse else range(len(x))):
        h = np.tanh(x[t] @ w + h)
        out.append(h)
    return np.stack(out)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


def _onnx_lstm(x, w, r, b, h0, c0, p, reverse=False):
    """ONNX LSTM (gates [i, o, f, c], peepholes [i, o, f]) step by step, one direction."""
    n = h0.shape[-1]
    h, c = h0[0].astype(np.float64), c0[0].astype(np.float64)
    out = np.zeros((len(x), 1) + h.shape)
    for t in (range(len(x) - 1, -1, -1) if reverse else range(len(x))):
        z = x[t] @ w[0].T + h @ r[0].T + b[0, : 4 * n] + b[0, 4 * n :]
        i = _sigmoid(z[:, :n] + p[0, :n] * c)
        f = _sigmoid(z[:, 2 * n : 3 * n] + p[0, 2 * n :] * c)
        c = f * c + i * np.tanh(z[:, 3 * n :])
        o = _sigmoid(z[:, n : 2 * n] + p[0, n : 2 * n] * c)
        h = o * np.tanh(c)
        out[t, 0] = h
    return out.astype(np.float32)


def _onnx_gru(x, w, r, b, h0):
    """ONNX GRU with linear_before_reset=1 (gates [z, r, h]) step by step."""
    n = h0.shape[-1]
    h = h0[0].astype(np.float64)
    out = np.zeros((len(x), 1) + h.shape)
    for t in range(len(x)):
        xw = x[t] @ w[0].T + b[0, : 3 * n]
        hr = h @ r[0].T + b[0, 3 * n :]
        z = _sigmoid(xw[:, :n] + hr[:, :n])
        rr = _sigmoid(xw[:, n : 2 * n] + hr[:, n : 2 * n])
        cand = np.tanh(xw[:, 2 * n :] + rr * hr[:, 2 * n :])
        h = (1 - z) * cand + z * h
        out[t, 0] = h
    return out.astype(np.float32)


def _scatter_rows(g: np.ndarray, idx: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    out = np.zeros(shape, g.dtype)
    for k, i in enumerate(idx):
        out[i] += g[k]
    return out


def _scatter_along(g: np.ndarray, idx: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    out = np.zeros(shape, g.dtype)
    for r in range(idx.shape[0]):
        for c in range(idx.shape[1]):
            out[r, idx[r, c]] += g[r, c]
    return out


def case(name: str, fn: Callable[..., Variable], oracle: Callable[..., Any], *inputs: In | np.ndarray, **kw: Any) -> None:
    """Add a case; bare arrays are inputs of static shape."""
    ins = tuple(i if isinstance(i, In) else In(np.asarray(i), np.asarray(i).shape) for i in inputs)
    assert all(c.name != name for c in CASES), name
    CASES.append(Case(name, fn, ins, oracle, **kw))


def sym(value: np.ndarray, *axes: int) -> In:
    """An input whose ``axes`` (default: axis 0) are declared symbolic."""
    value = np.asarray(value)
    axes = axes or (0,)
    return In(value, tuple(None if i in axes else d for i, d in enumerate(value.shape)))


def data(dtype: str, *shape: int, lo: float = -3, hi: float = 3, nonzero: bool = False) -> np.ndarray:
    """Random values of ``dtype`` in [lo, hi] (ints: integers, bools: coin flips)."""
    kind = np.dtype(dtype).kind
    if kind == "b":
        return RNG.random(shape) < 0.5
    if kind in "iu":
        out = RNG.integers(int(lo), int(hi) + 1, size=shape)
        if nonzero:
            out[out == 0] = 1
        return out.astype(dtype)
    out = RNG.uniform(lo, hi, size=shape)
    if nonzero:
        out[np.abs(out) < 0.25] = 0.5
    return out.astype(dtype)


def f64(a: np.ndarray) -> np.ndarray:
    """Oracles compute in float64 (ints and bools kept)."""
    return a.astype(np.float64) if a.dtype.kind == "f" else a


# -- elementwise unary ----------------------------------------------------------
def _erf(a: np.ndarray) -> np.ndarray:
    return np.vectorize(math.erf, otypes=[np.float64])(a)


# name, function, oracle, (lo, hi), dtypes that ONNX Runtime's CPU kernels implement
FLOAT_UNARY: list[tuple[str, Callable[..., Variable], Callable[..., Any], tuple[float, float], tuple[str, ...]]] = [
    ("exp", T.exp, np.exp, (-4, 4), ("float32", "float64")),
    ("log", T.log, np.log, (0.05, 6), ("float32", "float64")),
    ("log1p", T.log1p, np.log1p, (-0.95, 6), ("float32", "float64")),
    ("sqrt", T.sqrt, np.sqrt, (0, 6), ("float32", "float64")),
    ("tanh", T.tanh, np.tanh, (-4, 4), ("float32", "float64")),
    ("sigmoid", T.nnet.sigmoid, lambda a: 1 / (1 + np.exp(-a)), (-9, 9), ("float32", "float64")),
    ("softplus", T.nnet.softplus, lambda a: np.maximum(a, 0) + np.log1p(np.exp(-np.abs(a))), (-9, 9),
     ("float32", "float64")),
    ("floor", T.floor, np.floor, (-4, 4), ("float32", "float64")),
    ("ceil", T.ceil, np.ceil, (-4, 4), ("float32", "float64")),
    ("round", T.round, np.rint, (-4, 4), ("float32", "float64")),
    ("sin", T.sin, np.sin, (-4, 4), ("float32", "float64")),
    ("cos", T.cos, np.cos, (-4, 4), ("float32", "float64")),
    ("erf", T.erf, _erf, (-3, 3), ("float32",)),
    ("reciprocal", T.reciprocal, lambda a: 1 / a, (0.2, 4), ("float32", "float64")),
]
for _name, _fn, _np, (_lo, _hi), _dtypes in FLOAT_UNARY:
    for _dt in _dtypes:
        case(f"{_name}_{_dt}_2x3x4", _fn, lambda a, _np=_np: _np(f64(a)), data(_dt, 2, 3, 4, lo=_lo, hi=_hi))
    case(f"{_name}_sym_3x5", _fn, lambda a, _np=_np: _np(f64(a)), sym(data(_dtypes[-1], 3, 5, lo=_lo, hi=_hi)))

case("exp_of_int32_is_float32", T.exp, lambda a: np.exp(a.astype(np.float64)), data("int32", 3, 5, lo=-3, hi=3))
case("round_half_to_even", T.round, np.rint, np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.49, -0.51, 3.5], np.float32))
case("log1p_tiny_f32", T.log1p, lambda a: np.log1p(f64(a)), np.array([1e-7, -1e-7, 3e-8, 1e-10, 0.0, 2e-6], np.float32),
     tol=(1e-6, 0.0))
case("log1p_tiny_f64", T.log1p, lambda a: np.log1p(a), np.array([1e-16, -3e-17, 1e-12, 2.5e-9, 0.0, 1e-300]),
     tol=(1e-14, 0.0))
case("log1p_special", T.log1p, lambda a: np.log1p(f64(a)), np.array([-1.0, np.inf, 0.0, -0.5, 1e30, 3e38], np.float32))
case("softplus_large_f32", T.nnet.softplus, lambda a: np.maximum(a, 0) + np.log1p(np.exp(-np.abs(a))),
     np.array([-40.0, 40.0, -20.0, 20.0, 0.0, 15.0, 100.0, 1e30, -100.0], np.float32), tol=(1e-5, 0.0))
case("softplus_large_f64", T.nnet.softplus, lambda a: np.maximum(a, 0) + np.log1p(np.exp(-np.abs(a))),
     np.array([-40.0, 40.0, -700.0, 800.0, 0.0, 1e300, -1e-300]), tol=(1e-13, 0.0))
case("sigmoid_large", T.nnet.sigmoid, lambda a: 1 / (1 + np.exp(-a)), np.array([-80.0, 80.0, -30, 30, 0], np.float64))

NUMBER_UNARY = [
    ("neg", T.neg, np.negative),
    ("abs", T.abs, np.abs),
    ("sign", T.sgn, np.sign),
    ("relu", T.nnet.relu, lambda a: np.where(a > 0, a, 0).astype(a.dtype)),
]
for _name, _fn, _np in NUMBER_UNARY:
    for _dt in ("float32", "float64", "int32", "int64"):
        _a = data(_dt, 3, 5)
        _a.flat[:3] = 0
        case(f"{_name}_{_dt}", _fn, lambda a, _np=_np: _np(a), _a if _dt != "int64" else sym(_a))
case("neg_operator_sym", lambda x: -x, np.negative, sym(data("float32", 2, 3, 4), 0, 2))
case("logical_not", T.invert, np.logical_not, sym(data("bool", 3, 5)))
case("logical_not_operator", lambda b: ~b, np.logical_not, data("bool", 2, 3, 4))

# -- elementwise binary ---------------------------------------------------------
BINARY: list[tuple[str, Callable[..., Variable], Callable[..., Any], dict[str, Any]]] = [
    ("add", lambda a, b: a + b, np.add, {}),
    ("sub", lambda a, b: a - b, np.subtract, {}),
    ("mul", lambda a, b: a * b, np.multiply, {}),
    ("maximum", T.maximum, np.maximum, {}),
    ("minimum", T.minimum, np.minimum, {}),
    ("floor_div", lambda a, b: a // b, np.floor_divide, {"nonzero": True}),
    ("mod", lambda a, b: a % b, np.mod, {"nonzero": True}),
]
# dtype, then (shape, symbolic axes) of each operand: broadcasting both ways
LAYOUTS: list[tuple[str, tuple[tuple[int, ...], tuple[int, ...]], tuple[tuple[int, ...], tuple[int, ...]]]] = [
    ("float32", ((3, 1, 4), ()), ((5, 1), ())),
    ("float64", ((3, 5), (0,)), ((5,), ())),
    ("int32", ((3, 5), ()), ((3, 5), ())),
    ("int64", ((2, 3, 4), ()), ((2, 1, 4), (0,))),
    ("int8", ((3, 4), ()), ((4,), ())),
]


def _layout(dt: str, shape: tuple[int, ...], axes: tuple[int, ...], **kw: Any) -> In:
    value = data(dt, *shape, **kw)
    return In(value, tuple(None if i in axes else d for i, d in enumerate(shape)))


for _name, _fn, _np, _kw in BINARY:
    for _dt, (_sa, _xa), (_sb, _xb) in LAYOUTS:
        if _dt == "int8" and _name in ("floor_div", "mod"):
            continue
        case(f"{_name}_{_dt}_{_sa}_{_sb}", _fn, lambda a, b, _np=_np: _np(a, b), _layout(_dt, _sa, _xa),
             _layout(_dt, _sb, _xb, **_kw))

case("div_float32_broadcast", lambda a, b: a / b, lambda a, b: f64(a) / f64(b), data("float32", 3, 1, 4),
     data("float32", 5, 1, nonzero=True))
case("div_float64_sym", T.true_div, np.true_divide, sym(data("float64", 3, 5)), data("float64", 5, nonzero=True))
case("div_int32_gives_float32", lambda a, b: a / b, lambda a, b: a / b, data("int32", 3, 5),
     data("int32", 5, nonzero=True))
case("div_by_zero_float", lambda a, b: a / b, lambda a, b: a / b, np.array([1.0, -1.0, 0.0], np.float32),
     np.zeros(3, np.float32))

# numpy's rounding and sign rules with every sign combination, exact multiples and zeros
_NUM_I = np.array([7, -7, 7, -7, 6, -6, 0, 0, 1, -1, 13, -13], np.int64)
_DEN_I = np.array([2, 2, -2, -2, 3, -3, 5, -5, 7, 7, -4, -4], np.int64)
for _dt in ("int32", "int64"):
    case(f"floor_div_negative_{_dt}", T.floor_div, np.floor_divide, _NUM_I.astype(_dt), _DEN_I.astype(_dt))
    case(f"mod_negative_{_dt}", T.mod, np.mod, _NUM_I.astype(_dt), _DEN_I.astype(_dt))
_NUM_F = np.array([7.5, -7.5, 7.5, -7.5, 6.0, -6.0, 0.0, -0.0, 0.1, -0.1, 1e-3, 5.0, 1.0], np.float64)
_DEN_F = np.array([2.0, 2.0, -2.0, -2.0, 3.0, 3.0, 5.0, -5.0, 0.03, 0.03, -7.0, 0.0, 0.1], np.float64)
for _dt in ("float32", "float64"):
    case(f"floor_div_negative_{_dt}", lambda a, b: a // b, lambda a, b: np.floor_divide(a, b),
         _NUM_F.astype(_dt), _DEN_F.astype(_dt))
    case(f"mod_negative_{_dt}", lambda a, b: a % b, lambda a, b: np.mod(a, b), _NUM_F.astype(_dt), _DEN_F.astype(_dt))
_BIG_NUM = np.array([1e7, -1e7, 123456.7, -123456.7, 1e30, 3.0, -2.5, 1e-30, 7.0], np.float64)
_BIG_DEN = np.array([3.0, 7.0, 0.1, 0.1, 1e-5, 1e30, 1e30, -3.0, np.inf], np.float64)
for _dt in ("float32", "float64"):
    case(f"floor_div_extreme_{_dt}", T.floor_div, np.floor_divide, _BIG_NUM.astype(_dt), _BIG_DEN.astype(_dt))
    case(f"mod_extreme_{_dt}", T.mod, np.mod, _BIG_NUM.astype(_dt), _BIG_DEN.astype(_dt))
case("mod_by_python_int", lambda a: a % 3, lambda a: np.mod(a, 3), np.arange(-7, 8, dtype=np.int32))
case("floor_div_by_python_int", lambda a: a // -4, lambda a: np.floor_divide(a, -4), np.arange(-9, 10, dtype=np.int64))

case("pow_float32", lambda a, b: a**b, lambda a, b: f64(a) ** f64(b), data("float32", 3, 1, 4, lo=0.5, hi=2),
     data("float32", 5, 1, lo=-2, hi=2))
case("pow_float64_int_exponent", lambda a: a**3, lambda a: a**3, sym(data("float64", 3, 5)))
case("pow_int32", T.pow, np.power, data("int32", 3, 5), data("int32", 5, lo=0, hi=3))
case("pow_int64", T.pow, np.power, sym(data("int64", 4, 3)), data("int64", 4, 1, lo=0, hi=4))
case("sqr", T.sqr, lambda a: a * a, data("float32", 3, 5))
case("clip", lambda a: T.clip(a, -1.0, 0.5), lambda a: np.minimum(np.maximum(a, -1), 0.5), sym(data("float32", 3, 5)))

COMPARE = [("eq", T.eq, np.equal), ("neq", T.neq, np.not_equal), ("lt", lambda a, b: a < b, np.less),
           ("le", lambda a, b: a <= b, np.less_equal), ("gt", lambda a, b: a > b, np.greater),
           ("ge", lambda a, b: a >= b, np.greater_equal)]
for _name, _fn, _np in COMPARE:
    # ints in [-2, 2] give many ties; floats copy half of a into b
    case(f"{_name}_int32", _fn, lambda a, b, _np=_np: _np(a, b), data("int32", 3, 1, 4, lo=-2, hi=2),
         data("int32", 5, 1, lo=-2, hi=2))
    case(f"{_name}_int64_sym", _fn, lambda a, b, _np=_np: _np(a, b), sym(data("int64", 3, 5, lo=-2, hi=2)),
         data("int64", 5, lo=-2, hi=2))
    _a = data("float32", 3, 5)
    _b = data("float32", 3, 5)
    _b[:, ::2] = _a[:, ::2]
    case(f"{_name}_float32_ties", _fn, lambda a, b, _np=_np: _np(a, b), _a, _b)
    case(f"{_name}_float64_scalar", lambda a, _fn=_fn: _fn(a, 0.5), lambda a, _np=_np: _np(a, 0.5),
         np.array([0.25, 0.5, 0.75, -1.0]))
for _name, _fn, _np in COMPARE[:2]:
    case(f"{_name}_bool", _fn, lambda a, b, _np=_np: _np(a, b), data("bool", 3, 1), data("bool", 1, 4))

for _name, _fn, _np in [("and", lambda a, b: a & b, np.logical_and), ("or", T.or_, np.logical_or),
                        ("xor", lambda a, b: a ^ b, np.logical_xor)]:
    case(f"logical_{_name}", _fn, lambda a, b, _np=_np: _np(a, b), data("bool", 3, 1), sym(data("bool", 1, 4), 1))
    case(f"logical_{_name}_3d", _fn, lambda a, b, _np=_np: _np(a, b), data("bool", 2, 3, 4), data("bool", 4))

case("where_broadcast_f32", lambda c, a: T.switch(c, a, 0.5), lambda c, a: np.where(c, a, np.float32(0.5)),
     data("bool", 3, 1), data("float32", 1, 4))
case("where_int64", T.where, np.where, sym(data("bool", 3, 4)), data("int64", 3, 4), data("int64", 4))
case("where_float64_3d", T.where, np.where, data("bool", 2, 1, 4), data("float64", 3, 1), data("float64", 2, 3, 1))
case("where_bool_branches", T.where, np.where, data("bool", 3, 5), data("bool", 3, 5), data("bool", 1, 5))
case("switch_int_condition", T.switch, lambda c, a, b: np.where(c != 0, a, b), data("int32", 3, 5, lo=-1, hi=1),
     data("float32", 3, 5), data("float32", 3, 5))
case("leaky_relu", lambda a: T.nnet.relu(a, 0.1), lambda a: np.where(a > 0, a, 0.1 * f64(a)), data("float32", 3, 5))

_F = np.array([[-1.7, -0.5, 0.0, 0.5, 1.7], [2.9, -2.9, 100.25, -0.0, 3.0]], np.float32)
CASTS = [
    ("float32_to_int32", _F, "int32", lambda a: np.trunc(a).astype(np.int32)),
    ("float64_to_int64", _F.astype(np.float64), "int64", lambda a: np.trunc(a).astype(np.int64)),
    ("float32_to_bool", _F, "bool", lambda a: a != 0),
    ("bool_to_float32", data("bool", 3, 5), "float32", lambda a: np.where(a, 1.0, 0.0)),
    ("bool_to_int64", data("bool", 3, 5), "int64", lambda a: np.where(a, 1, 0)),
    ("int64_to_int32", data("int64", 3, 5, lo=-1000, hi=1000), "int32", lambda a: a),
    ("int32_to_float64", data("int32", 3, 5, lo=-1000, hi=1000), "float64", lambda a: a),
    ("int32_to_bool", data("int32", 3, 5, lo=-2, hi=2), "bool", lambda a: a != 0),
    ("float64_to_float32", data("float64", 3, 5), "float32", lambda a: a),
    ("float32_to_float64", data("float32", 3, 5), "float64", lambda a: a),
]
for _name, _a, _dt, _np in CASTS:
    case(f"cast_{_name}", lambda a, _dt=_dt: T.cast(a, _dt), _np, sym(_a))
case("astype_method", lambda a: a.astype("int64"), lambda a: np.trunc(a).astype(np.int64), _F)

# -- indexing -------------------------------------------------------------------
_X = data("float32", 5, 6)
_X3 = data("float64", 2, 3, 4)
GETITEM: list[tuple[str, Callable[[Any], Any]]] = [
    ("rev", lambda x: x[::-1]),
    ("col_last", lambda x: x[:, -1]),
    ("neg_range", lambda x: x[-3:-1]),
    ("step_neg2", lambda x: x[::-2]),
    ("mixed_steps", lambda x: x[1:4:2, ::-1]),
    ("row_neg_tail", lambda x: x[-1, 2:]),
    ("row_int", lambda x: x[2]),
    ("row_neg2", lambda x: x[-2]),
    ("newaxis", lambda x: x[None, :, 1]),
    ("newaxis_mid", lambda x: x[:, None, ::-3]),
    ("rev_bounded", lambda x: x[4:1:-1]),
    ("rev_to_start", lambda x: x[3::-1]),
    ("clamped", lambda x: x[-100:2, 1:100]),
    ("empty", lambda x: x[4:2]),
    ("scalar", lambda x: x[1, -1]),
    ("neg_step_start_before_begin", lambda x: x[-9::-1]),
    ("neg_step2_start_before_begin", lambda x: x[-6:-9:-2, -7::-1]),
    ("neg_step_start_at_begin", lambda x: x[-5::-2, -6::-1]),
]
for _name, _idx in GETITEM:
    case(f"getitem_{_name}", lambda x, _idx=_idx: _idx(x), lambda x, _idx=_idx: _idx(x), _X)
    case(f"getitem_{_name}_sym", lambda x, _idx=_idx: _idx(x), lambda x, _idx=_idx: _idx(x), sym(_X, 0, 1))
for _name, _idx in [("ellipsis_last", lambda x: x[..., 1]), ("ellipsis_first", lambda x: x[1, ..., None]),
                    ("ellipsis_mid", lambda x: x[-1, ..., ::-2]), ("ellipsis_only", lambda x: x[..., None])]:
    case(f"getitem_{_name}", lambda x, _idx=_idx: _idx(x), lambda x, _idx=_idx: _idx(x), sym(_X3, 1))


def _i(v: int, dt: str = "int64") -> np.ndarray:
    return np.array(v, dtype=dt)


# dynamic (symbolic scalar) bounds and indices
case("getitem_dyn_slice", lambda x, i, j: x[i:j], lambda x, i, j: x[int(i):int(j)], _X, _i(1), _i(-1, "int32"))
case("getitem_dyn_neg_step", lambda x, i: x[i::-1], lambda x, i: x[int(i)::-1], sym(_X), _i(3))
case("getitem_dyn_neg_step_start_before_begin", lambda x, i: x[:, i::-1], lambda x, i: x[:, int(i)::-1], sym(_X, 1),
     _i(-7))
case("getitem_dyn_neg_step_neg_start", lambda x, i: x[i:0:-1], lambda x, i: x[int(i):0:-1], sym(_X), _i(-2))
case("getitem_dyn_stop_neg", lambda x, i: x[:, :i], lambda x, i: x[:, :int(i)], _X, _i(-2, "int32"))
case("getitem_dyn_int", lambda x, i: x[i], lambda x, i: x[int(i)], sym(_X), _i(-2, "int32"))
case("getitem_dyn_int_col", lambda x, i: x[:, i], lambda x, i: x[:, int(i)], _X, _i(4))
case("getitem_dyn_two_ints", lambda x, i, j: x[i, j], lambda x, i, j: x[int(i), int(j)], _X, _i(3), _i(-5))
case("getitem_dyn_mixed", lambda x, i: x[None, i, ::-1], lambda x, i: x[None, int(i), ::-1], _X3, _i(1))
case("getitem_dyn_static_int", lambda x, i: x[1, :, i], lambda x, i: x[1, :, int(i)], sym(_X3, 2), _i(-1))
case("getitem_shape_bound", lambda x: x[: x.shape[0] - 1], lambda x: x[:-1], sym(_X))
case("getitem_shape_int", lambda x: x[x.shape[0] // 2], lambda x: x[x.shape[0] // 2], sym(_X))

# integer-array indices gather (take)
_IDX = np.array([4, -1, 0, 2], np.int64)
case("take_list_index", lambda x: x[[0, 2, 2, -1]], lambda x: x[[0, 2, 2, -1]], _X)
case("take_vector_input", lambda x, i: x[:, i], lambda x, i: x[:, i], sym(_X), _IDX)
case("take_int32_vector", lambda x, i: x[i], lambda x, i: x[i], _X3, sym(np.array([1, 0, 1, -2], np.int32)))
case("take_after_slice", lambda x: x[1:, [0, 2]], lambda x: x[1:, [0, 2]], sym(_X))
case("take_matrix_index", lambda x, i: T.take(x, i, axis=1), lambda x, i: np.take(x, i, axis=1), _X3,
     np.array([[0, -1], [2, 1]], np.int64))
case("take_negative_axis", lambda x: T.take(x, [3, 0], axis=-1), lambda x: np.take(x, [3, 0], axis=-1),
     data("int32", 2, 3, 4))

_TA = data("float32", 3, 5)
_TA_I = np.array([[0, 4], [-1, 2], [3, 3]], np.int64)
case("take_along_axis_1", lambda x, i: apply_op("take_along_axis", [x, i], axis=1),
     lambda x, i: np.take_along_axis(x, i, axis=1), _TA, _TA_I)
case("take_along_axis_0", lambda x, i: apply_op("take_along_axis", [x, i], axis=0),
     lambda x, i: np.take_along_axis(x, i, axis=0), data("int64", 4, 3), np.array([[0, 3, 1], [2, 2, -4]], np.int64))
case("take_along_axis_sym", lambda x, i: apply_op("take_along_axis", [x, i], axis=1),
     lambda x, i: np.take_along_axis(x, i, axis=1), sym(_TA), sym(_TA_I))
case("categorical_crossentropy_int", T.nnet.categorical_crossentropy,
     lambda p, t: -np.log(f64(p)[np.arange(len(t)), t]), sym(data("float32", 4, 5, lo=0.05, hi=1)),
     sym(np.array([0, 4, 2, 2], np.int32)))

# -- linear algebra and the softmax family -------------------------------------------
MATMUL = [
    ("2d", (3, 4), (4, 5)),
    ("vec_mat", (4,), (4, 5)),
    ("mat_vec", (3, 4), (4,)),
    ("vec_vec", (4,), (4,)),
    ("batch_broadcast", (2, 1, 3, 4), (5, 4, 6)),
    ("batch_vec", (2, 3, 4), (4,)),
    ("vec_batch", (4,), (2, 4, 3)),
]
for _name, _sa, _sb in MATMUL:
    case(f"matmul_{_name}", lambda a, b: a @ b, lambda a, b: f64(a) @ f64(b), data("float32", *_sa), data("float32", *_sb))
case("matmul_float64_sym", T.matmul, np.matmul, sym(data("float64", 3, 4)), sym(data("float64", 4, 5), 1))
case("matmul_int32", T.matmul, np.matmul, data("int32", 3, 4), data("int32", 4, 2))
case("matmul_int64_batch", T.matmul, np.matmul, sym(data("int64", 2, 3, 4)), data("int64", 4, 5))
case("dot_3d_2d", T.dot, lambda a, b: f64(a) @ f64(b), sym(data("float32", 2, 3, 4)), data("float32", 4, 5))
case("dot_3d_3d", T.dot, lambda a, b: np.dot(a, b), data("float64", 2, 3, 4), data("float64", 3, 4, 5))
case("tensordot_axes2", lambda a, b: T.tensordot(a, b, 2), lambda a, b: np.tensordot(a, b, 2),
     sym(data("float64", 2, 3, 4)), data("float64", 3, 4, 5))
case("outer", T.outer, lambda a, b: np.multiply.outer(f64(a), f64(b)), data("float32", 3), sym(data("float32", 5)))


def _softmax(a: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _log_softmax(a: np.ndarray, axis: int) -> np.ndarray:
    m = a.max(axis=axis, keepdims=True)
    return a - m - np.log(np.exp(a - m).sum(axis=axis, keepdims=True))


for _name, _fn, _np in [("softmax", T.nnet.softmax, _softmax), ("log_softmax", T.nnet.log_softmax, _log_softmax)]:
    case(f"{_name}_rows", _fn, lambda a, _np=_np: _np(f64(a), -1), sym(data("float32", 3, 5)))
    for _ax in (0, 1, -1):
        case(f"{_name}_axis{_ax}_3d", lambda a, _fn=_fn, _ax=_ax: _fn(a, axis=_ax),
             lambda a, _np=_np, _ax=_ax: _np(f64(a), _ax), data("float32", 2, 3, 4))
    case(f"{_name}_float64_axis0", lambda a, _fn=_fn: _fn(a, axis=0), lambda a, _np=_np: _np(a, 0),
         sym(data("float64", 3, 5), 1))
    case(f"{_name}_large_values", lambda a, _fn=_fn: _fn(a, axis=1), lambda a, _np=_np: _np(f64(a), 1),
         data("float32", 3, 5, lo=-500, hi=500), tol=(1e-5, 1e-5),
         no_reference="onnx.reference's LogSoftmax is log(softmax(x)), -inf where softmax underflows")

# -- reductions -------------------------------------------------------------------
REDUCTIONS = [("sum", T.sum, np.sum), ("mean", T.mean, np.mean), ("max", T.max, np.max), ("min", T.min, np.min),
              ("prod", T.prod, np.prod)]
AXES: list[tuple[str, Any, bool]] = [
    ("all", None, False), ("all_keep", None, True), ("ax0", 0, False), ("ax_neg1_keep", -1, True),
    ("ax02", (0, 2), False), ("ax_neg1_0_keep", (-1, 0), True), ("ax12", (1, 2), False),
]
for _name, _fn, _np in REDUCTIONS:
    for _aname, _axis, _keep in AXES:
        case(f"reduce_{_name}_{_aname}", lambda a, _fn=_fn, _axis=_axis, _keep=_keep: _fn(a, axis=_axis, keepdims=_keep),
             lambda a, _np=_np, _axis=_axis, _keep=_keep: _np(f64(a), axis=_axis, keepdims=_keep),
             data("float32", 2, 3, 4, lo=0.5, hi=1.5))
    case(f"reduce_{_name}_sym_ax0", lambda a, _fn=_fn: _fn(a, axis=0), lambda a, _np=_np: _np(a, axis=0),
         sym(data("float64", 4, 3, lo=0.5, hi=1.5)))
    case(f"reduce_{_name}_sym_keep", lambda a, _fn=_fn: _fn(a, axis=1, keepdims=True),
         lambda a, _np=_np: _np(a, axis=1, keepdims=True), sym(data("float64", 4, 3, 2), 0, 1))
    if _name != "mean":
        for _dt in ("int32", "int64"):
            case(f"reduce_{_name}_{_dt}", lambda a, _fn=_fn: _fn(a, axis=(0, 2)),
                 lambda a, _np=_np: _np(a, axis=(0, 2)), sym(data(_dt, 2, 3, 4, lo=-3, hi=3)))
case("reduce_mean_of_int", T.mean, lambda a: np.mean(a), data("int32", 3, 5))
case("reduce_sum_bool_counts", lambda b: T.sum(b, axis=1), lambda b: b.sum(axis=1), data("bool", 3, 5))
case("all_axis1", lambda b: T.all(b, axis=1), lambda b: b.all(axis=1), data("bool", 3, 5))
case("any_all_axes", lambda b: T.any(b), lambda b: b.any(), sym(np.zeros((3, 5), bool)))
case("any_float", lambda a: T.any(a, axis=0, keepdims=True), lambda a: (a != 0).any(axis=0, keepdims=True),
     np.array([[0, 1.5, 0], [0, 0, -2]], np.float32))
case("var_ddof1", lambda a: T.var(a, axis=0, ddof=1), lambda a: np.var(a, axis=0, ddof=1), sym(data("float64", 6, 4)))
case("std_axis1", lambda a: T.std(a, axis=1, keepdims=True), lambda a: np.std(f64(a), axis=1, keepdims=True),
     data("float32", 3, 5))
case("size_of_sym", lambda a: a.size, lambda a: np.int64(a.size), sym(data("float32", 3, 5), 0, 1))

_TIES = np.array([[1, 3, 3, 0, 3], [2, 2, 1, 2, 0], [-1, -1, -1, -1, -1]], np.int32)
for _name, _fn, _np in [("argmax", T.argmax, np.argmax), ("argmin", T.argmin, np.argmin)]:
    for _dt in ("int32", "int64", "float32", "float64"):
        _t = _TIES.astype(_dt)
        case(f"{_name}_ties_{_dt}", lambda a, _fn=_fn: _fn(a, axis=1), lambda a, _np=_np: _np(a, axis=1), _t)
        case(f"{_name}_ties_{_dt}_ax0_keep", lambda a, _fn=_fn: _fn(a, axis=0, keepdims=True),
             lambda a, _np=_np: _np(a, axis=0, keepdims=True), sym(_t))
    case(f"{_name}_flat", _fn, lambda a, _np=_np: _np(a), sym(data("float32", 2, 3, 4), 0, 2))
    case(f"{_name}_flat_keep", lambda a, _fn=_fn: _fn(a, keepdims=True), lambda a, _np=_np: _np(a, keepdims=True),
         _X3)
    case(f"{_name}_neg_axis", lambda a, _fn=_fn: _fn(a, axis=-2), lambda a, _np=_np: _np(a, axis=-2), _X3)
    case(f"{_name}_bool", lambda a, _fn=_fn: _fn(a, axis=1), lambda a, _np=_np: _np(a, axis=1), data("bool", 3, 5))

# -- shapes -------------------------------------------------------------------------
_R = data("float32", 3, 4, 5)
case("shape_sym", lambda x: x.shape, lambda x: np.array(x.shape), sym(_R, 0, 2))
case("shape_elem", lambda x: x.shape[-1], lambda x: np.int64(x.shape[-1]), sym(_R, 2))
case("reshape_minus1", lambda x: x.reshape((4, -1)), lambda x: x.reshape(4, -1), _R)
case("reshape_minus1_first", lambda x: T.reshape(x, (-1, 2, 5)), lambda x: x.reshape(-1, 2, 5), _R)
case("reshape_batch_sym", lambda x: x.reshape((x.shape[0], -1)), lambda x: x.reshape(x.shape[0], -1), sym(_R))
case("reshape_product_sym", lambda x: x.reshape((x.shape[0] * x.shape[1], x.shape[2])),
     lambda x: x.reshape(-1, x.shape[2]), sym(_R, 0, 1))
case("reshape_sym_to_static", lambda x: x.reshape((2, -1)), lambda x: x.reshape(2, -1), sym(data("int32", 3, 4)))
case("reshape_vector", lambda x: x.reshape((-1,)), lambda x: x.reshape(-1), sym(_R, 1))
case("reshape_zero_size", lambda x: x.reshape((3, 0, 2)), lambda x: x.reshape(3, 0, 2), np.zeros((0, 6), np.float32))
case("flatten_2", lambda x: x.flatten(2), lambda x: x.reshape(x.shape[0], -1), sym(_R))
case("flatten_1_bool", lambda x: x.flatten(), lambda x: x.reshape(-1), data("bool", 2, 3))
case("transpose_perm", lambda x: x.transpose(2, 0, 1), lambda x: x.transpose(2, 0, 1), _R)
case("transpose_T_sym", lambda x: x.T, lambda x: x.T, sym(_R, 1))
case("dimshuffle_x", lambda x: x.dimshuffle(1, "x", 0), lambda x: x.T[:, None, :], sym(data("int64", 3, 5)))
case("expand_dims_neg", lambda x: T.expand_dims(x, -1), lambda x: x[..., None], sym(_R))
case("shape_padleft", T.shape_padleft, lambda x: x[None], data("bool", 3, 5))
case("shape_padright_2", lambda x: T.shape_padright(x, 2), lambda x: x[:, :, None, None], data("float64", 3, 5))
case("squeeze_all", lambda x: x.squeeze(), lambda x: x.reshape(3, 5), data("float32", 3, 1, 5, 1))
case("squeeze_axis", lambda x: T.squeeze(x, axis=1), lambda x: x[:, 0], sym(data("int32", 3, 1, 5)))
case("dimshuffle_drop", lambda x: x.dimshuffle(2, 0), lambda x: x[:, 0, :].T, sym(data("float32", 3, 1, 5)))
case("pad_constant", lambda x: T.pad(x, [(1, 2), 0, (0, 3)], value=-1.5),
     lambda x: np.pad(x, [(1, 2), (0, 0), (0, 3)], constant_values=-1.5), sym(data("float32", 2, 3, 4)))
case("pad_int", lambda x: T.pad(x, [2, (1, 0)]), lambda x: np.pad(x, [(2, 2), (1, 0)]), data("int64", 3, 5))
case("scan_rnn_reverse", lambda x, w: graphc.scan(lambda x_t, h: T.tanh(T.dot(x_t, w) + h), sequences=x,
                                                    outputs_info=[T.zeros((x.shape[1], 3))], go_backwards=True)[0],
     lambda x, w: _scan_rnn(x, w, reverse=True), sym(data("float32", 4, 2, 5) / 4, 0, 1), data("float32", 5, 3) / 4)
case("scan_until_doubling", lambda x: graphc.scan(lambda h: (h * 2, graphc.scan_module.until(h * 2 > x)),
                                                   outputs_info=T.constant(np.float32(1)), n_steps=10)[0],
     lambda x: np.array([2.0, 4, 8, 16], np.float32), np.float32(9.5))
case("grad_clip_identity", lambda x: T.grad_clip(x, -1.0, 1.0) * 2, lambda x: x * 2, sym(data("float32", 3, 4)))
# one process: an all-reduce over a single rank is the identity (graphc.distributed)
case("allreduce_mean_one_rank", lambda x: apply_op("allreduce_mean", [x]) * 3, lambda x: x * 3, sym(data("float32", 3, 4), 0))
case("allreduce_sum_one_rank_int", lambda x: apply_op("allreduce_sum", [x]) + 1, lambda x: x + 1, data("int64", 2, 5))
case("native_lstm_peepholes_reverse",
     lambda x, w, r, b, h0, c0, p: apply_op("lstm", [x, w, r, b, h0, c0, p], hidden_size=3, direction="reverse",
                                            activations=("Sigmoid", "Tanh", "Tanh")),
     lambda x, w, r, b, h0, c0, p: _onnx_lstm(x, w, r, b, h0, c0, p, reverse=True),
     sym(data("float32", 4, 2, 5) / 3, 0, 1), data("float32", 1, 12, 5) / 3, data("float32", 1, 12, 3) / 3,
     data("float32", 1, 24) / 3, data("float32", 1, 2, 3) / 3, data("float32", 1, 2, 3) / 3, data("float32", 1, 9) / 3)
case("native_gru_forward",
     lambda x, w, r, b, h0: apply_op("gru", [x, w, r, b, h0], hidden_size=3, direction="forward",
                                     activations=("Sigmoid", "Tanh")),
     lambda x, w, r, b, h0: _onnx_gru(x, w, r, b, h0),
     sym(data("float32", 4, 2, 5) / 3, 0), data("float32", 1, 9, 5) / 3, data("float32", 1, 9, 3) / 3,
     data("float32", 1, 18) / 3, data("float32", 1, 2, 3) / 3)
case("native_lstm_zero_initial_peepholes",
     lambda x, w, r, b, p: apply_op("lstm", [x, w, r, b, p], hidden_size=3, direction="forward",
                                    activations=("Sigmoid", "Tanh", "Tanh"), zero_initial=True),
     lambda x, w, r, b, p: _onnx_lstm(x, w, r, b, np.zeros((1, 2, 3), np.float32), np.zeros((1, 2, 3), np.float32), p),
     sym(data("float32", 4, 2, 5) / 3, 0, 1), data("float32", 1, 12, 5) / 3, data("float32", 1, 12, 3) / 3,
     data("float32", 1, 24) / 3, data("float32", 1, 9) / 3)
case("native_gru_zero_initial_reverse",
     lambda x, w, r, b: apply_op("gru", [x, w, r, b], hidden_size=3, direction="reverse",
                                 activations=("Sigmoid", "Tanh"), zero_initial=True),
     lambda x, w, r, b: _onnx_gru(x[::-1], w, r, b, np.zeros((1, 2, 3), np.float32))[::-1],
     sym(data("float32", 4, 2, 5) / 3, 0), data("float32", 1, 9, 5) / 3, data("float32", 1, 9, 3) / 3,
     data("float32", 1, 18) / 3)
case("take_grad_scatter_add",
     lambda g, i: apply_op("take_grad", [g, i, T.constant(np.array([4, 3], np.int64))], axis=0),
     lambda g, i: _scatter_rows(g, i, (4, 3)), data("float32", 5, 3), np.array([3, 0, 3, 1, 0]))
case("take_along_axis_grad_scatter_add",
     lambda g, i: apply_op("take_along_axis_grad", [g, i, T.constant(np.array([2, 4], np.int64))], axis=1),
     lambda g, i: _scatter_along(g, i, (2, 4)), data("float64", 2, 3), np.array([[1, 1, 3], [0, 2, 0]]))
case("concat_axis1", lambda a, b: T.concatenate([a, b], axis=1), lambda a, b: np.concatenate([a, b], 1),
     data("float32", 3, 2), data("float32", 3, 4))
case("concat_neg_axis_3", lambda a, b, c: T.concatenate([a, b, c], axis=-1),
     lambda a, b, c: np.concatenate([a, b, c], -1), data("int64", 2, 3, 1), data("int64", 2, 3, 4),
     data("int64", 2, 3, 2))
case("concat_sym", lambda a, b: T.concatenate([a, b]), lambda a, b: np.concatenate([a, b]), sym(data("float64", 3, 4)),
     sym(data("float64", 2, 4)))
case("concat_promotes", lambda a, b: T.concatenate([a, b], axis=0), lambda a, b: np.concatenate([a, b]),
     data("int32", 2, 3), data("float32", 1, 3))
case("stack_axis1", lambda a, b, c: T.stack([a, b, c], axis=1), lambda a, b, c: np.stack([a, b, c], 1),
     data("float32", 3, 5), data("float32", 3, 5), data("float32", 3, 5))
case("stack_neg_axis_sym", lambda a, b: T.stack([a, b], axis=-1), lambda a, b: np.stack([a, b], -1),
     sym(data("bool", 3, 4)), sym(data("bool", 3, 4)))
case("stack_shape_scalars", lambda x: T.stack([x.shape[1], x.shape[0]]), lambda x: np.array(x.shape[1::-1]), sym(_R))
case("zeros_static", lambda: T.zeros((3, 5)), lambda: np.zeros((3, 5), np.float32))
case("ones_int32", lambda: T.ones((2, 3), dtype="int32"), lambda: np.ones((2, 3), np.int32))
case("zeros_like_sym", T.zeros_like, np.zeros_like, sym(data("float64", 3, 5), 0, 1))
case("ones_like_bool", lambda x: T.ones_like(x, dtype="bool"), lambda x: np.ones(x.shape, bool), sym(_R))
case("zeros_sym_batch", lambda x: T.zeros((x.shape[0], 4), dtype="int64"), lambda x: np.zeros((len(x), 4), np.int64),
     sym(_X))
case("alloc_scalar", lambda: T.alloc(0.5, 3, 5), lambda: np.full((3, 5), 0.5, np.float32))
case("alloc_row_sym", lambda v, x: T.alloc(v, x.shape[0], 5), lambda v, x: np.broadcast_to(v, (len(x), 5)),
     data("float32", 5), sym(data("float32", 3, 5)))
case("alloc_column", lambda v: T.alloc(v, 3, 4), lambda v: np.broadcast_to(v, (3, 4)), data("int32", 3, 1))
case("fill_like", lambda x: T.fill(x, 2.0), lambda x: np.full(x.shape, 2.0, np.float32), sym(data("float32", 3, 5)))
case("arange_stop", lambda: T.arange(5), lambda: np.arange(5))
case("arange_step", lambda: T.arange(2, 11, 3), lambda: np.arange(2, 11, 3))
case("arange_negative_step", lambda: T.arange(10, 0, -3), lambda: np.arange(10, 0, -3))
case("arange_empty", lambda: T.arange(3, 1), lambda: np.arange(3, 1))
case("arange_sym", lambda x: T.arange(x.shape[0]), lambda x: np.arange(len(x)), sym(_X))
case("arange_input", lambda n: T.arange(1, n, 2), lambda n: np.arange(1, n, 2, dtype=np.int32), _i(8, "int32"))
case("arange_float", lambda: T.arange(0.0, 1.0, 0.25), lambda: np.arange(0, 1, 0.25, dtype=np.float32))
case("arange_dtype", lambda: T.arange(1, 7, 2, dtype="float64"), lambda: np.arange(1.0, 7.0, 2.0))

case("arange_float_negative_step", lambda: T.arange(1.0, -1.0, -0.3, dtype="float64"),
     lambda: np.arange(1.0, -1.0, -0.3))
case("arange_float64_inputs", lambda a, b, c: T.arange(a, b, c), lambda a, b, c: np.arange(a, b, c),
     np.float64(1.0), np.float64(-1.0), np.float64(-0.3))
case("arange_sym_float", lambda x: T.arange(x.shape[0], dtype="float32"), lambda x: np.arange(len(x), dtype=np.float32),
     sym(_X))
case("alloc_expand_keeps_size", lambda v: T.alloc(v, 1, 4), lambda v: v, data("float32", 3, 4))
case("alloc_bool", lambda v, x: T.alloc(v, x.shape[0], 3), lambda v, x: np.broadcast_to(v, (len(x), 3)),
     data("bool", 3), sym(_X))
case("reshape_zero_minus1", lambda x: x.reshape((-1, 3)), lambda x: x.reshape(-1, 3), np.zeros((0, 6), np.int32))
case("reshape_to_shape", lambda x: T.reshape(x.flatten(2), x.shape), lambda x: x, sym(_R, 0, 2))
case("reshape_stacked_shape", lambda x: x.reshape(T.stack([x.shape[0], -1])), lambda x: x.reshape(len(x), -1),
     sym(_R))
case("reshape_scalar_to_vector", lambda x: T.zeros(T.reshape(x.shape[0], (1,))), lambda x: np.zeros(len(x), np.float32),
     sym(_X))
case("reshape_vector_to_scalar", lambda x: T.reshape(x.shape[1:], ()) * 2, lambda x: np.int64(2 * x.shape[1]),
     sym(_X))
case("zeros_shape_tail", lambda x: T.zeros(x.shape[1:]), lambda x: np.zeros(x.shape[1:], np.float32), sym(_R, 1))
case("shape_of_scalar", lambda x: x.shape, lambda x: np.zeros(0, np.int64), np.float32(1.5))
case("take_along_axis_int32", lambda x, i: apply_op("take_along_axis", [x, i], axis=2),
     lambda x, i: np.take_along_axis(x, i, axis=2), _X3, np.array([[[3], [0], [-1]], [[1], [1], [2]]], np.int32))
case("getitem_bool", lambda x: x[::-1, 1:], lambda x: x[::-1, 1:], sym(data("bool", 3, 5)))
case("getitem_int64_col", lambda x: x[:, 1], lambda x: x[:, 1], sym(data("int64", 3, 5)))
case("getitem_dyn_step2", lambda x, i: x[i::2, ::-2], lambda x, i: x[int(i)::2, ::-2], sym(_X, 0, 1), _i(1))
case("getitem_scalar_index_newaxis", lambda x: x[:, None, 1], lambda x: x[:, None, 1], sym(_X))

# small int dtypes, where ONNX Runtime's CPU kernels implement the op
case("neg_int8", T.neg, np.negative, data("int8", 3, 5))
case("relu_uint8", T.nnet.relu, lambda a: a, data("uint8", 3, 5, lo=0, hi=200))
case("maximum_uint8", T.maximum, np.maximum, data("uint8", 3, 5, lo=0, hi=9), data("uint8", 5, lo=0, hi=9))
case("lt_int16", lambda a, b: a < b, np.less, data("int16", 3, 1), data("int16", 1, 4))
case("cast_float32_to_uint8", lambda a: T.cast(a, "uint8"), lambda a: np.trunc(a).astype(np.uint8),
     data("float32", 3, 5, lo=0, hi=200))
case("cast_int16_to_int8", lambda a: T.cast(a, "int8"), lambda a: a.astype(np.int8), data("int16", 3, 5, lo=-100, hi=100))


# -- convolution and pooling (more in test_conv_ops.py) ------------------------------------------
def _correlate(x: np.ndarray, w: np.ndarray, s: tuple[int, ...], pads: tuple[int, ...]) -> np.ndarray:
    """Cross-correlation of (B, C, *S) by (F, C, *K), one output element at a time."""
    n = x.ndim - 2
    xp = np.pad(f64(x), [(0, 0), (0, 0)] + [(pads[i], pads[n + i]) for i in range(n)])
    out = [(xp.shape[2 + i] - w.shape[2 + i]) // s[i] + 1 for i in range(n)]
    y = np.zeros(x.shape[:1] + w.shape[:1] + tuple(out))
    for o in np.ndindex(*out):
        win = xp[(Ellipsis,) + tuple(slice(o[i] * s[i], o[i] * s[i] + w.shape[2 + i]) for i in range(n))]
        y[(Ellipsis,) + o] = win.reshape(len(x), -1) @ f64(w).reshape(len(w), -1).T
    return y


def _pool(x: np.ndarray, k: tuple[int, ...], s: tuple[int, ...], mode: str) -> np.ndarray:
    """Whole windows only (no padding): max or mean, one output element at a time."""
    n = x.ndim - 2
    out = [(x.shape[2 + i] - k[i]) // s[i] + 1 for i in range(n)]
    y = np.zeros(x.shape[:2] + tuple(out))
    for o in np.ndindex(*out):
        win = f64(x)[(Ellipsis,) + tuple(slice(o[i] * s[i], o[i] * s[i] + k[i]) for i in range(n))]
        y[(Ellipsis,) + o] = win.max(axis=tuple(range(2, x.ndim))) if mode == "max" else win.mean(axis=tuple(range(2, x.ndim)))
    return y


_IMG = data("float32", 2, 3, 5, 7)
_KER = data("float32", 4, 3, 3, 2)
case("conv2d_flip_stride", lambda x, w: T.nnet.conv2d(x, w, subsample=(2, 1)),
     lambda x, w: _correlate(x, w[:, :, ::-1, ::-1], (2, 1), (0,) * 4), sym(_IMG), _KER, tol=(1e-5, 1e-5))
case("conv2d_full_f64_sym", lambda x, w: T.nnet.conv2d(x, w, border_mode="full", filter_flip=False),
     lambda x, w: _correlate(x, w, (1, 1), (2, 1, 2, 1)), sym(data("float64", 2, 3, 5, 7), 0, 2, 3),
     data("float64", 4, 3, 3, 2))
case("conv1d_pad", lambda x, w: T.nnet.conv1d(x, w, border_mode=(1,), filter_flip=False),
     lambda x, w: _correlate(x, w, (1,), (1, 1)), sym(data("float32", 2, 3, 6)), data("float32", 2, 3, 2),
     tol=(1e-5, 1e-5))
case("conv3d_valid", lambda x, w: T.nnet.conv3d(x, w, filter_flip=False),
     lambda x, w: _correlate(x, w, (1, 1, 1), (0,) * 6), data("float32", 1, 2, 3, 4, 5), data("float32", 2, 2, 2, 3, 2),
     tol=(1e-5, 1e-5))
# a transposed convolution of a 1x1 input scatters the kernel: y = x * w
case("conv2d_transpose_1x1", lambda x, w: T.nnet.conv2d_transpose(x, w, output_shape=(None, 2, 3, 2),
                                                                filter_flip=False),
     lambda x, w: np.einsum("bc,cfhw->bfhw", f64(x[:, :, 0, 0]), f64(w)), sym(data("float32", 3, 4, 1, 1)),
     data("float32", 4, 2, 3, 2), tol=(1e-5, 1e-5))
case("max_pool_2d", lambda x: T.signal.pool.pool_2d(x, (2, 3), ignore_border=True, stride=(1, 2)),
     lambda x: _pool(x, (2, 3), (1, 2), "max"), sym(_IMG))
case("avg_pool_2d_f64", lambda x: T.signal.pool.pool_2d(x, (3, 2), ignore_border=True, mode="average_exc_pad"),
     lambda x: _pool(x, (3, 2), (3, 2), "mean"), sym(data("float64", 2, 3, 7, 5), 0, 2))


def _first_max_indices(x: np.ndarray, k: tuple[int, ...], s: tuple[int, ...], pads: tuple[int, ...],
                       out: tuple[int, ...]) -> np.ndarray:
    """Flat index into ``x`` of the first (row-major) maximum of each window's real elements."""
    n = x.ndim - 2
    y = np.zeros(x.shape[:2] + out, np.int64)
    for b, c in np.ndindex(*x.shape[:2]):
        for o in np.ndindex(*out):
            best = None
            for u in np.ndindex(*k):
                at = tuple(o[i] * s[i] + u[i] - pads[i] for i in range(n))
                if all(0 <= at[i] < x.shape[2 + i] for i in range(n)) and (best is None or x[(b, c) + at] > x[(b, c) + best]):
                    best = at
            y[(b, c) + o] = np.ravel_multi_index((b, c) + best, x.shape)
    return y


# ties everywhere (three values); overlapping windows, asymmetric pads, ceil_mode (a last window past the end pad)
case("max_pool_indices_ties_ceil",
     lambda x: apply_op("max_pool_indices", [x], kernel_shape=(3, 2), strides=(2, 1), pads=(1, 0, 0, 1), ceil_mode=True),
     lambda x: _first_max_indices(x, (3, 2), (2, 1), (1, 0), (3, 7)), sym(np.round(data("float32", 2, 3, 5, 7) / 3)))
case("max_pool_indices_f64_sym_3d",
     lambda x: apply_op("max_pool_indices", [x], kernel_shape=(2, 2, 1), strides=(1, 2, 1), pads=(0, 1, 0, 0, 0, 0)),
     lambda x: _first_max_indices(x, (2, 2, 1), (1, 2, 1), (0, 1, 0), (2, 2, 2)), sym(data("float64", 2, 1, 3, 3, 2), 0, 2, 3, 4))


# -- the checks ---------------------------------------------------------------------
def _dim_value(d: Dim, env: dict[str, int]) -> int | None:
    """The size a product-of-input-dims name stands for, or None when not derived from inputs."""
    size = 1
    for part in d.name.split("*"):
        if part.isdigit():
            size *= int(part)
        elif part in env:
            size *= env[part]
        else:
            return None
    return size


def check_static_shape(out: Variable, actual: tuple[int, ...], placeholders: list[Variable], values: list[Any]) -> None:
    """Int dims must equal the real sizes; dims named after input dims must equal theirs."""
    env: dict[str, int] = {}
    for p, v in zip(placeholders, values):
        for d, n in zip(p.type.shape, np.shape(v)):
            if isinstance(d, Dim):
                env[d.name] = n
    static = out.type.shape
    assert len(static) == len(actual), f"inferred rank of {static} != real shape {actual}"
    for axis, (d, n) in enumerate(zip(static, actual)):
        if isinstance(d, Dim):
            known = _dim_value(d, env)
            assert known is None or known == n, f"axis {axis}: symbolic {d} = {known}, real size {n}"
        else:
            assert isinstance(d, int) and d == n, f"axis {axis}: inferred {static}, real shape {actual}"


def assert_matches(got: Any, expected: np.ndarray, dtype: str, tol: tuple[float, float] | None, what: str) -> None:
    """``got`` has the declared dtype, the oracle's shape and (within tolerance) its values."""
    got = np.asarray(got)
    assert got.dtype == np.dtype(dtype), f"{what}: dtype {got.dtype}, declared {dtype}"
    assert got.shape == expected.shape, f"{what}: shape {got.shape}, expected {expected.shape}"
    if np.dtype(dtype).kind == "f":
        rtol, atol = tol or TOL[dtype]
        np.testing.assert_allclose(got, expected.astype(np.float64), rtol=rtol, atol=atol, equal_nan=True, err_msg=what)
    else:
        np.testing.assert_array_equal(got, expected.astype(dtype), err_msg=what)


def ort_session(model: Any) -> ort.InferenceSession:
    """A CPU session with ONNX Runtime's log kept quiet."""
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    return ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])


def placeholders_for(c: Case) -> list[Variable]:
    """One input variable per case input, named ``x0``, ``x1``..."""
    return [T.tensor(i.value.dtype.name, shape=i.decl, name=f"x{k}") for k, i in enumerate(c.inputs)]


@pytest.mark.parametrize("c", [pytest.param(c, id=c.name, marks=c.marks) for c in CASES])
def test_op(c: Case) -> None:
    """numpy eval, ONNX Runtime and onnx.reference agree with the oracle; static shape is right."""
    xs = placeholders_for(c)
    values = [i.value for i in c.inputs]
    out = c.fn(*xs)
    with np.errstate(all="ignore"):
        expected = np.asarray(c.oracle(*values))
    check_static_shape(out, expected.shape, xs, values)

    graph = build_graph([(out, "y")], xs)
    verify(graph)
    (got,) = evaluate(graph, dict(zip(graph.inputs, values)))
    assert_matches(got, expected, out.dtype, c.tol, "numpy eval")

    feeds = {f"x{k}": v for k, v in enumerate(values)}
    for opset in c.opsets:
        model = to_onnx({"y": out}, xs, opset=opset, optimize="O0")  # the lowerings themselves, unfolded
        (got,) = ort_session(model).run(None, feeds)
        assert_matches(got, expected, out.dtype, c.tol, f"onnxruntime, opset {opset}")
        if c.no_reference:
            continue
        with np.errstate(all="ignore"):
            (got,) = ReferenceEvaluator(model).run(None, feeds)
        assert_matches(got, expected, out.dtype, c.tol, f"onnx.reference, opset {opset}")


# -- random ops: statistics, not values ------------------------------------------------------
@dataclass(frozen=True)
class RandomCase:
    """A sampling op with the moments its samples must show (and a range for uniform)."""

    name: str
    fn: Callable[..., Variable]
    inputs: tuple[In, ...]
    mean: float
    std: float
    low: float | None = None
    high: float | None = None


_SIZE = (200, 100)  # 20000 samples: the sample mean is within 5 standard errors with near certainty
RANDOM_CASES = [
    RandomCase("uniform_f32", lambda: T.RandomStreams(3).uniform(_SIZE, low=-2.0, high=3.0), (), 0.5,
               5 / math.sqrt(12), -2.0, 3.0),
    RandomCase("uniform_f64_sym_size", lambda x: T.RandomStreams(4).uniform(x.shape, dtype="float64"),
               (sym(np.zeros(_SIZE, np.float32)),), 0.5, 1 / math.sqrt(12), 0.0, 1.0),
    RandomCase("normal_f32", lambda: T.RandomStreams(5).normal(_SIZE, avg=1.5, std=2.0), (), 1.5, 2.0),
    RandomCase("normal_f64_sym_size", lambda x: T.RandomStreams(6).normal((x.shape[0], 100), dtype="float64"),
               (sym(np.zeros(_SIZE, np.int32)),), 0.0, 1.0),
]


def check_samples(s: np.ndarray, rc: RandomCase, dtype: str, what: str) -> None:
    """Shape, dtype, range and moments of 20000 samples."""
    assert s.shape == _SIZE and s.dtype == np.dtype(dtype), f"{what}: {s.shape} {s.dtype}"
    assert np.isfinite(s).all(), what
    if rc.low is not None:
        assert s.min() >= rc.low and s.max() <= rc.high, f"{what}: samples outside [{rc.low}, {rc.high}]"
        assert s.min() < rc.low + 0.01 * (rc.high - rc.low) and s.max() > rc.high - 0.01 * (rc.high - rc.low), what
    se = rc.std / math.sqrt(s.size)
    assert abs(s.mean() - rc.mean) < 5 * se, f"{what}: mean {s.mean()}, expected {rc.mean}"
    assert abs(s.std() - rc.std) < 0.03 * rc.std, f"{what}: std {s.std()}, expected {rc.std}"
    assert len(np.unique(s)) > 0.9 * s.size, f"{what}: samples repeat"


@pytest.mark.parametrize("rc", RANDOM_CASES, ids=lambda rc: rc.name)
def test_random(rc: RandomCase) -> None:
    """numpy eval, ONNX Runtime and onnx.reference draw samples with the right statistics."""
    xs = [T.tensor(i.value.dtype.name, shape=i.decl, name=f"x{k}") for k, i in enumerate(rc.inputs)]
    values = [i.value for i in rc.inputs]
    out = rc.fn(*xs)
    check_static_shape(out, _SIZE, xs, values)
    graph = build_graph([(out, "y")], xs)
    verify(graph)
    first = evaluate(graph, dict(zip(graph.inputs, values)))[0]
    check_samples(first, rc, out.dtype, "numpy eval")
    second = evaluate(graph, dict(zip(graph.inputs, values)))[0]
    assert not np.array_equal(first, second), "numpy eval: a second run repeats the samples"

    model = to_onnx({"y": out}, xs, optimize="O0")
    feeds = {f"x{k}": v for k, v in enumerate(values)}
    sess = ort_session(model)
    (a,) = sess.run(None, feeds)
    check_samples(a, rc, out.dtype, "onnxruntime")
    (b,) = sess.run(None, feeds)
    assert not np.array_equal(a, b), "onnxruntime: a second run repeats the samples"
    (again,) = ort_session(model).run(None, feeds)
    np.testing.assert_array_equal(again, a, err_msg="onnxruntime: a fresh session must repeat the seeded sequence")
    (r,) = ReferenceEvaluator(model).run(None, feeds)
    check_samples(r, rc, out.dtype, "onnx.reference")
