"""The lowering table and the context lowerings emit ONNX nodes through.

A lowering is registered per IR op name with :func:`lowering` and is called as
``fn(ctx, node)`` where ``node`` is a :class:`LowerNode`; it returns the ONNX
value names of the op's outputs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import onnx
from onnx import helper, numpy_helper

from ..ir.types import TensorType
from .kernels import DATA_INPUTS, INDEX_OUTPUTS, compute_dtype

__all__ = [
    "LOWERINGS", "lowering", "LowerNode", "LoweringContext", "onnx_dtype", "INT64_MAX", "INT64_MIN", "LOOP_OPS",
    "check_loop_op",
]  # fmt: skip

INT64_MAX = np.iinfo(np.int64).max
INT64_MIN = np.iinfo(np.int64).min

#: how scans over sequences are exported: ONNX ``Scan`` (the default, measured faster) or ``Loop``
LOOP_OPS = ("scan", "loop")

LowerFn = Callable[["LoweringContext", "LowerNode"], Sequence[str]]
LOWERINGS: dict[str, LowerFn] = {}


def lowering(*names: str) -> Callable[[LowerFn], LowerFn]:
    """Register a lowering for the IR ops ``names``."""

    def deco(fn: LowerFn) -> LowerFn:
        for n in names:
            if n in LOWERINGS:
                raise ValueError(f"a lowering for op {n!r} is already registered")
            LOWERINGS[n] = fn
        return fn

    return deco


def check_loop_op(loop_op: object, what: str = "to_onnx") -> str:
    """``loop_op`` if it is one of :data:`LOOP_OPS`.

    Raises
    ------
    ValueError
        Naming the argument, the value given and the allowed values.
    """
    if not isinstance(loop_op, str) or loop_op not in LOOP_OPS:
        allowed = " or ".join(map(repr, LOOP_OPS))
        raise ValueError(f"{what}: loop_op must be {allowed}, got {loop_op!r}")
    return loop_op


def onnx_dtype(dtype: str) -> int:
    """The ONNX TensorProto element type of a numpy dtype name."""
    return helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


@dataclass
class LowerNode:
    """What a lowering sees of one IR node.

    Attributes
    ----------
    op : str
    attrs : dict
    inputs : list of str
        ONNX names of the input values.
    in_types, out_types : list of TensorType
    name : str
        Base name for the ONNX nodes it emits.
    used : list of bool
        Per output: whether anything (a node or a graph output) reads it.  A
        lowering may skip computing an unused output and return ``""`` for it.
    """

    op: str
    attrs: dict[str, Any]
    inputs: list[str]
    in_types: list[TensorType]
    out_types: list[TensorType]
    name: str
    used: list[bool] = field(default_factory=list)


class LoweringContext:
    """Collects ONNX nodes and constant initializers while lowering a graph.

    Parameters
    ----------
    opset : int
        The default-domain opset being targeted.
    loop_op : {'scan', 'loop'}
        The ONNX op scans over sequences become (see :mod:`graphc.export.lowering.scan`).
    """

    def __init__(self, opset: int, loop_op: str = "scan") -> None:
        self.opset = opset
        self.loop_op = check_loop_op(loop_op, "LoweringContext")
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._used: set[str] = set()
        self._consts: dict[tuple[str, tuple[int, ...], bytes], str] = {}
        self._prefix = ""
        self._node_names: set[str] = set()
        # value -> the value it reverses on axis 0 (``x[::-1]``): loops read x backwards instead of the copy
        self.reversed_from: dict[str, str] = {}

    def reserve(self, name: str) -> str:
        """Claim ``name`` (made unique with a suffix if taken) and return it."""
        base, k = name, 1
        while name in self._used:
            name = f"{base}__{k}"
            k += 1
        self._used.add(name)
        return name

    def fresh(self, hint: str) -> str:
        """A new unique value name."""
        return self.reserve(f"{self._prefix}{hint}")

    def node(
        self,
        op_type: str,
        inputs: Sequence[str],
        n_out: int = 1,
        *,
        outputs: Sequence[str] | None = None,
        name: str | None = None,
        dtype: str | None = None,
        **attrs: Any,
    ) -> list[str]:
        """Emit one ONNX node and return its output names.

        ``dtype`` is the dtype of the op's data inputs; where ONNX Runtime has no
        kernel for it (:mod:`graphc.export.kernels`), the node runs in a wider
        dtype between casts.
        """
        hint = name or op_type
        outs = list(outputs) if outputs is not None else [self.fresh(f"{hint}:{i}" if n_out > 1 else hint) for i in range(n_out)]
        attrs = {k: v for k, v in attrs.items() if v is not None}
        wide = compute_dtype(op_type, dtype)
        if wide is None:
            self.nodes.append(helper.make_node(op_type, list(inputs), outs, name=self.reserve_node_name(hint), **attrs))
            return outs
        # no ONNX Runtime kernel for this dtype: compute in `wide` and cast back
        positions = DATA_INPUTS.get(op_type, tuple(range(len(inputs))))
        cast_in = [
            self.op("Cast", x, to=onnx_dtype(wide), name=hint) if i in positions else x for i, x in enumerate(inputs)
        ]
        if op_type in INDEX_OUTPUTS:
            self.nodes.append(helper.make_node(op_type, cast_in, outs, name=self.reserve_node_name(hint), **attrs))
            return outs
        tmp = [self.fresh(f"{hint}:{wide}") for _ in outs]
        self.nodes.append(helper.make_node(op_type, cast_in, tmp, name=self.reserve_node_name(hint), **attrs))
        for t, o in zip(tmp, outs):
            self.nodes.append(
                helper.make_node("Cast", [t], [o], name=self.reserve_node_name(hint), to=onnx_dtype(dtype))  # type: ignore[arg-type]
            )
        return outs

    def op(self, op_type: str, *inputs: str, name: str | None = None, dtype: str | None = None, **attrs: Any) -> str:
        """Emit a single-output ONNX node and return its output name."""
        return self.node(op_type, inputs, 1, name=name, dtype=dtype, **attrs)[0]

    def reserve_node_name(self, hint: str) -> str:
        """A unique node name from ``hint``."""
        name, k = hint, 1
        while name in self._node_names:
            name = f"{hint}_{k}"
            k += 1
        self._node_names.add(name)
        return name

    def const(self, value: Any, dtype: Any = None, hint: str = "const") -> str:
        """An initializer holding ``value`` (deduplicated) and return its name."""
        arr = np.asarray(value, dtype=dtype)
        key = (arr.dtype.str, arr.shape, arr.tobytes())
        if key in self._consts:
            return self._consts[key]
        name = self.fresh(hint)
        self.initializers.append(numpy_helper.from_array(np.array(arr, order="C"), name=name))
        self._consts[key] = name
        return name

    def int64s(self, values: Sequence[int]) -> str:
        """An int64 vector constant."""
        return self.const(np.array(list(values), dtype=np.int64), hint="axes")

    @contextlib.contextmanager
    def subgraph(self) -> Iterator[list[onnx.NodeProto]]:
        """Collect the nodes emitted inside the block into a separate list (a loop body).

        Names stay unique across the whole model and constants still go to the
        main graph's initializers, which a body may read by name.
        """
        saved = self.nodes
        self.nodes = []
        try:
            yield self.nodes
        finally:
            self.nodes = saved

    def drop_unread(self, candidates: Sequence[str], keep: Sequence[str]) -> int:
        """Remove the nodes producing ``candidates`` when nothing reads them any more; return how many.

        Reads are searched in every node's inputs, loop bodies included (they read outer
        values by name), and in ``keep`` (the graph outputs).  A reversal whose every reader
        became a loop reading the original backwards is dropped this way.
        """
        read: set[str] = set(keep)

        def collect(nodes: Sequence[onnx.NodeProto]) -> None:
            for node in nodes:
                read.update(node.input)
                for attr in node.attribute:
                    if attr.type == onnx.AttributeProto.GRAPH:
                        collect(attr.g.node)
                        read.update(o.name for o in attr.g.output)

        collect(self.nodes)
        dead = {c for c in candidates if c not in read}
        if not dead:
            return 0

        def prune(nodes: Any) -> int:
            removed = 0
            for i in range(len(nodes) - 1, -1, -1):
                node = nodes[i]
                if len(node.output) == 1 and node.output[0] in dead:
                    del nodes[i]
                    removed += 1
                    continue
                for attr in node.attribute:
                    if attr.type == onnx.AttributeProto.GRAPH:
                        removed += prune(attr.g.node)
            return removed

        return prune(self.nodes)

    def lower(self, graph: Any, value_name: dict[tuple[int, int], str], rename: dict[tuple[int, int], str] | None = None) -> None:
        """Lower every const and op node of ``graph`` whose values are not in ``value_name`` yet.

        Parameters
        ----------
        graph : graphc.ir.Graph
        value_name : dict
            ONNX names of values already available (inputs, params); filled in.
        rename : dict, optional
            Values that must be written under a given name (graph outputs).
        """
        rename = rename or {}
        for nid in graph.toposort():
            d = graph.data(nid)
            if d.kind == "const" and (nid, 0) not in value_name:
                value_name[(nid, 0)] = self.const(d.value, hint=d.name or "const")
            if d.kind != "op":
                continue
            fn = LOWERINGS.get(d.op)
            if fn is None:
                raise NotImplementedError(f"op {d.op!r} has no ONNX lowering")
            ins = graph.node_inputs(nid)
            base = f"{d.provenance}/{d.op}" if d.provenance else d.op
            node = LowerNode(
                op=d.op,
                attrs=d.attrs,
                inputs=[value_name[v] for v in ins],
                in_types=[graph.type_of(v) for v in ins],
                out_types=list(d.types),
                name=base,
                used=[bool(graph.uses((nid, p)) or graph.output_uses((nid, p))) for p in range(len(d.types))],
            )
            outs = list(fn(self, node))
            renamed: dict[str, str] = {}  # a lowering may return one name for several ports
            for port, oname in enumerate(outs):
                want = rename.get((nid, port))
                current = renamed.get(oname, oname)
                if want is not None:
                    if oname in renamed:
                        self.node("Identity", [current], outputs=[want], name=f"{base}/output")
                    else:
                        for proto in reversed(self.nodes):
                            if oname in proto.output:
                                proto.output[list(proto.output).index(oname)] = want
                                break
                        else:
                            self.node("Identity", [oname], outputs=[want], name=f"{base}/output")
                        renamed[oname] = want
                    current = want
                value_name[(nid, port)] = current
