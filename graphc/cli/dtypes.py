"""Every tensor dtype ONNX Runtime runs: random values, feeding, reading outputs back, comparing.

numpy's own dtypes go through ``InferenceSession.run``.  ``bfloat16`` and the
``float8`` types are ``ml_dtypes`` arrays in numpy, which ONNX Runtime's ``run`` does
not accept (nor return): those models run through ``run_with_ort_values``, the
inputs as ``OrtValue``s of the ONNX element type and the outputs copied back into
``ml_dtypes`` arrays.  Strings are numpy ``object`` arrays of ``str``.
"""

from __future__ import annotations

import ctypes
from typing import Any

import numpy as np

__all__ = ["random_array", "is_ml_float", "onnx_type", "runner", "run_session", "compare"]

_WORDS = np.array(list("abcdefghijklmnopqrstuvwxyz"))


def onnx_type(dtype: Any) -> int:
    """The ONNX element type of a numpy dtype (0 when there is none)."""
    from onnx import helper

    try:
        return int(helper.np_dtype_to_tensor_dtype(np.dtype(dtype)))
    except (KeyError, TypeError, ValueError):
        return 0


def is_ml_float(dtype: Any) -> bool:
    """True for ``bfloat16`` and the ``float8`` types (``ml_dtypes``): floats numpy does not know natively."""
    dtype = np.dtype(dtype)
    return dtype.kind not in "biufcOUSMm" or (dtype.kind == "f" and dtype.type.__module__.startswith("ml_dtypes"))


def _is_float(dtype: np.dtype) -> bool:
    return dtype.kind == "f" or is_ml_float(dtype)


def random_array(rng: np.random.Generator, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """Random data of ``dtype``: floats ~ N(0, 1), complex N(0, 1) + i N(0, 1), strings random lowercase
    words, integers 0 (safe as indices and shape values), bools False (safe as loop conditions)."""
    dtype = np.dtype(dtype)
    if dtype in (np.float32, np.float64):
        return rng.standard_normal(shape, dtype=dtype.type)
    if _is_float(dtype):
        return rng.standard_normal(shape, dtype=np.float32).astype(dtype)
    if dtype.kind == "c":
        real = np.float32 if dtype.itemsize == 8 else np.float64
        return (rng.standard_normal(shape, dtype=real) + 1j * rng.standard_normal(shape, dtype=real)).astype(dtype)
    if dtype.kind in "OUS":
        out = np.empty(shape, dtype=object)
        lengths = rng.integers(1, 9, size=out.size)
        letters = rng.integers(0, len(_WORDS), size=int(lengths.sum()))
        flat = out.reshape(-1)
        pos = 0
        for i, n in enumerate(lengths):
            flat[i] = "".join(_WORDS[letters[pos:pos + n]])
            pos += n
        return out
    return np.zeros(shape, dtype=dtype)


def _needs_ort_values(sess: Any, feeds: dict[str, np.ndarray]) -> bool:
    if any(is_ml_float(a.dtype) for a in feeds.values()):
        return True
    return any(_ml_dtype_of(o.type) is not None for o in sess.get_outputs())


def _ml_dtype_of(type_text: str) -> np.dtype | None:
    """The ``ml_dtypes`` dtype of an ONNX Runtime type string such as ``'tensor(bfloat16)'`` (None for others)."""
    import ml_dtypes

    name = type_text.removeprefix("tensor(").removesuffix(")")
    known = {
        "bfloat16": ml_dtypes.bfloat16, "float8e4m3fn": ml_dtypes.float8_e4m3fn, "float8e4m3fnuz": ml_dtypes.float8_e4m3fnuz,
        "float8e5m2": ml_dtypes.float8_e5m2, "float8e5m2fnuz": ml_dtypes.float8_e5m2fnuz,
    }
    return np.dtype(known[name]) if name in known else None


def _to_ort_value(a: np.ndarray) -> Any:
    import onnxruntime as ort

    a = np.ascontiguousarray(a)
    if is_ml_float(a.dtype):
        raw = a.view(np.uint16 if a.dtype.itemsize == 2 else np.uint8)
        return ort.OrtValue.ortvalue_from_numpy_with_onnx_type(raw, onnx_type(a.dtype))
    return ort.OrtValue.ortvalue_from_numpy(a)


def _from_ort_value(v: Any) -> Any:
    if not v.is_tensor():
        return v.numpy()  # a sequence or map: ONNX Runtime converts what it can
    dtype = _ml_dtype_of(v.data_type())
    if dtype is None:
        return v.numpy()
    if v.device_name().lower() != "cpu":
        raise ValueError(f"cannot read a {v.data_type()} output back from {v.device_name()}")
    shape = tuple(v.shape())
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    out = np.empty(shape, dtype=dtype)
    if nbytes:
        ctypes.memmove(out.ctypes.data, v.data_ptr(), nbytes)
    return out


def runner(sess: Any, feeds: dict[str, np.ndarray]) -> Any:
    """A function ``run(run_options) -> outputs`` for ``sess`` on ``feeds``, the way chosen once:
    ``sess.run``, or ``OrtValue``s where an input or output is an ``ml_dtypes`` float."""
    if not _needs_ort_values(sess, feeds):
        return lambda run_options=None: sess.run(None, feeds, run_options)
    values = {k: _to_ort_value(a) for k, a in feeds.items()}
    return lambda run_options=None: [_from_ort_value(v) for v in sess.run_with_ort_values(None, values, run_options)]


def run_session(sess: Any, feeds: dict[str, np.ndarray], run_options: Any = None) -> list[Any]:
    """``sess.run(None, feeds, run_options)``, through ``OrtValue``s where an input or output is an ``ml_dtypes`` float."""
    return runner(sess, feeds)(run_options)


def _text(a: np.ndarray) -> np.ndarray:
    return np.vectorize(lambda s: s.decode("utf-8", "replace") if isinstance(s, bytes) else str(s), otypes=[object])(a)


def _tolerances(dtype: np.dtype, rtol: float, atol: float) -> tuple[float, float]:
    """No tolerance below the dtype's own precision (a float16 result is only good to ~1e-3)."""
    try:
        import ml_dtypes

        eps = float(ml_dtypes.finfo(dtype).eps)
    except (ImportError, TypeError, ValueError):
        return rtol, atol
    if eps <= 1e-6:
        return rtol, atol
    return max(rtol, 2 * eps), max(atol, 2 * eps)


def compare(a: Any, b: Any, rtol: float, atol: float) -> tuple[bool, str]:
    """Whether two outputs (ONNX Runtime's and ``onnx.reference``'s) agree, and the words to say so.

    Floats (``ml_dtypes`` ones too) within ``rtol``/``atol`` (never tighter than their
    precision), NaN equal to NaN; complex numbers likewise; integers, bools and
    strings exactly.  Sequences compare item by item.
    """
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        if not isinstance(a, (list, tuple)) or not isinstance(b, (list, tuple)) or len(a) != len(b):
            return False, f"ONNX Runtime gives {_describe(a)}, onnx.reference {_describe(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            ok, text = compare(x, y, rtol, atol)
            if not ok:
                return False, f"item {i}: {text}"
        return True, f"sequence of {len(a)}: ONNX Runtime vs onnx.reference agree"
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return False, f"ONNX Runtime shape {a.shape}, onnx.reference {b.shape}"
    if a.dtype.kind in "OUS" or b.dtype.kind in "OUS":
        diff = int(np.sum(_text(a) != _text(b))) if a.size else 0
        return diff == 0, f"{a.shape}: ONNX Runtime vs onnx.reference, {diff} string(s) differ"
    if _is_float(a.dtype) or _is_float(b.dtype) or a.dtype.kind == "c" or b.dtype.kind == "c":
        wide = np.complex128 if "c" in (a.dtype.kind, b.dtype.kind) else np.float64
        x, y = a.astype(wide), b.astype(wide)
        rt, at = _tolerances(a.dtype if _is_float(a.dtype) else b.dtype, rtol, atol)
        both = np.isfinite(x) & np.isfinite(y)
        diff = float(np.max(np.abs(x[both] - y[both]))) if both.any() else 0.0
        with np.errstate(invalid="ignore", over="ignore"):
            close = bool(np.allclose(x, y, rtol=rt, atol=at, equal_nan=True))
        return close, f"{a.shape}: ONNX Runtime vs onnx.reference, max |diff| {diff:.3g}"
    diff = int(np.sum(a != b))
    return diff == 0, f"{a.shape}: ONNX Runtime vs onnx.reference, {diff} value(s) differ"


def _describe(x: Any) -> str:
    if isinstance(x, (list, tuple)):
        return f"a sequence of {len(x)}"
    x = np.asarray(x)
    return f"{x.dtype} {x.shape}"
