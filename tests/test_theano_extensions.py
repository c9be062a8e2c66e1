"""lasagne.theano_extensions: the six 1-d convolutions and pad, against numpy oracles."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import graphc
import graphc.tensor as T
from graphc.theano_extensions import conv, padding
from tests.tensor.oracles import check_grad, run_exported

IMPLS = ["conv1d_sc", "conv1d_mc0", "conv1d_mc1", "conv1d_unstrided", "conv1d_sd", "conv1d_md"]
MULTI = ["conv1d_mc0", "conv1d_mc1"]
NEED_SHAPES = ["conv1d_unstrided", "conv1d_sd", "conv1d_md"]
ONLY_VALID = ["conv1d_sc", "conv1d_unstrided", "conv1d_sd", "conv1d_md"]
IMAGE, FILTER = (2, 3, 11), (5, 3, 4)  # batch 2, 3 channels, length 11; 5 filters of length 4


def _data(seed: int = 0, image: tuple = IMAGE, filt: tuple = FILTER) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal(image).astype("float32"), rng.standard_normal(filt).astype("float32")


def _correlate(x: np.ndarray, w: np.ndarray, stride: int = 1, pads: tuple[int, int] = (0, 0)) -> np.ndarray:
    """Cross-correlation by explicit loops: out[b, f, t] = sum_{c,k} x[b, c, t*stride + k] * w[f, c, k]."""
    x = np.pad(x.astype("float64"), ((0, 0), (0, 0), pads))
    batch, _, length = x.shape
    nf, _, k = w.shape
    out = np.zeros((batch, nf, (length - k) // stride + 1))
    for b in range(batch):
        for f in range(nf):
            for t in range(out.shape[2]):
                out[b, f, t] = np.sum(x[b, :, t * stride : t * stride + k] * w[f])
    return out


def _convolve(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """True convolution, stride 1, valid, summed over channels with np.convolve."""
    return np.array([[sum(np.convolve(xb[c], wf[c], mode="valid") for c in range(x.shape[1])) for wf in w] for xb in x])


def _oracle(
    impl: str, x: np.ndarray, w: np.ndarray, stride: int, filter_flip: bool, pads: tuple = (0, 0)
) -> np.ndarray:
    if filter_flip:
        return _correlate(x, w[:, :, ::-1], stride, pads)
    if impl == "conv1d_sc":
        # upstream's single-channel variant reverses the channels when it does not flip (documented)
        w = w[:, ::-1, :]
    return _correlate(x, w, stride, pads)


def _eval(y: Any, X: Any, W: Any, x: np.ndarray, w: np.ndarray) -> np.ndarray:
    return graphc.function([X, W], y)(x, w)


def test_loop_oracle_agrees_with_np_convolve() -> None:
    x, w = _data(1)
    np.testing.assert_allclose(_correlate(x, w[:, :, ::-1]), _convolve(x, w), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("filter_flip", [True, False])
@pytest.mark.parametrize("stride", [1, 2, 4])
def test_values(impl: str, filter_flip: bool, stride: int) -> None:
    X, W = T.tensor3("X"), T.tensor3("W")
    x, w = _data(stride)
    y = getattr(conv, impl)(X, W, IMAGE, FILTER, subsample=(stride,), filter_flip=filter_flip)
    got = _eval(y, X, W, x, w)
    want = _oracle(impl, x, w, stride, filter_flip)
    assert got.shape == want.shape == (2, 5, (11 - 4) // stride + 1)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_single_channel_flip_false_is_cross_correlation() -> None:
    X, W = T.tensor3("X"), T.tensor3("W")
    x, w = _data(2, (2, 1, 11), (5, 1, 4))
    for impl in IMPLS:
        got = _eval(getattr(conv, impl)(X, W, x.shape, w.shape, filter_flip=False), X, W, x, w)
        np.testing.assert_allclose(got, _correlate(x, w), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("impl", ["conv1d_sc", *MULTI])
def test_stride_not_dividing_filter(impl: str) -> None:
    X, W = T.tensor3("X"), T.tensor3("W")
    x, w = _data(3)
    got = _eval(getattr(conv, impl)(X, W, IMAGE, FILTER, subsample=(3,)), X, W, x, w)
    np.testing.assert_allclose(got, _oracle(impl, x, w, 3, True), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("impl", ["conv1d_sc", *MULTI])
def test_shapes_optional(impl: str) -> None:
    X, W = T.tensor3("X"), T.tensor3("W")
    x, w = _data(4)
    got = _eval(getattr(conv, impl)(X, W, None, None), X, W, x, w)
    np.testing.assert_allclose(got, _convolve(x, w), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("impl", MULTI)
@pytest.mark.parametrize("filter_flip", [True, False])
@pytest.mark.parametrize(
    ("border_mode", "pads"),
    [("valid", (0, 0)), ("full", (3, 3)), ("half", (2, 2)), (1, (1, 1)), ((2,), (2, 2)), (((1, 3),), (1, 3))],
)
def test_border_modes(impl: str, filter_flip: bool, border_mode: Any, pads: tuple[int, int]) -> None:
    X, W = T.tensor3("X"), T.tensor3("W")
    x, w = _data(5)
    for stride in (1, 2):
        y = getattr(conv, impl)(
            X, W, IMAGE, FILTER, border_mode=border_mode, subsample=(stride,), filter_flip=filter_flip
        )
        np.testing.assert_allclose(
            _eval(y, X, W, x, w), _oracle(impl, x, w, stride, filter_flip, pads), rtol=1e-5, atol=1e-5
        )


@pytest.mark.parametrize("impl", ONLY_VALID)
@pytest.mark.parametrize("border_mode", [0, (0,)])
def test_zero_padding_is_valid(impl: str, border_mode: Any) -> None:
    X, W = T.tensor3("X"), T.tensor3("W")
    x, w = _data(6)
    y = getattr(conv, impl)(X, W, IMAGE, FILTER, border_mode=border_mode)
    np.testing.assert_allclose(_eval(y, X, W, x, w), _convolve(x, w), rtol=1e-5, atol=1e-5)


def test_grouped_multi_channel() -> None:
    X, W = T.tensor3("X"), T.tensor3("W")
    rng = np.random.default_rng(7)
    x, w = rng.standard_normal((2, 4, 11)).astype("float32"), rng.standard_normal((6, 2, 4)).astype("float32")
    for impl in MULTI:
        got = _eval(getattr(conv, impl)(X, W, x.shape, w.shape, num_groups=2), X, W, x, w)
        want = np.concatenate([_convolve(x[:, :2], w[:3]), _convolve(x[:, 2:], w[3:])], axis=1)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("implementation", ["conv1d_sc", "conv1d_mc0", "conv1d_sd", "conv1d_md"])
@pytest.mark.parametrize("filter_flip", [True, False])
def test_unstrided_implementations(implementation: str, filter_flip: bool) -> None:
    X, W = T.tensor3("X"), T.tensor3("W")
    x, w = _data(8, (2, 3, 13), (5, 3, 6))
    y = conv.conv1d_unstrided(
        X,
        W,
        (None, 3, 13),
        w.shape,
        subsample=(3,),
        filter_flip=filter_flip,
        implementation=getattr(conv, implementation),
    )
    got = _eval(y, X, W, x, w)
    np.testing.assert_allclose(got, _oracle("", x, w, 3, filter_flip), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    ("impl", "stride"), [(name, 1) for name in IMPLS] + [("conv1d_unstrided", 2), ("conv1d_sd", 2)]
)
def test_gradients(impl: str, stride: int) -> None:
    x, w = (a.astype("float64") for a in _data(9))
    rng = np.random.default_rng(10)
    proj = rng.standard_normal((2, 5, (11 - 4) // stride + 1))

    def build(X: Any, W: Any) -> Any:
        # static sizes: graphc computes a float64 convolution exactly only where the kernel size is static
        X, W = X.reshape(IMAGE), W.reshape(FILTER)
        y = getattr(conv, impl)(X, W, IMAGE, FILTER, subsample=(stride,), filter_flip=impl != "conv1d_md")
        return (y * proj).sum() + (y**2).sum()

    check_grad(build, x, w)


@pytest.mark.parametrize("impl", ["conv1d_unstrided", "conv1d_mc1"])
def test_exported_to_onnx(impl: str) -> None:
    X, W = T.tensor3("X"), T.tensor3("W")
    x, w = _data(11)
    y = getattr(conv, impl)(X, W, IMAGE, FILTER, subsample=(2,))
    want = _oracle(impl, x, w, 2, True)
    for got in run_exported([y], [X, W], {"X": x, "W": w}):
        np.testing.assert_allclose(got[0], want, rtol=1e-5, atol=1e-5)


# errors


@pytest.mark.parametrize("impl", ONLY_VALID)
@pytest.mark.parametrize("border_mode", [None, "full", "half", 1, (2,)])
def test_only_valid_border_mode(impl: str, border_mode: Any) -> None:
    with pytest.raises(RuntimeError, match=f"Unsupported border_mode for {impl}"):
        getattr(conv, impl)(T.tensor3(), T.tensor3(), (1, 1, 10), (2, 1, 4), border_mode=border_mode)


@pytest.mark.parametrize("impl", MULTI)
@pytest.mark.parametrize("border_mode", [None, "same", (1, 2), -1])
def test_invalid_border_mode_multi(impl: str, border_mode: Any) -> None:
    with pytest.raises(ValueError, match="border_mode"):
        getattr(conv, impl)(T.tensor3(), T.tensor3(), (1, 1, 10), (2, 1, 3), border_mode=border_mode)


@pytest.mark.parametrize("impl", NEED_SHAPES)
def test_stride_must_divide_filter_length(impl: str) -> None:
    with pytest.raises(RuntimeError, match=r"Filter length \(3\) is not a multiple of the stride \(2\)"):
        getattr(conv, impl)(T.tensor3(), T.tensor3(), (1, 1, 10), (2, 1, 3), subsample=(2,))


@pytest.mark.parametrize("impl", NEED_SHAPES)
def test_shapes_required(impl: str) -> None:
    fn = getattr(conv, impl)
    with pytest.raises(TypeError):
        fn(T.tensor3(), T.tensor3())
    with pytest.raises(TypeError, match="image_shape"):
        fn(T.tensor3(), T.tensor3(), None, (2, 1, 3))
    with pytest.raises(ValueError, match="3 entries"):
        fn(T.tensor3(), T.tensor3(), (1, 10), (2, 1, 3))


@pytest.mark.parametrize("impl", IMPLS)
def test_shape_errors(impl: str) -> None:
    fn = getattr(conv, impl)
    with pytest.raises(ValueError, match="does not match"):
        fn(T.tensor("float32", shape=(2, 3, 11)), T.tensor3(), (2, 3, 12), FILTER)
    with pytest.raises(ValueError):
        fn(T.tensor("float32", shape=(2, 3, 11)), T.tensor("float32", shape=(5, 2, 4)), IMAGE, (5, 2, 4))
    with pytest.raises(ValueError, match="subsample"):
        fn(T.tensor3(), T.tensor3(), IMAGE, FILTER, subsample=(0,))


# padding


@pytest.mark.parametrize("val", [0, 7, -1.5])
@pytest.mark.parametrize("batch_ndim", [0, 1, 2])
def test_pad_int_width(val: float, batch_ndim: int) -> None:
    X = T.tensor4("X")
    x = np.random.default_rng(12).standard_normal((2, 3, 4, 5)).astype("float32")
    got = graphc.function([X], padding.pad(X, 2, val, batch_ndim))(x)
    pads = [(0, 0) if i < batch_ndim else (2, 2) for i in range(4)]
    np.testing.assert_array_equal(got, np.pad(x, pads, constant_values=val))


@pytest.mark.parametrize("batch_ndim", [1, 2])
def test_pad_width_per_axis_and_border(batch_ndim: int) -> None:
    X = T.tensor4("X")
    x = np.random.default_rng(13).standard_normal((2, 3, 4, 5)).astype("float32")
    per_axis, per_border = (1, 2, 3, 4), [(1, 2), (3, 0), (0, 2), (3, 4)]
    f = graphc.function(
        [X],
        [padding.pad(X, per_axis[batch_ndim:], 0, batch_ndim), padding.pad(X, per_border[batch_ndim:], 3, batch_ndim)],
    )
    a, b = f(x)
    zero = [(0, 0)] * batch_ndim
    np.testing.assert_array_equal(a, np.pad(x, zero + [(p, p) for p in per_axis[batch_ndim:]]))
    np.testing.assert_array_equal(b, np.pad(x, zero + per_border[batch_ndim:], constant_values=3))


def test_pad_fewer_widths_leave_last_axes() -> None:
    X = T.tensor4("X")
    x = np.ones((2, 3, 4, 5), "float32")
    got = graphc.function([X], padding.pad(X, [1, (0, 2)]))(x)
    np.testing.assert_array_equal(got, np.pad(x, [(0, 0), (1, 1), (0, 2), (0, 0)]))


def test_pad_errors() -> None:
    with pytest.raises(IndexError, match="widths"):
        padding.pad(T.tensor3(), [1, 1, 1], batch_ndim=1)
    with pytest.raises(ValueError, match="non-negative"):
        padding.pad(T.tensor3(), -1)
    with pytest.raises(ValueError, match="batch_ndim"):
        padding.pad(T.tensor3(), 1, batch_ndim=4)


def test_pad_gradient() -> None:
    proj = np.random.default_rng(14).standard_normal((2, 6, 9))
    check_grad(
        lambda X: ((padding.pad(X, [(1, 2), 3], 0.5) ** 2) * proj).sum(),
        np.random.default_rng(15).standard_normal((2, 3, 3)),
    )


def test_upstream_import_paths() -> None:
    import graphc.compat

    graphc.compat.install()
    try:
        import lasagne  # type: ignore[import-not-found]
        from lasagne.theano_extensions import conv as lconv  # type: ignore[import-not-found]
        from lasagne.theano_extensions import padding as lpadding  # type: ignore[import-not-found]

        assert lconv is conv and lpadding is padding
        assert lasagne.theano_extensions.conv.conv1d_md is conv.conv1d_md
    finally:
        graphc.compat.uninstall()
    assert graphc.theano_extensions.padding.pad is padding.pad
