"""A bidirectional LSTM tagger with masks: word segmentation of the standard library's docstrings.

The text is real English shipped with Python: the docstrings of the standard
library's top-level modules (read with ``ast`` from the source files, nothing is
imported), cut into sentences and lower-cased.  The spaces are then removed and
the network must put them back: each character is tagged 1 if it begins a word,
else 0 (``"returnthenumber"`` -> ``100000100100000``).  Telling where a word
begins takes context on both sides, the letters already read and the letters
still to come, which is what a bidirectional LSTM provides.

Sentences have different lengths, so each minibatch is padded to its longest
sentence and a mask marks the real characters (Lasagne's ``mask_input``; the
backward LSTM then starts at each sentence's own last character).  The network
is an ``EmbeddingLayer`` per character, a forward and a backward ``LSTMLayer``
(``backwards=True``) concatenated, and a softmax ``DenseLayer`` applied at every
step through the ``ReshapeLayer`` trick of the recurrent tutorial; the loss is
the cross-entropy averaged over the real characters only.  Each epoch prints the
training loss and the per-character accuracy on held-out sentences, next to the
baseline of always answering "not a word start".

Run: ``python examples/bilstm_tagger.py [--epochs 8] [--hidden 64]`` (``--quick``: a
short run on part of the data, for the test suite).
"""

from __future__ import annotations

import argparse
import ast
import re
import sysconfig
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

import graphc as lasagne
import graphc as theano
import graphc.tensor as T

#: Characters kept in the sentences (a sentence with any other character is dropped).
ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789.,;:'()-"
#: Id 0 is padding; character ``ALPHABET[i]`` has id ``i + 1``.
VOCAB_SIZE = len(ALPHABET) + 1
#: The held-out sentences are chosen with this seed, whatever ``--seed`` is.
SPLIT_SEED = 1234
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
_KEEP = re.compile(f"[{re.escape(ALPHABET)} ]+")


def stdlib_docstrings(max_files: int | None = None) -> list[str]:
    """The docstrings of the modules, classes and functions of the standard library's top-level ``.py`` files.

    Parameters
    ----------
    max_files : int, optional
        Read only the first files (in sorted order).

    Returns
    -------
    list of str

    Raises
    ------
    RuntimeError
        If no source file of the standard library can be found.
    """
    root = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(root.glob("*.py"))[:max_files]
    if not files:
        raise RuntimeError(f"no standard-library sources under {root}")
    docs = []
    for path in files:
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, OSError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                doc = ast.get_docstring(node)
                if doc:
                    docs.append(doc)
    return docs


def sentences(docs: Sequence[str], min_len: int = 20, max_len: int = 80, min_words: int = 4) -> list[str]:
    """Distinct lower-cased sentences of ``docs`` made only of :data:`ALPHABET` and spaces.

    Parameters
    ----------
    docs : sequence of str
    min_len, max_len : int
        Bounds on a sentence's length in characters (spaces included).
    min_words : int

    Returns
    -------
    list of str
        Sorted, single-spaced.
    """
    found = set()
    for doc in docs:
        for paragraph in re.split(r"\n\s*\n", doc):
            for sentence in _SENTENCE_END.split(" ".join(paragraph.split())):
                s = sentence.lower()
                if min_len <= len(s) <= max_len and len(s.split()) >= min_words and _KEEP.fullmatch(s):
                    found.add(s)
    return sorted(found)


def encode(sentence: str) -> tuple[np.ndarray, np.ndarray]:
    """Character ids of ``sentence`` without its spaces, and the word-start tags.

    Parameters
    ----------
    sentence : str

    Returns
    -------
    ids, tags : numpy.ndarray
        int32 arrays of the same length; ``tags[i]`` is 1 where a word begins.

    Examples
    --------
    >>> encode("is it")[1].tolist()
    [1, 0, 1, 0]
    """
    ids, tags = [], []
    for word in sentence.split():
        for i, ch in enumerate(word):
            ids.append(ALPHABET.index(ch) + 1)
            tags.append(1 if i == 0 else 0)
    return np.array(ids, dtype="int32"), np.array(tags, dtype="int32")


def decode(ids: np.ndarray, tags: np.ndarray) -> str:
    """The text of ``ids`` with a space before every tagged character but the first.

    Parameters
    ----------
    ids, tags : numpy.ndarray

    Returns
    -------
    str
    """
    out = []
    for i, (c, t) in enumerate(zip(ids, tags)):
        if t and i:
            out.append(" ")
        out.append(ALPHABET[int(c) - 1])
    return "".join(out)


def pad(batch: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pad a list of ``(ids, tags)`` to the longest one.

    Parameters
    ----------
    batch : sequence of (ids, tags)

    Returns
    -------
    ids, mask, tags : numpy.ndarray
        ``(batch, max_len)`` arrays: int32 ids (0 for padding), float32 mask
        (1 for real characters), int32 tags (0 for padding).
    """
    n, length = len(batch), max(len(ids) for ids, _ in batch)
    ids = np.zeros((n, length), "int32")
    mask = np.zeros((n, length), "float32")
    tags = np.zeros((n, length), "int32")
    for i, (x, y) in enumerate(batch):
        ids[i, : len(x)], mask[i, : len(x)], tags[i, : len(x)] = x, 1, y
    return ids, mask, tags


def minibatches(
    data: Sequence[tuple[np.ndarray, np.ndarray]], batch_size: int, rng: np.random.RandomState | None = None
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Padded minibatches of sentences of similar length (less padding), in shuffled order when ``rng`` is given.

    Parameters
    ----------
    data : sequence of (ids, tags)
    batch_size : int
    rng : numpy.random.RandomState, optional

    Yields
    ------
    ids, mask, tags : numpy.ndarray
    """
    order = sorted(range(len(data)), key=lambda i: (len(data[i][0]), i))
    if rng is not None:  # shuffle within buckets of similar length, then the batches
        order = [
            i for k in range(0, len(order), 4 * batch_size) for i in rng.permutation(order[k : k + 4 * batch_size])
        ]
    batches = [order[k : k + batch_size] for k in range(0, len(order), batch_size)]
    if rng is not None:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    for idx in batches:
        yield pad([data[i] for i in idx])


def build_tagger(
    n_hidden: int = 64, n_embed: int = 16, grad_clipping: float = 10.0, bidirectional: bool = True
) -> tuple[Any, Any, Any]:
    """Embedding, forward and backward LSTMs concatenated, a softmax over the 2 tags at each step.

    Parameters
    ----------
    n_hidden : int
        Units of each LSTM.
    n_embed : int
        Size of the character embeddings.
    grad_clipping : float
        Clip the gradients flowing through each LSTM step.
    bidirectional : bool
        False leaves out the backward LSTM (the network then sees only the
        characters up to the one it tags: compare the accuracies).

    Returns
    -------
    l_in, l_mask, l_out : Layer
        ``l_out``'s output has shape ``(batch, time, 2)``.
    """
    l_in = lasagne.layers.InputLayer(shape=(None, None), input_var=T.imatrix("chars"))
    l_mask = lasagne.layers.InputLayer(shape=(None, None), input_var=T.matrix("mask"))
    n_batch, n_steps = l_in.input_var.shape
    l_emb = lasagne.layers.EmbeddingLayer(l_in, input_size=VOCAB_SIZE, output_size=n_embed)
    l_fwd = lasagne.layers.LSTMLayer(l_emb, n_hidden, mask_input=l_mask, grad_clipping=grad_clipping)
    if bidirectional:
        l_bwd = lasagne.layers.LSTMLayer(
            l_emb, n_hidden, mask_input=l_mask, grad_clipping=grad_clipping, backwards=True
        )
        l_cat = lasagne.layers.ConcatLayer([l_fwd, l_bwd], axis=2)
    else:
        l_cat = l_fwd
    # one dense layer applied at every step: fold time into the batch axis and back
    l_flat = lasagne.layers.ReshapeLayer(l_cat, (-1, l_cat.output_shape[-1]))
    l_tag = lasagne.layers.DenseLayer(l_flat, 2, nonlinearity=lasagne.nonlinearities.softmax)
    l_out = lasagne.layers.ReshapeLayer(l_tag, (n_batch, n_steps, 2))
    return l_in, l_mask, l_out


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
    ap.add_argument("--quick", action="store_true", help="a short run for the test suite (fewer sentences and epochs)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the initialization and shuffling")
    ap.add_argument("--epochs", type=int, default=None, help="default 8 (--quick 4)")
    ap.add_argument("--train-sentences", type=int, default=None, help="default all (--quick 2000)")
    ap.add_argument("--valid-sentences", type=int, default=400, help="held-out sentences (default 400)")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--hidden", type=int, default=64, help="units of each LSTM")
    ap.add_argument("--embed", type=int, default=16, help="size of the character embeddings")
    ap.add_argument("--learning-rate", type=float, default=0.01)
    ap.add_argument("--forward-only", action="store_true", help="leave out the backward LSTM, for comparison")
    args = ap.parse_args(argv)
    if args.epochs is None:
        args.epochs = 4 if args.quick else 8
    if args.train_sentences is None and args.quick:
        args.train_sentences = 2000
    return args


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Build the data set, train the tagger, report per-character accuracy on held-out sentences.

    Parameters
    ----------
    argv : sequence of str, optional
        Command-line arguments (default ``sys.argv[1:]``).

    Returns
    -------
    dict
        ``valid_acc`` (per-character accuracy of the last epoch on the held-out
        sentences), ``baseline_acc`` (always "not a word start"), ``history``,
        ``n_train``, ``n_valid``, ``examples`` (held-out sentences re-spaced by the
        network), ``seconds``.
    """
    args = parse_args(argv)
    started = time.perf_counter()
    np.random.seed(args.seed)
    lasagne.random.set_rng(np.random.RandomState(args.seed))

    text = sentences(stdlib_docstrings())
    order = np.random.RandomState(SPLIT_SEED).permutation(len(text))
    valid_text = [text[i] for i in order[: args.valid_sentences]]
    train_text = [text[i] for i in order[args.valid_sentences :]][: args.train_sentences]
    train = [encode(s) for s in train_text]
    valid = [encode(s) for s in valid_text]
    n_valid_chars = sum(len(t) for _, t in valid)
    baseline = 1.0 - sum(int(t.sum()) for _, t in valid) / n_valid_chars
    print(
        f"{len(text)} docstring sentences: {len(train)} for training ({sum(len(t) for _, t in train)} characters), "
        f"{len(valid)} held out ({n_valid_chars} characters)"
    )

    l_in, l_mask, l_out = build_tagger(args.hidden, args.embed, bidirectional=not args.forward_only)
    chars, mask = l_in.input_var, l_mask.input_var
    tags = T.imatrix("tags")

    def masked_loss_and_hits(deterministic: bool) -> tuple[Any, Any]:
        probs = lasagne.layers.get_output(l_out, deterministic=deterministic).reshape((-1, 2))
        target, weight = tags.flatten(), mask.flatten()
        ce = lasagne.objectives.categorical_crossentropy(probs, target)
        loss = lasagne.objectives.aggregate(ce, weight, mode="normalized_sum")  # mean over real characters
        hits = T.sum(T.eq(T.argmax(probs, axis=1), target) * weight)
        return loss, hits

    loss, _ = masked_loss_and_hits(deterministic=False)
    params = lasagne.layers.get_all_params(l_out, trainable=True)
    updates = lasagne.updates.adam(loss, params, learning_rate=args.learning_rate)
    train_fn = theano.function([chars, mask, tags], loss, updates=updates)
    eval_loss, eval_hits = masked_loss_and_hits(deterministic=True)
    eval_fn = theano.function([chars, mask, tags], [eval_loss, eval_hits])
    predict_fn = theano.function([chars, mask], T.argmax(lasagne.layers.get_output(l_out, deterministic=True), axis=2))
    print(f"{lasagne.layers.count_params(l_out)} parameters; baseline (no word starts) accuracy {baseline:.2%}")

    def evaluate() -> tuple[float, float]:
        total_loss, hits = 0.0, 0.0
        for ids, m, y in minibatches(valid, 128):
            batch_loss, batch_hits = eval_fn(ids, m, y)
            total_loss += float(batch_loss) * float(m.sum())
            hits += float(batch_hits)
        return total_loss / n_valid_chars, hits / n_valid_chars

    print(f"{'epoch':>5}  {'train loss':>10}  {'valid loss':>10}  {'valid acc':>9}  {'time':>6}")
    rng = np.random.RandomState(args.seed)
    history = []
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        total, count = 0.0, 0.0
        for ids, m, y in minibatches(train, args.batch_size, rng):
            total += float(train_fn(ids, m, y)) * float(m.sum())
            count += float(m.sum())
        valid_loss, valid_acc = evaluate()
        history.append({"epoch": epoch, "train_loss": total / count, "valid_loss": valid_loss, "valid_acc": valid_acc})
        print(
            f"{epoch:5d}  {total / count:10.4f}  {valid_loss:10.4f}  {valid_acc:9.2%}  {time.perf_counter() - t0:5.1f}s"
        )

    ids, m, _ = pad(valid[:5])
    predicted = predict_fn(ids, m)
    examples = [decode(ids[i, : len(valid[i][0])], predicted[i, : len(valid[i][0])]) for i in range(len(ids))]
    for truth, guess in zip(valid_text, examples):
        print(f"  {truth!r}\n  {guess!r}")
    valid_acc = history[-1]["valid_acc"]
    seconds = time.perf_counter() - started
    print(f"held-out per-character accuracy {valid_acc:.2%} (baseline {baseline:.2%}); done in {seconds:.1f}s")
    return {
        "valid_acc": valid_acc,
        "baseline_acc": baseline,
        "history": history,
        "n_train": len(train),
        "n_valid": len(valid),
        "examples": examples,
        "seconds": seconds,
    }


if __name__ == "__main__":
    main()
