"""Where a session copies between host and device: the Memcpy nodes of ONNX Runtime's optimized graph.

When a graph runs on CUDA, ONNX Runtime inserts ``MemcpyToHost`` and
``MemcpyFromHost`` nodes wherever a value crosses between a CUDA kernel and a
CPU kernel (an op the CUDA provider lacks, a shape computation it leaves on
the CPU).  :func:`memcpy_nodes` lists them, so a test can assert that a
training step never leaves the device.  On the CPU the list is always empty.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

import onnx
import onnxruntime as ort

__all__ = ["memcpy_nodes"]


def _session_of(target: Any) -> ort.InferenceSession:
    from .function import Function

    if isinstance(target, Function):
        return target._session
    if isinstance(target, ort.InferenceSession):
        return target
    raise TypeError(
        f"memcpy_nodes: expected a graphc Function or an onnxruntime.InferenceSession, got {type(target).__name__}"
    )


def _model_source(sess: ort.InferenceSession, target: Any) -> Any:
    from .function import Function

    if isinstance(target, Function):
        return target.onnx_model.SerializeToString()
    source = getattr(sess, "_model_bytes", None) or getattr(sess, "_model_path", None)
    if source is None:
        raise ValueError("memcpy_nodes: this session keeps neither its model's bytes nor its path; pass the graphc Function")
    return source


def _walk(graph: onnx.GraphProto, where: str, found: list[str]) -> None:
    for node in graph.node:
        if node.op_type.startswith("Memcpy"):
            found.append(f"{node.op_type} {where}{node.name or '(unnamed)'}")
        for attr in node.attribute:
            subgraphs = [attr.g] if attr.type == onnx.AttributeProto.GRAPH else list(attr.graphs)
            for sub in subgraphs:
                _walk(sub, f"{where}{node.name or node.op_type}/{attr.name}: ", found)


def memcpy_nodes(target: Any) -> list[str]:
    """The host/device copy nodes ONNX Runtime put into a session's optimized graph.

    The session's model is optimized again with the session's providers,
    provider options and optimization level, written to a temporary folder
    (``SessionOptions.optimized_model_filepath``) and searched, loop bodies
    included, for ``MemcpyToHost`` / ``MemcpyFromHost`` nodes.

    Parameters
    ----------
    target : graphc.Function or onnxruntime.InferenceSession
        A compiled function, or a session created from bytes or a path (as
        :func:`graphc.runtime.open_session` makes them).

    Returns
    -------
    list of str
        One ``"<op type> <node name>"`` per copy node, nodes inside a Loop or
        If body prefixed by ``"<node>/<attribute>: "``.  Empty for a session
        that runs on the CPU only, and for a CUDA session that never leaves
        the device.

    Raises
    ------
    TypeError
        For anything but a Function or an InferenceSession.

    Examples
    --------
    >>> import graphc, graphc.tensor as T
    >>> x = T.matrix('x')
    >>> graphc.runtime.memcpy_nodes(graphc.function([x], 2 * x, device='cpu'))
    []
    """
    sess = _session_of(target)
    source = _model_source(sess, target)
    old = sess.get_session_options()
    providers = sess.get_providers()
    options = sess.get_provider_options()
    with tempfile.TemporaryDirectory(prefix="graphc-memcpy-") as tmp:
        path = os.path.join(tmp, "optimized.onnx")
        so = ort.SessionOptions()
        so.log_severity_level = old.log_severity_level
        so.graph_optimization_level = old.graph_optimization_level
        so.optimized_model_filepath = path
        ort.InferenceSession(source, sess_options=so, providers=providers, provider_options=[options.get(p, {}) for p in providers])
        model = onnx.load(path, load_external_data=False)
    found: list[str] = []
    _walk(model.graph, "", found)
    return found
