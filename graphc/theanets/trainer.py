"""theanets training: the loop behind :meth:`Network.train` and :meth:`Network.itertrain`.

A :class:`Trainer` compiles two functions with :func:`graphc.function`: a
training step (the loss and the monitors as outputs, the optimizer's updates
from :mod:`graphc.updates`) and an evaluation (the same outputs, no updates).
It then runs downhill's loop (downhill was theanets' optimizer library):

- an *iteration* is ``train_batches`` minibatches, by default one pass over
  the training arrays; as downhill's, a minibatch is always the same run of
  consecutive examples, and the order of the minibatches is shuffled at every
  pass with the network's rng;
- the validation set is evaluated before training and every
  ``validate_every`` iterations; a validation whose loss is not lower than the
  best one by the relative amount ``min_improvement`` is a failure, and
  training stops when more than ``patience`` validations in a row failed;
- training also stops after ``max_updates`` iterations (downhill's name; an
  "update" there is an iteration, not a minibatch) or ``max_epochs``;
- at the end, the parameters of the best validation are restored.

Two things differ from downhill, on purpose: the iteration that ends training
by ``max_updates``/``max_epochs`` is validated (downhill never validated it, and
with ``max_updates < validate_every`` restored the untrained initial
parameters), and monitor values are averaged over the examples, not over the
batches (so a short last batch does not count as much as a full one).  The
update rules are Lasagne's (:mod:`graphc.updates`); downhill's hyper-parameter
names (``rms_halflife``, ``rms_regularizer``, ``beta1_halflife``...) are
accepted beside Lasagne's (``rho``, ``epsilon``, ``beta1``...).
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from .. import tensor as T
from .. import updates as _updates
from ..runtime import function
from ..train.grad import grad as _grad
from . import losses as _losses
from ._distributed import DataParallel
from ._step_guard import NonFiniteStepError, Snapshot, finite_probe
from ._trainer_files import TrainerFiles
from ._training_data import Batches
from ._training_options import check_options, halflife, progress_enabled, read_options

__all__ = [
    "Trainer",
    "ALGORITHMS",
    "PRETRAINERS",
    "check_options",
    "progress_enabled",
]

log = logging.getLogger(__name__)

ALGORITHMS = ("sgd", "nag", "rmsprop", "adam", "adadelta", "adagrad", "rprop", "esgd")
"""The ``algo`` names :class:`Trainer` knows."""

PRETRAINERS = ("sample", "layerwise", "supervised", "pretrain", "unsupervised")
"""theanets' network-specific trainers: ``'sample'`` (:class:`~graphc.theanets._pretrain.SampleTrainer`),
names starting ``layer`` or ``sup`` (:class:`~graphc.theanets._pretrain.SupervisedPretrainer`) and names
starting ``pre`` or ``unsup`` (:class:`~graphc.theanets._pretrain.UnsupervisedPretrainer`)."""

class Trainer(TrainerFiles):
    """Trains a theanets :class:`~graphc.theanets.graph.Network` with one of :data:`ALGORITHMS`.

    Parameters
    ----------
    network : Network
    algo : str
        ``'sgd'``, ``'nag'`` (SGD with Nesterov momentum), ``'rmsprop'``
        (default), ``'adam'``, ``'adadelta'``, ``'adagrad'``, ``'rprop'``
        (iRprop-) or ``'esgd'`` (equilibrated SGD; see :mod:`graphc.updates.downhill`).
        theanets' :data:`PRETRAINERS` (``'layerwise'``, ``'pretrain'``,
        ``'sample'``) are other classes, which ``Network.train(algo=...)``
        picks (:func:`graphc.theanets._trainers.make_trainer`).
    subalgo : str
        The algorithm of each pretraining stage (default ``'rmsprop'``);
        ignored by the other algorithms.
    batch_size : int or None
        Examples per minibatch (default 32); None or 0 (downhill's spelling)
        puts the whole dataset in one batch.
    train_batches, valid_batches : int, optional
        Minibatches per training iteration, per validation (default: a full
        pass; ``iteration_size`` sets both).  For a callable dataset: its
        ``len()``, else 100.
    rng : int or numpy.random.RandomState, optional
        Shuffles the training examples; default the network's ``rng``.
    validate_every : int
        Iterations between validations (default 10).
    patience : int
        Failed validations tolerated in a row (default 5).
    min_improvement : float
        Relative decrease of the validation loss that counts as progress
        (default 0: any decrease).
    max_updates, max_epochs : int, optional
        Stop after this many iterations (either name; the smaller wins).
    save_every : int or float
        With ``save_progress``: save the network every this many iterations
        (an int) or minutes (a float), as theanets does.  Default 0 (never).
        As upstream, the save comes after a yield of :meth:`itertrain`, and
        never after the first: with ``save_every=2`` the file is written after
        iterations 3, 5, 7...
    save_progress : str, optional
        The file to save to, with :meth:`Network.save` (atomic).  A ``{}`` in
        it is replaced by the Unix time of the save.
    progress : bool, optional
        Show a progress bar (tqdm); see :func:`progress_enabled`.
    checkpoint : str or path, optional
        Write a training checkpoint (the network, the optimizer state, the
        loop's counters, the shuffling state; atomically) to this file every
        ``checkpoint_every`` iterations (default 1).  ``save_progress`` files
        are checkpoints too.  Either is a model file that
        :meth:`Network.load` reads.
    resume : bool
        With ``checkpoint``: when the file exists, continue from it; the run
        then ends with exactly the parameters an uninterrupted run would have
        (bitwise on CPU, for graphs without random ops).  ``max_updates``
        counts the iterations before the checkpoint too.
    stop_on_nonfinite : bool
        Stop at the first training step whose gradients or new values are not
        finite (NaN, inf; the compiled step returns a probe of them), or when an
        iteration's monitors are not finite, putting back the parameters, the
        optimizer state and the data position from before that iteration
        (default True); :attr:`stop_reason` is then ``'non-finite loss'``.
        Files are never written with non-finite values: with this option off,
        a checkpoint or save of a NaN network raises ``ValueError``.
    learning_rate : float
        Default 1e-4, as downhill (1.0 for adadelta, whose step needs none).
    momentum : float
        Added to any algorithm's step, as downhill does (default 0).
    nesterov : bool
        Nesterov momentum (what ``'nag'`` sets).
    max_gradient_norm, max_gradient_elem : float
        Rescale each parameter's gradient to at most this L2 norm, or clip its
        elements to ``[-limit, limit]`` (the latter wins; 0 disables).
        ``gradient_clip`` and ``max_gradient_clip`` are old names of
        ``max_gradient_elem``.
    monitor_gradients : bool
        Add a monitor ``grad(<param>)``, the squared norm of each gradient.
    rho, rms_halflife : float
        rmsprop/adadelta decay, or downhill's half-life (in updates) giving
        ``rho = exp(-ln 2 / halflife)``; default half-life 14.
    epsilon, rms_regularizer, regularizer : float
        The rules' epsilon (default 1e-8, downhill's; ``regularizer`` is
        downhill's name for adagrad).
    beta1, beta2, beta1_halflife, beta2_halflife : float
        Adam's decays, or downhill's half-lives (defaults 7 and 69).
    rprop_increase, rprop_decrease, rprop_min_step, rprop_max_step : float
        rprop's step factors and bounds (defaults 1.01, 0.99, 0, 100); its
        initial step is ``learning_rate``.
    hv_method : str
        esgd's Hessian-vector method (``'rop'``, ``'lop'``, ``'grad'``): all
        give the same ``Hv`` here, computed by double backpropagation.
    **kwargs
        Regularizer options of theanets (``weight_l2``, ``hidden_dropout``...),
        passed to :meth:`Network.loss` and :meth:`Network.monitors` when set.

    Attributes
    ----------
    best_loss : float or None
        The lowest validation loss seen.
    best_iteration : int
        The iteration whose parameters gave it (0: before training).
    iterations, updates, validations : int
        Counts of the latest run: training iterations, minibatch updates,
        validations.
    last_validation : dict
        The monitors of the latest validation.
    stop_reason : str or None
        Why the latest run ended: ``'max_updates'``, ``'patience'``,
        ``'interrupted'`` (Ctrl-C) or ``'non-finite loss'``.
    state_variables : list of SharedVariable
        The optimizer's (and the layers') state besides the parameters.
    step_outputs : list of (Variable, str)
        The training step's outputs (the monitors, ``loss`` first) with their names.
    step_updates : list of (SharedVariable, Variable)
        The training step's updates (what ``graphc export --training`` writes).

    Raises
    ------
    ValueError
        For an unknown ``algo`` (naming the known ones) or a bad option value.
    TypeError
        For an unknown option.
    """

    def __init__(self, network: Any, algo: str = "rmsprop", **kwargs: Any) -> None:
        if not isinstance(algo, str) or algo.lower() not in ALGORITHMS:
            raise ValueError(
                f"unknown training algorithm {algo!r}; known algorithms: {', '.join(ALGORITHMS)}, and theanets' "
                f"pretrainers {', '.join(PRETRAINERS)} (through Network.train)"
            )
        # theanets' regularizer options: passed on to Network.loss/monitors when they are set
        network_options = check_options(kwargs)
        kwargs = {k: v for k, v in kwargs.items() if k != "subalgo"}
        self.network = network
        self.algo = algo.lower()
        self.options = dict(kwargs)
        self._read_options(kwargs)
        reg = {k: v for k, v in kwargs.items() if k in network_options and v}
        self.params = list(network.params)
        if not self.params:
            raise ValueError(f"{network!r} has no parameters to train")
        # data-parallel (dist.size() > 1): the step all-reduces the gradients and the monitors (see _distributed)
        self._parallel = DataParallel.current()
        if self._parallel is None:
            loss = network.loss(**reg)
            monitors = [("loss", loss), *network.monitors(**reg)]
            raw = list(_grad(loss, self.params))
            layer_updates = list(network.updates(**reg))
            shares: list[Any] = []
        else:
            reduced = self._parallel.build(network, self.params, reg, self.algo)
            loss, monitors, raw = reduced.local_loss, reduced.monitors, reduced.grads
            layer_updates, shares = reduced.layer_updates, reduced.shares
        grads = self._gradients(raw)
        if kwargs.get("monitor_gradients"):
            monitors.extend((f"grad({p.name})", (g * g).sum()) for p, g in zip(self.params, grads))
        self.monitor_names = [name for name, _ in monitors]
        exprs = [expr for _, expr in monitors]
        rule_updates = self._rule_updates(loss, grads, kwargs)
        name = f"{type(network).__name__}.{self.algo}"
        self._variables = list(network.variables)
        inputs = self._variables + shares
        unused = "raise" if self._parallel is None else "ignore"  # a share no term uses
        self.step_outputs = [(expr, name_) for name_, expr in monitors]
        self.step_updates = layer_updates + list(rule_updates.items())
        probe = [finite_probe(raw, self.step_updates, self.params)] if self.stop_on_nonfinite else []
        self.f_step = function(inputs, exprs + probe, updates=self.step_updates, name=name, on_unused_input=unused)
        owned = {id(p) for p in self.params}
        self.state_variables = [v for v, _ in [*layer_updates, *rule_updates.items()] if id(v) not in owned]
        self.f_eval = function(
            inputs, exprs, updates=layer_updates, name=f"{type(network).__name__}.evaluate", on_unused_input=unused
        )
        self._classes = self._class_counts()
        self.best_loss: float | None = None
        self.best_iteration = 0
        self.iterations = self.updates = self.validations = 0
        self._best_validation = 0
        self.last_validation: dict[str, float] = {}
        self.best_params: list[np.ndarray] = [p.get_value() for p in self.params]

    # -- setup -----------------------------------------------------------------------------
    def _read_options(self, kw: Mapping[str, Any]) -> None:
        read_options(self, kw)

    def _gradients(self, grads: list[Any]) -> list[Any]:
        elem = self.options.get("max_gradient_elem") or 0
        for old in ("gradient_clip", "max_gradient_clip"):
            elem = elem or self.options.get(old) or 0
        norm = self.options.get("max_gradient_norm") or 0
        if elem > 0:
            return [T.clip(g, -float(elem), float(elem)) for g in grads]
        if norm > 0:
            return [g * T.minimum(1.0, float(norm) / T.sqrt((g * g).sum())) for g in grads]
        return grads

    def _rule_updates(self, loss: Any, grads: list[Any], kw: Mapping[str, Any]) -> OrderedDict[Any, Any]:
        algo, params = self.algo, self.params
        lr = kw.get("learning_rate", 1.0 if algo == "adadelta" else 1e-4)
        eps = kw.get("epsilon", kw.get("rms_regularizer", kw.get("regularizer", 1e-8)))
        rho = kw["rho"] if "rho" in kw else halflife(kw.get("rms_halflife", 14), "rms_halflife")
        if algo in ("sgd", "nag"):
            updates = _updates.sgd(grads, params, learning_rate=lr)
        elif algo == "rmsprop":
            updates = _updates.rmsprop(grads, params, learning_rate=lr, rho=rho, epsilon=eps)
        elif algo == "adadelta":
            updates = _updates.adadelta(grads, params, learning_rate=lr, rho=rho, epsilon=eps)
        elif algo == "adagrad":
            updates = _updates.adagrad(grads, params, learning_rate=lr, epsilon=eps)
        elif algo == "rprop":
            rprop = {k: kw[f"rprop_{k}"] for k in ("increase", "decrease", "min_step", "max_step") if f"rprop_{k}" in kw}
            updates = _updates.rprop(grads, params, learning_rate=lr, **rprop)
        elif algo == "esgd":
            method = kw.get("hv_method", "rop")
            if method not in ("rop", "lop", "grad"):
                raise ValueError(f"hv_method must be 'rop', 'lop' or 'grad', got {method!r}")
            updates = _updates.esgd(loss, params, learning_rate=lr, rho=rho, epsilon=eps, grads=grads)
        else:
            b1 = kw["beta1"] if "beta1" in kw else halflife(kw.get("beta1_halflife", 7), "beta1_halflife")
            b2 = kw["beta2"] if "beta2" in kw else halflife(kw.get("beta2_halflife", 69), "beta2_halflife")
            updates = _updates.adam(grads, params, learning_rate=lr, beta1=b1, beta2=b2, epsilon=eps)
        momentum = kw.get("momentum", 0) or 0
        if momentum:
            nesterov = algo == "nag" or bool(kw.get("nesterov", False))
            apply = _updates.apply_nesterov_momentum if nesterov else _updates.apply_momentum
            updates = apply(updates, params, momentum=momentum)
        return updates

    def _class_counts(self) -> dict[int, int]:
        """``{id(target placeholder): number of classes}`` for the cross-entropy losses."""
        counts: dict[int, int] = {}
        for loss in self.network.losses:
            if isinstance(loss, _losses.CrossEntropy) and loss._own_target:
                layer_name = loss.output_name.split(":", 1)[0]
                for layer in self.network.layers:
                    if layer.name == layer_name and isinstance(getattr(layer, "size", None), int):
                        counts[id(loss._target)] = layer.size
        return counts

    def dataset(self, data: Any, name: str, shuffle: bool) -> Batches:
        """Wrap training or validation ``data`` in checked :class:`~graphc._training_data.Batches`.

        Raises
        ------
        ValueError, TypeError
            See :class:`~graphc._training_data.Batches`.
        """
        size = self.train_batches if name == "train" else self.valid_batches
        rng = self.rng if shuffle else None
        if self._parallel is not None:
            data = self._parallel.batches_from_root(data)
        return Batches(data, self._variables, name, self.batch_size, size, rng, self._classes)

    # -- running ---------------------------------------------------------------------------
    def _run(self, fn: Any, batches: Batches, shuffle: bool) -> OrderedDict[str, float]:
        totals = np.zeros(len(self.monitor_names))
        count = 0
        probe = fn is self.f_step and self.stop_on_nonfinite
        for batch in batches.iteration(shuffle):
            n = len(batch[0])  # the whole batch's rows: under MPI the step returns the whole batch's monitors
            values = [float(v) for v in fn(*(batch if self._parallel is None else self._parallel.feed(batch)))]
            if probe and not math.isfinite(values.pop()):  # a gradient or a new parameter is not finite
                raise NonFiniteStepError(OrderedDict(zip(self.monitor_names, values)))
            totals += n * np.array(values)
            count += n
            if fn is self.f_step:
                self.updates += 1
        return OrderedDict(zip(self.monitor_names, (float(v) for v in totals / max(count, 1))))

    def evaluate(self, batches: Batches) -> OrderedDict[str, float]:
        """Monitor values of the current parameters on ``batches`` (averaged over the examples)."""
        return self._run(self.f_eval, batches, shuffle=False)

    def _validate(self, batches: Batches) -> tuple[OrderedDict[str, float], bool]:
        """Evaluate, keep the parameters when they are the best so far; True when patience ran out."""
        monitors = self.evaluate(batches)
        self.validations += 1
        self.last_validation = monitors
        loss, best = monitors["loss"], self.best_loss
        marker = ""
        if best is None or math.isnan(best) or best - loss > abs(best) * self.min_improvement:
            self.best_loss, self.best_iteration = loss, self.iterations
            self._best_validation = self.validations
            self.best_params = [p.get_value() for p in self.params]
            marker = " *"
        log.info("validation %d %s%s", self.iterations, _fmt(monitors), marker)
        return monitors, self.validations - self._best_validation > self.patience

    def restore_best(self) -> None:
        """Set the parameters to those of the best validation."""
        for p, value in zip(self.params, self.best_params):
            p.set_value(value)

    def itertrain(self, train: Any, valid: Any = None) -> Iterator[tuple[dict[str, float], dict[str, float]]]:
        """Train, yielding ``(train_monitors, valid_monitors)`` after every iteration.

        The validation monitors are those of the latest validation.  When the
        loop ends (patience, ``max_updates``, ``max_epochs``, Ctrl-C, or a
        non-finite loss), the best parameters are restored; a caller that
        stops iterating early keeps the current ones.  Except on Ctrl-C (when
        the log says where the last checkpoint is), the checkpoint and the
        last ``save_progress`` file are then rewritten so that their network
        is that best one (the last parameters stay in them for resuming).

        Parameters
        ----------
        train : list of array_like, array_like or callable
            Arrays for :attr:`Network.variables` (inputs, then targets and
            weights; an autoencoder needs only its inputs), or a callable
            returning one such batch per call.
        valid : same as ``train``, optional
            Validation data; default the training data.

        Yields
        ------
        train_monitors, valid_monitors : dict
            ``{'loss': ..., 'err': ...}`` (and ``'acc'`` for a classifier),
            floats.

        Raises
        ------
        ValueError, TypeError
            For data that do not fit the network (see :meth:`dataset`).
        """
        train_set = self.dataset(train, "train", shuffle=True)
        valid_set = self.dataset(train if valid is None else valid, "valid", shuffle=False)
        self.stop_reason, self._last_progress = None, None
        parallel = self._parallel
        resumed = self._start(train_set)
        if resumed:
            log.info("resumed from %s at iteration %d", self.checkpoint, self.iterations)
            validation = dict(self.last_validation)
            stop = self.validations - self._best_validation > self.patience
        else:
            try:
                validation, stop = self._validate(valid_set)
            except KeyboardInterrupt:
                log.info("interrupted!")
                return
        bar = self._progress_bar()
        last_save = [time.time()]
        try:
            while not stop and (self.max_updates is None or self.iterations < self.max_updates):
                good = Snapshot(self, train_set) if self.stop_on_nonfinite else None
                try:
                    try:
                        training = self._run(self.f_step, train_set, shuffle=True)
                        bad = None if good is None or all(math.isfinite(v) for v in training.values()) else training
                    except NonFiniteStepError as exc:
                        bad = exc.monitors
                    if bad is not None and good is not None:
                        good.restore(self, train_set)
                        self.stop_reason = "non-finite loss"
                        finite = all(math.isfinite(v) for v in bad.values())
                        log.error(
                            "training stopped at iteration %d: %s %s; the parameters, the optimizer state and the "
                            "data position are those from before that iteration",
                            self.iterations + 1,
                            "non-finite gradients or new parameter values, monitors" if finite else "non-finite monitor values",
                            _fmt(bad),
                        )
                        break
                    self.iterations += 1
                    done = self.max_updates is not None and self.iterations >= self.max_updates
                    if done or self.iterations % self.validate_every == 0:
                        validation, stop = self._validate(valid_set)
                except KeyboardInterrupt:
                    self.stop_reason = "interrupted"
                    where = self._last_checkpoint_note()
                    log.warning("interrupted at iteration %d%s", self.iterations, where)
                    break
                log.info("%s %d %s", self.algo, self.iterations, _fmt(training))
                if stop:
                    self.stop_reason = "patience"
                    log.info("patience elapsed!")
                self._save(last_save, train_set)
                if bar is not None:
                    bar.set_postfix(loss=f"{training['loss']:.4g}", valid=f"{validation['loss']:.4g}", refresh=False)
                    bar.update(1)
                yield dict(training), dict(validation)
                self._save_progress(last_save, train_set)
            if self.stop_reason is None:
                self.stop_reason = "max_updates" if not stop else "patience"
            try:
                if self.stop_reason != "interrupted":
                    self._save_final(train_set)
                    if parallel is not None:
                        parallel.comm.Barrier()  # rank 0's files are complete when any rank goes on
            finally:
                self.restore_best()
        finally:
            if bar is not None:
                bar.close()

    def train(self, train: Any, valid: Any = None) -> tuple[dict[str, float], dict[str, float]]:
        """Run :meth:`itertrain` to the end.

        Returns
        -------
        train_monitors, valid_monitors : dict
            Those of the last iteration (when no iteration ran: an empty
            training dict and the first validation).
        """
        result: tuple[dict[str, float], dict[str, float]] | None = None
        for pair in self.itertrain(train, valid):
            result = pair
        if result is None:
            return {}, dict(self.last_validation)
        return result

    def _progress_bar(self) -> Any:
        if not progress_enabled(self.progress) or (self._parallel is not None and not self._parallel.is_root):
            return None
        from tqdm import tqdm

        return tqdm(total=self.max_updates, desc=f"{type(self.network).__name__} {self.algo}", unit="it", leave=True)


def _fmt(monitors: Mapping[str, float]) -> str:
    return " ".join(f"{k}={v:.6f}" for k, v in monitors.items())
