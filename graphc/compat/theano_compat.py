"""``theano.compat``: Theano's Python 2/3 helpers, for programs that import them from there."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

__all__ = [
    "OrderedDict",
    "PY3",
    "izip",
    "imap",
    "ifilter",
    "iteritems",
    "itervalues",
    "iterkeys",
    "decode",
    "string_types",
]

PY3 = True
"""Always True: graphc runs on Python 3."""
izip = zip
imap = map
ifilter = filter
string_types = (str,)


def iteritems(d: Any) -> Iterable[Any]:
    """``d.items()``."""
    return iter(d.items())


def itervalues(d: Any) -> Iterable[Any]:
    """``d.values()``."""
    return iter(d.values())


def iterkeys(d: Any) -> Iterable[Any]:
    """``d.keys()``."""
    return iter(d.keys())


def decode(x: bytes | str) -> str:
    """Bytes decoded as UTF-8; a str unchanged."""
    return x.decode() if isinstance(x, bytes) else x
