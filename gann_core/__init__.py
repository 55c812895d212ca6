"""GANN core: timeslice simulation, IO, graphs, model, training, inference, assembly, metrics."""

from gann_core.errors import ConfigError, GannError, InputFileError, ModelFileError
from gann_core.table import FAKE_EVENT_ID, Timeslices, TimesliceError, concat_timeslices

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "FAKE_EVENT_ID",
    "GannError",
    "InputFileError",
    "ModelFileError",
    "Timeslices",
    "TimesliceError",
    "concat_timeslices",
]
