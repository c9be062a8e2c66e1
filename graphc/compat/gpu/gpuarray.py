"""``theano.gpuarray``: the new GPU back-end, absent (``pygpu_activated`` is False)."""

from __future__ import annotations

pygpu = None
"""None: pygpu is not used by graphc."""
pygpu_activated = False
"""False, as in a Theano without pygpu."""


def init_dev(dev: str, name: str | None = None, preallocate: float | None = None) -> None:
    """Theano's ``init_dev``: refused, the back-end is absent.

    Raises
    ------
    RuntimeError
        Always.
    """
    raise RuntimeError(
        f"graphc does not provide Theano's gpuarray back-end; cannot init {dev!r} (use graphc.function(device='cuda'))"
    )


def use(device: str, *args: object, **kwargs: object) -> None:
    """Theano's ``theano.gpuarray.use``: refused, the back-end is absent."""
    init_dev(device)
