"""Writing your own layer, in both styles graphc speaks: Lasagne and theanets.

**Lasagne.** Subclass ``graphc.layers.Layer`` (``lasagne.layers.Layer``):
create parameters in ``__init__`` with ``self.add_param(spec, shape, name=...)``
(an initializer, an array or a shared variable; tags such as
``regularizable=False``), say what shape comes out in ``get_output_shape_for``
and build the expression in ``get_output_for``.  :class:`HighwayLayer` is a
highway layer (Srivastava et al., 2015): ``y = t * relu(x W_h + b_h) + (1 - t) * x``
with the gate ``t = sigmoid(x W_t + b_t)``; ``b_t`` starts negative so that the
layer first passes its input through.  Such a layer trains, exports to ONNX and
is served by ONNX Runtime like the built-in ones: ``graphc.grad`` differentiates
whatever expression ``get_output_for`` returns.

**theanets.** Subclass ``theanets.Layer`` (``from graphc import theanets``): create
parameters in ``setup()`` with ``self.add_weights(name, nin, nout)`` and
``self.add_bias(name, size)``, read them back with ``self.find(name)``, and
return the output expression (or a dict of named outputs) from
``transform(inputs)``.  The class registers itself under its lower-cased name,
so a network spec can use it as a form: :class:`Maxout` (Goodfellow et al.,
2013; each unit is the maximum of ``pieces`` linear functions) appears as
``dict(size=16, form='maxout', pieces=4)``; options such as ``pieces`` arrive in
``self.kwargs`` and are saved with the model, so ``Network.load`` rebuilds it.

Both networks learn the two-spirals problem (synthetic, 2-D points of two
interleaved spirals), which no linear model can separate; the Lasagne one is
then exported to ONNX and checked in plain ONNX Runtime.

Run: ``python examples/custom_layer.py [--epochs 300] [--export highway.onnx]`` (``--quick`` for the
test suite).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

import graphc as lasagne
import graphc as theano
import graphc.tensor as T
from graphc import theanets
from graphc.export import save, to_onnx

# Lasagne's initializers are immutable: one instance can be every layer's default
_GLOROT = lasagne.init.GlorotUniform()
_ZERO = lasagne.init.Constant(0.0)
_CLOSED = lasagne.init.Constant(-2.0)


# -- the Lasagne way ---------------------------------------------------------------------------------
class HighwayLayer(lasagne.layers.Layer):
    """A highway layer: ``t * nonlinearity(x W_h + b_h) + (1 - t) * x``, ``t = sigmoid(x W_t + b_t)``.

    Parameters
    ----------
    incoming : Layer or tuple
        A layer with output shape ``(batch, n)``.
    W_h, b_h : initializer, array or shared variable
        The transform's weights ``(n, n)`` and bias ``(n,)``.
    W_t, b_t : initializer, array or shared variable
        The gate's weights and bias; ``b_t`` defaults to -2 (mostly carry at first).
    nonlinearity : callable
        The transform's nonlinearity (default rectify).
    **kwargs
        ``name``, as for any layer.
    """

    def __init__(
        self,
        incoming: Any,
        W_h: Any = _GLOROT,
        b_h: Any = _ZERO,
        W_t: Any = _GLOROT,
        b_t: Any = _CLOSED,
        nonlinearity: Any = lasagne.nonlinearities.rectify,
        **kwargs: Any,
    ) -> None:
        super().__init__(incoming, **kwargs)
        n = self.input_shape[-1]
        self.nonlinearity = nonlinearity
        self.W_h = self.add_param(W_h, (n, n), name="W_h")
        self.b_h = self.add_param(b_h, (n,), name="b_h", regularizable=False)
        self.W_t = self.add_param(W_t, (n, n), name="W_t")
        self.b_t = self.add_param(b_t, (n,), name="b_t", regularizable=False)

    def get_output_shape_for(self, input_shape: Any) -> Any:
        """The output shape for an input shape: the same, a highway layer keeps the number of units.

        Parameters
        ----------
        input_shape : tuple
            Ints and None (unknown sizes, such as the batch).

        Returns
        -------
        tuple
        """
        return input_shape

    def get_output_for(self, input: Any, **kwargs: Any) -> Any:  # noqa: A002  (Lasagne's name)
        """The gated mix of the transformed input and the input itself.

        Parameters
        ----------
        input : Variable
            The incoming layer's output, ``(batch, n)``.
        **kwargs
            ``get_output``'s options (``deterministic``...); none matter here.

        Returns
        -------
        Variable
        """
        transformed = self.nonlinearity(T.dot(input, self.W_h) + self.b_h)
        gate = T.nnet.sigmoid(T.dot(input, self.W_t) + self.b_t)
        return gate * transformed + (1.0 - gate) * input


# -- the theanets way --------------------------------------------------------------------------------
class Maxout(theanets.Layer):
    """A maxout layer: each of the ``size`` units outputs the largest of ``pieces`` affine functions.

    Options (in the spec): ``pieces`` (default 2).  Outputs ``pre`` (all the
    pieces, ``(batch, size * pieces)``) and ``out`` (the activation of the
    maxima; use ``'linear'``).
    """

    def setup(self) -> None:
        """Create the parameters: one weight matrix and one bias for all the pieces (``bind`` calls it)."""
        pieces = int(self.kwargs.get("pieces", 2))
        self.add_weights("w", nin=self.input_size, nout=self.size * pieces)
        self.add_bias("b", self.size * pieces, std=0.1)

    def transform(self, inputs: Any) -> dict[str, Any]:
        """The layer's outputs.

        Parameters
        ----------
        inputs : LayerInputs
            Acts as the (single) input's expression, ``(batch, nin)``.

        Returns
        -------
        dict
            ``pre`` (every piece) and ``out`` (the activation of the maxima).
        """
        pieces = int(self.kwargs.get("pieces", 2))
        pre = T.dot(inputs, self.find("w")) + self.find("b")
        maxima = pre.reshape((-1, self.size, pieces)).max(axis=-1)
        return {"pre": pre, "out": self.activate(maxima)}


# -- data --------------------------------------------------------------------------------------------
def two_spirals(n: int, noise: float = 0.05, turns: float = 1.5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Points of two interleaved spirals (one per class), coordinates roughly in [-1, 1].

    Parameters
    ----------
    n : int
        Number of points.
    noise : float
        Standard deviation of the Gaussian noise added to the points.
    turns : float
        How many times each spiral winds around the centre.
    seed : int

    Returns
    -------
    X : numpy.ndarray
        float32, ``(n, 2)``.
    y : numpy.ndarray
        int32 labels 0 or 1, ``(n,)``.
    """
    rng = np.random.RandomState(seed)
    y = rng.randint(0, 2, size=n)
    t = np.sqrt(rng.uniform(0.02, 1.0, size=n)) * turns * 2 * np.pi  # uniform density along the arm
    radius = t / (turns * 2 * np.pi)
    angle = t + np.pi * y
    X = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1) + noise * rng.randn(n, 2)
    return X.astype("float32"), y.astype("int32")


# -- training ----------------------------------------------------------------------------------------
def build_highway_net(n_units: int = 32, depth: int = 3) -> tuple[Any, Any]:
    """A dense layer up to ``n_units``, ``depth`` highway layers, a softmax over 2 classes.

    Parameters
    ----------
    n_units : int
    depth : int

    Returns
    -------
    l_in, l_out : Layer
    """
    l_in = lasagne.layers.InputLayer((None, 2), input_var=T.tensor("float32", shape=(None, 2), name="points"))
    layer = lasagne.layers.DenseLayer(l_in, n_units, nonlinearity=lasagne.nonlinearities.tanh)
    for i in range(depth):
        layer = HighwayLayer(layer, name=f"highway{i + 1}")
    return l_in, lasagne.layers.DenseLayer(layer, 2, nonlinearity=lasagne.nonlinearities.softmax)


def train_lasagne(
    data: dict[str, np.ndarray], epochs: int, batch_size: int, learning_rate: float, seed: int, export: str | None
) -> dict[str, Any]:
    """Train the highway network with Adam, print a table, export and check the ONNX model.

    Parameters
    ----------
    data : dict
        ``X_train, y_train, X_test, y_test``.
    epochs, batch_size : int
    learning_rate : float
    seed : int
    export : str, optional
        Where to write the ONNX model (default: a temporary directory).

    Returns
    -------
    dict
        ``test_acc``, ``onnx_path``, ``onnx_agrees``, ``history``.
    """
    lasagne.random.set_rng(np.random.RandomState(seed))
    l_in, l_out = build_highway_net()
    x, y = l_in.input_var, T.ivector("labels")
    probs = lasagne.layers.get_output(l_out)
    loss = lasagne.objectives.categorical_crossentropy(probs, y).mean()
    params = lasagne.layers.get_all_params(l_out, trainable=True)
    train_fn = theano.function([x, y], loss, updates=lasagne.updates.adam(loss, params, learning_rate=learning_rate))
    test_probs = lasagne.layers.get_output(l_out, deterministic=True)
    acc = T.mean(T.eq(T.argmax(test_probs, axis=1), y), dtype=theano.config.floatX)
    eval_fn = theano.function([x, y], acc)
    predict_fn = theano.function([x], test_probs)

    highway_params = [p.name for p in lasagne.layers.get_all_params(l_out) if p.name and p.name.startswith("highway1")]
    print(f"Lasagne: HighwayLayer x3, {lasagne.layers.count_params(l_out)} parameters (highway1: {highway_params})")
    report = max(1, epochs // 10)
    print(f"{'epoch':>5}  {'train loss':>10}  {'test acc':>8}")
    rng = np.random.RandomState(seed)
    history = []
    n = len(data["X_train"])
    for epoch in range(1, epochs + 1):
        order = rng.permutation(n)
        total = 0.0
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            total += float(train_fn(data["X_train"][idx], data["y_train"][idx])) * len(idx)
        test_acc = float(eval_fn(data["X_test"], data["y_test"]))
        history.append({"epoch": epoch, "train_loss": total / n, "test_acc": test_acc})
        if epoch % report == 0 or epoch == epochs:
            print(f"{epoch:5d}  {total / n:10.4f}  {test_acc:8.2%}")

    path = Path(export) if export else Path(tempfile.mkdtemp(prefix="graphc-highway-")) / "highway.onnx"
    path.parent.mkdir(parents=True, exist_ok=True)
    save(to_onnx({"probs": test_probs}, [x], name="highway"), path)  # the output layer would do too: to_onnx(l_out)

    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    served = session.run(["probs"], {"points": data["X_test"]})[0]
    agrees = bool(np.allclose(served, predict_fn(data["X_test"]), atol=1e-5))
    print(f"exported {path}; ONNX Runtime agrees with graphc: {agrees}")
    return {"test_acc": history[-1]["test_acc"], "onnx_path": str(path), "onnx_agrees": agrees, "history": history}


def train_theanets(data: dict[str, np.ndarray], max_updates: int, learning_rate: float, seed: int) -> dict[str, Any]:
    """Train a theanets classifier with two :class:`Maxout` layers, print a table, save and reload it.

    Parameters
    ----------
    data : dict
        ``X_train, y_train, X_test, y_test``.
    max_updates : int
        Training iterations (passes over the training set).
    learning_rate : float
    seed : int

    Returns
    -------
    dict
        ``test_acc``, ``reload_agrees`` (the saved and reloaded network predicts
        the same), ``history``.
    """
    maxout = dict(form="maxout", size=16, pieces=4, activation="linear")
    net = theanets.Classifier([2, dict(maxout), dict(maxout), 2], rng=seed)
    print("theanets:")
    print(net)  # the layer table
    y_train, y_test = data["y_train"].astype("int64"), data["y_test"].astype("int64")
    report = max(1, max_updates // 10)
    print(f"{'iter':>5}  {'train loss':>10}  {'train acc':>9}  {'test acc':>8}")
    history = []
    monitors = net.itertrain(
        [data["X_train"], y_train],
        [data["X_test"], y_test],
        algo="adam",
        learning_rate=learning_rate,
        batch_size=32,
        max_updates=max_updates,
        validate_every=1,
        patience=max_updates,
        rng=seed,
        progress=False,
    )
    for iteration, (train_mon, valid_mon) in enumerate(monitors, start=1):
        history.append({"iteration": iteration, "train_loss": train_mon["loss"], "test_acc": valid_mon["acc"]})
        if iteration % report == 0 or iteration == max_updates:
            print(f"{iteration:5d}  {train_mon['loss']:10.4f}  {train_mon['acc']:9.2%}  {valid_mon['acc']:8.2%}")
    test_acc = net.score(data["X_test"], y_test)  # the best validation's parameters were restored

    with tempfile.TemporaryDirectory() as tmp:
        net.save(Path(tmp) / "maxout.npz")  # npz + JSON; the spec names the form 'maxout' and pieces=4
        loaded = theanets.Network.load(Path(tmp) / "maxout.npz")
    reload_agrees = bool(np.array_equal(loaded.predict(data["X_test"]), net.predict(data["X_test"])))
    print(f"theanets test accuracy {test_acc:.2%}; saved and reloaded with the custom layer: {reload_agrees}")
    return {"test_acc": test_acc, "reload_agrees": reload_agrees, "history": history}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line (see the module docstring), with the ``--quick`` defaults filled in.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name (default ``sys.argv[1:]``).

    Returns
    -------
    argparse.Namespace
    """
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a short run for the test suite")
    ap.add_argument("--seed", type=int, default=0, help="seed of the initialization and shuffling (the data is fixed)")
    ap.add_argument(
        "--epochs", type=int, default=None, help="Lasagne epochs and theanets iterations (default 100, --quick 30)"
    )
    ap.add_argument("--n-train", type=int, default=1000, help="training points (default 1000)")
    ap.add_argument("--learning-rate", type=float, default=0.01)
    ap.add_argument("--export", default=None, help="where to write the Lasagne network's ONNX model")
    args = ap.parse_args(argv)
    if args.epochs is None:
        args.epochs = 30 if args.quick else 100
    return args


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Train both custom-layer networks on the two spirals and export the Lasagne one.

    Parameters
    ----------
    argv : sequence of str, optional
        Command-line arguments (default ``sys.argv[1:]``).

    Returns
    -------
    dict
        ``lasagne`` and ``theanets``: the results of :func:`train_lasagne` and
        :func:`train_theanets`; ``seconds``.
    """
    args = parse_args(argv)
    started = time.perf_counter()
    np.random.seed(args.seed)
    X_train, y_train = two_spirals(args.n_train, seed=1)
    X_test, y_test = two_spirals(1000, seed=2)
    data = {"X_train": X_train, "y_train": y_train, "X_test": X_test, "y_test": y_test}
    print(f"two spirals: {len(X_train)} training points, {len(X_test)} test points")
    lasagne_result = train_lasagne(data, args.epochs, 32, args.learning_rate, args.seed, args.export)
    print()
    theanets_result = train_theanets(data, args.epochs, args.learning_rate, args.seed)
    seconds = time.perf_counter() - started
    print(
        f"test accuracy: Lasagne highway {lasagne_result['test_acc']:.2%}, theanets maxout {theanets_result['test_acc']:.2%}"
    )
    print(f"done in {seconds:.1f}s")
    return {"lasagne": lasagne_result, "theanets": theanets_result, "seconds": seconds}


if __name__ == "__main__":
    main()
