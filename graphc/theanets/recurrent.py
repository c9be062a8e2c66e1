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
        The draws are upstream's, value for value: ``max(2, streams)`` streams
        (upstream runs at least two; the extra one's draws use the generator
        too) of ``len(labels) + steps`` one-hot steps, the seed first and
        zeros after it; for each step to draw, the model reads the whole
        sequence (the classes drawn so far included, the steps not drawn yet
        still zeros) and each stream's class is drawn from its output at the
        *last* step, upstream's ``predict_proba(inputs[:i])[:, -1]`` (``[:i]``
        slices the streams, so every step is read; with a one-class seed the
        first draw reads the first stream only, and its class goes to every
        stream, as upstream).  A distribution that
        ``multinomial`` rejects gives the most probable class, as upstream.
        Labels may be negative (counted from the end, as numpy indexes).
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
        if any(not -n_classes <= c < n_classes for c in labels):
            raise ValueError(
                f"predict_sequence: labels must lie in [0, {n_classes - 1}] (or [-{n_classes}, -1], counted from the "
                f"end), got {labels}"
            )
        offset = len(labels)
        batch = max(2, int(streams))
        inputs = np.zeros((batch, offset + steps, int(n_classes)), dtype="float32")
        inputs[:, np.arange(offset), labels] = 1
        for i in range(offset, offset + steps):
            chars = []
            # upstream reads inputs[:i]; where that holds more than one stream but not all, its
            # assignment below fails, and here every stream is read instead
            view = inputs[:i] if i == 1 or i >= batch else inputs
            for pdf in self.predict_proba(view)[:, -1]:
                try:
                    c = int(rng.multinomial(1, pdf).argmax())
                except ValueError:
                    c = int(pdf.argmax())
                chars.append(c)
            inputs[np.arange(batch), i, chars] = 1  # one class drawn (i == 1) goes to every stream
            yield chars[0] if streams == 1 else chars * (batch // len(chars))


class Autoencoder(feedforward.Autoencoder):
    """A recurrent autoencoder: reproduces each step of its input sequence."""

    INPUT_NDIM: ClassVar[int] = 3
