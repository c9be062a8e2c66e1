"""``python -m graphc.cli``: the ``graphc`` command."""

import sys

from . import main

sys.exit(main())
