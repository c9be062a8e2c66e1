"""Sizes a graph fixes: which symbolic dims its ops force to a static size.

A symbolic size never broadcasts (Theano's rule), so ``x + b`` with ``b`` of
static size 5 on an axis fixes ``x``'s size there to 5; ``x @ W`` fixes ``x``'s
last size to ``W``'s rows; ``concat`` fixes every size off its axis.  The
export writes these sizes into the model's inputs and outputs, and
:class:`graphc.Function` checks them at call time, so a wrong width is a clear
error at the input rather than a failure deep inside ONNX Runtime.
"""

from __future__ import annotations

from .graph import Graph
from .types import Dim

__all__ = ["known_sizes"]

_BROADCASTING = frozenset(
    {
        "add", "sub", "mul", "div", "floor_div", "mod", "pow", "maximum", "minimum", "eq", "neq", "lt", "le", "gt",
        "ge", "logical_and", "logical_or", "logical_xor", "where",
    }
)  # fmt: skip


class _Sizes:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}
        self.size: dict[str, int] = {}
        self.conflict: set[str] = set()

    def find(self, name: str) -> str:
        self.parent.setdefault(name, name)
        while self.parent[name] != name:
            self.parent[name] = self.parent[self.parent[name]]
            name = self.parent[name]
        return name

    def equal(self, a: object, b: object) -> None:
        if isinstance(a, Dim) and isinstance(b, Dim):
            ra, rb = self.find(a.name), self.find(b.name)
            if ra != rb:
                self.parent[ra] = rb
                if ra in self.size:
                    self.fix_root(rb, self.size.pop(ra))
                if ra in self.conflict:
                    self.conflict.add(rb)
        elif isinstance(a, Dim) and isinstance(b, int):
            self.fix_root(self.find(a.name), b)
        elif isinstance(b, Dim) and isinstance(a, int):
            self.fix_root(self.find(b.name), a)

    def fix_root(self, root: str, value: int) -> None:
        if self.size.setdefault(root, value) != value:
            self.conflict.add(root)  # contradictory: leave it symbolic, the runtime will say why

    def result(self) -> dict[str, int]:
        out = {}
        for name in self.parent:
            root = self.find(name)
            if root in self.size and root not in self.conflict:
                out[name] = self.size[root]
        return out


def known_sizes(graph: Graph) -> dict[str, int]:
    """``{dim name: size}`` for the symbolic dims of ``graph`` (not of loop bodies) its ops fix."""
    sizes = _Sizes()
    for nid in graph.op_nodes():
        d = graph.data(nid)
        ins = [graph.type_of(v) for v in graph.node_inputs(nid)]
        if d.op == "matmul" and len(ins) == 2 and ins[0].ndim and ins[1].ndim:
            a, b = ins
            sizes.equal(a.shape[-1], b.shape[-2] if b.ndim > 1 else b.shape[0])
        elif d.op in _BROADCASTING and len(ins) >= 2:
            for i, t in enumerate(ins):
                for u in ins[i + 1 :]:
                    for x, y in zip(reversed(t.shape), reversed(u.shape)):
                        if not (isinstance(x, int) and x == 1) and not (isinstance(y, int) and y == 1):
                            sizes.equal(x, y)
        elif d.op == "concat" and len(ins) >= 2:
            axis = d.attrs["axis"]
            for t in ins[1:]:
                for k, (x, y) in enumerate(zip(ins[0].shape, t.shape)):
                    if k != axis:
                        sizes.equal(x, y)
    return sizes.result()
