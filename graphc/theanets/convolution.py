"""The convolutional theanets models (upstream's ``theanets.convolution``): image inputs
``(batch, channels, rows, cols)``."""

from __future__ import annotations

from typing import ClassVar

from . import feedforward

__all__ = ["Regressor", "Classifier"]


class Regressor(feedforward.Regressor):
    """A regressor over images."""

    INPUT_NDIM: ClassVar[int] = 4


class Classifier(feedforward.Classifier):
    """A classifier over images."""

    INPUT_NDIM: ClassVar[int] = 4
