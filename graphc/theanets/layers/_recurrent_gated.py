"""The gated theanets recurrent layers: MUT1, GRU and LSTM.

The common options (``h_0``, ``direction``, ``bptt_limit``, ``radius``,
``mask``) are described in :mod:`graphc.theanets.layers.recurrent`.
"""

from __future__ import annotations

from ... import tensor as T
from ...tensor.variable import Variable
from ._rnn import Recurrent
from .base import LayerInputs

__all__ = ["MUT1", "GRU", "LSTM"]


class MUT1(Recurrent):
    """The "MUT1" evolved recurrent layer (Jozefowicz et al. 2015); its activation is always tanh.

    ``z = sigmoid(x W_xz + b_z)``, ``r = sigmoid(x W_xr + b_r + h W_hr)``,
    ``pre = tanh(x W_xh + b_h) + (r * h) W_hh``, ``hid = tanh(pre)``,
    ``h = (1 - z) h + z hid``.

    Parameters ``xh``, ``xr``, ``xz`` ``(nin, size)``; ``hh``, ``hr``
    ``(size, size)``; ``bh``, ``br``, ``bz`` ``(size,)``.  Outputs ``pre``,
    ``hid``, ``rate`` (``z``) and ``out``.  Options as :class:`Recurrent`.
    """

    def setup(self) -> None:
        """``xh``, ``xr``, ``xz``, ``hh``, ``hr``, ``bh``, ``br``, ``bz``."""
        for name in ("xh", "xr", "xz"):
            self.add_weights(name, self.input_size, self.size)
        for name in ("hh", "hr"):
            self.add_weights(name, self.size, self.size, hidden=True)
        for name in ("bh", "br", "bz"):
            self.add_bias(name, self.size)

    def transform(self, inputs: LayerInputs) -> dict[str, Variable]:
        """``pre``, ``hid``, ``rate`` and ``out``."""
        x = self._input(inputs)
        hh, hr = self.find("hh"), self.find("hr")
        xh = T.tanh(T.dot(x, self.find("xh")) + self.find("bh"))
        xr = T.dot(x, self.find("xr")) + self.find("br")
        z = T.nnet.sigmoid(T.dot(x, self.find("xz")) + self.find("bz"))

        def step(xh_t: Variable, xr_t: Variable, z_t: Variable, h_tm1: Variable) -> list[Variable]:
            r_t = T.nnet.sigmoid(xr_t + T.dot(h_tm1, hr))
            pre = xh_t + T.dot(r_t * h_tm1, hh)
            hid = T.tanh(pre)
            return [(1 - z_t) * h_tm1 + z_t * hid, pre, hid]

        out, pre, hid = self._scan(step, [xh, xr, z], [self._initial(inputs, "h_0", x.shape[1])], 2, inputs)
        return {"pre": pre, "hid": hid, "rate": z.dimshuffle(1, 0, 2), "out": out}


class GRU(Recurrent):
    """The gated recurrent unit (Chung et al. 2014, with a bias).

    ``r = sigmoid(x W_r + b_r + h W_hr)``, ``z = sigmoid(x W_z + b_z + h W_hz)``,
    ``pre = x W_h + b_h + (r * h) W_hh``, ``hid = act(pre)``, ``h = (1 - z) h + z hid``.

    Parameters, named as upstream: ``xh``, ``xr``, ``xz`` ``(nin, size)``
    (input weights of the candidate, reset and rate parts), ``hh``, ``hr``,
    ``hz`` ``(size, size)``, and the biases ``bh``, ``br``, ``bz`` ``(size,)``.
    Outputs ``pre``, ``hid``, ``rate`` (``z``) and ``out``.  Options as
    :class:`Recurrent`.
    """

    def setup(self) -> None:
        """``xh``, ``xr``, ``xz``, ``hh``, ``hr``, ``hz``, ``bh``, ``br``, ``bz`` (upstream's order)."""
        for name in ("xh", "xr", "xz"):
            self.add_weights(name, self.input_size, self.size)
        for name in ("hh", "hr", "hz"):
            self.add_weights(name, self.size, self.size, hidden=True)
        for name in ("bh", "br", "bz"):
            self.add_bias(name, self.size)

    def transform(self, inputs: LayerInputs) -> dict[str, Variable]:
        """``pre``, ``hid``, ``rate`` and ``out``."""
        x = self._input(inputs)
        hh, hr, hz = self.find("hh"), self.find("hr"), self.find("hz")
        xh = T.dot(x, self.find("xh")) + self.find("bh")
        xr = T.dot(x, self.find("xr")) + self.find("br")
        xz = T.dot(x, self.find("xz")) + self.find("bz")

        def step(xh_t: Variable, xr_t: Variable, xz_t: Variable, h_tm1: Variable) -> list[Variable]:
            r_t = T.nnet.sigmoid(xr_t + T.dot(h_tm1, hr))
            z_t = T.nnet.sigmoid(xz_t + T.dot(h_tm1, hz))
            pre = xh_t + T.dot(r_t * h_tm1, hh)
            hid = self.activate(pre)
            return [(1 - z_t) * h_tm1 + z_t * hid, pre, hid, z_t]

        out, pre, hid, rate = self._scan(step, [xh, xr, xz], [self._initial(inputs, "h_0", x.shape[1])], 3, inputs)
        return {"pre": pre, "hid": hid, "rate": rate, "out": out}


class LSTM(Recurrent):
    """Long short-term memory with peepholes (Graves 2013); the cell activation is always tanh.

    ``a = x W_xh + b + h W_hh`` split into ``[i | f | c | o]`` parts,
    ``i = sigmoid(a_i + c ci)``, ``f = sigmoid(a_f + c cf)``,
    ``c = f c + i tanh(a_c)``, ``o = sigmoid(a_o + c_new co)``, ``h = o tanh(c_new)``.

    Parameters
    ----------
    c_0 : str, optional
        Name of the output holding the initial cell state (default zeros).
    **kwargs
        As :class:`Recurrent`.

    Notes
    -----
    Parameters ``xh`` ``(nin, 4 size)``, ``hh`` ``(size, 4 size)``, ``b``
    ``(4 size,)`` drawn from ``N(2, 1)`` for all four parts as theanets does
    (``mean_b``/``std_b`` override), and the peepholes ``ci``, ``cf``, ``co``
    ``(size,)``.  Outputs ``out`` and ``cell``.
    """

    _state_refs = ("h_0", "mask", "c_0")

    def setup(self) -> None:
        """``xh``, ``hh``, ``b``, ``ci``, ``cf``, ``co``."""
        self.add_weights("xh", self.input_size, 4 * self.size)
        self.add_weights("hh", self.size, 4 * self.size, hidden=True)
        self.add_bias("b", 4 * self.size, mean=2)
        for name in ("ci", "cf", "co"):
            self.add_bias(name, self.size)

    @property
    def c_0(self) -> str | None:
        """Full name of the output holding the initial cell state, or None (zeros)."""
        return self._refs["c_0"]

    def transform(self, inputs: LayerInputs) -> dict[str, Variable]:
        """``out`` and ``cell``."""
        x = self._input(inputs)
        n = self.size
        hh, ci, cf, co = (self.find(k) for k in ("hh", "ci", "cf", "co"))
        proj = T.dot(x, self.find("xh")) + self.find("b")

        def step(x_t: Variable, h_tm1: Variable, c_tm1: Variable) -> list[Variable]:
            a = x_t + T.dot(h_tm1, hh)
            i_t = T.nnet.sigmoid(a[:, :n] + c_tm1 * ci)
            f_t = T.nnet.sigmoid(a[:, n : 2 * n] + c_tm1 * cf)
            c_t = f_t * c_tm1 + i_t * T.tanh(a[:, 2 * n : 3 * n])
            o_t = T.nnet.sigmoid(a[:, 3 * n :] + c_t * co)
            return [o_t * T.tanh(c_t), c_t]

        batch = x.shape[1]
        inits = [self._initial(inputs, "h_0", batch), self._initial(inputs, "c_0", batch)]
        out, cell = self._scan(step, [proj], inits, 0, inputs)
        return {"out": out, "cell": cell}
