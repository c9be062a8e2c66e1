"""The conv, conv_transpose, max_pool and avg_pool ops against naive numpy loops.

Each oracle here computes every output element on its own from the ONNX
definition (a different formulation from the ops' numpy ``eval``).  Each case
checks graphc's numpy eval, ONNX Runtime and ``onnx.reference`` on the
exported model, float32 (ONNX Runtime's kernels) and float64 (graphc's exact
decomposition), with static and symbolic spatial sizes.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
from onnx.reference import ReferenceEvaluator

import graphc.tensor as T
from graphc.export import to_onnx
from graphc.ir.build import build_graph
from graphc.ir.evaluate import evaluate
from graphc.ir.types import Dim
from graphc.tensor.variable import Variable, apply_op

RNG = np.random.default_rng(7)
TOL = {"float16": dict(rtol=1e-2, atol=1e-2), "float32": dict(rtol=2e-5, atol=2e-5),
       "float64": dict(rtol=1e-12, atol=1e-12)}


# -- oracles ------------------------------------------------------------------------------------
def ref_conv(x: np.ndarray, w: np.ndarray, strides: Any, pads: Any, dil: Any, groups: int) -> np.ndarray:
    """y[b, f, o] = sum over c in f's group and kernel offsets u of xpad[b, c, o*s + u*d] * w[f, c', u]."""
    n = x.ndim - 2
    xp = np.pad(x.astype(np.float64), [(0, 0), (0, 0)] + [(pads[i], pads[n + i]) for i in range(n)])
    b, c = x.shape[:2]
    f, cg = w.shape[:2]
    k = w.shape[2:]
    out_sp = [(xp.shape[2 + i] - (k[i] - 1) * dil[i] - 1) // strides[i] + 1 for i in range(n)]
    y = np.zeros((b, f) + tuple(out_sp))
    fg = f // groups
    for o in itertools.product(*map(range, out_sp)):
        rows = [np.arange(k[i]) * dil[i] + o[i] * strides[i] for i in range(n)]
        region = xp[np.ix_(range(b), range(c), *rows)]
        for fi in range(f):
            g = fi // fg
            y[(slice(None), fi) + o] = (region[:, g * cg : (g + 1) * cg] * w[fi]).reshape(b, -1).sum(axis=1)
    return y


def ref_conv_transpose(
    x: np.ndarray, w: np.ndarray, strides: Any, pads: Any, dil: Any, out_pad: Any, groups: int
) -> np.ndarray:
    """y[b, f, o] = sum of x[b, c, i] * w[c, f', u] over o = i*s + u*d - pad_begin."""
    n = x.ndim - 2
    b, c = x.shape[:2]
    fg = w.shape[1]
    k = w.shape[2:]
    cg = c // groups
    out_sp = [
        (x.shape[2 + i] - 1) * strides[i] + (k[i] - 1) * dil[i] + 1 + out_pad[i] - pads[i] - pads[n + i]
        for i in range(n)
    ]
    y = np.zeros((b, fg * groups) + tuple(out_sp))
    for o in itertools.product(*map(range, out_sp)):
        for u in itertools.product(*map(range, k)):
            src = []
            for i in range(n):
                q = o[i] + pads[i] - u[i] * dil[i]
                if q % strides[i] or not 0 <= q // strides[i] < x.shape[2 + i]:
                    break
                src.append(q // strides[i])
            else:
                for g in range(groups):
                    xs = x[(slice(None), slice(g * cg, (g + 1) * cg)) + tuple(src)]  # (b, cg)
                    ws = w[(slice(g * cg, (g + 1) * cg), slice(None)) + u]  # (cg, fg)
                    y[(slice(None), slice(g * fg, (g + 1) * fg)) + o] += xs.astype(np.float64) @ ws
    return y


def ref_pool(x: np.ndarray, k: Any, s: Any, pads: Any, ceil: bool, mode: str) -> np.ndarray:
    """ONNX pooling: windows of the padded input, -inf padding for max, two average divisors."""
    n = x.ndim - 2
    counts, lengths = [], []
    for i in range(n):
        length = x.shape[2 + i] + pads[i] + pads[n + i]
        q = (length - k[i]) / s[i]
        m = (int(np.ceil(q)) if ceil else int(np.floor(q))) + 1
        if ceil and (m - 1) * s[i] >= x.shape[2 + i] + pads[i]:
            m -= 1
        counts.append(m)
        lengths.append(length)
    y = np.zeros(x.shape[:2] + tuple(counts))
    for o in itertools.product(*map(range, counts)):
        real, in_padded = [], 1
        for i in range(n):
            lo, hi = o[i] * s[i], min(o[i] * s[i] + k[i], lengths[i])
            in_padded *= hi - lo
            real.append(range(max(lo - pads[i], 0), min(hi - pads[i], x.shape[2 + i])))
        region = x[np.ix_(range(x.shape[0]), range(x.shape[1]), *real)].reshape(x.shape[0], x.shape[1], -1)
        if mode == "max":
            y[(Ellipsis,) + o] = region.max(axis=2)
        else:
            y[(Ellipsis,) + o] = region.astype(np.float64).sum(axis=2) / (in_padded if mode == "inc" else region.shape[2])
    return y


# -- running ------------------------------------------------------------------------------------
def run_all(fn: Any, values: list[np.ndarray], decls: list[Any], reference: bool = True) -> tuple[Variable, list[Any]]:
    """numpy eval, ONNX Runtime and onnx.reference results of ``fn(*placeholders)``."""
    xs = [T.tensor(v.dtype.name, shape=d, name=f"x{k}") for k, (v, d) in enumerate(zip(values, decls))]
    out = fn(*xs)
    graph = build_graph([(out, "y")], xs)
    (ev,) = evaluate(graph, dict(zip(graph.inputs, values)))
    model = to_onnx({"y": out}, xs)
    feeds = {f"x{k}": v for k, v in enumerate(values)}
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    (got,) = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"]).run(None, feeds)
    results = [("numpy eval", ev), ("onnxruntime", got)]
    if reference:
        results.append(("onnx.reference", ReferenceEvaluator(model).run(None, feeds)[0]))
    return out, results


def check(out: Variable, results: list[Any], expected: np.ndarray, dtype: str, tol: dict[str, float] | None = None) -> None:
    """Every result has the oracle's values, the declared dtype, and the static sizes of the type."""
    for axis, d in enumerate(out.type.shape):
        assert isinstance(d, Dim) or d == expected.shape[axis], (out.type, expected.shape)
    for what, got in results:
        assert got.dtype == np.dtype(dtype), what
        assert got.shape == expected.shape, (what, got.shape, expected.shape)
        np.testing.assert_allclose(got, expected, err_msg=what, **(tol or TOL[dtype]))


def spatial_decl(shape: tuple[int, ...], symbolic: bool) -> tuple[Any, ...]:
    return (None, shape[1]) + ((None,) * (len(shape) - 2) if symbolic else shape[2:])


# -- conv ---------------------------------------------------------------------------------------
CONV_CASES = [
    # name, x shape, w shape, strides, pads, dilations, groups
    ("1d", (2, 3, 9), (4, 3, 3), (2,), (1, 0), (1,), 1),
    ("2d_plain", (2, 3, 5, 7), (4, 3, 3, 2), (1, 1), (0, 0, 0, 0), (1, 1), 1),
    ("2d_strided_padded", (2, 2, 7, 6), (3, 2, 2, 3), (2, 3), (1, 2, 0, 1), (1, 1), 1),
    ("2d_dilated", (1, 3, 8, 9), (2, 3, 3, 2), (1, 2), (2, 0, 1, 1), (2, 3), 1),
    ("2d_groups", (2, 6, 5, 7), (4, 3, 2, 3), (1, 2), (1, 1, 0, 1), (1, 1), 2),
    ("2d_depthwise", (2, 3, 6, 5), (6, 1, 3, 3), (2, 1), (1, 1, 1, 1), (1, 2), 3),
    ("3d", (1, 2, 4, 5, 6), (3, 2, 2, 3, 2), (1, 2, 1), (0, 1, 1, 1, 0, 0), (1, 1, 2), 1),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("symbolic", [False, True], ids=["static", "symbolic"])
@pytest.mark.parametrize("name,xs,ws,strides,pads,dil,groups", CONV_CASES, ids=[c[0] for c in CONV_CASES])
def test_conv(name: str, xs: Any, ws: Any, strides: Any, pads: Any, dil: Any, groups: int, symbolic: bool,
              dtype: str) -> None:
    x = RNG.standard_normal(xs).astype(dtype)
    w = RNG.standard_normal(ws).astype(dtype)
    out, results = run_all(
        lambda a, b: apply_op("conv", [a, b], strides=strides, pads=pads, dilations=dil, groups=groups),
        [x, w], [spatial_decl(xs, symbolic), ws],
    )
    check(out, results, ref_conv(x, w, strides, pads, dil, groups), dtype)


def test_conv_same_size_keeps_symbolic_dims() -> None:
    x = T.tensor4("x", shape=(None, 3, None, None))
    y = apply_op("conv", [x, T.tensor4("w", shape=(2, 3, 3, 5))], strides=(1, 1), pads=(1, 2, 1, 2))
    assert y.type.shape[2:] == x.type.shape[2:]
    z = apply_op("conv", [x, T.tensor4("w", shape=(2, 3, 3, 5))], strides=(1, 1), pads=(0, 0, 0, 0))
    assert all(isinstance(d, Dim) and d not in x.type.shape for d in z.type.shape[2:])


# -- conv_transpose -----------------------------------------------------------------------------
CONVT_CASES = [
    # name, x shape, w shape, strides, pads, dilations, output_padding, groups
    ("1d", (2, 3, 5), (3, 2, 3), (2,), (1, 0), (1,), (1,), 1),
    ("2d_plain", (2, 3, 4, 5), (3, 2, 3, 2), (1, 1), (0, 0, 0, 0), (1, 1), (0, 0), 1),
    ("2d_strided_cropped", (2, 2, 4, 3), (2, 3, 3, 2), (2, 3), (1, 0, 2, 1), (1, 1), (1, 2), 1),
    ("2d_dilated", (1, 3, 4, 5), (3, 2, 2, 3), (2, 1), (0, 1, 1, 0), (2, 2), (0, 0), 1),
    ("2d_groups", (2, 4, 3, 5), (4, 3, 2, 3), (2, 2), (1, 1, 0, 1), (1, 1), (1, 0), 2),
    ("3d", (1, 2, 3, 4, 2), (2, 3, 2, 2, 3), (1, 2, 2), (0, 1, 1, 0, 0, 1), (1, 1, 1), (0, 1, 0), 1),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("symbolic", [False, True], ids=["static", "symbolic"])
@pytest.mark.parametrize("name,xs,ws,strides,pads,dil,out_pad,groups", CONVT_CASES, ids=[c[0] for c in CONVT_CASES])
def test_conv_transpose(name: str, xs: Any, ws: Any, strides: Any, pads: Any, dil: Any, out_pad: Any, groups: int,
                        symbolic: bool, dtype: str) -> None:
    x = RNG.standard_normal(xs).astype(dtype)
    w = RNG.standard_normal(ws).astype(dtype)
    # onnx.reference's ConvTranspose mishandles group > 1 (a broadcast error); float64 is lowered without it
    reference = groups == 1 or dtype == "float64"
    out, results = run_all(
        lambda a, b: apply_op("conv_transpose", [a, b], strides=strides, pads=pads, dilations=dil,
                              output_padding=out_pad, groups=groups),
        [x, w], [spatial_decl(xs, symbolic), ws], reference=reference,
    )
    check(out, results, ref_conv_transpose(x, w, strides, pads, dil, out_pad, groups), dtype)


# -- pooling ------------------------------------------------------------------------------------
POOL_CASES = [
    # name, x shape, kernel, strides, pads, ceil_mode
    ("1d", (2, 3, 9), (3,), (2,), (1, 2), False),
    ("2d_plain", (2, 3, 5, 7), (2, 3), (2, 3), (0, 0, 0, 0), False),
    ("2d_overlap_padded", (2, 2, 7, 6), (3, 2), (2, 1), (1, 1, 2, 0), False),
    ("2d_ceil", (2, 3, 7, 9), (3, 2), (2, 3), (0, 0, 0, 0), True),
    ("2d_ceil_stride_over_kernel", (1, 2, 7, 10), (2, 2), (3, 4), (1, 0, 1, 1), True),
    ("2d_ceil_padded", (2, 2, 8, 7), (3, 3), (2, 2), (1, 1, 0, 2), True),
    ("3d", (1, 2, 4, 5, 6), (2, 3, 2), (2, 1, 3), (1, 0, 1, 0, 1, 1), False),
    ("2d_unit_strides_padded", (2, 2, 5, 6), (3, 2), (1, 1), (2, 0, 1, 1), False),
]


@pytest.mark.parametrize("mode", ["max", "inc", "exc"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("symbolic", [False, True], ids=["static", "symbolic"])
@pytest.mark.parametrize("name,xs,k,s,pads,ceil", POOL_CASES, ids=[c[0] for c in POOL_CASES])
def test_pool(name: str, xs: Any, k: Any, s: Any, pads: Any, ceil: bool, symbolic: bool, dtype: str, mode: str) -> None:
    x = RNG.standard_normal(xs).astype(dtype)
    attrs: dict[str, Any] = dict(kernel_shape=k, strides=s, pads=pads, ceil_mode=ceil)
    if mode != "max":
        attrs["count_include_pad"] = mode == "inc"
    op = "max_pool" if mode == "max" else "avg_pool"
    # onnx.reference's MaxPool reads pads in the wrong order when all strides are 1 (and fails in 1-d)
    reference = not (mode == "max" and set(s) == {1} and any(pads))
    out, results = run_all(lambda a: apply_op(op, [a], **attrs), [x], [spatial_decl(xs, symbolic)], reference)
    # run-time sizes with ceil_mode: float64 averages run in float32 between casts
    narrowed = symbolic and ceil and dtype == "float64" and mode != "max"
    check(out, results, ref_pool(x, k, s, pads, ceil, mode), dtype, tol=TOL["float32"] if narrowed else None)


def test_float16() -> None:
    x = RNG.standard_normal((2, 3, 5, 7)).astype("float16")
    w = RNG.standard_normal((4, 3, 3, 2)).astype("float16")
    conv = dict(strides=(2, 1), pads=(1, 0, 0, 1), dilations=(1, 1), groups=1)
    out, results = run_all(lambda a, b: apply_op("conv", [a, b], **conv), [x, w], [spatial_decl(x.shape, True), w.shape])
    check(out, results, ref_conv(x, w, (2, 1), (1, 0, 0, 1), (1, 1), 1), "float16")
    wt = RNG.standard_normal((3, 2, 3, 2)).astype("float16")
    out, results = run_all(lambda a, b: apply_op("conv_transpose", [a, b], output_padding=(1, 0), **conv), [x, wt],
                           [x.shape, wt.shape])
    check(out, results, ref_conv_transpose(x, wt, (2, 1), (1, 0, 0, 1), (1, 1), (1, 0), 1), "float16")
    pool = dict(kernel_shape=(2, 3), strides=(2, 2), pads=(1, 1, 1, 1), ceil_mode=True, count_include_pad=True)
    out, results = run_all(lambda a: apply_op("avg_pool", [a], **pool), [x], [x.shape])
    check(out, results, ref_pool(x, (2, 3), (2, 2), (1, 1, 1, 1), True, "inc"), "float16")


def test_float64_with_run_time_kernel_sizes() -> None:
    """Weights of unknown size cannot be decomposed when exported: float64 then runs in float32."""
    x = RNG.standard_normal((2, 4, 6, 5))
    w = RNG.standard_normal((4, 2, 3, 2))
    attrs = dict(strides=(2, 1), pads=(1, 0, 1, 1), dilations=(1, 2), groups=2)
    out, results = run_all(lambda a, b: apply_op("conv", [a, b], **attrs), [x, w], [x.shape, (None,) * 4])
    check(out, results, ref_conv(x, w, (2, 1), (1, 0, 1, 1), (1, 2), 2), "float64", tol=TOL["float32"])
    wt = RNG.standard_normal((4, 3, 3, 2))
    out, results = run_all(lambda a, b: apply_op("conv_transpose", [a, b], output_padding=(1, 0), **attrs), [x, wt],
                           [x.shape, (None,) * 4], reference=False)
    check(out, results, ref_conv_transpose(x, wt, (2, 1), (1, 0, 1, 1), (1, 2), (1, 0), 2), "float64",
          tol=TOL["float32"])


@pytest.mark.parametrize("dtype", ["int8", "uint8", "float16"])
def test_max_pool_small_dtypes(dtype: str) -> None:
    x = RNG.integers(0, 100, size=(2, 3, 5, 6)).astype(dtype)
    out, results = run_all(
        lambda a: apply_op("max_pool", [a], kernel_shape=(2, 3), strides=(2, 2), pads=(1, 0, 0, 2)), [x], [x.shape]
    )
    expected = ref_pool(x, (2, 3), (2, 2), (1, 0, 0, 2), False, "max")
    for what, got in results:
        assert got.dtype == np.dtype(dtype), what
        np.testing.assert_array_equal(got, expected.astype(dtype), err_msg=what)


# -- construction errors ------------------------------------------------------------------------
def _x(*shape: Any, dtype: str = "float32") -> Variable:
    return T.tensor(dtype, shape=shape, name="x")


@pytest.mark.parametrize(
    "build,match",
    [
        (lambda: apply_op("conv", [_x(2, 3, 5, 7), _x(4, 2, 3, 3)], strides=(1, 1), pads=(0,) * 4),
         r"channel mismatch.*3 channels.*\(2, 3, 5, 7\).*\(4, 2, 3, 3\)"),
        (lambda: apply_op("conv", [_x(2, 3, 5, 7), _x(4, 3, 6, 3)], strides=(1, 1), pads=(0,) * 4),
         r"larger than the padded input.*\(2, 3, 5, 7\)"),
        (lambda: apply_op("conv", [_x(2, 3, 5, 7), _x(4, 3, 3, 3)], strides=(1, 1), pads=(0,) * 4, dilations=(3, 1)),
         r"window \(7 elements"),
        (lambda: apply_op("conv", [_x(2, 6, 5, 7), _x(4, 3, 3, 3)], strides=(1, 1), pads=(0,) * 4, groups=4),
         r"groups=4 must divide"),
        (lambda: apply_op("conv", [_x(2, 3, 5, 7), _x(4, 3, 3)], strides=(1, 1), pads=(0,) * 4), r"kernel axes"),
        (lambda: apply_op("conv", [_x(2, 3, 5, 7), _x(4, 3, 3, 3)], strides=(1,), pads=(0,) * 4), r"strides must have 2"),
        (lambda: apply_op("conv", [_x(3, 5), _x(3, 5)], strides=(), pads=()), r"at least one spatial axis"),
        (lambda: apply_op("conv_transpose", [_x(2, 3, 5, 7), _x(2, 4, 3, 3)], strides=(1, 1), pads=(0,) * 4),
         r"channel mismatch"),
        (lambda: apply_op("conv_transpose", [_x(2, 3, 5, 7), _x(3, 4, 3, 3)], strides=(2, 1), pads=(0,) * 4,
                          output_padding=(2, 0)), r"output_padding"),
        (lambda: apply_op("conv_transpose", [_x(2, 3, 1, 7), _x(3, 4, 1, 3)], strides=(1, 1), pads=(1, 0, 0, 0)),
         r"crop away"),
        (lambda: apply_op("max_pool", [_x(2, 3, 2, 7)], kernel_shape=(3, 2), strides=(1, 1), pads=(0,) * 4),
         r"larger than the padded input.*\(2, 3, 2, 7\)"),
        (lambda: apply_op("avg_pool", [_x(2, 3, 5, 7)], kernel_shape=(2, 2), strides=(1, 1), pads=(2, 0, 0, 0)),
         r"pad must be smaller than the window"),
    ],
)
def test_shape_errors(build: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        build()


def test_dtype_errors() -> None:
    with pytest.raises(TypeError, match="float"):
        apply_op("conv", [_x(2, 3, 5, dtype="int32"), _x(4, 3, 3, dtype="int32")], strides=(1,), pads=(0, 0))
    with pytest.raises(TypeError, match="differ"):
        apply_op("conv", [_x(2, 3, 5), _x(4, 3, 3, dtype="float64")], strides=(1,), pads=(0, 0))
    with pytest.raises(TypeError, match="avg_pool"):
        apply_op("avg_pool", [_x(2, 3, 5, dtype="int8")], kernel_shape=(2,), strides=(1,), pads=(0, 0))
