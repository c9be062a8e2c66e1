"""``theano.sandbox.cuda.dnn``: cuDNN through the old back-end, absent."""

from __future__ import annotations


def dnn_available() -> bool:
    """False: cuDNN is not reachable through Theano's back-end in graphc."""
    return False


dnn_available.msg = "graphc does not provide Theano's CUDA back-end"  # type: ignore[attr-defined]
