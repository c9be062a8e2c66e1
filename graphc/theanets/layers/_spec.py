"""The theanets layer-spec builder: compact specs in ``layers=`` to a form and arguments.

A spec is an int (the size), a tuple of ints (a shape; its last entry is the
size), a mixed tuple (a registered layer name or class is the form, another
string the activation, an int the size), a dict with ``form`` and keyword
arguments, or a registered form name.  Layer instances are used as they are
and never reach this module.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .base import ConfigurationError, Layer
from .feedforward import Input, Tied

__all__ = ["parse_spec", "find_partner", "unknown_form", "file_spec"]


def _is_int(x: Any) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)


def unknown_form(label: str, form: Any) -> ConfigurationError:
    """The error for an unregistered layer form, listing the registered ones."""
    return ConfigurationError(
        f"{label}: unknown layer form {form!r}; registered forms: {', '.join(sorted(Layer._registry))}"
    )


def parse_spec(spec: Any, index: int, default_form: str) -> tuple[str, dict[str, Any]]:
    """The form (lowercased) and keyword arguments a spec gives.

    Parameters
    ----------
    spec : int, tuple, dict, str or None
    index : int
        Position of the layer in the network (names it in errors).
    default_form : str
        The form when the spec names none.

    Raises
    ------
    ConfigurationError
        For an unknown form or an element that is none of the above.
    """
    label = f"layer {index}"
    kwargs: dict[str, Any] = {}
    form: Any = default_form
    if isinstance(spec, str):
        if not Layer.is_registered(spec):
            raise unknown_form(label, spec)
        form = spec
    elif isinstance(spec, (tuple, list)):
        if spec and all(_is_int(e) for e in spec):
            kwargs["shape"] = tuple(int(e) for e in spec)
        for el in [] if "shape" in kwargs else spec:
            if isinstance(el, type) and issubclass(el, Layer):
                form = el.__name__
            elif isinstance(el, str):
                if Layer.is_registered(el):
                    form = el
                elif "activation" in kwargs:  # two non-form words: one of them is a misspelled form
                    unknown = kwargs["activation"]
                    raise ConfigurationError(
                        f"{label}: the spec {spec!r} names two activations, {unknown!r} and {el!r}; if {unknown!r} "
                        f"is meant as a layer form, it is not a registered form ({', '.join(sorted(Layer._registry))})"
                    )
                else:
                    kwargs["activation"] = el
            elif _is_int(el):
                kwargs["size"] = int(el)
            else:
                raise ConfigurationError(f"{label}: cannot understand {el!r} in the spec {spec!r}")
    elif isinstance(spec, Mapping):
        kwargs.update({k: v for k, v in spec.items() if k != "form"})
        form = spec.get("form", default_form)
    elif _is_int(spec):
        kwargs["size"] = int(spec)
    elif spec is not None:
        raise ConfigurationError(f"{label}: cannot build a layer from {spec!r}")
    if isinstance(form, type) and issubclass(form, Layer):
        form = form.__name__
    return str(form).lower(), kwargs


def find_partner(layers: Sequence[Layer], name: str) -> str:
    """The partner of a tied layer added after ``layers``: its mirror layer.

    Walking back, a tied layer adds one and any other layer takes one away; the
    partner is where the count reaches zero, which pairs the layers of a deep
    tied autoencoder from the middle outwards.

    Raises
    ------
    ConfigurationError
        If the count never reaches zero on a layer with weights.
    """
    count = 1
    for lyr in reversed(layers):
        count += 1 if isinstance(lyr, Tied) else -1
        if count == 0:
            if isinstance(lyr, Input):
                break
            return lyr.name
    raise ConfigurationError(
        f"layer {name!r}: cannot find a partner for the tied layer (layers before it: "
        f"{[lyr.name for lyr in layers]}); give partner='<layer name>'"
    )


def file_spec(layer: Layer) -> dict[str, Any]:
    """The spec a model file records for ``layer``: :meth:`Layer.to_spec` plus what it leaves out.

    Upstream's ``to_spec`` omits the arguments a layer takes by name (an
    RRNN's ``rate``, a convolution's ``filter_size``...); the file needs them
    to rebuild the layer exactly.  A subclass that overrides ``to_spec``
    (upstream style) keeps what it adds.
    """
    spec = layer._full_spec()
    spec.update(layer.to_spec())
    return spec
