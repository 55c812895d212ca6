"""Exceptions for a user's mistakes: each message names the file, column or value and the fix.

:func:`counted` writes counts in messages and summaries.
"""

from gann_core.table import TimesliceError


class GannError(Exception):
    """Base class of errors the ``gann`` command prints as one line, without a traceback."""


class InputFileError(GannError, TimesliceError):
    """An input file that cannot be read as a timeslice table (or TrackML event)."""


class ModelFileError(GannError, ValueError):
    """A model file that is missing, corrupted or not a GANN model."""


class ConfigError(GannError, ValueError):
    """A parameter value outside what GANN accepts."""


def counted(number: int, noun: str) -> str:
    """Write '1 row' or 'N rows': the number and the noun, with an s unless the number is 1."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


__all__ = ["GannError", "InputFileError", "ModelFileError", "ConfigError", "TimesliceError", "counted"]
