"""The theanets feedforward catalog: Input, Concatenate, Flatten, Product, Reshape,
Feedforward, Classifier and Tied.

Equations follow ``shared/reference/theanets.md``; data are batch-first and the
feature axis is last, so Feedforward works on 3-D ``(batch, time, features)``
inputs as well.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ... import tensor as T
from ...config import config
from ...tensor.variable import Variable
from ..util import log
from .base import ConfigurationError, Layer, LayerInputs, Shape

__all__ = ["Input", "Concatenate", "Flatten", "Product", "Reshape", "Feedforward", "Classifier", "Tied"]


def _prod(shape: Shape) -> int | None:
    if any(d is None for d in shape):
        return None
    return int(np.prod(shape))


_SPARSE_FORMATS = ("csr", "csc")


def _sparse_format(sparse: Any, name: str) -> str | None:
    """``None`` (dense), ``'csr'`` or ``'csc'`` from an Input's ``sparse`` argument."""
    if sparse is None or sparse is False:
        return None
    if sparse is True:
        return "csr"
    if isinstance(sparse, str) and sparse.lower() in _SPARSE_FORMATS:
        return sparse.lower()
    raise ConfigurationError(f"layer {name!r}: sparse must be False, True, 'csr' or 'csc', got {sparse!r}")


class Input(Layer):
    """A layer that receives external data; its ``input`` is the placeholder.

    Parameters
    ----------
    size : int, optional
        Size of the last axis.
    shape : tuple of int, optional
        The data shape without the batch axis (``(width, height, channels)``);
        gives ``size`` and ``ndim``.
    name : str
        Also the name of the placeholder (and of the exported model input).
        Defaults to ``'in'``.
    ndim : int, optional
        Number of axes including the batch axis (default 2).
    sparse : {False, 'csr', 'csc'}
        Declare a sparse input: ``train``, ``predict``, ``feed_forward`` and
        ``score`` then take ``scipy.sparse`` matrices (any sparse format; the
        declared one is upstream's Theano variable type, here a label) and
        refuse dense arrays.  ``True`` means ``'csr'``; a ``(size, 'csr')``
        layer spec declares one too.  The data stay sparse
        while they are split into minibatches (rows of a CSR copy); each
        minibatch is densified when it is fed to the compiled function, since
        ONNX Runtime has no sparse matrix product for graphc's ops.
        ``predict``, ``feed_forward`` and ``score`` densify the matrix they
        are given (their outputs are dense anyway): pass large datasets in
        chunks.  A sparse input must be 2-D.

    Notes
    -----
    The batch axis (and any other axis but the last, unless ``shape`` fixes it)
    has a dynamic size.  An exported ONNX model takes the dense input (a
    ``(batch, size)`` float tensor), sparse or not.

    Raises
    ------
    ConfigurationError
        For a ``sparse`` value other than False/None, True, ``'csr'`` or
        ``'csc'``, or a sparse input that is not 2-D.
    """

    def __init__(
        self,
        size: int | None = None,
        shape: Any = None,
        name: str = "in",
        ndim: int | None = None,
        sparse: Any = False,
        **kwargs: Any,
    ) -> None:
        activation = kwargs.pop("activation", None)
        kwargs.pop("inputs", None)
        if not sparse and isinstance(activation, str) and activation.lower() in _SPARSE_FORMATS:
            sparse = activation  # a (size, 'csr') tuple spec parses the format as the activation
        sparse = _sparse_format(sparse, name)
        if shape is None:
            if size is None:
                raise ConfigurationError(f"layer {name!r}: an Input layer needs a size or a shape")
            nd = 2 if ndim is None else ndim
            if not isinstance(nd, (int, np.integer)) or nd < 2:
                raise ConfigurationError(f"layer {name!r}: ndim must be an int >= 2 (batch axis included), got {ndim!r}")
            shape = (None,) * (int(nd) - 2) + (size,)
        else:
            shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
            if ndim is not None and ndim != len(shape) + 1:
                raise ConfigurationError(
                    f"layer {name!r}: ndim={ndim} does not match shape {shape} (ndim counts the batch axis)"
                )
        if shape[-1] is None:
            raise ConfigurationError(f"layer {name!r}: the last axis of an input needs a size, got shape {shape}")
        super().__init__(size=size, inputs=(), name=name, activation="linear", shape=shape, **kwargs)
        self.ndim = len(self.output_shape) + 1
        if sparse and self.ndim != 2:
            raise ConfigurationError(
                f"layer {name!r}: a sparse input ({sparse!r}) must be a matrix (ndim=2), got ndim={self.ndim}"
            )
        self.sparse = sparse
        if sparse:
            self.kwargs["sparse"] = sparse  # kept by to_spec, so a saved model stays sparse
        self.input = T.tensor(config.floatX, shape=(None,) + tuple(self.output_shape), name=self.name)
        self.input.tag.sparse = sparse  # the data-feeding code checks it (graph._arrays, _training_data)

    def _resize(self, size: int) -> None:
        """Declare another size for the last axis (a new placeholder of the same name)."""
        self.size = int(size)
        self._shape = tuple(self.output_shape[:-1]) + (self.size,)
        placeholder = T.tensor(config.floatX, shape=(None,) + self._shape, name=self.name)
        placeholder.tag.sparse = self.sparse
        self.input = placeholder

    def bind(self, graph: Any, reset: bool = True, initialize: bool = True) -> None:
        """Inputs have nothing to resolve or create."""
        self._bound = True
        self.activate = None

    @property
    def params(self) -> list[Any]:
        """Inputs have no parameters."""
        return []

    def transform(self, inputs: LayerInputs) -> Variable:
        """The placeholder."""
        return self.input

    def _full_spec(self) -> dict[str, Any]:
        """``form``, ``name``, ``size``, ``shape`` and ``ndim``."""
        spec = super()._full_spec()
        spec.pop("inputs", None)
        spec.update(ndim=self.ndim)
        return spec


class Concatenate(Layer):
    """Concatenate the inputs along the last axis; ``size`` is the sum of their sizes."""

    __extra_registration_keys__ = ("concat",)

    def infer_size(self) -> int | None:
        """Sum of the input sizes."""
        sizes = [s[-1] for s in self.input_shapes.values()]
        return None if any(s is None for s in sizes) else int(sum(sizes))

    def transform(self, inputs: LayerInputs) -> Variable:
        """``concatenate(inputs, axis=-1)``."""
        xs = [inputs[k] for k in self.inputs]
        return T.concatenate(xs, axis=xs[0].ndim - 1)


class Product(Layer):
    """Elementwise product of the inputs (all of one shape)."""

    __extra_registration_keys__ = ("prod",)

    def infer_size(self) -> int | None:
        """The common size of the inputs."""
        sizes = {s[-1] for s in self.input_shapes.values()}
        if len(sizes) > 1:
            raise ConfigurationError(f"layer {self.name!r}: inputs {self.inputs} have different sizes {sorted(sizes)}")
        return sizes.pop() if sizes else None

    def transform(self, inputs: LayerInputs) -> Variable:
        """``x_1 * x_2 * ...``."""
        out = inputs[self.inputs[0]]
        for k in self.inputs[1:]:
            out = out * inputs[k]
        return out


class Flatten(Layer):
    """Flatten all but the batch axis: ``(batch, -1)``."""

    __extra_registration_keys__ = ("flat",)

    @property
    def output_shape(self) -> Shape:
        """``(size,)``."""
        return (self.size,)

    def infer_size(self) -> int | None:
        """The product of the input shape, when known."""
        return _prod(self.input_shape)

    def transform(self, inputs: LayerInputs) -> Variable:
        """``x.reshape((batch, -1))``."""
        return T.flatten(inputs[self.inputs[0]], 2)


class Reshape(Layer):
    """Reshape to ``(batch,) + shape``.

    Parameters
    ----------
    shape : sequence of int
        The new shape without the batch axis; its last entry is the size.
    """

    def __init__(self, shape: Any = None, **kwargs: Any) -> None:
        if shape is None:
            raise ConfigurationError(f"layer {kwargs.get('name', 'reshape')!r}: Reshape needs a shape")
        kwargs.setdefault("size", list(shape)[-1])
        super().__init__(shape=shape, **kwargs)

    def _mismatch(self) -> str | None:
        """Why the input cannot take the shape, or None when the element counts agree (or are not known)."""
        want, have = _prod(self.output_shape), _prod(self.input_shape)
        if want is not None and have is not None and want != have:
            return (
                f"layer {self.name!r}: cannot reshape input of shape {self.input_shape} ({have} values per example) "
                f"to {self.output_shape} ({want} values)"
            )
        return None

    def infer_size(self) -> int | None:
        """Warns when the element counts disagree: upstream binds such a layer and fails when it runs."""
        problem = self._mismatch()
        if problem is not None:
            log(f"warning: {problem}; the layer cannot be connected")
        return None

    def transform(self, inputs: LayerInputs) -> Variable:
        """``x.reshape([x.shape[0]] + shape)``.

        Raises
        ------
        ConfigurationError
            When the input's values per example do not fill the shape (where
            upstream's Theano would fail on the first data).
        """
        problem = self._mismatch()
        if problem is not None:
            raise ConfigurationError(problem)
        x = inputs[self.inputs[0]]
        return T.reshape(x, [x.shape[0]] + list(self.output_shape))


class Feedforward(Layer):
    """``out = act(sum_k x_k W_k + b)``; also gives ``pre`` (before the activation).

    Parameters are ``w`` (``(nin, size)``) and ``b`` (``(size,)``), or with
    several inputs one ``w_<input>`` per input, named by the input's full name
    (``'l.w_hid1:out'``).  Works on inputs with more than two axes (the last is
    contracted).
    """

    __extra_registration_keys__ = ("ff",)

    def _weight_name(self, key: str) -> str:
        return "w" if len(self.inputs) == 1 else f"w_{key}"

    def setup(self) -> None:
        """Weights per input, then the bias."""
        if not self.inputs:
            raise ConfigurationError(f"layer {self.name!r} ({type(self).__name__}) needs at least one input")
        for key, shape in self.input_shapes.items():
            self.add_weights(self._weight_name(key), shape[-1], self.size)
        self.add_bias("b", self.size)

    def transform(self, inputs: LayerInputs) -> dict[str, Variable]:
        """``pre`` and ``out``."""
        pre = None
        for key in self.inputs:
            term = T.dot(inputs[key], self.find(self._weight_name(key)))
            pre = term if pre is None else pre + term
        pre = pre + self.find("b")
        return {"pre": pre, "out": self.activate(pre)}


class Classifier(Feedforward):
    """A Feedforward layer whose activation is always softmax."""

    __extra_registration_keys__ = ("softmax",)

    def __init__(self, **kwargs: Any) -> None:
        kwargs["activation"] = "softmax"
        super().__init__(**kwargs)


class Tied(Layer):
    """A layer that reuses the transpose of its partner's weights: ``act(x W_partner^T + b)``.

    Parameters
    ----------
    partner : str or Layer
        The layer whose ``w`` (``(nin_p, n_p)``) is shared; this layer's input
        must have ``n_p`` units, and its size is ``nin_p``.

    Notes
    -----
    The only own parameter is ``b`` of the partner's input size.
    """

    _inferred_size_wins = True  # upstream always takes the partner's input size

    def __init__(self, partner: Any = None, **kwargs: Any) -> None:
        if partner is None:
            raise ConfigurationError(f"layer {kwargs.get('name', 'tied')!r}: a tied layer needs a partner layer")
        if not isinstance(partner, (str, Layer)):
            raise ConfigurationError(f"layer {kwargs.get('name', 'tied')!r}: partner must be a layer or a layer name, got {partner!r}")
        self.partner: Any = partner
        super().__init__(**kwargs)

    def resolve(self, layers: Any) -> None:
        """Resolve the partner (by name) as well as the inputs."""
        layers = list(layers)
        super().resolve(layers)
        if isinstance(self.partner, str):
            matches = [lyr for lyr in layers if lyr.name == self.partner]
            if len(matches) != 1:
                available = ", ".join(repr(lyr.name) for lyr in layers if lyr is not self) or "none"
                raise ConfigurationError(
                    f"layer {self.name!r} cannot find its partner {self.partner!r} (layers before it: {available})"
                )
            self.partner = matches[0]

    def infer_size(self) -> int | None:
        """The partner's input size; the input must match the partner's size."""
        partner = self.partner
        try:
            weights = partner.find("w")
        except KeyError:
            raise ConfigurationError(
                f"layer {self.name!r}: partner {partner.name!r} has no weight matrix 'w' to tie to"
            ) from None
        nin, nout = weights.type.shape
        if self.input_size != nout:
            raise ConfigurationError(
                f"layer {self.name!r}: input {self.inputs[0]!r} has size {self.input_size}, but partner "
                f"{partner.name!r} has {nout} units (its weights are {nin}x{nout})"
            )
        return int(nin)

    def setup(self) -> None:
        """Only the bias: the weights are the partner's."""
        self.add_bias("b", self.size)

    def transform(self, inputs: LayerInputs) -> dict[str, Variable]:
        """``pre = x W_partner^T + b`` and ``out = act(pre)``."""
        x = inputs[self.inputs[0]]
        pre = T.dot(x, self.partner.find("w").T) + self.find("b")
        return {"pre": pre, "out": self.activate(pre)}

    def _full_spec(self) -> dict[str, Any]:
        """Adds the partner's name."""
        spec = super()._full_spec()
        spec["partner"] = self.partner.name if isinstance(self.partner, Layer) else self.partner
        return spec
