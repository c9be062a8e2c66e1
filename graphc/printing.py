"""``theano.printing``: readable text of expression graphs (``pprint``, ``debugprint``) and ``Print``.

``Print`` is a documented no-op here: it returns its input unchanged and warns once,
because an exported ONNX graph has no op that prints (Theano's ``Print`` prints the
value each time the function runs).
"""

from __future__ import annotations

import string
import sys
import warnings
from collections.abc import Sequence
from typing import IO, Any

import numpy as np

from .tensor.variable import TensorConstant, Variable

__all__ = ["pprint", "pp", "debugprint", "Print"]

_INFIX = {"add": "+", "sub": "-", "mul": "*", "div": "/", "true_div": "/", "pow": "**", "matmul": "\\dot", "mod": "%"}
_INFIX_CMP = {"lt": "<", "le": "<=", "gt": ">", "ge": ">=", "eq": "==", "neq": "!="}


def _const_text(v: TensorConstant) -> str:
    value = np.asarray(v.value if hasattr(v, "value") else v.data)
    if value.size == 1:
        return str(value.item())
    return f"TensorConstant{{{value.dtype}, shape={value.shape}}}"


def _leaf_text(v: Variable) -> str:
    if isinstance(v, TensorConstant):
        return _const_text(v)
    return v.name if v.name else f"<{v.type}>"


def _pp(v: Variable, memo: dict[int, str]) -> str:
    key = id(v)
    if key in memo:
        return memo[key]
    owner = v.owner
    if owner is None:
        text = _leaf_text(v)
    else:
        args = [_pp(i, memo) for i in owner.inputs]
        op = owner.op
        if op in _INFIX and len(args) == 2:
            text = f"({args[0]} {_INFIX[op]} {args[1]})" if op != "matmul" else f"(\\dot({args[0]}, {args[1]}))"
        elif op in _INFIX_CMP and len(args) == 2:
            text = f"({args[0]} {_INFIX_CMP[op]} {args[1]})"
        elif op == "neg" and len(args) == 1:
            text = f"(-{args[0]})"
        else:
            attrs = ", ".join(f"{k}={val}" for k, val in sorted(owner.attrs.items()))
            text = f"{op}{{{attrs}}}({', '.join(args)})" if attrs else f"{op}({', '.join(args)})"
    memo[key] = text
    return text


def pprint(obj: Any) -> str:
    """An infix text of an expression, as Theano's ``pprint`` (``'(x + (y * 2.0))'``).

    Parameters
    ----------
    obj : Variable or list of Variable

    Returns
    -------
    str
        One line per output.

    Examples
    --------
    >>> import graphc.tensor as T
    >>> x, y = T.vectors('x', 'y')
    >>> pprint(x + y * 2)
    '(x + (y * 2.0))'
    """
    outs = obj if isinstance(obj, (list, tuple)) else [obj]
    memo: dict[int, str] = {}
    return "\n".join(_pp(_as_variable(o), memo) for o in outs)


pp = pprint


def _as_variable(obj: Any) -> Variable:
    if isinstance(obj, Variable):
        return obj
    from .tensor import as_tensor_variable

    return as_tensor_variable(obj)


def _ids() -> Any:
    n = 0
    while True:
        letters, k = "", n
        while True:
            letters = string.ascii_uppercase[k % 26] + letters
            k = k // 26 - 1
            if k < 0:
                break
        yield letters
        n += 1


def debugprint(
    obj: Any,
    depth: int = -1,
    print_type: bool = False,
    file: IO[str] | str | None = None,
    ids: str = "CHAR",
    stop_on_name: bool = False,
    **kwargs: Any,
) -> Any:
    """A tree text of an expression graph, one node a line, as Theano's ``debugprint``.

    Each line is ``op [id X] 'name'`` (leaves: their name or type); the inputs follow,
    indented under `` |``.  A node met again shows only its id.

    Parameters
    ----------
    obj : Variable, list of Variable, or a compiled function
        A function prints its outputs and its updates' new values.
    depth : int
        Levels to show (-1: all).
    print_type : bool
        Add each variable's type.
    file : file, 'str' or None
        Where to write (default standard output); ``'str'`` returns the text.
    ids : {'CHAR', 'id', ''}
        Node labels: letters, Python ids or none.
    stop_on_name : bool
        Do not expand named variables.
    **kwargs
        Theano's other options (``done``, ``print_storage``...), ignored.

    Returns
    -------
    str or file
        The text for ``file='str'``, else the file written to.
    """
    outs = _roots(obj)
    seen: dict[int, str] = {}
    gen = _ids()
    lines: list[str] = []

    def label(v: Variable) -> str:
        if ids == "":
            return ""
        if id(v) not in seen:
            seen[id(v)] = next(gen) if ids == "CHAR" else str(id(v))
        return f" [id {seen[id(v)]}]"

    def walk(v: Variable, prefix: str, child_prefix: str, level: int) -> None:
        owner = v.owner
        again = id(v) in seen
        typ = f" <{v.type}>" if print_type else ""
        if owner is None:
            lines.append(f"{prefix}{_leaf_text(v)}{label(v)}{typ}")
            return
        attrs = ", ".join(f"{k}={val}" for k, val in sorted(owner.attrs.items()))
        op = f"{owner.op}{{{attrs}}}" if attrs else owner.op
        name = f" '{v.name}'" if v.name else " ''"
        index = f".{v.index}" if len(owner.outputs) > 1 else ""
        lines.append(f"{prefix}{op}{index}{label(v)}{name}{typ}")
        if again or depth == level + 1 or (stop_on_name and v.name and level > 0):
            return
        for i, inp in enumerate(owner.inputs):
            last = i == len(owner.inputs) - 1
            walk(inp, child_prefix + " |", child_prefix + ("  " if last else " |"), level + 1)

    for out in outs:
        walk(out, "", "", 0)
    text = "\n".join(lines) + "\n"
    if file == "str":
        return text
    stream = sys.stdout if file is None else file
    stream.write(text)
    return stream


def _roots(obj: Any) -> Sequence[Variable]:
    if isinstance(obj, Variable):
        return [obj]
    if isinstance(obj, (list, tuple)):
        return [_as_variable(o) for o in obj]
    if hasattr(obj, "outputs") and hasattr(obj, "inputs"):  # a compiled function
        news = [new for _, new in getattr(obj, "updates", []) or []]
        return [*obj.outputs, *news]
    return [_as_variable(obj)]


class Print:
    """Theano's ``Print(message)(x)``: here an identity that does not print (see the module docs).

    Parameters
    ----------
    message : str
    attrs : tuple of str
        Accepted for Theano compatibility.
    global_fn : callable, optional
        Accepted for Theano compatibility.
    """

    _warned = False

    def __init__(self, message: str = "", attrs: Sequence[str] = ("__str__",), global_fn: Any = None) -> None:
        self.message = message
        self.attrs = tuple(attrs)

    def __call__(self, x: Any) -> Variable:
        """Return ``x`` unchanged (as a tensor), warning once per process that nothing is printed."""
        if not Print._warned:
            Print._warned = True
            warnings.warn(
                "graphc: theano.printing.Print is an identity; values are not printed when the function runs",
                stacklevel=2,
            )
        return _as_variable(x)
