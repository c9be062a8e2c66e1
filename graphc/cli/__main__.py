"""``python -m graphc.cli``: the ``graphc`` command."""

from . import exit_process, main

exit_process(main())
