"""The plumbing Lasagne's recurrent layers share: mask and initial-state inputs, checks,
running the step through scan or unrolled, and the output layout."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import tensor as T
from ..ir.types import format_shape
from ..tensor.scan import scan
from ..tensor.variable import Variable
from ..utils import unroll_scan
from .base import Layer, MergeLayer, format_layer

__all__ = ["RecurrentBase", "masked", "positive_units"]


def positive_units(layer: Any, num_units: Any) -> int:
    """``num_units`` as an int, or ``ValueError`` naming the layer when it is not a positive integer."""
    if isinstance(num_units, bool) or not isinstance(num_units, (int, np.integer)) or num_units <= 0:
        raise ValueError(f"{format_layer(layer)}: num_units must be a positive int, got {num_units!r}")
    return int(num_units)


class RecurrentBase(MergeLayer):
    """Shared plumbing: optional mask and initial-state layers, checks, output layout."""

    def __init__(
        self,
        incoming: Any,
        state_inits: list[tuple[str, Any]],
        backwards: bool,
        learn_init: bool,
        gradient_steps: int,
        grad_clipping: float,
        unroll_scan: bool,
        precompute_input: bool,
        mask_input: Any,
        only_return_final: bool,
        **kwargs: Any,
    ) -> None:
        incomings = [incoming]
        self.mask_incoming_index = -1
        if mask_input is not None:
            incomings.append(mask_input)
            self.mask_incoming_index = len(incomings) - 1
        self._init_incoming: dict[str, int] = {}
        for name, spec in state_inits:
            if isinstance(spec, Layer):
                incomings.append(spec)
                self._init_incoming[name] = len(incomings) - 1
        super().__init__(incomings, **kwargs)
        self.backwards = bool(backwards)
        self.learn_init = bool(learn_init)
        self.gradient_steps = int(gradient_steps)
        if isinstance(grad_clipping, bool) or not isinstance(grad_clipping, (int, float, np.integer, np.floating)) or not (
            np.isfinite(grad_clipping) and grad_clipping >= 0
        ):
            raise ValueError(f"{format_layer(self)}: grad_clipping must be a finite number >= 0 (0: no clipping), got {grad_clipping!r}")
        self.grad_clipping = grad_clipping
        self.unroll_scan = bool(unroll_scan)
        self.precompute_input = bool(precompute_input)
        self.only_return_final = bool(only_return_final)
        if self.unroll_scan and self.gradient_steps != -1:
            raise ValueError(f"{format_layer(self)}: gradient_steps must be -1 when unroll_scan is True")
        input_shape = self.input_shapes[0]
        if len(input_shape) < 3:
            raise ValueError(
                f"{format_layer(self)}: input must be (batch, time, features...), got shape {input_shape}"
            )
        if self.unroll_scan and input_shape[1] is None:
            raise ValueError(f"{format_layer(self)}: input sequence length cannot be None when unroll_scan is True")
        if mask_input is not None:
            mask_shape = self.input_shapes[self.mask_incoming_index]
            if len(mask_shape) != 2:
                raise ValueError(f"{format_layer(self)}: the mask must be (batch, time), got shape {mask_shape}")
            for a, b in zip(mask_shape, input_shape[:2]):
                if a is not None and b is not None and a != b:
                    raise ValueError(f"{format_layer(self)}: mask shape {mask_shape} does not match input shape {input_shape}")

    def _state_init(self, name: str, spec: Any, shape: tuple[int, ...]) -> Any:
        """The initial state: an incoming layer, or a (1, units) parameter."""
        if isinstance(spec, Layer):
            got = tuple(spec.output_shape)
            if len(got) != len(shape) or any(g is not None and g != w for g, w in zip(got[1:], shape[1:])):
                want = format_shape(("batch", *shape[1:]))
                raise ValueError(
                    f"{format_layer(self)}: {name} is the layer {format_layer(spec)} of output shape "
                    f"{format_shape(got)}; expected an output of shape {want}"
                )
            return spec
        return self.add_param(spec, shape, name=name, trainable=self.learn_init, regularizable=False)

    def _initial(self, name: str, inputs: list[Any], num_batch: Any) -> Variable:
        if name in self._init_incoming:
            return T.as_tensor_variable(inputs[self._init_incoming[name]])
        param = getattr(self, name)
        # the (1, ...) parameter repeated over the batch (Lasagne's dot(ones((batch, 1)), init))
        return T.alloc(param, num_batch, *param.type.shape[1:])

    def _mask(self, inputs: list[Any]) -> Variable | None:
        if self.mask_incoming_index < 0:
            return None
        return T.as_tensor_variable(inputs[self.mask_incoming_index]).dimshuffle(1, 0, "x")

    def _clip(self, x: Variable) -> Variable:
        if self.grad_clipping:
            return T.grad_clip(x, -self.grad_clipping, self.grad_clipping)
        return x

    def _run(
        self,
        step: Callable[..., Any],
        sequences: list[Variable],
        inits: list[Variable],
        n_steps: Any,
    ) -> list[Variable]:
        if self.unroll_scan:
            return unroll_scan(step, sequences, inits, [], n_steps, go_backwards=self.backwards)
        out, _ = scan(
            step,
            sequences=sequences,
            outputs_info=inits,
            go_backwards=self.backwards,
            truncate_gradient=self.gradient_steps,
            name=self.name or type(self).__name__,
            _aligned=True,  # input and mask share their time axis: no cut to the shortest (a Min and a Slice copy)
        )
        return out if isinstance(out, list) else [out]

    def _finish(self, hid_out: Variable) -> Variable:
        if self.only_return_final:
            return hid_out[-1]
        out = hid_out.dimshuffle(1, 0, *range(2, hid_out.ndim))
        return out[:, ::-1] if self.backwards else out


def masked(step: Callable[..., list[Variable]], n_states: int) -> Callable[..., list[Variable]]:
    """A step that keeps the previous states where the mask is 0."""

    def step_masked(input_n: Variable, mask_n: Variable, *prev: Variable) -> list[Variable]:
        new = step(input_n, *prev)
        keep = T.neq(mask_n, 0)
        return [T.switch(keep, n, p) for n, p in zip(new, prev[:n_states])]

    return step_masked
