"""Lasagne's recurrent layers: CustomRecurrentLayer, RecurrentLayer, Gate, LSTMLayer, GRULayer.

Input is batch-major ``(batch, time, features...)``; the recurrence runs
time-major through :func:`graphc.scan` (an ONNX ``Loop``) or, with
``unroll_scan=True``, unrolled.  With a mask, a masked step carries the previous
state (holes allowed).  ``backwards=True`` runs from the end and flips the
output back to input order; ``only_return_final`` returns the state after the
last step run.  ``grad_clipping`` marks where gradients are clipped (the
training issue uses it) and ``gradient_steps`` truncates backpropagation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import init, nonlinearities
from .. import tensor as T
from ..tensor.scan import scan
from ..tensor.variable import Variable
from ..utils import unroll_scan
from .base import Layer, MergeLayer, format_layer
from .dense import DenseLayer
from .helper import get_all_params, get_output
from .input import InputLayer

__all__ = ["CustomRecurrentLayer", "RecurrentLayer", "Gate", "LSTMLayer", "GRULayer"]


class _RecurrentBase(MergeLayer):
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
        )
        return out if isinstance(out, list) else [out]

    def _finish(self, hid_out: Variable) -> Variable:
        if self.only_return_final:
            return hid_out[-1]
        out = hid_out.dimshuffle(1, 0, *range(2, hid_out.ndim))
        return out[:, ::-1] if self.backwards else out


def _masked(step: Callable[..., list[Variable]], n_states: int) -> Callable[..., list[Variable]]:
    """A step that keeps the previous states where the mask is 0."""

    def step_masked(input_n: Variable, mask_n: Variable, *prev: Variable) -> list[Variable]:
        new = step(input_n, *prev)
        keep = T.neq(mask_n, 0)
        return [T.switch(keep, n, p) for n, p in zip(new, prev[:n_states])]

    return step_masked


class CustomRecurrentLayer(_RecurrentBase):
    """``h_t = nonlinearity(f_in(x_t) + f_hid(h_{t-1}))`` with sub-networks ``f_in`` and ``f_hid``.

    Parameters
    ----------
    incoming : Layer or tuple
        ``(batch, time, features...)``.
    input_to_hidden, hidden_to_hidden : Layer
        Networks with one InputLayer each; their parameters belong to this
        layer.  ``hidden_to_hidden``'s output shape must equal its input shape
        and ``input_to_hidden``'s output shape.
    nonlinearity : callable or None
    hid_init : initializer, array or Layer
    backwards, learn_init, gradient_steps, grad_clipping, unroll_scan,
    precompute_input, mask_input, only_return_final
        As described in the module docstring.
    """

    def __init__(
        self,
        incoming: Any,
        input_to_hidden: Any,
        hidden_to_hidden: Any,
        nonlinearity: Any = nonlinearities.rectify,
        hid_init: Any = init.Constant(0.0),
        backwards: bool = False,
        learn_init: bool = False,
        gradient_steps: int = -1,
        grad_clipping: float = 0,
        unroll_scan: bool = False,
        precompute_input: bool = True,
        mask_input: Any = None,
        only_return_final: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            incoming, [("hid_init", hid_init)], backwards, learn_init, gradient_steps, grad_clipping,
            unroll_scan, precompute_input, mask_input, only_return_final, **kwargs,
        )
        self.input_to_hidden = input_to_hidden
        self.hidden_to_hidden = hidden_to_hidden
        self.nonlinearity = nonlinearities.identity if nonlinearity is None else nonlinearity
        for net, what in ((input_to_hidden, "input_to_hidden"), (hidden_to_hidden, "hidden_to_hidden")):
            inputs = [lyr for lyr in _all_layers(net) if isinstance(lyr, InputLayer)]
            if len(inputs) != 1:
                raise ValueError(f"{format_layer(self)}: {what} must have exactly one InputLayer, got {len(inputs)}")
        in_out = input_to_hidden.output_shape
        hid_in = [lyr for lyr in _all_layers(hidden_to_hidden) if isinstance(lyr, InputLayer)][0].output_shape
        hid_out = hidden_to_hidden.output_shape
        if tuple(hid_in[1:]) != tuple(hid_out[1:]):
            raise ValueError(
                f"{format_layer(self)}: the input shape {hid_in} and output shape {hid_out} of hidden_to_hidden "
                "must be equal after the batch dimension"
            )
        if tuple(in_out[1:]) != tuple(hid_out[1:]):
            raise ValueError(
                f"{format_layer(self)}: the output shapes of input_to_hidden {in_out} and hidden_to_hidden "
                f"{hid_out} must be equal after the batch dimension"
            )
        x_in = [lyr for lyr in _all_layers(input_to_hidden) if isinstance(lyr, InputLayer)][0].output_shape
        input_shape = self.input_shapes[0]
        if tuple(x_in[1:]) != tuple(input_shape[2:]):
            raise ValueError(
                f"{format_layer(self)}: input_to_hidden expects inputs of shape {x_in}, but the layer's input "
                f"{input_shape} gives steps of shape {(input_shape[0],) + tuple(input_shape[2:])}"
            )
        self.hid_init = self._state_init("hid_init", hid_init, (1,) + tuple(hid_out[1:]))

    def get_params(self, unwrap_shared: bool = True, **tags: bool) -> list[Any]:
        params = super().get_params(unwrap_shared=unwrap_shared, **tags)
        params += get_all_params(self.input_to_hidden, unwrap_shared=unwrap_shared, **tags)
        params += get_all_params(self.hidden_to_hidden, unwrap_shared=unwrap_shared, **tags)
        return params

    def get_output_shape_for(self, input_shapes: Any) -> Any:
        input_shape = input_shapes[0]
        tail = tuple(self.hidden_to_hidden.output_shape[1:])
        if self.only_return_final:
            return (input_shape[0],) + tail
        return (input_shape[0], input_shape[1]) + tail

    def get_output_for(self, inputs: Any, **kwargs: Any) -> Variable:
        x = T.as_tensor_variable(inputs[0])
        x = x.dimshuffle(1, 0, *range(2, x.ndim))
        seq_len, num_batch = x.shape[0], x.shape[1]
        if self.precompute_input:
            trailing = [x.shape[n] for n in range(2, x.ndim)]
            flat = T.reshape(x, [seq_len * num_batch] + trailing)
            projected = get_output(self.input_to_hidden, flat, **kwargs)
            x = T.reshape(projected, [seq_len, num_batch] + [projected.shape[n] for n in range(1, projected.ndim)])

        def step(input_n: Variable, hid_previous: Variable) -> list[Variable]:
            hid_pre = get_output(self.hidden_to_hidden, hid_previous, **kwargs)
            if self.precompute_input:
                hid_pre = hid_pre + input_n
            else:
                hid_pre = hid_pre + get_output(self.input_to_hidden, input_n, **kwargs)
            return [self.nonlinearity(self._clip(hid_pre))]

        mask = self._mask(inputs)
        sequences = [x] if mask is None else [x, mask]
        fn = step if mask is None else _masked(step, 1)
        hid_init = self._initial("hid_init", inputs, num_batch)
        (hid_out,) = self._run(fn, sequences, [hid_init], self.input_shapes[0][1])
        return self._finish(hid_out)


def _all_layers(net: Any) -> list[Any]:
    from .helper import get_all_layers

    return get_all_layers(net)


class RecurrentLayer(CustomRecurrentLayer):
    """The dense recurrent layer: ``h_t = nonlinearity(x_t W_in + b + h_{t-1} W_hid)``.

    Parameters
    ----------
    incoming : Layer or tuple
    num_units : int
    W_in_to_hid, W_hid_to_hid, b : initializers or arrays
        Shapes ``(features, num_units)``, ``(num_units, num_units)``, ``(num_units,)``.
    nonlinearity, hid_init, backwards, learn_init, gradient_steps, grad_clipping,
    unroll_scan, precompute_input, mask_input, only_return_final
        As :class:`CustomRecurrentLayer`.

    Notes
    -----
    Parameters are named ``input_to_hidden.W``, ``input_to_hidden.b``,
    ``hidden_to_hidden.W`` and ``hid_init`` (prefixed by the layer's name).
    """

    def __init__(
        self,
        incoming: Any,
        num_units: int,
        W_in_to_hid: Any = init.Uniform(),
        W_hid_to_hid: Any = init.Uniform(),
        b: Any = init.Constant(0.0),
        nonlinearity: Any = nonlinearities.rectify,
        hid_init: Any = init.Constant(0.0),
        backwards: bool = False,
        learn_init: bool = False,
        gradient_steps: int = -1,
        grad_clipping: float = 0,
        unroll_scan: bool = False,
        precompute_input: bool = True,
        mask_input: Any = None,
        only_return_final: bool = False,
        **kwargs: Any,
    ) -> None:
        input_shape = incoming if isinstance(incoming, tuple) else incoming.output_shape
        if len(input_shape) < 3:
            raise ValueError(f"RecurrentLayer: input must be (batch, time, features...), got shape {input_shape}")
        basename = f"{kwargs['name']}." if kwargs.get("name") else ""
        in_to_hid = DenseLayer(
            InputLayer((None,) + tuple(input_shape[2:])), num_units, W=W_in_to_hid, b=b, nonlinearity=None,
            name=basename + "input_to_hidden",
        )
        hid_to_hid = DenseLayer(
            InputLayer((None, num_units)), num_units, W=W_hid_to_hid, b=None, nonlinearity=None,
            name=basename + "hidden_to_hidden",
        )
        self.W_in_to_hid = in_to_hid.W
        self.W_hid_to_hid = hid_to_hid.W
        self.b = in_to_hid.b
        self.num_units = num_units
        super().__init__(
            incoming, in_to_hid, hid_to_hid, nonlinearity=nonlinearity, hid_init=hid_init, backwards=backwards,
            learn_init=learn_init, gradient_steps=gradient_steps, grad_clipping=grad_clipping,
            unroll_scan=unroll_scan, precompute_input=precompute_input, mask_input=mask_input,
            only_return_final=only_return_final, **kwargs,
        )


class Gate:
    """The parameters of one LSTM/GRU gate.

    Parameters
    ----------
    W_in, W_hid : initializers or arrays
        Input-to-gate and hidden-to-gate weights.
    W_cell : initializer, array or None
        Peephole weights (LSTM); None for no cell connection.
    b : initializer or array
    nonlinearity : callable or None
    """

    def __init__(
        self,
        W_in: Any = init.Normal(0.1),
        W_hid: Any = init.Normal(0.1),
        W_cell: Any = init.Normal(0.1),
        b: Any = init.Constant(0.0),
        nonlinearity: Any = nonlinearities.sigmoid,
    ) -> None:
        self.W_in = W_in
        self.W_hid = W_hid
        if W_cell is not None:
            self.W_cell = W_cell
        self.b = b
        self.nonlinearity = nonlinearities.identity if nonlinearity is None else nonlinearity


class _GatedBase(_RecurrentBase):
    def _gate_params(self, gate: Gate, gate_name: str, num_inputs: int) -> tuple[Any, Any, Any, Any]:
        return (
            self.add_param(gate.W_in, (num_inputs, self.num_units), name=f"W_in_to_{gate_name}"),
            self.add_param(gate.W_hid, (self.num_units, self.num_units), name=f"W_hid_to_{gate_name}"),
            self.add_param(gate.b, (self.num_units,), name=f"b_{gate_name}", regularizable=False),
            gate.nonlinearity,
        )

    def _num_inputs(self) -> int:
        shape = self.input_shapes[0]
        if any(s is None for s in shape[2:]):
            raise ValueError(f"{format_layer(self)}: the feature dims of the input must be known, got {shape}")
        return int(np.prod(shape[2:]))

    def get_output_shape_for(self, input_shapes: Any) -> Any:
        input_shape = input_shapes[0]
        if self.only_return_final:
            return (input_shape[0], self.num_units)
        return (input_shape[0], input_shape[1], self.num_units)

    def _time_major(self, inputs: list[Any]) -> tuple[Variable, Any]:
        x = T.as_tensor_variable(inputs[0])
        if x.ndim > 3:
            x = T.flatten(x, 3)
        x = x.dimshuffle(1, 0, 2)
        return x, x.shape[1]

    def _slice(self, x: Variable, n: int) -> Variable:
        return x[:, n * self.num_units : (n + 1) * self.num_units]


class LSTMLayer(_GatedBase):
    """Long short-term memory, with optional peepholes.

    ``i = s_i(x W_xi + h W_hi + b_i + c w_ci)``, ``f`` likewise, ``c~ = s_c(x W_xc + h W_hc + b_c)``,
    ``c = f c_prev + i c~``, ``o = s_o(x W_xo + h W_ho + b_o + c w_co)``, ``h = o nonlinearity(c)``.

    Parameters
    ----------
    incoming : Layer or tuple
    num_units : int
    ingate, forgetgate, cell, outgate : Gate
    nonlinearity : callable
    cell_init, hid_init : initializer, array or Layer
    peepholes : bool
    backwards, learn_init, gradient_steps, grad_clipping, unroll_scan,
    precompute_input, mask_input, only_return_final
        As described in the module docstring.
    """

    def __init__(
        self,
        incoming: Any,
        num_units: int,
        ingate: Gate = Gate(),
        forgetgate: Gate = Gate(),
        cell: Gate = Gate(W_cell=None, nonlinearity=nonlinearities.tanh),
        outgate: Gate = Gate(),
        nonlinearity: Any = nonlinearities.tanh,
        cell_init: Any = init.Constant(0.0),
        hid_init: Any = init.Constant(0.0),
        backwards: bool = False,
        learn_init: bool = False,
        peepholes: bool = True,
        gradient_steps: int = -1,
        grad_clipping: float = 0,
        unroll_scan: bool = False,
        precompute_input: bool = True,
        mask_input: Any = None,
        only_return_final: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            incoming, [("hid_init", hid_init), ("cell_init", cell_init)], backwards, learn_init, gradient_steps,
            grad_clipping, unroll_scan, precompute_input, mask_input, only_return_final, **kwargs,
        )
        self.nonlinearity = nonlinearities.identity if nonlinearity is None else nonlinearity
        self.num_units = int(num_units)
        self.peepholes = bool(peepholes)
        n_in = self._num_inputs()
        (self.W_in_to_ingate, self.W_hid_to_ingate, self.b_ingate, self.nonlinearity_ingate) = self._gate_params(ingate, "ingate", n_in)
        (self.W_in_to_forgetgate, self.W_hid_to_forgetgate, self.b_forgetgate, self.nonlinearity_forgetgate) = self._gate_params(forgetgate, "forgetgate", n_in)
        (self.W_in_to_cell, self.W_hid_to_cell, self.b_cell, self.nonlinearity_cell) = self._gate_params(cell, "cell", n_in)
        (self.W_in_to_outgate, self.W_hid_to_outgate, self.b_outgate, self.nonlinearity_outgate) = self._gate_params(outgate, "outgate", n_in)
        if self.peepholes:
            for gate, name in ((ingate, "ingate"), (forgetgate, "forgetgate"), (outgate, "outgate")):
                if not hasattr(gate, "W_cell"):
                    raise ValueError(f"{format_layer(self)}: peepholes=True needs W_cell on the {name} Gate")
            self.W_cell_to_ingate = self.add_param(ingate.W_cell, (self.num_units,), name="W_cell_to_ingate")
            self.W_cell_to_forgetgate = self.add_param(forgetgate.W_cell, (self.num_units,), name="W_cell_to_forgetgate")
            self.W_cell_to_outgate = self.add_param(outgate.W_cell, (self.num_units,), name="W_cell_to_outgate")
        self.cell_init = self._state_init("cell_init", cell_init, (1, self.num_units))
        self.hid_init = self._state_init("hid_init", hid_init, (1, self.num_units))

    def get_output_for(self, inputs: Any, **kwargs: Any) -> Variable:
        x, num_batch = self._time_major(inputs)
        W_in = T.concatenate([self.W_in_to_ingate, self.W_in_to_forgetgate, self.W_in_to_cell, self.W_in_to_outgate], axis=1)
        W_hid = T.concatenate([self.W_hid_to_ingate, self.W_hid_to_forgetgate, self.W_hid_to_cell, self.W_hid_to_outgate], axis=1)
        b = T.concatenate([self.b_ingate, self.b_forgetgate, self.b_cell, self.b_outgate], axis=0)
        if self.precompute_input:
            x = T.dot(x, W_in) + b

        def step(input_n: Variable, cell_previous: Variable, hid_previous: Variable) -> list[Variable]:
            if not self.precompute_input:
                input_n = T.dot(input_n, W_in) + b
            gates = self._clip(input_n + T.dot(hid_previous, W_hid))
            ingate = self._slice(gates, 0)
            forgetgate = self._slice(gates, 1)
            cell_input = self._slice(gates, 2)
            outgate = self._slice(gates, 3)
            if self.peepholes:
                ingate = ingate + cell_previous * self.W_cell_to_ingate
                forgetgate = forgetgate + cell_previous * self.W_cell_to_forgetgate
            ingate = self.nonlinearity_ingate(ingate)
            forgetgate = self.nonlinearity_forgetgate(forgetgate)
            cell_input = self.nonlinearity_cell(cell_input)
            cell = forgetgate * cell_previous + ingate * cell_input
            if self.peepholes:
                outgate = outgate + cell * self.W_cell_to_outgate
            outgate = self.nonlinearity_outgate(outgate)
            return [cell, outgate * self.nonlinearity(cell)]

        mask = self._mask(inputs)
        sequences = [x] if mask is None else [x, mask]
        fn = step if mask is None else _masked(step, 2)
        inits = [self._initial("cell_init", inputs, num_batch), self._initial("hid_init", inputs, num_batch)]
        _cell_out, hid_out = self._run(fn, sequences, inits, self.input_shapes[0][1])
        return self._finish(hid_out)


class GRULayer(_GatedBase):
    """Gated recurrent unit (Cho et al.), with the reset gate applied after the hidden matmul.

    ``r = s_r(x W_xr + h W_hr + b_r)``, ``u = s_u(x W_xu + h W_hu + b_u)``,
    ``c = s_c(x W_xc + r * (h W_hc) + b_c)``, ``h = (1 - u) h + u c``.

    Parameters
    ----------
    incoming : Layer or tuple
    num_units : int
    resetgate, updategate, hidden_update : Gate
    hid_init : initializer, array or Layer
    backwards, learn_init, gradient_steps, grad_clipping, unroll_scan,
    precompute_input, mask_input, only_return_final
        As described in the module docstring.
    """

    def __init__(
        self,
        incoming: Any,
        num_units: int,
        resetgate: Gate = Gate(W_cell=None),
        updategate: Gate = Gate(W_cell=None),
        hidden_update: Gate = Gate(W_cell=None, nonlinearity=nonlinearities.tanh),
        hid_init: Any = init.Constant(0.0),
        backwards: bool = False,
        learn_init: bool = False,
        gradient_steps: int = -1,
        grad_clipping: float = 0,
        unroll_scan: bool = False,
        precompute_input: bool = True,
        mask_input: Any = None,
        only_return_final: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            incoming, [("hid_init", hid_init)], backwards, learn_init, gradient_steps, grad_clipping, unroll_scan,
            precompute_input, mask_input, only_return_final, **kwargs,
        )
        self.num_units = int(num_units)
        n_in = self._num_inputs()
        (self.W_in_to_resetgate, self.W_hid_to_resetgate, self.b_resetgate, self.nonlinearity_resetgate) = self._gate_params(resetgate, "resetgate", n_in)
        (self.W_in_to_updategate, self.W_hid_to_updategate, self.b_updategate, self.nonlinearity_updategate) = self._gate_params(updategate, "updategate", n_in)
        (self.W_in_to_hidden_update, self.W_hid_to_hidden_update, self.b_hidden_update, self.nonlinearity_hid) = self._gate_params(hidden_update, "hidden_update", n_in)
        self.hid_init = self._state_init("hid_init", hid_init, (1, self.num_units))

    def get_output_for(self, inputs: Any, **kwargs: Any) -> Variable:
        x, num_batch = self._time_major(inputs)
        W_in = T.concatenate([self.W_in_to_resetgate, self.W_in_to_updategate, self.W_in_to_hidden_update], axis=1)
        W_hid = T.concatenate([self.W_hid_to_resetgate, self.W_hid_to_updategate, self.W_hid_to_hidden_update], axis=1)
        b = T.concatenate([self.b_resetgate, self.b_updategate, self.b_hidden_update], axis=0)
        if self.precompute_input:
            x = T.dot(x, W_in) + b

        def step(input_n: Variable, hid_previous: Variable) -> list[Variable]:
            hid_input = T.dot(hid_previous, W_hid)
            if self.grad_clipping:
                input_n = self._clip(input_n)
                hid_input = self._clip(hid_input)
            if not self.precompute_input:
                input_n = T.dot(input_n, W_in) + b
            resetgate = self.nonlinearity_resetgate(self._slice(hid_input, 0) + self._slice(input_n, 0))
            updategate = self.nonlinearity_updategate(self._slice(hid_input, 1) + self._slice(input_n, 1))
            hidden_update = self._slice(input_n, 2) + resetgate * self._slice(hid_input, 2)
            hidden_update = self.nonlinearity_hid(self._clip(hidden_update))
            return [(1.0 - updategate) * hid_previous + updategate * hidden_update]

        mask = self._mask(inputs)
        sequences = [x] if mask is None else [x, mask]
        fn = step if mask is None else _masked(step, 1)
        (hid_out,) = self._run(fn, sequences, [self._initial("hid_init", inputs, num_batch)], self.input_shapes[0][1])
        return self._finish(hid_out)
