"""Testing helpers: an independent ONNX oracle for exported models.

:func:`reference_evaluator` wraps ``onnx.reference.ReferenceEvaluator`` with a
corrected ``Loop`` and a complete ``Scan``: onnx's reference ``Loop`` joins
per-iteration scan outputs with ``np.vstack`` (concatenating along the existing
first axis), whereas the ONNX shape inference and ONNX Runtime stack them on a
new first axis, which graphc's recurrences rely on; onnx's reference ``Scan``
refuses reversed scan inputs and outputs (``scan_input_directions``,
``scan_output_directions``) and zero-length
sequences, which ONNX defines and graphc's backward recurrences use.
Everything else is onnx's own reference code.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx.reference import ReferenceEvaluator
from onnx.reference.ops.op_loop import Loop as _ReferenceLoop
from onnx.reference.ops.op_scan import Scan as _ReferenceScan

__all__ = ["reference_evaluator", "StackingLoop", "DirectedScan"]


class Loop(_ReferenceLoop):
    """``Loop`` whose scan outputs are stacked on a new axis 0, as ONNX Runtime does
    (the class name is the op type the evaluator replaces)."""

    op_domain = ""

    def _run(self, M: Any, cond: Any, *args: Any, context: Any = None, body: Any = None, attributes: Any = None, bindings: Any = None) -> Any:  # type: ignore[override]
        names = self.body.input_names
        n_states = len(names) - 2
        inputs: dict[str, Any] = dict(context or {})
        states = list(args[:n_states])
        stacked: list[list[np.ndarray]] = [[] for _ in range(self.K)]
        it = 0
        keep = True if cond is None else bool(cond)
        while keep and (M is None or it < int(M)):
            inputs[names[0]] = np.array(it, dtype=np.int64)
            inputs[names[1]] = np.array(keep)
            for name, value in zip(names[2:], states):
                inputs[name] = value
            outputs = self._run_body(inputs, attributes=attributes, bindings=bindings)
            keep = bool(outputs[0])
            states = list(outputs[1 : 1 + n_states])
            for k in range(self.K):
                stacked[k].append(np.asarray(outputs[1 + n_states + k]))
            it += 1
        result = states + [np.stack(s) if s else np.empty((0,)) for s in stacked]
        return self._check_and_fix_outputs(tuple(result))


class Scan(_ReferenceScan):
    """``Scan`` with reversed scan inputs and outputs and zero-length sequences, as the ONNX spec defines
    them (scan axes other than the defaults are still refused)."""

    op_domain = ""

    def __init__(self, onnx_node: Any, run_params: Any) -> None:
        saved: dict[str, list[int]] = {}
        for attr in onnx_node.attribute:
            if attr.name in ("scan_input_directions", "scan_output_directions"):
                saved[attr.name] = list(attr.ints)
                attr.ClearField("ints")  # the base class refuses non-zero directions
        try:
            super().__init__(onnx_node, run_params)
        finally:
            for attr in onnx_node.attribute:
                if attr.name in saved:
                    attr.ints.extend(saved[attr.name])
        ins, outs = saved.get("scan_input_directions", []), saved.get("scan_output_directions", [])
        self.input_directions_ = [ins[i] if i < len(ins) else 0 for i in range(self.num_scan_inputs)]
        self.output_directions_ = outs  # 1: each step's result is prepended (the stack is reversed)

    def _run(self, *args: Any, context: Any = None, bindings: Any = None, **_: Any) -> Any:  # type: ignore[override]
        shape = self._common_run_shape(*args)
        n_states, state_in, state_out, scan_in, scan_out, values = shape[0], shape[6], shape[7], shape[8], shape[9], shape[10]
        states = list(shape[11])
        steps = args[n_states].shape[0]
        stacked: list[list[np.ndarray]] = [[] for _ in scan_out]
        for it in range(steps):
            inputs: dict[str, Any] = dict(context or {})
            inputs.update(zip(state_in, states))
            inputs.update(
                (name, value[steps - 1 - it] if d else value[it])
                for name, value, d in zip(scan_in, values, self.input_directions_)
            )
            outputs = dict(zip(self.output_names, self._run_body(inputs, bindings=bindings)))
            states = [outputs[name] for name in state_out]
            for k, name in enumerate(scan_out):
                stacked[k].append(np.asarray(outputs[name]))
        for k, s in enumerate(stacked):
            if k < len(self.output_directions_) and self.output_directions_[k]:
                s.reverse()
        result = states + [np.stack(s) if s else np.empty((0,)) for s in stacked]
        return self._check_and_fix_outputs(tuple(result))


def reference_evaluator(model: onnx.ModelProto, **kwargs: Any) -> ReferenceEvaluator:
    """``onnx.reference.ReferenceEvaluator`` for ``model`` with :class:`StackingLoop` and :class:`DirectedScan`."""
    new_ops = list(kwargs.pop("new_ops", [])) + [StackingLoop, DirectedScan]
    return ReferenceEvaluator(model, new_ops=new_ops, **kwargs)


StackingLoop = Loop
DirectedScan = Scan
