"""Serve a graphc-exported ONNX model with plain ONNX Runtime: no graphc needed.

A model that graphc wrote (``graphc.export.save``, ``Network.export``, ``graphc
export``) is a self-contained ONNX file: the weights are initializers, the batch
size is a named dynamic dimension, and the IR version is the lowest that carries
the opset, so any ONNX Runtime 1.2x/1.3x loads it.  This script needs only
``numpy`` and ``onnxruntime``: it prints the model's inputs and outputs, feeds it a
batch, and prints the predictions.

The batch comes from ``--input`` (an ``.npy`` for a single-input model, or an
``.npz`` whose names are the model's inputs).  Without it, a model with a single
input of 64 features (such as the one ``examples/mlp_digits.py --export`` writes)
gets the held-out test images of ``mlp_digits.py`` (the same split; needs
scikit-learn) and the accuracy is printed; any other model gets random normal
values of its input shapes (dynamic sizes set to ``--batch``).

``--save-json`` writes the batch in the JSON form that the Node.js client
``serve/node/run_model.mjs`` reads, so the same model can be served from
Node.js too (see ``README.md`` beside this file).

Run: ``python examples/mlp_digits.py --export /tmp/digits.onnx && python examples/serve/serve_onnx.py /tmp/digits.onnx``
"""

# Deliberately no graphc import: serving needs ONNX Runtime and numpy only.

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

#: ONNX Runtime's input type names and the numpy dtypes they stand for.
_ORT_TYPES = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(float16)": np.float16,
    "tensor(int32)": np.int32,
    "tensor(int64)": np.int64,
    "tensor(int8)": np.int8,
    "tensor(uint8)": np.uint8,
    "tensor(bool)": np.bool_,
}

#: The split of examples/mlp_digits.py (kept in sync by hand: this script does not import it).
DIGITS_SPLIT_SEED = 1234


def open_session(path: str | Path, threads: int = 0, provider: str = "cpu") -> ort.InferenceSession:
    """An ONNX Runtime session for the model at ``path``.

    Parameters
    ----------
    path : str or Path
    threads : int
        Intra-op threads (0: ONNX Runtime's default).
    provider : {'cpu', 'cuda'}
        ``'cuda'`` uses the CUDA provider when this ONNX Runtime has it, with the CPU as fallback.

    Returns
    -------
    onnxruntime.InferenceSession
    """
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    providers = ["CPUExecutionProvider"]
    if provider == "cuda" and "CUDAExecutionProvider" in ort.get_available_providers():
        providers.insert(0, "CUDAExecutionProvider")
    return ort.InferenceSession(str(path), sess_options=options, providers=providers)


def describe(session: ort.InferenceSession) -> str:
    """One line per input and output: name, element type and shape (dynamic sizes by name).

    Parameters
    ----------
    session : onnxruntime.InferenceSession

    Returns
    -------
    str
    """
    meta = session.get_modelmeta()
    lines = [f"model {meta.graph_name!r} by {meta.producer_name or 'unknown'}"]
    lines += [f"  input  {a.name}: {a.type} {a.shape}" for a in session.get_inputs()]
    lines += [f"  output {a.name}: {a.type} {a.shape}" for a in session.get_outputs()]
    lines.append(f"  providers: {', '.join(session.get_providers())}")
    return "\n".join(lines)


def digits_test_batch(limit: int | None = None) -> tuple[np.ndarray, np.ndarray] | None:
    """The held-out test images of ``examples/mlp_digits.py`` and their labels, or None without scikit-learn.

    Parameters
    ----------
    limit : int, optional
        Keep only the first images.

    Returns
    -------
    tuple of numpy.ndarray or None
        float32 ``(n, 64)`` images in [0, 1] and int labels.
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        return None
    digits = load_digits()
    order = np.random.RandomState(DIGITS_SPLIT_SEED).permutation(len(digits.data))
    test = order[int(0.6 * len(order)) + int(0.2 * len(order)) :][:limit]
    return (digits.data[test] / 16.0).astype("float32"), digits.target[test]


def random_feeds(session: ort.InferenceSession, batch: int, seed: int) -> dict[str, np.ndarray]:
    """Random inputs of the model's declared shapes (dynamic sizes set to ``batch``).

    Parameters
    ----------
    session : onnxruntime.InferenceSession
    batch : int
    seed : int

    Returns
    -------
    dict
        Input name -> array.
    """
    rng = np.random.default_rng(seed)
    feeds = {}
    for arg in session.get_inputs():
        shape = [d if isinstance(d, int) else batch for d in arg.shape]
        dtype = _ORT_TYPES.get(arg.type, np.float32)
        if np.issubdtype(dtype, np.floating):
            feeds[arg.name] = rng.normal(size=shape).astype(dtype)
        elif dtype is np.bool_:
            feeds[arg.name] = np.ones(shape, dtype=bool)
        else:
            feeds[arg.name] = rng.integers(0, 2, size=shape).astype(dtype)
    return feeds


def load_feeds(path: str | Path, session: ort.InferenceSession) -> dict[str, np.ndarray]:
    """Inputs from an ``.npy`` (single-input models) or an ``.npz`` (arrays named after the inputs).

    Parameters
    ----------
    path : str or Path
    session : onnxruntime.InferenceSession

    Returns
    -------
    dict
        Input name -> array, cast to the declared element types.

    Raises
    ------
    ValueError
        If the file does not give exactly the model's inputs.
    """
    inputs = session.get_inputs()
    if str(path).endswith(".npz"):
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    else:
        if len(inputs) != 1:
            raise ValueError(
                f"the model has {len(inputs)} inputs: give an .npz with arrays named {[a.name for a in inputs]}"
            )
        arrays = {inputs[0].name: np.load(path, allow_pickle=False)}
    expected = {a.name for a in inputs}
    if set(arrays) != expected:
        raise ValueError(f"{path} has arrays {sorted(arrays)}; the model's inputs are {sorted(expected)}")
    return {a.name: arrays[a.name].astype(_ORT_TYPES.get(a.type, np.float32)) for a in inputs}


def to_node_json(feeds: dict[str, np.ndarray]) -> dict[str, Any]:
    """Inputs in the JSON form of ``serve/node/run_model.mjs``: ``{name: {dims, dtype, data}}``.

    Parameters
    ----------
    feeds : dict

    Returns
    -------
    dict
    """
    return {
        name: {"dims": list(a.shape), "dtype": str(a.dtype), "data": a.ravel().tolist()} for name, a in feeds.items()
    }


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
    ap.add_argument("model", help="an .onnx file exported by graphc")
    ap.add_argument("--input", default=None, help="an .npy (single input) or .npz (arrays named after the inputs)")
    ap.add_argument("--quick", action="store_true", help="a short run: at most 20 digits, 3 timed runs")
    ap.add_argument("--seed", type=int, default=0, help="seed of the random inputs")
    ap.add_argument("--batch", type=int, default=4, help="the size of dynamic dimensions for random inputs")
    ap.add_argument("--limit", type=int, default=None, help="serve only the first digits images")
    ap.add_argument("--threads", type=int, default=0, help="ONNX Runtime intra-op threads (0: its default)")
    ap.add_argument("--provider", choices=("cpu", "cuda"), default="cpu")
    ap.add_argument("--repeat", type=int, default=None, help="timed runs of the batch (default 20, --quick 3)")
    ap.add_argument("--save-json", default=None, help="also write the batch as JSON for serve/node/run_model.mjs")
    args = ap.parse_args(argv)
    if args.quick and args.limit is None:
        args.limit = 20
    if args.repeat is None:
        args.repeat = 3 if args.quick else 20
    return args


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Load the model, run a batch, print the predictions.

    Parameters
    ----------
    argv : sequence of str, optional
        Command-line arguments (default ``sys.argv[1:]``).

    Returns
    -------
    dict
        ``outputs`` (name -> array), ``predictions`` (the argmax over the last
        axis of the first output, for a classifier's probabilities), ``labels``
        and ``accuracy`` (digits only, else None), ``ms_per_batch``.
    """
    args = parse_args(argv)
    session = open_session(args.model, args.threads, args.provider)
    print(describe(session))
    inputs = session.get_inputs()
    labels = None
    if args.input:
        feeds = load_feeds(args.input, session)
        source = args.input
    else:
        digits = None
        if len(inputs) == 1 and len(inputs[0].shape) == 2 and inputs[0].shape[1] == 64:
            digits = digits_test_batch(args.limit)
        if digits is not None:
            feeds, labels = {inputs[0].name: digits[0]}, digits[1]
            source = f"{len(labels)} held-out digits images"
        else:
            feeds = random_feeds(session, args.batch, args.seed)
            source = f"random inputs (dynamic sizes = {args.batch})"
            if any(not isinstance(d, int) for a in inputs for d in a.shape[1:]):
                source += "; the model leaves sizes besides the batch open: give --input if these are wrong"
    print(f"inputs: {source}; " + ", ".join(f"{k} {v.shape} {v.dtype}" for k, v in feeds.items()))
    if args.save_json:
        Path(args.save_json).write_text(json.dumps(to_node_json(feeds)) + "\n")
        print(f"wrote {args.save_json} for: node serve/node/run_model.mjs {args.model} {args.save_json} OUT.json")

    names = [o.name for o in session.get_outputs()]
    results = session.run(names, feeds)
    started = time.perf_counter()
    for _ in range(args.repeat):
        session.run(names, feeds)
    ms = 1000 * (time.perf_counter() - started) / max(args.repeat, 1)
    outputs = dict(zip(names, results))
    first = results[0]
    predictions = first.argmax(axis=-1) if first.ndim >= 2 else None
    for name, value in outputs.items():
        print(f"output {name}: shape {value.shape}, {value.dtype}")
    accuracy = None
    if predictions is not None:
        print(
            f"predictions (argmax of {names[0]}): {predictions.ravel()[:40].tolist()}{' ...' if predictions.size > 40 else ''}"
        )
        if labels is not None:
            accuracy = float(np.mean(predictions == labels))
            print(f"labels:                    {labels[:40].tolist()}{' ...' if labels.size > 40 else ''}")
            print(f"accuracy {accuracy:.2%} on {len(labels)} images")
    else:
        print(f"{names[0]}: {np.array2string(first, precision=4, threshold=20)}")
    print(f"{ms:.3f} ms per batch ({args.repeat} runs)")
    return {"outputs": outputs, "predictions": predictions, "labels": labels, "accuracy": accuracy, "ms_per_batch": ms}


if __name__ == "__main__":
    main()
