"""Limits of ``graphc check``, ``run`` and ``bench``: model size, input memory, ``--timeout``.

A small file can ask for a great deal.  ONNX Runtime takes about 131 s and 1.4 GiB to
create a session for a chain of 10^6 one-input nodes (25 MB on disk); the ONNX checker
(full check) about 8 s and 0.8 GiB more, and ``onnx.reference`` 20 s and 0.9 GiB more:
4 GB in all for ``graphc check``.  So the commands refuse, before any of these steps, a
model with more nodes (subgraphs included) than ``--max-nodes`` (default
:data:`DEFAULT_MAX_NODES`, or ``GRAPHC_MAX_NODES``), with more initializers than a quarter
of that (:func:`max_initializers`: ONNX Runtime's session creation grows faster than
linearly with them), or whose estimated memory
(:data:`BYTES_PER_NODE` a node) is over the memory budget
(:func:`graphc.export.budget.memory_budget`, ``GRAPHC_MEMORY_BUDGET``).  Random inputs
are checked against the budget before they are drawn, naming the input and its shape.
"""

from __future__ import annotations

import math
import os
import stat
from typing import Any

from .errors import CLIError

__all__ = [
    "DEFAULT_MAX_NODES", "MAX_NODES_ENV", "BYTES_PER_NODE", "count_nodes", "count_file_nodes", "count_file_entries",
    "max_nodes", "max_initializers",
    "check_model_file", "check_model_size",
    "check_input_memory", "add_limit_arguments", "positive_seconds",
]

DEFAULT_MAX_NODES = 200_000
"""Nodes a model may have for ``check``/``run``/``bench`` (ONNX Runtime's session creation alone takes ~15 s at this size)."""

MAX_NODES_ENV = "GRAPHC_MAX_NODES"

BYTES_PER_NODE = {"run": 2048, "check": 4096}
"""Memory a node costs: an ONNX Runtime session (~1.4 KiB, measured on a chain of 10^6
nodes) and the model itself; ``check`` adds the full checker and ``onnx.reference``."""

STRING_BYTES = 64
"""Bytes counted for one element of a string input (a Python ``str`` and its pointer)."""


def positive_seconds(text: str) -> float:
    """argparse type of ``--timeout``: a positive number of seconds."""
    import argparse

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value > 0 or math.isinf(value):
        raise argparse.ArgumentTypeError(f"expected a positive, finite number of seconds, got {text!r}")
    return value


def _positive_int(text: str) -> int:
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def add_limit_arguments(p: Any) -> None:
    """``--timeout`` and ``--max-nodes`` of ``check``, ``run`` and ``bench``."""
    p.add_argument(
        "--timeout", type=positive_seconds, default=None, metavar="SECONDS",
        help="stop after SECONDS of wall-clock time (exit status 1); Ctrl-C stops a run too (exit status 130)",
    )
    p.add_argument(
        "--max-nodes", type=_positive_int, default=None, metavar="N",
        help=f"refuse models of more than N nodes, subgraphs included (default {MAX_NODES_ENV} or {DEFAULT_MAX_NODES:,})",
    )


def max_nodes(given: int | None = None) -> int:
    """``given``, else ``GRAPHC_MAX_NODES``, else :data:`DEFAULT_MAX_NODES`.

    Raises
    ------
    ValueError
        If ``GRAPHC_MAX_NODES`` is not a positive integer.
    """
    if given is not None:
        return given
    text = os.environ.get(MAX_NODES_ENV, "").strip()
    if not text:
        return DEFAULT_MAX_NODES
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"{MAX_NODES_ENV} must be a positive whole number of nodes, got {text!r}")
    return value


def count_nodes(graph: Any, stop_after: int | None = None) -> int:
    """Nodes of an ONNX graph, those of its subgraphs (``Loop``/``Scan``/``If`` bodies) included.

    Counting stops early once past ``stop_after``.
    """
    from onnx import AttributeProto

    total = 0
    stack = [graph]
    while stack:
        g = stack.pop()
        total += len(g.node)
        if stop_after is not None and total > stop_after:
            return total
        for node in g.node:
            for attr in node.attribute:
                if attr.type == AttributeProto.GRAPH:
                    stack.append(attr.g)
                elif attr.type == AttributeProto.GRAPHS:
                    stack.extend(attr.graphs)
    return total


def _varint(buf: Any, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def _fields(buf: Any, start: int, end: int) -> Any:
    """(field number, start, end) of the length-delimited fields of one protobuf message, others skipped."""
    pos = start
    while pos < end:
        tag, pos = _varint(buf, pos)
        kind = tag & 7
        if kind == 0:
            _, pos = _varint(buf, pos)
        elif kind == 1:
            pos += 8
        elif kind == 5:
            pos += 4
        elif kind == 2:
            size, pos = _varint(buf, pos)
            yield tag >> 3, pos, pos + size
            pos += size
        else:
            raise ValueError(f"wire type {kind}")
    if pos != end:
        raise ValueError("a field runs past its message")


def count_file_entries(path: Any, stop_after: int | None = None) -> tuple[int, int] | None:
    """The nodes and the initializers (sparse ones included) of an ``.onnx`` file's main graph,
    counted from its bytes without parsing the model (a scan of protobuf's wire format: each
    entry is skipped by its length).  Counting stops once either passes ``stop_after``.

    Returns None when the file is not a well-formed model (:func:`graphc.export.load` says why).
    """
    import mmap

    try:
        with open(path, "rb") as f:
            if os.fstat(f.fileno()).st_size == 0:
                return None
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
                nodes = inits = 0
                for field, start, end in _fields(buf, 0, len(buf)):
                    if field != 7:  # ModelProto.graph
                        continue
                    for inner, _, _ in _fields(buf, start, end):
                        nodes += inner == 1  # GraphProto.node
                        inits += inner in (5, 15)  # GraphProto.initializer, sparse_initializer
                        if stop_after is not None and max(nodes, inits) > stop_after:
                            return nodes, inits
                return nodes, inits
    except (OSError, ValueError, IndexError):
        return None


def count_file_nodes(path: Any, stop_after: int | None = None) -> int | None:
    """The nodes of an ``.onnx`` file's main graph (see :func:`count_file_entries`); None for a malformed file."""
    counts = count_file_entries(path, stop_after)
    return None if counts is None else counts[0]


def max_initializers(nodes_limit: int) -> int:
    """Initializers a model may have: a quarter of the node limit (50,000 by default).

    ONNX Runtime's session creation grows faster than linearly with them: measured here,
    0.3 s for 10,000 unused one-element initializers, 4.9 s for 40,000, 247 s for 200,000.
    """
    return max(nodes_limit // 4, 1)


def check_model_file(path: Any, command: str, limit: int | None = None) -> None:
    """Refuse an ``.onnx`` file whose main graph has more nodes than the limit, before it is loaded
    (loading and checking a million nodes takes longer than refusing them).

    Raises
    ------
    CLIError
        As :func:`check_model_size`.
    """
    most = max_nodes(limit)
    try:
        st = os.stat(path)
    except OSError:
        return
    if not stat.S_ISREG(st.st_mode) or st.st_size < most * 8:  # a node takes at least 8 bytes: fewer than the limit, whatever the file holds
        return
    counts = count_file_entries(path, stop_after=most)
    if counts is None:
        return
    n, inits = counts
    if n > most:
        raise _too_many(path, most, command)
    if inits > max_initializers(most):
        raise _too_many_initializers(path, max_initializers(most), command)
    from ..export.budget import check_bytes

    per_node = BYTES_PER_NODE["check" if command == "check" else "run"]
    check_bytes(n * per_node + 2 * st.st_size, f"graphc {command} of {path} ({n:,} nodes, {st.st_size:,} bytes)")


def _too_many(path: Any, most: int, command: str) -> CLIError:
    return CLIError(
        f"{path} has more than {most:,} nodes (subgraphs included), over the limit of {most:,} for graphc {command} "
        f"(ONNX Runtime needs minutes and gigabytes to load a million): give --max-nodes N or set {MAX_NODES_ENV} "
        "to allow more"
    )


def _too_many_initializers(path: Any, most: int, command: str) -> CLIError:
    return CLIError(
        f"{path} has more than {most:,} initializers, over the limit of {most:,} for graphc {command} (ONNX "
        f"Runtime needs minutes to load a few hundred thousand): the limit is a quarter of the node limit; give "
        f"--max-nodes N or set {MAX_NODES_ENV} to allow more"
    )


def check_model_size(model: Any, path: Any, command: str, limit: int | None = None) -> int:
    """Refuse a model too big for ``command`` (``'check'``, ``'run'`` or ``'bench'``) before any costly step.

    Returns
    -------
    int
        The model's node count.

    Raises
    ------
    CLIError
        Over the node limit, naming the model, its node count and how to allow more.
    graphc.export.budget.BudgetError
        When the estimated memory is over the memory budget.
    """
    from ..export.budget import check_bytes

    most = max_nodes(limit)
    n = count_nodes(model.graph, stop_after=most)
    if n > most:
        raise _too_many(path, most, command)
    if len(model.graph.initializer) + len(model.graph.sparse_initializer) > max_initializers(most):
        raise _too_many_initializers(path, max_initializers(most), command)
    per_node = BYTES_PER_NODE["check" if command == "check" else "run"]
    check_bytes(n * per_node + 2 * model.ByteSize(), f"graphc {command} of {path} ({n:,} nodes, {model.ByteSize():,} bytes)")
    return n


def element_bytes(dtype: Any) -> int:
    """Bytes one element of ``dtype`` takes (strings: :data:`STRING_BYTES`)."""
    return STRING_BYTES if dtype.kind in "OUS" else max(dtype.itemsize, 1)


def check_input_memory(name: str, shape: tuple[int, ...], dtype: Any, note: str = "") -> None:
    """Refuse an input whose ``shape`` x itemsize is over the memory budget, before it is allocated.

    Raises
    ------
    graphc.export.budget.BudgetError
        Naming the input, its shape and dtype (and ``note``, such as ``'; with --dim n=9'``).
    """
    from ..export.budget import check_bytes

    count = math.prod(shape)
    check_bytes(count * element_bytes(dtype), f"input {name!r} of shape {tuple(shape)} ({dtype}, {count:,} elements{note})")
