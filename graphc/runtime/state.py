"""Shared variables between calls: their values as ``OrtValue`` objects, their locks, their buffers.

Shared variables (parameters, optimizer state) live as ``OrtValue`` objects
owned by the runtime between calls; an update's output becomes the variable's
value without passing through numpy.  A call that reads or updates shared
variables holds their locks (:class:`Held`, taken in one global order) from
reading them to storing the updates.  On the IO-binding path each updated
variable has two device buffers written by turns (:func:`free_buffer`), so
the state is updated on the device without allocating.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import onnxruntime as ort

from ..ir.types import format_shape
from ..tensor.shared import SharedVariable

__all__ = ["Held", "state_locks", "as_ortvalue", "alloc", "check_updates", "free_buffer", "unalias", "ORT_ERRORS", "BOUND_ERRORS"]

# errors ONNX Runtime raises when a graph fails on particular inputs (bad reshape, index out of range...)
ORT_ERRORS: tuple[type[BaseException], ...] = tuple(
    getattr(ort.capi.onnxruntime_pybind11_state, name)
    for name in ("Fail", "InvalidArgument", "RuntimeException", "InvalidGraph")
    if hasattr(ort.capi.onnxruntime_pybind11_state, name)
)

# run_with_iobinding reports them as RuntimeError("Error in execution: ...")
BOUND_ERRORS = (*ORT_ERRORS, RuntimeError)


class Held:
    """Holds re-entrant locks, taken in the given (global) order, released in reverse."""

    __slots__ = ("locks", "held")

    def __init__(self, locks: list[Any]) -> None:
        self.locks = locks
        self.held: list[Any] = []

    def __enter__(self) -> None:
        for lock in self.locks:
            lock.acquire()
            self.held.append(lock)

    def __exit__(self, *exc: Any) -> None:
        for lock in reversed(self.held):
            lock.release()
        self.held.clear()


def state_locks(variables: Iterable[SharedVariable]) -> list[Any]:
    """The locks of ``variables``, each once, in one global order (by id).

    Every call of a stateful function holds the locks of all the shared variables it reads or
    updates: calls that touch a variable are serialized, and two functions sharing variables
    cannot deadlock.
    """
    locks = {id(var._lock): var._lock for var in variables}
    return [locks[k] for k in sorted(locks)]


def as_ortvalue(var: SharedVariable, device: str, device_id: int) -> ort.OrtValue:
    """The variable's value as an OrtValue on ``device``, converting (and keeping) it once."""
    value = var._storage()
    if isinstance(value, ort.OrtValue) and value.device_name().lower() == device:
        return value
    arr = value if isinstance(value, np.ndarray) else value.numpy()
    # on the CPU the OrtValue wraps (and keeps alive) the array's memory: no copy
    ov = ort.OrtValue.ortvalue_from_numpy(arr, device, device_id)
    var._store(ov)
    return ov


def alloc(var: SharedVariable, device: str, device_id: int) -> ort.OrtValue:
    """An uninitialized ``OrtValue`` of the variable's shape and dtype on ``device``."""
    return ort.OrtValue.ortvalue_from_shape_and_type(list(var.type.shape), np.dtype(var.dtype), device, device_id)


def check_updates(fn_name: str, targets: Sequence[SharedVariable], news: Sequence[ort.OrtValue]) -> None:
    """Refuse a step whose new values do not have their variables' shapes (before any is stored).

    Raises
    ------
    ValueError
        Naming the first variable whose update has another shape.
    """
    for var, new in zip(targets, news):
        shape = tuple(new.shape())
        if shape != var.type.shape:
            raise ValueError(
                f"{fn_name}: the update of {var!r} produced shape {shape}; expected "
                f"{format_shape(var.type.shape)}. No shared variable was changed."
            )


def free_buffer(var: SharedVariable, bufs: list[ort.OrtValue | None], device: str, device_id: int) -> ort.OrtValue:
    """The buffer a call writes the update of ``var`` into: the one of two it does not hold now."""
    current = var._storage()
    for i in (0, 1):
        if bufs[i] is current:
            if bufs[1 - i] is None:
                bufs[1 - i] = alloc(var, device, device_id)
            return bufs[1 - i]  # type: ignore[return-value]
    if bufs[0] is None:  # the first call: the value came from elsewhere (set_value, another function)
        bufs[0] = alloc(var, device, device_id)
    return bufs[0]


def unalias(buffers: list[list[ort.OrtValue | None]], outs: list[ort.OrtValue]) -> list[ort.OrtValue]:
    """Hand over to the caller the state buffers that outputs share memory with.

    Outputs that share memory with a state buffer (``outputs=[s]``) would change when the
    buffer is written again: those buffers are given up (the next call allocates), not reused.
    """
    owned = {b.data_ptr(): (bufs, i) for bufs in buffers for i, b in enumerate(bufs) if b is not None}
    for o in outs:
        hit = owned.get(o.data_ptr()) if o.tensor_size_in_bytes() else None
        if hit is not None:
            bufs, i = hit
            bufs[i] = None
    return outs
