"""The examples train on real data: each one's ``--quick`` mode, run in-process, meets a quality bar.

The bars were measured on a 2-core machine over several seeds and leave a margin for other
seeds, machines and Python versions (the tagger's text is the standard library's docstrings):

- mlp_digits: test accuracy 0.961-0.972 (seeds 0-5) -> bar 0.90;
- bilstm_tagger: held-out per-character accuracy 0.924-0.931 (seeds 0-3) against the
  0.804 of always answering "not a word start" -> bar: baseline + 0.06;
- autoencoder_digits: test error 1.13-1.14 x PCA's (seeds 0-4) -> bar 1.35 x;
- custom_layer: two-spirals test accuracy 0.98-1.00 for both networks -> bar 0.90.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load_example(relpath: str) -> ModuleType:
    """Import ``examples/<relpath>`` under a private module name."""
    path = EXAMPLES / relpath
    name = "graphc_example_" + relpath.replace("/", "_").removesuffix(".py")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def _isolated(monkeypatch):
    """No progress bars; the examples seed numpy's and Lasagne's global generators: put them back."""
    import graphc.random

    monkeypatch.delenv("GRAPHC_PROGRESS", raising=False)
    rng, state = graphc.random.get_rng(), np.random.get_state()
    yield
    graphc.random.set_rng(rng)
    np.random.set_state(state)


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory) -> dict[str, Any]:
    """mlp_digits.py --quick, exporting to a temporary file (shared with the serving tests)."""
    pytest.importorskip("sklearn")
    path = tmp_path_factory.mktemp("digits") / "digits.onnx"
    result = load_example("mlp_digits.py").main(["--quick", "--seed", "0", "--export", str(path)])
    result["path"] = path
    return result


def test_mlp_digits_quick(digits_run):
    assert digits_run["test_acc"] >= 0.90
    assert len(digits_run["history"]) == 6
    assert digits_run["history"][-1]["train_loss"] < 0.5 * digits_run["history"][0]["train_loss"]
    assert digits_run["path"].exists() and digits_run["onnx_agrees"]


def test_mlp_digits_prints_an_epoch_table(capsys, tmp_path):
    pytest.importorskip("sklearn")
    args = ["--quick", "--epochs", "2", "--optimizer", "nesterov", "--seed", "3", "--export", str(tmp_path / "m.onnx")]
    load_example("mlp_digits.py").main(args)  # (without --export it writes to a fresh temporary folder)
    out = capsys.readouterr().out
    assert "epoch" in out and "valid acc" in out and "test accuracy" in out
    assert "ONNX Runtime gives the same predictions: True" in out


def test_serve_onnx_serves_the_exported_digits_model(digits_run, tmp_path):
    serve = load_example("serve/serve_onnx.py")
    result = serve.main([str(digits_run["path"]), "--quick", "--limit", "1000"])
    # the same held-out images as mlp_digits.py, so the same accuracy
    assert result["accuracy"] == pytest.approx(digits_run["test_acc"], abs=1e-6)
    # an .npz named after the inputs gives the same predictions for those images
    images = serve.digits_test_batch(5)[0]
    np.savez(tmp_path / "batch.npz", inputs=images)
    again = serve.main([str(digits_run["path"]), "--input", str(tmp_path / "batch.npz"), "--repeat", "1"])
    np.testing.assert_array_equal(again["predictions"], result["predictions"][:5])
    # the batch as JSON for the Node.js client
    args = [str(digits_run["path"]), "--input", str(tmp_path / "batch.npz"), "--save-json", str(tmp_path / "b.json")]
    assert serve.main(args)["outputs"]["probs"].shape == (5, 10)
    assert (tmp_path / "b.json").read_text().startswith('{"inputs": {"dims": [5, 64]')
    # random inputs of the declared shapes, for any model
    feeds = serve.random_feeds(serve.open_session(digits_run["path"]), batch=3, seed=0)
    assert list(feeds) == ["inputs"] and feeds["inputs"].shape == (3, 64) and feeds["inputs"].dtype == np.float32


def test_serve_onnx_does_not_import_graphc():
    tree = ast.parse((EXAMPLES / "serve" / "serve_onnx.py").read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert "graphc" not in imported
    allowed = {
        "__future__",
        "argparse",
        "json",
        "time",
        "collections",
        "pathlib",
        "typing",
        "numpy",
        "onnxruntime",
        "sklearn",
    }
    assert imported <= allowed


def test_bilstm_tagger_quick():
    result = load_example("bilstm_tagger.py").main(["--quick", "--seed", "0"])
    assert 0.7 < result["baseline_acc"] < 0.9
    assert result["valid_acc"] >= result["baseline_acc"] + 0.06
    assert result["history"][-1]["valid_loss"] < result["history"][0]["valid_loss"]
    assert len(result["examples"]) == 5 and all(isinstance(s, str) and s for s in result["examples"])


def test_bilstm_tagger_data():
    tagger = load_example("bilstm_tagger.py")
    ids, tags = tagger.encode("return the value.")
    assert tags.tolist() == [1, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0]
    assert tagger.decode(ids, tags) == "return the value."
    batch_ids, mask, batch_tags = tagger.pad([tagger.encode("a bc"), tagger.encode("def")])
    assert batch_ids.shape == mask.shape == batch_tags.shape == (2, 3)
    assert mask.tolist() == [[1, 1, 1], [1, 1, 1]] and batch_tags[0].tolist() == [1, 1, 0]
    batch_ids, mask, _ = tagger.pad([tagger.encode("ab"), tagger.encode("cdef")])
    assert mask.tolist() == [[1, 1, 0, 0], [1, 1, 1, 1]] and batch_ids[0, 2:].tolist() == [0, 0]
    text = tagger.sentences(tagger.stdlib_docstrings(max_files=20))
    assert len(text) > 50 and all(set(s) <= set(tagger.ALPHABET + " ") for s in text)


def test_bilstm_tagger_padding_does_not_change_a_sentence():
    import graphc as lasagne
    import graphc as theano

    tagger = load_example("bilstm_tagger.py")
    l_in, l_mask, l_out = tagger.build_tagger(n_hidden=8, n_embed=4)
    probs = theano.function([l_in.input_var, l_mask.input_var], lasagne.layers.get_output(l_out, deterministic=True))
    short = tagger.encode("jumps over")
    ids, mask, _ = tagger.pad([tagger.encode("the quick brown fox"), short])
    alone_ids, alone_mask, _ = tagger.pad([short])
    np.testing.assert_allclose(probs(ids, mask)[1, : len(short[0])], probs(alone_ids, alone_mask)[0], atol=1e-6)


def test_autoencoder_digits_quick():
    pytest.importorskip("sklearn")
    result = load_example("autoencoder_digits.py").main(["--quick", "--seed", "0"])
    assert result["ratio"] <= 1.35  # within 35% of PCA's error with the same k
    assert result["ratio"] >= 1.0 - 1e-3  # PCA is the optimum of a linear tied autoencoder
    assert result["test_mse"] < 0.3 * result["mean_mse"]
    assert result["subspace_cos"] >= 0.8


@pytest.fixture
def _theanets_registry():
    """custom_layer.py registers a theanets layer form; forget it afterwards."""
    from graphc.theanets.layers.base import Layer

    saved = dict(Layer._registry)
    yield
    Layer._registry.clear()
    Layer._registry.update(saved)


@pytest.mark.usefixtures("_theanets_registry")
def test_custom_layer_quick(tmp_path):
    path = tmp_path / "highway.onnx"
    result = load_example("custom_layer.py").main(["--quick", "--seed", "0", "--export", str(path)])
    assert result["lasagne"]["test_acc"] >= 0.90
    assert result["theanets"]["test_acc"] >= 0.90
    assert result["lasagne"]["onnx_agrees"] and path.exists()
    assert result["theanets"]["reload_agrees"]
