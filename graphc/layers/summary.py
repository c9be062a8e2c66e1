"""Keras-style summaries of networks: one row per layer with its output shape and parameter count."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["summary", "format_table"]


def _shape(shape: Any) -> str:
    if shape is None:
        return "?"
    if isinstance(shape, list):
        return ", ".join(_shape(s) for s in shape)
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def format_table(rows: Sequence[Sequence[str]], header: Sequence[str], footer: Sequence[str] = ()) -> str:
    """A plain-text table: columns padded to their widest cell, a rule under the header and above the footer."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()

    rule = "-" * (sum(widths) + 2 * (len(widths) - 1))
    out = [line(header), rule, *(line(r) for r in rows), rule, *footer]
    return "\n".join(out)


def _count(params: Sequence[Any]) -> int:
    return int(sum(int(np.prod(p.get_value().shape)) for p in params))


def summary(layer_or_layers: Any) -> str:
    """A table of every layer under the given output layer(s), in topological order.

    Columns: the layer (class and name), its output shape, its own parameter
    count, and the layers it reads.  The footer gives the totals (trainable
    and all parameters).

    Parameters
    ----------
    layer_or_layers : Layer or list of Layer

    Returns
    -------
    str
    """
    from .base import MergeLayer
    from .helper import get_all_layers, get_all_params

    layers = get_all_layers(layer_or_layers)
    names = {id(lyr): lyr.name or f"{type(lyr).__name__}#{i}" for i, lyr in enumerate(layers)}
    rows = []
    for lyr in layers:
        parents = lyr.input_layers if isinstance(lyr, MergeLayer) else [getattr(lyr, "input_layer", None)]
        reads = ", ".join(names[id(p)] for p in parents if p is not None and id(p) in names) or "-"
        label = f"{type(lyr).__name__} {lyr.name!r}" if lyr.name else names[id(lyr)]
        rows.append([label, _shape(lyr.output_shape), f"{_count(lyr.get_params()):,}", reads])
    total = _count(get_all_params(layer_or_layers))
    trainable = _count(get_all_params(layer_or_layers, trainable=True))
    footer = [f"parameters: {total:,} ({trainable:,} trainable) in {len(layers)} layers"]
    return format_table(rows, ["layer", "output shape", "params", "reads"], footer)
