"""``graphc.function``: compile expressions once, then every call is a session run.

Compilation: expressions -> IR graph -> ONNX model (shared variables as
inputs, updated values as extra outputs) -> ONNX Runtime session.  Between
calls, shared variables live as ``OrtValue`` objects; an update's output
``OrtValue`` becomes the variable's value without passing through numpy.

On CUDA every call runs through ONNX Runtime's IO binding: each input is
copied to the device once, shared variables (parameters, optimizer state) are
bound where they live, on the device, and each update is written into one of
two device buffers the function owns per updated variable (the one the
variable does not hold), so the state never leaves the device and no memory is
allocated for it after the first calls.  Outputs are copied to the host, unless
:meth:`Function.run_device` asks for them as device ``OrtValue`` objects.
``GRAPHC_IOBINDING=1`` takes the same path on the CPU (to test it).
"""

from __future__ import annotations

import logging
import os
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import onnxruntime as ort
from onnx.helper import np_dtype_to_tensor_dtype

from ..export.model import DEFAULT_OPSET, graph_to_onnx
from ..ir.build import build_graph, collect_leaves, leaf_kind
from ..ir.graph import Graph
from ..ir.types import Dim, format_shape
from ..passes.manager import optimize as run_passes
from ..tensor.basic import as_tensor_argument, as_tensor_variable
from ..tensor.elemwise import cast
from ..tensor.shared import SharedVariable, int_overflow
from ..tensor.variable import Variable
from .providers import make_session, resolve_device
from .sequences import refuse_empty, sequence_axes, sequence_dims

__all__ = ["function", "Function", "UnusedInputError"]

_log = logging.getLogger(__name__)


class UnusedInputError(ValueError):
    """An input is not needed by any output or update (Theano's error)."""


@dataclass
class _InputSpec:
    """How to check and convert one call argument."""

    name: str
    onnx_name: str
    dtype: np.dtype
    ndim: int
    static: tuple[tuple[int, int], ...]
    shape_text: str
    nonempty: tuple[tuple[int, str], ...] = ()  # (axis, scan): axes that are a scan's sequence length

    def convert(self, value: Any, fn_name: str) -> Any:
        if type(value) is np.ndarray and value.dtype == self.dtype:
            arr = value
        elif isinstance(value, ort.OrtValue):
            return self._check_ortvalue(value, fn_name)
        else:
            if isinstance(value, Variable):
                raise TypeError(f"{fn_name}: input {self.name!r} got the symbolic {value!r}; pass a numeric array")
            try:
                arr = np.asarray(value)
            except (TypeError, ValueError) as exc:
                raise TypeError(f"{fn_name}: input {self.name!r} could not be converted to an array: {exc}") from None
            if arr.dtype != self.dtype:
                if arr.dtype.kind not in "biuf" or not (
                    np.can_cast(arr.dtype, self.dtype, "same_kind") or (arr.dtype.kind == "b" and self.dtype.kind in "iuf")
                ):
                    raise TypeError(
                        f"{fn_name}: input {self.name!r} has dtype {arr.dtype}, which cannot be cast to the "
                        f"expected {self.dtype} (expected shape {self.shape_text})"
                    )
                overflow = int_overflow(arr, self.dtype)
                if overflow:
                    raise ValueError(f"{fn_name}: input {self.name!r}: {overflow}; refusing to wrap them around")
                arr = arr.astype(self.dtype)
        if arr.ndim != self.ndim:
            raise ValueError(
                f"{fn_name}: input {self.name!r} has {arr.ndim} dims (shape {arr.shape}); expected {self.ndim} dims, "
                f"shape {self.shape_text}"
            )
        shape = arr.shape
        for axis, size in self.static:
            if shape[axis] != size:
                raise ValueError(
                    f"{fn_name}: input {self.name!r} has shape {shape}; expected {self.shape_text} "
                    f"(axis {axis} must be {size})"
                )
        for axis, scan in self.nonempty:
            if shape[axis] == 0:
                refuse_empty(fn_name, self.name, shape, axis, scan)
        if not arr.flags.c_contiguous:
            arr = np.ascontiguousarray(arr)
        return arr

    def _check_ortvalue(self, value: ort.OrtValue, fn_name: str) -> ort.OrtValue:
        """An ``OrtValue`` input is used as is (no conversion): its type and shape must be right."""
        if not value.is_tensor():
            raise TypeError(f"{fn_name}: input {self.name!r} got an OrtValue that is not a tensor")
        if value.element_type() != np_dtype_to_tensor_dtype(self.dtype):
            raise TypeError(
                f"{fn_name}: input {self.name!r} got an OrtValue of {value.data_type()}; expected dtype "
                f"{self.dtype} (OrtValue inputs are not cast: convert it first)"
            )
        shape = tuple(value.shape())
        if len(shape) != self.ndim or any(shape[axis] != size for axis, size in self.static):
            raise ValueError(f"{fn_name}: input {self.name!r} got an OrtValue of shape {shape}; expected {self.shape_text}")
        for axis, scan in self.nonempty:
            if shape[axis] == 0:
                refuse_empty(fn_name, self.name, shape, axis, scan)
        return value


def _normalize_updates(updates: Any) -> list[tuple[SharedVariable, Variable]]:
    if updates is None:
        return []
    if isinstance(updates, Mapping):
        pairs = list(updates.items())
    else:
        try:
            pairs = [tuple(p) for p in updates]
        except TypeError:
            raise TypeError(f"updates must be a list of (shared, expression) pairs or a dict, got {type(updates).__name__}") from None
    out: list[tuple[SharedVariable, Variable]] = []
    seen: set[int] = set()
    for i, pair in enumerate(pairs):
        if len(pair) != 2:
            raise TypeError(f"update {i} must be a (shared variable, new value) pair, got {pair!r}")
        var, expr = pair
        if not isinstance(var, SharedVariable):
            raise TypeError(f"update {i}: {var!r} is not a shared variable; only shared variables can be updated")
        if id(var) in seen:
            raise ValueError(f"update {i}: shared variable {var!r} is updated twice")
        seen.add(id(var))
        new = as_tensor_variable(expr)
        if new.dtype != var.dtype:
            if np.dtype(new.dtype).kind != np.dtype(var.dtype).kind:  # float64 -> float32 is fine, int -> float is not
                raise TypeError(
                    f"update {i}: the new value of {var!r} has dtype {new.dtype}; expected {var.dtype} "
                    f"(cast it with T.cast(expr, '{var.dtype}'))"
                )
            new = cast(new, var.dtype)
        if new.ndim != var.ndim:
            raise ValueError(
                f"update {i}: the new value of {var!r} has shape {format_shape(new.type.shape)}; "
                f"expected {format_shape(var.type.shape)}"
            )
        for a, b in zip(new.type.shape, var.type.shape):
            if isinstance(a, int) and isinstance(b, int) and a != b:
                raise ValueError(
                    f"update {i}: the new value of {var!r} has shape {format_shape(new.type.shape)}; "
                    f"expected {format_shape(var.type.shape)}"
                )
        out.append((var, new))
    return out


def _default_updates(
    outputs: Sequence[Variable], explicit: list[tuple[SharedVariable, Variable]], disabled: Any
) -> list[tuple[SharedVariable, Variable]]:
    """Updates from the ``default_update`` of shared variables the computation reads
    (followed to a fixed point, since a default update may read more shared variables)."""
    if disabled is True:
        return []
    skip = {id(v) for v in (disabled or [])} | {id(v) for v, _ in explicit}
    found: list[tuple[SharedVariable, Variable]] = []
    frontier = list(outputs) + [new for _, new in explicit]
    while frontier:
        added = []
        for leaf in collect_leaves(frontier):
            if isinstance(leaf, SharedVariable) and leaf.default_update is not None and id(leaf) not in skip:
                skip.add(id(leaf))
                pair = _normalize_updates([(leaf, leaf.default_update)])[0]
                found.append(pair)
                added.append(pair[1])
        frontier = added
    return found


class Function:
    """A compiled function: call it with numpy arrays, get numpy arrays back.

    Build it with :func:`graphc.function`.

    Threads: a function may be called from several threads at once.  Calls of
    a function without shared variables run concurrently (ONNX Runtime's
    ``run`` is thread-safe); a call that reads or updates shared variables
    holds their locks (taken in one global order) from reading them to
    storing the updates, so updates are serialized, none is lost, and
    ``get_value()``/``set_value()`` in other threads see whole updates.

    Attributes
    ----------
    name : str
    device : str
        Where the session runs: ``'cpu'`` or ``'cuda:N'``.
    graph : graphc.ir.Graph
        The compiled IR graph.
    onnx_model : onnx.ModelProto
        The model the session runs (shared variables as inputs).
    inputs : list of Variable
        The input placeholders, in call order.
    outputs : list of Variable
        The output expressions.
    updates : list of (SharedVariable, Variable)
        The updates each call applies (explicit ones, then default updates).
    givens : dict or None
        The substitutions the function was compiled with.
    """

    def __init__(
        self,
        inputs: Sequence[Any],
        outputs: Any = None,
        updates: Any = None,
        givens: Any = None,
        name: str | None = None,
        device: str | None = None,
        on_unused_input: str = "raise",
        opset: int = DEFAULT_OPSET,
        no_default_updates: Any = False,
        optimize: Any = None,
        passes: Mapping[str, bool] | None = None,
        bake_params: bool | None = None,
    ) -> None:
        if name is not None and not isinstance(name, str):
            raise TypeError(f"graphc.function: name must be a str, got {type(name).__name__} {name!r}")
        self.name = name or "graphc.function"
        if on_unused_input not in ("raise", "warn", "ignore"):
            raise ValueError(f"on_unused_input must be 'raise', 'warn' or 'ignore', got {on_unused_input!r}")
        if isinstance(inputs, Variable) or not isinstance(inputs, (list, tuple)):
            raise TypeError(f"{self.name}: inputs must be a list of variables, got {type(inputs).__name__}")
        self._single = outputs is not None and not isinstance(outputs, (list, tuple))
        out_list = [] if outputs is None else ([outputs] if self._single else list(outputs))
        out_vars = [as_tensor_argument(o, f"{self.name}: output {i}") for i, o in enumerate(out_list)]
        explicit = _normalize_updates(updates)
        self._updates = explicit + _default_updates(out_vars, explicit, no_default_updates)
        self.inputs, self.outputs, self.updates, self.givens = list(inputs), out_vars, list(self._updates), givens
        named = [(v, f"out{i}") for i, v in enumerate(out_vars)]
        named += [(new, f"update{i}") for i, (_, new) in enumerate(self._updates)]
        self.graph: Graph = build_graph(named, list(inputs), what=self.name, replace=givens)
        self._check_unused(inputs, [v for v, _ in named], on_unused_input, givens)
        self.graph.target = resolve_device(device)[0]  # the passes may use what its kernels do
        self._sequence_dims = sequence_dims(self.graph)  # before the passes rewrite the scans
        self.pass_report = run_passes(self.graph, optimize, passes)
        self.onnx_model, names = graph_to_onnx(self.graph, opset=opset, params_as_inputs=True, graph_name=self.name)
        start = time.perf_counter()
        self._session, self.device = make_session(self.onnx_model.SerializeToString(), device, training=bool(self._updates))
        session_seconds = time.perf_counter() - start
        self._known_sizes = names.known_sizes  # widths the graph fixes: checked at call time
        shown = {vi.name: _shape_text(vi) for vi in self.onnx_model.graph.input}
        self._specs = [self._spec(nid, name, shown[name]) for nid, name in zip(self.graph.inputs, names.inputs)]
        self._by_name = {s.name: i for i, s in enumerate(self._specs)}
        self._shared: list[tuple[str, SharedVariable]] = [
            (names.params[nid], self.graph.data(nid).ref) for nid in sorted(names.params)
        ]
        n_out = len(out_vars)
        self._out_names = names.outputs
        self._update_targets = [var for var, _ in self._updates]
        self._n_out = n_out
        # every call of a stateful function holds the locks of all the shared variables it reads or
        # updates, taken in one global order (by id): calls that touch a variable are serialized, and
        # two functions sharing variables cannot deadlock
        locks = {id(var._lock): var._lock for _, var in self._shared}
        locks.update({id(var._lock): var._lock for var in self._update_targets})
        self._state_locks = [locks[k] for k in sorted(locks)]
        self._device_type = "cuda" if self.device.startswith("cuda") else "cpu"
        self._device_id = int(self.device.split(":")[1]) if ":" in self.device else 0
        self._run_plain = self._session._sess.run  # the C++ binding: no per-call Python wrapper work
        self._run_values = self._session._sess.run_with_ort_values
        # IO binding on CUDA (GRAPHC_IOBINDING=1 forces it on the CPU, to test the path)
        self._binding = self._device_type == "cuda" or os.environ.get("GRAPHC_IOBINDING", "").strip() == "1"
        # per updated variable, the two buffers updates are written into by turns (IO binding path)
        self._buffers: list[list[ort.OrtValue | None]] = [[None, None] for _ in self._update_targets]
        self._stateful = bool(self._shared or self._updates)
        # a read-only function whose parameters stay unchanged for BAKE_AFTER_CALLS calls runs a
        # second session holding them as initializers, while they stay the same objects
        self._opset = opset
        self._bakeable = (
            not self._updates and bool(self._shared) and not self._binding and _bake_wanted(bake_params)
        )
        self._baked: tuple[Callable[..., Any], list[weakref.ref[Any]]] | None = None
        self._stable_calls = 0
        self._bake_cost = session_seconds  # until a bake is measured: the first session's creation
        self._timing: list[float | None] = [None, None]  # smoothed run seconds: parameters fed, baked
        # plain CPU path: per shared variable, (stored value, its C-level OrtValue) of the last call
        self._c_values: list[tuple[Any, Any] | None] = [None] * len(self._shared)
        slot = {id(var): k for k, (_, var) in enumerate(self._shared)}
        self._update_slot = [slot.get(id(var)) for var in self._update_targets]
        self._errors = _BOUND_ERRORS if self._binding else _ORT_ERRORS
        self._call: Callable[[list[Any], bool], list[Any]]
        if self._binding:
            self._call = self._call_bound
        else:
            self._call = self._call_stateful if self._stateful else self._call_plain

    # -- compilation helpers --------------------------------------------------
    def _spec(self, nid: int, onnx_name: str, shape_text: str) -> _InputSpec:
        d = self.graph.data(nid)
        t = d.types[0]
        known = self._known_sizes
        static = tuple(
            (i, known[s.name] if isinstance(s, Dim) else s) for i, s in enumerate(t.shape) if not isinstance(s, Dim) or s.name in known
        )
        label = d.name or onnx_name
        nonempty = sequence_axes(t.shape, self._sequence_dims)
        return _InputSpec(label, onnx_name, np.dtype(t.dtype), t.ndim, static, shape_text, nonempty)

    def _check_unused(self, inputs: Sequence[Any], outs: Sequence[Variable], mode: str, givens: Any) -> None:
        if mode == "ignore":
            return
        replace_targets = list(givens.values() if isinstance(givens, Mapping) else [n for _, n in (givens or [])])
        used = {id(v) for v in collect_leaves(list(outs) + replace_targets)}
        for i, v in enumerate(inputs):
            if id(v) not in used and leaf_kind(v) == "input":
                msg = (
                    f"{self.name}: input {i} ({v!r}) is not needed to compute the outputs or updates; "
                    "remove it or pass on_unused_input='ignore'"
                )
                if mode == "raise":
                    raise UnusedInputError(msg)
                import warnings

                warnings.warn(msg, stacklevel=3)

    # -- calling ----------------------------------------------------------------
    @property
    def input_names(self) -> list[str]:
        """Names of the inputs, in call order."""
        return [s.name for s in self._specs]

    @property
    def providers(self) -> list[str]:
        """The ONNX Runtime providers of the session."""
        return self._session.get_providers()

    _in_spec: Any = None  # an InputsSpec when theano.In gave inputs names or defaults

    def _arguments(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[np.ndarray]:
        specs = self._specs
        if self._in_spec is not None:
            args, kwargs = self._in_spec.fill(args, kwargs, self.name), {}
        if kwargs:
            args = self._merge_kwargs(args, kwargs)
        if len(args) != len(specs):
            expected = ", ".join(s.name for s in specs) or "no inputs"
            if len(args) < len(specs):
                missing = ", ".join(s.name for s in specs[len(args):])
                raise TypeError(f"{self.name}: missing input(s) {missing}; expected ({expected})")
            raise TypeError(f"{self.name}: takes {len(specs)} input(s) ({expected}) but {len(args)} were given")
        return [s.convert(a, self.name) for s, a in zip(specs, args)]

    def _merge_kwargs(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
        values: list[Any] = list(args) + [_MISSING] * (len(self._specs) - len(args))
        for key, val in kwargs.items():
            if key not in self._by_name:
                raise TypeError(f"{self.name}: unexpected input {key!r}; inputs are {self.input_names}")
            i = self._by_name[key]
            if i < len(args):
                raise TypeError(f"{self.name}: input {key!r} given both by position and by name")
            values[i] = val
        missing = [s.name for s, v in zip(self._specs, values) if v is _MISSING]
        if missing:
            raise TypeError(f"{self.name}: missing input(s) {', '.join(missing)}")
        return tuple(values)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run the function.

        Parameters
        ----------
        *args, **kwargs
            The inputs, by position or by name: arrays (cast to the expected
            dtype when the cast keeps their kind) or ``onnxruntime.OrtValue``
            tensors of the exact dtype, on the host or on the function's
            device (used without a copy).

        Returns
        -------
        numpy.ndarray or list of numpy.ndarray
            One array when ``outputs`` was a single variable, else a list.
        """
        return self._run(args, kwargs, True)

    def run_device(self, *args: Any, **kwargs: Any) -> Any:
        """Run the function and leave the outputs where it runs, as ``OrtValue`` objects.

        Like calling the function (same inputs, same updates), but the outputs
        are not copied to the host: on CUDA they are device ``OrtValue``
        objects that can be fed to the next call (of this or another
        function on the same device) without a round trip; ``.numpy()``
        copies one out when needed.  On the CPU they are host ``OrtValue``
        objects.

        Parameters
        ----------
        *args, **kwargs
            The inputs, as for :meth:`__call__` (device ``OrtValue`` inputs are
            not copied).

        Returns
        -------
        onnxruntime.OrtValue or list of onnxruntime.OrtValue
            One value when ``outputs`` was a single variable, else a list.

        Examples
        --------
        >>> import numpy as np, graphc, graphc.tensor as T
        >>> x = T.matrix('x')
        >>> f = graphc.function([x], 2 * x, device='cpu')
        >>> y = f.run_device(np.ones((2, 3), dtype='float32'))
        >>> y.device_name(), y.shape()
        ('cpu', [2, 3])
        >>> f(y)  # an OrtValue output is a valid input
        array([[4., 4., 4.],
               [4., 4., 4.]], dtype=float32)
        """
        return self._run(args, kwargs, False)

    def _run(self, args: tuple[Any, ...], kwargs: dict[str, Any], copy: bool) -> Any:
        arrays = self._arguments(args, kwargs)
        try:
            outs = self._call(arrays, copy)
        except self._errors as exc:
            shapes = ", ".join(f"{s.name}{tuple(_shape_of(a))}" for s, a in zip(self._specs, arrays))
            raise ValueError(
                f"{self.name}: ONNX Runtime could not run the graph on inputs {shapes or '(none)'}: {exc}"
            ) from exc
        return outs[0] if self._single else outs

    def _feed(self, arrays: list[Any]) -> dict[str, ort.OrtValue]:
        """The inputs as OrtValues for a plain (unbound) run: host arrays are wrapped, not copied."""
        feed = {}
        for s, a in zip(self._specs, arrays):
            if type(a) is np.ndarray:
                a = ort.OrtValue.ortvalue_from_numpy(a)
            elif a.device_name().lower() != "cpu":
                a = ort.OrtValue.ortvalue_from_numpy(a.numpy())
            feed[s.onnx_name] = a
        return feed

    def _call_plain(self, arrays: list[Any], copy: bool) -> list[Any]:
        if copy and all(type(a) is np.ndarray for a in arrays):
            return self._run_plain(self._out_names, {s.onnx_name: a for s, a in zip(self._specs, arrays)}, None)
        results = self._session.run_with_ort_values(self._out_names, self._feed(arrays))
        return [r.numpy() for r in results] if copy else list(results)

    def _call_stateful(self, arrays: list[Any], copy: bool) -> list[Any]:
        # straight to the C++ session with C-level OrtValues: the Python wrapper of
        # run_with_ort_values re-validates every input and iterates the result vector, which cost
        # more than the run itself for small graphs (150 us a call with 16 parameters)
        feed = {name: v._get_c_value() for name, v in self._feed(arrays).items()}
        n_out = self._n_out
        cache = self._c_values
        if self._bakeable:
            baked = self._baked
            if baked is not None and all(var._storage() is ref() for (_, var), ref in zip(self._shared, baked[1])):
                start = time.perf_counter()
                results = baked[0]({s.onnx_name: feed[s.onnx_name] for s in self._specs}, self._out_names, None)
                self._timing[1] = _ema(self._timing[1], time.perf_counter() - start)
                return [results[i].numpy() if copy else ort.OrtValue(results[i]) for i in range(n_out)]
        with _Held(self._state_locks):
            unchanged = True
            for k, (onnx_name, var) in enumerate(self._shared):
                stored = var._storage()
                hit = cache[k]
                if hit is None or hit[0] is not stored:  # set_value, another function, or the first call
                    unchanged = False
                    ov = _as_ortvalue(var, "cpu", 0)
                    hit = cache[k] = (var._storage(), ov._get_c_value())
                feed[onnx_name] = hit[1]
            if self._bakeable:
                self._stable_calls = self._stable_calls + 1 if unchanged else 0
                if self._stable_calls >= self._bake_threshold():
                    self._bake([hit[0] for hit in cache])  # type: ignore[index]
            start = time.perf_counter()
            results = self._run_values(feed, self._out_names, None)
            self._timing[0] = _ema(self._timing[0], time.perf_counter() - start)
            news = [ort.OrtValue(results[i]) for i in range(n_out, len(self._out_names))]
            self._check_updates(news)
            for j, (var, new) in enumerate(zip(self._update_targets, news)):
                var._store(new)
                k = self._update_slot[j]
                if k is not None:  # the next call reads the new value as is
                    cache[k] = (new, results[n_out + j])
        if copy:
            return [results[i].numpy() for i in range(n_out)]
        return [ort.OrtValue(results[i]) for i in range(n_out)]

    def _bake_threshold(self) -> float:
        """Unchanged calls after which baking pays: its cost over the time it saves a call.

        Waiting that long before paying (the ski-rental rule) keeps a function whose
        parameters keep changing (a validation function between training epochs) from
        spending more than twice the best choice.  Before the first bake the cost is the
        first session's creation time and the saving a fifth of a call; after it, both are
        measured, and a baked session that is not faster stops baking.
        """
        plain, baked = self._timing
        if plain is None:
            return float("inf")
        saving = plain - baked if baked is not None else 0.2 * plain
        if saving <= 0:
            return float("inf")
        return max(BAKE_AFTER_CALLS, self._bake_cost / saving)

    def _bake(self, values: list[Any]) -> None:
        """Build the session that holds the parameters' current ``values`` as initializers.

        Called with the variables' locks held, so the values cannot change meanwhile.  ONNX
        Runtime folds everything computed from initializers alone (weight concatenations,
        transposes) once and pre-packs constant GEMM operands: an MLP's inference call ran 8 %
        faster (17.5 -> 16.1 ms) than with the parameters fed as inputs.  The values are held
        by weak references: a baked session keeps no old parameter alive.
        """
        start = time.perf_counter()
        self._stable_calls = 0
        try:
            model, _ = graph_to_onnx(self.graph, opset=self._opset, params_as_inputs=False, graph_name=self.name)
            session, _ = make_session(model.SerializeToString(), "cpu")
        except Exception as exc:  # e.g. parameters past protobuf's 2 GiB: keep feeding them, never fail the call
            _log.debug("%s: parameters not baked (%s: %s); they stay session inputs", self.name, type(exc).__name__, exc)
            self._bakeable = False
            return
        self._baked = (session._sess.run_with_ort_values, [weakref.ref(v) for v in values])
        self._bake_cost = time.perf_counter() - start

    def _check_updates(self, news: Sequence[ort.OrtValue]) -> None:
        for var, new in zip(self._update_targets, news):
            shape = tuple(new.shape())
            if shape != var.type.shape:
                raise ValueError(
                    f"{self.name}: the update of {var!r} produced shape {shape}; expected "
                    f"{format_shape(var.type.shape)}. No shared variable was changed."
                )

    def _call_bound(self, arrays: list[Any], copy: bool) -> list[Any]:
        """One run through IO binding: inputs to the device once, state bound where it lives.

        User outputs come back to the host when ``copy`` (ONNX Runtime copies
        them at the end of the run), else stay on the device.  Each update is
        written into whichever of the variable's two buffers it does not hold
        now, so the state is updated on the device without allocating.
        """
        dev, dev_id = self._device_type, self._device_id
        binding = self._session.io_binding()
        keep = []  # the device copies of the inputs live until the run is over
        for s, a in zip(self._specs, arrays):
            if type(a) is np.ndarray:
                a = ort.OrtValue.ortvalue_from_numpy(a, dev, dev_id)  # the one copy of this input
                keep.append(a)
            binding.bind_ortvalue_input(s.onnx_name, a)
        out_dev = "cpu" if copy else dev
        for name in self._out_names[: self._n_out]:
            binding.bind_output(name, out_dev, 0 if out_dev == "cpu" else dev_id)
        if not self._stateful:
            self._session.run_with_iobinding(binding)
            outs = binding.get_outputs()
            return [o.numpy() for o in outs] if copy else list(outs)
        with _Held(self._state_locks):
            inputs = {}
            for onnx_name, var in self._shared:
                value = inputs[onnx_name] = _as_ortvalue(var, dev, dev_id)
                binding.bind_ortvalue_input(onnx_name, value)
            targets: list[ort.OrtValue | None] = []
            for var, name, bufs in zip(self._update_targets, self._out_names[self._n_out :], self._buffers):
                target = self._free_buffer(var, bufs)
                if target is None:
                    binding.bind_output(name, dev, dev_id)
                else:
                    binding.bind_ortvalue_output(name, target)
                targets.append(target)
            try:
                self._session.run_with_iobinding(binding)
            except _BOUND_ERRORS:
                if all(t is None for t in targets):
                    raise
                # an update of the wrong shape cannot go into its buffer: run once more with
                # ONNX Runtime's own outputs, so that the check below names the culprit
                binding.clear_binding_outputs()
                for i, name in enumerate(self._out_names):
                    binding.bind_output(name, out_dev if i < self._n_out else dev, dev_id if i >= self._n_out or not copy else 0)
                targets = [None] * len(targets)
                self._session.run_with_iobinding(binding)
            results = binding.get_outputs()
            news = [t if t is not None else r for t, r in zip(targets, results[self._n_out :])]
            self._check_updates(news)
            outs = results[: self._n_out]
            if not copy or dev == "cpu":
                outs = self._unalias(outs, copy)
            for var, new in zip(self._update_targets, news):
                var._store(new)
        return [o.numpy() for o in outs] if copy else list(outs)

    def _free_buffer(self, var: SharedVariable, bufs: list[ort.OrtValue | None]) -> ort.OrtValue | None:
        """The buffer this call writes the update of ``var`` into: the one of two it does not hold now."""
        current = var._storage()
        for i in (0, 1):
            if bufs[i] is current:
                if bufs[1 - i] is None:
                    bufs[1 - i] = _alloc(var, self._device_type, self._device_id)
                return bufs[1 - i]
        if bufs[0] is None:  # the first call: the value came from elsewhere (set_value, another function)
            bufs[0] = _alloc(var, self._device_type, self._device_id)
        return bufs[0]

    def _unalias(self, outs: list[ort.OrtValue], copy: bool) -> list[ort.OrtValue]:
        """Outputs that share memory with a state buffer (``outputs=[s]``) would change when the
        buffer is written again: those buffers are handed over to the caller, not reused."""
        owned = {b.data_ptr(): (bufs, i) for bufs in self._buffers for i, b in enumerate(bufs) if b is not None}
        for o in outs:
            hit = owned.get(o.data_ptr()) if o.tensor_size_in_bytes() else None
            if hit is not None:
                bufs, i = hit
                bufs[i] = None
        return outs

    def __repr__(self) -> str:
        return f"<graphc.Function {self.name}: inputs {self.input_names}, {self._n_out} outputs, {len(self._updates)} updates, {self.device}>"

    @property
    def maker(self) -> Any:
        """Theano's ``f.maker``; ``f.maker.fgraph`` has ``.inputs``, ``.outputs`` and ``.toposort()``.

        ``fgraph.inputs`` are the inputs then the shared variables the function reads,
        ``fgraph.outputs`` the outputs then the updated values (Theano's order), and
        ``toposort()`` the Apply nodes (``.op``, ``.inputs``, ``.outputs``) between them,
        each after those it depends on.  These are the expressions the function was built
        from, before graphc's passes (Theano shows its graph after its optimizations).
        """
        from types import SimpleNamespace

        from ..gof.graph import io_toposort

        ins = list(self.inputs)
        ins += [var for _, var in self._shared if all(var is not v for v in ins)]
        outs = list(self.outputs) + [new for _, new in self._updates]
        fgraph = SimpleNamespace(inputs=ins, outputs=outs, toposort=lambda: io_toposort(ins, outs))
        return SimpleNamespace(fgraph=fgraph, function=self)


_MISSING = object()

# the fewest calls of a read-only function with unchanged parameters before it bakes them into its
# own session (see Function._bake_threshold for the rest of the rule)
BAKE_AFTER_CALLS = 3


def _bake_wanted(bake_params: bool | None) -> bool:
    """Whether a read-only function bakes its parameters: the argument, else ``GRAPHC_BAKE_PARAMS``."""
    if bake_params is None:
        return os.environ.get("GRAPHC_BAKE_PARAMS", "0").strip() == "1"
    if not isinstance(bake_params, bool):
        raise TypeError(f"bake_params must be True, False or None, got {bake_params!r}")
    return bake_params


def _ema(old: float | None, new: float) -> float:
    """A smoothed duration (exponential moving average)."""
    return new if old is None else 0.8 * old + 0.2 * new


class _Held:
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


def _shape_of(value: Any) -> tuple[int, ...]:
    return tuple(value.shape()) if isinstance(value, ort.OrtValue) else tuple(np.shape(value))


def _alloc(var: SharedVariable, device: str, device_id: int) -> ort.OrtValue:
    return ort.OrtValue.ortvalue_from_shape_and_type(list(var.type.shape), np.dtype(var.dtype), device, device_id)


def _shape_text(value_info: Any) -> str:
    """An input's shape as the exported model names it, e.g. ``(x_dim0, 3)``."""
    dims = [d.dim_param or str(d.dim_value) for d in value_info.type.tensor_type.shape.dim]
    return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"
# errors ONNX Runtime raises when a graph fails on particular inputs (bad reshape, index out of range...)
_ORT_ERRORS: tuple[type[BaseException], ...] = tuple(
    getattr(ort.capi.onnxruntime_pybind11_state, name)
    for name in ("Fail", "InvalidArgument", "RuntimeException", "InvalidGraph")
    if hasattr(ort.capi.onnxruntime_pybind11_state, name)
)

# run_with_iobinding reports them as RuntimeError("Error in execution: ...")
_BOUND_ERRORS = (*_ORT_ERRORS, RuntimeError)


def _as_ortvalue(var: SharedVariable, device: str, device_id: int) -> ort.OrtValue:
    """The variable's value as an OrtValue on ``device``, converting (and keeping) it once."""
    value = var._storage()
    if isinstance(value, ort.OrtValue) and value.device_name().lower() == device:
        return value
    arr = value if isinstance(value, np.ndarray) else value.numpy()
    # on the CPU the OrtValue wraps (and keeps alive) the array's memory: no copy
    ov = ort.OrtValue.ortvalue_from_numpy(arr, device, device_id)
    var._store(ov)
    return ov


def function(
    inputs: Sequence[Any],
    outputs: Any = None,
    updates: Any = None,
    givens: Any = None,
    name: str | None = None,
    device: str | None = None,
    on_unused_input: str = "raise",
    allow_input_downcast: bool | None = None,
    mode: Any = None,
    optimize: Any = None,
    passes: Mapping[str, bool] | None = None,
    bake_params: bool | None = None,
    **kwargs: Any,
) -> Function:
    """Compile a function from symbolic inputs to outputs (Theano's ``theano.function``).

    Parameters
    ----------
    inputs : list of Variable or graphc.In
        Placeholders, in call order.  Shared variables are used implicitly
        and must not be listed.  ``graphc.In(x, name=..., value=...)`` gives
        an input a keyword and a default (see :mod:`graphc.runtime.inputs_spec`).
    outputs : Variable or list of Variable, optional
        A single variable gives a single array per call; a list gives a list.
    updates : list of (SharedVariable, expression) pairs or dict, optional
        New values for shared variables, all computed from the old values and
        applied after each call (Theano's semantics).
    givens : dict or list of pairs, optional
        Variables to replace by other expressions before compiling.
    name : str, optional
        Used in error messages and as the ONNX graph name.
    device : str, optional
        ``'auto'`` (CUDA if a session really gets it, else CPU), ``'cpu'``,
        ``'cuda'`` or ``'cuda:N'``; the default comes from ``GRAPHC_DEVICE``.
    on_unused_input : {'raise', 'warn', 'ignore'}
        What to do when an input is not needed.
    no_default_updates : bool or list of SharedVariable
        Skip the ``default_update`` of all (True) or of the listed shared
        variables; by default every shared variable the computation reads
        that has a ``default_update`` and no explicit update gets it.
    optimize : {'O0', 'O1', 'O2'} or 0..2, optional
        Optimization level (default ``GRAPHC_OPTIMIZE`` or ``'O2'``); see
        :mod:`graphc.passes.manager`.
    passes : dict, optional
        Per-pass switches by name, e.g. ``{'cse': False}``.
    bake_params : bool, optional
        For a function without updates on the CPU: once its parameters have
        stayed unchanged for a while, run a second session that holds them as
        initializers (ONNX Runtime pre-packs its GEMM operands: an MLP's call
        4-8 % faster), while they stay the same objects.  Off by default
        (``GRAPHC_BAKE_PARAMS=1`` turns it on): pre-packed GEMMs round
        differently in the last bit, so calls stop being bitwise identical to
        the calls before the switch.
    allow_input_downcast, mode
        Accepted for Theano compatibility.  Inputs are always cast to the
        expected dtype when the cast keeps their kind (float64 -> float32,
        int -> float); other dtypes raise ``TypeError``.

    Returns
    -------
    Function

    Raises
    ------
    graphc.ir.build.MissingInputError
        If an output needs a placeholder that is not in ``inputs``.
    UnusedInputError
        If an input is not needed and ``on_unused_input='raise'``.

    Examples
    --------
    >>> import numpy as np, graphc, graphc.tensor as T
    >>> x = T.vector('x')
    >>> s = graphc.shared(np.float32(0), name='s')
    >>> step = graphc.function([x], x.sum(), updates=[(s, s + x.sum())])
    >>> float(step(np.ones(3)))
    3.0
    >>> float(s.get_value())
    3.0
    """
    unknown = set(kwargs) - {"profile", "rebuild_strict", "accept_inplace", "no_default_updates"}
    if unknown:
        raise TypeError(f"function() got unexpected arguments: {', '.join(sorted(unknown))}")
    if mode is not None:
        from ..compile.mode import get_mode

        get_mode(mode)  # refuses the modes graphc cannot honour (DebugMode...) and unknown names
    from .inputs_spec import unpack_inputs, unwrap_outputs

    inputs, givens, updates, in_spec = unpack_inputs(inputs, givens, updates)
    outputs = unwrap_outputs(outputs)
    fn = Function(
        inputs,
        outputs,
        updates,
        givens,
        name=name,
        device=device,
        on_unused_input=on_unused_input,
        no_default_updates=kwargs.get("no_default_updates", False),
        optimize=optimize,
        passes=passes,
        bake_params=bake_params,
    )
    fn._in_spec = in_spec
    return fn

