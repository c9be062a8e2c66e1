"""The feed-forward theanets models (upstream's ``theanets.feedforward``): :class:`Regressor`,
:class:`Classifier` and :class:`Autoencoder`, on flat ``(batch, features)`` inputs.

The recurrent (``(batch, time, features)``) and convolutional (``(batch, channels, rows,
cols)``) forms are in :mod:`graphc.theanets.recurrent` and :mod:`graphc.theanets.convolution`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..runtime import function
from ..tensor.variable import Variable
from . import losses as _losses
from .graph import Network
from .layers.base import ConfigurationError

__all__ = ["Regressor", "Classifier", "Autoencoder"]


class Regressor(Network):
    """A network mapping inputs to real-valued targets; loss ``mse``, linear output."""


class Classifier(Network):
    """A network whose output is a softmax over classes; loss ``xe`` with integer targets."""

    DEFAULT_OUTPUT_ACTIVATION = "softmax"
    DEFAULT_LOSS = "xe"

    def monitors(self, **kwargs: Any) -> list[tuple[str, Variable]]:
        """``err`` and, for a cross-entropy loss, ``acc`` (accuracy)."""
        result = super().monitors(**kwargs)
        loss = self.losses[0]
        if isinstance(loss, _losses.CrossEntropy):
            result.append(("acc", loss.accuracy(self._outputs(self.regularizers(**kwargs)))))
        return result

    def predict_proba(self, x: Any, **kwargs: Any) -> np.ndarray:
        """Class probabilities (the output layer's ``out``)."""
        return super().predict(x, **kwargs)

    def predict(self, x: Any, **kwargs: Any) -> np.ndarray:
        """The most probable class of each example (int64)."""
        return np.argmax(self.predict_proba(x, **kwargs), axis=-1)

    def predict_logit(self, x: Any, **kwargs: Any) -> np.ndarray:
        """The output layer's values before the softmax (its ``pre`` output)."""
        name = self.layers[-1].full_name("pre")
        regs = self.regularizers(**kwargs)
        if name not in self._outputs(regs):
            raise KeyError(f"output layer {self.layers[-1].name!r} has no 'pre' output")
        return self._compiled((name,), regs)(*self._arrays(x))[0]

    def score(self, x: Any, y: Any, w: Any = None, **kwargs: Any) -> float:
        """Accuracy: the (weighted) fraction of examples whose predicted class is ``y``.

        As upstream, a label is compared with the predicted class as it is, so
        a negative label (which training reads from the end, as numpy indexes)
        never counts as predicted; ``w`` broadcasts against the labels as numpy
        does.

        Raises
        ------
        ValueError
            For labels outside ``[-n_classes, n_classes - 1]``, the labels training takes,
            or labels or weights whose shape does not broadcast against the predictions.
        """
        y = np.asarray(y)
        classes = self.layers[-1].size
        if y.size and y.dtype.kind in "iuf" and (y.min() < -classes or y.max() > classes - 1):
            raise ValueError(
                f"{type(self).__name__}.score: labels must lie in [0, {classes - 1}] (or [-{classes}, -1], counted "
                f"from the end; the output layer {self.layers[-1].name!r} has {classes} classes), got labels from "
                f"{y.min()} to {y.max()}"
            )
        pred = self.predict(x, **kwargs)
        w = None if w is None else np.asarray(w, dtype=np.float64)
        for what, arr in (("labels", y), ("weights", w)):
            if arr is None:
                continue
            try:
                np.broadcast_shapes(pred.shape, arr.shape)
            except ValueError:
                # older numpy made such a comparison False (a score of 0, upstream's result) with a warning
                raise ValueError(
                    f"{type(self).__name__}.score: {what} of shape {arr.shape} do not match the predicted classes "
                    f"of shape {pred.shape}"
                ) from None
        correct = (pred == y).astype(np.float64)
        if w is None:
            return float(correct.mean())
        return float((w * correct).sum() / w.sum())


class Autoencoder(Network):
    """A network trained to reproduce its input; the loss target is the input itself."""

    def _loss_target(self, cls: type[_losses.Loss]) -> Any:
        if issubclass(cls, _losses.CrossEntropy) or len(self.inputs) != 1:
            return super()._loss_target(cls)
        out, inp = self.layers[-1].output_shape[-1], self.layers[0].output_shape[-1]
        if isinstance(out, int) and isinstance(inp, int) and out != inp:
            raise ConfigurationError(
                f"Autoencoder: its output layer {self.layers[-1].name!r} has size {out}, but the input has size "
                f"{inp}; an autoencoder reconstructs its input, so the sizes must match (a Regressor predicts "
                "other targets)"
            )
        return self.inputs[0]

    def score(self, x: Any, w: Any = None, **kwargs: Any) -> float:
        """R^2 of the reconstruction of ``x``, weighted by ``w`` when given (upstream's signature).

        The second argument is the weights, not a target: an autoencoder's target is its input.
        """
        return super().score(x, x, w, **kwargs)

    def _find_output(self, layer: Any) -> str:
        if layer is None:
            layer = len(self.layers) // 2
        return self._output_key(layer)

    def encode(self, x: Any, layer: Any = None, sample: bool = False, **kwargs: Any) -> np.ndarray:
        """The output of ``layer`` (default the middle layer) for ``x``.

        Parameters
        ----------
        x : ndarray
        layer : int, str or Layer, optional
            A layer (index, name or instance) or an output name ``'hid1:pre'``.
        sample : bool
            Return a binary sample with these probabilities instead.
        """
        enc = self._compiled((self._find_output(layer),), self.regularizers(**kwargs))(*self._arrays(x))[0]
        if sample:
            return np.random.binomial(n=1, p=np.clip(enc, 0, 1)).astype(np.uint8)
        return enc

    def decode(self, z: Any, layer: Any = None, **kwargs: Any) -> np.ndarray:
        """The network output computed from ``z`` given as the output of ``layer`` (default the middle layer).

        Raises
        ------
        ConfigurationError
            If a later layer needs another output of the layers before ``layer``.
        TypeError
            For keyword arguments: regularizers do not apply to decoding.
        """
        if kwargs:
            raise TypeError(f"decode: unexpected keyword arguments {sorted(kwargs)}")
        key = self._find_output(layer)
        fkey = ("decode", key)
        if fkey not in self._functions:
            from .. import tensor as T

            src = self._outputs()[key]
            inner = tuple(d if isinstance(d, int) else None for d in src.type.shape[1:])
            zvar = T.tensor(src.dtype, shape=(None,) + inner, name="code")
            owner = key.split(":", 1)[0]
            index = next(i for i, lyr in enumerate(self.layers) if lyr.name == owner)
            outputs: dict[str, Variable] = {key: zvar}
            for lyr in self.layers[index + 1 :]:
                try:
                    outputs.update(lyr.connect(outputs)[0])
                except ConfigurationError as exc:
                    raise ConfigurationError(f"cannot decode from {key!r}: {exc}") from None
            out = outputs[self.layers[-1].output_name]
            self._functions[fkey] = function([zvar], out, name=f"{type(self).__name__}.decode")
        return self._functions[fkey](z)
