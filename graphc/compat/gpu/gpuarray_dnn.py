"""``theano.gpuarray.dnn``: cuDNN through the gpuarray back-end, absent."""

from __future__ import annotations


def dnn_present() -> bool:
    """False: cuDNN is not reachable through Theano's back-end in graphc."""
    return False


def dnn_available(context_name: str | None = None) -> bool:
    """False: cuDNN is not reachable through Theano's back-end in graphc."""
    return False


dnn_present.msg = "graphc does not provide Theano's gpuarray back-end"  # type: ignore[attr-defined]
dnn_available.msg = dnn_present.msg  # type: ignore[attr-defined]
