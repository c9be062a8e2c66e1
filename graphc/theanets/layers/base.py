"""The theanets layer base class (``theanets.Layer``), separate from Lasagne's.

A theanets layer names its inputs (``'hid1'`` or ``'hid1:pre'``), is bound into a
network (:meth:`Layer.bind`: the names resolve to earlier layers, then
:meth:`Layer.setup` creates the parameters), and turns a dict of named input
expressions into one or more named outputs (:meth:`Layer.connect`).  Parameters
are named ``'<layer>.<param>'`` and outputs ``'<layer>:<output>'``; ``'out'`` is
the default output.  Every subclass registers under its lowercased class name
(and its ``__extra_registration_keys__``), so ``Layer.build('nobias', size=4)``
finds a user's ``NoBias`` class as soon as it is defined.

Data are batch-first and channels-last; ``output_shape`` and the shapes of the
inputs never include the batch axis.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from ...tensor.shared import SharedVariable
from ...tensor.variable import Variable, provenance
from .. import activations as activations
from ..util import ConfigurationError, LayerInputs, log, random_matrix, random_vector
from .params import LayerParams, _is_int

__all__ = ["Layer", "ConfigurationError", "LayerInputs", "random_matrix", "random_vector"]

_log = logging.getLogger("graphc.theanets")

Shape = tuple[Any, ...]


def _normalize_inputs(inputs: Any, label: str) -> tuple[str, ...]:
    if inputs is None:
        return ()
    if isinstance(inputs, Layer):
        return (inputs.output_name,)
    if isinstance(inputs, str):
        return (inputs,)
    if isinstance(inputs, Mapping):  # theanets 0.7 took {name: size}; the names are what matter
        inputs = list(inputs)
    if isinstance(inputs, (tuple, list)):
        out = []
        for i in inputs:
            if isinstance(i, Layer):
                out.append(i.output_name)
            elif isinstance(i, str) and i:
                out.append(i)
            else:
                raise ConfigurationError(f"{label}: inputs must be layer names such as 'hid1' or 'hid1:pre', got {i!r}")
        return tuple(out)
    raise ConfigurationError(f"{label}: inputs must be a layer name or a tuple of names, got {inputs!r}")


class Layer(LayerParams):
    """Base class of theanets layers (``theanets.Layer``).

    Parameters
    ----------
    size : int, optional
        Number of units (the size of the last axis of the output).  Some
        layers compute it (:class:`Flatten`, :class:`Concatenate`, :class:`Tied`).
    inputs : str or tuple of str, optional
        Names of the inputs: ``'hid1'`` (its ``'out'`` output) or ``'hid1:pre'``.
    name : str, optional
        Defaults to the lowercased class name and a counter (``'feedforward3'``).
    activation : str, optional
        An activation name, see :mod:`graphc.theanets.activations`.
        Defaults to ``'relu'``.
    shape : tuple of int, optional
        The output shape without the batch axis; its last entry is the size.
    rng : int or numpy.random.RandomState, optional
        Seed or generator for the initial parameter values.
    mean, std, sparsity, diagonal : float, optional
        Defaults for the initial values of every weight matrix.
    mean_XYZ, std_XYZ, sparsity_XYZ, diagonal_XYZ : float, optional
        The same for the parameter named ``XYZ`` only (biases use only these).
    **kwargs
        Layer-specific options, kept in :attr:`kwargs`.

    Attributes
    ----------
    name : str
    size : int or None
    inputs : tuple of str
        Full names ``'<layer>:<output>'`` once bound.
    kwargs : dict
    activate : Activation or callable
        The activation, with ``name`` (``'norm:z(relu)'`` for ``'relu+norm:z'``)
        and ``params``; built in the constructor as upstream (when the size is
        known; otherwise when the layer is bound).
    rng : numpy.random.RandomState
    """

    _registry: ClassVar[dict[str, type[Layer]]] = {}
    #: when a given ``size`` differs from :meth:`infer_size`, upstream uses the inferred one (True) or the given one
    _inferred_size_wins: ClassVar[bool] = False
    #: keys of :meth:`_full_spec` that upstream's :meth:`to_spec` leaves out
    _spec_only_keys: ClassVar[tuple[str, ...]] = ()
    _count: ClassVar[int] = 0
    __extra_registration_keys__: ClassVar[Sequence[str]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        Layer._registry[cls.__name__.lower()] = cls
        for key in cls.__dict__.get("__extra_registration_keys__", ()):
            Layer._registry[key.lower()] = cls

    @classmethod
    def build(cls, key: Any, *args: Any, **kwargs: Any) -> Layer:
        """Construct a registered layer by name (``Layer.build('ff', size=4, inputs='in')``).

        Raises
        ------
        ConfigurationError
            If no layer class is registered under ``key``.
        """
        if isinstance(key, type) and issubclass(key, Layer):
            return key(*args, **kwargs)
        if not isinstance(key, str) or key.lower() not in Layer._registry:
            name = kwargs.get("name")
            where = f"layer {name!r}: " if name else ""
            raise ConfigurationError(
                f"{where}unknown layer form {key!r}; registered forms: {', '.join(sorted(Layer._registry))}"
            )
        return Layer._registry[key.lower()](*args, **kwargs)

    @classmethod
    def is_registered(cls, key: Any) -> bool:
        """True when ``key`` names a registered layer class."""
        return isinstance(key, str) and key.lower() in Layer._registry

    def __init__(
        self,
        size: int | None = None,
        inputs: Any = (),
        name: str | None = None,
        activation: Any = "relu",
        **kwargs: Any,
    ) -> None:
        Layer._count += 1
        if name is not None and not isinstance(name, str):
            raise ConfigurationError(f"{type(self).__name__}: name must be a str, got {name!r}")
        self.name = name or f"{type(self).__name__.lower()}{Layer._count}"
        if ":" in self.name or "." in self.name:
            raise ConfigurationError(f"layer {self.name!r}: names may not contain ':' or '.'")
        label = f"layer {self.name!r}"
        shape = kwargs.pop("shape", None)
        self._shape: Shape | None = None
        if shape is not None:
            shape = (shape,) if _is_int(shape) else tuple(shape)
            if not shape or any(d is not None and (not _is_int(d) or d <= 0) for d in shape):
                raise ConfigurationError(f"{label}: shape must be a tuple of positive ints, got {shape!r}")
            self._shape = tuple(None if d is None else int(d) for d in shape)
            last = self._shape[-1]
            if size is not None and last is not None and size != last:
                raise ConfigurationError(f"{label}: size {size} does not match the last entry of shape {self._shape}")
            size = last if size is None else size
        if size is not None and (not _is_int(size) or size <= 0):
            raise ConfigurationError(f"{label}: size must be a positive int, got {size!r}")
        self.size: int | None = None if size is None else int(size)
        self.inputs = _normalize_inputs(inputs, label)
        activations.check(activation, self)
        kwargs["activation"] = activation
        self.kwargs = kwargs
        rng = kwargs.get("rng")
        if rng is None or _is_int(rng):
            self.rng = np.random.RandomState(None if rng is None else int(rng))
        elif isinstance(rng, np.random.RandomState):
            self.rng = rng
        else:
            raise ConfigurationError(f"{label}: rng must be an int seed or a numpy RandomState, got {type(rng).__name__}")
        self._params: list[SharedVariable] = []
        self._resolved: dict[str, tuple[Layer, str]] = {}
        self.updates: list[Any] = []
        self._bound = False
        # built here as upstream (its parameters are drawn before the weights); a
        # layer whose size its inputs give builds it when bound
        self.activate: Any = None
        self._fresh_activation = False
        if self.size is not None:
            self.activate = activations.build(activation, self)
            self._fresh_activation = True

    # -- names ----------------------------------------------------------------
    @property
    def activation(self) -> Any:
        """The activation name this layer was configured with."""
        return self.kwargs["activation"]

    @property
    def output_name(self) -> str:
        """Full name of the default output, ``'<layer>:out'``."""
        return self.full_name("out")

    def full_name(self, name: str) -> str:
        """``'<layer>:<name>'`` for one of this layer's outputs."""
        return f"{self.name}:{name}"

    def _fmt(self, string: str) -> str:
        """``'<layer>.<string>'``: the full name of a parameter."""
        return string.format(self.name) if "{" in string else f"{self.name}.{string}"

    # -- sizes and shapes -------------------------------------------------------
    def _require_bound(self, what: str) -> None:
        if not self._resolved and self.inputs:
            raise ConfigurationError(
                f"layer {self.name!r}: {what} is known once the layer is bound into a network "
                "(add it to a Network, or call layer.bind(network))"
            )

    @property
    def input_shapes(self) -> dict[str, Shape]:
        """Shape (without the batch axis) of each input, by full input name."""
        self._require_bound("the input shapes")
        return {k: layer.output_shape_of(out) for k, (layer, out) in self._resolved.items()}

    @property
    def input_shape(self) -> Shape:
        """Shape (without the batch axis) of the single input (of the first, when there are several)."""
        if not self.inputs:
            raise ConfigurationError(f"layer {self.name!r} has no inputs")
        return self.input_shapes[self.inputs[0]]

    @property
    def input_size(self) -> int:
        """Size of the last axis of the single input (of the first, when there are several)."""
        size = self.input_shape[-1]
        if size is None:
            raise ConfigurationError(f"layer {self.name!r}: the size of input {self.inputs[0]!r} is not known")
        return size

    @property
    def output_size(self) -> int | None:
        """Number of units: the size of the last axis of the output."""
        return self.size

    @property
    def output_shape(self) -> Shape:
        """Shape of the default output without the batch axis."""
        if self._shape is not None:
            return self._shape
        if self.inputs and self._resolved:
            first = self.input_shapes[self.inputs[0]]
            return tuple(first[:-1]) + (self.size,)
        return (self.size,)

    def output_shape_of(self, output: str) -> Shape:
        """Shape (without the batch axis) of the output ``output``; the default output's unless overridden."""
        return self.output_shape

    def infer_size(self) -> int | None:
        """The size this layer has given its inputs, or None if only ``size=`` can tell.

        Called by :meth:`bind` after the inputs are resolved; layers whose size
        follows from their inputs (flatten, concatenate...) override it.
        """
        return None

    # -- binding -------------------------------------------------------------------
    def bind(self, graph: Any, reset: bool = True, initialize: bool = True) -> None:
        """Resolve the input names against ``graph``'s layers, then create the parameters.

        Parameters
        ----------
        graph : Network or sequence of Layer
            The layers available as inputs (a network's layers before this one).
        reset : bool
            Forget earlier resolutions first.
        initialize : bool
            Call :meth:`setup` (new parameter values); when the layer is bound
            again, also rebuild the activation.

        Raises
        ------
        ConfigurationError
            If an input name matches no layer, or the sizes do not fit.

        Notes
        -----
        A ``size`` that differs from the one the inputs give (a
        ``Flatten(size=8)`` of 7 values) is logged as a warning, not refused:
        upstream keeps the given size (a :class:`Tied` layer the partner's).
        """
        layers = list(getattr(graph, "layers", graph))
        if reset:
            self._resolved = {}
        self.resolve(layers)
        inferred = self.infer_size()
        if inferred is not None:
            if self.size is not None and self.size != inferred:
                # upstream does not check (Theano fails later, when a layer that relies on the
                # wrong size runs); say so now, and use the size upstream uses
                keep = not self._inferred_size_wins
                log(
                    f"warning: layer {self.name!r}: size {self.size} does not match the size {inferred} "
                    f"its inputs give; using size {self.size if keep else inferred}, as theanets does"
                    + (" (a layer that relies on it will not fit the data)" if keep else "")
                )
                if not keep:
                    self.size = int(inferred)
            else:
                self.size = int(inferred)
        if self.size is None:
            raise ConfigurationError(f"layer {self.name!r} ({type(self).__name__}) needs a size")
        if initialize:
            self._params = []
            self.setup()
            if not self._fresh_activation:  # re-initializing: new activation parameters too
                self.activate = activations.build(self.kwargs["activation"], self)
            self._fresh_activation = False
        self._bound = True
        self.log()

    def resolve(self, layers: Iterable[Layer]) -> None:
        """Turn input names into ``'<layer>:<output>'`` names of layers in ``layers``.

        Raises
        ------
        ConfigurationError
            Naming this layer, the reference and the layers available.
        """
        layers = [lyr for lyr in layers if lyr is not self]
        keys = []
        for ref in self.inputs:
            base = ref.split(":", 1)[0]
            matches = [lyr for lyr in layers if lyr.name == base]
            if len(matches) != 1:
                available = ", ".join(repr(lyr.name) for lyr in layers) or "none"
                raise ConfigurationError(
                    f"layer {self.name!r} cannot resolve input {ref!r}: "
                    + ("no layer has that name" if not matches else "several layers have that name")
                    + f" (layers before it: {available})"
                )
            full = ref if ":" in ref else matches[0].output_name
            self._resolved[full] = (matches[0], full.split(":", 1)[1])
            keys.append(full)
        self.inputs = tuple(keys)

    def setup(self) -> None:
        """Create the layer's parameters (subclasses override it); called by :meth:`bind`."""

    def log(self) -> None:
        """Log a one-line description of the layer."""
        ins = ", ".join(f"({n}){lyr.size}" for n, (lyr, _) in self._resolved.items())
        _log.info(
            'layer %s "%s": %s -> %s, %s, %d parameters',
            type(self).__name__,
            self.name,
            ins or "-",
            self.size,
            getattr(self.activate, "name", self.activate),
            self.num_params,
        )

    # -- expressions --------------------------------------------------------------
    def connect(self, inputs: Mapping[str, Any]) -> tuple[dict[str, Variable], list[Any]]:
        """The layer's outputs for named input expressions, and its updates (as upstream).

        Parameters
        ----------
        inputs : dict
            ``'<layer>:<output>'`` -> expression; must hold this layer's inputs.

        Returns
        -------
        outputs : dict
            ``'<layer>:<output>'`` -> expression, sorted by name.
        updates : list of (SharedVariable, expression)
            Updates the layer's computation needs (usually empty); also kept
            in :attr:`updates`.

        Raises
        ------
        ConfigurationError
            If the layer is not bound or an input is missing.
        """
        if not self._bound:
            raise ConfigurationError(
                f"layer {self.name!r} is not bound into a network yet; add it to a Network or call layer.bind(network)"
            )
        missing = [k for k in self.inputs if k not in inputs]
        if missing:
            raise ConfigurationError(
                f"layer {self.name!r}: input(s) {missing} are not among the available outputs {sorted(inputs)}"
            )
        primary = self.inputs[0] if len(self.inputs) == 1 else None
        with provenance(self.name):
            result = self.transform(LayerInputs(inputs, primary, self.name))
        updates: list[Any] = []
        if isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], (list, tuple)):
            result, updates = result  # theanets' (outputs, updates) convention
            updates = list(updates)
        self.updates = updates
        if isinstance(result, LayerInputs):
            result = result.__graphc_variable__()
        if isinstance(result, Variable):
            result = {"out": result}
        if not isinstance(result, Mapping):
            raise TypeError(
                f"layer {self.name!r}: transform() must return an expression or a dict of named expressions, "
                f"got {type(result).__name__}"
            )
        outs: dict[str, Variable] = {}
        for key in sorted(result):
            value = result[key]
            if not isinstance(value, Variable):
                raise TypeError(f"layer {self.name!r}: output {key!r} of transform() is {type(value).__name__}, not an expression")
            outs[self.full_name(key)] = value
        return outs, updates

    def transform(self, inputs: LayerInputs) -> Any:
        """The output expression(s) for the inputs.

        Parameters
        ----------
        inputs : LayerInputs
            Expressions by ``'<layer>:<output>'`` name; for a single-input layer
            it also acts as that input's expression.

        Returns
        -------
        Variable or dict
            One expression (the ``'out'`` output) or a dict of named outputs.
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement transform()")

    def to_spec(self) -> dict[str, Any]:
        """Upstream's specification dictionary: ``form``, ``name``, ``size``, ``inputs`` and the options.

        As upstream, arguments that a layer takes by name rather than keeping
        them among its options (an RRNN's ``rate``, a convolution's
        ``filter_size``...) are left out, so this dictionary alone need not
        rebuild the layer; a saved model records them too (see
        :func:`graphc.theanets.layers._spec.file_spec`).
        """
        spec = self._full_spec()
        for key in self._spec_only_keys:
            spec.pop(key, None)
        return spec

    def _full_spec(self) -> dict[str, Any]:
        """Everything :meth:`Layer.build` needs to rebuild this layer (``form`` plus arguments)."""
        spec = {k: v for k, v in self.kwargs.items() if not (k == "rng" and not _is_int(v))}
        spec.update(form=type(self).__name__.lower(), name=self.name, size=self.size, inputs=self.inputs)
        if self._shape is not None:
            spec["shape"] = list(self._shape)
        return spec

    def __repr__(self) -> str:
        if not hasattr(self, "kwargs"):  # failed in __init__
            return f"<{type(self).__name__} (not constructed)>"
        return f"<{type(self).__name__} {self.name!r}: {', '.join(self.inputs) or '-'} -> {self.size}, {self.activation}>"
