"""Theano's ``theano.scan_module.scan_utils``: the names user code reaches for (``until``, ``clone``)."""

from ..tensor.clone import clone
from ..tensor.scan_helpers import until

__all__ = ["until", "clone"]
