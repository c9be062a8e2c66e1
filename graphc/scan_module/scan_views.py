"""``map``, ``reduce``, ``foldl`` and ``foldr``: thin wrappers on ``scan`` (Theano's ``scan_module/scan_views.py``)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from ..tensor.scan import scan

__all__ = ["map", "reduce", "foldl", "foldr"]


def map(  # noqa: A001 - Theano's name
    fn: Callable[..., Any],
    sequences: Any,
    non_sequences: Any = None,
    truncate_gradient: int = -1,
    go_backwards: bool = False,
    mode: Any = None,
    name: str | None = None,
) -> tuple[Any, OrderedDict]:
    """Apply ``fn`` to every step of ``sequences``: a scan whose outputs are not fed back.

    Parameters
    ----------
    fn : callable
        ``fn(*seq_elements, *non_sequences)`` returns the step's outputs.
    sequences : variable, dict or list
        As for :func:`~graphc.tensor.scan.scan`.
    non_sequences : variable or list, optional
    truncate_gradient : int
    go_backwards : bool
    mode : ignored
    name : str, optional

    Returns
    -------
    (outputs, updates)
        As :func:`~graphc.tensor.scan.scan` returns them.
    """
    return scan(
        fn, sequences=sequences, outputs_info=[], non_sequences=non_sequences, truncate_gradient=truncate_gradient,
        go_backwards=go_backwards, mode=mode, name=name,
    )  # fmt: skip


def reduce(  # noqa: A001 - Theano's name
    fn: Callable[..., Any],
    sequences: Any,
    outputs_info: Any,
    non_sequences: Any = None,
    go_backwards: bool = False,
    mode: Any = None,
    name: str | None = None,
) -> tuple[Any, OrderedDict]:
    """Fold ``fn`` over ``sequences``: the last step of a scan.

    Parameters
    ----------
    fn : callable
        ``fn(*seq_elements, *previous_states, *non_sequences)``.
    sequences : variable, dict or list
    outputs_info : variable or list
        The initial values of the accumulated results.
    non_sequences : variable or list, optional
    go_backwards : bool
        Fold from the last element to the first.
    mode : ignored
    name : str, optional

    Returns
    -------
    (result, updates)
        The value after the last step (a list when the scan has several
        outputs), and the scan's updates.
    """
    outputs, updates = scan(
        fn, sequences=sequences, outputs_info=outputs_info, non_sequences=non_sequences, go_backwards=go_backwards,
        truncate_gradient=-1, mode=mode, name=name,
    )  # fmt: skip
    if isinstance(outputs, (list, tuple)):
        return [o[-1] for o in outputs], updates
    return outputs[-1], updates


def foldl(
    fn: Callable[..., Any],
    sequences: Any,
    outputs_info: Any,
    non_sequences: Any = None,
    mode: Any = None,
    name: str | None = None,
) -> tuple[Any, OrderedDict]:
    """Fold ``fn`` over ``sequences`` from the first element to the last (:func:`reduce`).

    Parameters
    ----------
    fn, sequences, outputs_info, non_sequences, mode, name
        As for :func:`reduce`.

    Returns
    -------
    (result, updates)
    """
    return reduce(fn, sequences, outputs_info, non_sequences=non_sequences, go_backwards=False, mode=mode, name=name)


def foldr(
    fn: Callable[..., Any],
    sequences: Any,
    outputs_info: Any,
    non_sequences: Any = None,
    mode: Any = None,
    name: str | None = None,
) -> tuple[Any, OrderedDict]:
    """Fold ``fn`` over ``sequences`` from the last element to the first (:func:`reduce`).

    Parameters
    ----------
    fn, sequences, outputs_info, non_sequences, mode, name
        As for :func:`reduce`.

    Returns
    -------
    (result, updates)
    """
    return reduce(fn, sequences, outputs_info, non_sequences=non_sequences, go_backwards=True, mode=mode, name=name)
