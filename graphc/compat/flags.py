"""``THEANO_FLAGS``: Theano's comma-separated ``[section.]name=value`` settings.

Parsed as Theano parses them (``shlex``: a value may be quoted to hold a comma).  Every
Theano 1.0 setting (:data:`graphc.compat.theano_config.SETTINGS`) is then readable and
settable on :data:`graphc.config`, dotted ones as sections (``config.dnn.enabled``,
``config.lib.cnmem``, ``config.warn.round``), each checked and converted as Theano did
(``'False'`` is False, an enum outside its options is a ``ValueError`` naming the flag).
``floatX`` (``float64``, or ``64``) sets graphc's float dtype; ``device`` is checked and
accepted, but graphc's ``config.device`` stays ``'cpu'`` (ONNX Runtime's device is chosen by
``GRAPHC_DEVICE``); ``mode`` must be one graphc can honour (``DebugMode`` is refused); the
other settings change nothing in graphc.  As in Theano, a flag without a value and a flag
Theano does not know are ignored with a warning.  When ``floatX`` is absent, graphc's
default (``GRAPHC_FLOATX``, else float32) stays.
"""

from __future__ import annotations

import os
import shlex
import warnings
from typing import Any

from .theano_config import SETTINGS, ConfigSection, Setting, install_settings

__all__ = ["parse_theano_flags", "apply_theano_flags", "TheanoConfigWarning"]


class TheanoConfigWarning(Warning):
    """A ``THEANO_FLAGS`` entry that is ignored (Theano's warning class of that name)."""


# graphc's own Config attributes with Theano's checks (their values live on graphc's Config)
_OWN: dict[str, Setting] = {
    "floatX": Setting("enum", "float64", ("float64", "float32", "float16")),
    "compute_test_value": Setting("enum", "off", ("off", "ignore", "warn", "raise", "pdb")),
}
_FLOATX_SHORT = {"16": "float16", "32": "float32", "64": "float64"}


def parse_theano_flags(text: str | None = None) -> dict[str, str]:
    """Parse ``THEANO_FLAGS`` text (``'floatX=float64,dnn.enabled=False'``) into a dict, as Theano does.

    Entries are split at commas outside quotes; a later value for a name replaces an
    earlier one; an entry without ``=`` is ignored with a :class:`TheanoConfigWarning`.

    Parameters
    ----------
    text : str, optional
        Defaults to the ``THEANO_FLAGS`` environment variable.

    Returns
    -------
    dict of str to str
    """
    if text is None:
        text = os.environ.get("THEANO_FLAGS", "")
    splitter = shlex.shlex(text, posix=True)
    splitter.whitespace = ","
    splitter.whitespace_split = True
    flags: dict[str, str] = {}
    try:
        items = list(splitter)
    except ValueError as exc:  # an unclosed quote
        raise ValueError(f"THEANO_FLAGS: cannot parse {text!r}: {exc}") from None
    for item in items:
        item = item.strip()
        if not item:
            continue
        name, eq, value = item.partition("=")
        if not eq:
            warnings.warn(f"Config key '{name}' has no value, ignoring it", TheanoConfigWarning, stacklevel=2)
            continue
        flags[name.strip()] = value.strip()
    return flags


def _check_device(name: str, value: str) -> None:
    """Theano's device check: ``cpu`` (``''`` for init_gpu_device) or a name starting gpu, cuda or opencl."""
    default = "cpu" if name == "device" else ""
    if value != default and not value.startswith(("gpu", "cuda", "opencl")):
        raise ValueError(
            f'Invalid value ("{value}") for configuration variable "{name}". '
            f'Valid options start with one of "{default}", "gpu", "opencl", "cuda"'
        )


def _set(config: Any, name: str, value: str) -> bool:
    """Set one flag on ``config``; False when Theano has no such setting."""
    if name in ("device", "init_gpu_device"):
        _check_device(name, value)  # accepted; graphc's device is chosen by GRAPHC_DEVICE
        return True
    if name in _OWN:
        if name == "floatX":
            value = _FLOATX_SHORT.get(value, value)
        setattr(config, name, _OWN[name].convert(value, name))
        return True
    section, _, option = name.rpartition(".")
    if section == "warn":
        warn = config.warn
        if option != "ignore_bug_before" and option not in vars(warn):
            return False
        setattr(warn, option, value)
        return True
    setting = SETTINGS.get(name)
    if setting is None:
        return False
    if not section:
        setattr(config, name, setting.convert(value, name))
        return True
    holder: Any = config
    for part in section.split("."):
        holder = getattr(holder, part)
    assert isinstance(holder, ConfigSection)
    setattr(holder, option, value)
    return True


def apply_theano_flags(text: str | None = None, config: Any = None) -> dict[str, str]:
    """Apply ``THEANO_FLAGS`` to :data:`graphc.config` and return the parsed flags.

    Theano's settings graphc lacks are added first, at Theano's defaults.

    Parameters
    ----------
    text : str, optional
        Defaults to the ``THEANO_FLAGS`` environment variable.
    config : graphc.config.Config, optional
        Defaults to :data:`graphc.config`.

    Returns
    -------
    dict of str to str

    Raises
    ------
    ValueError
        For a value Theano would refuse (``floatX=float128``, ``dnn.enabled=maybe``),
        naming the flag.
    NotImplementedError
        For a ``mode`` graphc cannot honour (``DebugMode``...).
    """
    if config is None:
        from ..config import config
    flags = parse_theano_flags(text)
    install_settings(config)
    if flags.get("mode") is not None:
        from ..compile.mode import get_mode

        SETTINGS["mode"].convert(flags["mode"], "mode")
        get_mode(flags["mode"])  # DebugMode, NanGuardMode...: refused here, clearly, before the program runs
    for name, value in flags.items():
        if not _set(config, name, value):
            warnings.warn(f"Theano does not recognise this flag: {name}", stacklevel=2)
    return flags
