"""``graphc.passes``: graph rewrites, one file per pass, run by :class:`PassManager`."""

from .base import Pass
from .canonicalize import CANONICALIZE, canonicalize
from .constant_folding import CONSTANT_FOLDING, constant_folding
from .cse import CSE, cse
from .dce import DCE, dce
from .fuse_dense import FUSE_DENSE, fuse_dense
from .group_gates import GROUP_GATES, group_gates
from .hoist import HOIST, hoist
from .manager import LEVELS, PHASES, PassManager, PassReport, optimize, resolve_level
from .native_rnn import NATIVE_RNN, native_rnn
from .reassociate import REASSOCIATE, reassociate
from .sink import SINK, sink
from .stash import STASH, stash
from .unroll import UNROLL, unroll

__all__ = [
    "Pass",
    "PassManager",
    "PassReport",
    "PHASES",
    "LEVELS",
    "optimize",
    "resolve_level",
    "canonicalize",
    "cse",
    "constant_folding",
    "dce",
    "CANONICALIZE",
    "CSE",
    "CONSTANT_FOLDING",
    "DCE",
    "native_rnn",
    "hoist",
    "HOIST",
    "unroll",
    "fuse_dense",
    "FUSE_DENSE",
    "UNROLL",
    "NATIVE_RNN",
    "reassociate",
    "REASSOCIATE",
    "stash",
    "STASH",
    "sink",
    "SINK",
    "group_gates",
    "GROUP_GATES",
]
