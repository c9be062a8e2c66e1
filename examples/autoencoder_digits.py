"""A tied linear autoencoder on the digits, theanets style, measured against PCA.

The theanets documentation's autoencoder (``../shared/seeds/theanets-layers.txt``)
ties the decoder's weights to the encoder's: with ``k`` linear hidden units,
``x -> (x W + b1) W^T + b2``.  Trained to reconstruct its input, such a network
can do no better than PCA with ``k`` components, and at its optimum it spans the
same subspace.  This example checks that on scikit-learn's digits (8x8 images
scaled to [0, 1]): it builds ``theanets.Autoencoder([64, (k, 'linear'), ('tied',
'linear')])`` (``from graphc import theanets``), trains it with theanets' loop
(``net.itertrain``, which takes the same arguments as ``net.train`` and yields
the training and validation monitors after every iteration, printed as a table),
and compares the test reconstruction error with that of PCA computed with
numpy's SVD on the same training images.  It also prints how well the learned
weights span PCA's subspace (the mean cosine of the principal angles, 1.0 for
the same subspace).

Run: ``python examples/autoencoder_digits.py [--k 16] [--algo adam] [--max-updates 200]``
(``--quick``: a short run for the test suite).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from graphc import theanets
from graphc.theanets.trainer import ALGORITHMS

#: The seed of the train/valid/test split: fixed, so that every run scores on the same test images.
SPLIT_SEED = 1234


def load_data(split_seed: int = SPLIT_SEED) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The digits as float32 vectors in [0, 1], split 60/20/20 into train, valid and test.

    Parameters
    ----------
    split_seed : int

    Returns
    -------
    train, valid, test : numpy.ndarray
        Arrays of shape ``(n, 64)``.
    """
    from sklearn.datasets import load_digits

    X = (load_digits().data / 16.0).astype("float32")
    order = np.random.RandomState(split_seed).permutation(len(X))
    n_train, n_valid = int(0.6 * len(X)), int(0.2 * len(X))
    return X[order[:n_train]], X[order[n_train : n_train + n_valid]], X[order[n_train + n_valid :]]


def pca_baseline(train: np.ndarray, test: np.ndarray, k: int) -> tuple[float, np.ndarray]:
    """Mean squared error on ``test`` of PCA with ``k`` components fitted on ``train`` (numpy's SVD).

    Parameters
    ----------
    train, test : numpy.ndarray
    k : int

    Returns
    -------
    mse : float
        Averaged over examples and pixels, as the autoencoder's loss.
    components : numpy.ndarray
        ``(64, k)``, orthonormal columns: the principal directions.
    """
    mean = train.mean(axis=0)
    _, _, vt = np.linalg.svd(train - mean, full_matrices=False)
    components = vt[:k].T
    reconstruction = (test - mean) @ components @ components.T + mean
    return float(np.mean((test - reconstruction) ** 2)), components


def subspace_similarity(weights: np.ndarray, components: np.ndarray) -> float:
    """Mean cosine of the principal angles between the column spaces of ``weights`` and ``components``.

    Parameters
    ----------
    weights : numpy.ndarray
        ``(64, k)``, any basis.
    components : numpy.ndarray
        ``(64, k)``, orthonormal columns.

    Returns
    -------
    float
        1.0 when the subspaces are the same, near 0 when orthogonal.
    """
    q, _ = np.linalg.qr(weights.astype(np.float64))
    return float(np.linalg.svd(q.T @ components, compute_uv=False).mean())


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
    ap.add_argument("--quick", action="store_true", help="a short run for the test suite (40 iterations)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the initialization and shuffling")
    ap.add_argument("--k", type=int, default=16, help="hidden units (PCA components)")
    ap.add_argument("--algo", choices=ALGORITHMS, default="adam")
    ap.add_argument("--learning-rate", type=float, default=0.01)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument(
        "--max-updates", type=int, default=None, help="training iterations (passes); default 200, --quick 40"
    )
    ap.add_argument("--report-every", type=int, default=None, help="print every this many iterations")
    args = ap.parse_args(argv)
    if args.max_updates is None:
        args.max_updates = 40 if args.quick else 200
    if args.report_every is None:
        args.report_every = max(1, args.max_updates // 20)
    return args


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Train the tied autoencoder and compare it with PCA.

    Parameters
    ----------
    argv : sequence of str, optional
        Command-line arguments (default ``sys.argv[1:]``).

    Returns
    -------
    dict
        ``test_mse``, ``pca_mse``, ``ratio`` (``test_mse / pca_mse``, 1.0 is
        PCA's optimum), ``mean_mse`` (the error of predicting the mean image),
        ``subspace_cos``, ``history`` and ``seconds``.
    """
    args = parse_args(argv)
    started = time.perf_counter()
    train, valid, test = load_data()
    pca_mse, components = pca_baseline(train, test, args.k)
    valid_pca, _ = pca_baseline(train, valid, args.k)
    mean_mse = float(np.mean((test - train.mean(axis=0)) ** 2))

    net = theanets.Autoencoder([64, (args.k, "linear"), ("tied", "linear")], rng=args.seed)
    print(net)  # the layer table
    print(f"{len(train)} train, {len(valid)} valid, {len(test)} test images")
    print(f"PCA with k={args.k} (numpy SVD): test error {pca_mse:.5f}; predicting the mean image: {mean_mse:.5f}")
    print(f"{'iter':>5}  {'train loss':>10}  {'valid loss':>10}  {'valid / PCA':>11}  {'time':>6}")
    history = []
    t0 = time.perf_counter()
    monitors = net.itertrain(
        [train],
        [valid],
        algo=args.algo,
        learning_rate=args.learning_rate,
        batch_size=args.batch_size,
        max_updates=args.max_updates,
        validate_every=1,
        patience=args.max_updates,  # run all the iterations; the best validation's parameters are restored
        rng=args.seed,
        progress=False,
    )
    for iteration, (train_mon, valid_mon) in enumerate(monitors, start=1):
        row = {"iteration": iteration, "train_loss": train_mon["loss"], "valid_loss": valid_mon["loss"]}
        history.append(row)
        if iteration % args.report_every == 0 or iteration == args.max_updates:
            print(
                f"{iteration:5d}  {row['train_loss']:10.5f}  {row['valid_loss']:10.5f}  "
                f"{row['valid_loss'] / valid_pca:11.3f}  {time.perf_counter() - t0:5.1f}s"
            )

    test_mse = float(np.mean((net.predict(test) - test) ** 2))
    cos = subspace_similarity(net.find("hid1", "w").get_value(), components)
    codes = net.encode(test[:3])
    seconds = time.perf_counter() - started
    print(f"codes of 3 test images: shape {codes.shape}")
    print(f"test reconstruction error {test_mse:.5f} = {test_mse / pca_mse:.3f} x PCA's {pca_mse:.5f}")
    print(f"learned subspace vs PCA's: mean cosine of the principal angles {cos:.3f}; done in {seconds:.1f}s")
    return {
        "test_mse": test_mse,
        "pca_mse": pca_mse,
        "ratio": test_mse / pca_mse,
        "mean_mse": mean_mse,
        "subspace_cos": cos,
        "history": history,
        "seconds": seconds,
    }


if __name__ == "__main__":
    main()
