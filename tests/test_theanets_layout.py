"""graphc.theanets: upstream's module tree, nothing of theanets left at graphc's root, no import circles."""

import ast
import importlib
import pathlib
import subprocess
import sys

import networkx as nx
import pytest

import graphc

PACKAGE = pathlib.Path(graphc.__file__).parent


def _module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: pathlib.Path) -> set[str]:
    """Every graphc module ``path`` imports, at module level or inside functions."""
    me = _module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("graphc"))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            if not base.startswith("graphc"):
                continue
            for alias in node.names:  # "from . import losses" imports a module
                sub = f"{base}.{alias.name}"
                found.add(sub if _is_module(sub) else base)
    return found


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, AttributeError, ValueError):
        return False


def test_upstream_module_tree_resolves():
    from graphc import theanets

    for name in ("graph", "feedforward", "recurrent", "convolution", "layers", "layers.base", "layers.feedforward",
                 "layers.convolution", "layers.recurrent", "losses", "regularizers", "activations", "trainer", "main",
                 "util"):  # fmt: skip
        importlib.import_module(f"graphc.theanets.{name}")
    assert theanets.layers.base.Layer is theanets.Layer
    assert theanets.layers.recurrent.LSTM.__name__ == "LSTM"
    assert theanets.recurrent.Regressor.INPUT_NDIM == 3 and theanets.convolution.Classifier.INPUT_NDIM == 4
    assert theanets.graph.Network is theanets.Network and theanets.feedforward.Regressor is theanets.Regressor


def test_nothing_of_theanets_at_graphcs_root_or_in_lasagnes_layers():
    for name in ("Regressor", "Classifier", "Autoencoder", "Network", "Layer", "ConfigurationError", "losses", "regularizers"):
        assert not hasattr(graphc, name), name
    assert not list(PACKAGE.glob("layers/theanets_*.py"))
    for stale in ("models", "training", "losses", "regularizers", "_checkpoint", "_model_io"):
        assert not (PACKAGE / f"{stale}.py").exists(), stale
    assert not hasattr(graphc.layers, "TheanetsLayer") and graphc.layers.Layer.__module__ == "graphc.layers.base"


def test_no_import_circle_among_the_theanets_modules():
    graph = nx.DiGraph()
    for path in (PACKAGE / "theanets").rglob("*.py"):
        me = _module_name(path)
        graph.add_node(me)
        for dep in _imports(path):
            if dep.startswith("graphc.theanets") and dep != me and not me.startswith(dep + ".") and dep != "graphc.theanets":
                graph.add_edge(me, dep)
    cycles = [c for c in nx.simple_cycles(graph)]
    assert not cycles, cycles


@pytest.mark.parametrize("upstream", ["theanets", "theanets.layers.base", "theanets.recurrent", "theanets.main"])
def test_legacy_imports_resolve_to_the_package(upstream):
    code = f"import graphc.compat; graphc.compat.install(); import {upstream} as m; print(m.__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == upstream.replace("theanets", "graphc.theanets", 1)
