"""The op registry: every op graphc knows, defined once.

Each op declares how it infers its output types from its input types and
attributes (raising ``ValueError``/``TypeError`` at construction time when they
do not fit), and a numpy ``eval`` that is the reference for its values.  ONNX
lowerings live in :mod:`graphc.export` and gradient rules in ``graphc.train``,
each registered under the op's name; this module imports neither.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .types import TensorType

__all__ = ["OpDef", "register_op", "get_op", "all_ops", "infer_types", "infer_value", "OPS"]

InferFn = Callable[..., "list[TensorType]"]
EvalFn = Callable[..., "list[np.ndarray]"]
ValueFn = Callable[..., Any]


@dataclass
class OpDef:
    """One op of the IR.

    Attributes
    ----------
    name : str
        Registry key, also used by the lowering and gradient tables.
    infer : callable
        ``infer(input_types, **attrs) -> list[TensorType]``.
    eval : callable
        ``eval(input_arrays, **attrs) -> list[np.ndarray]``: the numpy reference.
    arity : int or None
        Number of inputs, or None for variadic ops.
    pure : bool
        False for ops whose result is not a function of their inputs (random
        sampling); passes must neither merge nor fold them.
    value : callable or None
        ``value(input_values, input_types, **attrs)``: the statically known value of a small
        integer result (shape arithmetic) from the inputs' known values, each a
        tuple of int/Dim/None entries for vectors, an int/Dim/None for scalars,
        or None when unknown.  Lets ``reshape(x, (n_batch, -1))`` keep
        ``n_batch`` symbolic.
    uses_values : bool
        When True, ``infer`` also receives ``values=`` (the inputs' known
        values, as for ``value``): reshape and friends need them.
    doc : str
        One line saying what the op computes.
    """

    name: str
    infer: InferFn
    eval: EvalFn
    arity: int | None = None
    pure: bool = True
    value: ValueFn | None = None
    uses_values: bool = False
    doc: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


OPS: dict[str, OpDef] = {}


def register_op(
    name: str,
    *,
    infer: InferFn,
    eval: EvalFn,
    arity: int | None = None,
    pure: bool = True,
    value: ValueFn | None = None,
    uses_values: bool = False,
    doc: str = "",
) -> OpDef:
    """Register an op under ``name`` and return its definition.

    Raises
    ------
    ValueError
        If an op of that name already exists.
    """
    if name in OPS:
        raise ValueError(f"op {name!r} is already registered")
    op = OpDef(
        name=name, infer=infer, eval=eval, arity=arity, pure=pure, value=value, uses_values=uses_values, doc=doc
    )
    OPS[name] = op
    return op


def get_op(name: str) -> OpDef:
    """Return the op registered under ``name``.

    Raises
    ------
    KeyError
        Naming the op and listing close matches.
    """
    try:
        return OPS[name]
    except KeyError:
        raise KeyError(f"no op named {name!r} is registered") from None


def all_ops() -> Sequence[OpDef]:
    """All registered ops, sorted by name (loads the standard op modules)."""
    from . import ops  # noqa: F401  (registers the standard ops)

    return [OPS[k] for k in sorted(OPS)]


def infer_types(op: OpDef, types: Sequence[TensorType], values: Sequence[Any], attrs: dict[str, Any]) -> list[TensorType]:
    """Run ``op``'s type inference (passing known values when it uses them)."""
    if op.uses_values:
        return op.infer(list(types), values=list(values), **attrs)
    return op.infer(list(types), **attrs)


def infer_value(op: OpDef, types: Sequence[TensorType], values: Sequence[Any], attrs: dict[str, Any]) -> Any:
    """The statically known value of ``op``'s single output, or None."""
    if op.value is None:
        return None
    return op.value(list(values), list(types), **attrs)
