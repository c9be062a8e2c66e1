"""Import aliases: ``theano.X.Y`` -> ``graphc.X.Y``, ``lasagne.X`` -> ``graphc.X``, ``theanets.X`` -> ``graphc.theanets.X``.

A :class:`AliasFinder` on :data:`sys.meta_path` answers for the upstream package names
in :data:`PACKAGES` and hands back graphc's own module objects, so
``theano.tensor is graphc.tensor``.  :data:`OVERRIDES` maps single upstream module
paths whose graphc counterpart lives elsewhere (old module paths, the GPU back-ends
that a CPU-only Theano reports absent).  A module graphc lacks fails with
:class:`NotProvidedImportError` (``graphc does not provide theano.X``); a missing
attribute of an aliased module with :class:`NotProvidedAttributeError`.
"""

from __future__ import annotations

import dis
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import linecache
import sys
import types
from collections.abc import Sequence
from typing import Any

__all__ = [
    "PACKAGES",
    "OVERRIDES",
    "AliasFinder",
    "NotProvidedError",
    "NotProvidedImportError",
    "NotProvidedAttributeError",
    "target_of",
]

PACKAGES: dict[str, str] = {
    "theano": "graphc",
    "lasagne": "graphc",
    "theanets": "graphc.theanets",
}
"""Upstream top-level package -> the graphc package that stands for it (the one table to edit)."""

OVERRIDES: dict[str, str] = {
    # GPU back-ends: importable, reporting themselves absent as a CPU-only Theano does
    "theano.sandbox.cuda": "graphc.compat.gpu.theano_cuda",
    "theano.sandbox.cuda.dnn": "graphc.compat.gpu.theano_cuda_dnn",
    "theano.gpuarray": "graphc.compat.gpu.gpuarray",
    "theano.gpuarray.dnn": "graphc.compat.gpu.gpuarray_dnn",
    "theano.sandbox.gpuarray": "graphc.compat.gpu.gpuarray",
    "lasagne.layers.dnn": "graphc.compat.gpu.lasagne_dnn",
    "lasagne.layers.cuda_convnet": "graphc.compat.gpu.lasagne_cuda_convnet",
    "lasagne.layers.corrmm": "graphc.compat.gpu.lasagne_corrmm",
    # Theano's old module paths
    "theano.compat.python2x": "graphc.compat.theano_compat",
    "theano.tensor.signal.downsample": "graphc.compat.old_paths.downsample",
    "theano.tensor.nnet.conv": "graphc.compat.old_paths.nnet_conv",
    "theano.tensor.nnet.bn": "graphc.compat.old_paths.nnet_bn",
    "theano.tensor.nnet.neighbours": "graphc.compat.old_paths.nnet_neighbours",
    "theano.tensor.nnet.nnet": "graphc.tensor.nnet",
    "theano.tensor.shared_randomstreams": "graphc.tensor.shared_randomstreams",
}
"""Upstream module path -> graphc module, for paths that do not follow :data:`PACKAGES`."""


class NotProvidedError(Exception):
    """Base of the errors for upstream names graphc does not provide."""


class NotProvidedImportError(NotProvidedError, ModuleNotFoundError):
    """``import theano.X`` / ``from theano.X import Y`` for a module graphc lacks."""


class NotProvidedAttributeError(NotProvidedError, AttributeError):
    """``theano.X`` for a name graphc lacks."""


def _message(upstream: str) -> str:
    return f"graphc does not provide {upstream}"


def target_of(fullname: str) -> str | None:
    """The graphc module that stands for the upstream module ``fullname``, or None if not aliased.

    Parameters
    ----------
    fullname : str
        A dotted module path such as ``'theano.tensor.nnet'``.

    Returns
    -------
    str or None
    """
    if fullname in OVERRIDES:
        return OVERRIDES[fullname]
    top, _, rest = fullname.partition(".")
    if top not in PACKAGES:
        return None
    # the longest overridden parent decides (children of an override live under it)
    parts = fullname.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        parent = ".".join(parts[:cut])
        if parent in OVERRIDES:
            return OVERRIDES[parent] + "." + ".".join(parts[cut:])
    return PACKAGES[top] + ("." + rest if rest else "")


def _has_override_children(fullname: str) -> bool:
    prefix = fullname + "."
    return any(name.startswith(prefix) for name in OVERRIDES)


LASAGNE_ONLY = frozenset(
    {
        "layers",
        "init",
        "nonlinearities",
        "objectives",
        "regularization",
        "updates",
        "utils",
        "theano_extensions",
        "random",
    }
)
"""graphc's top-level modules that stand for Lasagne's (named ``lasagne.X`` in errors)."""


def upstream_names(real: str) -> list[str]:
    """The upstream names a graphc module stands for, for error messages (``graphc.layers`` -> ``lasagne.layers``).

    Parameters
    ----------
    real : str
        A graphc module name.

    Returns
    -------
    list of str
    """
    names = [name for name, target in OVERRIDES.items() if target == real]
    matching = [(alias, target) for alias, target in PACKAGES.items() if real == target or real.startswith(target + ".")]
    longest = max((len(target) for _, target in matching), default=0)
    for alias, target in matching:
        if len(target) != longest:  # graphc.theanets.X stands for theanets.X, not theano.theanets.X
            continue
        rest = real[len(target) :]
        first = rest[1:].partition(".")[0]
        if target == "graphc" and first and (first in LASAGNE_ONLY) != (alias == "lasagne"):
            continue
        names.append(alias + rest)
    return names


class _AliasLoader(importlib.abc.Loader):
    """Returns the already-imported graphc module: the alias is the same object."""

    def __init__(self, module: types.ModuleType, upstream: str) -> None:
        self.module = module
        self.upstream = upstream

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        self.real_spec = getattr(self.module, "__spec__", None)
        return self.module

    def exec_module(self, module: types.ModuleType) -> None:
        # the import system has just set __spec__ to the alias's; graphc's own relative imports compare it
        # with __package__ (ImportWarning "__package__ != __spec__.parent" on every call otherwise)
        if getattr(self, "real_spec", None) is not None:
            module.__spec__ = self.real_spec
        # an override child (theano.tensor.nnet.conv) needs its parent to look like a package
        if _has_override_children(self.upstream) and not hasattr(module, "__path__"):
            module.__path__ = []  # type: ignore[attr-defined]
        add_missing_hook(module, self.upstream)


_IMPORT_FROM = dis.opmap.get("IMPORT_FROM")


def _called_by_import_from(depth: int) -> bool:
    """Whether the frame ``depth`` levels up is executing ``from M import name`` (Python turns
    an AttributeError there into a generic ImportError, so ours is raised as an ImportError)."""
    try:
        frame = sys._getframe(depth + 1)
        return frame.f_lasti >= 0 and frame.f_code.co_code[frame.f_lasti] == _IMPORT_FROM
    except (ValueError, IndexError):  # pragma: no cover
        return False


def _pick(names: list[str], attr: str, depth: int) -> str:
    """The upstream spelling the caller's source line used, else all of them."""
    if len(names) > 1:
        try:
            frame = sys._getframe(depth + 1)
            line = linecache.getline(frame.f_code.co_filename, frame.f_lineno)
        except ValueError:  # pragma: no cover
            line = ""
        used = [n for n in names if f"{n.rpartition('.')[2]}.{attr}" in line or f"{n} import" in line]
        if len(used) == 1:
            return f"{used[0]}.{attr}"
    return " or ".join(f"{n}.{attr}" for n in names)


def add_missing_hook(module: types.ModuleType, upstream: str | None = None) -> None:
    """Give an aliased graphc module a module ``__getattr__``.

    It imports graphc submodules and overridden upstream children on first use
    (``theano.sandbox.cuda`` after ``import theano``), and names the upstream
    attribute graphc lacks (:class:`NotProvidedAttributeError`, or
    :class:`NotProvidedImportError` inside ``from M import name``).
    """
    names: list[str] = module.__dict__.setdefault("__graphc_upstream_names__", [])
    for name in [upstream] if upstream else upstream_names(module.__name__):
        if name not in names:
            names.append(name)
    if "__getattr__" in module.__dict__:
        return

    def __getattr__(attr: str) -> Any:  # noqa: N807  (the module hook's name)
        if attr.startswith("__") and attr.endswith("__"):
            raise AttributeError(f"module {module.__name__!r} has no attribute {attr!r}")
        for alias in names:
            if f"{alias}.{attr}" in OVERRIDES:
                try:
                    return importlib.import_module(f"{alias}.{attr}")
                except ImportError as exc:  # lasagne.layers.dnn: "requires GPU support"
                    if _called_by_import_from(1):
                        raise
                    # hasattr() and getattr(m, name, default) must see an AttributeError
                    raise NotProvidedAttributeError(f"{alias}.{attr}: {exc}") from exc
        if hasattr(module, "__path__") and not attr.startswith("_"):
            real = f"{module.__name__}.{attr}"
            try:
                found = importlib.util.find_spec(real)
            except (ImportError, ValueError):
                found = None
            if found is not None:
                sub = importlib.import_module(real)
                add_missing_hook(sub)
                return sub
        message = _message(_pick(names, attr, 1))
        if _called_by_import_from(1):
            raise NotProvidedImportError(message, name=attr)
        raise NotProvidedAttributeError(message)

    __getattr__.__graphc_hook__ = True  # type: ignore[attr-defined]
    module.__getattr__ = __getattr__  # type: ignore[method-assign]


def remove_missing_hooks() -> None:
    """Take the hooks :func:`add_missing_hook` added off every module."""
    for module in list(sys.modules.values()):
        hook = getattr(module, "__dict__", {}).get("__getattr__")
        if getattr(hook, "__graphc_hook__", False):
            del module.__getattr__
            module.__dict__.pop("__graphc_upstream_names__", None)


def hook_loaded_modules() -> None:
    """Add the missing-name hook to every graphc module already imported (outside ``graphc.compat``)."""
    for name, module in list(sys.modules.items()):
        if module is None or name.startswith("graphc.compat"):
            continue
        if name == "graphc" or name.startswith("graphc."):
            add_missing_hook(module)


class AliasFinder(importlib.abc.MetaPathFinder):
    """The ``sys.meta_path`` finder for the upstream packages in :data:`PACKAGES`."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        """A spec whose loader hands back graphc's module for ``fullname`` (None for other names)."""
        real = target_of(fullname)
        if real is None:
            return None
        try:
            found = importlib.util.find_spec(real)
        except ModuleNotFoundError:
            found = None
        if found is None:
            raise NotProvidedImportError(_message(fullname), name=fullname)
        module = importlib.import_module(real)
        is_pkg = hasattr(module, "__path__") or _has_override_children(fullname)
        spec = importlib.machinery.ModuleSpec(fullname, _AliasLoader(module, fullname), is_package=is_pkg)
        return spec


_FINDER = AliasFinder()


def install_finder() -> None:
    """Put the alias finder first on ``sys.meta_path`` (once)."""
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)
    hook_loaded_modules()


def uninstall_finder() -> None:
    """Remove the alias finder and the upstream names from ``sys.modules``."""
    while _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)
    remove_missing_hooks()
    for name in list(sys.modules):
        if name.partition(".")[0] in PACKAGES and not sys.modules[name].__name__.startswith(name.partition(".")[0]):
            del sys.modules[name]
