"""Update rules for training (Lasagne's ``lasagne.updates``).

Every rule takes a scalar loss expression or a list of gradient expressions
and a list of shared variables, and returns an ``OrderedDict`` mapping each
shared variable (the parameters and the optimizer state the rule creates) to
its new value, ready for ``graphc.function(..., updates=...)``:
:func:`sgd`, :func:`momentum`, :func:`nesterov_momentum`, :func:`adagrad`,
:func:`rmsprop`, :func:`adadelta`, :func:`adam`, :func:`adamax`,
:func:`amsgrad`; from downhill (theanets' optimizers), :func:`rprop` and
:func:`esgd`.  :func:`apply_momentum` and :func:`apply_nesterov_momentum`
add momentum to any updates; :func:`norm_constraint` and
:func:`total_norm_constraint` rescale tensors (max-norm constraints,
gradient clipping by norm).

The optimizer state (velocities, accumulators, Adam's moments and step
counter) is created by each call as shared variables of zeros, with the
dtype and shape of the parameter (the step counter is a ``config.floatX``
scalar), named ``'<param name>.<role>'``.  The updates of a parameter keep
its dtype.  Numeric hyper-parameters are checked when the rule is called;
symbolic ones (a shared learning rate for a schedule) are used as given.

Examples
--------
>>> import numpy as np, graphc, graphc.tensor as T
>>> from graphc.updates import sgd, apply_momentum
>>> w = graphc.shared(np.ones(3), name='w')
>>> updates = apply_momentum(sgd([2 * w], [w], learning_rate=0.1), momentum=0.9)
>>> [v.name for v in updates]
['w', 'w.velocity']
"""

from ._common import get_or_compute_grads
from .adaptive import adadelta, adagrad, adam, adamax, amsgrad, rmsprop
from .constraints import norm_constraint, total_norm_constraint
from .downhill import esgd, rprop
from .gradient_descent import apply_momentum, apply_nesterov_momentum, momentum, nesterov_momentum, sgd

__all__ = [
    "get_or_compute_grads",
    "sgd",
    "apply_momentum",
    "momentum",
    "apply_nesterov_momentum",
    "nesterov_momentum",
    "adagrad",
    "rmsprop",
    "adadelta",
    "adam",
    "adamax",
    "amsgrad",
    "rprop",
    "esgd",
    "norm_constraint",
    "total_norm_constraint",
]
