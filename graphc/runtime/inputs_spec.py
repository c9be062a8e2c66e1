"""Theano's ``theano.In``: function inputs with a name, a default value or an update.

``graphc.function([x, In(y, value=2.0), In(z, name='scale', value=1.0)], ...)``
compiles a function whose trailing inputs may be omitted (their defaults are
used) and passed by name as keyword arguments, as in Theano.

An ``In`` whose ``value`` is a shared variable, or that has an ``update``, or
that is ``implicit=True``, is not an argument of the function: its value is
held between calls in a shared variable (``value``, or a new one holding
``value``) and replaced by ``update`` after every call, as Theano's stateful
inputs. (Theano still accepted an explicit value for an input with an update
that is not implicit; graphc makes it implicit.)

``mutable``, ``borrow``, ``strict``, ``allow_downcast`` and ``autoname`` are
accepted for compatibility: graphc never writes into its inputs and always
casts them as :func:`graphc.function` documents.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..tensor.shared import SharedVariable, shared
from ..tensor.variable import Variable

__all__ = ["In", "Param", "Out", "InputsSpec", "unpack_inputs", "unwrap_outputs"]

_MISSING = object()


class In:
    """A function input with options (Theano's ``theano.In``).

    Parameters
    ----------
    variable : Variable
        The symbolic input.
    name : str, optional
        The keyword under which callers may pass it (default: the variable's name).
    value : array_like or SharedVariable, optional
        The default used when a call omits the input; a shared variable makes
        the input implicit and reads its value.
    update : Variable, optional
        The input's value for the next call, computed from this call's inputs
        (the input becomes implicit; needs ``value``).
    mutable, borrow, strict, allow_downcast, autoname, shared
        Accepted for compatibility; no effect.
    implicit : bool, optional
        True: the input is not an argument; it always takes ``value``.
    """

    def __init__(
        self,
        variable: Variable,
        name: str | None = None,
        value: Any = None,
        update: Any = None,
        mutable: bool | None = None,
        strict: bool = False,
        allow_downcast: bool | None = None,
        autoname: bool = True,
        implicit: bool | None = None,
        borrow: bool | None = None,
        shared: bool = False,
    ) -> None:
        if not isinstance(variable, Variable):
            raise TypeError(f"In() needs a symbolic variable, got {type(variable).__name__} {variable!r}")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"In() name must be a str, got {type(name).__name__}")
        if update is not None and value is None:
            raise ValueError(f"In({variable!r}): an update needs an initial value (value=...)")
        if implicit and value is None:
            raise ValueError(f"In({variable!r}): an implicit input needs a value (value=...)")
        self.variable = variable
        self.name = name if name is not None else (variable.name if autoname else None)
        self.value = value
        self.update = update
        self.mutable, self.strict, self.allow_downcast, self.borrow = mutable, strict, allow_downcast, borrow
        self.implicit = bool(implicit) or isinstance(value, SharedVariable) or update is not None

    def __repr__(self) -> str:
        return f"In({self.variable!r}, name={self.name!r}, value={self.value!r})"


@dataclass
class InputsSpec:
    """The explicit inputs' keywords and defaults; fills the arguments of a call."""

    names: list[str | None]
    defaults: list[Any]

    def fill(self, args: tuple[Any, ...], kwargs: dict[str, Any], fn_name: str) -> tuple[Any, ...]:
        """All the inputs by position: ``args``, then ``kwargs`` by name, then the defaults.

        Raises
        ------
        TypeError
            For an unknown keyword, an input given twice, too many arguments or a
            missing input that has no default.
        """
        n = len(self.names)
        if len(args) > n:
            raise TypeError(f"{fn_name}: takes {n} input(s) but {len(args)} were given")
        values = list(args) + [_MISSING] * (n - len(args))
        for key, val in kwargs.items():
            if key not in self.names:
                known = [k for k in self.names if k]
                raise TypeError(f"{fn_name}: unexpected input {key!r}; inputs are {known}")
            i = self.names.index(key)
            if i < len(args):
                raise TypeError(f"{fn_name}: input {key!r} given both by position and by name")
            values[i] = val
        for i, v in enumerate(values):
            if v is _MISSING and self.defaults[i] is not _MISSING:
                values[i] = self.defaults[i]
        missing = [self.names[i] or f"#{i}" for i, v in enumerate(values) if v is _MISSING]
        if missing:
            raise TypeError(f"{fn_name}: missing input(s) {', '.join(missing)} (no default value)")
        return tuple(values)


def unpack_inputs(
    inputs: Any, givens: Any, updates: Any
) -> tuple[Any, Any, Any, InputsSpec | None]:
    """Replace ``In`` objects by their variables for :func:`graphc.function`.

    Returns
    -------
    inputs, givens, updates, spec
        The plain input variables; the givens and updates extended for the
        implicit inputs; the keyword/default spec (None when no ``In`` is given,
        so plain functions are unchanged).
    """
    if not isinstance(inputs, (list, tuple)) or not any(isinstance(i, In) for i in inputs):
        return inputs, givens, updates, None
    plain: list[Any] = []
    names: list[str | None] = []
    defaults: list[Any] = []
    new_givens: list[tuple[Any, Any]] = []
    new_updates: list[tuple[Any, Any]] = []
    for item in inputs:
        if not isinstance(item, In):
            plain.append(item)
            names.append(getattr(item, "name", None))
            defaults.append(_MISSING)
            continue
        if item.implicit:
            store = item.value if isinstance(item.value, SharedVariable) else shared(
                item.value, name=item.name, strict=True, dtype=item.variable.dtype
            )
            new_givens.append((item.variable, store))
            if item.update is not None:
                new_updates.append((store, item.update))
            continue
        plain.append(item.variable)
        names.append(item.name)
        defaults.append(_MISSING if item.value is None else item.value)
    if new_givens:
        givens = _pairs(givens) + new_givens
    if new_updates:
        updates = _pairs(updates) + new_updates
    return plain, givens, updates, InputsSpec(names, defaults)


def _pairs(items: Any) -> list[tuple[Any, Any]]:
    if items is None:
        return []
    if isinstance(items, Mapping):
        return list(items.items())
    if isinstance(items, Sequence) and len(items) == 2 and isinstance(items[0], Variable) and not isinstance(items[1], tuple):
        return [tuple(items)]  # type: ignore[list-item]
    return [tuple(p) for p in items]  # type: ignore[misc]


def Param(  # noqa: N802  (Theano 0.x's name)
    variable: Variable,
    default: Any = None,
    name: str | None = None,
    mutable: bool = False,
    strict: bool = False,
    allow_downcast: bool | None = None,
    implicit: bool | None = None,
    borrow: bool | None = None,
) -> In:
    """Theano 0.x's ``theano.Param(variable, default, name)``: an :class:`In` whose ``value`` is ``default``."""
    return In(
        variable, name=name, value=default, mutable=mutable, strict=strict, allow_downcast=allow_downcast,
        implicit=implicit, borrow=borrow,
    )  # fmt: skip


class Out:
    """Theano's ``theano.Out(variable, borrow=False)``: a function output with options.

    graphc's outputs are always fresh arrays, so ``borrow`` changes nothing; ``graphc.function``
    takes an ``Out`` wherever it takes an output variable.
    """

    def __init__(self, variable: Variable, borrow: bool = False) -> None:
        if not isinstance(variable, Variable):
            raise TypeError(f"Out() needs a symbolic variable, got {type(variable).__name__} {variable!r}")
        self.variable = variable
        self.borrow = borrow

    def __repr__(self) -> str:
        return f"Out({self.variable!r})"



def unwrap_outputs(outputs: Any) -> Any:
    """``outputs`` with each :class:`Out` replaced by its variable (the list, single or dict form kept)."""
    if isinstance(outputs, Out):
        return outputs.variable
    if isinstance(outputs, (list, tuple)):
        return type(outputs)(o.variable if isinstance(o, Out) else o for o in outputs)
    return outputs
