"""Timeslice files: parquet reading and writing, input checks, and the TrackML importer."""

from gann_core.io.parquet import (
    PAIR_COLUMNS,
    TimesliceChunks,
    check_output_path,
    pairs_path,
    read_pairs,
    read_timeslices,
    write_prediction_chunks,
    write_timeslice_chunks,
    write_timeslices,
)
from gann_core.io.trackml import find_trackml_files, read_trackml_event, timeslices_from_trackml
from gann_core.io.validate import COLUMN_ALIASES, DEFAULT_MIN_HITS, validate_columns

__all__ = [
    "COLUMN_ALIASES",
    "DEFAULT_MIN_HITS",
    "PAIR_COLUMNS",
    "TimesliceChunks",
    "check_output_path",
    "find_trackml_files",
    "pairs_path",
    "read_pairs",
    "read_timeslices",
    "read_trackml_event",
    "timeslices_from_trackml",
    "validate_columns",
    "write_prediction_chunks",
    "write_timeslice_chunks",
    "write_timeslices",
]
