"""Exceptions for a user's mistakes: each message names the file, column or value and the fix."""

from gann_core.table import TimesliceError


class GannError(Exception):
    """Base class of errors the ``gann`` command prints as one line, without a traceback."""


class InputFileError(GannError, TimesliceError):
    """An input file that cannot be read as a timeslice table (or TrackML event)."""


class ModelFileError(GannError, ValueError):
    """A model file that is missing, corrupted or not a GANN model."""


class ConfigError(GannError, ValueError):
    """A parameter value outside what GANN accepts."""


__all__ = ["GannError", "InputFileError", "ModelFileError", "ConfigError", "TimesliceError"]
