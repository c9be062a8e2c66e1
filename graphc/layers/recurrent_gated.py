"""Lasagne's gated recurrent layers: Gate, LSTMLayer and GRULayer (see :mod:`graphc.layers.recurrent`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import init, nonlinearities
from .. import tensor as T
from ..tensor.variable import Variable
from .base import format_layer
from .recurrent_base import RecurrentBase, masked, positive_units

__all__ = ["Gate", "LSTMLayer", "GRULayer"]


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


class _GatedBase(RecurrentBase):
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
        self.num_units = positive_units(self, num_units)
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
        fn = step if mask is None else masked(step, 2)
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
        self.num_units = positive_units(self, num_units)
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
        fn = step if mask is None else masked(step, 1)
        (hid_out,) = self._run(fn, sequences, [self._initial("hid_init", inputs, num_batch)], self.input_shapes[0][1])
        return self._finish(hid_out)
