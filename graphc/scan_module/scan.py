"""Theano's ``theano.scan_module.scan`` module path (the function lives in :mod:`graphc.tensor.scan`)."""

from ..tensor.scan import scan

__all__ = ["scan"]
