"""Lasagne's recurrent layers: CustomRecurrentLayer, RecurrentLayer, Gate, LSTMLayer, GRULayer.

Input is batch-major ``(batch, time, features...)``; the recurrence runs
time-major through :func:`graphc.scan` (an ONNX ``Loop``) or, with
``unroll_scan=True``, unrolled.  With a mask, a masked step carries the previous
state (holes allowed).  ``backwards=True`` runs from the end and flips the
output back to input order; ``only_return_final`` returns the state after the
last step run.  ``grad_clipping`` clips the gradients flowing back through the
gate pre-activations (Lasagne's placement) and ``gradient_steps`` truncates
backpropagation through time.
"""

from __future__ import annotations

from typing import Any

from .. import init, nonlinearities
from .. import tensor as T
from ..tensor.variable import Variable
from .base import format_layer
from .dense import DenseLayer
from .helper import get_all_params, get_output
from .input import InputLayer
from .recurrent_base import RecurrentBase, masked
from .recurrent_gated import Gate, GRULayer, LSTMLayer

__all__ = ["CustomRecurrentLayer", "RecurrentLayer", "Gate", "LSTMLayer", "GRULayer"]


class CustomRecurrentLayer(RecurrentBase):
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
        # the leading size: all steps at once (precompute_input) or one step's batch, as Lasagne checks
        n_batch, n_steps = input_shape[0], input_shape[1]
        if precompute_input:
            lead = None if n_batch is None or n_steps is None else n_batch * n_steps
            if in_out[0] is not None and lead is not None and in_out[0] != lead:
                raise ValueError(
                    f"{format_layer(self)}: with precompute_input, input_to_hidden runs on all {n_steps} steps of "
                    f"a batch of {n_batch} at once, so the first dimension of its output shape {in_out} must be "
                    f"None or {lead}"
                )
        elif in_out[0] is not None and hid_out[0] is not None and in_out[0] != hid_out[0]:
            raise ValueError(
                f"{format_layer(self)}: the first dimension of input_to_hidden's output shape {in_out} must be None "
                f"or match hidden_to_hidden's {hid_out}"
            )
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
        fn = step if mask is None else masked(step, 1)
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
