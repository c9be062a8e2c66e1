"""Testing helpers: an independent ONNX oracle for exported models.

:func:`reference_evaluator` wraps ``onnx.reference.ReferenceEvaluator`` with a
corrected ``Loop``: onnx's reference ``Loop`` joins per-iteration scan outputs
with ``np.vstack`` (concatenating along the existing first axis), whereas the
ONNX shape inference and ONNX Runtime stack them on a new first axis, which
graphc's recurrences rely on.  Everything else is onnx's own reference code.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx.reference import ReferenceEvaluator
from onnx.reference.ops.op_loop import Loop as _ReferenceLoop

__all__ = ["reference_evaluator", "StackingLoop"]


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


def reference_evaluator(model: onnx.ModelProto, **kwargs: Any) -> ReferenceEvaluator:
    """``onnx.reference.ReferenceEvaluator`` for ``model`` with :class:`StackingLoop`."""
    new_ops = list(kwargs.pop("new_ops", [])) + [StackingLoop]
    return ReferenceEvaluator(model, new_ops=new_ops, **kwargs)


StackingLoop = Loop
