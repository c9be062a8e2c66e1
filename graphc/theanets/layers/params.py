"""The parameters of a theanets layer: creation with theanets' options, lookup, counts.

A mixin of :class:`graphc.theanets.layers.base.Layer` (kept apart so that each file holds one
concern): parameters are named ``'<layer>.<param>'``; ``add_weights`` and ``add_bias`` read the
layer's ``mean``/``std``/``sparsity``/``diagonal``/``radius`` options, per parameter
(``std_w``) before the layer-wide ones.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...config import config
from ...tensor.shared import SharedVariable, shared
from ..util import ConfigurationError, random_matrix, random_vector

__all__ = ["LayerParams"]


def _is_int(x: Any) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)


class LayerParams:
    """Parameter creation and lookup for theanets layers (the attributes it reads are the layer's:
    ``name``, ``kwargs``, ``rng``, ``activate``, ``_params`` and ``_fmt``)."""

    _params: list[SharedVariable]
    name: str
    kwargs: dict[str, Any]
    rng: Any
    activate: Any

    @property
    def params(self) -> list[SharedVariable]:
        """The layer's parameters: those of :meth:`setup`, then the activation's."""
        return list(self._params) + list(getattr(self.activate, "params", []))

    @property
    def num_params(self) -> int:
        """Total number of parameter values."""
        return int(sum(int(np.prod(p.type.shape)) for p in self.params))

    def find(self, key: Any) -> SharedVariable:
        """A parameter by short name (``'w'``), full name (``'hid1.w'``) or index.

        Raises
        ------
        KeyError
            If the layer has no such parameter.
        """
        params = self.params
        if _is_int(key):
            if 0 <= key < len(params):
                return params[key]
        else:
            full = self._fmt(str(key))
            for p in params:
                if p.name == full or p.name == key:
                    return p
        names = [p.name.split(".", 1)[-1] for p in params if p.name]
        raise KeyError(f"layer {self.name!r} has no parameter {key!r}; its parameters are {names}")

    def add_param(self, name: str, value: Any) -> SharedVariable:
        """Add a parameter ``'<layer>.<name>'`` holding ``value`` (cast to floatX) and return it."""
        full = self._fmt(name)
        if any(p.name == full for p in self._params):
            raise ConfigurationError(f"layer {self.name!r}: parameter {name!r} is added twice")
        param = shared(np.asarray(value, dtype=config.floatX), name=full)
        self._params.append(param)
        return param

    def _option(self, key: str, name: str, default: Any, shared_default: bool = True) -> Any:
        specific = f"{key}_{name}"
        if specific in self.kwargs:
            return self.kwargs[specific]
        if shared_default and key in self.kwargs:
            return self.kwargs[key]
        return default

    def _check_dim(self, what: str, value: Any) -> int:
        if not _is_int(value) or value <= 0:
            raise ConfigurationError(f"layer {self.name!r}: {what} must be a positive int, got {value!r}")
        return int(value)

    def add_weights(
        self,
        name: str,
        nin: int,
        nout: int,
        mean: float = 0.0,
        std: float = 0.0,
        sparsity: float = 0.0,
        diagonal: float = 0.0,
        radius: float = 0.0,
    ) -> SharedVariable:
        """Add a ``(nin, nout)`` weight matrix ``'<layer>.<name>'``.

        The layer's ``mean_<name>``/``mean``, ``std_<name>``/``std``,
        ``sparsity_<name>``/``sparsity``, ``diagonal_<name>``/``diagonal`` and
        ``radius_<name>``/``radius`` options override the arguments.  ``std``
        defaults to ``1 / sqrt(nin + nout)``.

        Returns
        -------
        SharedVariable
        """
        nin = self._check_dim(f"the input size of weights {name!r}", nin)
        nout = self._check_dim(f"the output size of weights {name!r}", nout)
        glorot = 1 / np.sqrt(nin + nout)
        value = random_matrix(
            nin,
            nout,
            mean=self._option("mean", name, mean),
            std=self._option("std", name, std or glorot),
            sparsity=self._option("sparsity", name, sparsity),
            diagonal=self._option("diagonal", name, diagonal),
            radius=self._option("radius", name, radius),
            rng=self.rng,
        )
        return self.add_param(name, value)

    def add_bias(self, name: str, size: int, mean: float = 0.0, std: float = 1.0) -> SharedVariable:
        """Add a bias vector ``'<layer>.<name>'`` of ``N(mean_<name>, std_<name>)`` values (default ``N(0, 1)``).

        Returns
        -------
        SharedVariable
        """
        size = self._check_dim(f"the size of bias {name!r}", size)
        mean = self._option("mean", name, mean, shared_default=False)
        std = self._option("std", name, std, shared_default=False)
        return self.add_param(name, random_vector(size, mean, std, rng=self.rng))
