"""More theanets recurrent layers: MRNN, SCRN, Clockwork and Bidirectional.

The common options (``h_0``, ``direction``, ``bptt_limit``, ``radius``,
``mask``) are described in :mod:`graphc.theanets.layers.recurrent`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ... import tensor as T
from ...config import config
from ...tensor.shared import SharedVariable
from ...tensor.variable import Variable
from . import _recurrent_gated  # noqa: F401  (registers the gated forms Bidirectional may use)
from ._rnn import _RATE_MODES, Recurrent, _is_int
from .base import ConfigurationError, Layer, LayerInputs, Shape

__all__ = ["MRNN", "SCRN", "Clockwork", "Bidirectional"]


class MRNN(Recurrent):
    """A recurrent layer with multiplicative (input-modulated, factored) dynamics (Sutskever et al. 2011).

    ``f_t = x_t W_xf``, ``pre = x_t W_xh + b + (f_t * (h_{t-1} W_hf)) W_fh``, ``h = act(pre)``.

    Parameters
    ----------
    factors : int, optional
        Number of factors ``F``; default ``ceil(sqrt(size))``.
    **kwargs
        As :class:`Recurrent`.

    Notes
    -----
    Parameters ``xh`` ``(nin, size)``, ``xf`` ``(nin, F)``, ``hf`` ``(size, F)``,
    ``fh`` ``(F, size)``, ``b`` ``(size,)``.  Outputs ``pre``, ``out`` and
    ``factors`` (``x W_xf``, ``(batch, time, F)``; theanets returns it time-major).
    """

    def __init__(self, factors: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if factors is not None and (not _is_int(factors) or factors <= 0):
            raise ConfigurationError(f"layer {self.name!r}: factors must be a positive int, got {factors!r}")
        self._factors = None if factors is None else int(factors)

    @property
    def factors(self) -> int:
        """The number of factors."""
        if self._factors is not None:
            return self._factors
        if self.size is None:
            raise ConfigurationError(f"layer {self.name!r}: the number of factors follows from the size, which is not known yet")
        return int(np.ceil(np.sqrt(self.size)))

    def output_shape_of(self, output: str) -> Shape:
        """``factors`` has ``F`` units, the other outputs ``size``."""
        shape = self.output_shape
        return tuple(shape[:-1]) + (self.factors,) if output == "factors" else shape

    def setup(self) -> None:
        """``xh``, ``xf``, ``hf``, ``fh``, ``b``."""
        self.add_weights("xh", self.input_size, self.size)
        self.add_weights("xf", self.input_size, self.factors)
        self.add_weights("hf", self.size, self.factors, hidden=True)
        self.add_weights("fh", self.factors, self.size)
        self.add_bias("b", self.size)

    def transform(self, inputs: LayerInputs) -> dict[str, Variable]:
        """``pre``, ``factors`` and ``out``."""
        x = self._input(inputs)
        hf, fh = self.find("hf"), self.find("fh")
        xh = T.dot(x, self.find("xh")) + self.find("b")
        f = T.dot(x, self.find("xf"))

        def step(xh_t: Variable, f_t: Variable, h_tm1: Variable) -> list[Variable]:
            pre = xh_t + T.dot(f_t * T.dot(h_tm1, hf), fh)
            return [self.activate(pre), pre]

        out, pre = self._scan(step, [xh, f], [self._initial(inputs, "h_0", x.shape[1])], 1, inputs)
        return {"pre": pre, "factors": f.dimshuffle(1, 0, 2), "out": out}

    def _full_spec(self) -> dict[str, Any]:
        """Adds ``factors``."""
        spec = super()._full_spec()
        spec["factors"] = self.factors
        return spec


class SCRN(Recurrent):
    """The structurally constrained recurrent network (Mikolov et al. 2015), with an output bias.

    As upstream theanets computes it: ``s_t = (1 - r) s_{t-1} + r (x_t W_xs)``,
    ``h_t = sigmoid(x_t W_xh + h_{t-1} W_hh + s_t W_sh)`` (the hidden units are
    always logistic), ``pre_t = h_t W_ho + s_t W_so + b`` and
    ``out_t = act(pre_t)``.

    Parameters
    ----------
    rate : str
        ``'vector'`` (default): ``r = sigmoid(r)`` with a learned ``r``; or
        the fixed ``'uniform'``/``'log'`` rates of :class:`~graphc.theanets.layers.RRNN`.
    s_0 : str, optional
        Name of the output holding the initial context state (default zeros).
    context_size : int, optional
        Number of context units ``C``; default ``size`` (not in upstream theanets).
    rate_values : sequence of float, optional
        The fixed rates (see :class:`~graphc.theanets.layers.RRNN`).
    **kwargs
        As :class:`Recurrent`.

    Notes
    -----
    Parameters, named as upstream: ``xs`` ``(nin, C)``, ``xh`` ``(nin, size)``, ``sh``
    ``(C, size)``, ``hh``, ``ho`` ``(size, size)``, ``so`` ``(C, size)``, ``b``
    ``(size,)`` and, for ``'vector'``, ``r`` ``(C,)``.  Outputs ``out``,
    ``pre``, ``hid`` (``h``, the carried hidden state), ``state`` (``C`` units)
    and ``rate`` (broadcast to ``(batch, time, C)``; upstream gives the bare
    vector).  ``h_0`` initializes ``h``, ``s_0`` the context state.
    """

    _state_refs = ("h_0", "mask", "s_0")
    _spec_only_keys = ("rate", "rate_values", "context_size")  # upstream's to_spec has none of them

    def __init__(self, rate: str = "vector", context_size: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        mode = rate.lower().strip() if isinstance(rate, str) else rate
        if mode not in _RATE_MODES or mode == "matrix":
            raise ConfigurationError(f"layer {self.name!r}: rate must be 'vector', 'uniform' or 'log', got {rate!r}")
        if context_size is not None and (not _is_int(context_size) or context_size <= 0):
            raise ConfigurationError(f"layer {self.name!r}: context_size must be a positive int, got {context_size!r}")
        self.rate = mode
        self._context_size = None if context_size is None else int(context_size)
        self._rates: SharedVariable | None = None

    @property
    def context_size(self) -> int:
        """Number of context (state) units."""
        return self._context_size if self._context_size is not None else int(self.size)  # type: ignore[arg-type]

    @property
    def s_0(self) -> str | None:
        """Full name of the output holding the initial context state, or None (zeros)."""
        return self._refs["s_0"]

    def _state_size(self, key: str) -> int:
        return self.context_size if key == "s_0" else int(self.size)  # type: ignore[arg-type]

    def output_shape_of(self, output: str) -> Shape:
        """``state`` and ``rate`` have ``context_size`` units, the other outputs ``size``."""
        shape = self.output_shape
        return tuple(shape[:-1]) + (self.context_size,) if output in ("state", "rate") else shape

    def setup(self) -> None:
        """``xs``, ``xh``, ``sh``, ``hh``, ``ho``, ``so``, ``b`` and ``r`` (vector rates), upstream's order."""
        n, c = self.size, self.context_size
        self.add_weights("xs", self.input_size, c)
        self.add_weights("xh", self.input_size, n)
        self.add_weights("sh", c, n, hidden=True)
        self.add_weights("hh", n, n, hidden=True)
        self.add_weights("ho", n, n, hidden=True)
        self.add_weights("so", c, n, hidden=True)
        self.add_bias("b", n)
        if self.rate == "vector":
            self.add_bias("r", c)
        else:
            self._rates = self._fixed_rates(self.rate, c)

    def transform(self, inputs: LayerInputs) -> dict[str, Variable]:
        """``out``, ``pre``, ``hid``, ``state`` and ``rate``."""
        x = self._input(inputs)
        hh, sh = self.find("hh"), self.find("sh")
        r = T.nnet.sigmoid(self.find("r")) if self.rate == "vector" else self._rates
        xh, xs = T.dot(x, self.find("xh")), T.dot(x, self.find("xs"))

        def step(xh_t: Variable, xs_t: Variable, h_tm1: Variable, s_tm1: Variable) -> list[Variable]:
            s_t = (1 - r) * s_tm1 + r * xs_t
            p_t = xh_t + T.dot(h_tm1, hh) + T.dot(s_t, sh)
            return [T.nnet.sigmoid(p_t), s_t]

        batch = x.shape[1]
        inits = [self._initial(inputs, "h_0", batch), self._initial(inputs, "s_0", batch, self.context_size)]
        hid, state = self._scan(step, [xh, xs], inits, 0, inputs)
        pre = T.dot(hid, self.find("ho")) + T.dot(state, self.find("so")) + self.find("b")
        return {"out": self.activate(pre), "pre": pre, "hid": hid, "state": state, "rate": self._per_step(r, state)}

    def _full_spec(self) -> dict[str, Any]:
        """Adds ``rate`` and, when given, ``context_size``."""
        spec = super()._full_spec()
        spec["rate"] = self.rate
        if self._context_size is not None:
            spec["context_size"] = self._context_size
        return spec


class Clockwork(Recurrent):
    """The clockwork RNN (Koutnik et al. 2014): modules of units that update at their own periods.

    The ``size`` units form ``M = len(periods)`` equal modules, module ``i``
    having period ``T_i`` (periods sorted ascending: module 0 is the fastest).
    At step ``t`` module ``i`` updates, ``h^i = act(x_t W_xh^i + b^i + h_{t-1} (W_hh * mask)^i)``,
    only when ``t mod T_i == 0``, and otherwise keeps its value (``pre`` too).
    The block mask lets slower modules feed faster ones and not the reverse
    (theanets issue #125): hidden unit ``j`` of module ``m(j)`` feeds module
    ``i`` iff ``m(j) >= i``.

    Parameters
    ----------
    periods : sequence of int
        One positive period per module; ``size`` must be a multiple of their number.
    **kwargs
        As :class:`Recurrent`.

    Notes
    -----
    Parameters as :class:`~graphc.theanets.layers.RNN` (``xh``, ``hh``, ``b``); outputs
    ``pre`` and ``out``.  ``t`` counts the steps in the order they run, so a
    ``direction='back'`` layer updates every module at its first step (the
    last time step), and equals the forward layer on the time-reversed input.
    With a ``mask``, a masked step keeps every state and still counts.
    """

    def __init__(self, periods: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if periods is None or isinstance(periods, (str, bytes)) or not hasattr(periods, "__len__") or not len(periods):
            raise ConfigurationError(f"layer {self.name!r}: Clockwork needs periods, a sequence of positive ints")
        if not all(_is_int(p) and p > 0 for p in periods):
            raise ConfigurationError(f"layer {self.name!r}: periods must be positive ints, got {periods!r}")
        self.periods = tuple(sorted(int(p) for p in periods))
        if self.size is not None and self.size % len(self.periods):
            raise ConfigurationError(
                f"layer {self.name!r}: size {self.size} is not a multiple of the {len(self.periods)} modules {self.periods}"
            )

    def setup(self) -> None:
        """``hh``, ``xh``, ``b`` (drawn in upstream's order); the block mask and the unit periods are constants."""
        if self.size % len(self.periods):
            raise ConfigurationError(
                f"layer {self.name!r}: size {self.size} is not a multiple of the {len(self.periods)} modules {self.periods}"
            )
        self.add_weights("hh", self.size, self.size, hidden=True)
        self.add_weights("xh", self.input_size, self.size)
        self.add_bias("b", self.size)

    def block_mask(self) -> np.ndarray:
        """The ``(size, size)`` 0/1 mask of ``hh``: row ``j`` (source unit) to column ``k`` (target unit)."""
        n = self.size // len(self.periods)
        mask = np.zeros((self.size, self.size), dtype=config.floatX)
        for i in range(len(self.periods)):
            mask[i * n :, i * n : (i + 1) * n] = 1
        return mask

    def unit_periods(self) -> np.ndarray:
        """The period of every unit, ``(size,)``."""
        return np.repeat(np.asarray(self.periods, dtype=np.int64), self.size // len(self.periods))

    def transform(self, inputs: LayerInputs) -> dict[str, Variable]:
        """``pre`` and ``out``."""
        x = self._input(inputs)
        hh = self.find("hh") * T.constant(self.block_mask())
        seq = T.dot(x, self.find("xh")) + self.find("b")
        steps = T.arange(x.shape[0], dtype="int64")
        # which units update at each step (by the step counter); built once, outside the loop
        update = T.eq(T.mod(steps.dimshuffle(0, "x"), T.constant(self.unit_periods())), 0)
        if self.backwards:
            update = update[::-1]  # the loop reads element T-1-k at its step k

        def step(x_t: Variable, u_t: Variable, h_tm1: Variable, pre_tm1: Variable) -> list[Variable]:
            pre_new = x_t + T.dot(h_tm1, hh)
            pre = T.switch(u_t, pre_new, pre_tm1)
            return [T.switch(u_t, self.activate(pre_new), h_tm1), pre]

        batch = x.shape[1]
        h0 = self._initial(inputs, "h_0", batch)
        out, pre = self._scan(step, [seq, update], [h0, T.zeros((batch, self.size), dtype=config.floatX)], 0, inputs)
        return {"pre": pre, "out": out}

    def _full_spec(self) -> dict[str, Any]:
        """Adds ``periods``."""
        spec = super()._full_spec()
        spec["periods"] = tuple(self.periods)  # a tuple, as upstream
        return spec


class Bidirectional(Layer):
    """Two recurrent workers of ``size // 2`` units, one running forward and one backward in time.

    Parameters
    ----------
    worker : str
        The recurrent form of the workers (default ``'rnn'``).
    **kwargs
        As :class:`~graphc.theanets.Layer`, and the worker's own options
        (``h_0``, ``bptt_limit``, ``rate``...), passed to both workers.

    Attributes
    ----------
    worker : str
    forward, backward : Recurrent
        The workers, named ``<name>_fw`` and ``<name>_bw``; their parameters
        (``'<name>_fw.xh'``...) are this layer's.

    Notes
    -----
    Outputs ``out = concat(fw.out, bw.out)`` on the last axis, ``pre`` and
    ``cell`` likewise when the worker has them, and every worker output as
    ``fw_<output>`` / ``bw_<output>``.  The backward worker's outputs are in
    input time order, so the two halves line up in time (upstream theanets
    concatenates the backward output still reversed, a known bug).  ``size``
    must be even.
    """

    _sequence_layer = True
    _spec_only_keys = ("fw_rate_values", "bw_rate_values")

    def __init__(self, worker: str = "rnn", **kwargs: Any) -> None:
        kwargs.pop("direction", None)
        # the fixed rates each worker drew (RRNN/SCRN 'uniform' and 'log'), as a saved model records them
        own_rates = {suffix: kwargs.pop(f"{suffix}_rate_values", None) for suffix in ("fw", "bw")}
        super().__init__(**kwargs)
        cls = Layer._registry.get(worker.lower()) if isinstance(worker, str) else None
        if cls is None or not issubclass(cls, Recurrent):
            forms = sorted(k for k, c in Layer._registry.items() if issubclass(c, Recurrent))
            raise ConfigurationError(f"layer {self.name!r}: worker must be a recurrent form ({', '.join(forms)}), got {worker!r}")
        if self.size is None or self.size % 2:
            raise ConfigurationError(f"layer {self.name!r}: a bidirectional layer needs an even size, got {self.size!r}")
        self.worker = worker.lower()
        shared = {k: v for k, v in self.kwargs.items() if k not in ("rng",)}
        # as upstream, the workers get this layer's rng option as given: an int seeds
        # each worker afresh (so the two start from the same values), a RandomState is shared
        if "rng" in self.kwargs:
            shared["rng"] = self.kwargs["rng"]

        def make(suffix: str, direction: str) -> Recurrent:
            options = dict(shared)
            if own_rates[suffix] is not None:
                options["rate_values"] = own_rates[suffix]
            return Layer.build(  # type: ignore[return-value]
                self.worker, size=self.size // 2, name=f"{self.name}_{suffix}", inputs=self.inputs,
                direction=direction, **options,
            )

        self.forward = make("fw", "forward")
        self.backward = make("bw", "backward")

    @property
    def params(self) -> list[SharedVariable]:
        """The workers' parameters, forward first."""
        return self.forward.params + self.backward.params

    def bind(self, graph: Any, reset: bool = True, initialize: bool = True) -> None:
        """Bind both workers, then this layer."""
        self.forward.bind(graph, reset=reset, initialize=initialize)
        self.backward.bind(graph, reset=reset, initialize=initialize)
        super().bind(graph, reset=reset, initialize=initialize)

    def setup(self) -> None:
        """Nothing: the parameters belong to the workers."""

    def output_shape_of(self, output: str) -> Shape:
        """``fw_*``/``bw_*`` as the worker's output, the concatenations ``size`` wide."""
        for prefix, layer in (("fw_", self.forward), ("bw_", self.backward)):
            if output.startswith(prefix):
                return layer.output_shape_of(output[len(prefix) :])
        shape = self.forward.output_shape_of(output)
        return tuple(shape[:-1]) + (None if shape[-1] is None else 2 * shape[-1],)

    def transform(self, inputs: LayerInputs) -> tuple[dict[str, Variable], list[Any]]:
        """``out`` (and ``pre``/``cell``), ``fw_*`` and ``bw_*``; the workers' updates."""
        fw_out, fw_upd = self.forward.connect(inputs)
        bw_out, bw_upd = self.backward.connect(inputs)
        fw = {k.split(":", 1)[1]: v for k, v in fw_out.items()}
        bw = {k.split(":", 1)[1]: v for k, v in bw_out.items()}
        outputs = {}
        for key in ("out", "pre", "cell"):
            if key in fw and key in bw:
                outputs[key] = T.concatenate([fw[key], bw[key]], axis=fw[key].ndim - 1)
        outputs.update({f"fw_{k}": v for k, v in fw.items()})
        outputs.update({f"bw_{k}": v for k, v in bw.items()})
        return outputs, list(fw_upd) + list(bw_upd)

    def _full_spec(self) -> dict[str, Any]:
        """Adds ``worker`` and the workers' fixed rates (``fw_rate_values``, ``bw_rate_values``), if any."""
        spec = super()._full_spec()
        spec["worker"] = self.worker
        for suffix, layer in (("fw", self.forward), ("bw", self.backward)):
            if "rate_values" in layer.kwargs and "rate_values" not in self.kwargs:
                spec[f"{suffix}_rate_values"] = layer.kwargs["rate_values"]
        return spec
