"""``THEANO_FLAGS``: Theano's comma-separated ``name=value`` settings, the ones graphc honours.

``floatX`` sets :data:`graphc.config`'s ``floatX``; ``device`` is accepted (graphc's
``config.device`` stays ``'cpu'`` for Theano programs: ONNX Runtime's device is chosen by
``GRAPHC_DEVICE``); ``mode`` must be one graphc can honour (``DebugMode`` is refused);
other plain names are stored on ``config`` as strings and change nothing.  Settings
programs commonly read (``config.mode``, ``config.compute_test_value``...) get Theano's
defaults, :data:`THEANO_DEFAULTS`.  When ``floatX`` is absent, graphc's default (``GRAPHC_FLOATX``,
else float32) stays.
"""

from __future__ import annotations

import os

__all__ = ["parse_theano_flags", "apply_theano_flags"]


def parse_theano_flags(text: str | None = None) -> dict[str, str]:
    """Parse ``THEANO_FLAGS`` text (``'floatX=float64,device=cpu'``) into a dict.

    Parameters
    ----------
    text : str, optional
        Defaults to the ``THEANO_FLAGS`` environment variable.

    Returns
    -------
    dict of str to str

    Raises
    ------
    ValueError
        For an item without ``=``.
    """
    if text is None:
        text = os.environ.get("THEANO_FLAGS", "")
    flags: dict[str, str] = {}
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        name, eq, value = item.partition("=")
        if not eq:
            raise ValueError(f"THEANO_FLAGS: {item!r} is not of the form name=value")
        flags[name.strip()] = value.strip()
    return flags


def apply_theano_flags(text: str | None = None) -> dict[str, str]:
    """Apply ``THEANO_FLAGS`` to :data:`graphc.config` and return the parsed flags.

    Parameters
    ----------
    text : str, optional
        Defaults to the ``THEANO_FLAGS`` environment variable.

    Returns
    -------
    dict of str to str
    """
    from ..config import config

    flags = parse_theano_flags(text)
    if flags.get("mode") is not None:
        from ..compile.mode import get_mode

        get_mode(flags["mode"])  # DebugMode, NanGuardMode...: refused here, clearly, before the program runs
    if "floatX" in flags:
        config.floatX = flags["floatX"]
    for name, default in THEANO_DEFAULTS.items():
        if not hasattr(config, name):
            setattr(config, name, default)
    for name, value in flags.items():
        # plain settings only: graphc's own (floatX...) are properties with checks
        if name not in ("floatX", "device", "init_gpu_device") and "." not in name and name.isidentifier():
            if not isinstance(getattr(type(config), name, None), property):
                setattr(config, name, value)
    return flags


THEANO_DEFAULTS: dict[str, object] = {
    "device": "cpu",
    "init_gpu_device": "",
    "mode": "FAST_RUN",
    "optimizer": "fast_run",
    "linker": "cvm",
    "compute_test_value": "off",
    "exception_verbosity": "low",
    "warn_float64": "ignore",
    "allow_gc": True,
    "openmp": False,
    "cast_policy": "custom",
    "on_unused_input": "raise",
    "profile": False,
}
"""Theano ``config`` settings programs commonly read, with Theano's defaults (informational
in graphc: only ``floatX`` changes what graphc does)."""
