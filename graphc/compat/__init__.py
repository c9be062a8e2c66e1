"""Running unchanged Theano, Lasagne and theanets programs on graphc.

Three ways (see ``docs/porting-from-theano.md``):

- change the imports (``import graphc as theano``...);
- ``graphc legacy script.py ARGS...`` or ``python -m graphc.compat script.py ARGS...``;
- :func:`install` at the top of a notebook, after which ``import theano``,
  ``import lasagne`` and ``import theanets`` give graphc's modules.

The aliases are one table, :data:`graphc.compat.aliases.PACKAGES`.
"""

from __future__ import annotations

from .aliases import (
    OVERRIDES,
    PACKAGES,
    NotProvidedAttributeError,
    NotProvidedError,
    NotProvidedImportError,
    install_finder,
    target_of,
    uninstall_finder,
)

# theano.compat is this package: Theano's Python 2/3 helpers live here too (theano.compat.OrderedDict...)
from .theano_compat import (  # noqa: E402, F401
    PY3,
    OrderedDict,
    decode,
    ifilter,
    imap,
    iteritems,
    iterkeys,
    itervalues,
    izip,
    string_types,
)

__all__ = [
    "install",
    "uninstall",
    "run_script",
    "PACKAGES",
    "OVERRIDES",
    "NotProvidedError",
    "NotProvidedImportError",
    "NotProvidedAttributeError",
    "target_of",
]


def install() -> None:
    """Make ``import theano``, ``import lasagne`` and ``import theanets`` (and their submodules) give graphc's.

    Also gives :data:`graphc.config` Theano's settings (``config.optimizer``,
    ``config.dnn.enabled``...) and applies ``THEANO_FLAGS`` to it (see :mod:`graphc.compat.flags`).
    Calling it again does nothing more.

    Examples
    --------
    >>> import graphc.compat
    >>> graphc.compat.install()
    >>> import theano, graphc
    >>> theano.tensor is graphc.tensor
    True
    >>> graphc.compat.uninstall()
    """
    from .flags import apply_theano_flags

    apply_theano_flags()
    install_finder()


def uninstall() -> None:
    """Undo :func:`install`: the upstream names and the missing-name hooks go (graphc's modules stay imported)."""
    uninstall_finder()


def run_script(script: str, args: list[str] | None = None) -> int:
    """Run a Python file as ``__main__`` with the aliases installed; see :func:`graphc.compat.runner.run_script`."""
    from .runner import run_script as _run

    return _run(script, args or [])
