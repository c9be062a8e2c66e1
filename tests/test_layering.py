"""The compiler's layers import downwards only: ir, tensor, train, passes and export never import
graphc.runtime (which sits above them), ir imports none of the others, and nothing below the
front-ends imports graphc.theanets or graphc.layers; function-level imports count too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "graphc"

#: package -> packages it must never import (relative to graphc)
FORBIDDEN = {
    "ir": ("runtime", "export", "passes", "train", "tensor", "layers", "theanets"),
    "train": ("runtime", "export", "layers", "theanets"),
    "passes": ("runtime", "export", "layers", "theanets"),
    "export": ("runtime", "layers", "theanets"),
    "runtime": ("layers", "theanets"),
}


#: the one known crossing: ``to_onnx(layer)`` takes Lasagne layers and asks graphc.layers for their
#: deterministic outputs (a function-level import, so export never loads the layers on its own)
ALLOWED = {("graphc/export/model.py", "graphc.layers.helper")}


def _imports(path: Path, package: str) -> list[tuple[int, str]]:
    """(line, absolute graphc module) of every import in ``path``, a module of graphc.<package>."""
    parts = ["graphc", *path.relative_to(ROOT).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts = parts[:-1]
    here = parts[:-1] if path.name != "__init__.py" else parts
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            found.append((node.lineno, name))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
    return [(line, name) for line, name in found if name.startswith("graphc")]


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_layers_import_downwards_only(package):
    bad = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for line, name in _imports(path, package):
            sub = name.split(".")[1] if name.count(".") else ""
            if sub in FORBIDDEN[package] and (str(path.relative_to(ROOT.parent)), name) not in ALLOWED:
                bad.append(f"{path.relative_to(ROOT.parent)}:{line} imports {name}")
    assert not bad, "\n".join(bad)
