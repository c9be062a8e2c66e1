"""Products: matmul, dot (numpy.dot semantics), tensordot, outer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .basic import as_tensor_variable
from .elemwise import _operands, mul
from .variable import Variable, apply_op

__all__ = ["matmul", "dot", "tensordot", "outer"]


def matmul(a: Any, b: Any) -> Variable:
    """numpy ``matmul``: 1-d operands are promoted, leading axes broadcast."""
    x, y = _operands(a, b)
    return apply_op("matmul", [x, y])  # type: ignore[return-value]


def dot(a: Any, b: Any) -> Variable:
    """``numpy.dot`` (Theano's ``T.dot``).

    Scalars multiply; otherwise the last axis of ``a`` is contracted with the
    last axis of ``b`` (for 1-d ``b``) or its second-to-last axis.
    """
    x, y = _operands(a, b)
    if x.ndim == 0 or y.ndim == 0:
        return mul(x, y)
    if y.ndim <= 2:
        return apply_op("matmul", [x, y])  # type: ignore[return-value]
    return tensordot(x, y, axes=([x.ndim - 1], [y.ndim - 2]))


def tensordot(a: Any, b: Any, axes: Any = 2) -> Variable:
    """``numpy.tensordot``: contract ``axes`` of ``a`` with ``axes`` of ``b``."""
    from .shape import dim_of, reshape, transpose

    x, y = _operands(a, b)
    if isinstance(axes, int):
        ax_a: Sequence[int] = list(range(x.ndim - axes, x.ndim))
        ax_b: Sequence[int] = list(range(axes))
    else:
        ax_a, ax_b = ([axes[0]] if isinstance(axes[0], int) else axes[0]), ([axes[1]] if isinstance(axes[1], int) else axes[1])
    ax_a = [int(i) % x.ndim for i in ax_a]
    ax_b = [int(i) % y.ndim for i in ax_b]
    if len(ax_a) != len(ax_b):
        raise ValueError(f"tensordot: axes {ax_a} and {ax_b} have different lengths")
    for i, j in zip(ax_a, ax_b):
        da, db = x.type.shape[i], y.type.shape[j]
        if isinstance(da, int) and isinstance(db, int) and da != db:
            raise ValueError(f"tensordot: axis {i} of {x!r} (size {da}) does not match axis {j} of {y!r} (size {db})")
    free_a = [i for i in range(x.ndim) if i not in ax_a]
    free_b = [j for j in range(y.ndim) if j not in ax_b]
    xt = transpose(x, free_a + ax_a)
    yt = transpose(y, ax_b + free_b)
    k = [dim_of(x, i) for i in ax_a]
    x2 = reshape(xt, [-1, _prod(k)])
    y2 = reshape(yt, [_prod(k), -1])
    out = apply_op("matmul", [x2, y2])
    return reshape(out, [dim_of(x, i) for i in free_a] + [dim_of(y, j) for j in free_b])


def _prod(dims: list[Any]) -> Any:
    out: Any = 1
    for d in dims:
        out = out * d
    return out


def outer(a: Any, b: Any) -> Variable:
    """Outer product of two vectors."""
    x, y = as_tensor_variable(a), as_tensor_variable(b)
    if x.ndim != 1 or y.ndim != 1:
        raise ValueError(f"outer: expected two vectors, got {x!r} and {y!r}")
    return mul(x[:, None], y[None, :])
