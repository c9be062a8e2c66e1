"""``theano.scalar``: scalar dtypes (``float64``, ``int32``...), :func:`upcast`, :func:`constant`.

See :mod:`graphc.scalar.basic`.
"""

from . import basic
from .basic import *  # noqa: F403
from .basic import __all__ as _basic_all

__all__ = ["basic", *_basic_all]
