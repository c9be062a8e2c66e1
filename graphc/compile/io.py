"""``theano.compile.io``: :class:`In`, the description of one input of a compiled function."""

from ..runtime.inputs_spec import In

__all__ = ["In"]
