"""Shared variables: named tensors whose values live between function calls.

Cast rule: a float64 numpy array (or a Python float) becomes
``config.floatX`` (float32 by default) unless ``dtype`` is given; other
dtypes are kept, Python ints become int64.  The shape is fixed by the first
value: :meth:`SharedVariable.set_value` accepts values of that shape only,
since compiled functions were built for it.

Shared variables pickle with their value as a numpy array (wherever it lives)
and get a fresh lock when unpickled; an alias keeps sharing its base's storage
when both are in the same pickle.  Unpickling runs code: load only pickles you
trust.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from ..config import config
from ..ir.types import TensorType, as_dtype, format_shape
from .variable import Variable

__all__ = ["SharedVariable", "shared"]


class SharedVariable(Variable):
    """A tensor with a value that persists across calls of compiled functions.

    Compiled functions read the value where it lives (an ONNX Runtime
    ``OrtValue`` after an update) and write updates back without a copy to
    numpy; :meth:`get_value` copies out on demand.
    """

    def __init__(self, value: np.ndarray, name: str | None = None) -> None:
        super().__init__(TensorType(value.dtype.name, value.shape), name=name)
        self._value: Any = value
        self._lock = threading.RLock()
        #: an expression applied as this variable's update by every compiled
        #: function that uses the variable and gives it no explicit update
        #: (Theano's ``default_update``; batch normalization's running averages)
        self.default_update: Variable | None = None

    # -- public API ---------------------------------------------------------
    def get_value(self, borrow: bool = False, return_internal_type: bool = False) -> np.ndarray:
        """A copy of the current value as a numpy array (``borrow`` is accepted and ignored)."""
        with self._lock:
            v = self._value
        if return_internal_type:
            return v
        if isinstance(v, np.ndarray):
            return v.copy()
        # OrtValue.numpy() is a view of ONNX Runtime's buffer: copy while the OrtValue is alive
        return np.array(v.numpy(), copy=True)

    def set_value(self, value: Any, borrow: bool = False) -> None:
        """Replace the value.

        Raises
        ------
        ValueError
            If the shape differs from the variable's.
        TypeError
            If the dtype cannot be cast safely to the variable's dtype.
        """
        arr = _coerce(value, self.dtype, self.type.shape, self.name)
        with self._lock:
            self._value = arr

    def alias(self) -> SharedVariable:
        """A second variable on this variable's storage (Theano's ``clone(share_inputs=False)``).

        Updating either updates both, but each carries its own
        ``default_update``: batch normalization puts the update of its running
        averages on an alias made by each training-mode ``get_output``, so only
        functions compiled from that expression update them, not inference
        functions that read the averages.
        """
        return _AliasedShared(self)

    # -- pickling ---------------------------------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        """The state to pickle: the value as a numpy array, without the lock and compiled functions.

        Unpickling (``pickle.loads``) rebuilds the variable with a fresh lock;
        like any unpickling, it can run arbitrary code, so load only pickles you trust.
        """
        state = dict(self.__dict__)
        state.pop("_lock", None)
        state.pop("_fn_cache", None)  # compiled by eval(): sessions do not pickle
        if "_value" in state:
            state["_value"] = self.get_value()
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if "_base" not in state:
            self._lock = threading.RLock()

    # -- runtime hooks --------------------------------------------------------
    def _storage(self) -> Any:
        """The stored value as is (numpy array or OrtValue)."""
        return self._value

    def _store(self, value: Any) -> None:
        """Store a runtime value (an OrtValue of the variable's type) without copying."""
        self._value = value

    @property
    def broadcastable(self) -> tuple[bool, ...]:
        """The pattern given to :func:`shared` as ``broadcastable``, else True where the size is 1.

        graphc broadcasts by shape, so the pattern only documents the variable;
        ``type.broadcastable`` always follows the shape.
        """
        declared = getattr(self, "_broadcastable", None)
        if declared is None and isinstance(self, _AliasedShared):
            declared = getattr(self._base, "_broadcastable", None)
        return declared if declared is not None else self.type.broadcastable

    def __repr__(self) -> str:
        return f"<shared {self.name or ''}: {self.type.compact}>"


class _AliasedShared(SharedVariable):
    """See :meth:`SharedVariable.alias`: reads and writes go to the base variable's storage."""

    def __init__(self, base: SharedVariable) -> None:
        Variable.__init__(self, base.type, name=base.name)
        self._base = base
        self.default_update = None

    @property
    def _lock(self) -> Any:  # type: ignore[override]
        return self._base._lock

    def _storage(self) -> Any:
        return self._base._storage()

    def _store(self, value: Any) -> None:
        self._base._store(value)

    def get_value(self, borrow: bool = False, return_internal_type: bool = False) -> np.ndarray:
        return self._base.get_value(borrow, return_internal_type)

    def set_value(self, value: Any, borrow: bool = False) -> None:
        self._base.set_value(value, borrow)


def int_overflow(arr: np.ndarray, target: np.dtype) -> str:
    """Why the integers of ``arr`` do not fit in the integer dtype ``target`` ('' when they do, or when no int cast)."""
    if target.kind not in "iu" or arr.dtype.kind not in "iub" or not arr.size or np.can_cast(arr.dtype, target, "safe"):
        return ""
    info = np.iinfo(target)
    low, high = arr.min(), arr.max()
    if low < info.min or high > info.max:
        return f"values from {low} to {high} do not fit in {target} [{info.min}, {info.max}]"
    return ""


def _coerce(value: Any, dtype: str, shape: tuple, name: str | None) -> np.ndarray:
    label = f"shared variable {name!r}" if name else "shared variable"
    if isinstance(value, Variable):
        raise TypeError(f"{label}: set_value needs a numeric value, got the symbolic {value!r}")
    arr = np.asarray(value)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{label}: value of dtype {arr.dtype} is not numeric")
    if arr.dtype != np.dtype(dtype):
        if not np.can_cast(arr.dtype, dtype, "same_kind"):
            raise TypeError(f"{label}: value of dtype {arr.dtype} cannot be cast safely to {dtype}")
        overflow = int_overflow(arr, np.dtype(dtype))
        if overflow:
            raise ValueError(f"{label}: {overflow}")
        arr = arr.astype(dtype)
    if arr.shape != tuple(shape):
        raise ValueError(f"{label}: value has shape {arr.shape}, expected {format_shape(tuple(shape))}")
    return np.array(arr, copy=True, order="C")


def _label(name: str | None) -> str:
    return f"shared variable {name!r}" if name is not None else "an unnamed shared variable"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def shared(
    value: Any,
    name: str | None = None,
    strict: bool = False,
    allow_downcast: bool | None = None,
    borrow: bool = False,
    dtype: Any = None,
    broadcastable: Any = None,
    **kwargs: Any,
) -> SharedVariable:
    """Create a shared variable (Theano's ``theano.shared``).

    Parameters
    ----------
    value : array_like
        Initial value; copied.
    name : str, optional
        Name; exported models use it for the parameter.
    strict : bool
        When True, keep float64 values as float64 (no floatX cast).
    dtype : dtype, optional
        Convert the value to this dtype.
    borrow, allow_downcast
        Accepted for Theano compatibility; the value is always copied.
    broadcastable : tuple of bool, optional
        Theano's broadcastable pattern, one bool per axis of the value; a True
        axis must have size 1. graphc broadcasts by shape, so the pattern is
        only checked and recorded (``var.broadcastable`` shows it).

    Returns
    -------
    SharedVariable

    Examples
    --------
    >>> import numpy as np, graphc
    >>> w = graphc.shared(np.zeros((3, 2)), name='W')
    >>> w.dtype
    'float32'
    """
    if kwargs:
        raise TypeError(f"shared() got unexpected arguments: {', '.join(sorted(kwargs))}")
    if name is not None and not isinstance(name, str):
        raise TypeError(f"shared() name must be a str, got {type(name).__name__}")
    if isinstance(value, Variable):
        raise TypeError(f"shared() needs a numeric value, got the symbolic {value!r}")
    if isinstance(value, bool):
        arr = np.asarray(value)
    elif isinstance(value, int):
        arr = np.asarray(value, dtype=np.int64)
    elif isinstance(value, float):
        arr = np.asarray(value, dtype=np.float64)
    else:
        try:
            arr = np.asarray(value)
        except ValueError:  # numpy refuses ragged nested lists
            raise ValueError(
                f"shared() value {_short(value)} of {_label(name)} is ragged (its nested sequences differ in length); "
                "expected a rectangular numeric array"
            ) from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"shared() value {_short(value)} of {_label(name)} has dtype {arr.dtype}; expected a numeric array")
    if dtype is not None:
        arr = arr.astype(as_dtype(dtype))
    elif arr.dtype == np.float64 and not strict:
        arr = arr.astype(config.floatX)
    as_dtype(arr.dtype)
    pattern = _broadcastable_pattern(broadcastable, arr.shape, name)
    var = SharedVariable(np.array(arr, copy=True, order="C"), name=name)
    if pattern is not None:
        var._broadcastable = pattern
    return var


def _broadcastable_pattern(pattern: Any, shape: tuple[int, ...], name: str | None) -> tuple[bool, ...] | None:
    """Check Theano's ``broadcastable`` argument of :func:`shared` against the value's shape.

    Raises
    ------
    TypeError
        If the pattern is not a sequence of bools.
    ValueError
        If its length is not the value's rank, or a True axis has a size other than 1.
    """
    if pattern is None:
        return None
    if isinstance(pattern, (str, bytes)) or not isinstance(pattern, (list, tuple)):
        raise TypeError(f"shared() broadcastable must be a tuple of bools, got {pattern!r}")
    if not all(isinstance(b, (bool, np.bool_)) for b in pattern):
        raise TypeError(f"shared() broadcastable must be a tuple of bools, got {pattern!r}")
    pat = tuple(bool(b) for b in pattern)
    if len(pat) != len(shape):
        raise ValueError(
            f"shared() broadcastable={pat} has {len(pat)} entries but the value of {_label(name)} "
            f"has {len(shape)} dimensions (shape {shape})"
        )
    bad = [i for i, (b, d) in enumerate(zip(pat, shape)) if b and d != 1]
    if bad:
        raise ValueError(
            f"shared() broadcastable={pat} marks axis {bad[0]} of {_label(name)} as broadcastable, "
            f"but its size is {shape[bad[0]]} (shape {shape}); a broadcastable axis must have size 1"
        )
    return pat
