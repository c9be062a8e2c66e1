"""``graphc.function``: compile expressions once, then every call is a session run.

Compilation is one straight path (:mod:`graphc.runtime.pipeline`):
expressions -> IR graph -> passes -> ONNX model (shared variables as inputs,
updated values as extra outputs) -> ONNX Runtime session.  The modules beside
this one each hold one concern:

* :mod:`graphc.runtime.arguments`: checking and converting call arguments;
* :mod:`graphc.tensor.update_pairs`: checking updates, adding default updates;
* :mod:`graphc.runtime.pipeline`: the compile pipeline;
* :mod:`graphc.runtime.calls`: how a call runs its session (plain, stateful, IO binding);
* :mod:`graphc.runtime.state`: shared variables between calls (``OrtValue`` storage, locks, buffers);
* :mod:`graphc.runtime.baking`: read-only functions running their parameters as initializers;
* :mod:`graphc.ir.partition`, :mod:`graphc.runtime.partitioned`, :mod:`graphc.runtime.fused`:
  under MPI, a graph with collectives cut into stages, run with one fused all-reduce per round.

Between calls, shared variables live as ``OrtValue`` objects; an update's
output ``OrtValue`` becomes the variable's value without passing through
numpy.  On CUDA every call runs through ONNX Runtime's IO binding (see
:mod:`graphc.runtime.calls`); outputs are copied to the host, unless
:meth:`Function.run_device` asks for them as device ``OrtValue`` objects.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

from ..export.model import DEFAULT_OPSET, graph_to_onnx
from ..ir.graph import Graph
from ..ir.partition import partition_at_collectives
from ..tensor.shared import SharedVariable
from .arguments import UnusedInputError, argument_spec, bind_arguments, onnx_shape_text, shape_of
from .baking import BAKE_AFTER_CALLS, ParamBaker, bake_wanted
from .calls import SessionStep, iobinding_wanted
from .partitioned import PartitionedStep, partition_comm, resolve_timeout
from .pipeline import lower, open_graph_session

__all__ = ["function", "Function", "UnusedInputError", "BAKE_AFTER_CALLS"]


class Function:
    """A compiled function: call it with numpy arrays, get numpy arrays back.

    Build it with :func:`graphc.function`.

    Threads: a function may be called from several threads at once.  Calls of
    a function without shared variables run concurrently (ONNX Runtime's
    ``run`` is thread-safe); a call that reads or updates shared variables
    holds their locks (taken in one global order) from reading them to
    storing the updates, so updates are serialized, none is lost, and
    ``get_value()``/``set_value()`` in other threads see whole updates.

    Under MPI (``graphc.distributed.size() > 1``), a graph with collectives
    (:func:`graphc.distributed.mean`, :func:`graphc.distributed.sum`) runs as
    stages with all-reduces between them; every call is one synchronous step
    of all ranks (see :mod:`graphc.runtime.partitioned`).

    Attributes
    ----------
    name : str
    device : str
        Where the session runs: ``'cpu'`` or ``'cuda:N'``.
    graph : graphc.ir.Graph
        The compiled IR graph.
    onnx_model : onnx.ModelProto
        The model the session runs (shared variables as inputs).  A partitioned
        function runs one model per stage (``f._step.sessions[k].onnx_model``);
        this is then its one-process model (collectives as ``Identity``).
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
        collective_timeout: float | None = None,
    ) -> None:
        if collective_timeout is not None:
            resolve_timeout(collective_timeout)  # a bad value is refused whether or not the graph partitions
        if name is not None and not isinstance(name, str):
            raise TypeError(f"graphc.function: name must be a str, got {type(name).__name__} {name!r}")
        self.name = name or "graphc.function"
        wants_bake = bake_wanted(bake_params)
        lowered = lower(
            inputs,
            outputs,
            updates,
            givens,
            name=self.name,
            device=device,
            on_unused_input=on_unused_input,
            no_default_updates=no_default_updates,
            optimize=optimize,
            passes=passes,
        )
        self._single = lowered.single
        self._updates = lowered.updates
        self.inputs, self.outputs, self.updates, self.givens = list(inputs), lowered.outputs, list(self._updates), givens
        self.graph: Graph = lowered.graph
        self._sequence_dims = lowered.sequence_dims
        self.pass_report = lowered.pass_report
        self._opset = opset
        # under MPI, a graph with collectives runs as stages with all-reduces between them
        comm = partition_comm(self.graph)
        partition = partition_at_collectives(self.graph, self.name) if comm is not None else None
        if partition is None:
            compiled = open_graph_session(self.graph, opset=opset, device=device, training=bool(self._updates), name=self.name)
            self.onnx_model, self._session, self.device = compiled.onnx_model, compiled.session, compiled.device
            names = compiled.names
        else:  # the one-process model (collectives as Identity) names the inputs; the stages run
            self.onnx_model, names = graph_to_onnx(self.graph, opset=opset, params_as_inputs=True, graph_name=self.name)
        self._known_sizes = names.known_sizes  # widths the graph fixes: checked at call time
        shown = {vi.name: onnx_shape_text(vi) for vi in self.onnx_model.graph.input}
        self._specs = [
            argument_spec(self.graph, nid, name, shown[name], self._known_sizes, self._sequence_dims)
            for nid, name in zip(self.graph.inputs, names.inputs)
        ]
        self._by_name = {s.name: i for i, s in enumerate(self._specs)}
        self._shared: list[tuple[str, SharedVariable]] = [
            (names.params[nid], self.graph.data(nid).ref) for nid in sorted(names.params)
        ]
        self._n_out = len(self.outputs)
        self._out_names = names.outputs
        self._update_targets = [var for var, _ in self._updates]
        self._guard: Callable[[], AbstractContextManager[None]] | None = None
        self._step: SessionStep | PartitionedStep
        if partition is not None:
            self._step = PartitionedStep(
                self.name, partition, comm, device, opset, self._specs, self._update_targets, self._n_out,
                resolve_timeout(collective_timeout),
            )
            self._session = next(s.session for s in reversed(self._step.sessions) if s is not None)
            self.device = self._step.device
            self._baker = ParamBaker(self.graph, opset, self.name, 0.0, False)
            self._binding, self._buffers = False, []
            self._guard = self._step.guard
        else:
            # a read-only function whose parameters stay unchanged for a while may run a second
            # session holding them as initializers, while they stay the same objects
            bakeable = not self._updates and bool(self._shared) and not iobinding_wanted(self.device) and wants_bake
            self._baker = ParamBaker(self.graph, opset, self.name, compiled.seconds, bakeable)
            self._step = SessionStep(
                self.name, self._session, self.device, self._specs, self._out_names, self._n_out,
                self._shared, self._update_targets, self._baker,
            )
            self._binding, self._buffers = self._step.binding, self._step.buffers
        self._errors = self._step.errors
        self._call = self._step.run

    @property
    def input_names(self) -> list[str]:
        """Names of the inputs, in call order."""
        return [s.name for s in self._specs]

    @property
    def providers(self) -> list[str]:
        """The ONNX Runtime providers of the session."""
        return self._session.get_providers()

    _in_spec: Any = None  # an InputsSpec when theano.In gave inputs names or defaults

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
        if self._guard is not None:  # a partitioned step: a failure on one rank must end every rank
            with self._guard():
                return self._run_step(args, kwargs, copy)
        return self._run_step(args, kwargs, copy)

    def _run_step(self, args: tuple[Any, ...], kwargs: dict[str, Any], copy: bool) -> Any:
        arrays = bind_arguments(self._specs, self._by_name, self._in_spec, args, kwargs, self.name)
        try:
            outs = self._call(arrays, copy)
        except self._errors as exc:
            shapes = ", ".join(f"{s.name}{tuple(shape_of(a))}" for s, a in zip(self._specs, arrays))
            raise ValueError(
                f"{self.name}: ONNX Runtime could not run the graph on inputs {shapes or '(none)'}: {exc}"
            ) from exc
        return outs[0] if self._single else outs

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
    collective_timeout: float | None = None,
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
    collective_timeout : float, optional
        Under MPI, for a graph with collectives (:func:`graphc.distributed.mean`,
        :func:`graphc.distributed.sum`): the seconds a rank waits for the others
        at each all-reduce before it aborts the job (default
        ``GRAPHC_COLLECTIVE_TIMEOUT``, else no limit).  See
        :mod:`graphc.runtime.partitioned`.
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
        collective_timeout=collective_timeout,
    )
    fn._in_spec = in_spec
    return fn

