"""The names and versions of the theanets model file format (shared by the writer and the checkers)."""

__all__ = ["SPEC_KEY", "FORMAT", "VERSION"]

SPEC_KEY = "__graphc_model__"
"""The array holding a model file's JSON description."""
FORMAT = "graphc.theanets-model"
"""The ``format`` entry of the description."""
VERSION = 1
"""The format version this graphc writes and reads."""
