"""theanets' network-specific trainers (upstream's ``theanets.trainer``): sampling and layer-wise pretraining.

- :class:`SampleTrainer` (``algo='sample'``) sets weights to normalized samples of the data;
- :class:`SupervisedPretrainer` (``algo='layerwise'``) trains growing prefixes of the network,
  each with a temporary output layer (or, in a tied autoencoder, the mirrored tied layers);
- :class:`UnsupervisedPretrainer` (``algo='pretrain'``) trains a tied autoencoder made of the
  network's hidden layers layer-wise, then copies its weights back.

Each stage of a pretrainer is an ordinary :class:`~graphc.theanets.trainer.Trainer` run with
``subalgo`` and the same options, so they yield ``(train_monitors, valid_monitors)`` as it does.
:class:`~graphc.theanets.trainer.Trainer` builds these classes for the algorithm names above.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .. import distributed as dist
from ._distributed import DataParallel
from .layers._spec import file_spec
from .layers.base import Layer
from .layers.feedforward import Input, Tied
from .trainer import Trainer, check_options

__all__ = ["SampleTrainer", "SupervisedPretrainer", "UnsupervisedPretrainer", "pretrainer_class"]

log = logging.getLogger(__name__)

Monitors = tuple[dict[str, float], dict[str, float]]


def pretrainer_class(algo: Any) -> type[Any] | None:
    """The pretrainer class an ``algo`` name selects (as upstream's ``itertrain``), or None."""
    if not isinstance(algo, str):
        return None
    name = algo.lower()
    if name == "sample":
        return SampleTrainer
    if name.startswith(("layer", "sup")):
        return SupervisedPretrainer
    if name.startswith(("pre", "unsup")):
        return UnsupervisedPretrainer
    return None


def _invalidate(network: Any) -> None:
    """Forget the network's cached graphs and functions (its layer list changed)."""
    for name in ("_graphs", "_functions"):
        cache = getattr(network, name, None)
        if cache is not None:
            cache.clear()


def _autoencoder_class(network: Any) -> type:
    """theanets' feed-forward ``Autoencoder``, found among the network base's subclasses (importing
    :mod:`.feedforward` here would close an import circle through :mod:`.graph`)."""
    root = next(c for c in reversed(type(network).__mro__) if "itertrain" in c.__dict__)
    stack = [root]
    while stack:
        cls = stack.pop()
        if cls.__name__ == "Autoencoder" and cls.__module__.endswith(".feedforward"):
            return cls
        stack.extend(cls.__subclasses__())
    raise RuntimeError("pretrain: graphc.theanets.feedforward.Autoencoder is not defined (import graphc.theanets)")


class _Base:
    """What the trainers share: the options, :meth:`train`, :attr:`algo`."""

    def __init__(self, network: Any, algo: str, **kwargs: Any) -> None:
        check_options(kwargs)
        self.network = network
        self.algo = algo.lower()
        self.subalgo = kwargs.pop("subalgo", "rmsprop")
        self.options = kwargs
        self.stop_reason: str | None = None

    def itertrain(self, train: Any, valid: Any = None) -> Iterator[Monitors]:
        """Train, yielding ``(train_monitors, valid_monitors)``."""
        raise NotImplementedError

    def train(self, train: Any, valid: Any = None) -> Monitors:
        """Run :meth:`itertrain` to the end; the last monitors (empty dicts when none came)."""
        result: Monitors = ({}, {})
        for pair in self.itertrain(train, valid):
            result = pair
        return result

    def _stage(self, network: Any, train: Any, valid: Any) -> Iterator[Monitors]:
        trainer = Trainer(network, self.subalgo, **self.options)
        yield from trainer.itertrain(train, valid)
        self.stop_reason = trainer.stop_reason


class SupervisedPretrainer(_Base):
    """Layer-wise supervised pretraining (``algo='layerwise'``; upstream's ``SupervisedPretrainer``).

    For layers ``[in, h1, h2, ..., out]`` it trains ``[in, h1, (lwout)]``, then
    ``[in, h1, h2, (lwout)]``... and finally the whole network, each stage with
    ``subalgo`` (default ``'rmsprop'``) and the trainer's options.  ``lwout``
    is a new feed-forward layer with the output layer's size and activation;
    the first loss reads it during the stage.  In an autoencoder with tied
    layers the stages are the outermost pairs instead: ``[in, h1, h1']``,
    ``[in, h1, h2, h2', h1']``..., the temporary tied layers taking the
    activations of the layers they mirror (upstream gives them the default).

    The network's own layers are used in every stage, so what a stage trains
    stays trained; afterwards the network has its layers and loss back.
    """

    def itertrain(self, train: Any, valid: Any = None) -> Iterator[Monitors]:
        """Train each stage in turn, yielding every stage's monitors."""
        net = self.network
        original = list(net.layers)
        loss = net.losses[0]
        output_name = loss.output_name
        tied = any(isinstance(lyr, Tied) for lyr in original)
        last = 1 + len(original) // 2 if tied else len(original) - 1
        rng = getattr(net, "_layer_rng", None)
        try:
            for i in range(1, max(last, 2)):
                if i >= last - 1:
                    layers = original
                elif tied:
                    layers = original[: i + 1]
                    for j in range(i):
                        mirror = original[len(original) - i + j]
                        tail = Layer.build(
                            "tied", partner=original[i - j], inputs=layers[-1].output_name,
                            name=f"lwtied{j}", activation=mirror.activation, rng=rng,
                        )  # fmt: skip
                        tail.bind(layers)
                        layers = [*layers, tail]
                else:
                    out = original[-1]
                    tail = Layer.build(
                        "feedforward", name="lwout", inputs=original[i].output_name,
                        size=out.size, activation=out.activation, rng=rng,
                    )  # fmt: skip
                    tail.bind(original[: i + 1])
                    layers = [*original[: i + 1], tail]
                log.info("layerwise: training %s", " -> ".join(lyr.name for lyr in layers))
                net.layers = list(layers)
                loss.output_name = layers[-1].output_name
                _invalidate(net)
                yield from self._stage(net, train, valid)
        finally:
            net.layers = original
            loss.output_name = output_name
            _invalidate(net)


def _inputs_only(data: Any, count: int) -> Any:
    """The first ``count`` arrays of a dataset (or of each batch a callable gives)."""
    if callable(data) and not isinstance(data, np.ndarray):

        def batch() -> Any:
            return _inputs_only(data(), count)

        return batch
    if isinstance(data, (list, tuple)):
        return list(data[:count])
    return data


class UnsupervisedPretrainer(_Base):
    """Unsupervised pretraining (``algo='pretrain'``; upstream's ``UnsupervisedPretrainer``).

    Builds a "shadow" autoencoder from the network's layers but the last
    (same specs, so same names and sizes), closed by tied layers that mirror
    them (the last one linear), trains it with :class:`SupervisedPretrainer`
    (``subalgo`` and the same options), then copies its parameters, but those
    of the tied layers, into the network's layers of the same names.  The
    data need only hold the inputs; further arrays (targets, weights) are
    dropped.
    """

    def itertrain(self, train: Any, valid: Any = None) -> Iterator[Monitors]:
        """Train the shadow autoencoder, yielding its monitors; then copy its weights."""
        Autoencoder = _autoencoder_class(self.network)  # noqa: N806  (a class)
        specs = [file_spec(lyr) for lyr in self.network.layers[:-1]]
        if len(specs) < 2:
            raise ValueError("pretrain: the network needs at least one hidden layer to pretrain")
        specs[0].pop("inputs", None)
        for spec in specs[::-1][:-2]:
            specs.append(
                dict(form="tied", partner=spec["name"], activation=spec["activation"], name=f"{spec['name']}_tied")
            )
        specs.append(dict(form="tied", partner=specs[1]["name"], activation="linear", name="out"))
        log.info("pretrain: creating the shadow autoencoder")
        ae = Autoencoder(specs, rng=getattr(self.network, "_rng", 13))
        count = len(ae.variables)
        pre = SupervisedPretrainer(ae, "layerwise", subalgo=self.subalgo, **self.options)
        yield from pre.itertrain(_inputs_only(train, count), None if valid is None else _inputs_only(valid, count))
        self.stop_reason = pre.stop_reason
        for layer in ae.layers:
            if isinstance(layer, Tied):
                continue
            for param in layer.params:
                name = param.name.split(".", 1)[1]
                log.info("pretrain: copying %s", param.name)
                self.network.find(layer.name, name).set_value(param.get_value())
        log.info("pretrain: done")


def _rows(array: Any) -> np.ndarray:
    a = np.asarray(array)
    return a.reshape(-1, a.shape[-1]) if a.ndim >= 2 else a.reshape(-1, 1)


def _reservoir(rows: np.ndarray, n: int, rng: np.random.RandomState) -> np.ndarray:
    """``n`` distinct rows chosen at random, each scaled to unit norm; padded with noisy copies when too few."""
    take = rng.permutation(len(rows))[:n]
    norms = np.linalg.norm(rows[take], axis=1, keepdims=True)
    pool = rows[take] / np.where(norms > 0, norms, 1)
    if len(pool) < n:
        spread = pool.std(axis=0)
        extra = pool[rng.randint(len(pool), size=n - len(pool))]
        pool = np.concatenate([pool, extra + spread * rng.randn(*extra.shape)])
    return pool


class SampleTrainer(_Base):
    """Initialize weights from data samples (``algo='sample'``; upstream's ``SampleTrainer``).

    - Output weights: each matrix of the output layer whose columns match the
      targets' width ``d`` gets, as rows, random target examples of unit norm.
    - Input weights: layer by layer, each matrix of a (non-tied, single-input)
      hidden layer whose rows match its input's width gets, as columns, random
      examples of that input (the data for the first layer, the outputs of the
      layers already set for the later ones), of unit norm.

    It yields once ``({'loss': 0.0}, {'loss': 0.0})``: nothing is measured.
    ``rng`` (an option) draws the samples; default the network's.

    Notes
    -----
    Upstream meant the same layer-by-layer walk, but its code recomputes the
    samples with an undefined index, so only layers reading the data directly
    (with the data's width) get samples there.
    """

    def itertrain(self, train: Any, valid: Any = None) -> Iterator[Monitors]:
        """Set the weights, then yield zero monitors once."""
        net = self.network
        batch = train() if callable(train) and not isinstance(train, np.ndarray) else train
        arrays = list(batch) if isinstance(batch, (list, tuple)) else [batch]
        if not arrays:
            raise ValueError("sample: the training data hold no arrays")
        rng = self.options.get("rng", getattr(net, "_rng", None))
        if not isinstance(rng, np.random.RandomState):
            rng = np.random.RandomState(rng)
        n_inputs = len(net.inputs)
        x = np.asarray(arrays[0])
        y = np.asarray(arrays[n_inputs]) if len(arrays) > n_inputs else x
        self._outputs(net, y, rng)
        self._inputs(net, arrays[:n_inputs], rng)
        parallel = DataParallel.current()
        if parallel is not None:  # ranks whose generators differ would sample different weights: rank 0's win
            dist.broadcast(net.params, root=0, comm=parallel.comm)
        yield {"loss": 0.0}, {"loss": 0.0}

    @staticmethod
    def _outputs(net: Any, y: np.ndarray, rng: np.random.RandomState) -> None:
        if y.ndim < 2 or not np.issubdtype(y.dtype, np.floating):
            return  # class labels: no examples to copy
        rows = _rows(y)
        for param in net.layers[-1].params:
            shape = param.get_value(borrow=True).shape
            if len(shape) == 2 and shape[1] == rows.shape[1]:
                arr = _reservoir(rows, shape[0], rng)
                log.info("sample: setting %s %s", param.name, shape)
                param.set_value(_unit(arr, axis=1).astype(param.dtype))

    @staticmethod
    def _inputs(net: Any, inputs: list[Any], rng: np.random.RandomState) -> None:
        feeds: Callable[[], dict[str, np.ndarray]] = lambda: net.feed_forward(inputs[0] if len(inputs) == 1 else inputs)  # noqa: E731
        for layer in net.layers[:-1]:
            if isinstance(layer, (Input, Tied)) or len(layer.inputs) != 1:
                continue
            nin = layer.input_size
            params = [
                p
                for p in layer.params
                if p.get_value(borrow=True).ndim == 2 and p.get_value(borrow=True).shape[0] == nin
            ]
            if not params:
                continue
            rows = _rows(feeds()[layer.inputs[0]])
            if rows.shape[1] != nin:
                continue
            for param in params:
                shape = param.get_value(borrow=True).shape
                arr = _reservoir(rows, shape[1], rng).T
                log.info("sample: setting %s %s", param.name, shape)
                param.set_value(_unit(arr, axis=0).astype(param.dtype))


def _unit(arr: np.ndarray, axis: int) -> np.ndarray:
    norms = np.sqrt((arr * arr).sum(axis=axis, keepdims=True))
    return arr / np.where(norms > 0, norms, 1)
