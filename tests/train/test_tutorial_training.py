"""The recurrent tutorial trains (a short setting of examples/recurrent_add.py: shorter sequences, fewer steps)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))

import recurrent_add  # noqa: E402


def test_bidirectional_lstm_learns_the_add_task():
    curve = recurrent_add.train(epochs=3, epoch_size=40, min_length=10, max_length=15, verbose=False)
    assert curve[0] > 0.13  # about the cost of predicting 0
    assert curve[-1] < 0.8 * curve[0]  # and it learns
