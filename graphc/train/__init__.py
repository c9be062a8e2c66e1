"""``graphc.train``: reverse-mode autodiff (``graphc.grad``) and its per-op gradient rules."""

from .grad import DisconnectedInputError, grad
from .registry import GRAD_RULES, NON_DIFFERENTIABLE, grad_rule, non_differentiable

__all__ = ["grad", "DisconnectedInputError", "GRAD_RULES", "NON_DIFFERENTIABLE", "grad_rule", "non_differentiable"]
