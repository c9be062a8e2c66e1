"""Walking ONNX protobuf messages: every message of given types, wherever the schema lets it sit.

The fields followed are derived from the protobuf descriptors (every field whose
type can contain a wanted message, directly or through other messages), so a
field that holds a tensor (a sparse initializer, a function's attribute default,
a training graph) cannot be forgotten by a hand-written list.
:mod:`graphc.export.safety` walks every ``TensorProto`` of a model this way.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any, Optional

import onnx
from google.protobuf.descriptor import Descriptor
from onnx import TensorProto

__all__ = ["iter_messages", "iter_tensors", "walk", "label", "Where"]


@functools.cache
def _paths_to(targets: frozenset[str]) -> dict[str, tuple[tuple[str, bool], ...]]:
    """For every message type that can contain a message of the ``targets`` types: the names of the fields that lead to one."""
    types: dict[str, Descriptor] = {}
    todo = [onnx.ModelProto.DESCRIPTOR]
    while todo:
        d = todo.pop()
        if d.full_name in types:
            continue
        types[d.full_name] = d
        todo.extend(f.message_type for f in d.fields if f.message_type is not None)
    reaches = set(targets)
    changed = True
    while changed:  # a fixed point: message types that hold, directly or not, a target
        changed = False
        for name, d in types.items():
            if name not in reaches and any(f.message_type is not None and f.message_type.full_name in reaches for f in d.fields):
                reaches.add(name)
                changed = True
    return {
        name: tuple(
            (f.name, _is_repeated(f)) for f in d.fields if f.message_type is not None and f.message_type.full_name in reaches
        )
        for name, d in types.items()
        if name in reaches
    }


def _is_repeated(field: Any) -> bool:
    repeated = getattr(field, "is_repeated", None)  # protobuf >= 5; older ones have only the label
    return bool(repeated) if repeated is not None else field.label == field.LABEL_REPEATED


Where = Optional[tuple[Any, str, Optional[int]]]  # noqa: UP007, UP045 - a runtime alias; (parent, field, index), formatted only in messages


def label(where: Where) -> str:
    """The path a :func:`walk` gives, as text: ``graph.node[3].attribute[0].t`` (``model`` for the root)."""
    parts: list[str] = []
    while where is not None:
        where, name, index = where
        parts.append(name if index is None else f"{name}[{index}]")
    return ".".join(reversed(parts)) or "model"


def walk(root: Any, *targets: str) -> Iterator[tuple[Where, Any]]:
    """Every message of the ``targets`` types (full names) in ``root``, depth first in field order.

    Yields ``(where, message)``; ``where`` is a cheap nested tuple ``(parent, field, index)``
    (None for the root), turned into text by :func:`label` only when a message needs it.
    """
    wanted = frozenset(targets)
    follow = _paths_to(wanted)
    stack: list[tuple[Where, Any]] = [(None, root)]
    while stack:
        where, msg = stack.pop()
        kind = msg.DESCRIPTOR.full_name
        if kind in wanted:
            yield where, msg
        fields = follow.get(kind)
        if not fields:
            continue
        found: list[tuple[Where, Any]] = []
        for name, repeated in fields:  # only the fields that can lead to a target (a node: its attributes)
            if repeated:
                value = getattr(msg, name)
                if value:
                    found.extend(((where, name, i), m) for i, m in enumerate(value))
            elif msg.HasField(name):
                found.append(((where, name, None), getattr(msg, name)))
        stack.extend(reversed(found))


def iter_messages(root: Any, target: type[Any]) -> Iterator[tuple[str, Any]]:
    """Every ``target`` message inside ``root`` (an ONNX protobuf message), with where it sits.

    The fields followed are derived from the protobuf descriptors: every field
    whose type can contain a ``target``, directly or through other messages.

    Parameters
    ----------
    root : protobuf message
        Usually an ``onnx.ModelProto``.
    target : protobuf message class
        ``onnx.TensorProto``, ``onnx.GraphProto``...; ``root`` itself is yielded when it is one.

    Yields
    ------
    (str, message)
        A path such as ``graph.node[3].attribute[0].g.initializer[1]``, and the message.
    """
    for where, msg in walk(root, target.DESCRIPTOR.full_name):
        yield label(where), msg


def iter_tensors(model: Any) -> Iterator[tuple[str, TensorProto]]:
    """Every ``TensorProto`` stored anywhere in ``model``, with where it sits (see :func:`iter_messages`)."""
    return iter_messages(model, TensorProto)
