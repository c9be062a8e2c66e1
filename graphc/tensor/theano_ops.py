"""``node.op`` as Theano programs inspect it: ``y.owner.op.name``, ``isinstance(op, T.Elemwise)``, ``op.scalar_op``.

An :class:`Apply`'s ``op`` is graphc's registry name (``'mul'``), and everything in graphc
treats it as that string.  It is an :class:`Op`, a ``str`` subclass: equal to, hashing and
printing as the graphc name, so graphc's own code and messages see a plain string, while
a Theano program also finds Theano's spelling on it:

>>> import graphc.tensor as T
>>> y = T.dmatrix('x') * 2.
>>> y.owner.op == 'mul', y.owner.op.name, type(y.owner.op).__name__, y.owner.op.scalar_op.name
(True, 'Elemwise{mul,no_inplace}', 'Elemwise', 'mul')

The classes are Theano's (:class:`Elemwise`, :class:`DimShuffle`, :class:`Sum`, :class:`Dot`,
:class:`Subtensor`...), so ``isinstance(v.owner.op, T.Elemwise)`` and
``op.__class__.__name__ == 'DimShuffle'`` work.  What differs: graphc's graph is its own
(``x * 2.`` multiplies by a constant directly, with no ``DimShuffle`` on it; ``T.mean`` is
one ``Mean`` op), ``str(op)`` is graphc's name (Theano's is ``op.name``), and two ops
compare equal when their graphc names are (Theano also compared their parameters).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "Op",
    "ScalarOp",
    "Elemwise",
    "DimShuffle",
    "CAReduce",
    "Sum",
    "Prod",
    "Max",
    "Min",
    "Mean",
    "Argmax",
    "Argmin",
    "Dot",
    "Subtensor",
    "AdvancedSubtensor1",
    "AdvancedSubtensor",
    "AdvancedIncSubtensor1",
    "AdvancedIncSubtensor",
    "Reshape",
    "Join",
    "Shape",
    "Alloc",
    "ARange",
    "Softmax",
    "LogSoftmax",
    "Scan",
    "AbstractConv2d",
    "AbstractConv2d_gradInputs",
    "Pool",
    "GradClip",
    "theano_op",
]


class ScalarOp:
    """Theano's scalar op of an :class:`Elemwise` (``op.scalar_op``): ``name`` is Theano's (``'mul'``)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __str__(self) -> str:
        return self.name

    __repr__ = __str__

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.name == self.name  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.name))


_SCALAR_CLASSES: dict[str, type[ScalarOp]] = {}


def _scalar(class_name: str, name: str) -> ScalarOp:
    cls = _SCALAR_CLASSES.get(class_name)
    if cls is None:
        cls = _SCALAR_CLASSES[class_name] = type(class_name, (ScalarOp,), {"__module__": __name__})
    return cls(name)


class Op(str):
    """An op as a Theano program sees it: a ``str`` (graphc's op name) with Theano's ``name``.

    Parameters
    ----------
    graphc_name : str
        The registry name (``'mul'``): the string value.
    attrs : dict
        The op's attributes.
    in_types : tuple of graphc.ir.types.TensorType
        The types of its inputs.
    """

    def __new__(cls, graphc_name: str, attrs: dict[str, Any] | None = None, in_types: tuple[Any, ...] = ()) -> Op:
        made = super().__new__(cls, graphc_name)
        made.attrs = attrs if attrs is not None else {}
        made.in_types = tuple(in_types)
        return made

    def __reduce__(self) -> tuple[Any, ...]:
        return (theano_op, (str.__str__(self), self.attrs, self.in_types))

    def __copy__(self) -> Op:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Op:
        return self

    @property
    def name(self) -> str:
        """Theano's name of the op (``'Elemwise{mul,no_inplace}'``, ``'DimShuffle{x,0}'``)."""
        return self._theano_name()

    def _theano_name(self) -> str:
        return type(self).__name__ if type(self) is not Op else str.__str__(self)

    def _dtype(self, k: int = 0) -> str:
        return self.in_types[k].dtype if len(self.in_types) > k else "float64"

    def _ndim(self, k: int = 0) -> int:
        return self.in_types[k].ndim if len(self.in_types) > k else 0


# graphc elementwise op -> (Theano's tensor function, its scalar op class)
_ELEMWISE: dict[str, tuple[str, str]] = {
    "add": ("add", "Add"), "sub": ("sub", "Sub"), "mul": ("mul", "Mul"), "div": ("true_div", "TrueDiv"),
    "floor_div": ("int_div", "IntDiv"), "mod": ("mod", "Mod"), "pow": ("pow", "Pow"), "neg": ("neg", "Neg"),
    "abs": ("abs_", "Abs"), "exp": ("exp", "Exp"), "log": ("log", "Log"), "log1p": ("log1p", "Log1p"),
    "sqrt": ("sqrt", "Sqrt"), "sin": ("sin", "Sin"), "cos": ("cos", "Cos"), "tanh": ("tanh", "Tanh"),
    "erf": ("erf", "Erf"), "ceil": ("ceil", "Ceil"), "floor": ("floor", "Floor"), "sign": ("sgn", "Sgn"),
    "round": ("round_half_to_even", "RoundHalfToEven"), "reciprocal": ("inv", "Inv"),
    "maximum": ("maximum", "Maximum"), "minimum": ("minimum", "Minimum"), "eq": ("eq", "EQ"), "neq": ("neq", "NEQ"),
    "lt": ("lt", "LT"), "le": ("le", "LE"), "gt": ("gt", "GT"), "ge": ("ge", "GE"), "logical_and": ("and_", "AND"),
    "logical_or": ("or_", "OR"), "logical_xor": ("xor", "XOR"), "logical_not": ("invert", "Invert"),
    "where": ("switch", "Switch"), "relu": ("relu", "Relu"),
}  # fmt: skip
# Theano named these Elemwise ops after the function alone (Elemwise(scalar_sigmoid, name='sigmoid'))
_NAMED_ELEMWISE = {"sigmoid": ("ScalarSigmoid", "scalar_sigmoid"), "softplus": ("ScalarSoftplus", "scalar_softplus")}


class Elemwise(Op):
    """Theano's ``Elemwise``: ``scalar_op`` is the scalar op applied to every element."""

    inplace_pattern: dict[int, int] = {}

    @property
    def scalar_op(self) -> ScalarOp:
        """The scalar op (``op.scalar_op.name == 'mul'``; its class is Theano's, ``Mul``)."""
        graphc_name = str.__str__(self)
        if graphc_name == "cast":
            return _scalar("Cast", f"convert_to_{self.attrs['dtype']}")
        if graphc_name in _NAMED_ELEMWISE:
            return _scalar(*_NAMED_ELEMWISE[graphc_name])
        name, cls = _ELEMWISE.get(graphc_name, (graphc_name, graphc_name.title()))
        return _scalar(cls, name)

    def _theano_name(self) -> str:
        graphc_name = str.__str__(self)
        if graphc_name == "cast":
            return f"Elemwise{{Cast{{{self.attrs['dtype']}}}}}"
        if graphc_name in _NAMED_ELEMWISE:
            return graphc_name
        return f"Elemwise{{{_ELEMWISE.get(graphc_name, (graphc_name,))[0]},no_inplace}}"


class DimShuffle(Op):
    """Theano's ``DimShuffle``: ``new_order`` lists the input axis of each output axis, ``'x'`` for a new one."""

    inplace = False

    @property
    def input_broadcastable(self) -> tuple[bool, ...]:
        """The input's broadcastable pattern."""
        return self.in_types[0].broadcastable if self.in_types else ()

    @property
    def new_order(self) -> tuple[Any, ...]:
        """Theano's ``new_order`` (``('x', 0)`` for ``v.dimshuffle('x', 0)``)."""
        graphc_name, n = str.__str__(self), self._ndim()
        if graphc_name == "transpose":
            return tuple(self.attrs["perm"])
        if graphc_name == "squeeze":
            return tuple(i for i in range(n) if i not in self.attrs["axes"])
        axes, inputs = set(self.attrs["axes"]), iter(range(n))
        return tuple("x" if k in axes else next(inputs) for k in range(n + len(axes)))

    def _theano_name(self) -> str:
        return "DimShuffle{" + ",".join(str(a) for a in self.new_order) + "}"


class CAReduce(Op):
    """Theano's reductions (``Sum``, ``Prod``, ``Max``...): ``axis`` (None: all) and ``scalar_op``."""

    _scalar_op = ("Add", "add")

    @property
    def axis(self) -> tuple[int, ...] | None:
        """The reduced axes, None for all of them."""
        axes = self.attrs.get("axes")
        return None if axes is None else tuple(axes)

    @property
    def scalar_op(self) -> ScalarOp:
        """The scalar op that combines two elements."""
        return _scalar(*self._scalar_op)

    @property
    def acc_dtype(self) -> str:
        """The accumulation dtype, as Theano chose it (float64 for float64, int64 for integers...)."""
        dtype = self._dtype()
        return dtype if dtype.startswith("float") else ("uint64" if dtype.startswith("uint") else "int64")

    def _theano_name(self) -> str:
        axis = "" if self.axis is None else "axis=[" + ", ".join(str(a) for a in self.axis) + "], "
        return f"{type(self).__name__}{{{axis}acc_dtype={self.acc_dtype}}}"


class Sum(CAReduce):
    """Theano's ``Sum``."""


class Prod(CAReduce):
    """Theano's ``Prod``."""

    _scalar_op = ("Mul", "mul")


class Max(CAReduce):
    """Theano's ``Max``."""

    _scalar_op = ("Maximum", "maximum")


class Min(CAReduce):
    """Theano's ``Min``."""

    _scalar_op = ("Minimum", "minimum")


class Mean(CAReduce):
    """Theano's ``Mean``."""


def _plain(class_name: str, doc: str, name: Any = None) -> type[Op]:
    """An :class:`Op` class named ``class_name``; ``name`` gives Theano's name from the op (default: the class name)."""
    body: dict[str, Any] = {"__doc__": doc, "__module__": __name__}
    if name is not None:
        body["_theano_name"] = name
    return type(class_name, (Op,), body)


Argmax = _plain("Argmax", "Theano's ``Argmax``.")
Argmin = _plain("Argmin", "Theano's ``Argmin`` (an ``Argmax`` of the negation in Theano).")
Dot = _plain("Dot", "Theano's ``Dot`` (``T.dot``).", lambda self: "dot")
Subtensor = _plain("Subtensor", "Theano's ``Subtensor`` (basic indexing: ints and slices).")
AdvancedSubtensor1 = _plain("AdvancedSubtensor1", "Theano's ``AdvancedSubtensor1`` (``x[int_vector]``).")
AdvancedSubtensor = _plain("AdvancedSubtensor", "Theano's ``AdvancedSubtensor`` (several integer arrays).")
AdvancedIncSubtensor1 = _plain("AdvancedIncSubtensor1", "Theano's ``AdvancedIncSubtensor1``.")
AdvancedIncSubtensor = _plain("AdvancedIncSubtensor", "Theano's ``AdvancedIncSubtensor``.")
Reshape = _plain("Reshape", "Theano's ``Reshape``.", lambda self: f"Reshape{{{self.in_types[1].shape[0]}}}" if len(self.in_types) > 1 else "Reshape")
Join = _plain("Join", "Theano's ``Join`` (``T.concatenate``).")
Shape = _plain("Shape", "Theano's ``Shape``.")
Alloc = _plain("Alloc", "Theano's ``Alloc`` (``T.zeros``, ``T.alloc``, broadcasting to a shape).")
ARange = _plain("ARange", "Theano's ``ARange``.", lambda self: f"ARange{{dtype={self._dtype()}}}")
Softmax = _plain("Softmax", "Theano's ``Softmax``.")
LogSoftmax = _plain("LogSoftmax", "Theano's ``LogSoftmax``.")
Scan = _plain("Scan", "Theano's ``Scan``.", lambda self: f"for{{cpu,{self.attrs.get('name') or 'scan_fn'}}}")
AbstractConv2d = _plain("AbstractConv2d", "Theano's ``AbstractConv2d``.")
AbstractConv2d_gradInputs = _plain("AbstractConv2d_gradInputs", "Theano's ``AbstractConv2d_gradInputs``.")  # noqa: N816
Pool = _plain("Pool", "Theano's ``Pool`` (``pool_2d``).")
GradClip = _plain("GradClip", "Theano's ``GradClip`` (``theano.gradient.grad_clip``).")

_CLASSES: dict[str, type[Op]] = {
    **dict.fromkeys([*_ELEMWISE, *_NAMED_ELEMWISE, "cast"], Elemwise),
    **dict.fromkeys(["transpose", "expand_dims", "squeeze"], DimShuffle),
    "reduce_sum": Sum, "reduce_prod": Prod, "reduce_max": Max, "reduce_min": Min, "reduce_mean": Mean,
    "argmax": Argmax, "argmin": Argmin, "matmul": Dot, "take": AdvancedSubtensor1,
    "take_along_axis": AdvancedSubtensor, "take_grad": AdvancedIncSubtensor1,
    "take_along_axis_grad": AdvancedIncSubtensor, "reshape": Reshape, "concat": Join, "shape": Shape,
    "full": Alloc, "expand": Alloc, "arange": ARange, "softmax": Softmax, "log_softmax": LogSoftmax,
    "scan": Scan, "scan_until": Scan, "conv": AbstractConv2d, "conv_transpose": AbstractConv2d_gradInputs,
    "max_pool": Pool, "avg_pool": Pool, "grad_clip": GradClip,
}  # fmt: skip


def theano_op(graphc_name: str, attrs: dict[str, Any] | None = None, in_types: tuple[Any, ...] = ()) -> Op:
    """The :class:`Op` for graphc's op ``graphc_name`` applied with ``attrs`` to inputs of ``in_types``.

    Parameters
    ----------
    graphc_name : str
        The registry name (``'mul'``).
    attrs : dict, optional
    in_types : tuple of graphc.ir.types.TensorType

    Returns
    -------
    Op
        Equal to ``graphc_name``; of Theano's class for it (:class:`Op` itself for ops
        Theano did not have, such as ``lstm``).
    """
    name = str.__str__(graphc_name) if isinstance(graphc_name, str) else graphc_name
    cls = _CLASSES.get(name, Op)
    if name == "getitem":
        cls = Subtensor
    return cls(name, attrs, in_types)
