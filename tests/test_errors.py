"""The bad-input error table: every public entry point, the bad inputs it can meet, the error each gives.

One row per bad input: the entry point, the bad input in words, a zero-argument callable that
triggers it, the exception type expected and regex fragments the message must contain (the
culprit: the layer, input, parameter or argument; and what was expected).  ``CASES`` are the
rows graphc already answers with a clear error; ``GAPS`` are the inputs it answers badly (an
unclear message, a wrong exception type, a late failure, or silence), each with what it does now
and the error it should give: they run as strict xfails, so a fix shows up as a failure that says
"move this row to CASES".

``docs/errors.md`` is rendered from these lists by ``tests/render_errors_doc.py``
(``python tests/render_errors_doc.py`` rewrites it; ``test_the_doc_is_rendered_from_this_table``
keeps the two in sync).
"""

from __future__ import annotations

import contextlib
import functools
import io
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import graphc
import graphc.tensor as T
from graphc import init, layers, objectives, regularization, theanets, updates
from graphc.export import load, load_training_state, save, to_onnx, training_model
from graphc.layers import (
    BatchNormLayer,
    BiasLayer,
    ConcatLayer,
    Conv1DLayer,
    Conv2DLayer,
    DenseLayer,
    DilatedConv2DLayer,
    DimshuffleLayer,
    DropoutLayer,
    ElemwiseMergeLayer,
    ElemwiseSumLayer,
    EmbeddingLayer,
    FeaturePoolLayer,
    FlattenLayer,
    GaussianNoiseLayer,
    GlobalPoolLayer,
    InputLayer,
    InverseLayer,
    LocalResponseNormalization2DLayer,
    LSTMLayer,
    MaxPool2DLayer,
    NonlinearityLayer,
    PadLayer,
    Pool2DLayer,
    RecurrentLayer,
    ReshapeLayer,
    SliceLayer,
    SpatialPyramidPoolingLayer,
    Upscale2DLayer,
)
from graphc.layers.conv import LayerArgumentError, UnsupportedArgumentError

ROOT = Path(__file__).resolve().parents[1]
NAN = float("nan")


@dataclass(frozen=True)
class Case:
    """One bad input: ``call()`` must raise ``error`` with a message matching every regex in ``names``."""

    id: str
    entry: str
    bad: str
    call: Callable[[], Any]
    error: type[BaseException]
    names: tuple[str, ...]
    section: str = ""
    now: str = ""  # GAPS only: what graphc does with the input today


class ExitStatus1Error(Exception):
    """The ``graphc`` command exited with status 1 after printing one ``graphc CMD: error: ...`` line."""


class ExitStatus2Error(Exception):
    """The ``graphc`` command exited with status 2: an argparse usage error (usage, then ``graphc: error: ...``)."""


def cli(*args: Any) -> None:
    """Run ``graphc.cli.main`` in-process; a failure becomes :class:`ExitStatus1Error` or :class:`ExitStatus2Error` carrying stderr."""
    from graphc.cli import main

    argv = [str(a) for a in args]
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            status = main(argv)
        except SystemExit as exc:
            status = exc.code
    text = err.getvalue()
    if status == 1:
        lines = text.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"graphc {argv[0]}: error: "), text
        raise ExitStatus1Error(lines[0])
    if status == 2:
        raise ExitStatus2Error(text.strip().splitlines()[-1])
    assert status == 0, (status, text)


def check(case: Case) -> None:
    """Run the case; AssertionError unless it raises ``case.error`` with every fragment in the message."""
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        try:
            case.call()
        except case.error as exc:
            message = str(exc)
            missing = [p for p in case.names if not re.search(p, message)]
            assert not missing, f"{case.id}: the message {message!r} lacks {missing}"
            return
        except Exception as exc:
            raise AssertionError(f"{case.id}: raised {type(exc).__name__}: {exc}; expected {case.error.__name__}") from exc
    said = "; ".join(str(w.message) for w in seen)
    raise AssertionError(f"{case.id}: no error raised" + (f" (warnings: {said})" if said else ""))


# ----------------------------------------------------------------------------------------------
# shared fixtures of the rows (cheap; compiled functions and networks are built on first use)

_a = T.matrix("a", shape=(3, 4))
_b = T.matrix("b", shape=(3, 2))
_t3 = T.tensor3("t", shape=(2, 3, 4))
_x = T.matrix("x", shape=(None, 3))
_y = T.matrix("y")
_z = T.matrix("z", shape=(None, 4))
_i = T.iscalar("i")
_W = graphc.shared(np.ones((3, 2), np.float32), name="W")
_V = graphc.shared(np.ones((2, 5), np.float32), name="V")
_cost = T.dot(_x, _W).sum()
_cost2 = T.dot(T.dot(_x, _W), _V).sum()
_seq = T.matrix("seq", shape=(None, 3))
_h0 = T.vector("h0", shape=(3,))
_img4 = T.tensor4("img", shape=(None, 3, 8, 6))
_p = T.matrix("p", shape=(None, 4))
_t5 = T.matrix("t", shape=(None, 5))

_inp = InputLayer((None, 5), name="inp")
_other = InputLayer((None, 5), name="other")
_img = InputLayer((None, 3, 8, 6), name="img")
_sq = InputLayer((None, 7, 4), name="sq")
_ids = InputLayer((None, 7), input_var=T.imatrix("ids"), name="ids")
_dense = DenseLayer(_inp, 4, W=np.ones((5, 4), np.float32), name="d")  # no draw from the global rng at import


@functools.cache
def _double() -> graphc.Function:
    return graphc.function([_x], _x * 2)


@functools.cache
def _ints() -> graphc.Function:
    iv = T.ivector("iv")
    return graphc.function([iv], iv * 2)


@functools.cache
def _add() -> graphc.Function:
    u, v = T.vector("u"), T.vector("v")
    return graphc.function([u, v], u + v)


@functools.cache
def _net() -> Any:
    return theanets.Regressor([4, (6, "tanh"), 2])


@functools.cache
def _clf() -> Any:
    return theanets.Classifier([4, 6, 3])


_X = np.ones((10, 4), np.float32)
_Y = np.ones((10, 2), np.float32)
_LABELS = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 0])


_WORK: dict[str, Path] = {}


def _work() -> Path:
    """A folder with a model and arrays for the CLI rows (set up by the module's fixture)."""
    d = _WORK["dir"]
    if not (d / "model.onnx").exists():
        x = T.tensor("float32", shape=(None, 3), name="x")
        save(to_onnx({"y": T.dot(x, graphc.shared(np.ones((3, 2), np.float32), name="W"))}, [x]), d / "model.onnx")
        np.save(d / "x.npy", np.ones((2, 3), np.float32))
        np.save(d / "wide.npy", np.ones((2, 4), np.float32))
        np.save(d / "ints.npy", np.ones((2, 3), np.int64))
        np.save(d / "flat.npy", np.ones(3, np.float32))
        np.savez(d / "arrays.npz", a=np.ones(3))
        (d / "junk.onnx").write_text("hello")
        (d / "empty.onnx").write_bytes(b"")
        (d / "error_nets.py").write_text(
            "from graphc.layers import DenseLayer, InputLayer\n"
            "def net():\n    return DenseLayer(InputLayer((None, 3), name='x'), 2, name='d')\n"
            "def wrong():\n    return 42\n"
        )
    return d


def _model(name: str = "model.onnx") -> str:
    return str(_work() / name)


def _arg(name: str, file: str) -> str:
    return f"{name}={_work() / file}"


def _target(fn: str) -> str:
    return f"{_work() / 'error_nets.py'}:{fn}"


class _Pass(layers.Layer):
    """A layer that passes its input through (to build cycles)."""

    def get_output_for(self, input: Any, **kwargs: Any) -> Any:
        return input


def _cycle() -> Any:
    """Layers a -> b -> a: b's input is a, whose input is rewired to b."""
    a = _Pass(_inp, name="a")
    b = _Pass(a, name="b")
    a.input_layer = b
    return b


def _scan_fn_not_callable() -> Any:
    return graphc.scan(3, sequences=_seq, outputs_info=_h0)


# ----------------------------------------------------------------------------------------------
# the rows, by section

SECTIONS: list[tuple[str, list[Case]]] = []
GAP_SECTIONS: list[tuple[str, list[Case]]] = []


def section(title: str) -> tuple[list[Case], list[Case]]:
    rows: list[Case] = []
    gaps: list[Case] = []
    SECTIONS.append((title, rows))
    GAP_SECTIONS.append((title, gaps))
    return rows, gaps


def row(rows: list[Case], id: str, entry: str, bad: str, call: Callable[[], Any], error: type[BaseException], *names: str) -> None:
    rows.append(Case(id, entry, bad, call, error, names))


def gap(gaps: list[Case], id: str, entry: str, bad: str, call: Callable[[], Any], error: type[BaseException], *names: str, now: str) -> None:
    gaps.append(Case(id, entry, bad, call, error, names, now=now))


# --- graphc.tensor ----------------------------------------------------------------------------
R, G = section("Expressions: `graphc.tensor` (as `T`)")
row(R, "dot-misaligned", "T.dot", "inner sizes differ: (3, 4) . (3, 2)", lambda: T.dot(_a, _b),
    ValueError, r"matmul", r"\(3, 4\) and \(3, 2\)", r"4 \(last axis of the first\) != 3")
row(R, "dot-rank3", "T.dot", "a 3-d tensor (2, 3, 4) against a (5, 2) matrix", lambda: T.dot(_t3, T.matrix("m", shape=(5, 2))),
    ValueError, r"\(2, 3, 4\) and \(5, 2\)", r"not aligned")
row(R, "tensordot-axes", "T.tensordot", "summed axes of different sizes (4 vs 2)", lambda: T.tensordot(_a, _b, axes=[[1], [1]]),
    ValueError, r"tensordot: axis 1 of <a", r"size 4", r"size 2")
row(R, "outer-matrices", "T.outer", "matrices where vectors are needed", lambda: T.outer(_a, _b),
    ValueError, r"outer: expected two vectors", r"<a: float32\(3, 4\)>")
row(R, "add-no-broadcast", "`+` (T.add)", "static shapes (3, 4) and (2, 4)", lambda: _a + T.matrix("c", shape=(2, 4)),
    ValueError, r"\(3, 4\) and \(2, 4\)", r"of add do not broadcast", r"axis 0 .* sizes 3 and 2")
row(R, "switch-no-broadcast", "T.switch", "branches of shapes (3, 4) and (5, 4)", lambda: T.switch(_a > 0, _a, T.matrix("c", shape=(5, 4))),
    ValueError, r"operands of where do not broadcast", r"sizes 3 and 5")
row(R, "concat-shapes", "T.concatenate", "(3, 4) and (3, 2) joined on axis 0", lambda: T.concatenate([_a, _b], axis=0),
    ValueError, r"concat along axis 0", r"\(3, 4\), \(3, 2\) differ on axis 1")
row(R, "concat-ranks", "T.concatenate", "a matrix and a vector", lambda: T.concatenate([_a, T.vector("v")], axis=0),
    ValueError, r"\(3, 4\), \(v\w*_dim0,\)", r"different numbers of dims")
row(R, "concat-axis", "T.concatenate", "axis 2 for matrices", lambda: T.concatenate([_a, _a], axis=2),
    ValueError, r"concatenate: axis 2", r"out of range for tensors of 2 dims")
row(R, "concat-empty", "T.concatenate", "an empty list", lambda: T.concatenate([]),
    ValueError, r"concatenate", r"at least one tensor")
row(R, "stack-shapes", "T.stack", "tensors of shapes (3, 4) and (3, 2)", lambda: T.stack([_a, _b]),
    ValueError, r"stack: tensors must have one shape", r"\(3, 2\).*\(3, 4\)")
row(R, "reshape-size", "Variable.reshape", "(3, 4) into (5, 3)", lambda: _a.reshape((5, 3)),
    ValueError, r"reshape", r"\(3, 4\) \(12 elements\)", r"\(5, 3\) \(15 elements\)")
row(R, "reshape-two-unknown", "Variable.reshape", "two -1 entries", lambda: _a.reshape((-1, -1)),
    ValueError, r"reshape: can only specify one unknown dimension", r"\(-1, -1\)")
row(R, "reshape-negative", "Variable.reshape", "a size of -2", lambda: _a.reshape((-2, 6)),
    ValueError, r"reshape: negative size -2", r"\(-2, 6\)")
row(R, "reshape-float", "Variable.reshape", "a size of 2.5", lambda: _a.reshape((2.5, 4)),
    TypeError, r"reshape: entry 0 is 2.5", r"expected an int or a symbolic int scalar")
row(R, "reshape-ndim", "Variable.reshape", "ndim=2 with a 1-entry shape", lambda: _a.reshape((12,), ndim=2),
    ValueError, r"reshape: ndim=2", r"has 1 entries")
row(R, "tensor-dtype", "T.tensor", "dtype 'float17'", lambda: T.tensor("float17", shape=(None, 3)),
    TypeError, r"unknown dtype 'float17'", r"expected one of bool, .*float64")
row(R, "tensor-negative-size", "T.tensor", "shape (None, -3)", lambda: T.tensor("float32", shape=(None, -3), name="q"),
    ValueError, r"'q'", r"shape entry 1 is -3", r"expected None, a non-negative int")
row(R, "matrix-shape-length", "T.matrix", "a 1-entry shape for a matrix", lambda: T.matrix("m", shape=(3,)),
    ValueError, r"tensor 'm'", r"shape \(3,\) has 1 dims but ndim=2")
row(R, "cast-dtype", "T.cast", "dtype 'floaty'", lambda: T.cast(_a, "floaty"),
    TypeError, r"unknown dtype 'floaty'", r"expected one of")
row(R, "astype-complex", "Variable.astype", "dtype complex64", lambda: _a.astype("complex64"),
    TypeError, r"dtype 'complex64' is not supported", r"expected one of")
row(R, "zeros-negative", "T.zeros", "shape (3, -2)", lambda: T.zeros((3, -2)),
    ValueError, r"negative size", r"\(3, -2\)")
row(R, "ones-float", "T.ones", "a size of 2.5", lambda: T.ones((2.5, 3)),
    TypeError, r"entry 0 is 2.5", r"expected an int")
row(R, "alloc-negative", "T.alloc", "a size of -2", lambda: T.alloc(0.0, 3, -2),
    ValueError, r"negative size -2", r"\(3, -2\)")
row(R, "arange-step-0", "T.arange", "step 0", lambda: T.arange(0, 5, 0),
    ValueError, r"arange", r"step must not be 0")
row(R, "dimshuffle-axis", "Variable.dimshuffle", "axis 2 of a matrix", lambda: _a.dimshuffle(0, 2),
    ValueError, r"dimshuffle: \(0, 2\) names axis 2", r"has axes 0..1")
row(R, "dimshuffle-drop", "Variable.dimshuffle", "dropping an axis of size 4", lambda: _a.dimshuffle(0),
    ValueError, r"drops axis 1 of <a", r"size is 4, not 1")
row(R, "sum-axis", "T.sum", "axis 3 of a matrix", lambda: _a.sum(axis=3),
    ValueError, r"reduce_sum: axis 3", r"out of range for a tensor of 2 dims")
row(R, "mean-repeated-axis", "T.mean", "axis=(0, 0)", lambda: T.mean(_a, axis=(0, 0)),
    ValueError, r"reduce_mean", r"repeated axis in \(0, 0\)")
row(R, "flatten-ndim", "Variable.flatten", "ndim=3 for a matrix", lambda: _a.flatten(3),
    ValueError, r"flatten: ndim must be between 1 and 2", r"got 3")
row(R, "transpose-perm", "T.transpose", "axes (0, 0)", lambda: T.transpose(_a, (0, 0)),
    ValueError, r"transpose: axes \(0, 0\)", r"not a permutation of 2 axes")
row(R, "squeeze-size", "T.squeeze", "axis 0 of size 3", lambda: T.squeeze(_a, axis=0),
    ValueError, r"squeeze: axis 0 of \(3, 4\) has size 3", r"static size 1")
row(R, "pad-negative", "T.pad", "padding (1, -1)", lambda: T.pad(_a, ((1, -1), (0, 0))),
    ValueError, r"pad: negative padding \(1, -1\)", r"axis 0")
row(R, "index-too-many", "Variable[...]", "three indices into a matrix", lambda: _a[0, 0, 0],
    IndexError, r"too many indices for <a", r"3 given, 2 dims")
row(R, "index-out-of-bounds", "Variable[...]", "index 5 on an axis of size 3", lambda: _a[5],
    IndexError, r"index 5 is out of bounds for axis 0 of size 3")
row(R, "index-float", "Variable[...]", "a float index 1.5", lambda: _a[1.5],
    TypeError, r"index 1.5 is a float", r"indices must be ints")
row(R, "index-float-array", "Variable[...]", "a float32 index vector", lambda: _a[T.vector("k")],
    TypeError, r"array indices must be int32 or int64", r"got float32")
row(R, "and-float", "T.and_", "a float32 operand", lambda: T.and_(T.fvector("f"), T.vector("bv", dtype="bool")),
    TypeError, r"and_: operand has dtype float32", r"logical ops need bool")
row(R, "as-tensor-str", "T.as_tensor_variable", "a string", lambda: T.as_tensor_variable("abc"),
    TypeError, r"cannot convert 'abc'", r"to a tensor")
row(R, "as-tensor-ndim", "T.as_tensor_variable", "a matrix where ndim=1 is asked", lambda: T.as_tensor_variable(np.zeros((2, 3)), ndim=1),
    ValueError, r"expected a tensor of 1 dims", r"float64\(2, 3\)")
row(R, "conv2d-rank", "T.nnet.conv2d", "a matrix input", lambda: T.nnet.conv2d(_a, T.tensor4("w")),
    ValueError, r"conv2d: input must be a 4-d tensor", r"<a: float32\(3, 4\)>")
row(R, "conv2d-channels", "T.nnet.conv2d", "3 input channels, weights for 2", lambda: T.nnet.conv2d(_img4, T.tensor4("w", shape=(5, 2, 3, 3))),
    ValueError, r"channel mismatch", r"input has 3 channels", r"weights expect 2")
row(R, "conv2d-subsample", "T.nnet.conv2d", "subsample (0, 1)", lambda: T.nnet.conv2d(_img4, T.tensor4("w"), subsample=(0, 1)),
    ValueError, r"conv2d: subsample entries must be >= 1", r"\(0, 1\)")
row(R, "conv2d-border-mode", "T.nnet.conv2d", "border_mode 'weird'", lambda: T.nnet.conv2d(_img4, T.tensor4("w"), border_mode="weird"),
    ValueError, r"invalid border_mode 'weird'", r"expected 'valid', 'full', 'half'")
row(R, "conv2d-filter-too-big", "T.nnet.conv2d", "a 7-row filter on a 4-row input", lambda: T.nnet.conv2d(T.tensor4("s", shape=(1, 3, 4, 5)), T.tensor4("w", shape=(2, 3, 7, 3))),
    ValueError, r"window \(7 elements along spatial axis 0\)", r"larger than the padded input \(4")
row(R, "pool-ws", "T.signal.pool.pool_2d", "ws (2, -1)", lambda: T.signal.pool.pool_2d(_img4, ws=(2, -1)),
    ValueError, r"pool_2d: ws entries must be >= 1", r"\(2, -1\)")
row(R, "pool-mode", "T.signal.pool.pool_2d", "mode 'median'", lambda: T.signal.pool.pool_2d(_img4, ws=(2, 2), mode="median"),
    ValueError, r"pool_2d: mode must be one of max, sum", r"got 'median'")
row(R, "random-size", "RandomStreams.normal", "size (3, -2)", lambda: T.RandomStreams(1).normal(size=(3, -2)),
    ValueError, r"random_normal: negative size -2", r"\(3, -2\)")
row(R, "random-binomial-p", "RandomStreams.binomial", "p = 1.5", lambda: T.RandomStreams(1).binomial(size=(3, 2), p=1.5),
    ValueError, r"binomial: p must lie in \[0, 1\]", r"got 1.5")
row(R, "random-uniform-range", "RandomStreams.uniform", "low 2 > high 1", lambda: T.RandomStreams(1).uniform(size=(3, 2), low=2, high=1),
    ValueError, r"uniform: need finite low <= high", r"low=2, high=1")
row(R, "grad-clip-bounds", "T.grad_clip", "lower bound 1 above upper bound -1", lambda: T.grad_clip(_a, 1, -1),
    ValueError, r"grad_clip: need lo <= hi", r"\(1.0, -1.0\)")
row(R, "xent-rank", "T.nnet.categorical_crossentropy", "3-d targets for 2-d predictions", lambda: T.nnet.categorical_crossentropy(_a, T.tensor3("tt")),
    ValueError, r"categorical_crossentropy", r"same rank or one fewer", r"<tt: float32")
row(R, "expand-dims-axis", "T.expand_dims", "axis 4 of a matrix (valid: -3..2)", lambda: T.expand_dims(_a, 4),
    ValueError, r"expand_dims", r"axis 4")

# --- graphc.shared ----------------------------------------------------------------------------
R, G = section("Shared variables: `graphc.shared`")
row(R, "set-value-shape", "SharedVariable.set_value", "shape (2, 3) for a (3, 2) variable", lambda: _W.set_value(np.ones((2, 3), np.float32)),
    ValueError, r"shared variable 'W'", r"value has shape \(2, 3\), expected \(3, 2\)")
row(R, "set-value-flat", "SharedVariable.set_value", "a flat (6,) array for a (3, 2) variable", lambda: _W.set_value(np.ones(6, np.float32)),
    ValueError, r"shared variable 'W'", r"\(6,\), expected \(3, 2\)")
row(R, "set-value-str", "SharedVariable.set_value", "a string", lambda: _W.set_value("abc"),
    TypeError, r"shared variable 'W'", r"is not numeric")
row(R, "set-value-float-into-int", "SharedVariable.set_value", "floats 2.5 into an int32 variable", lambda: graphc.shared(np.ones(3, np.int32), name="I").set_value(np.full(3, 2.5)),
    TypeError, r"shared variable 'I'", r"float64 cannot be cast safely to int32")
row(R, "shared-none", "graphc.shared", "None", lambda: graphc.shared(None, name="S"),
    TypeError, r"shared\(\) value None of shared variable 'S' has dtype object", r"expected a numeric array")
row(R, "shared-dtype", "graphc.shared", "dtype 'float17'", lambda: graphc.shared(np.ones(3), dtype="float17"),
    TypeError, r"unknown dtype 'float17'", r"expected one of")
row(R, "shared-str-message", "graphc.shared", "a string value 'abc', no name", lambda: graphc.shared("abc"),
    TypeError, r"'abc'", r"expected a numeric array")
row(R, "shared-ragged", "graphc.shared", "a ragged list [[1, 2], [3]]", lambda: graphc.shared([[1, 2], [3]], name="R"),
    ValueError, r"shared", r"'R'")
row(R, "set-value-overflow", "SharedVariable.set_value", "2**40 into an int32 variable", lambda: graphc.shared(np.ones(3, np.int32), name="I").set_value(np.array([2**40, 1, 1])),
    ValueError, r"shared variable 'I'", r"int32")

# --- graphc.function --------------------------------------------------------------------------
R, G = section("Compiling: `graphc.function`")
row(R, "missing-input", "graphc.function", "an output needs y, inputs are [x]", lambda: graphc.function([_x], _x + _y),
    graphc.MissingInputError, r"depends on the input <y", r"not in the inputs list \[<x")
row(R, "unused-input", "graphc.function", "an input no output needs", lambda: graphc.function([_x, _y], _x * 2),
    graphc.UnusedInputError, r"input 1 \(<y", r"on_unused_input='ignore'")
row(R, "on-unused-input", "graphc.function", "on_unused_input='maybe'", lambda: graphc.function([_x, _y], _x * 2, on_unused_input="maybe"),
    ValueError, r"on_unused_input must be 'raise', 'warn' or 'ignore'", r"got 'maybe'")
row(R, "input-array", "graphc.function", "a numpy array as an input", lambda: graphc.function([np.ones(3)], _x * 2),
    TypeError, r"input 0 \(array", r"inputs must be placeholders")
row(R, "input-constant", "graphc.function", "a constant as an input", lambda: graphc.function([T.constant(1.0)], _x * 2),
    TypeError, r"input 0 \(<constant 1.0", r"is a constant; inputs must be placeholders")
row(R, "input-shared", "graphc.function", "a shared variable as an input", lambda: graphc.function([_W], _W * 2),
    TypeError, r"input 0 \(<shared W", r"shared variables are used implicitly")
row(R, "input-twice", "graphc.function", "x listed twice", lambda: graphc.function([_x, _x], _x * 2),
    ValueError, r"input 1 \(<x", r"listed twice")
row(R, "unknown-keyword", "graphc.function", "a misspelled keyword", lambda: graphc.function([_x], _x.sum(), frobnicate=1),
    TypeError, r"unexpected arguments", r"frobnicate")
row(R, "output-str", "graphc.function", "a string as the output", lambda: graphc.function([_x], "x"),
    TypeError, r"graphc.function", r"output")
row(R, "givens-dtype", "graphc.function", "givens: float32 y replaced by an int32 matrix", lambda: graphc.function([_y], _y * 2, givens={_y: T.imatrix("g")}),
    TypeError, r"givens: <y: float32", r"<g: int32", r"different dtype or rank")
row(R, "givens-rank", "graphc.function", "givens: matrix y replaced by a vector", lambda: graphc.function([_y], _y * 2, givens={_y: T.vector("g")}),
    TypeError, r"givens: <y", r"<g: float32\(g.*_dim0,\)>", r"different dtype or rank")
row(R, "givens-key", "graphc.function", "givens keyed by a string", lambda: graphc.function([_y], _y * 2, givens={"y": T.vector("g")}),
    TypeError, r"givens: both sides must be symbolic variables", r"got 'y'")
row(R, "update-not-shared", "graphc.function", "updates=[(x, 2 x)] with x a placeholder", lambda: graphc.function([_x], _x.sum(), updates=[(_x, _x * 2)]),
    TypeError, r"update 0: <x", r"not a shared variable")
row(R, "update-shape", "graphc.function", "a (2, 3) new value for a (3, 2) variable", lambda: graphc.function([_x], _x.sum(), updates=[(_W, _W.T)]),
    ValueError, r"update 0: the new value of <shared W", r"has shape \(2, 3\); expected \(3, 2\)")
row(R, "update-dtype", "graphc.function", "an int32 new value for a float32 variable", lambda: graphc.function([_x], _x.sum(), updates=[(_W, T.cast(_W, "int32"))]),
    TypeError, r"new value of <shared W", r"dtype int32; expected float32")
row(R, "update-twice", "graphc.function", "W updated twice", lambda: graphc.function([_x], _x.sum(), updates=[(_W, _W * 2), (_W, _W * 3)]),
    ValueError, r"update 1: shared variable <shared W", r"updated twice")
row(R, "update-form", "graphc.function", "updates=[W] (not a pair)", lambda: graphc.function([_x], _x.sum(), updates=[_W]),
    TypeError, r"update 0 must be a \(shared variable, new value\) pair")
row(R, "device", "graphc.function", "device='tpu'", lambda: graphc.function([_x], _x.sum(), device="tpu"),
    ValueError, r"device must be 'auto', 'cpu', 'cuda' or 'cuda:N'", r"got 'tpu'")
row(R, "optimize-level", "graphc.function", "optimize='O7'", lambda: graphc.function([_x], _x.sum(), optimize="O7"),
    ValueError, r"optimization level must be one of O0, O1, O2", r"got 'O7'")
row(R, "passes-unknown", "graphc.function", "passes={'nope': False}", lambda: graphc.function([_x], _x.sum(), passes={"nope": False}),
    ValueError, r"unknown passes \['nope'\]", r"known passes: \['cancel_quotients', 'canonicalize'")
row(R, "passes-list", "graphc.function", "passes=['cse'] (a list, not a dict)", lambda: graphc.function([_x], _x.sum(), passes=["cse"]),
    TypeError, r"passes", r"dict")
row(R, "givens-static-shape", "graphc.function", "givens: x (None, 3) replaced by z (None, 4)", lambda: graphc.function([_z], _x * 2, givens={_x: _z}),
    ValueError, r"givens", r"<x", r"<z")
row(R, "givens-flat-list", "graphc.function", "givens=[x, z] (not pairs)", lambda: graphc.function([_z], _x * 2, givens=[_x, _z]),
    TypeError, r"givens", r"pairs")
row(R, "givens-cycle", "graphc.function", "givens={x: x + y} (x replaced by an expression of itself)", lambda: graphc.function([_y], _x * 2, givens={_x: _x + _y}),
    ValueError, r"givens", r"<x")
row(R, "function-name", "graphc.function", "name=5", lambda: graphc.function([_x], _x * 2, name=5),
    TypeError, r"name", r"str")

# --- calling a compiled function --------------------------------------------------------------
R, G = section("Calling: `Function.__call__` (compiled `f = graphc.function([x], 2 * x)`, x of shape (None, 3))")
row(R, "call-missing", "Function.__call__", "no arguments", lambda: _double()(),
    TypeError, r"missing input\(s\) x", r"expected \(x\)")
row(R, "call-extra", "Function.__call__", "two arrays for one input", lambda: _double()(np.ones((2, 3)), np.ones(2)),
    TypeError, r"takes 1 input\(s\) \(x\)", r"but 2 were given")
row(R, "call-rank", "Function.__call__", "a vector for the matrix x", lambda: _double()(np.ones(3)),
    ValueError, r"input 'x' has 1 dims \(shape \(3,\)\)", r"expected 2 dims, shape \(x_dim0, 3\)")
row(R, "call-shape", "Function.__call__", "shape (2, 4) where axis 1 is 3", lambda: _double()(np.ones((2, 4))),
    ValueError, r"input 'x' has shape \(2, 4\)", r"axis 1 must be 3")
row(R, "call-dtype-str", "Function.__call__", "an array of strings", lambda: _double()(np.array([["a", "b", "c"]])),
    TypeError, r"input 'x' has dtype <U1", r"cannot be cast to the expected float32")
row(R, "call-dtype-complex", "Function.__call__", "a complex128 array", lambda: _double()(np.ones((2, 3), complex)),
    TypeError, r"input 'x' has dtype complex128", r"expected float32")
row(R, "call-none", "Function.__call__", "None", lambda: _double()(None),
    TypeError, r"input 'x' has dtype object", r"expected float32")
row(R, "call-float-into-int", "Function.__call__", "float32 values for an int32 input", lambda: _ints()(np.ones(3, np.float32)),
    TypeError, r"input 'iv' has dtype float32", r"expected int32")
row(R, "call-unknown-name", "Function.__call__", "a keyword that names no input", lambda: _double()(z=np.ones((2, 3))),
    TypeError, r"unexpected input 'z'", r"inputs are \['x'\]")
row(R, "call-twice", "Function.__call__", "x by position and by name", lambda: _double()(np.ones((2, 3)), x=np.ones((2, 3))),
    TypeError, r"input 'x' given both by position and by name")
row(R, "call-ragged", "Function.__call__", "a ragged nested list", lambda: _double()([[1, 2, 3], [1]]),
    TypeError, r"input 'x' could not be converted to an array", r"inhomogeneous")
row(R, "call-runtime-broadcast", "Function.__call__", "u + v with u of 3 and v of 4 elements (sizes only known at run time)", lambda: _add()(np.ones(3), np.ones(4)),
    ValueError, r"ONNX Runtime could not run the graph on inputs u\(3,\), v\(4,\)", r"Add", r"broadcast")
row(R, "call-int-overflow", "Function.__call__", "2**40 for an int32 input", lambda: _ints()(np.array([2**40])),
    ValueError, r"input 'iv'", r"int32")

# --- graphc.grad ------------------------------------------------------------------------------
R, G = section("Gradients: `graphc.grad`")
row(R, "grad-nonscalar", "graphc.grad", "a matrix cost", lambda: graphc.grad(T.dot(_x, _W), _W),
    TypeError, r"the cost must be a scalar", r"<matmul: float32\(x\w*_dim0, 2\)>", r"sum or average it first")
row(R, "grad-disconnected", "graphc.grad", "wrt V, which the cost does not use (disconnected_inputs='raise')", lambda: graphc.grad(_cost, [_W, _V], disconnected_inputs="raise"),
    graphc.DisconnectedInputError, r"the cost does not depend on <shared V", r"disconnected_inputs='ignore'")
row(R, "grad-disconnected-option", "graphc.grad", "disconnected_inputs='maybe'", lambda: graphc.grad(_cost, [_W, _V], disconnected_inputs="maybe"),
    ValueError, r"disconnected_inputs must be 'raise', 'warn' or 'ignore'", r"got 'maybe'")
row(R, "grad-wrt-str", "graphc.grad", "wrt the string 'W'", lambda: graphc.grad(_cost, "W"),
    TypeError, r"wrt", r"'W'")
row(R, "grad-no-cost", "graphc.grad", "cost None and no known_grads", lambda: graphc.grad(None, _W),
    TypeError, r"grad: give a cost", r"or known_grads")
row(R, "grad-keyword", "graphc.grad", "a misspelled keyword", lambda: graphc.grad(_cost, _W, consider_constants=[_x]),
    TypeError, r"grad\(\) got unexpected arguments", r"consider_constants")
row(R, "grad-wrt-array", "graphc.grad", "wrt a numpy array", lambda: graphc.grad(_cost, np.ones(3)),
    TypeError, r"wrt", r"variable")
row(R, "grad-consider-constant", "graphc.grad", "consider_constant=[3]", lambda: graphc.grad(_cost, _W, consider_constant=[3]),
    TypeError, r"consider_constant", r"3")
row(R, "grad-known-grads-shape", "graphc.grad", "known_grads: a (None, 5) gradient for a (None, 2) expression", lambda: graphc.grad(None, _W, known_grads={T.dot(_x, _W): T.matrix("g", shape=(None, 5))}),
    ValueError, r"known_grads", r"<g")

# --- graphc.scan ------------------------------------------------------------------------------
R, G = section("Loops: `graphc.scan`")
row(R, "scan-state-dtype", "graphc.scan", "the step turns the float32 state into int32", lambda: graphc.scan(lambda s, h: T.cast(h + s, "int32"), sequences=_seq, outputs_info=_h0),
    TypeError, r"carried state 0 starts as float32\(3,\)", r"returns int32\(3,\)", r"must keep its dtype")
row(R, "scan-state-shape", "graphc.scan", "the step grows the (3,) state to (6,)", lambda: graphc.scan(lambda s, h: T.concatenate([h, s]), sequences=_seq, outputs_info=_h0),
    TypeError, r"carried state 0 starts as float32\(3,\)", r"returns float32\(6,\)", r"shape \(3,\)")
row(R, "scan-state-rank", "graphc.scan", "the step turns the vector state into a matrix", lambda: graphc.scan(lambda s, h: T.outer(h, s), sequences=_seq, outputs_info=_h0),
    TypeError, r"carried state 0", r"returns float32\(3, 3\)")
row(R, "scan-taps", "graphc.scan", "outputs_info with taps [-1, -2] and a step taking 2 arguments (it gets 3)", lambda: graphc.scan(lambda s, h: h + s, sequences=_seq, outputs_info={"initial": T.matrix("h2", shape=(2, 3)), "taps": [-1, -2]}),
    TypeError, r"scan: fn was called with 3 arguments \(sequence 0, state 0, state 1\)", r"takes 2 positional arguments but 3 were given")
row(R, "scan-outputs-info-str", "graphc.scan", "outputs_info='h'", lambda: graphc.scan(lambda s, h: h + s, sequences=_seq, outputs_info="h"),
    TypeError, r"scan", r"outputs_info")
row(R, "scan-no-steps", "graphc.scan", "no sequences and no n_steps", lambda: graphc.scan(lambda h: h * 2, outputs_info=_h0),
    ValueError, r"scan: give sequences or n_steps")
row(R, "scan-n-steps-negative", "graphc.scan", "n_steps=-2", lambda: graphc.scan(lambda h: h * 2, outputs_info=_h0, n_steps=-2),
    ValueError, r"scan: n_steps must be non-negative", r"got -2")
row(R, "scan-n-steps-float", "graphc.scan", "n_steps=2.5", lambda: graphc.scan(lambda h: h * 2, outputs_info=_h0, n_steps=2.5),
    TypeError, r"scan: n_steps must be an int scalar", r"2.5")
row(R, "scan-scalar-sequence", "graphc.scan", "a scalar as a sequence", lambda: graphc.scan(lambda s, h: h + s, sequences=T.scalar("q"), outputs_info=T.scalar("hq")),
    TypeError, r"sequence 0 \(<q: float32\(\)>\) is a scalar", r"iterated over axis 0")
row(R, "scan-step-count", "graphc.scan", "the step returns 2 values for 1 state", lambda: graphc.scan(lambda s, h: (h + s, h), sequences=_seq, outputs_info=_h0),
    TypeError, r"the step returned 2 values", r"outputs_info has 1 entries")
row(R, "scan-keyword", "graphc.scan", "a misspelled keyword", lambda: graphc.scan(lambda s: s, sequences=_seq, n_step=3),
    TypeError, r"scan\(\) got an unexpected keyword argument 'n_step'")
row(R, "scan-fn", "graphc.scan", "fn=3 (not callable)", _scan_fn_not_callable,
    TypeError, r"scan", r"callable")
row(R, "scan-sequence-taps", "graphc.scan", "{'input': seq, 'taps': [0, 1]} (two taps: two step arguments) with a step taking one", lambda: graphc.scan(lambda s, h: h + s, sequences={"input": _seq, "taps": [0, 1]}, outputs_info=_h0),
    TypeError, r"scan", r"taps")

# --- Lasagne layers ---------------------------------------------------------------------------
R, G = section("Lasagne layers: constructors (`graphc.layers`)")
row(R, "input-negative", "InputLayer", "shape (None, -5)", lambda: InputLayer((None, -5), name="x"),
    ValueError, r"InputLayer 'x'", r"non-positive or non-integer dimension in shape \(None, -5\)")
row(R, "input-zero", "InputLayer", "shape (None, 0)", lambda: InputLayer((None, 0), name="x"),
    ValueError, r"InputLayer 'x'", r"\(None, 0\)")
row(R, "input-float", "InputLayer", "shape (None, 2.5)", lambda: InputLayer((None, 2.5), name="x"),
    ValueError, r"InputLayer 'x'", r"non-integer dimension in shape \(None, 2.5\)")
row(R, "input-none", "InputLayer", "shape None", lambda: InputLayer(None),
    TypeError, r"InputLayer: shape must be a tuple of ints and Nones", r"got None")
row(R, "input-var-rank", "InputLayer", "a 3-d input_var for a 2-d shape", lambda: InputLayer((None, 5), input_var=T.tensor3("v"), name="x"),
    ValueError, r"InputLayer: shape has 2 dimensions", r"variable has 3")
row(R, "input-var-array", "InputLayer", "input_var a numpy array", lambda: InputLayer((None, 5), input_var=np.ones((2, 5)), name="x"),
    TypeError, r"input_var must be a symbolic variable", r"got ndarray")
row(R, "dense-zero", "DenseLayer", "num_units=0", lambda: DenseLayer(_inp, 0, name="d"),
    ValueError, r"DenseLayer 'd'", r"num_units must be a positive int, got 0")
row(R, "dense-negative", "DenseLayer", "num_units=-3", lambda: DenseLayer(_inp, -3, name="d"),
    ValueError, r"DenseLayer 'd'", r"num_units must be a positive int, got -3")
row(R, "dense-none", "DenseLayer", "num_units=None", lambda: DenseLayer(_inp, None, name="d"),
    ValueError, r"DenseLayer 'd'", r"num_units must be a positive int, got None")
row(R, "dense-nan", "DenseLayer", "num_units=nan", lambda: DenseLayer(_inp, NAN, name="d"),
    ValueError, r"DenseLayer 'd'", r"num_units must be a positive int, got nan")
row(R, "dense-W-shape", "DenseLayer", "W of shape (4, 5) for 5 inputs, 4 units", lambda: DenseLayer(_inp, 4, W=np.ones((4, 5), np.float32), name="d"),
    ValueError, r"parameter 'd.W'", r"has shape \(4, 5\), should be \(5, 4\)")
row(R, "dense-b-shape", "DenseLayer", "b of 5 entries for 4 units", lambda: DenseLayer(_inp, 4, b=np.ones(5, np.float32), name="d"),
    ValueError, r"parameter 'd.b'", r"has shape \(5,\), should be \(4,\)")
row(R, "dense-W-kind", "DenseLayer", "W='glorot' (a string)", lambda: DenseLayer(_inp, 4, W="glorot", name="d"),
    TypeError, r"cannot initialize parameter 'd.W': the provided value of type str", r"must be a numpy array, a Theano expression, or a callable")
row(R, "dense-W-initializer", "DenseLayer", "an initializer returning (3, 3) for (5, 4)", lambda: DenseLayer(_inp, 4, W=lambda shape: np.ones((3, 3)), name="d"),
    ValueError, r"parameter 'd.W': the numpy array returned by the callable", r"has shape \(3, 3\), should be \(5, 4\)")
row(R, "dense-leading-axes", "DenseLayer", "num_leading_axes=3 on a 2-d input", lambda: DenseLayer(_inp, 4, num_leading_axes=3, name="d"),
    ValueError, r"DenseLayer 'd'", r"num_leading_axes=3 for a 2-dimensional input")
row(R, "dense-incoming", "DenseLayer", "incoming None", lambda: DenseLayer(None, 4, name="d"),
    TypeError, r"DenseLayer 'd'", r"incoming must be a Layer or a shape tuple, got NoneType")
row(R, "dense-symbolic-features", "DenseLayer", "an input of shape (None, None)", lambda: DenseLayer(InputLayer((None, None)), 4, name="d"),
    ValueError, r"DenseLayer 'd'", r"needs a fixed input shape", r"\(None, None\)")
row(R, "dense-keyword", "DenseLayer", "num_unit=3 (misspelled)", lambda: DenseLayer(_inp, 4, num_unit=3, name="d"),
    TypeError, r"unexpected keyword argument", r"'num_unit'")
row(R, "conv-filter-zero", "Conv2DLayer", "filter_size (0, 3)", lambda: Conv2DLayer(_img, 4, (0, 3), name="c"),
    LayerArgumentError, r"Conv2DLayer 'c'", r"filter_size entries must be >= 1, got \(0, 3\)")
row(R, "conv-filter-length", "Conv2DLayer", "a 3-entry filter_size", lambda: Conv2DLayer(_img, 4, (3, 3, 3), name="c"),
    LayerArgumentError, r"Conv2DLayer 'c'", r"filter_size must be an int or 2 ints, got \(3, 3, 3\)")
row(R, "conv-stride", "Conv2DLayer", "stride (1, -2)", lambda: Conv2DLayer(_img, 4, 3, stride=(1, -2), name="c"),
    LayerArgumentError, r"Conv2DLayer 'c'", r"stride entries must be >= 1, got \(1, -2\)")
row(R, "conv-pad-negative", "Conv2DLayer", "pad=-1", lambda: Conv2DLayer(_img, 4, 3, pad=-1, name="c"),
    LayerArgumentError, r"Conv2DLayer 'c'", r"pad entries must be >= 0, got -1")
row(R, "conv-pad-str", "Conv2DLayer", "pad='weird'", lambda: Conv2DLayer(_img, 4, 3, pad="weird", name="c"),
    LayerArgumentError, r"Conv2DLayer 'c'", r"pad expected a single value or an iterable of int of length 2, got 'weird'")
row(R, "conv-same-even", "Conv2DLayer", "pad='same' with an even filter (2, 2)", lambda: Conv2DLayer(_img, 4, 2, pad="same", name="c"),
    UnsupportedArgumentError, r"Conv2DLayer 'c'", r"`same` padding requires odd filter size", r"\(2, 2\)")
row(R, "conv-filters", "Conv2DLayer", "num_filters=0", lambda: Conv2DLayer(_img, 0, 3, name="c"),
    ValueError, r"Conv2DLayer 'c'", r"num_filters must be a positive int, got 0")
row(R, "conv-rank", "Conv2DLayer", "a 2-d input", lambda: Conv2DLayer(_inp, 4, 3, name="c"),
    ValueError, r"Conv2DLayer 'c'", r"input shape \(None, 5\)", r"Expected 4 input dimensions")
row(R, "conv1d-rank", "Conv1DLayer", "a 4-d input", lambda: Conv1DLayer(_img, 4, 3, name="c"),
    ValueError, r"Conv1DLayer 'c'", r"\(None, 3, 8, 6\)", r"Expected 3 input dimensions")
row(R, "conv-W-shape", "Conv2DLayer", "W of shape (4, 2, 3, 3) for 3 input channels", lambda: Conv2DLayer(_img, 4, 3, W=np.ones((4, 2, 3, 3), np.float32), name="c"),
    ValueError, r"parameter 'c.W'", r"\(4, 2, 3, 3\), should be \(4, 3, 3, 3\)")
row(R, "conv-groups", "Conv2DLayer", "num_groups=2 with 3 input channels", lambda: Conv2DLayer(_img, 4, 3, num_groups=2, name="c"),
    ValueError, r"Conv2DLayer 'c'", r"num_groups \(here: 2\) must be positive and evenly divide", r"here: 3 and 4")
row(R, "dilation", "DilatedConv2DLayer", "dilation (0, 1)", lambda: DilatedConv2DLayer(_img, 4, 3, dilation=(0, 1), name="c"),
    LayerArgumentError, r"DilatedConv2DLayer 'c'", r"dilation entries must be >= 1, got \(0, 1\)")
row(R, "pool-size-zero", "MaxPool2DLayer", "pool_size=0", lambda: MaxPool2DLayer(_img, 0, name="p"),
    LayerArgumentError, r"MaxPool2DLayer 'p'", r"pool_size entries must be >= 1, got 0")
row(R, "pool-size-negative", "MaxPool2DLayer", "pool_size (2, -1)", lambda: MaxPool2DLayer(_img, (2, -1), name="p"),
    LayerArgumentError, r"MaxPool2DLayer 'p'", r"\(2, -1\)")
row(R, "pool-too-big", "MaxPool2DLayer", "pool_size (9, 2) on an 8 x 6 input", lambda: MaxPool2DLayer(_img, (9, 2), name="p"),
    ValueError, r"MaxPool2DLayer 'p'", r"pool_size \(9, 2\) is larger than the padded input", r"\(None, 3, 8, 6\)")
row(R, "pool-stride", "MaxPool2DLayer", "stride=0", lambda: MaxPool2DLayer(_img, 2, stride=0, name="p"),
    LayerArgumentError, r"MaxPool2DLayer 'p'", r"stride entries must be >= 1, got 0")
row(R, "pool-pad", "MaxPool2DLayer", "pad=2 with pool_size 2", lambda: MaxPool2DLayer(_img, 2, pad=2, name="p"),
    ValueError, r"MaxPool2DLayer 'p'", r"each pad must be smaller than the pool size", r"pad=\(2, 2\) for pool_size=\(2, 2\)")
row(R, "pool-layer-mode", "Pool2DLayer", "mode='median'", lambda: Pool2DLayer(_img, 2, mode="median", name="p"),
    ValueError, r"Pool2DLayer 'p'", r"mode must be one of 'max'", r"got 'median'")
row(R, "pool-rank", "MaxPool2DLayer", "a 2-d input", lambda: MaxPool2DLayer(_inp, 2, name="p"),
    ValueError, r"MaxPool2DLayer 'p'", r"\(None, 5\)", r"Expected 4 input dimensions")
row(R, "feature-pool", "FeaturePoolLayer", "pool_size 2 over 3 feature maps", lambda: FeaturePoolLayer(_img, 2, name="fp"),
    ValueError, r"FeaturePoolLayer 'fp'", r"feature maps \(3\) is not a multiple of the pool size \(pool_size=2\)")
row(R, "upscale", "Upscale2DLayer", "scale_factor=0", lambda: Upscale2DLayer(_img, 0, name="u"),
    ValueError, r"Upscale2DLayer 'u'", r"Scale factor must be >= 1", r"\(0, 0\)")
row(R, "spp-dims", "SpatialPyramidPoolingLayer", "pool_dims [0, 2]", lambda: SpatialPyramidPoolingLayer(_img, pool_dims=[0, 2], name="spp"),
    ValueError, r"SpatialPyramidPoolingLayer 'spp'", r"pool_dims must be positive ints, got \[0, 2\]")
row(R, "lrn-even", "LocalResponseNormalization2DLayer", "an even n=4", lambda: LocalResponseNormalization2DLayer(_img, n=4, name="lrn"),
    NotImplementedError, r"LocalResponseNormalization2DLayer 'lrn'", r"only odd n is supported, got n=4")
row(R, "reshape-layer-size", "ReshapeLayer", "(2, 5) into (3, 4)", lambda: ReshapeLayer(InputLayer((2, 5)), (3, 4), name="r"),
    ValueError, r"ReshapeLayer 'r'", r"cannot reshape an input of shape \(2, 5\) to \(3, 4\)")
row(R, "reshape-layer-two-unknown", "ReshapeLayer", "two -1 entries", lambda: ReshapeLayer(_inp, (-1, -1), name="r"),
    ValueError, r"ReshapeLayer 'r'", r"cannot contain multiple -1, got \(-1, -1\)")
row(R, "reshape-layer-negative", "ReshapeLayer", "an entry -2", lambda: ReshapeLayer(_inp, (-2, 5), name="r"),
    ValueError, r"ReshapeLayer 'r'", r"integers must be >= -1, got \(-2, 5\)")
row(R, "reshape-layer-reference", "ReshapeLayer", "a reference [3] to an axis of a 2-d input", lambda: ReshapeLayer(_inp, ([0], [3]), name="r"),
    ValueError, r"ReshapeLayer 'r'", r"input axis in 0..1, got \[3\]")
row(R, "reshape-layer-str", "ReshapeLayer", "shape 'abc'", lambda: ReshapeLayer(_inp, "abc", name="r"),
    TypeError, r"ReshapeLayer 'r'", r"shape must be a tuple, got 'abc'")
row(R, "concat-layer-shapes", "ConcatLayer", "(None, 5, 3) and (None, 4, 2) on axis 1", lambda: ConcatLayer([InputLayer((None, 5, 3)), InputLayer((None, 4, 2))], axis=1, name="cat"),
    ValueError, r"ConcatLayer 'cat'", r"\[\(None, 5, 3\), \(None, 4, 2\)\]", r"axis 2 differs")
row(R, "concat-layer-ranks", "ConcatLayer", "a 2-d and a 4-d input", lambda: ConcatLayer([_inp, _img], axis=1, name="cat"),
    ValueError, r"ConcatLayer 'cat'", r"different numbers of dimensions")
row(R, "concat-layer-axis", "ConcatLayer", "axis=3 for 2-d inputs", lambda: ConcatLayer([_inp, _inp], axis=3, name="cat"),
    ValueError, r"ConcatLayer 'cat'", r"axis 3 is out of range for inputs of 2 dims")
row(R, "sum-layer-shapes", "ElemwiseSumLayer", "inputs (None, 5) and (None, 4)", lambda: ElemwiseSumLayer([_inp, InputLayer((None, 4))], name="s"),
    ValueError, r"ElemwiseSumLayer 's'", r"\[\(None, 5\), \(None, 4\)\]", r"axis 1 differs")
row(R, "sum-layer-coeffs", "ElemwiseSumLayer", "3 coeffs for 2 inputs", lambda: ElemwiseSumLayer([_inp, _inp], coeffs=[1, 2, 3], name="s"),
    ValueError, r"ElemwiseSumLayer 's'", r"got 3 coeffs for 2 incomings")
row(R, "merge-layer-function", "ElemwiseMergeLayer", "merge_function='add' (a string)", lambda: ElemwiseMergeLayer([_inp, _inp], merge_function="add", name="s"),
    TypeError, r"ElemwiseMergeLayer 's'", r"merge_function must be callable, got 'add'")
row(R, "lstm-rank", "LSTMLayer", "a 2-d input", lambda: LSTMLayer(_inp, 3, name="lstm"),
    ValueError, r"LSTMLayer 'lstm'", r"input must be \(batch, time, features...\), got shape \(None, 5\)")
row(R, "lstm-mask-rank", "LSTMLayer", "a 3-d mask", lambda: LSTMLayer(_sq, 3, mask_input=InputLayer((None, 7, 1)), name="lstm"),
    ValueError, r"LSTMLayer 'lstm'", r"the mask must be \(batch, time\), got shape \(None, 7, 1\)")
row(R, "lstm-mask-shape", "LSTMLayer", "a mask of 6 steps for 7-step sequences", lambda: LSTMLayer(_sq, 3, mask_input=InputLayer((None, 6)), name="lstm"),
    ValueError, r"LSTMLayer 'lstm'", r"mask shape \(None, 6\) does not match input shape \(None, 7, 4\)")
row(R, "lstm-mask-array", "LSTMLayer", "mask_input a numpy array", lambda: LSTMLayer(_sq, 3, mask_input=np.ones((2, 7)), name="lstm"),
    TypeError, r"LSTMLayer 'lstm'", r"must be a Layer or a shape tuple, got ndarray")
row(R, "lstm-hid-init", "LSTMLayer", "hid_init of shape (1, 5) for 3 units", lambda: LSTMLayer(_sq, 3, hid_init=np.zeros((1, 5), np.float32), name="lstm"),
    ValueError, r"parameter 'lstm.hid_init'", r"\(1, 5\), should be \(1, 3\)")
row(R, "lstm-unroll", "LSTMLayer", "unroll_scan=True with an unknown sequence length", lambda: LSTMLayer(InputLayer((None, None, 4)), 3, unroll_scan=True, name="lstm"),
    ValueError, r"LSTMLayer 'lstm'", r"sequence length cannot be None when unroll_scan is True")
row(R, "rnn-units", "RecurrentLayer", "num_units=-1", lambda: RecurrentLayer(_sq, -1, name="rnn"),
    ValueError, r"'rnn.input_to_hidden'", r"num_units must be a positive int, got -1")
row(R, "embedding-input-size", "EmbeddingLayer", "input_size=0", lambda: EmbeddingLayer(_ids, 0, 5, name="emb"),
    ValueError, r"EmbeddingLayer 'emb'", r"input_size must be a positive int, got 0")
row(R, "embedding-output-size", "EmbeddingLayer", "output_size=-5", lambda: EmbeddingLayer(_ids, 10, -5, name="emb"),
    ValueError, r"EmbeddingLayer 'emb'", r"output_size must be a positive int, got -5")
row(R, "embedding-none", "EmbeddingLayer", "input_size=None", lambda: EmbeddingLayer(_ids, None, 5, name="emb"),
    ValueError, r"EmbeddingLayer 'emb'", r"input_size must be a positive int, got None")
row(R, "embedding-W-shape", "EmbeddingLayer", "W of shape (5, 10) for 10 ids, 5 outputs", lambda: EmbeddingLayer(_ids, 10, 5, W=np.ones((5, 10), np.float32), name="emb"),
    ValueError, r"parameter 'emb.W'", r"\(5, 10\), should be \(10, 5\)")
row(R, "dropout-one", "DropoutLayer", "p=1.0", lambda: DropoutLayer(_inp, p=1.0, name="drop"),
    ValueError, r"DropoutLayer 'drop'", r"p must lie in \[0, 1\), got 1.0")
row(R, "dropout-negative", "DropoutLayer", "p=-0.1", lambda: DropoutLayer(_inp, p=-0.1, name="drop"),
    ValueError, r"DropoutLayer 'drop'", r"got -0.1")
row(R, "dropout-nan", "DropoutLayer", "p=nan", lambda: DropoutLayer(_inp, p=NAN, name="drop"),
    ValueError, r"DropoutLayer 'drop'", r"p must lie in \[0, 1\), got nan")
row(R, "noise-sigma", "GaussianNoiseLayer", "sigma=-1", lambda: GaussianNoiseLayer(_inp, sigma=-1, name="noise"),
    ValueError, r"GaussianNoiseLayer 'noise'", r"sigma must be a finite non-negative number, got -1")
row(R, "batchnorm-axes", "BatchNormLayer", "axes=(3,) on a 2-d input", lambda: BatchNormLayer(_inp, axes=(3,), name="bn"),
    ValueError, r"BatchNormLayer 'bn'", r"axes \(3,\) names axis 3, but the input has 2 dimensions")
row(R, "batchnorm-epsilon", "BatchNormLayer", "epsilon=-1", lambda: BatchNormLayer(_inp, epsilon=-1, name="bn"),
    ValueError, r"BatchNormLayer 'bn'", r"epsilon must be >= 0.0, got -1")
row(R, "batchnorm-alpha", "BatchNormLayer", "alpha=2", lambda: BatchNormLayer(_inp, alpha=2, name="bn"),
    ValueError, r"BatchNormLayer 'bn'", r"alpha must be \[0.0, 1.0\], got 2")
row(R, "slice-index", "SliceLayer.output_shape", "index 7 on an axis of 5", lambda: SliceLayer(_inp, 7, axis=1, name="sl").output_shape,
    ValueError, r"SliceLayer 'sl'", r"index 7 is out of range for axis 1 of size 5")
row(R, "slice-axis", "SliceLayer", "axis=3 of a 2-d input", lambda: SliceLayer(_inp, 0, axis=3, name="sl"),
    ValueError, r"SliceLayer 'sl'", r"axis 3 is out of range for input shape \(None, 5\)")
row(R, "dimshuffle-layer", "DimshuffleLayer", "pattern (0, 2) on a 2-d input", lambda: DimshuffleLayer(_inp, (0, 2), name="ds"),
    ValueError, r"DimshuffleLayer 'ds'", r"pattern \(0, 2\) names dim 2, input has 2")
row(R, "flatten-layer", "FlattenLayer", "outdim=0", lambda: FlattenLayer(_img, outdim=0, name="fl"),
    ValueError, r"FlattenLayer 'fl'", r"outdim must be >= 1, got 0")
row(R, "pad-layer", "PadLayer", "width=-1", lambda: PadLayer(_img, width=-1, name="pad"),
    ValueError, r"PadLayer 'pad'", r"widths must be non-negative, got -1")
row(R, "nonlinearity-layer", "NonlinearityLayer", "nonlinearity=3", lambda: layers.get_output(NonlinearityLayer(_inp, nonlinearity=3, name="nl")),
    TypeError, r"NonlinearityLayer 'nl'", r"nonlinearity must be callable, got int")
row(R, "bias-layer", "BiasLayer", "b of 4 entries for 5 features", lambda: BiasLayer(_inp, b=np.ones(4, np.float32), name="bias"),
    ValueError, r"parameter 'bias.b'", r"\(4,\), should be \(5,\)")
row(R, "inverse-layer", "InverseLayer", "incoming (None, 5) for a layer whose output is (None, 4)", lambda: InverseLayer(_inp, DenseLayer(InputLayer((None, 3)), 4), name="inv"),
    ValueError, r"InverseLayer 'inv'", r"incoming shape \(None, 5\) must match the inverted layer's output shape \(None, 4\)")
row(R, "input-var-shape", "InputLayer", "shape (None, 5) with an input_var of static shape (None, 4)", lambda: InputLayer((None, 5), input_var=T.matrix("v", shape=(None, 4)), name="x"),
    ValueError, r"InputLayer 'x'", r"\(None, 5\)")
row(R, "slice-index-constructor", "SliceLayer", "index 7 on an axis of 5", lambda: SliceLayer(_inp, 7, axis=1, name="sl"),
    ValueError, r"SliceLayer 'sl'", r"index 7 is out of range")
row(R, "dense-nonlinearity-str", "DenseLayer", "nonlinearity='relu' (a string)", lambda: DenseLayer(_inp, 4, nonlinearity="relu", name="d"),
    TypeError, r"DenseLayer 'd'", r"nonlinearity must be callable")
row(R, "global-pool-function", "GlobalPoolLayer", "pool_function='median' (a string)", lambda: GlobalPoolLayer(_img, pool_function="median", name="gp"),
    TypeError, r"GlobalPoolLayer 'gp'", r"pool_function")
row(R, "conv-filter-too-big", "Conv2DLayer", "filter_size (9, 3) on an 8 x 6 input", lambda: Conv2DLayer(_img, 4, (9, 3), name="c"),
    ValueError, r"Conv2DLayer 'c'", r"filter_size \(9, 3\)")
row(R, "concat-layer-empty", "ConcatLayer", "no incomings", lambda: ConcatLayer([], name="cat"),
    ValueError, r"ConcatLayer 'cat'", r"at least one")
row(R, "lstm-zero-units", "LSTMLayer", "num_units=0", lambda: LSTMLayer(_sq, 0, name="lstm"),
    ValueError, r"LSTMLayer 'lstm'", r"num_units")
row(R, "lstm-none-units", "LSTMLayer", "num_units=None", lambda: LSTMLayer(_sq, None, name="lstm"),
    ValueError, r"LSTMLayer 'lstm'", r"num_units")
row(R, "lstm-grad-clipping", "LSTMLayer", "grad_clipping=nan", lambda: LSTMLayer(_sq, 3, grad_clipping=NAN, name="lstm"),
    ValueError, r"LSTMLayer 'lstm'", r"grad_clipping")
row(R, "lstm-hid-init-layer", "LSTMLayer", "hid_init a layer of 5 features for 3 units", lambda: LSTMLayer(_sq, 3, hid_init=InputLayer((None, 5)), name="lstm"),
    ValueError, r"LSTMLayer 'lstm'", r"hid_init")
row(R, "dropout-str", "DropoutLayer", "p='0.5' (a string)", lambda: DropoutLayer(_inp, p="0.5", name="drop"),
    TypeError, r"DropoutLayer 'drop'", r"'0.5'")

# --- get_output and friends -------------------------------------------------------------------
R, G = section("Lasagne: `get_output`, `get_output_shape`, parameters")
row(R, "get-output-key", "get_output", "inputs dict keyed by the name 'inp'", lambda: layers.get_output(_dense, {"inp": T.matrix("q")}),
    TypeError, r"get_output\(\)", r"must map layers to expressions, got a key 'inp'")
row(R, "get-output-none", "get_output", "inputs dict mapping the input layer to None", lambda: layers.get_output(_dense, {_inp: None}),
    TypeError, r"NoneType", r"not a symbolic expression or an array")
row(R, "get-output-single", "get_output", "one expression for a network with two input layers", lambda: layers.get_output(ConcatLayer([_inp, _other]), T.matrix("q")),
    ValueError, r"single input expression on a network with multiple input layers", r"dictionary")
row(R, "get-output-layer", "get_output", "layer_or_layers=None", lambda: layers.get_output(None),
    TypeError, r"expected a Layer or a list of layers", r"got NoneType")
row(R, "get-output-layer-str", "get_output", "a layer name instead of a layer", lambda: layers.get_output("d"),
    TypeError, r"expected a Layer or a list of layers", r"item of type str")
row(R, "get-output-shape-none", "get_output_shape", "layer_or_layers=None", lambda: layers.get_output_shape(None),
    TypeError, r"expected a Layer or a list of layers", r"got NoneType")
row(R, "set-values-count", "set_all_param_values", "1 value for 2 parameters", lambda: layers.set_all_param_values(_dense, [np.ones((5, 4))]),
    ValueError, r"mismatch: got 1 values to set 2 parameters")
row(R, "set-values-shape", "set_all_param_values", "W's value of shape (4, 5) for (5, 4)", lambda: layers.set_all_param_values(_dense, [np.ones((4, 5)), np.ones(4)]),
    ValueError, r"parameter 'd.W' has shape \(5, 4\)", r"value to set has shape \(4, 5\)")
row(R, "count-params", "count_params", "None", lambda: layers.count_params(None),
    TypeError, r"expected a Layer or a list of layers", r"got NoneType")
row(R, "embedding-float-ids", "get_output (EmbeddingLayer)", "float ids", lambda: layers.get_output(EmbeddingLayer(InputLayer((None, 7), name="fi"), 10, 5, name="emb")),
    TypeError, r"EmbeddingLayer 'emb' needs integer ids", r"give its InputLayer an integer input_var")
gap(G, "get-output-foreign-layer", "get_output", "inputs dict keyed by a layer outside the network", lambda: layers.get_output(_dense, {_other: T.matrix("q")}),
    ValueError, r"'other'", r"not", now="ignored silently (as Lasagne does): the intended input is not used")
row(R, "get-output-rank", "get_output", "a 3-d expression for the 2-d input layer 'inp'", lambda: layers.get_output(_dense, {_inp: T.tensor3("q")}),
    ValueError, r"'inp'", r"2")
row(R, "get-output-shape", "get_output", "a (None, 6) expression for the (None, 5) input layer 'inp'", lambda: layers.get_output(_dense, {_inp: T.matrix("q", shape=(None, 6))}),
    ValueError, r"'inp'", r"\(None, 5\)")
row(R, "get-output-cycle", "get_output", "layers a -> b -> a (a cycle)", lambda: layers.get_output(_cycle()),
    ValueError, r"cycle", r"'a'")
row(R, "get-all-layers-cycle", "get_all_layers", "layers a -> b -> a (a cycle)", lambda: layers.get_all_layers(_cycle()),
    ValueError, r"cycle", r"'a'")

# --- updates ----------------------------------------------------------------------------------
R, G = section("Lasagne: `graphc.updates` (cost over shared W (3, 2) and V (2, 5))")
row(R, "sgd-lr-nan", "updates.sgd", "learning_rate=nan", lambda: updates.sgd(_cost2, [_W, _V], NAN),
    ValueError, r"sgd: learning_rate", r"must be a finite number, got nan")
row(R, "sgd-lr-negative", "updates.sgd", "learning_rate=-0.1", lambda: updates.sgd(_cost2, [_W, _V], -0.1),
    ValueError, r"sgd: learning_rate", r"must be non-negative, got -0.1")
row(R, "sgd-lr-inf", "updates.sgd", "learning_rate=inf", lambda: updates.sgd(_cost2, [_W, _V], float("inf")),
    ValueError, r"sgd: learning_rate", r"got inf")
row(R, "sgd-lr-str", "updates.sgd", "learning_rate='0.1'", lambda: updates.sgd(_cost2, [_W, _V], "0.1"),
    TypeError, r"sgd: learning_rate", r"must be a number or a symbolic scalar, got '0.1'")
row(R, "sgd-lr-none", "updates.sgd", "learning_rate=None", lambda: updates.sgd(_cost2, [_W, _V], None),
    TypeError, r"sgd: learning_rate", r"got None")
row(R, "momentum-one", "updates.momentum", "momentum=1.0", lambda: updates.momentum(_cost2, [_W, _V], 0.1, momentum=1.0),
    ValueError, r"momentum: momentum", r"must be in \[0, 1\), got 1.0")
row(R, "momentum-negative", "updates.momentum", "momentum=-0.5", lambda: updates.momentum(_cost2, [_W, _V], 0.1, momentum=-0.5),
    ValueError, r"momentum: momentum", r"must be non-negative, got -0.5")
row(R, "nesterov-above-one", "updates.nesterov_momentum", "momentum=1.5", lambda: updates.nesterov_momentum(_cost2, [_W, _V], 0.1, momentum=1.5),
    ValueError, r"nesterov_momentum: momentum", r"got 1.5")
row(R, "apply-momentum", "updates.apply_momentum", "momentum=1.0", lambda: updates.apply_momentum({_W: _W * 2}, momentum=1.0),
    ValueError, r"apply_momentum: momentum", r"must be in \[0, 1\)")
row(R, "adam-beta1", "updates.adam", "beta1=1.0", lambda: updates.adam(_cost2, [_W, _V], beta1=1.0),
    ValueError, r"adam: beta1", r"must be in \[0, 1\), got 1.0")
row(R, "adam-beta2-nan", "updates.adam", "beta2=nan", lambda: updates.adam(_cost2, [_W, _V], beta2=NAN),
    ValueError, r"adam: beta2", r"finite number, got nan")
row(R, "adam-epsilon", "updates.adam", "epsilon=-1e-8", lambda: updates.adam(_cost2, [_W, _V], epsilon=-1e-8),
    ValueError, r"adam: epsilon", r"non-negative, got -1e-08")
row(R, "rmsprop-rho", "updates.rmsprop", "rho=1.5", lambda: updates.rmsprop(_cost2, [_W, _V], rho=1.5),
    ValueError, r"rmsprop: rho", r"got 1.5")
row(R, "adadelta-rho", "updates.adadelta", "rho=-0.1", lambda: updates.adadelta(_cost2, [_W, _V], rho=-0.1),
    ValueError, r"adadelta: rho", r"non-negative, got -0.1")
row(R, "adagrad-epsilon", "updates.adagrad", "epsilon=nan", lambda: updates.adagrad(_cost2, [_W, _V], epsilon=NAN),
    ValueError, r"adagrad: epsilon", r"finite number, got nan")
row(R, "rprop-lr", "updates.rprop", "learning_rate=-1", lambda: updates.rprop(_cost2, [_W, _V], learning_rate=-1),
    ValueError, r"rprop: learning_rate", r"non-negative, got -1")
row(R, "esgd-lr", "updates.esgd", "learning_rate=nan", lambda: updates.esgd(_cost2, [_W, _V], learning_rate=NAN),
    ValueError, r"esgd: learning_rate", r"got nan")
row(R, "param-twice", "updates.sgd", "W listed twice", lambda: updates.sgd(_cost2, [_W, _W], 0.1),
    ValueError, r"sgd: the parameter <shared W", r"listed twice")
row(R, "grads-count", "updates.sgd", "1 gradient for 2 parameters", lambda: updates.sgd([T.zeros((3, 2))], [_W, _V], 0.1),
    ValueError, r"got 1 gradient expressions for 2 parameters")
row(R, "grads-shape", "updates.sgd", "a (2, 3) gradient for the (3, 2) W", lambda: updates.sgd([T.zeros((2, 3)), T.zeros((2, 5))], [_W, _V], 0.1),
    ValueError, r"gradient 0 <full: float32\(2, 3\)>", r"does not fit the shape of its parameter <shared W")
row(R, "params-not-shared", "updates.sgd", "a placeholder among the params", lambda: updates.sgd(_cost2, [_x], 0.1),
    ValueError, r"params must contain shared variables only", r"params\[0\] is <x")
row(R, "params-not-list", "updates.sgd", "params=W (not a list)", lambda: updates.sgd(_cost2, _W, 0.1),
    TypeError, r"sgd: params must be a list of shared variables", r"got SharedVariable")
row(R, "params-int", "updates.sgd", "an int32 shared variable as a parameter", lambda: updates.sgd(_cost2, [graphc.shared(np.ones(3, np.int32), name="I")], 0.1),
    TypeError, r"<shared I: int32\(3,\)>", r"not a float tensor")
row(R, "params-disconnected", "updates.sgd", "a parameter U the cost does not use", lambda: updates.sgd(_cost2, [_W, _V, graphc.shared(np.ones(4, np.float32), name="U")], 0.1),
    graphc.DisconnectedInputError, r"does not depend on <shared U")
row(R, "total-norm", "updates.total_norm_constraint", "max_norm=-1", lambda: updates.total_norm_constraint([T.zeros(3)], max_norm=-1),
    ValueError, r"total_norm_constraint: max_norm", r"non-negative, got -1")
row(R, "norm-constraint", "updates.norm_constraint", "max_norm=nan", lambda: updates.norm_constraint(_W, max_norm=NAN),
    ValueError, r"norm_constraint: max_norm", r"finite number, got nan")
row(R, "norm-axes", "updates.norm_constraint", "norm_axes=(3,) for a matrix", lambda: updates.norm_constraint(_W, 1.0, norm_axes=(3,)),
    ValueError, r"norm_constraint: norm_axes \(3,\) out of range", r"<shared W")
row(R, "updates-keyword", "updates.sgd", "mom=0.9 (no such option)", lambda: updates.sgd(_cost2, [_W, _V], 0.1, mom=0.9),
    TypeError, r"sgd\(\)", r"unexpected keyword argument 'mom'")

# --- objectives, regularization, init ---------------------------------------------------------
R, G = section("Lasagne: `objectives`, `regularization`, `init`, `nonlinearities`")
row(R, "squared-error", "objectives.squared_error", "predictions (None, 4), targets (None, 5)", lambda: objectives.squared_error(_p, _t5),
    ValueError, r"squared_error: operands <p", r"<t", r"sizes 4 and 5")
row(R, "binary-xent", "objectives.binary_crossentropy", "predictions (None, 4), targets (None, 5)", lambda: objectives.binary_crossentropy(_p, _t5),
    ValueError, r"binary_crossentropy: predictions <p", r"do not match")
row(R, "categorical-xent", "objectives.categorical_crossentropy", "4 classes predicted, one-hot targets of 5", lambda: objectives.categorical_crossentropy(_p, _t5),
    ValueError, r"categorical_crossentropy: predictions <p", r"differ on axis 1 \(4 vs 5\)")
row(R, "categorical-xent-rank", "objectives.categorical_crossentropy", "3-d targets for 2-d predictions", lambda: objectives.categorical_crossentropy(_p, T.tensor3("t3")),
    TypeError, r"categorical_crossentropy: rank mismatch", r"<t3: float32")
row(R, "categorical-xent-float-ids", "objectives.categorical_crossentropy", "float class indices", lambda: objectives.categorical_crossentropy(_p, T.vector("tv")),
    TypeError, r"must be integer class indices", r"<tv: float32")
row(R, "hinge", "objectives.binary_hinge_loss", "predictions (None, 4), targets (None, 5)", lambda: objectives.binary_hinge_loss(_p, _t5),
    ValueError, r"binary_hinge_loss: predictions <p", r"sizes 4 and 5")
row(R, "aggregate-mode", "objectives.aggregate", "mode='median'", lambda: objectives.aggregate(objectives.squared_error(_p, _p), mode="median"),
    ValueError, r"aggregate: mode must be 'mean', 'sum' or 'normalized_sum'", r"got 'median'")
row(R, "aggregate-weights", "objectives.aggregate", "weights (None, 5) for a (None, 4) loss", lambda: objectives.aggregate(objectives.squared_error(_p, _p), weights=T.matrix("w", shape=(None, 5))),
    ValueError, r"aggregate: loss", r"<w: float32", r"sizes 4 and 5")
row(R, "accuracy-top-k", "objectives.categorical_accuracy", "top_k=0", lambda: objectives.categorical_accuracy(_p, T.ivector("ti"), top_k=0),
    ValueError, r"categorical_accuracy: top_k", r"positive int, got 0")
row(R, "penalty", "regularization.regularize_layer_params", "penalty 'l3' (a string)", lambda: regularization.regularize_layer_params(_dense, "l3"),
    TypeError, r"penalty must be callable", r"got 'l3'")
row(R, "glorot-1d", "init.GlorotUniform.sample", "a 1-d shape (5,)", lambda: init.GlorotUniform().sample((5,)),
    init.UnsupportedShapeError, r"GlorotUniform: this initializer only works with shapes of length >= 2", r"got \(5,\)")
row(R, "glorot-c01b", "init.GlorotUniform.sample", "a 2-d shape with c01b=True", lambda: init.GlorotUniform(c01b=True).sample((5, 3)),
    init.UnsupportedShapeError, r"GlorotUniform: if c01b is True, only shapes of length 4", r"got \(5, 3\)")
row(R, "glorot-gain", "init.GlorotUniform", "gain='abc'", lambda: init.GlorotUniform(gain="abc"),
    ValueError, r"gain must be a number or 'relu'", r"got 'abc'")
row(R, "orthogonal-1d", "init.Orthogonal.sample", "a 1-d shape (5,)", lambda: init.Orthogonal().sample((5,)),
    init.UnsupportedShapeError, r"Orthogonal: only shapes of length 2 or more are supported", r"got \(5,\)")
row(R, "normal-std", "init.Normal", "std=-1", lambda: init.Normal(std=-1),
    ValueError, r"Normal: std", r"finite non-negative number, got -1")
row(R, "normal-std-nan", "init.Normal", "std=nan", lambda: init.Normal(std=NAN),
    ValueError, r"Normal: std", r"got nan")
row(R, "uniform-range", "init.Uniform", "range (1, 0)", lambda: init.Uniform(range=(1, 0)),
    ValueError, r"Uniform: need low <= high", r"got \(1, 0\)")
row(R, "sparse", "init.Sparse.sample", "sparsity=1.5", lambda: init.Sparse(sparsity=1.5).sample((5, 3)),
    ValueError, r"Sparse: sparsity must lie in \[0, 1\]", r"got 1.5")
row(R, "glorot-gain-nan", "init.GlorotUniform", "gain=nan", lambda: init.GlorotUniform(gain=NAN),
    ValueError, r"GlorotUniform", r"gain")
row(R, "init-negative-size", "init.Normal.sample", "shape (5, -3)", lambda: init.Normal().sample((5, -3)),
    ValueError, r"Normal", r"\(5, -3\)")
row(R, "leaky-rectify-nan", "nonlinearities.LeakyRectify", "leakiness=nan", lambda: graphc.nonlinearities.LeakyRectify(NAN),
    ValueError, r"LeakyRectify", r"leakiness")
row(R, "squared-error-none", "objectives.squared_error", "targets None", lambda: objectives.squared_error(_p, None),
    TypeError, r"squared_error", r"None")

# --- theanets ---------------------------------------------------------------------------------
R, G = section("theanets: models (`Regressor([4, (6, 'tanh'), 2])`, `Classifier([4, 6, 3])`)")
row(R, "form-unknown", "Regressor", "a layer dict with form 'magic'", lambda: theanets.Regressor([4, {"form": "magic", "size": 6}, 2]),
    theanets.ConfigurationError, r"layer 'hid1': unknown layer form 'magic'", r"registered forms: ")
row(R, "activation-unknown", "Regressor", "activation 'tanhh'", lambda: theanets.Regressor([4, (6, "tanhh"), 2]),
    ValueError, r"layer 'hid1': unknown activation 'tanhh'", r"known activations: ")
row(R, "spec-float", "Regressor", "a layer spec 3.5", lambda: theanets.Regressor([4, 3.5, 2]),
    theanets.ConfigurationError, r"layer 1", r"cannot build a layer from 3.5")
row(R, "spec-not-list", "Regressor", "layers=4 (not a sequence)", lambda: theanets.Regressor(4),
    theanets.ConfigurationError, r"layers must be a sequence of layer specs", r"got 4")
row(R, "spec-size-zero", "Regressor", "a hidden size 0", lambda: theanets.Regressor([4, 0, 2]),
    theanets.ConfigurationError, r"layer 'hid1'", r"size must be a positive int, got 0")
row(R, "spec-size-negative", "Regressor", "a hidden size -6", lambda: theanets.Regressor([4, -6, 2]),
    theanets.ConfigurationError, r"layer 'hid1'", r"got -6")
row(R, "spec-no-size", "Regressor", "a layer dict without a size", lambda: theanets.Regressor([4, {"activation": "relu"}, 2]),
    theanets.ConfigurationError, r"layer 'hid1' \(Feedforward\)", r"needs a size")
row(R, "spec-input-name", "Regressor", "inputs='nope' (no such layer)", lambda: theanets.Regressor([4, {"size": 6, "inputs": "nope"}, 2]),
    theanets.ConfigurationError, r"layer 'hid1' cannot resolve input 'nope'", r"layers before it: 'in'")
row(R, "spec-duplicate-name", "Regressor", "two layers named 'h'", lambda: theanets.Regressor([4, {"size": 6, "name": "h"}, {"size": 6, "name": "h"}, 2]),
    theanets.ConfigurationError, r"layer 'h'", r"already has a layer of that name")
row(R, "rng", "Regressor", "rng='x'", lambda: theanets.Regressor([4, 6, 2], rng="x"),
    theanets.ConfigurationError, r"rng must be an int seed or a numpy RandomState", r"got str")
row(R, "loss-unknown", "Regressor", "loss='msee'", lambda: theanets.Regressor([4, 6, 2], loss="msee"),
    ValueError, r"unknown loss 'msee'", r"known losses: crossentropy, gaussianloglikelihood")
row(R, "algo-unknown", "Network.train", "algo='bfgs'", lambda: _net().train([_X, _Y], algo="bfgs"),
    ValueError, r"unknown training algorithm 'bfgs'", r"known algorithms: sgd, nag")
row(R, "algo-none", "Network.train", "algo=None", lambda: _net().train([_X, _Y], algo=None),
    ValueError, r"unknown training algorithm None", r"known algorithms")
row(R, "option-unknown", "Network.train", "learning_rat=0.1 (misspelled)", lambda: _net().train([_X, _Y], algo="sgd", learning_rat=0.1),
    TypeError, r"unknown training option\(s\) \['learning_rat'\]", r"options are \['batch_size'")
row(R, "batch-size-float", "Network.train", "batch_size=2.5", lambda: _net().train([_X, _Y], algo="sgd", batch_size=2.5),
    ValueError, r"batch_size must be an integer", r"got 2.5")
row(R, "batch-size-string", "Network.train", "batch_size='32'", lambda: _net().train([_X, _Y], algo="sgd", batch_size="32"),
    ValueError, r"batch_size must be an integer", r"got '32'")
row(R, "data-lengths", "Network.train", "10 inputs, 7 targets", lambda: _net().train([_X, _Y[:7]], algo="sgd"),
    ValueError, r"train data", r"same number of examples, got in: 10, target: 7")
row(R, "data-ndim", "Network.train", "a 1-d input array", lambda: _net().train([_X[0], _Y], algo="sgd"),
    ValueError, r"train data: 'in' has 1 dimension\(s\) \(shape \(4,\)\)", r"expected 2")
row(R, "data-features", "Network.train", "5 input features for 4", lambda: _net().train([np.ones((10, 5), np.float32), _Y], algo="sgd"),
    ValueError, r"train data: 'in' has shape \(10, 5\)", r"axis 1 must be 4")
row(R, "data-targets", "Network.train", "3 target columns for 2 outputs", lambda: _net().train([_X, np.ones((10, 3), np.float32)], algo="sgd"),
    ValueError, r"input 'target' has shape \(10, 3\)", r"axis 1 must be 2")
row(R, "data-count", "Network.train", "only the inputs, no targets", lambda: _net().train([_X], algo="sgd"),
    ValueError, r"train data: expected 2 array\(s\), for \['in', 'target'\]", r"got 1")
row(R, "valid-features", "Network.train", "validation inputs with 3 features", lambda: _net().train([_X, _Y], [np.ones((5, 3), np.float32), _Y[:5]], algo="sgd"),
    ValueError, r"valid data: 'in' has shape \(5, 3\)", r"axis 1 must be 4")
row(R, "labels-range", "Classifier.train", "a label 3 with 3 classes", lambda: _clf().train([_X, np.array([0, 1, 2, 3, 0, 1, 2, 0, 1, 2])], algo="sgd"),
    ValueError, r"'target' holds class labels from 0 to 3", r"labels must lie in \[0, 2\]")
row(R, "labels-negative", "Classifier.train", "a label -4 with 3 classes (-3..-1 count from the end)", lambda: _clf().train([_X, np.array([0, 1, 2, -4, 0, 1, 2, 0, 1, 2])], algo="sgd"),
    ValueError, r"class labels from -4 to 2", r"must lie in \[0, 2\] \(or \[-3, -1\]")
row(R, "labels-float", "Classifier.train", "float labels", lambda: _clf().train([_X, np.zeros(10, np.float32)], algo="sgd"),
    TypeError, r"'target' must hold integer class labels", r"got float32")
row(R, "labels-2d", "Classifier.train", "2-d labels", lambda: _clf().train([_X, np.zeros((10, 3), np.int32)], algo="sgd"),
    ValueError, r"'target' has 2 dimension\(s\) \(shape \(10, 3\)\)", r"expected 1")
row(R, "weight-l2-negative", "Network.train", "weight_l2=-1", lambda: _net().train([_X, _Y], algo="sgd", weight_l2=-1),
    ValueError, r"WeightL2: weight", r"finite number >= 0, got -1")
row(R, "weight-l2-nan", "Network.train", "weight_l2=nan", lambda: _net().train([_X, _Y], algo="sgd", weight_l2=NAN),
    ValueError, r"WeightL2: weight", r"got nan")
row(R, "hidden-dropout", "Network.train", "hidden_dropout=1.0", lambda: _net().train([_X, _Y], algo="sgd", hidden_dropout=1.0),
    ValueError, r"BernoulliDropout: the dropout probability", r"must be < 1, got 1.0")
row(R, "train-lr-nan", "Network.train", "learning_rate=nan", lambda: _net().train([_X, _Y], algo="sgd", learning_rate=NAN),
    ValueError, r"sgd: learning_rate", r"finite number, got nan")
row(R, "train-momentum", "Network.train", "algo='nag', momentum=1.0", lambda: _net().train([_X, _Y], algo="nag", momentum=1.0),
    ValueError, r"momentum", r"must be in \[0, 1\), got 1.0")
row(R, "patience", "Network.train", "patience=-1", lambda: _net().train([_X, _Y], algo="sgd", patience=-1),
    ValueError, r"patience must be an integer >= 0", r"got -1")
row(R, "min-improvement", "Network.train", "min_improvement=nan", lambda: _net().train([_X, _Y], algo="sgd", min_improvement=NAN),
    ValueError, r"min_improvement must be >= 0", r"got nan")
row(R, "max-updates", "Network.train", "max_updates=-2", lambda: _net().train([_X, _Y], algo="sgd", max_updates=-2),
    ValueError, r"max_updates must be an integer >= 0", r"got -2")
row(R, "validate-every", "Network.train", "validate_every=0", lambda: _net().train([_X, _Y], algo="sgd", validate_every=0),
    ValueError, r"validate_every must be an integer >= 1", r"got 0")
row(R, "regularizer-option", "Network.loss", "weight_l3=0.1 (no such option)", lambda: _net().loss(weight_l3=0.1),
    TypeError, r"Regressor: unknown regularizer option\(s\) \['weight_l3'\]", r"options are ")
row(R, "predict-ndim", "Network.predict", "a 1-d array", lambda: _net().predict(np.ones(4, np.float32)),
    ValueError, r"input 'in' has 1 dims \(shape \(4,\)\)", r"expected 2 dims, shape \(in_dim0, 4\)")
row(R, "predict-features", "Network.predict", "5 features for 4", lambda: _net().predict(np.ones((3, 5), np.float32)),
    ValueError, r"input 'in' has shape \(3, 5\)", r"axis 1 must be 4")
row(R, "find-layer", "Network.find", "a layer 'hid9' that does not exist", lambda: _net().find("hid9", "w"),
    KeyError, r"no layer 'hid9'", r"layers are \['in', 'hid1', 'out'\]")
row(R, "find-param", "Network.find", "a parameter 'q' of hid1", lambda: _net().find("hid1", "q"),
    KeyError, r"layer 'hid1' has no parameter 'q'", r"its parameters are \['w', 'b'\]")
row(R, "to-onnx-output", "Network.to_onnx", "an output 'nope:out'", lambda: _net().to_onnx(outputs=["nope:out"]),
    KeyError, r"no output 'nope:out'", r"outputs are \[")
row(R, "net-opset", "Network.to_onnx", "opset=9", lambda: _net().to_onnx(opset=9),
    ValueError, r"opset 9 is not supported", r"opsets 17..21")
row(R, "net-load-missing", "Network.load", "a path with no file", lambda: theanets.Network.load(_work() / "absent.npz"),
    FileNotFoundError, r"absent.npz")
row(R, "net-load-foreign", "Network.load", "an .npz that graphc did not write", lambda: theanets.Network.load(_work() / "arrays.npz"),
    ValueError, r"arrays.npz is not a graphc model file", r"no '__graphc_model__' entry")
row(R, "net-save-folder", "Network.save", "a path in a folder that does not exist", lambda: _net().save(_work() / "no_dir" / "net.npz"),
    FileNotFoundError, r"cannot write .*net.npz", r"folder .*no_dir does not exist")
row(R, "spec-unknown-word", "Regressor", "(6, 'lstmm', 'tanh'): a misspelled form next to an activation", lambda: theanets.Regressor([4, (6, "lstmm", "tanh"), 2]),
    theanets.ConfigurationError, r"'lstmm'", r"form")
gap(G, "spec-unknown-option", "Regressor", "a layer dict with 'actvation' (misspelled)", lambda: theanets.Regressor([4, {"size": 6, "actvation": "relu"}, 2]),
    theanets.ConfigurationError, r"layer 'hid1'", r"'actvation'", now="accepted and ignored")
row(R, "autoencoder-sizes", "Autoencoder", "[4, 6, 3]: the output size differs from the input size", lambda: theanets.Autoencoder([4, 6, 3]),
    theanets.ConfigurationError, r"Autoencoder", r"size")
row(R, "score-lengths", "Network.score", "10 inputs, 7 targets", lambda: _net().score(_X, _Y[:7]),
    ValueError, r"score", r"10")
row(R, "score-labels", "Classifier.score", "labels 5 with 3 classes", lambda: _clf().score(_X, np.full(10, 5)),
    ValueError, r"labels must lie in \[0, 2\]")
row(R, "predict-dict-name", "Network.predict", "a dict keyed 'inn' (the input is 'in')", lambda: _net().predict({"inn": np.ones((3, 4), np.float32)}),
    KeyError, r"'inn'", r"'in'")

# --- export -----------------------------------------------------------------------------------
R, G = section("Export: `graphc.export` (`to_onnx`, `save`, `load`, `training_model`)")
row(R, "opset-low", "export.to_onnx", "opset=9", lambda: to_onnx(T.dot(_x, _W), [_x], opset=9),
    ValueError, r"opset 9 is not supported", r"graphc exports opsets 17..21")
row(R, "opset-high", "export.to_onnx", "opset=99", lambda: to_onnx(T.dot(_x, _W), [_x], opset=99),
    ValueError, r"opset 99 is not supported", r"17..21")
row(R, "params-value", "export.to_onnx", "params='weights'", lambda: to_onnx(T.dot(_x, _W), [_x], params="weights"),
    ValueError, r"to_onnx: params must be 'initializers' or 'inputs'", r"got 'weights'")
row(R, "export-missing-input", "export.to_onnx", "an output needs z, inputs are [x]", lambda: to_onnx(_x + T.matrix("zz", shape=(None, 3)), [_x]),
    graphc.MissingInputError, r"to_onnx: an output depends on the input <zz", r"not in the inputs list \[<x")
row(R, "export-layer-input", "export.to_onnx", "an output layer whose InputLayer is not among the inputs", lambda: to_onnx(_dense, [_x]),
    graphc.MissingInputError, r"depends on the input <inp.input", r"inputs list \[<x")
row(R, "export-no-outputs", "export.to_onnx", "outputs=[]", lambda: to_onnx([], [_x]),
    ValueError, r"to_onnx: no outputs given")
row(R, "export-mixed-outputs", "export.to_onnx", "a layer and an expression together", lambda: to_onnx([T.dot(_x, _W), _dense], [_x]),
    TypeError, r"to_onnx: give either layers or expressions as outputs", r"not a mix")
row(R, "export-input-array", "export.to_onnx", "a numpy array as an input", lambda: to_onnx(T.dot(_x, _W), [np.ones((2, 3))]),
    TypeError, r"to_onnx input 0", r"inputs must be placeholders")
row(R, "export-input-shared", "export.to_onnx", "a shared variable as an input", lambda: to_onnx(T.dot(_x, _W), [_W]),
    TypeError, r"to_onnx input 0 \(<shared W", r"shared variables are used implicitly")
row(R, "export-input-twice", "export.to_onnx", "x listed twice", lambda: to_onnx(T.dot(_x, _W), [_x, _x]),
    ValueError, r"to_onnx input 1 \(<x", r"listed twice")
row(R, "export-optimize", "export.to_onnx", "optimize='O9'", lambda: to_onnx(T.dot(_x, _W), [_x], optimize="O9"),
    ValueError, r"optimization level must be one of O0, O1, O2", r"got 'O9'")
row(R, "export-passes", "export.to_onnx", "passes={'nope': True}", lambda: to_onnx(T.dot(_x, _W), [_x], passes={"nope": True}),
    ValueError, r"unknown passes \['nope'\]", r"known passes")
row(R, "save-not-model", "export.save", "a string instead of a ModelProto", lambda: save("abc", _work() / "s.onnx"),
    TypeError, r"save\(\) needs an onnx.ModelProto", r"got str")
row(R, "save-folder", "export.save", "a path in a folder that does not exist", lambda: save(to_onnx(T.dot(_x, _W), [_x]), _work() / "no_dir" / "m.onnx"),
    FileNotFoundError, r"cannot write .*m.onnx", r"folder .*no_dir does not exist")
row(R, "load-missing", "export.load", "a path with no file", lambda: load(_work() / "absent.onnx"),
    FileNotFoundError, r"no ONNX model at .*absent.onnx")
row(R, "load-folder", "export.load", "a folder", lambda: load(_work()),
    FileNotFoundError, r"no ONNX model at ")
row(R, "load-junk", "export.load", "a text file", lambda: load(_work() / "junk.onnx"),
    ValueError, r"junk.onnx is not an ONNX model", r"does not parse as one")
row(R, "load-empty", "export.load", "an empty file", lambda: load(_work() / "empty.onnx"),
    ValueError, r"empty.onnx is not an ONNX model", r"the file is empty")
row(R, "load-npz", "export.load", "an .npz archive", lambda: load(_work() / "arrays.npz"),
    ValueError, r"arrays.npz is not an ONNX model")
row(R, "training-missing-input", "export.training_model", "no inputs for a cost that needs x", lambda: training_model([], _cost, updates.sgd(_cost, [_W], 0.1)),
    graphc.MissingInputError, r"training_model: an output depends on the input <x", r"not in the inputs list \[\]")
row(R, "training-update-not-shared", "export.training_model", "updates=[(x, x)]", lambda: training_model([_x], _cost, [(_x, _x)]),
    TypeError, r"update 0: <x", r"not a shared variable")
row(R, "training-update-shape", "export.training_model", "a (2, 3) new value for W (3, 2)", lambda: training_model([_x], _cost, [(_W, _W.T)]),
    ValueError, r"new value of <shared W", r"\(2, 3\); expected \(3, 2\)")
row(R, "training-opset", "export.training_model", "opset=5", lambda: training_model([_x], _cost, updates.sgd(_cost, [_W], 0.1), opset=5),
    ValueError, r"opset 5 is not supported", r"17..21")
row(R, "training-state-missing", "export.load_training_state", "a path with no file", lambda: load_training_state(_work() / "absent.state.npz"),
    FileNotFoundError, r"absent.state.npz")
row(R, "export-name", "export.to_onnx", "name=3", lambda: to_onnx(T.dot(_x, _W), [_x], name=3),
    TypeError, r"name", r"str")
row(R, "training-inputs-none", "export.training_model", "inputs=None", lambda: training_model(None, _cost, updates.sgd(_cost, [_W], 0.1)),
    TypeError, r"training_model", r"inputs")
row(R, "training-no-updates", "export.training_model", "updates=[] (nothing to train)", lambda: training_model([_x], _cost, []),
    ValueError, r"training_model", r"updates")
row(R, "training-state-junk", "export.load_training_state", "a text file", lambda: load_training_state(_work() / "junk.onnx"),
    ValueError, r"junk.onnx", r"state")

# --- the command line -------------------------------------------------------------------------
R, G = section("The command line: `graphc` (model: `y = x . W`, x of shape (None, 3))")
row(R, "cli-info-missing", "graphc info", "a model path with no file", lambda: cli("info", _model("absent.onnx")),
    ExitStatus1Error, r"^graphc info: error: no ONNX model at .*absent.onnx$")
row(R, "cli-info-npy", "graphc info", "a .npy file", lambda: cli("info", _model("x.npy")),
    ExitStatus1Error, r"^graphc info: error: .*x.npy is not an ONNX model")
row(R, "cli-check-junk", "graphc check", "a text file", lambda: cli("check", _model("junk.onnx")),
    ExitStatus1Error, r"^graphc check: error: .*junk.onnx is not an ONNX model")
row(R, "cli-check-dim", "graphc check", "--dim x_dim0=0", lambda: cli("check", _model(), "--dim", "x_dim0=0"),
    ExitStatus1Error, r"^graphc check: error: --dim x_dim0", r"the size must be positive, got 0")
row(R, "cli-run-shape", "graphc run", "an input of shape (2, 4)", lambda: cli("run", _model(), "--input", _arg("x", "wide.npy")),
    ExitStatus1Error, r"^graphc run: error: input 'x' has shape \(2, 4\)", r"axis 1 must be 3")
row(R, "cli-run-dtype", "graphc run", "an int64 input", lambda: cli("run", _model(), "--input", _arg("x", "ints.npy")),
    ExitStatus1Error, r"^graphc run: error: input 'x' has dtype int64", r"the model expects float32")
row(R, "cli-run-rank", "graphc run", "a 1-d input", lambda: cli("run", _model(), "--input", _arg("x", "flat.npy")),
    ExitStatus1Error, r"^graphc run: error: input 'x' has shape \(3,\)", r"expects 2 dimensions")
row(R, "cli-run-missing", "graphc run", "no --input", lambda: cli("run", _model()),
    ExitStatus1Error, r"^graphc run: error: missing input\(s\)", r"x: float32 \(x_dim0, 3\)")
row(R, "cli-run-unknown", "graphc run", "--input q=x.npy (no input q)", lambda: cli("run", _model(), "--input", _arg("q", "x.npy")),
    ExitStatus1Error, r"^graphc run: error: unknown input\(s\) \['q'\]", r"the model's inputs are \['x")
row(R, "cli-export-attr", "graphc export", "TARGET error_nets.py:nope (no such function)", lambda: cli("export", _target("nope"), "-o", _model("a.onnx")),
    ExitStatus1Error, r"^graphc export: error: TARGET: .*error_nets.py' has no attribute 'nope'")
row(R, "cli-export-returns", "graphc export", "a TARGET that returns 42", lambda: cli("export", _target("wrong"), "-o", _model("a.onnx")),
    ExitStatus1Error, r"^graphc export: error: TARGET returned int \(42\)", r"expected an output layer")
row(R, "cli-export-opset", "graphc export", "--opset 9", lambda: cli("export", _target("net"), "-o", _model("a.onnx"), "--opset", "9"),
    ExitStatus1Error, r"^graphc export: error: ", r"opset 9 is not supported")
row(R, "cli-export-input-shape", "graphc export", "--input-shape x=2,5 (axis 1 is 3)", lambda: cli("export", _target("net"), "-o", _model("a.onnx"), "--input-shape", "x=2,5"),
    ExitStatus1Error, r"^graphc export: error: --input-shape x", r"axis 1 is 3 in the model, not 5")
row(R, "cli-export-input-shape-negative", "graphc export", "--input-shape x=-1,3", lambda: cli("export", _target("net"), "-o", _model("a.onnx"), "--input-shape", "x=-1,3"),
    ExitStatus1Error, r"^graphc export: error: --input-shape x", r"sizes must be positive, got -1")
row(R, "cli-export-pass", "graphc export", "--disable nope", lambda: cli("export", _target("net"), "-o", _model("a.onnx"), "--disable", "nope"),
    ExitStatus1Error, r"^graphc export: error: unknown pass 'nope'", r"passes are cancel_quotients, canonicalize")
row(R, "cli-bench-runs", "graphc bench", "--runs -3", lambda: cli("bench", _model(), "--runs", "-3"),
    ExitStatus1Error, r"^graphc bench: error: --runs must be >= 1", r"got -3")
row(R, "cli-bench-dim", "graphc bench", "--dim x_dim0=abc", lambda: cli("bench", _model(), "--dim", "x_dim0=abc"),
    ExitStatus1Error, r"^graphc bench: error: --dim x_dim0", r"must be an integer, got 'abc'")
row(R, "cli-unknown-flag", "graphc run", "an unknown flag --frob", lambda: cli("run", _model(), "--frob"),
    ExitStatus2Error, r"graphc: error: unrecognized arguments: --frob")
row(R, "cli-unknown-choice", "graphc export", "--unroll sometimes", lambda: cli("export", _target("net"), "-o", _model("a.onnx"), "--unroll", "sometimes"),
    ExitStatus2Error, r"argument --unroll: invalid choice: 'sometimes'", r"choose from 'auto', 'never', 'always'")

# --- hostile files and budgets (issue 14) ---------------------------------------------------
R, G = section("Hostile files and budgets: ONNX models (external data, sizes)")
# (rows: ONNX model files)
def _onnx_hostile(name: str, tensor_place: str, location: str = "../secret.bin", **change: Any) -> Path:
    """A model ``y = x + C`` in ``<work>/onnx/``, with C stored externally at ``location`` through ``tensor_place``."""
    from onnx import TensorProto, helper, numpy_helper

    folder = _work() / "onnx"
    folder.mkdir(exist_ok=True)
    (_work() / "secret.bin").write_bytes(np.full(64, 31337.25, np.float32).tobytes())
    (folder / "w.bin").write_bytes(np.zeros(64, np.float32).tobytes())
    t = TensorProto(name="C", data_type=change.pop("dtype", TensorProto.FLOAT), dims=change.pop("dims", [4]), data_location=TensorProto.EXTERNAL)
    for k, v in [("location", location), *change.pop("entries", [])]:
        t.external_data.add(key=k, value=v)
    add = helper.make_node("Add", ["x", "C"], ["y"])
    kw: dict[str, Any] = {}
    nodes = [add]
    if tensor_place == "initializer":
        kw["initializer"] = [t]
    elif tensor_place == "sparse":
        kw["sparse_initializer"] = [helper.make_sparse_tensor(t, numpy_helper.from_array(np.arange(4), "i"), [4])]
    elif tensor_place == "subgraph":
        branch = helper.make_graph([helper.make_node("Constant", [], ["c"], value=t)], "b", [], [helper.make_tensor_value_info("c", 1, [4])])
        nodes = [helper.make_node("If", ["cond"], ["C"], then_branch=branch, else_branch=branch), add]
        kw["initializer"] = [numpy_helper.from_array(np.array(True), "cond")]
    else:  # a model-local function
        nodes = [helper.make_node("addc", ["x"], ["y"], domain="local")]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", 1, [4])], [helper.make_tensor_value_info("y", 1, [4])], **kw)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)], ir_version=10)
    if tensor_place == "function":
        m.opset_import.append(helper.make_opsetid("local", 1))
        m.functions.append(helper.make_function(
            "local", "addc", ["a"], ["b"], [helper.make_node("Constant", [], ["c"], value=t), helper.make_node("Add", ["a", "c"], ["b"])],
            [helper.make_opsetid("", 18)]))
    for key, value in change.items():
        setattr(m, key, value)
    path = folder / f"{name}.onnx"
    path.write_bytes(m.SerializeToString())
    return path


def _onnx_link() -> Path:
    link = _work() / "onnx" / "link.bin"
    path = _onnx_hostile("link", "initializer", "link.bin")
    if not link.is_symlink():
        link.symlink_to(_work() / "secret.bin")
    return path


def _onnx_subfolder() -> Path:
    path = _onnx_hostile("subfolder", "initializer", "sub")
    (path.parent / "sub").mkdir(exist_ok=True)
    return path


def _onnx_budget() -> Any:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRAPHC_MEMORY_BUDGET", "200")  # the model file is ~100 bytes, its tensor 256
        return load(_onnx_hostile("budget", "initializer", "w.bin", dims=[64]))


def _lstm_fn() -> graphc.Function:
    x = T.tensor3("x")
    return graphc.function([x], layers.get_output(LSTMLayer(InputLayer((None, None, 3), input_var=x), 4, name="lstm")))


_OUT = r"refused: tensor 'C' \({}\) points outside the model's folder \('\.\./secret\.bin'"
row(R, "onnx-sparse-outside", "graphc run", "a sparse initializer whose values are in ../secret.bin",
    lambda: cli("run", _onnx_hostile("sparse", "sparse"), "--input", _arg("x", "flat.npy")),
    ExitStatus1Error, r"^graphc run: error: .*sparse.onnx: ", _OUT.format(r"graph\.sparse_initializer\[0\]\.values"))
row(R, "onnx-subgraph-outside", "graphc check", "a Constant inside an If branch whose value is in ../secret.bin",
    lambda: cli("check", _onnx_hostile("subgraph", "subgraph")),
    ExitStatus1Error, r"^graphc check: error: ", _OUT.format(r"graph\.node\[0\]\.attribute\[0\]\.g\.node\[0\]\.attribute\[0\]\.t"))
row(R, "onnx-function-outside", "graphc info", "a model-local function's Constant whose value is in ../secret.bin",
    lambda: cli("info", _onnx_hostile("function", "function")),
    ExitStatus1Error, r"^graphc info: error: ", _OUT.format(r"functions\[0\]\.node\[0\]\.attribute\[0\]\.t"))
row(R, "onnx-absolute", "export.load", "external data at an absolute path (/etc/passwd)",
    lambda: load(_onnx_hostile("absolute", "initializer", "/etc/passwd")),
    ValueError, r"absolute.onnx: refused: tensor 'C'", r"points outside the model's folder \('/etc/passwd' is not a relative path\)")
row(R, "onnx-cwd-only", "graphc bench", "external data 'secret.bin' that only the working folder holds",
    lambda: cli("bench", _onnx_hostile("cwd", "sparse", "secret.bin")),
    ExitStatus1Error, r"^graphc bench: error: ", r"its external data file 'secret.bin' does not exist")
row(R, "onnx-link", "export.load", "external data through a symbolic link (to a file outside)", lambda: load(_onnx_link()),
    ValueError, r"tensor 'C'", r"passes through a symbolic link \('link.bin'; links are refused")
row(R, "onnx-not-a-file", "export.load", "external data location naming a folder", lambda: load(_onnx_subfolder()),
    ValueError, r"tensor 'C'", r"its external data 'sub' is not a regular file")
row(R, "onnx-length", "export.load", "an external length of 20 bytes for 4 float32 values",
    lambda: load(_onnx_hostile("length", "initializer", "w.bin", entries=[("length", "20")])),
    ValueError, r"tensor 'C'", r"gives length 20, but dims \[4\] of dtype FLOAT need 16 bytes")
row(R, "onnx-past-end", "export.load", "an external offset past the end of the data file",
    lambda: load(_onnx_hostile("past_end", "initializer", "w.bin", entries=[("offset", "250")])),
    ValueError, r"tensor 'C'", r"byte range 250\+16 lies past the end of 'w.bin' \(256 bytes\)")
row(R, "onnx-unknown-key", "export.load", "an external data entry with an unknown key (basepath)",
    lambda: load(_onnx_hostile("key", "initializer", "w.bin", entries=[("basepath", "/")])),
    ValueError, r"tensor 'C'", r"unknown external data key 'basepath'")
row(R, "onnx-string", "export.load", "an external string tensor",
    lambda: load(_onnx_hostile("string", "initializer", "w.bin", dtype=8)),
    ValueError, r"tensor 'C'", r"an external tensor of dtype STRING is not supported")
row(R, "onnx-budget", "export.load", "256 bytes of external data over GRAPHC_MEMORY_BUDGET=200 (bytes)", _onnx_budget,
    ValueError, r"budget.onnx: the external data of its tensors needs 256 B", r"over the memory budget of 200 B")
row(R, "onnx-ir-version", "graphc check", "IR version -1",
    lambda: cli("check", _onnx_hostile("ir", "initializer", "w.bin", ir_version=-1)),
    ExitStatus1Error, r"^graphc check: error: .*ir.onnx: refused: IR version -1 is not supported", r"expected 3\.\.")
row(R, "onnx-ort-format", "export.load", "a producer name that makes the bytes read as an ORT-format model ('ORTM')",
    lambda: load(_onnx_hostile("ortm", "initializer", "w.bin", producer_name="ORTMxx")),
    ValueError, r"ortm.onnx: refused", r"read by ONNX Runtime as an ORT-format model")
row(R, "scan-zero-length", "calling a graphc.function (LSTMLayer)", "a sequence of length 0: input of shape (2, 0, 3)",
    lambda: _lstm_fn()(np.ones((2, 0, 3), np.float32)),
    ValueError, r"input 'x' has shape \(2, 0, 3\): its axis 1 has length 0", r"sequence length of the scan in layer 'lstm'", r"cannot run 0 steps")


R, G = section("Hostile files and budgets: network files, checkpoints and training")
# (rows: network files and checkpoints)
_NF_TRAIN_KW = dict(algo="adam", learning_rate=0.01, batch_size=5, progress=False)


@functools.cache
def _nf_dir() -> Path:
    """``<work>/nets/``: a saved Regressor([4, (6, 'tanh'), 2]) ``m.npz`` and a checkpoint ``ck.npz`` of it (2 iterations)."""
    folder = _work() / "nets"
    folder.mkdir(exist_ok=True)
    theanets.Regressor([4, (6, "tanh"), 2]).save(folder / "m.npz")
    theanets.Regressor([4, (6, "tanh"), 2]).train([_X, _Y], max_updates=2, checkpoint=folder / "ck.npz", **_NF_TRAIN_KW)
    return folder


def _nf_file(name: str, spec: Callable[[dict], Any] | None = None, text: str | None = None, cut: float | None = None, **arrays: Any) -> Path:
    """A copy of ``m.npz`` (or ``ck.npz`` for names starting with ``ck``) with its description changed by ``spec``
    (or replaced by ``text``), arrays replaced, or only the first ``cut`` fraction of its bytes."""
    import json

    folder = _nf_dir()
    source = folder / ("ck.npz" if name.startswith("ck") else "m.npz")
    path = folder / f"{name}.npz"
    if cut is not None:
        data = source.read_bytes()
        path.write_bytes(data[: int(len(data) * cut)])
        return path
    with np.load(source, allow_pickle=False) as f:
        content = {k: f[k] for k in f.files}
    key = "__graphc_training__" if name.startswith("ck") else "__graphc_model__"
    if spec is not None or text is not None:
        desc = json.loads(content[key].tobytes())
        if spec is not None:
            spec(desc)
        raw = text if text is not None else json.dumps(desc)
        content[key] = np.frombuffer(raw.encode("utf-8"), np.uint8)
    content.update({k.replace("__S__", "/"): v for k, v in arrays.items()})
    np.savez(path, **content)
    return path


def _nf_load(name: str, **kw: Any) -> Callable[[], Any]:
    return lambda: theanets.Network.load(_nf_file(name, **kw))


def _nf_resume(name: str, **kw: Any) -> Callable[[], Any]:
    def call() -> Any:
        path = _nf_file(name, **kw)
        return theanets.Regressor([4, (6, "tanh"), 2]).train([_X, _Y], max_updates=4, checkpoint=path, resume=True, **_NF_TRAIN_KW)

    return call


def _nf_budget(budget: str, fn: Callable[[], Any]) -> Callable[[], Any]:
    def call() -> Any:
        import os

        old = os.environ.get("GRAPHC_MEMORY_BUDGET")
        os.environ["GRAPHC_MEMORY_BUDGET"] = budget
        try:
            return fn()
        finally:
            if old is None:
                del os.environ["GRAPHC_MEMORY_BUDGET"]
            else:
                os.environ["GRAPHC_MEMORY_BUDGET"] = old

    return call


def _nf_set(path: tuple[Any, ...], value: Any) -> Callable[[dict], None]:
    def change(desc: dict) -> None:
        target = desc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


def _nf_bomb() -> Path:
    """``bomb.npz``: the model file with 'hid1.w' replaced by 64 MiB of deflated zeros (a 64 KiB file)."""
    import zipfile

    path = _nf_dir() / "bomb.npz"
    if not path.exists():
        with np.load(_nf_dir() / "m.npz", allow_pickle=False) as f:
            content = {k: f[k] for k in f.files if k != "hid1.w"}
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for key, value in content.items():
                buf = io.BytesIO()
                np.lib.format.write_array(buf, value)
                archive.writestr(f"{key}.npy", buf.getvalue())
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.zeros((16384, 1024), np.float32))
            archive.writestr("hid1.w.npy", buf.getvalue())
    return path


def _nf_nan_net() -> Any:
    net = theanets.Regressor([4, 3, 2])
    w = net.find("hid1", "w")
    w.set_value(np.full(w.get_value().shape, np.nan, np.float32))
    return net


def _nf_train(**kw: Any) -> Callable[[], Any]:
    return lambda: _net().train([_X, _Y], **{"algo": "sgd", "max_updates": 1, "progress": False, **kw})


row(R, "file-net-empty", "Network.load", "an empty file", _nf_load("empty", cut=0.0),
    ValueError, r"empty.npz is not a graphc model file", r"empty")
row(R, "file-net-truncated", "Network.load", "the first half of a model file", _nf_load("half", cut=0.5),
    ValueError, r"half.npz is not a graphc model file")
row(R, "file-net-no-class", "Network.load", "a description without 'class'", _nf_load("no_class", spec=lambda d: d.pop("class")),
    ValueError, r"no_class.npz: the model description lacks the field\(s\) \['class'\]")
row(R, "file-net-deep-json", "Network.load", "a description of 100000 nested lists", _nf_load("deep", text="[" * 100_000 + "]" * 100_000),
    ValueError, r"deep.npz: the model description nests 100000 levels deep", r"limit of 32")
row(R, "file-net-bad-json", "Network.load", "a description that is not JSON", _nf_load("syntax", text="{'layers': "),
    ValueError, r"syntax.npz: the model description is not valid JSON")
row(R, "file-net-layer-list", "Network.load", "a layer given as [1, 2, 3]", _nf_load("layer_list", spec=_nf_set(("layers", 1), [1, 2, 3])),
    ValueError, r"layer_list.npz: layer 1 must be a JSON object, got \[1, 2, 3\]")
row(R, "file-net-layers-dict", "Network.load", "'layers' as an object", _nf_load("layers_dict", spec=_nf_set(("layers",), {"a": 1})),
    ValueError, r"layers_dict.npz: 'layers' must be a list of 1 to")
row(R, "file-net-size-string", "Network.load", "a layer size '6'", _nf_load("size_str", spec=_nf_set(("layers", 1, "size"), "6")),
    ValueError, r"size_str.npz: layer 'hid1': 'size' must be null or an int", r"got '6'")
row(R, "file-net-unknown-field", "Network.load", "an unknown top-level field", _nf_load("extra", spec=_nf_set(("extra",), 1)),
    ValueError, r"extra.npz: the model description has unknown field\(s\) \['extra'\]")
row(R, "file-net-loss-output", "Network.load", "a loss reading 'nope:out'", _nf_load("loss_out", spec=_nf_set(("losses", 0, "output_name"), "nope:out")),
    ValueError, r"loss_out.npz: loss 0: 'output_name' must be an output of one of the layers")
row(R, "file-net-rng", "Network.load", "a network seed 2**40", _nf_load("seed", spec=_nf_set(("rng",), 2**40)),
    ValueError, r"seed.npz: 'rng' must be null or an int seed in \[0, 4294967295\]")
row(R, "file-net-wide", "Network.load", "a 2 KB file whose description asks for a 60000 x 60000 layer",
    _nf_load("wide", spec=lambda d: (d["layers"][0].update(size=60000, shape=[60000]), d["layers"][1].update(size=60000))),
    graphc.export.budget.BudgetError, r"wide.npz: layer 'hid1' asks for 3,600,000,000 initial values", r"the description does not fit the arrays")
row(R, "file-net-bomb", "Network.load", "a 64 KiB .npz whose member would inflate to 64 MiB of another shape (refused from its header)",
    _nf_budget("1M", lambda: theanets.Network.load(_nf_bomb())),
    ValueError, r"bomb.npz", r"parameter 'hid1.w' has shape \(16384, 1024\) in the file, expected \(4, 6\)")
row(R, "file-net-nan", "Network.load", "a NaN in a parameter array", _nf_load("nan", **{"hid1.w": np.full((4, 6), np.nan, np.float32)}),
    ValueError, r"nan.npz: parameter 'hid1.w' holds 24 non-finite value\(s\)")
row(R, "file-net-strings", "Network.load", "a parameter array of strings", _nf_load("strings", **{"hid1.b": np.array(["a"] * 6)}),
    ValueError, r"strings.npz: parameter 'hid1.b' holds <U1 values; expected numbers")
row(R, "file-net-missing-param", "Network.load", "'params' naming an array the file lacks", _nf_load("lacks", spec=lambda d: d["params"].append("out.q")),
    ValueError, r"lacks.npz: layer 'out': no values for parameter 'out.q'")
row(R, "file-net-save-nan", "Network.save", "a network with NaN weights", lambda: _nf_nan_net().save(_work() / "nan_net.npz"),
    ValueError, r"cannot save the network to .*nan_net.npz", r"'hid1.w' holds 12 non-finite value\(s\)")
row(R, "file-ck-rng-pos", "Network.train(resume=True)", "a generator position 10**9 (crashed numpy: SIGSEGV)", _nf_resume("ck_pos", spec=_nf_set(("rng", "pos"), 10**9)),
    ValueError, r"ck_pos.npz: the generator position 'rng.pos' must be an int in \[0, 624\], got 1000000000")
row(R, "file-ck-rng-kind", "Network.train(resume=True)", "a generator kind 'PCG64'", _nf_resume("ck_kind", spec=_nf_set(("rng", "kind"), "PCG64")),
    ValueError, r"ck_kind.npz: the generator kind 'rng.kind' must be 'MT19937', got 'PCG64'")
row(R, "file-ck-rng-keys", "Network.train(resume=True)", "a generator key array of 600 words", _nf_resume("ck_keys", **{"__rng____S__keys": np.ones(600, np.uint32)}),
    ValueError, r"ck_keys.npz: the entry '__rng__/keys' has shape \(600,\) in the file, expected \(624,\)")
row(R, "file-ck-rng-zero-keys", "Network.train(resume=True)", "an all-zero generator key array", _nf_resume("ck_zero", **{"__rng____S__keys": np.zeros(624, np.uint32)}),
    ValueError, r"ck_zero.npz: the generator key array '__rng__/keys' is all zeros")
row(R, "file-ck-iterations", "Network.train(resume=True)", "iterations: \"abc\"", _nf_resume("ck_iter", spec=_nf_set(("iterations",), "abc")),
    ValueError, r"ck_iter.npz: 'iterations' must be a non-negative integer, got 'abc'")
row(R, "file-ck-best-loss", "Network.train(resume=True)", "best_loss: \"bogus\"", _nf_resume("ck_best", spec=_nf_set(("best_loss",), "bogus")),
    ValueError, r"ck_best.npz: 'best_loss' must be a number \(or 'nan', 'inf', '-inf'\), got 'bogus'")
row(R, "file-ck-last-validation", "Network.train(resume=True)", "last_validation: [1, 2]", _nf_resume("ck_last", spec=_nf_set(("last_validation",), [1, 2])),
    ValueError, r"ck_last.npz: 'last_validation' must be an object of monitor values, got \[1, 2\]")
row(R, "file-ck-best-validation", "Network.train(resume=True)", "best_validation after the last validation", _nf_resume("ck_bv", spec=_nf_set(("best_validation",), 99)),
    ValueError, r"ck_bv.npz: 'best_validation' \(99\) is after the last validation")
row(R, "file-ck-order-zeros", "Network.train(resume=True)", "an example order of all 0", _nf_resume("ck_order0", **{"__order__": np.zeros(10, np.int64)}),
    ValueError, r"ck_order0.npz: the example order '__order__' is not a permutation of 0..9")
row(R, "file-ck-order-float", "Network.train(resume=True)", "a float example order", _nf_resume("ck_orderf", **{"__order__": np.arange(10.0)}),
    ValueError, r"ck_orderf.npz: the example order '__order__' is float64 of shape \(10,\); expected 10 integers")
row(R, "file-ck-position", "Network.train(resume=True)", "a position past the end of a pass", _nf_resume("ck_position", spec=_nf_set(("position",), 7)),
    ValueError, r"ck_position.npz: 'position' is batch 7 of a pass, but a pass here has 2 batches")
row(R, "file-ck-state-nan", "Network.train(resume=True)", "a NaN optimizer state", _nf_resume("ck_state", **{"__state____S__0": np.full((4, 6), np.nan, np.float32)}),
    ValueError, r"ck_state.npz: optimizer state 'hid1.w.m' holds 24 non-finite value\(s\)")
row(R, "file-ck-unknown-entry", "Network.train(resume=True)", "an entry '__extra__'", _nf_resume("ck_extra", __extra__=np.zeros(2)),
    ValueError, r"ck_extra.npz: the entry '__extra__' belongs to no parameter or state of this trainer")
row(R, "file-ck-empty", "Network.train(resume=True)", "an empty checkpoint file", _nf_resume("ck_empty", cut=0.0),
    ValueError, r"ck_empty.npz is not a graphc training checkpoint", r"empty")
row(R, "file-ck-truncated", "Trainer.load_checkpoint", "the first 90% of a checkpoint", lambda: theanets.trainer.Trainer(theanets.Regressor([4, (6, "tanh"), 2]), **_NF_TRAIN_KW).load_checkpoint(_nf_file("ck_cut", cut=0.9)),
    ValueError, r"ck_cut.npz is not a graphc training checkpoint")
row(R, "file-state-empty", "export.load_training_state", "an empty file", lambda: load_training_state(_nf_file("state_empty", cut=0.0)),
    ValueError, r"state_empty.npz is not a training state file", r"empty")
row(R, "file-state-bomb", "export.load_training_state", "a member inflating to 64 MiB (GRAPHC_MEMORY_BUDGET=1M)", _nf_budget("1M", lambda: load_training_state(_nf_bomb())),
    graphc.export.budget.BudgetError, r"bomb.npz", r"over the memory budget of 1.0 MiB")
row(R, "train-batch-size-negative", "Network.train", "batch_size=-7 (was taken as the whole dataset)", _nf_train(batch_size=-7),
    ValueError, r"batch_size must be an integer > 0, or None \(or 0, downhill's spelling\) for the whole dataset", r"got -7")
row(R, "train-resume-string", "Network.train", "resume='no' (a truthy string)", _nf_train(resume="no", checkpoint=str(Path("/nonexistent/ck.npz"))),
    ValueError, r"resume must be True or False, got 'no'")
row(R, "train-stop-on-nonfinite-string", "Network.train", "stop_on_nonfinite='false'", _nf_train(stop_on_nonfinite="false"),
    ValueError, r"stop_on_nonfinite must be True or False, got 'false'")
row(R, "train-rng-string", "Network.train", "rng='x'", _nf_train(rng="x"),
    ValueError, r"rng must be None, an int seed in \[0, 2\*\*32\) or a numpy RandomState, got 'x'")
row(R, "train-min-improvement-string", "Network.train", "min_improvement='abc'", _nf_train(min_improvement="abc"),
    ValueError, r"min_improvement must be >= 0, got 'abc'")
row(R, "train-gradient-norm-string", "Network.train", "max_gradient_norm='big'", _nf_train(max_gradient_norm="big"),
    ValueError, r"max_gradient_norm must be a finite number >= 0", r"got 'big'")
row(R, "train-save-progress-int", "Network.train", "save_progress=5", _nf_train(save_progress=5, save_every=1),
    TypeError, r"save_progress must be a file path, got 5")
row(R, "train-halflife-string", "Network.train", "rms_halflife='14'", _nf_train(algo="rmsprop", rms_halflife="14"),
    ValueError, r"rms_halflife must be a positive number of updates, got '14'")

R, G = section("Hostile files and budgets: the command line and file writes")
# (rows: command line and writes)
def _cli_files() -> Path:
    """Files for the command-line rows of issue 14 in ``<work>/cli14/``: a Loop that never ends, a model of a
    2^20 x 2^20 input, a .npy header claiming 10^12 elements, an empty and a truncated .npz, a FIFO, links."""
    import os

    from onnx import TensorProto, helper

    d = _work() / "cli14"
    if d.is_dir():
        return d
    d.mkdir()
    body = helper.make_graph(
        [helper.make_node("Identity", ["c"], ["c_out"]), helper.make_node("Identity", ["v"], ["v_out"])], "body",
        [helper.make_tensor_value_info("i", TensorProto.INT64, []), helper.make_tensor_value_info("c", TensorProto.BOOL, []),
         helper.make_tensor_value_info("v", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("c_out", TensorProto.BOOL, []), helper.make_tensor_value_info("v_out", TensorProto.FLOAT, [1])],
    )  # fmt: skip
    graph = helper.make_graph(
        [helper.make_node("Loop", ["", "cond", "x"], ["y"], body=body)], "forever",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])], [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
        [helper.make_tensor("cond", TensorProto.BOOL, [], [True])],
    )
    (d / "forever.onnx").write_bytes(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=9).SerializeToString())
    side = 2**20
    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])], "huge",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [side, side])], [helper.make_tensor_value_info("y", TensorProto.FLOAT, [side, side])],
    )
    (d / "huge.onnx").write_bytes(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=9).SerializeToString())
    np.save(d / "one.npy", np.zeros(1, np.float32))
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000, 1000000), }".ljust(117) + "\n"
    (d / "bomb.npy").write_bytes(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode())
    (d / "empty.npz").write_bytes(b"")
    np.savez(d / "whole.npz", x=np.ones((2, 3), np.float32))
    (d / "cut.npz").write_bytes((d / "whole.npz").read_bytes()[:100])
    os.mkfifo(d / "pipe")
    os.symlink("absent/out.npz", d / "dangling.npz")
    os.symlink("loop_b", d / "loop_a")
    os.symlink("loop_a", d / "loop_b")
    return d


def _c14(name: str) -> str:
    return str(_cli_files() / name)


def _save_to(name: str) -> Any:
    return save(to_onnx(T.dot(_x, _W), [_x]), name if name.startswith("/") else _c14(name))


def _special_file_error() -> type[BaseException]:
    from graphc.export.atomic import SpecialFileError

    return SpecialFileError


def _run_o(out: Any) -> None:
    cli("run", _model(), "--input", _arg("x", "x.npy"), "-o", out)


row(R, "cli-run-o-fifo", "graphc run", "-o a FIFO (named pipe)", lambda: _run_o(_c14("pipe")),
    ExitStatus1Error, r"^graphc run: error: cannot write .*pipe: it is a FIFO \(named pipe\), not a regular file", r"give the path of a file")
row(R, "cli-run-o-dev-null", "graphc run", "-o /dev/null (run as root, it used to become a regular file)",
    lambda: _run_o("/dev/null"),
    ExitStatus1Error, r"^graphc run: error: cannot write /dev/null: it is a character device, not a regular file")
row(R, "cli-run-o-folder", "graphc run", "-o a folder", lambda: _run_o(_work()),
    ExitStatus1Error, r"^graphc run: error: cannot write .*: it is a directory", r"give the path of a file, such as .*NAME")
row(R, "cli-run-o-dangling", "graphc run", "-o a symbolic link to a file that does not exist",
    lambda: _run_o(_c14("dangling.npz")),
    ExitStatus1Error, r"^graphc run: error: cannot write .*dangling.npz: it is a symbolic link to .*absent/out.npz, which does not exist")
row(R, "save-fifo", "export.save", "a FIFO as the path", lambda: _save_to("pipe"),
    _special_file_error(), r"cannot write .*pipe: it is a FIFO", r"graphc replaces regular files only")
row(R, "save-dev-null", "export.save", "/dev/null as the path", lambda: _save_to("/dev/null"),
    _special_file_error(), r"cannot write /dev/null: it is a character device")
row(R, "save-link-loop", "export.save", "a loop of symbolic links", lambda: _save_to("loop_a"),
    _special_file_error(), r"cannot write .*loop_a: more than 40 symbolic links to follow \(a loop of links\?\)")
row(R, "cli-run-npy-bomb", "graphc run", "--input x=bomb.npy, a header claiming 10^12 float32 (4 TB) in 128 bytes",
    lambda: cli("run", _c14("forever.onnx"), "--input", f"x={_c14('bomb.npy')}"),
    ExitStatus1Error, r"^graphc run: error: --input x: .*bomb.npy is not a .npy/.npz array file", r"\(1000000, 1000000\)")
row(R, "cli-run-npz-empty", "graphc run", "--input empty.npz (an empty file)", lambda: cli("run", _c14("forever.onnx"), "--input", _c14("empty.npz")),
    ExitStatus1Error, r"^graphc run: error: --input: .*empty.npz is not a .npy/.npz array file: the file is empty")
row(R, "cli-run-npz-truncated", "graphc run", "--input cut.npz (an .npz cut after 100 bytes)",
    lambda: cli("run", _c14("forever.onnx"), "--input", _c14("cut.npz")),
    ExitStatus1Error, r"^graphc run: error: --input: .*cut.npz is not a .npy/.npz array file")
row(R, "cli-check-huge-input", "graphc check", "a model input of shape (2^20, 2^20): random inputs of 4 TiB",
    lambda: cli("check", _c14("huge.onnx")),
    ExitStatus1Error, r"^graphc check: error: input 'x' of shape \(1048576, 1048576\) \(float32, 1,099,511,627,776 elements\)", r"over the memory budget")
row(R, "cli-bench-dim-huge", "graphc bench", "--dim x_dim0=10^12 (random inputs of 11 TiB)",
    lambda: cli("bench", _model(), "--dim", "x_dim0=1000000000000"),
    ExitStatus1Error, r"^graphc bench: error: input 'x' of shape \(1000000000000, 3\)", r"with --dim x_dim0=1000000000000", r"over the memory budget")
row(R, "cli-check-max-nodes", "graphc check", "--max-nodes 2 on a model of 3 nodes (a Loop and its body's 2)",
    lambda: cli("check", _c14("forever.onnx"), "--max-nodes", "2"),
    ExitStatus1Error, r"^graphc check: error: .*forever.onnx has more than 2 nodes \(subgraphs included\)", r"give --max-nodes N or set GRAPHC_MAX_NODES")
row(R, "cli-run-timeout", "graphc run", "--timeout 1 on a Loop whose condition stays true (no trip count)",
    lambda: cli("run", _c14("forever.onnx"), "--input", f"x={_c14('one.npy')}", "--timeout", "1"),
    ExitStatus1Error, r"^graphc run: error: stopped after 1 s \(--timeout 1\) while running the model in ONNX Runtime$")
row(R, "cli-bench-timeout", "graphc bench", "--timeout 1 on a Loop whose condition stays true",
    lambda: cli("bench", _c14("forever.onnx"), "--timeout", "1"),
    ExitStatus1Error, r"^graphc bench: error: stopped after 1 s \(--timeout 1\) while timing the model in ONNX Runtime$")
row(R, "cli-timeout-zero", "graphc check", "--timeout 0", lambda: cli("check", _model(), "--timeout", "0"),
    ExitStatus2Error, r"argument --timeout: expected a positive, finite number of seconds, got '0'")
row(R, "cli-max-nodes-text", "graphc run", "--max-nodes many", lambda: cli("run", _model(), "--max-nodes", "many"),
    ExitStatus2Error, r"argument --max-nodes: expected a whole number, got 'many'")

CASES: list[Case] = [c for _, rows in SECTIONS for c in rows]
GAPS: list[Case] = [c for _, gaps in GAP_SECTIONS for c in gaps]


# ----------------------------------------------------------------------------------------------
# the tests


@pytest.fixture(scope="module", autouse=True)
def _work_dir(tmp_path_factory):
    """The CLI rows' folder; and a seeded global rng for the layers the rows build, restored after."""
    _WORK["dir"] = tmp_path_factory.mktemp("errors")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(graphc.random, "_rng", np.random.RandomState(0))
        yield
    _WORK.pop("dir", None)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_gives_a_clear_error(case):
    check(case)


@pytest.mark.parametrize(
    "case",
    [pytest.param(g, marks=pytest.mark.xfail(strict=True, raises=AssertionError, reason=f"known gap: {g.now}")) for g in GAPS],
    ids=[g.id for g in GAPS],
)
def test_known_gap(case):
    check(case)


def test_rows_are_well_formed():
    ids = [c.id for c in CASES + GAPS]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})
    for c in CASES + GAPS:
        assert c.entry and c.bad and c.names, c.id
        for pattern in c.names:
            re.compile(pattern)
    for c in GAPS:
        assert c.now, c.id


def test_the_doc_is_rendered_from_this_table():
    import importlib.util

    spec = importlib.util.spec_from_file_location("render_errors_doc", Path(__file__).with_name("render_errors_doc.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (ROOT / "docs" / "errors.md").read_text() == module.render(SECTIONS, GAP_SECTIONS), (
        "docs/errors.md is out of date: run python tests/render_errors_doc.py"
    )
