"""An MLP classifier on scikit-learn's handwritten digits, Lasagne style, exported to ONNX.

The digits data set (1797 images of 8x8 pixels, 10 classes; it ships inside the
scikit-learn wheel) is split into training, validation and test sets with a fixed
seed.  A multi-layer perceptron with dropout is written with graphc's Lasagne
layers (``import graphc as lasagne``), its cross-entropy minimised with Adam or
Nesterov momentum from ``graphc.updates``; ``graphc.function`` compiles the
forward pass, the backward pass and the update into one ONNX Runtime session.
Each epoch prints the training loss and the validation loss and accuracy; the
parameters of the best validation epoch are kept and scored on the test set.

The inference model (dropout off) is then exported with ``graphc.export.to_onnx``
and ``save``, loaded into a plain ``onnxruntime.InferenceSession`` and checked to
give the same predictions as the compiled graphc function.  Serve the file with
``examples/serve/serve_onnx.py``.

Run: ``python examples/mlp_digits.py [--epochs 40] [--optimizer adam|nesterov] [--export digits.onnx]``
(``--quick`` trains for a few epochs, for the test suite).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

import graphc as lasagne
import graphc as theano
import graphc.tensor as T
from graphc.export import save, to_onnx

#: The seed of the train/valid/test split: fixed, so that every run scores on the same test images.
SPLIT_SEED = 1234


def load_data(split_seed: int = SPLIT_SEED) -> dict[str, np.ndarray]:
    """The digits, scaled to [0, 1] and split 60/20/20 into train, valid and test.

    Parameters
    ----------
    split_seed : int
        Seed of the permutation that assigns the images to the three sets.

    Returns
    -------
    dict
        ``X_train, y_train, X_valid, y_valid, X_test, y_test``: float32 images of
        shape ``(n, 64)`` and int32 labels.
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    X = (digits.data / 16.0).astype("float32")
    y = digits.target.astype("int32")
    order = np.random.RandomState(split_seed).permutation(len(X))
    n_train, n_valid = int(0.6 * len(X)), int(0.2 * len(X))
    parts = {"train": order[:n_train], "valid": order[n_train : n_train + n_valid], "test": order[n_train + n_valid :]}
    data = {}
    for name, idx in parts.items():
        data[f"X_{name}"], data[f"y_{name}"] = X[idx], y[idx]
    return data


def build_mlp(input_var: Any = None, n_hidden: int = 256, drop_input: float = 0.1, drop_hidden: float = 0.3) -> Any:
    """Two ReLU hidden layers with dropout and a softmax output over the 10 digits.

    Parameters
    ----------
    input_var : Variable, optional
        The input matrix; by default the input layer makes one.
    n_hidden : int
        Units per hidden layer.
    drop_input, drop_hidden : float
        Dropout probabilities of the input and of each hidden layer.

    Returns
    -------
    Layer
        The output layer.
    """
    network = lasagne.layers.InputLayer(shape=(None, 64), input_var=input_var)
    network = lasagne.layers.DropoutLayer(network, p=drop_input)
    for _ in range(2):
        network = lasagne.layers.DenseLayer(
            network, n_hidden, nonlinearity=lasagne.nonlinearities.rectify, W=lasagne.init.GlorotUniform(gain="relu")
        )
        network = lasagne.layers.DropoutLayer(network, p=drop_hidden)
    return lasagne.layers.DenseLayer(network, 10, nonlinearity=lasagne.nonlinearities.softmax)


def iterate_minibatches(
    X: np.ndarray, y: np.ndarray, batch_size: int, rng: np.random.RandomState | None = None
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Minibatches of ``(X, y)``, shuffled when ``rng`` is given (the last one may be short).

    Parameters
    ----------
    X, y : numpy.ndarray
    batch_size : int
    rng : numpy.random.RandomState, optional

    Yields
    ------
    tuple of numpy.ndarray
    """
    order = rng.permutation(len(X)) if rng is not None else np.arange(len(X))
    for start in range(0, len(X), batch_size):
        idx = order[start : start + batch_size]
        yield X[idx], y[idx]


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
    ap.add_argument("--quick", action="store_true", help="a short run for the test suite (6 epochs)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the initialization, dropout and shuffling")
    ap.add_argument("--epochs", type=int, default=None, help="training epochs (default 40, --quick 6)")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--hidden", type=int, default=256, help="units per hidden layer")
    ap.add_argument("--optimizer", choices=("adam", "nesterov"), default="adam")
    ap.add_argument("--learning-rate", type=float, default=None, help="default 1e-3 (adam) or 0.05 (nesterov)")
    ap.add_argument("--export", default=None, help="where to write the ONNX model (default: a temporary directory)")
    args = ap.parse_args(argv)
    if args.epochs is None:
        args.epochs = 6 if args.quick else 40
    if args.learning_rate is None:
        args.learning_rate = 1e-3 if args.optimizer == "adam" else 0.05
    return args


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Train, test, export and check the exported model.

    Parameters
    ----------
    argv : sequence of str, optional
        Command-line arguments (default ``sys.argv[1:]``).

    Returns
    -------
    dict
        ``test_acc``, ``best_valid_acc``, ``best_epoch``, ``history`` (one dict per
        epoch), ``onnx_path`` and ``onnx_agrees`` (the exported model's predictions
        equal graphc's), ``seconds``.
    """
    args = parse_args(argv)
    started = time.perf_counter()
    np.random.seed(args.seed)
    lasagne.random.set_rng(np.random.RandomState(args.seed))
    data = load_data()

    # T.matrix("inputs") works too, but its sizes are all unknown; declaring the 64 features
    # makes the exported model say so (only the batch size stays dynamic)
    input_var = T.tensor("float32", shape=(None, 64), name="inputs")
    target_var = T.ivector("targets")
    network = build_mlp(input_var, n_hidden=args.hidden)
    params = lasagne.layers.get_all_params(network, trainable=True)

    # training: dropout on; evaluation: deterministic=True switches it off
    prediction = lasagne.layers.get_output(network)
    loss = lasagne.objectives.categorical_crossentropy(prediction, target_var).mean()
    if args.optimizer == "adam":
        updates = lasagne.updates.adam(loss, params, learning_rate=args.learning_rate)
    else:
        updates = lasagne.updates.nesterov_momentum(loss, params, learning_rate=args.learning_rate, momentum=0.9)
    test_prediction = lasagne.layers.get_output(network, deterministic=True)
    test_loss = lasagne.objectives.categorical_crossentropy(test_prediction, target_var).mean()
    test_acc = T.mean(T.eq(T.argmax(test_prediction, axis=1), target_var), dtype=theano.config.floatX)

    train_fn = theano.function([input_var, target_var], loss, updates=updates)
    val_fn = theano.function([input_var, target_var], [test_loss, test_acc])
    predict_fn = theano.function([input_var], test_prediction)

    def evaluate(X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        loss_value, acc_value = val_fn(X, y)
        return float(loss_value), float(acc_value)

    print(f"digits: {len(data['X_train'])} train, {len(data['X_valid'])} valid, {len(data['X_test'])} test images")
    print(f"{lasagne.layers.count_params(network)} parameters, {args.optimizer}, learning rate {args.learning_rate}")
    print(f"{'epoch':>5}  {'train loss':>10}  {'valid loss':>10}  {'valid acc':>9}  {'time':>6}")
    rng = np.random.RandomState(args.seed)
    history = []
    best = (-1.0, 0, lasagne.layers.get_all_param_values(network))
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        total, count = 0.0, 0
        for Xb, yb in iterate_minibatches(data["X_train"], data["y_train"], args.batch_size, rng):
            total += float(train_fn(Xb, yb)) * len(Xb)
            count += len(Xb)
        valid_loss, valid_acc = evaluate(data["X_valid"], data["y_valid"])
        history.append({"epoch": epoch, "train_loss": total / count, "valid_loss": valid_loss, "valid_acc": valid_acc})
        print(
            f"{epoch:5d}  {total / count:10.4f}  {valid_loss:10.4f}  {valid_acc:9.2%}  {time.perf_counter() - t0:5.2f}s"
        )
        if valid_acc > best[0]:
            best = (valid_acc, epoch, lasagne.layers.get_all_param_values(network))
    lasagne.layers.set_all_param_values(network, best[2])
    _, accuracy = evaluate(data["X_test"], data["y_test"])
    print(f"best validation accuracy {best[0]:.2%} at epoch {best[1]}; test accuracy {accuracy:.2%}")

    # the inference model: deterministic output (dropout off), weights inside, dynamic batch size
    path = Path(args.export) if args.export else Path(tempfile.mkdtemp(prefix="graphc-digits-")) / "mlp_digits.onnx"
    path.parent.mkdir(parents=True, exist_ok=True)
    save(to_onnx({"probs": test_prediction}, [input_var], name="mlp_digits"), path)

    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    served = session.run(["probs"], {"inputs": data["X_test"]})[0]
    expected = predict_fn(data["X_test"])
    agrees = bool(
        np.array_equal(served.argmax(axis=1), expected.argmax(axis=1)) and np.allclose(served, expected, atol=1e-5)
    )
    print(f"exported {path}; ONNX Runtime gives the same predictions: {agrees}")
    seconds = time.perf_counter() - started
    print(f"done in {seconds:.1f}s")
    return {
        "test_acc": accuracy,
        "best_valid_acc": best[0],
        "best_epoch": best[1],
        "history": history,
        "onnx_path": str(path),
        "onnx_agrees": agrees,
        "seconds": seconds,
    }


if __name__ == "__main__":
    main()
