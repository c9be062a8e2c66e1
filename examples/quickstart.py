"""Quickstart: Theano-style expressions compiled to ONNX and run by ONNX Runtime.

Builds a small two-layer network over shared weights, compiles it with
``graphc.function``, checks the result against numpy, keeps a running mean of
the outputs through ``updates``, trains it with Adam (forward, backward and
update in one ONNX Runtime session), and exports it as an ONNX file that it
checks the way ``graphc check`` does (the ONNX checker, ONNX Runtime, and
ONNX Runtime against ``onnx.reference``) and serves with plain ONNX Runtime.

Run: ``python examples/quickstart.py [output.onnx]``
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

import graphc as theano
import graphc.tensor as T
from graphc.cli import describe_model
from graphc.export import load, save, to_onnx


def main(out_path: str | None = None) -> None:
    rng = np.random.default_rng(0)
    W1 = theano.shared(rng.normal(0, 0.1, (8, 16)), name="W1")
    b1 = theano.shared(np.zeros(16), name="b1")
    W2 = theano.shared(rng.normal(0, 0.1, (16, 3)), name="W2")
    b2 = theano.shared(np.zeros(3), name="b2")

    x = T.matrix("x")
    hidden = T.tanh(T.dot(x, W1) + b1)
    probs = T.nnet.softmax(T.dot(hidden, W2) + b2)
    running = theano.shared(np.zeros(3), name="running_mean")
    predict = theano.function([x], [probs, T.argmax(probs, axis=1)], updates=[(running, 0.9 * running + 0.1 * probs.mean(axis=0))])

    batch = rng.normal(size=(5, 8)).astype("float32")
    p, labels = predict(batch)
    h = np.tanh(batch @ W1.get_value() + b1.get_value())
    logits = h @ W2.get_value() + b2.get_value()
    expected = np.exp(logits - logits.max(1, keepdims=True))
    expected /= expected.sum(1, keepdims=True)
    print(f"compiled on {predict.device}: probabilities match numpy: {np.allclose(p, expected, atol=1e-6)}")
    print(f"predicted classes: {labels.tolist()}, running mean: {np.round(running.get_value(), 4).tolist()}")

    # training: cross-entropy on three Gaussian blobs, Adam, 300 steps
    t = T.lvector("t")
    cost = T.mean(T.nnet.categorical_crossentropy(probs, t))
    params = [W1, b1, W2, b2]
    train = theano.function([x, t], cost, updates=theano.updates.adam(cost, params, learning_rate=0.05))
    centers = rng.normal(0, 2, (3, 8))
    labels_all = rng.integers(0, 3, 600)
    data = (centers[labels_all] + rng.normal(size=(600, 8))).astype("float32")
    first = float(train(data[:100], labels_all[:100]))
    for step in range(300):
        lo = (step * 100) % 600
        last = float(train(data[lo : lo + 100], labels_all[lo : lo + 100]))
    accuracy = float((predict(data)[1] == labels_all).mean())
    print(f"trained with Adam: loss {first:.3f} -> {last:.3f}, training accuracy {accuracy:.1%}")

    # the same graph, as a self-contained inference model with the weights inside
    model = to_onnx({"probs": probs}, [x])
    path = Path(out_path) if out_path else Path(tempfile.mkdtemp()) / "quickstart.onnx"
    save(model, path)
    print(describe_model(load(path), str(path)))

    import onnxruntime as ort

    from graphc.cli.check import check_model

    result = check_model(load(path), str(path), sizes={"x_dim0": 4}, seed=0, rtol=1e-4, atol=1e-5)
    print(result.summary())
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    served = session.run(["probs"], {"x": batch})[0]
    print(f"ONNX Runtime serving the saved file matches graphc: {np.allclose(served, predict(batch)[0], atol=1e-6)}")
    if not result.ok or accuracy < 0.9:
        raise SystemExit("quickstart: the exported model failed its check or training did not converge")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
