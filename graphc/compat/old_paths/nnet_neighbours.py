"""``theano.tensor.nnet.neighbours``: ``images2neibs`` and ``neibs2images`` for non-overlapping patches.

Both are reshapes and a transpose when the step equals the patch shape (Theano's
default) and the mode is ``'valid'`` or ``'ignore_borders'``; overlapping patches and the
``'wrap_centered'``/``'half'``/``'full'`` modes raise ``NotImplementedError``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...tensor import as_tensor_variable
from ...tensor.variable import Variable

__all__ = ["images2neibs", "neibs2images"]


def _pair(value: Any, what: str) -> tuple[int, int]:
    if not isinstance(value, Sequence) or len(value) != 2:
        raise TypeError(f"images2neibs: {what} must be a pair of ints, got {value!r}")
    return int(value[0]), int(value[1])


def images2neibs(ten4: Any, neib_shape: Any, neib_step: Any = None, mode: str = "valid") -> Variable:
    """Cut each ``(rows, cols)`` image of a 4-d tensor into patches, one flattened patch a row.

    Parameters
    ----------
    ten4 : 4-d tensor
        ``(batch, channels, rows, cols)``.
    neib_shape : pair of int
        The patch shape ``(h, w)``.
    neib_step : pair of int, optional
        Must equal ``neib_shape`` (the default).
    mode : {'valid', 'ignore_borders'}
        ``'valid'`` needs rows and cols divisible by the patch shape; ``'ignore_borders'``
        drops the partial patches at the border.

    Returns
    -------
    Variable
        Shape ``(batch * channels * (rows // h) * (cols // w), h * w)``, rows ordered by
        batch, channel, patch row, patch column, as Theano's.
    """
    x = as_tensor_variable(ten4)
    if x.ndim != 4:
        raise TypeError(f"images2neibs: ten4 must be 4-d, got {x!r}")
    h, w = _pair(neib_shape, "neib_shape")
    step = (h, w) if neib_step is None else _pair(neib_step, "neib_step")
    if step != (h, w):
        raise NotImplementedError(
            f"graphc does not provide images2neibs with overlapping patches (neib_step {step} != neib_shape {(h, w)})"
        )
    if mode not in ("valid", "ignore_borders"):
        raise NotImplementedError(f"graphc does not provide images2neibs mode {mode!r}")
    rows, cols = x.shape[2] // h, x.shape[3] // w
    if mode == "ignore_borders":
        x = x[:, :, : rows * h, : cols * w]
    else:
        for axis, size in ((2, h), (3, w)):
            static = x.type.shape[axis]
            if isinstance(static, int) and static % size:
                raise ValueError(
                    f"images2neibs: axis {axis} has size {static}, not a multiple of {size} (mode='valid')"
                )
    b, c = x.shape[0], x.shape[1]
    split = x.reshape((b, c, rows, h, cols, w))
    return split.dimshuffle(0, 1, 2, 4, 3, 5).reshape((-1, h * w))


def neibs2images(neibs: Any, neib_shape: Any, original_shape: Any, mode: str = "valid") -> Variable:
    """The inverse of :func:`images2neibs` for non-overlapping patches.

    Parameters
    ----------
    neibs : matrix
        One flattened patch a row.
    neib_shape : pair of int
    original_shape : 4 sizes
        ``(batch, channels, rows, cols)`` of the images (ints or symbolic scalars).
    mode : {'valid'}

    Returns
    -------
    Variable
    """
    if mode != "valid":
        raise NotImplementedError(f"graphc does not provide neibs2images mode {mode!r}")
    h, w = _pair(neib_shape, "neib_shape")
    b, c, r, k = (original_shape[i] for i in range(4))
    v = as_tensor_variable(neibs)
    split = v.reshape((b, c, r // h, k // w, h, w))
    return split.dimshuffle(0, 1, 2, 4, 3, 5).reshape((b, c, r, k))
