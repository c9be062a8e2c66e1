"""The error the ``graphc`` command reports as one line and exit status 1."""

from __future__ import annotations

__all__ = ["CLIError"]


class CLIError(Exception):
    """A failure the user can fix (a bad path, TARGET, input name or shape), reported without a traceback."""
