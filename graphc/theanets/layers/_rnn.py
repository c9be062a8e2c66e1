"""The theanets recurrent layers: the :class:`Recurrent` base, RNN and RRNN.

MUT1, GRU and LSTM are in :mod:`graphc.theanets.layers.recurrent`; MRNN,
SCRN, Clockwork and Bidirectional in :mod:`graphc.theanets.layers.recurrent`.  Equations, parameter names and
shapes follow ``shared/reference/theanets.md``.

Data are batch-first ``(batch, time, features)`` as in theanets; the recurrence
runs time-major through :func:`graphc.scan` (an ONNX ``Loop`` whose step count
is read from the input, so one model serves any batch size and sequence
length).  Everything that depends only on the input (the input projections and
input-driven gates of all steps) is computed by one batched matmul before the
loop; the step holds only the hidden-to-hidden work.

Options every recurrent layer takes:

``h_0``
    Name of an output (``'layer'`` or ``'layer:output'``) holding the initial
    hidden state, ``(batch, size)``; default zeros.  LSTM also takes ``c_0``
    (the cell) and SCRN ``s_0`` (the context state).
``direction``
    ``'back'`` (or ``'backward'``/``'backwards'``) runs the recurrence from the
    last step to the first.  Unlike upstream theanets, every output is then
    flipped back into input time order, so step ``t`` of the output belongs
    to step ``t`` of the input.
``bptt_limit``
    Backpropagate through at most this many steps (scan's
    ``truncate_gradient``); -1, the default, means no limit.
``radius``
    Rescale the initial values of the matrices that multiply the hidden
    state, one square ``(size, size)`` block at a time, to this spectral
    radius (largest singular value, as theanets' ``random_matrix``).
``mask``
    Name of an output holding a ``(batch, time)`` or ``(batch, time, 1)`` mask
    for variable-length sequences (theanets issue #58): at a step where the
    mask is 0 every carried state keeps its previous value (holes allowed);
    per-step outputs that are not states (``pre``, ``hid``, ``rate``) are
    computed as usual.  Not in upstream theanets.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from ... import tensor as T
from ...config import config
from ...tensor.scan import scan
from ...tensor.shared import SharedVariable, shared
from ...tensor.variable import Variable
from ..util import log, random_matrix
from .base import ConfigurationError, Layer, LayerInputs

__all__ = ["Recurrent", "RNN", "RRNN", "RATE_EPSILON"]

RATE_EPSILON = 1e-4
"""Keeps the fixed ``'uniform'`` and ``'log'`` rates away from 0 and 1 (theanets' value)."""

_FORWARD = ("forward", "forwards", "fw", "")
_BACKWARD = ("back", "backward", "backwards", "bw")


def _is_int(x: Any) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)


class Recurrent(Layer):
    """Base class of the theanets recurrent layers (``theanets.layers.Recurrent``).

    Parameters
    ----------
    h_0 : str, optional
        Name of the output holding the initial hidden state (see the module docstring).
    mask : str, optional
        Name of the output holding the sequence mask (see the module docstring).
    direction : str, optional
        ``None``/``'forward'`` or ``'back'``/``'backward'``.
    bptt_limit : int, optional
        Truncate backpropagation through time to this many steps (-1: none).
    radius : float, optional
        Spectral radius of the initial hidden-to-hidden matrices.
    **kwargs
        As :class:`~graphc.theanets.Layer` (``size``, ``inputs``,
        ``name``, ``activation``, ``rng``, initialization options...).

    Notes
    -----
    A recurrent layer takes exactly one input of shape ``(batch, time,
    features)``: give the network's input layer ``ndim=3`` (networks whose
    specs name a recurrent form default to it).
    """

    #: names of the constructor arguments that name outputs holding initial states or the mask
    _state_refs: ClassVar[tuple[str, ...]] = ("h_0", "mask")
    #: tells :class:`graphc.theanets.Network` that the data are sequences (its input defaults to ndim=3)
    _sequence_layer: ClassVar[bool] = True

    def __init__(self, h_0: str | None = None, mask: str | None = None, **kwargs: Any) -> None:
        self._refs: dict[str, str | None] = {"h_0": h_0, "mask": mask}
        self._refs.update({key: kwargs.pop(key, None) for key in self._state_refs if key not in self._refs})
        super().__init__(**kwargs)
        label = f"layer {self.name!r}"
        for key, value in self._refs.items():
            if value is not None and not (isinstance(value, str) and value):
                raise ConfigurationError(f"{label}: {key} must name an output such as 'hid1:out', got {value!r}")
        direction = self.kwargs.get("direction")
        if direction is not None and (not isinstance(direction, str) or direction.lower() not in _FORWARD + _BACKWARD):
            raise ConfigurationError(f"{label}: direction must be None, 'forward' or 'back', got {direction!r}")
        limit = self.kwargs.get("bptt_limit", -1)
        if not _is_int(limit) or not (limit == -1 or limit > 0):
            raise ConfigurationError(f"{label}: bptt_limit must be -1 (no limit) or a positive int, got {limit!r}")

    # -- options -------------------------------------------------------------------------
    @property
    def h_0(self) -> str | None:
        """Full name of the output holding the initial hidden state, or None (zeros)."""
        return self._refs["h_0"]

    @property
    def backwards(self) -> bool:
        """Whether the recurrence runs from the last step to the first."""
        direction = self.kwargs.get("direction")
        return isinstance(direction, str) and direction.lower() in _BACKWARD

    @property
    def bptt_limit(self) -> int:
        """Steps of backpropagation through time (-1: no limit)."""
        return int(self.kwargs.get("bptt_limit", -1))

    def _state_size(self, key: str) -> int:
        """Size of the state an ``h_0``-like reference initializes."""
        return int(self.size)  # type: ignore[arg-type]

    # -- binding ---------------------------------------------------------------------------
    def resolve(self, layers: Any) -> None:
        """Resolve the input and the state/mask references to ``'<layer>:<output>'`` names.

        Raises
        ------
        ConfigurationError
            If a name matches no earlier layer, or its output has the wrong shape.
        """
        layers = [lyr for lyr in layers if lyr is not self]
        super().resolve(layers)
        for key, ref in self._refs.items():
            if ref is None:
                continue
            base, _, out = ref.partition(":")
            matches = [lyr for lyr in layers if lyr.name == base]
            if len(matches) != 1:
                available = ", ".join(repr(lyr.name) for lyr in layers) or "none"
                raise ConfigurationError(
                    f"layer {self.name!r} cannot resolve {key}={ref!r}: "
                    + ("no layer has that name" if not matches else "several layers have that name")
                    + f" (layers before it: {available})"
                )
            full = ref if out else matches[0].output_name
            shape = tuple(matches[0].output_shape_of(full.split(":", 1)[1]))
            if key == "mask":
                if len(shape) not in (1, 2) or (len(shape) == 2 and shape[1] not in (1, None)):
                    raise ConfigurationError(
                        f"layer {self.name!r}: mask {full!r} must be (batch, time) or (batch, time, 1), "
                        f"its shape without the batch axis is {shape}"
                    )
            else:
                want = self._state_size(key)
                if len(shape) != 1 or shape[0] not in (want, None):
                    if not self._resize_state_input(matches[0], full, key, want, layers):
                        raise ConfigurationError(
                            f"layer {self.name!r}: {key} {full!r} must be (batch, {want}), "
                            f"its shape without the batch axis is {shape}"
                        )
            self._refs[key] = full

    def _resize_state_input(self, source: Layer, full: str, key: str, want: int, layers: list[Layer]) -> bool:
        """Give an input layer that only holds this state the state's size; False when that cannot be.

        Upstream never checks an input's declared size against the data fed
        for it, so an ``Input(size=7)`` naming an 8-unit layer's ``h_0`` works
        there when its data have 8 columns.  Here the size is checked, so the
        input takes the state's size (with a warning) as long as nothing else
        reads it: a layer that used its declared size would not fit the data.
        """
        resize = getattr(source, "_resize", None)
        if resize is None or full != source.output_name or len(source.output_shape) != 1:
            return False
        for other in layers:
            refs = set(getattr(other, "_resolved", {})) | set(getattr(other, "_refs", {}).values())
            if other is not source and full in refs:
                return False
        log(
            f"warning: layer {self.name!r}: {key} {full!r} has size {source.size}, but the state has {want} units; "
            f"input {source.name!r} takes size {want} (theanets does not check the size of an input)"
        )
        resize(want)
        return True

    def bind(self, graph: Any, reset: bool = True, initialize: bool = True) -> None:
        """As :meth:`Layer.bind`; also checks that the one input is a sequence ``(batch, time, features)``."""
        layers = list(getattr(graph, "layers", graph))
        if len(self.inputs) != 1:
            raise ConfigurationError(f"layer {self.name!r}: a recurrent layer takes exactly one input, got {self.inputs}")
        if reset:
            self._resolved = {}
        self.resolve(layers)
        shape = self.input_shape
        if len(shape) != 2:
            raise ConfigurationError(
                f"layer {self.name!r}: input {self.inputs[0]!r} must be a sequence (batch, time, features), "
                f"its shape without the batch axis is {shape}; give the input layer ndim=3"
            )
        super().bind(layers, reset=False, initialize=initialize)

    def add_weights(
        self,
        name: str,
        nin: int,
        nout: int,
        mean: float = 0.0,
        std: float = 0.0,
        sparsity: float = 0.0,
        diagonal: float = 0.0,
        radius: float = 0.0,
        hidden: bool = False,
    ) -> SharedVariable:
        """Add a ``(nin, nout)`` weight matrix ``'<layer>.<name>'``.

        Parameters
        ----------
        name : str
        nin, nout : int
        mean, std, sparsity, diagonal, radius : float
            Defaults, overridden by the layer's options as in
            :meth:`Layer.add_weights`; ``std`` defaults to ``1 / sqrt(nin + nout)``.
        hidden : bool
            Kept for compatibility; ignored.  As upstream, whenever ``nin`` is
            the layer size and ``nout`` a multiple of it (input matrices too,
            when the input size equals the layer size) the matrix is built
            from square blocks drawn in turn, each with ``radius``,
            ``diagonal`` and ``sparsity`` applied; otherwise ``radius`` and
            ``diagonal`` do not apply.

        Returns
        -------
        SharedVariable
        """
        nin = self._check_dim(f"the input size of weights {name!r}", nin)
        nout = self._check_dim(f"the output size of weights {name!r}", nout)
        mean = self._option("mean", name, mean)
        std = self._option("std", name, std or 1 / np.sqrt(nin + nout))
        sparsity = self._option("sparsity", name, sparsity)
        if nin == self.size and nout % nin == 0:
            diagonal = self._option("diagonal", name, diagonal)
            radius = self._option("radius", name, radius)
            blocks = [
                random_matrix(nin, nin, mean, std, sparsity=sparsity, radius=radius, diagonal=diagonal, rng=self.rng)
                for _ in range(nout // nin)
            ]
            value = np.concatenate(blocks, axis=1)
        else:
            value = random_matrix(nin, nout, mean, std, sparsity=sparsity, rng=self.rng)
        return self.add_param(name, value)

    def _fixed_rates(self, mode: str, size: int) -> SharedVariable:
        """The non-learned rates of the ``'uniform'`` and ``'log'`` modes (kept in ``rate_values``)."""
        values = self.kwargs.get("rate_values")
        if values is None:
            eps = RATE_EPSILON
            # upstream draws these from numpy's global generator, not the layer's rng
            if mode == "uniform":
                values = np.random.uniform(eps, 1 - eps, size=size).astype(config.floatX)
            else:
                values = np.exp(np.random.uniform(-6, -eps, size=size).astype(config.floatX))
            # recorded so that a saved model (layers._spec.file_spec) reproduces them
            self.kwargs["rate_values"] = [float(v) for v in values]
        values = np.asarray(values, dtype=config.floatX)
        if values.shape != (size,):
            raise ConfigurationError(f"layer {self.name!r}: rate_values must hold {size} values, got shape {values.shape}")
        return shared(values, name=self._fmt("rate"))

    # -- expressions -------------------------------------------------------------------------
    def _input(self, inputs: LayerInputs) -> Variable:
        """The input, time-major ``(time, batch, features)``."""
        x = T.as_tensor_variable(inputs[self.inputs[0]])
        if x.ndim != 3:
            raise ConfigurationError(
                f"layer {self.name!r}: input {self.inputs[0]!r} must be (batch, time, features), got {x.ndim} dims"
            )
        return x.dimshuffle(1, 0, 2)

    def _initial(self, inputs: Mapping[str, Any], key: str, batch: Any, size: int | None = None) -> Variable:
        """The initial state named by ``key`` (``'h_0'``...), or zeros ``(batch, size)``."""
        ref = self._refs.get(key)
        if ref is None:
            return T.zeros((batch, self.size if size is None else size), dtype=config.floatX)
        if ref not in inputs:
            raise ConfigurationError(f"layer {self.name!r}: {key} {ref!r} is not among the available outputs {sorted(inputs)}")
        return T.cast(T.as_tensor_variable(inputs[ref]), config.floatX)

    def _mask(self, inputs: Mapping[str, Any]) -> Variable | None:
        """The mask, time-major ``(time, batch, 1)``, or None."""
        ref = self._refs.get("mask")
        if ref is None:
            return None
        if ref not in inputs:
            raise ConfigurationError(f"layer {self.name!r}: mask {ref!r} is not among the available outputs {sorted(inputs)}")
        m = T.as_tensor_variable(inputs[ref])
        if m.ndim == 3:
            m = m[:, :, 0]
        if m.ndim != 2:
            raise ConfigurationError(f"layer {self.name!r}: mask {ref!r} must be (batch, time), got {m.ndim} dims")
        return m.dimshuffle(1, 0, "x")

    def _scan(
        self,
        step: Callable[..., Sequence[Variable]],
        sequences: Sequence[Variable],
        inits: Sequence[Variable],
        n_outputs: int,
        inputs: Mapping[str, Any],
    ) -> list[Variable]:
        """Run ``step`` over time-major ``sequences``; outputs batch-first, in input time order.

        Parameters
        ----------
        step : callable
            ``step(*sequence_elements, *states)`` returns the new states (in
            the order of ``inits``) and then ``n_outputs`` per-step outputs.
        sequences : list of Variable
            Time-major ``(time, batch, ...)`` or ``(time, ...)``.
        inits : list of Variable
            Initial states, ``(batch, ...)``.
        n_outputs : int
        inputs : dict
            The layer's inputs (for the mask).

        Returns
        -------
        list of Variable
            States then per-step outputs, each ``(batch, time, ...)``.
        """
        n_states = len(inits)
        mask = self._mask(inputs)
        fn = step
        seqs = list(sequences)
        if mask is not None:
            n_seq = len(seqs)

            def fn(*args: Variable) -> list[Variable]:
                elems, mask_t, prev = args[:n_seq], args[n_seq], args[n_seq + 1 :]
                new = list(step(*elems, *prev))
                return [T.switch(mask_t, n, p) for n, p in zip(new[:n_states], prev)] + new[n_states:]

            seqs.append(T.neq(mask, 0))  # compared once for all steps, outside the loop
        result, _ = scan(
            fn,
            sequences=seqs,
            outputs_info=list(inits) + [None] * n_outputs,
            go_backwards=self.backwards,
            truncate_gradient=self.bptt_limit,
            name=self.name,
            _aligned=True,  # input and mask share their time axis: no cut to the shortest (a Min and a Slice copy)
        )
        outs = result if isinstance(result, list) else [result]
        flipped = []
        for o in outs:
            o = o.dimshuffle(1, 0, *range(2, o.ndim))
            flipped.append(o[:, ::-1] if self.backwards else o)
        return flipped

    def _per_step(self, value: Variable, like: Variable) -> Variable:
        """A per-unit vector broadcast to the ``(batch, time, units)`` shape of ``like``."""
        return T.ones_like(like) * value

    def _full_spec(self) -> dict[str, Any]:
        """Adds the state and mask references (``h_0``...)."""
        spec = super()._full_spec()
        for key, ref in self._refs.items():
            if key == "mask" and ref is None:
                continue  # not an upstream option; keep specs as theanets writes them
            spec[key] = ref
        return spec


class RNN(Recurrent):
    """The simple (Elman) recurrent layer: ``h_t = act(x_t W_xh + b + h_{t-1} W_hh)``.

    Parameters ``xh`` ``(nin, size)``, ``hh`` ``(size, size)``, ``b``
    ``(size,)``; outputs ``pre`` (before the activation) and ``out``.
    Options as :class:`Recurrent`.
    """

    def setup(self) -> None:
        """``xh``, ``hh``, ``b``."""
        self.add_weights("xh", self.input_size, self.size)
        self.add_weights("hh", self.size, self.size, hidden=True)
        self.add_bias("b", self.size)

    def transform(self, inputs: LayerInputs) -> dict[str, Variable]:
        """``pre`` and ``out``."""
        x = self._input(inputs)
        hh = self.find("hh")

        def step(x_t: Variable, h_tm1: Variable) -> list[Variable]:
            pre = x_t + T.dot(h_tm1, hh)
            return [self.activate(pre), pre]

        seq = T.dot(x, self.find("xh")) + self.find("b")
        out, pre = self._scan(step, [seq], [self._initial(inputs, "h_0", x.shape[1])], 1, inputs)
        return {"pre": pre, "out": out}


_RATE_MODES = ("matrix", "vector", "uniform", "log")


class RRNN(Recurrent):
    """An RNN whose units mix old and new state at a rate: ``h_t = (1 - r) h_{t-1} + r act(pre_t)``.

    ``pre_t = x_t W_xh + b + h_{t-1} W_hh``.  The rate ``r`` depends on ``rate``:

    ``'matrix'`` (default)
        ``r_t = sigmoid(x_t W_xr + r)``, per step; parameters ``r`` ``(size,)``
        and ``xr`` ``(nin, size)``.
    ``'vector'``
        ``sigmoid(r)``, a learned ``r`` ``(size,)``.
    ``'uniform'``
        Fixed values drawn from ``U(1e-4, 1 - 1e-4)``.
    ``'log'``
        Fixed values ``exp(U(-6, -1e-4))``.

    Parameters
    ----------
    rate : str or None
        None means ``'matrix'`` (theanets' older default).
    rate_values : sequence of float, optional
        The fixed rates of the ``'uniform'`` and ``'log'`` modes; drawn from
        numpy's global generator when not given (as upstream), and recorded
        in a saved model (not in :meth:`to_spec`, as upstream) so it keeps them.
    **kwargs
        As :class:`Recurrent`.

    Notes
    -----
    Outputs ``pre``, ``hid`` (``act(pre)``, before the mixing), ``rate`` and
    ``out``, all ``(batch, time, size)``: the ``rate`` of the fixed and
    vector modes is broadcast to that shape (theanets returns the bare vector,
    and the matrix mode's rate time-major).
    """

    _spec_only_keys = ("rate", "rate_values")  # upstream's to_spec has neither

    def __init__(self, rate: str | None = "matrix", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        mode = "matrix" if rate is None else rate.lower().strip() if isinstance(rate, str) else rate
        if mode not in _RATE_MODES:
            raise ConfigurationError(f"layer {self.name!r}: rate must be one of {_RATE_MODES}, got {rate!r}")
        self.rate = mode
        self._rates: SharedVariable | None = None

    def setup(self) -> None:
        """``xh``, ``hh``, ``b``, and ``r`` (vector, matrix), ``xr`` (matrix)."""
        self.add_weights("xh", self.input_size, self.size)
        self.add_weights("hh", self.size, self.size, hidden=True)
        self.add_bias("b", self.size)
        if self.rate in ("vector", "matrix"):
            self.add_bias("r", self.size)
            if self.rate == "matrix":
                self.add_weights("xr", self.input_size, self.size)
        else:
            self._rates = self._fixed_rates(self.rate, self.size)  # type: ignore[arg-type]

    def transform(self, inputs: LayerInputs) -> dict[str, Variable]:
        """``pre``, ``hid``, ``rate`` and ``out``."""
        x = self._input(inputs)
        hh = self.find("hh")
        seqs = [T.dot(x, self.find("xh")) + self.find("b")]
        if self.rate == "matrix":
            seqs.append(T.nnet.sigmoid(T.dot(x, self.find("xr")) + self.find("r")))
            fixed = None
        else:
            fixed = T.nnet.sigmoid(self.find("r")) if self.rate == "vector" else self._rates

        def step(*args: Variable) -> list[Variable]:
            x_t, h_tm1 = args[0], args[-1]
            r_t = args[1] if fixed is None else fixed
            pre = x_t + T.dot(h_tm1, hh)
            hid = self.activate(pre)
            return [(1 - r_t) * h_tm1 + r_t * hid, pre, hid]

        out, pre, hid = self._scan(step, seqs, [self._initial(inputs, "h_0", x.shape[1])], 2, inputs)
        if fixed is None:
            rate = seqs[1].dimshuffle(1, 0, 2)
        else:
            rate = self._per_step(fixed, out)
        return {"pre": pre, "hid": hid, "rate": rate, "out": out}

    def _full_spec(self) -> dict[str, Any]:
        """Adds ``rate``."""
        spec = super()._full_spec()
        spec["rate"] = self.rate
        return spec
