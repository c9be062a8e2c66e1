"""Helpers shared by layers, initializers and updates (Lasagne's ``lasagne.utils``)."""

from __future__ import annotations

import inspect
import numbers
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from .config import config
from .tensor.basic import as_tensor_variable
from .tensor.shared import SharedVariable, shared
from .tensor.variable import Variable

__all__ = [
    "int_types",
    "inspect_kwargs",
    "floatX",
    "shared_empty",
    "as_theano_expression",
    "collect_shared_vars",
    "one_hot",
    "unique",
    "as_tuple",
    "compute_norms",
    "create_param",
    "unroll_scan",
]


int_types = (numbers.Integral, np.integer)
"""The types Lasagne accepts as integers (``isinstance(n, int_types)``)."""


def inspect_kwargs(func: Callable[..., Any]) -> list[str]:
    """The names of ``func``'s optional keyword arguments (those with a default), as Lasagne's helper gives them.

    Raises
    ------
    TypeError
        If ``func`` has no signature to inspect (as ``inspect.signature`` raises).
    """
    try:
        sig = inspect.signature(func)
    except ValueError as exc:  # builtins without a signature: Lasagne's callers catch TypeError
        raise TypeError(f"inspect_kwargs: cannot inspect {func!r}: {exc}") from None
    return [
        p.name for p in sig.parameters.values()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.default is not p.empty
    ]  # fmt: skip


def floatX(arr: Any) -> np.ndarray:  # noqa: N802  (Lasagne's name)
    """``arr`` as a numpy array of ``config.floatX``."""
    return np.asarray(arr, dtype=config.floatX)


def shared_empty(dim: int = 2, dtype: Any = None) -> SharedVariable:
    """A shared variable of ``dim`` axes of size 1 holding zeros."""
    return shared(np.zeros((1,) * dim, dtype=dtype or config.floatX))


def as_theano_expression(value: Any) -> Variable:
    """``value`` as a symbolic expression (a constant for numbers and arrays).

    Raises
    ------
    TypeError
        If it cannot be one.
    """
    try:
        return as_tensor_variable(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"Input of type {type(value).__name__} is not a symbolic expression or an array") from exc


def collect_shared_vars(expressions: Any) -> list[SharedVariable]:
    """The shared variables that ``expressions`` depend on, deduplicated, in first-use order."""
    from .ir.build import collect_leaves

    if isinstance(expressions, Variable):
        expressions = [expressions]
    return [v for v in collect_leaves(list(expressions)) if isinstance(v, SharedVariable)]


def one_hot(x: Any, m: Any = None) -> Variable:
    """One-hot rows (``config.floatX``) for the integer vector ``x``, ``m`` classes (default ``max(x) + 1``)."""
    from . import tensor as T

    v = as_tensor_variable(x)
    if m is None:
        m = T.cast(T.max(v) + 1, "int64")
    return T.cast(T.eq(v.dimshuffle(0, "x"), T.arange(m).dimshuffle("x", 0)), config.floatX)


def unique(items: Iterable[Any]) -> list[Any]:
    """``items`` without repeats, first occurrence kept (identity for unhashable items)."""
    seen: set[int] = set()
    out = []
    for item in items:
        key = id(item)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def as_tuple(x: Any, N: int, t: type | tuple[type, ...] | None = None) -> tuple[Any, ...]:
    """``x`` repeated ``N`` times, or ``x`` itself when it is an iterable of length ``N``.

    Raises
    ------
    ValueError
        For an iterable of another length.
    TypeError
        When ``t`` is given and an element is not of that type.
    """
    try:
        X = tuple(x)
    except TypeError:
        X = (x,) * N
    if len(X) != N:
        raise ValueError(f"expected a single value or an iterable of length {N}, got {x!r} instead")
    if t is not None and not all(isinstance(v, t) for v in X):
        names = t.__name__ if isinstance(t, type) else ", ".join(s.__name__ for s in t)
        raise TypeError(f"expected a single value or an iterable of {names} of length {N}, got {x!r} instead")
    return X


def compute_norms(array: Any, norm_axes: Sequence[int] | None = None) -> Any:
    """L2 norms of a weight array over ``norm_axes`` (default: all but the output axis).

    Parameters
    ----------
    array : numpy.ndarray or Variable
        The result has the same kind: an array for an array, an expression for an expression.
    norm_axes : sequence of int, optional
        The axes summed over. By default none for 1-d (the absolute values), the
        input axis 0 for 2-d (dense weights), and all but axis 0 for 3-d to 5-d
        (convolution filters).

    Returns
    -------
    numpy.ndarray or Variable

    Raises
    ------
    RuntimeError
        For an input that is neither a numpy array nor a symbolic variable
        (``Unsupported type``, as Lasagne).
    ValueError
        For arrays of other than 1..5 dims without explicit ``norm_axes``.
    """
    if not isinstance(array, (np.ndarray, Variable)):
        raise RuntimeError(
            f"compute_norms: Unsupported type {type(array).__name__}. Only theano variables and numpy arrays are "
            "supported"
        )
    ndim = array.ndim
    if norm_axes is not None:
        sum_over = tuple(norm_axes)
    elif ndim == 1:
        sum_over = ()
    elif ndim == 2:
        sum_over = (0,)
    elif ndim in (3, 4, 5):
        sum_over = tuple(range(1, ndim))
    else:
        raise ValueError(f"compute_norms: Unsupported tensor dimensionality {ndim}. Must specify `norm_axes`")
    if isinstance(array, Variable):
        from . import tensor as T

        return T.sqrt(T.sum(array**2, axis=sum_over)) if sum_over else abs(array)
    return np.sqrt(np.sum(array**2, axis=sum_over)) if sum_over else np.abs(array)


def create_param(spec: Any, shape: Sequence[int], name: str | None = None) -> Variable:
    """A parameter variable of ``shape`` from a spec (Lasagne's ``create_param``).

    Parameters
    ----------
    spec : SharedVariable, Variable, numpy.ndarray, number, or callable
        A symbolic variable is used unchanged (so ``W=l1.W`` shares weights;
        its number of dims must match); an array or a number must have
        exactly ``shape`` and becomes a shared variable (float64 as
        ``config.floatX``, as :func:`graphc.shared` does; other dtypes kept); a
        callable is called with ``shape`` and may return any of these (an
        array, a shared variable, or an expression such as ``2 * W``).
    shape : tuple of int
        All sizes must be positive.
    name : str, optional
        Name of a newly created shared variable (and of an unnamed given one).

    Returns
    -------
    Variable
        A new shared variable (axes of size 1 broadcastable, as in Lasagne),
        or the given variable itself.

    Raises
    ------
    ValueError
        For a non-positive size or a value of the wrong shape or rank.
    TypeError
        For a spec (or a callable's result) of another kind.
    """
    shape = tuple(shape)
    if any(not isinstance(d, (int, np.integer)) or d <= 0 for d in shape):
        raise ValueError(
            f"Cannot create param with a non-positive shape dimension. Tried to create param with "
            f"shape={shape!r}, name={name!r}"
        )
    prefix = f"cannot initialize parameter {name!r}: " if name else "cannot initialize parameter: "
    from_callable = callable(spec) and not isinstance(spec, Variable)
    if from_callable:
        source = spec
        spec = spec(shape)

    def the(kind: str) -> str:
        return prefix + (f"the {kind} returned by the callable {source!r}" if from_callable else f"the provided {kind}")

    if isinstance(spec, (numbers.Number, np.generic)) and not isinstance(spec, bool):
        spec = np.asarray(spec)
    if isinstance(spec, np.ndarray):
        if spec.shape != shape:
            raise ValueError(f"{the('numpy array')} has shape {spec.shape}, should be {shape}")
        if spec.dtype.kind not in "biuf":
            raise TypeError(f"{the('numpy array')} has dtype {spec.dtype}; expected a numeric array")
        # as graphc.shared: float64 becomes config.floatX (Theano kept it, under its float64 default; float64
        # weights in a float32 graph would upcast it, and stop recurrences); sizes of 1 broadcast, as in Lasagne
        return shared(spec, name=name, broadcastable=tuple(d == 1 for d in shape))
    if isinstance(spec, Variable):
        if spec.ndim != len(shape):
            raise ValueError(f"{the('Theano variable')} {spec!r} has {spec.ndim} dimensions, should be {len(shape)}")
        static = spec.type.shape
        if all(isinstance(d, int) for d in static) and tuple(static) != shape:
            raise ValueError(f"{the('Theano variable')} {spec!r} has shape {tuple(static)}, should be {shape}")
        if not spec.name:
            spec.name = name
        return spec
    if from_callable:
        raise TypeError(f"{the('value')} ({spec!r:.80}) is not a numpy array or a Theano expression")
    raise TypeError(
        f"{the('value')} of type {type(spec).__name__} must be a numpy array, a Theano expression, or a callable "
        "(such as a graphc.init initializer)"
    )


def unroll_scan(
    fn: Callable[..., Any],
    sequences: Any,
    outputs_info: Sequence[Any],
    non_sequences: Sequence[Any],
    n_steps: int,
    go_backwards: bool = False,
) -> list[Variable]:
    """Unroll a recurrence into a plain graph (Lasagne's ``unroll_scan``).

    Same arguments as :func:`graphc.scan`, but ``n_steps`` must be a Python int
    and every ``outputs_info`` entry an initial state.  Returns each output
    stacked over the steps on axis 0, in the order the steps ran.

    Raises
    ------
    ValueError
        If ``n_steps`` is not a positive int.
    """
    from . import tensor as T

    if not isinstance(n_steps, (int, np.integer)) or n_steps <= 0:
        raise ValueError(f"unroll_scan needs a fixed positive number of steps, got {n_steps!r}")
    seqs = list(sequences) if isinstance(sequences, (list, tuple)) else [sequences]
    prev = list(outputs_info)
    steps = range(n_steps - 1, -1, -1) if go_backwards else range(n_steps)
    collected: list[list[Variable]] = []
    for t in steps:
        out = fn(*[s[t] for s in seqs], *prev, *non_sequences)
        out = list(out) if isinstance(out, (list, tuple)) else [out]
        collected.append(out)
        prev = out
    return [T.stack([step[k] for step in collected]) for k in range(len(collected[0]))]
