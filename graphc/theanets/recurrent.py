"""The recurrent theanets models (upstream's ``theanets.recurrent``): inputs ``(batch, time, features)``.

Each is its feed-forward counterpart with a three-dimensional input; the targets follow
the output (``(batch, time, size)`` for a :class:`Regressor`, integer ``(batch, time)``
labels for a :class:`Classifier`).  :func:`batches` and :class:`Text` make
training batches of random windows of long sequences.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np

from . import feedforward
from ._text import Text, batches

__all__ = ["Regressor", "Classifier", "Autoencoder", "batches", "Text"]


class Regressor(feedforward.Regressor):
    """A recurrent regressor: real-valued targets for every step of a sequence."""

    INPUT_NDIM: ClassVar[int] = 3


class Classifier(feedforward.Classifier):
    """A recurrent classifier: a class for every step of a sequence."""

    INPUT_NDIM: ClassVar[int] = 3

    def predict_sequence(self, labels: Any, steps: int, streams: int = 1, rng: Any = None) -> Iterator[Any]:
        """Extend a label sequence by sampling one class at a time from the model's output.

        Parameters
        ----------
        labels : sequence of int
            The seed sequence (class indices), fed as one-hot vectors.
        steps : int
            How many classes to draw.
        streams : int
            How many independent continuations to draw in parallel.
        rng : numpy.random.RandomState or int, optional
            Where the draws come from.

        Yields
        ------
        int or list of int
            At each step the class drawn: an int when ``streams`` is 1, else
            a list with the class drawn for every stream (as upstream).

        Notes
        -----
        Upstream feeds ``inputs[:i]`` (the first ``i`` *streams*, every step
        up to the end, zeros included) where it meant the first ``i`` steps,
        so its draws read the model's output at the last, all-zero step.  Here
        each draw reads the output after the seed and the classes drawn so far.
        Upstream's fallback is kept: a distribution that ``multinomial`` rejects
        gives the most probable class.
        """
        if not isinstance(rng, np.random.RandomState):
            rng = np.random.RandomState(rng)
        if isinstance(streams, bool) or not isinstance(streams, (int, np.integer)) or streams < 1:
            raise ValueError(f"predict_sequence: streams must be an integer >= 1, got {streams!r}")
        n_classes = self.layers[0].output_shape[-1] if self.layers[0].output_shape else None
        if not isinstance(n_classes, (int, np.integer)):
            raise ValueError(f"predict_sequence: the input layer needs a known size, got {self.layers[0].output_shape}")
        labels = [int(c) for c in labels]
        if not labels:
            raise ValueError("predict_sequence: labels must hold at least one class")
        if any(not 0 <= c < n_classes for c in labels):
            raise ValueError(f"predict_sequence: labels must lie in [0, {n_classes - 1}], got {labels}")
        offset = len(labels)
        inputs = np.zeros((streams, offset + steps, int(n_classes)), dtype="float32")
        inputs[:, np.arange(offset), labels] = 1
        for i in range(offset, offset + steps):
            chars = []
            for pdf in self.predict_proba(inputs[:, :i])[:, -1]:
                pdf = np.asarray(pdf, dtype=np.float64)
                try:
                    c = int(rng.multinomial(1, pdf).argmax())
                except ValueError:
                    c = int(pdf.argmax())
                chars.append(c)
            inputs[np.arange(streams), i, chars] = 1
            yield chars[0] if streams == 1 else chars


class Autoencoder(feedforward.Autoencoder):
    """A recurrent autoencoder: reproduces each step of its input sequence."""

    INPUT_NDIM: ClassVar[int] = 3
