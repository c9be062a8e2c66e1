"""The theanets :class:`Network` (upstream's ``theanets.graph``); the models built on it are in
:mod:`graphc.theanets.feedforward`, :mod:`~graphc.theanets.recurrent` and :mod:`~graphc.theanets.convolution`.

A model is a list of theanets layers built from compact specs (see
:meth:`Network.add_layer`), bound in order, and connected into one dict of
named outputs (``'hid1:out'``, ``'out:pre'``...).  Forward functions are
compiled with :func:`graphc.function` on first use and cached.  Models save to
a safe ``.npz`` (parameter arrays plus a JSON description; no pickle) and
export to ONNX with a dynamic batch size.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from ..runtime import function
from ..tensor.shared import SharedVariable
from ..tensor.variable import Variable
from . import losses as _losses
from ._network_files import NetworkFiles
from ._training_data import feed_array, is_sparse
from .layers._spec import find_partner, parse_spec, unknown_form
from .layers.base import ConfigurationError, Layer
from .layers.feedforward import Input, Tied
from .regularizers import Regularizer, from_kwargs, options

__all__ = ["Network", "ConfigurationError"]

_log = logging.getLogger("graphc.theanets")


class Network(NetworkFiles):
    """A theanets computation graph of layers (``theanets.Network``).

    Parameters
    ----------
    layers : sequence
        Layer specs, first the input: a :class:`~graphc.theanets.Layer`
        instance; an int (size); a tuple of ints (a shape, the last entry
        being the size); a mixed tuple, where a registered layer name is the
        form, another string the activation and an int the size
        (``(3, 'nobias', 'linear')``); a dict with ``form`` and keyword
        arguments; or a registered form name.  When a later spec names a
        recurrent form (``(4, 'lstm')``), the first layer, given by its
        size, is a sequence input ``(batch, time, size)`` (``ndim=3``).
    loss : str, dict or Loss
        ``'mse'`` (default), ``'mae'``, ``'xe'``.
    weighted : bool
        Whether the loss takes a ``weights`` array.
    rng : int or numpy.random.RandomState
        Seed (or generator) for the layers' initial values; default 13.  One
        generator serves all the layers built from specs, in order, so two
        layers of one shape start from different values (theanets reseeds each
        layer with the same int, which makes them start identical).

    Attributes
    ----------
    layers : list of Layer
    losses : list of Loss

    Raises
    ------
    ConfigurationError
        For an unknown form, a bad input reference, a tied layer without a
        partner, or sizes that do not fit, naming the layer.
    """

    DEFAULT_OUTPUT_ACTIVATION: ClassVar[str] = "linear"
    DEFAULT_LOSS: ClassVar[str] = "mse"
    INPUT_NDIM: ClassVar[int] = 2

    def __init__(self, layers: Sequence[Any] = (), loss: Any = None, weighted: bool = False, rng: Any = 13) -> None:
        self._graphs: dict[Any, tuple[dict[str, Variable], list[Any]]] = {}
        self._functions: dict[Any, Any] = {}
        self._rng = rng
        # passed to every layer as upstream does: an int seeds a fresh RandomState in
        # each layer (so same-shaped layers start identical, as in theanets); a
        # RandomState is shared, each layer drawing from it in turn
        self._layer_rng = rng
        if isinstance(layers, (int, str, dict, Layer)):
            raise ConfigurationError(f"layers must be a sequence of layer specs, got {layers!r}")
        specs = list(layers)
        self._input_ndim = 3 if any(_is_sequence_spec(s, i) for i, s in enumerate(specs) if i) else self.INPUT_NDIM
        self.layers: list[Layer] = []
        for i, spec in enumerate(specs):
            self.add_layer(layer=spec, is_output=i == len(specs) - 1)
        self.losses: list[_losses.Loss] = []
        if self.layers:
            self.set_loss(loss or self.DEFAULT_LOSS, weighted=weighted)

    # -- building ---------------------------------------------------------------
    def add_layer(self, layer: Any = None, is_output: bool = False, **kwargs: Any) -> None:
        """Add a layer from a spec (see the class docstring) and bind it to the layers before it.

        Parameters
        ----------
        layer : Layer, int, tuple, dict or str
        is_output : bool
            The output layer defaults to the name ``'out'`` and the activation
            :attr:`DEFAULT_OUTPUT_ACTIVATION`.
        **kwargs
            Defaults for the layer's arguments.
        """
        if isinstance(layer, Layer):
            if not layer.inputs and not isinstance(layer, Input) and self.layers:
                layer.inputs = (self.layers[-1].output_name,)
            self._append(layer)
            return
        default_form = kwargs.pop("form", "ff" if self.layers else "input")
        form, parsed = parse_spec(layer, len(self.layers), default_form)
        kwargs.update(parsed)
        default = "in" if form == "input" else "out" if is_output else f"hid{len(self.layers)}"
        kwargs.setdefault("name", default)
        if not Layer.is_registered(form):
            raise unknown_form(f"layer {kwargs['name']!r}", form)
        if form == "input":
            if "shape" not in kwargs:
                first = not self.layers  # the network input; further inputs (initial states...) keep INPUT_NDIM
                kwargs.setdefault("ndim", getattr(self, "_input_ndim", self.INPUT_NDIM) if first else self.INPUT_NDIM)
        else:
            if not self.layers:
                raise ConfigurationError(f"layer {kwargs['name']!r}: the first layer of a network must be an input")
            kwargs.setdefault("inputs", self.layers[-1].output_name)
            kwargs.setdefault("rng", self._layer_rng)
            kwargs.setdefault("activation", self.DEFAULT_OUTPUT_ACTIVATION if is_output else "relu")
        if issubclass(Layer._registry[form], Tied) and "partner" not in kwargs:
            kwargs["partner"] = find_partner(self.layers, kwargs["name"])
        self._append(Layer.build(form, **kwargs))

    def _append(self, layer: Layer) -> None:
        if any(lyr.name == layer.name for lyr in self.layers):
            raise ConfigurationError(f"layer {layer.name!r}: the network already has a layer of that name")
        layer.bind(self.layers)
        self.layers.append(layer)
        self._graphs.clear()
        self._functions.clear()

    # -- losses ------------------------------------------------------------------
    def _loss_target(self, cls: type[_losses.Loss]) -> Any:
        ndim = len(self.layers[-1].output_shape) + 1
        return ndim - 1 if issubclass(cls, _losses.CrossEntropy) else ndim

    def add_loss(self, loss: Any = None, **kwargs: Any) -> None:
        """Add a loss: a :class:`~graphc.theanets.losses.Loss`, a name, or a dict with ``form``."""
        if isinstance(loss, _losses.Loss):
            self.losses.append(loss)
            return
        kw: dict[str, Any] = dict(kwargs)
        form = loss or self.DEFAULT_LOSS
        if isinstance(loss, Mapping):
            kw.update({k: v for k, v in loss.items() if k != "form"})
            form = loss.get("form", self.DEFAULT_LOSS)
        form = kw.pop("form", form)
        if not isinstance(form, str) or form.lower() not in _losses.Loss._registry:
            raise ValueError(f"unknown loss {form!r}; known losses: {', '.join(sorted(_losses.Loss._registry))}")
        cls = _losses.Loss._registry[form.lower()]
        kw.setdefault("output_name", self.layers[-1].output_name)
        kw.setdefault("target", self._loss_target(cls))
        self.losses.append(cls(**kw))

    def set_loss(self, *args: Any, **kwargs: Any) -> None:
        """Replace the losses by one (arguments as :meth:`add_loss`)."""
        self.losses = []
        self.add_loss(*args, **kwargs)

    def regularizers(self, **kwargs: Any) -> list[Any]:
        """The theanets regularizers that keyword arguments ask for (see :func:`graphc.theanets.regularizers.from_kwargs`).

        Raises
        ------
        TypeError
            For a keyword that is not a regularizer option, naming the known ones.
        """
        known = options()
        unknown = sorted(k for k in kwargs if k not in known)
        if unknown:
            raise TypeError(f"{type(self).__name__}: unknown regularizer option(s) {unknown}; options are {sorted(known)}")
        return from_kwargs(self, **kwargs)

    def loss(self, **kwargs: Any) -> Variable:
        """The symbolic training loss: the weighted sum of :attr:`losses` and of the regularizers' terms.

        Parameters
        ----------
        **kwargs
            Regularizer options (``weight_l2=1e-4``, ``hidden_dropout=0.5``...;
            see :func:`graphc.theanets.regularizers.from_kwargs`).
        """
        loss_terms, reg_terms = self.loss_terms(**kwargs)
        total: Any = None
        for term in [t for _, t in loss_terms] + reg_terms:
            total = term if total is None else total + term
        return total

    def loss_terms(self, **kwargs: Any) -> tuple[list[tuple[_losses.Loss, Variable]], list[Variable]]:
        """The terms :meth:`loss` adds up: ``[(Loss, its weighted term)...]``, then the regularizers' weighted terms.

        Data-parallel training weighs each term by the rank's share of the batch
        (:mod:`graphc.theanets._distributed`).  ``kwargs`` are regularizer options, as for :meth:`loss`.
        """
        regs = self.regularizers(**kwargs)
        outputs = self._outputs(regs)
        loss_terms = [(loss, loss(outputs) if loss.weight == 1 else loss.weight * loss(outputs)) for loss in self.losses]
        reg_terms = []
        for reg in regs:
            term = reg.loss(self.layers, outputs)
            if reg.weight and not (isinstance(term, (int, float)) and term == 0):
                reg_terms.append(reg.weight * term)
        return loss_terms, reg_terms

    def monitors(self, **kwargs: Any) -> list[tuple[str, Variable]]:
        """Named expressions to watch in training: ``err`` (the first loss), and the ``monitors`` option.

        Parameters
        ----------
        monitors : dict or list of pairs, optional
            ``{pattern: levels}``.  A pattern is a glob (``fnmatch``) over
            output names (``'hid1:out'``, ``'hid?:out'``) and parameter names
            (``'hid1.w'``, ``'*.w'``); each match is monitored, outputs first.
            A numeric level ``v`` monitors the fraction of values below it
            (``'hid1:out<0.1'``, ``'hid1.w<1'``), a pair ``(label, callable)``
            (or a ``{label: callable}`` dict) monitors ``callable(expression)``
            (``'hid1:out:label'``), as theanets does.  A pattern that matches
            nothing is dropped, as upstream, with a logged warning.
        **kwargs
            Regularizer options (the graph they build is the one monitored).
        """
        from .util import outputs_matching, params_matching

        outputs = self._outputs(self.regularizers(**kwargs))
        result: list[tuple[str, Variable]] = [("err", self.losses[0](outputs))]
        extra = kwargs.get("monitors") or {}
        for pattern, levels in extra.items() if isinstance(extra, Mapping) else extra:
            if not isinstance(pattern, str):
                raise TypeError(f"monitors: a name must be an output or parameter pattern string, got {pattern!r}")
            matches = list(outputs_matching(outputs, pattern)) + list(params_matching(self.layers, pattern))
            if not matches:
                _log.warning("monitors: %r matches no output or parameter; outputs are %s", pattern, sorted(outputs))
            if isinstance(levels, Mapping):
                levels = list(levels.items())
            elif isinstance(levels, (int, float, str)) or callable(levels):
                levels = [levels]
            for level in levels:
                is_pair = isinstance(level, (tuple, list)) and len(level) == 2 and callable(level[1])
                is_number = isinstance(level, (int, float, np.integer, np.floating)) and not isinstance(level, bool)
                if not (is_pair or is_number):
                    raise TypeError(
                        f"monitors: a level of {pattern!r} must be a number or a (label, callable) pair, got {level!r}"
                    )
            for name, expr in matches:  # upstream's order: each match, then its levels
                for level in levels:
                    if isinstance(level, (tuple, list)):
                        result.append((f"{name}:{level[0]}", level[1](expr)))
                    else:
                        result.append((f"{name}<{level}", (expr < level).mean()))
        return result

    def updates(self, **kwargs: Any) -> list[Any]:
        """Updates the graph needs besides training (the layers' updates; usually none)."""
        return self.build_graph(self.regularizers(**kwargs))[1]

    # -- training ----------------------------------------------------------------
    def itertrain(
        self,
        train: Any,
        valid: Any = None,
        algo: str = "rmsprop",
        subalgo: str = "rmsprop",
        save_every: Any = 0,
        save_progress: Any = None,
        **kwargs: Any,
    ) -> Iterator[tuple[dict[str, float], dict[str, float]]]:
        """Train, yielding ``(train_monitors, valid_monitors)`` dicts after every iteration.

        Parameters
        ----------
        train, valid : list of array_like, array_like or callable
            Arrays for :attr:`variables` (``[inputs, targets]``; an autoencoder
            ``[inputs]``) or a callable returning such batches; ``valid``
            defaults to ``train``.
        algo : str
            ``'sgd'``, ``'nag'``, ``'rmsprop'``, ``'adam'``, ``'adadelta'``, ``'adagrad'``, ``'rprop'`` or ``'esgd'``;
            or theanets' pretrainers: ``'layerwise'`` (supervised, layer by layer), ``'pretrain'``
            (unsupervised, a tied autoencoder per layer), ``'sample'`` (weights from data samples).
        subalgo : str
            The algorithm of each pretraining stage.
        save_every : int or float
            Save every this many iterations (int) or minutes (float) ...
        save_progress : str, optional
            ... to this file (``{}`` in it becomes the Unix time).
        **kwargs
            :class:`graphc.theanets.trainer.Trainer` options: ``batch_size``,
            ``learning_rate``, ``patience``, ``min_improvement``,
            ``validate_every``, ``max_updates``, ``progress``...

        Yields
        ------
        train_monitors, valid_monitors : dict
            ``loss``, ``err`` (the unregularized loss) and, for a classifier, ``acc``.
        """
        from ._trainers import make_trainer

        if "algorithm" in kwargs:  # theanets' deprecated name
            import warnings

            warnings.warn('use "algo" instead of "algorithm"', DeprecationWarning, stacklevel=2)
            algo = kwargs.pop("algorithm")
            algo = algo[0] if isinstance(algo, (list, tuple)) else algo
        trainer = make_trainer(
            self, algo, subalgo=subalgo, save_every=save_every, save_progress=save_progress, **kwargs
        )
        yield from trainer.itertrain(train, valid)

    def train(self, *args: Any, **kwargs: Any) -> tuple[dict[str, float], dict[str, float]]:
        """Train until the trainer stops (arguments as :meth:`itertrain`); the last monitors.

        The best parameters (by validation loss) are restored at the end.
        """
        result: tuple[dict[str, float], dict[str, float]] = ({}, {})
        for pair in self.itertrain(*args, **kwargs):
            result = pair
        return result

    # -- graph -------------------------------------------------------------------
    @property
    def inputs(self) -> list[Variable]:
        """The input placeholders, one per :class:`Input` layer."""
        return [lyr.input for lyr in self.layers if isinstance(lyr, Input)]

    @property
    def variables(self) -> list[Variable]:
        """The placeholders a loss computation needs: inputs, then targets and weights."""
        result = list(self.inputs)
        for loss in self.losses:
            result.extend(v for v in loss.variables if all(v is not r for r in result))
        return result

    @property
    def params(self) -> list[SharedVariable]:
        """All parameters, in layer order, each once."""
        out: list[SharedVariable] = []
        for layer in self.layers:
            out.extend(p for p in layer.params if all(p is not q for q in out))
        return out

    @property
    def num_params(self) -> int:
        """Total number of parameter values."""
        return int(sum(int(np.prod(p.type.shape)) for p in self.params))

    def find(self, which: Any, param: Any) -> SharedVariable:
        """A parameter of a layer: ``find('hid1', 'w')`` or ``find(1, 0)``.

        Raises
        ------
        KeyError
            If there is no such layer or parameter.
        """
        for i, layer in enumerate(self.layers):
            if (isinstance(which, (int, np.integer)) and which == i) or which == layer.name:
                return layer.find(param)
        raise KeyError(f"no layer {which!r}; layers are {[lyr.name for lyr in self.layers]}")

    def build_graph(self, regularizers: Sequence[Any] = ()) -> tuple[dict[str, Variable], list[Any]]:
        """Connect the layers: every output, and the updates the layers need (as upstream).

        Parameters
        ----------
        regularizers : sequence of Regularizer
            Their :meth:`~graphc.theanets.regularizers.Regularizer.modify_graph` rewrites
            each layer's outputs as it is connected (noise, dropout), so later
            layers see the rewritten values.  Graphs are cached by the
            regularizers' keys: equal options give the same graph.

        Returns
        -------
        outputs : dict
            ``'<layer>:<output>'`` -> expression, for every layer's outputs.
        updates : list of (SharedVariable, expression)
            The layers' updates (usually empty).
        """
        key = tuple(r.key() for r in regularizers if type(r).modify_graph is not Regularizer.modify_graph)
        if key not in self._graphs:
            outputs: dict[str, Variable] = {}
            updates: list[Any] = []
            for layer in self.layers:
                out, upd = layer.connect(outputs)
                for reg in regularizers:
                    reg.modify_graph(out)
                outputs.update(out)
                updates.extend(upd)
            self._graphs[key] = (outputs, updates)
        outputs, updates = self._graphs[key]
        return outputs, list(updates)

    def _outputs(self, regularizers: Sequence[Any] = ()) -> dict[str, Variable]:
        """The outputs dict of :meth:`build_graph` (cached, the same object for equal options)."""
        return self.build_graph(regularizers)[0]

    def _output_key(self, name: Any) -> str:
        outputs = self._outputs()
        if isinstance(name, Layer):
            name = name.output_name
        if isinstance(name, (int, np.integer)) and not isinstance(name, bool):
            name = self.layers[int(name)].output_name
        if isinstance(name, str) and name not in outputs and f"{name}:out" in outputs:
            name = f"{name}:out"
        if name not in outputs:
            raise KeyError(f"the network has no output {name!r}; outputs are {sorted(outputs)}")
        return name

    # -- compiled functions ------------------------------------------------------
    def _compiled(self, names: tuple[str, ...], regularizers: Sequence[Any] = ()) -> Any:
        key = ("outputs", names, tuple(r.key() for r in regularizers))
        if key not in self._functions:
            outputs = self._outputs(regularizers)
            self._functions[key] = function(
                self.inputs, [outputs[n] for n in names], on_unused_input="ignore", name=f"{type(self).__name__}.forward"
            )
        return self._functions[key]

    def _arrays(self, x: Any) -> list[Any]:
        """The data for :attr:`inputs` from ``x`` (one array, a list, or a dict by input name).

        A ``scipy.sparse`` matrix for a sparse input (``Input(sparse='csr')``)
        is densified here; a sparse matrix for a dense input, or a dense array
        for a sparse one, raises :class:`TypeError` naming the input.
        """
        inputs = self.inputs
        if isinstance(x, Mapping):
            names = [v.name for v in inputs]
            unknown, missing = sorted(set(x) - set(names)), [n for n in names if n not in x]
            if unknown or missing:
                raise KeyError(f"unknown input name(s) {unknown}, missing {missing}; the network's inputs are {names}")
            items = [x[n] for n in names]
        elif len(inputs) == 1:
            items = [x]
        elif isinstance(x, (list, tuple)) and len(x) == len(inputs):
            items = list(x)
        else:
            raise ValueError(
                f"this network has {len(inputs)} inputs {[v.name for v in inputs]}; pass a list or a dict of arrays"
            )
        where = f"{type(self).__name__} input data"
        return [feed_array(v, item, where) for v, item in zip(inputs, items)]

    def feed_forward(self, x: Any, **kwargs: Any) -> dict[str, np.ndarray]:
        """Every output of the graph for input data ``x`` (a dict by ``'<layer>:<output>'``).

        Keyword arguments are regularizer options (``input_noise=0.1``...), applied to this pass.
        """
        regs = self.regularizers(**kwargs)
        names = tuple(self._outputs(regs))
        return dict(zip(names, self._compiled(names, regs)(*self._arrays(x))))

    def predict(self, x: Any, **kwargs: Any) -> np.ndarray:
        """The network output (the last layer's ``out``) for input data ``x``.

        Keyword arguments are regularizer options (``hidden_dropout=0.5`` for
        Monte-Carlo dropout...), applied to this prediction.
        """
        name = self.layers[-1].output_name
        return self._compiled((name,), self.regularizers(**kwargs))(*self._arrays(x))[0]

    def score(self, x: Any, y: Any, w: Any = None, **kwargs: Any) -> float:
        """R^2 of the predictions: ``1 - sum(w u^2) / sum(w v^2)``, ``u = y - predict(x)``, ``v = y - mean(y)``."""
        y = np.asarray(y.toarray() if is_sparse(y) else y)  # an autoencoder scores a sparse input against itself
        pred = self.predict(x, **kwargs)
        if len(pred) != len(y):
            raise ValueError(f"score: {len(pred)} inputs but {len(y)} targets; give one target per example")
        u = y - pred
        v = y - y.mean()
        w = np.ones_like(u) if w is None else np.asarray(w.toarray() if is_sparse(w) else w)
        return float(1 - (w * u * u).sum() / (w * v * v).sum())

    # -- persistence and export --------------------------------------------------
    def summary(self) -> str:
        """A table of the layers: name, form, inputs, output size, activation, parameter count; the loss below."""
        from ..layers.summary import format_table

        rows = []
        for lyr in self.layers:
            count = int(sum(int(np.prod(p.type.shape)) for p in lyr.params))
            act = getattr(lyr, "activation", "") if not isinstance(lyr, Input) else ""
            rows.append([lyr.name, type(lyr).__name__, ", ".join(lyr.inputs) or "-", str(lyr.size), str(act or "-"), f"{count:,}"])
        losses = ", ".join(f"{loss.form}" + (f" x{loss.weight:g}" if loss.weight != 1 else "") for loss in self.losses)
        footer = [f"{type(self).__name__}: {self.num_params:,} parameters in {len(self.layers)} layers; loss {losses or '-'}"]
        return format_table(rows, ["layer", "form", "inputs", "size", "activation", "params"], footer)

    def __repr__(self) -> str:
        if not self.layers:
            return f"<{type(self).__name__}: no layers>"
        return self.summary()


def _is_sequence_spec(spec: Any, index: int) -> bool:
    """Whether a layer spec is a recurrent layer (its network's input then defaults to ndim=3)."""
    if isinstance(spec, Layer):
        return bool(getattr(spec, "_sequence_layer", False))
    try:
        form, _ = parse_spec(spec, index, "ff")
    except ConfigurationError:
        return False  # add_layer reports it, naming the layer
    return bool(getattr(Layer._registry.get(form), "_sequence_layer", False))
