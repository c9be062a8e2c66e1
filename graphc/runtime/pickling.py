"""Pickling compiled functions (Theano pickles them the same way: the graph, recompiled on load).

A :class:`~graphc.runtime.function.Function` holds an ONNX Runtime session,
which does not pickle.  Its reduction keeps what it was compiled from: the
inputs, the outputs, every update (explicit and default ones, made explicit),
``givens``, its name and opset; unpickling compiles it again, on the loading
machine's default device (``GRAPHC_DEVICE``), with the default passes.  Shared
variables travel with their values (see
:meth:`graphc.tensor.shared.SharedVariable.__getstate__`); pickle a function
together with the layers or variables it uses to keep them the same objects.

Importing this module registers the reduction with :mod:`copyreg`.

Warnings
--------
Unpickling runs code (it rebuilds objects and compiles the function): load
only pickles you trust.
"""

from __future__ import annotations

import copyreg
from typing import Any

from .function import Function

__all__ = ["reduce_function", "rebuild_function"]


def reduce_function(fn: Function) -> tuple[Any, tuple[Any, ...]]:
    """The ``__reduce__`` of a compiled function: :func:`rebuild_function` and its arguments.

    Parameters
    ----------
    fn : Function

    Returns
    -------
    tuple
        ``(rebuild_function, (inputs, outputs, updates, givens, name, opset))``.
    """
    outputs: Any = fn.outputs[0] if fn._single else list(fn.outputs)
    return rebuild_function, (list(fn.inputs), outputs, list(fn._updates), fn.givens, fn.name, fn._opset)


def rebuild_function(
    inputs: list[Any], outputs: Any, updates: list[Any], givens: Any, name: str, opset: int
) -> Function:
    """Compile a function again from its pickled parts (see :func:`reduce_function`).

    Returns
    -------
    Function
    """
    return Function(
        inputs,
        outputs,
        updates,
        givens,
        name=name,
        on_unused_input="ignore",  # checked when it was first compiled
        opset=opset,
        no_default_updates=True,  # the default updates are among `updates` already
    )


copyreg.pickle(Function, reduce_function)
