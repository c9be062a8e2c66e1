"""``python -m graphc.compat SCRIPT [ARGS...]``: run an unchanged Theano/Lasagne/theanets program."""

import sys

from .runner import run_script

USAGE = (
    "usage: python -m graphc.compat SCRIPT [ARGS...]  (runs SCRIPT with theano, lasagne, theanets aliased to graphc)"
)
if len(sys.argv) < 2:
    print(USAGE, file=sys.stderr)
    sys.exit(2)
if sys.argv[1] in ("-h", "--help"):
    print(USAGE)
    sys.exit(0)
sys.exit(run_script(sys.argv[1], sys.argv[2:]))
