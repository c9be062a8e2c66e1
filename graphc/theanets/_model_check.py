"""Checking a theanets network file before a network is built from it.

:func:`graphc._model_io.load_model` reads the file's arrays (within the memory budget),
then this module checks the JSON description completely (every field's type and range,
no unknown fields), checks the parameter arrays against the names the description lists
(numeric, finite), and builds the layers while a guarded random generator refuses any draw
of initial values that the file's arrays could not fill: a 2 KB file whose description
asks for layers of a million units is refused before the first weight is drawn, not after
27 GiB of them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..export.budget import BudgetError, check_bytes
from . import losses as _losses
from ._file_checks import (
    FileContentError,
    check_keys,
    finite_float,
    is_int,
    need,
    require_finite,
)
from .layers.base import ConfigurationError, Layer

__all__ = [
    "check_description",
    "check_param_arrays",
    "check_param_names",
    "model_expect",
    "DrawLedger",
    "GuardedRandomState",
    "guarded_spec",
    "describe",
    "MAX_LAYERS",
]

MODEL_FIELDS = ("format", "version", "class", "rng", "losses", "layers", "params")
LOSS_FIELDS = ("form",)
LOSS_OPTIONAL = ("weight", "output_name", "weighted")
MAX_LAYERS = 2_000
"""The most layers a network file may describe."""
MAX_SIZE = (1 << 31) - 1
"""The largest size or shape entry a layer may have."""
MAX_SEED = (1 << 32) - 1
DRAW_SLACK = 1 << 20
"""Initial values a build may draw beyond the values the file holds (small extras, such as a
recurrent layer's orthogonal start)."""

_INIT_OPTION = re.compile(r"(mean|std|sparsity|diagonal|radius)(_\w+)?")
_NAME = re.compile(r"[^:.]{1,200}")


def _listed(names: list[str]) -> str:
    """``names`` for a message, shortened past 8."""
    shown = ", ".join(repr(n) for n in names[:8])
    return f"[{shown}, ... ({len(names)} in all)]" if len(names) > 8 else f"[{shown}]"


def _seed(value: Any, where: str, field: str) -> None:
    need(
        value is None or (is_int(value) and 0 <= value <= MAX_SEED),
        where,
        field,
        f"null or an int seed in [0, {MAX_SEED}]",
        value,
    )


def _positive(value: Any) -> bool:
    return is_int(value) and 1 <= value <= MAX_SIZE


def _check_layer(spec: Any, index: int, names: list[str], where: str) -> None:
    need(isinstance(spec, dict), where, f"layer {index}", "a JSON object", spec)
    label = f"layer {index}"
    form = spec.get("form")
    need(isinstance(form, str), where, f"{label}: 'form'", "a layer form name (a string)", form)
    name = spec.get("name")
    need(
        isinstance(name, str) and bool(_NAME.fullmatch(name)),
        where,
        f"{label}: 'name'",
        "a string of 1 to 200 characters without ':' or '.'",
        name,
    )
    label = f"layer {name!r}"
    if not Layer.is_registered(form):
        raise ConfigurationError(
            f"{where}: {label}: form {form!r} is not registered; define (import) the custom layer class before loading the model"
        )
    if name in names:
        raise FileContentError(f"{where}: {label}: two layers have that name")
    for key in spec:
        need(isinstance(key, str) and key.isidentifier(), where, f"{label}: an option name", "an identifier", key)
    size = spec.get("size")
    need(size is None or _positive(size), where, f"{label}: 'size'", f"null or an int in [1, {MAX_SIZE}]", size)
    if "shape" in spec:
        shape = spec["shape"]
        ok = isinstance(shape, list) and 0 < len(shape) <= 8 and all(d is None or _positive(d) for d in shape)
        need(ok, where, f"{label}: 'shape'", f"a list of 1 to 8 sizes (ints in [1, {MAX_SIZE}] or null)", shape)
    inputs = spec.get("inputs", [])
    ok = isinstance(inputs, list) and len(inputs) <= MAX_LAYERS and all(isinstance(i, str) and i for i in inputs)
    need(ok, where, f"{label}: 'inputs'", "a list of layer output names", inputs)
    for ref in inputs:
        if ref.split(":", 1)[0] not in names:
            raise FileContentError(
                f"{where}: {label}: input {ref!r} names no layer before it (layers before it: {_listed(names)})"
            )
    if "activation" in spec:
        need(
            isinstance(spec["activation"], str) and bool(spec["activation"]),
            where,
            f"{label}: 'activation'",
            "an activation name",
            spec["activation"],
        )
    if "rng" in spec:
        _seed(spec["rng"], where, f"{label}: 'rng'")
    for key, value in spec.items():
        if _INIT_OPTION.fullmatch(key):
            need(finite_float(value), where, f"{label}: {key!r}", "a finite number", value)
            if key.startswith("sparsity"):
                need(0 <= value < 1, where, f"{label}: {key!r}", "in [0, 1)", value)


def _check_losses(losses: Any, names: list[str], where: str) -> None:
    need(
        isinstance(losses, list) and 0 < len(losses) <= 100,
        where,
        "'losses'",
        "a list of 1 to 100 loss objects",
        losses,
    )
    for k, loss in enumerate(losses):
        label = f"loss {k}"
        check_keys(loss, where, label, LOSS_FIELDS, LOSS_OPTIONAL)
        form = loss["form"]
        ok = isinstance(form, str) and form.lower() in _losses.Loss._registry
        need(ok, where, f"{label}: 'form'", f"one of {', '.join(sorted(_losses.Loss._registry))}", form)
        if "weight" in loss:
            need(finite_float(loss["weight"]), where, f"{label}: 'weight'", "a finite number", loss["weight"])
        if "weighted" in loss:
            need(isinstance(loss["weighted"], bool), where, f"{label}: 'weighted'", "true or false", loss["weighted"])
        if "output_name" in loss:
            out = loss["output_name"]
            need(isinstance(out, str) and out.split(":", 1)[0] in names, where, f"{label}: 'output_name'",
                 f"an output of one of the layers {_listed(names)}", out)  # fmt: skip


def check_description(desc: dict[str, Any], where: str, formats: tuple[str, int]) -> None:
    """Check a network file's JSON description completely (see the module docstring).

    Parameters
    ----------
    desc : dict
        The parsed description.
    where : str
        The file, for messages.
    formats : (str, int)
        The format name and version this reader knows.

    Raises
    ------
    ValueError
        Naming the file, the field and what was expected (a
        :class:`~graphc.theanets.layers.base.ConfigurationError` for an unregistered layer form).
    """
    if desc.get("format") != formats[0] or desc.get("version") != formats[1]:
        raise FileContentError(
            f"{where}: unsupported model file (format {desc.get('format')!r}, version {desc.get('version')!r}); "
            f"this graphc reads format {formats[0]!r}, version {formats[1]}"
        )
    check_keys(desc, where, "the model description", MODEL_FIELDS)
    need(
        isinstance(desc["class"], str) and desc["class"].isidentifier(), where, "'class'", "a class name", desc["class"]
    )
    _seed(desc["rng"], where, "'rng'")
    layers = desc["layers"]
    need(
        isinstance(layers, list) and 0 < len(layers) <= MAX_LAYERS,
        where,
        "'layers'",
        f"a list of 1 to {MAX_LAYERS} layers",
        layers,
    )
    names: list[str] = []
    for index, spec in enumerate(layers):
        _check_layer(spec, index, names, where)
        names.append(spec["name"])
    _check_losses(desc["losses"], names, where)
    params = desc["params"]
    ok = isinstance(params, list) and all(isinstance(p, str) and p for p in params) and len(set(params)) == len(params)
    need(ok, where, "'params'", "a list of distinct parameter names", params)


def model_expect(where: str) -> Any:
    """An ``expect`` callback for :func:`~graphc.export.arrays.read_npz`: refuse non-numeric parameter arrays before inflating."""
    from ._formats import SPEC_KEY

    def expect(name: str, shape: tuple[int, ...], dtype: np.dtype) -> None:
        if name == SPEC_KEY or name.startswith("__"):
            return  # the description is checked once read; a checkpoint's entries are not used here
        if dtype.kind not in "biuf":
            raise FileContentError(f"{where}: parameter {name!r} holds {dtype} values; expected numbers")

    return expect


def check_param_names(desc: dict[str, Any], arrays: Mapping[str, Any], where: str) -> None:
    """The file's parameter entries (those not named ``__...``) must be the description's ``params``.

    Raises
    ------
    ValueError
        For a listed parameter without an array, or an array the description does not list.
    """
    params = [k for k in arrays if not k.startswith("__")]
    for name in desc["params"]:
        if name not in arrays:
            owner = name.split(".", 1)[0]
            raise FileContentError(f"{where}: layer {owner!r}: no values for parameter {name!r}")
    extra = sorted(set(params) - set(desc["params"]))
    if extra:
        raise FileContentError(
            f"{where}: values for unknown parameters {extra}; the description lists {desc['params']}"
        )


def check_param_arrays(desc: dict[str, Any], arrays: Mapping[str, np.ndarray], where: str) -> dict[str, np.ndarray]:
    """The parameter arrays (entries not named ``__...``), checked against the description's ``params``.

    Raises
    ------
    ValueError
        For a listed parameter without an array, an array the description does not list,
        a non-numeric array or a non-finite value.
    """
    check_param_names(desc, arrays, where)
    params = {k: v for k, v in arrays.items() if not k.startswith("__")}
    for name, arr in params.items():
        if arr.dtype.kind not in "biuf":
            raise FileContentError(f"{where}: parameter {name!r} holds {arr.dtype} values; expected numbers")
        require_finite(arr, where, f"parameter {name!r}")
    return params


class DrawLedger:
    """How many initial values the layers built from a file may still draw.

    Parameters
    ----------
    sizes_by_name : mapping
        The element counts of the file's parameter arrays (as their headers declare them): no
        single draw may exceed the largest, and all draws together may not exceed their
        total (plus :data:`DRAW_SLACK`).
    where : str
        The file, for messages.
    """

    def __init__(self, sizes_by_name: Mapping[str, int], where: str) -> None:
        sizes = [int(n) for n in sizes_by_name.values()]
        self.largest = max(sizes, default=0) + DRAW_SLACK
        self.left = sum(sizes) + DRAW_SLACK
        self.where = where
        self.armed = True

    def take(self, count: int, shape: Any, layer: str) -> None:
        """Account for a draw of ``count`` values for ``layer``; raise BudgetError when the file cannot back it."""
        if not self.armed:
            return
        if count > self.largest or count > self.left:
            raise BudgetError(
                f"{self.where}: layer {layer!r} asks for {count:,} initial values (a draw of shape {shape}), "
                f"more than the file's parameter arrays hold ({self.largest - DRAW_SLACK:,} in the largest); "
                "the description does not fit the arrays"
            )
        check_bytes(8 * count, f"{self.where}: the initial values of layer {layer!r} ({shape})")
        self.left -= count


def _count(size: Any) -> tuple[int, Any]:
    if size is None:
        return 1, ()
    dims = (size,) if isinstance(size, (int, np.integer)) else tuple(size)
    try:
        return math.prod(int(d) for d in dims), dims
    except (TypeError, ValueError):
        return 1, dims  # numpy reports it


class GuardedRandomState(np.random.RandomState):
    """A RandomState that asks a :class:`DrawLedger` before every draw (used only while a file's layers are built).

    Its drawing methods are numpy's, with the same arguments; each first accounts for the
    number of values it is asked for, so that a description asking for more initial values
    than the file's arrays hold is refused before anything is drawn.

    Parameters
    ----------
    seed : int or None
    ledger : DrawLedger
    layer : str
        The layer being built, for messages.
    """

    def __init__(self, seed: Any, ledger: DrawLedger, layer: str) -> None:
        super().__init__(seed)
        self._ledger = ledger
        self._layer = layer

    def _ask(self, size: Any) -> None:
        count, dims = _count(size)
        self._ledger.take(count, dims, self._layer)

    def randn(self, *args: Any) -> Any:
        self._ask(args or None)
        return super().randn(*args)

    def rand(self, *args: Any) -> Any:
        self._ask(args or None)
        return super().rand(*args)

    def standard_normal(self, size: Any = None) -> Any:
        self._ask(size)
        return super().standard_normal(size)

    def random_sample(self, size: Any = None) -> Any:
        self._ask(size)
        return super().random_sample(size)

    def random(self, size: Any = None) -> Any:
        self._ask(size)
        return super().random(size)

    def uniform(self, low: Any = 0.0, high: Any = 1.0, size: Any = None) -> Any:
        self._ask(size)
        return super().uniform(low, high, size)

    def normal(self, loc: Any = 0.0, scale: Any = 1.0, size: Any = None) -> Any:
        self._ask(size)
        return super().normal(loc, scale, size)

    def binomial(self, n: Any, p: Any, size: Any = None) -> Any:
        self._ask(size)
        return super().binomial(n, p, size)

    def randint(self, low: Any, high: Any = None, size: Any = None, dtype: Any = int) -> Any:
        self._ask(size)
        return super().randint(low, high, size, dtype)

    def permutation(self, x: Any) -> Any:
        self._ask(int(x) if isinstance(x, (int, np.integer)) else len(x))
        return super().permutation(x)


def guarded_spec(spec: Mapping[str, Any], ledger: DrawLedger) -> dict[str, Any]:
    """``spec`` as keyword arguments whose ``rng`` is a :class:`GuardedRandomState` (seeded as the spec says)."""
    kwargs = dict(spec)
    kwargs["rng"] = GuardedRandomState(spec.get("rng"), ledger, str(spec.get("name")))
    return kwargs


def describe(exc: BaseException) -> str:
    """One line for an exception raised while building from a file."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
