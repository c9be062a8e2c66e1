"""Gradient rules by op family; importing registers them."""

from . import (  # noqa: F401
    conv,  # noqa: F401,E402  (convolution and pooling)
    elemwise,
    index,
    linalg,
    nn,
    reduce,
    scan,
    shape,
)
