"""The recurrent theanets models (upstream's ``theanets.recurrent``): inputs ``(batch, time, features)``.

Each is its feed-forward counterpart with a three-dimensional input; the targets follow
the output (``(batch, time, size)`` for a :class:`Regressor`, integer ``(batch, time)``
labels for a :class:`Classifier`).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from . import feedforward

__all__ = ["Regressor", "Classifier", "Autoencoder"]


class Regressor(feedforward.Regressor):
    """A recurrent regressor: real-valued targets for every step of a sequence."""

    INPUT_NDIM: ClassVar[int] = 3


class Classifier(feedforward.Classifier):
    """A recurrent classifier: a class for every step of a sequence."""

    INPUT_NDIM: ClassVar[int] = 3

    def predict_sequence(self, labels: Any, steps: int, streams: int = 1, rng: Any = None) -> Any:
        """Extend label sequences by sampling one class at a time from the model's output.

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
        list of int
            At each step, the class drawn for every stream.
        """
        if not isinstance(rng, np.random.RandomState):
            rng = np.random.RandomState(rng)
        n_classes = self.layers[0].output_shape[-1] if self.layers[0].output_shape else None
        if not isinstance(n_classes, int):
            raise ValueError(f"predict_sequence: the input layer needs a known size, got {self.layers[0].output_shape}")
        seqs = [list(labels) for _ in range(streams)]
        for _ in range(steps):
            onehot = np.zeros((streams, len(seqs[0]), n_classes), dtype="float32")
            for s, seq in enumerate(seqs):
                onehot[s, np.arange(len(seq)), seq] = 1
            probs = self.predict_proba(onehot)[:, -1, :]
            drawn = []
            for s in range(streams):
                p = np.asarray(probs[s], dtype=np.float64)
                drawn.append(int(rng.choice(len(p), p=p / p.sum())))
                seqs[s].append(drawn[-1])
            yield drawn


class Autoencoder(feedforward.Autoencoder):
    """A recurrent autoencoder: reproduces each step of its input sequence."""

    INPUT_NDIM: ClassVar[int] = 3
