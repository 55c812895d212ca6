"""Checks that turn a malformed timeslice file into one clear :class:`InputFileError`.

Each error message names the file, the column and the offending value, and gives the fix.
The checks run in the order a file is read:

1. :func:`check_parquet_file`: the path exists, is a readable file and looks like parquet.
2. :func:`check_column_types`: the required columns exist and have numeric types.
3. :func:`check_hit_values`: coordinates are finite and within 1 km, hit times finite, ids whole numbers.
4. :func:`check_track_events`: every track belongs to one collision (one ``event_id``).
5. :func:`drop_short_tracks`: tracks with fewer than ``min_hits`` hits are dropped with a warning.

:func:`validate_columns` runs steps 3 to 5 on numpy columns and builds the
:class:`~gann_core.table.Timeslices`, so the TrackML importer runs the same checks as the
parquet reader.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gann_core.errors import ConfigError, InputFileError, counted
from gann_core.table import REQUIRED_COLUMNS, Timeslices

logger = logging.getLogger(__name__)

# Short column names from the original presentation and the names they stand for.
COLUMN_ALIASES = {"trid": "track_id", "evid": "event_id"}

# Integer id columns: whole numbers, no missing values.
ID_COLUMNS = ("track_id", "event_id", "timeslice_id")

# Float columns that must be finite when present (coordinates in mm, hit time in ns).
FINITE_COLUMNS = ("x", "y", "z", "t")
#: Largest |x|, |y| or |z| accepted, in mm (1 km, far beyond any collider detector). Larger
#: values are corrupt or in another unit, and near 1e154 their squares overflow in the fit.
MAX_ABS_COORDINATE_MM = 1e6

# The helix fit of a track (centre, radius, z0, cot θ) needs at least three hits.
DEFAULT_MIN_HITS = 3

PARQUET_MAGIC = b"PAR1"

# Number of (timeslice, track) ids a warning or an error lists before it ends the list with "...".
_LISTED_IDS = 5

# A decimal number, optionally in scientific notation, as text. Used to count text values
# that are not numbers in a column that should be numeric.
_NUMBER_PATTERN = r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$"


def check_parquet_file(path: Path) -> None:
    """Raise :class:`InputFileError` unless ``path`` is a readable file with parquet magic bytes.

    A parquet file starts and ends with the 4 bytes ``PAR1``. A file that starts with them
    but does not end with them is most likely cut short, for example by an interrupted copy.
    """
    if not path.exists():
        raise InputFileError(f"{path}: file not found, so check the path and the current folder.")
    if path.is_dir():
        raise InputFileError(f"{path}: is a folder, not a parquet file, so pass the .parquet files inside it.")
    try:
        size = path.stat().st_size
        with open(path, "rb") as handle:
            head = handle.read(len(PARQUET_MAGIC))
            if size >= 2 * len(PARQUET_MAGIC):
                handle.seek(-len(PARQUET_MAGIC), os.SEEK_END)
                tail = handle.read(len(PARQUET_MAGIC))
            else:
                tail = b""
    except OSError as error:
        raise InputFileError(f"{path}: cannot be read ({error.strerror or error}), so check its permissions.") from error

    if size == 0:
        raise InputFileError(f"{path}: the file is empty (0 bytes), so write the timeslices again.")
    if head != PARQUET_MAGIC:
        raise InputFileError(
            f"{path}: not a parquet file (it does not start with the parquet magic bytes PAR1), "
            "so convert it with pyarrow.parquet.write_table or `gann import-trackml`."
        )
    if tail != PARQUET_MAGIC:
        raise InputFileError(
            f"{path}: the parquet file is truncated ({size} bytes and no PAR1 footer), "
            "so copy or write it again."
        )


def rename_aliases(table: pa.Table, source: str) -> pa.Table:
    """Rename the short column names ``trid`` and ``evid`` to ``track_id`` and ``event_id``."""
    names = list(table.column_names)
    for alias, name in COLUMN_ALIASES.items():
        if alias not in names:
            continue
        if name in names:
            raise InputFileError(
                f"{source}: has both column '{alias}' and column '{name}', which mean the same thing, "
                "so drop one of them."
            )
        names[names.index(alias)] = name
    return table.rename_columns(names)


def check_column_types(table: pa.Table, source: str, *, first_row: int = 0) -> None:
    """Raise :class:`InputFileError` for missing required columns or non-numeric core columns.

    ``first_row`` is the file row of the table's first row, for the row numbers in messages.
    """
    duplicated = sorted({name for name in table.column_names if table.column_names.count(name) > 1})
    if duplicated:
        raise InputFileError(f"{source}: column(s) {', '.join(duplicated)} appear more than once, so keep one copy.")

    missing = [name for name in REQUIRED_COLUMNS if name not in table.column_names]
    if missing and {"track_a", "track_b", "score"} <= set(table.column_names):
        hits_file = f" ({source[: -len('.pairs.parquet')]}.parquet)" if source.endswith(".pairs.parquet") else ""
        raise InputFileError(
            f"{source}: is a pairs file (one row per scored track pair), not a timeslice file, "
            f"so pass the timeslice or predictions file next to it{hits_file} instead."
        )
    if missing:
        raise InputFileError(
            f"{source}: missing required column(s) {', '.join(missing)} (found: {', '.join(table.column_names)}), "
            "so add them, since every hit needs x, y, z in mm and a track_id (or trid)."
        )
    if table.num_rows == 0:
        raise InputFileError(f"{source}: the file contains no hits (0 rows), so write at least one timeslice to it.")

    for name in FINITE_COLUMNS + ID_COLUMNS:
        if name in table.column_names:
            _check_numeric_type(table.column(name), name, source, first_row)


def _check_numeric_type(column: pa.ChunkedArray, name: str, source: str, first_row: int) -> None:
    kind = column.type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        return
    if pa.types.is_decimal(kind):
        return
    if pa.types.is_null(kind):
        raise InputFileError(f"{source}: column '{name}' contains only missing values, so fill it or drop it.")

    detail = ""
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        is_number = pc.fill_null(pc.match_substring_regex(column, _NUMBER_PATTERN), False)
        bad_rows = np.flatnonzero(~is_number.to_numpy(zero_copy_only=False))
        if len(bad_rows):
            first = bad_rows[0]
            detail = (
                f", and {len(bad_rows)} of {len(column)} rows are not numbers "
                f"(first: row {first_row + first}, value {column[int(first)].as_py()!r})"
            )
    raise InputFileError(
        f"{source}: column '{name}' has type {kind}{detail}, so store it as a numeric "
        f"({'integer' if name in ID_COLUMNS else 'float'}) column."
    )


def table_to_columns(table: pa.Table, source: str, *, first_row: int = 0) -> dict[str, np.ndarray]:
    """Convert every column to a numpy array, raising on missing values in core columns.

    ``first_row`` is the file row of the table's first row, for the row numbers in messages.

    Numeric columns without missing values convert without a copy where pyarrow allows.
    Other columns (strings, lists) become numpy object arrays and pass through unchanged.
    """
    columns = {}
    for name in table.column_names:
        column = table.column(name)
        if name in FINITE_COLUMNS + ID_COLUMNS and column.null_count:
            first = int(np.flatnonzero(pc.is_null(column).to_numpy(zero_copy_only=False))[0])
            raise InputFileError(
                f"{source}: column '{name}' has {column.null_count} missing (null) values, first at row {first_row + first}, "
                "so fill them or drop those hits."
            )
        if pa.types.is_decimal(column.type):
            column = column.cast(pa.float64())
        columns[name] = arrow_to_numpy(column)
    return columns


def arrow_to_numpy(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Convert an arrow column to numpy, without a copy for one chunk of numbers without nulls.

    Such columns are read straight from the arrow buffer. pyarrow's ``to_numpy`` imports
    pandas on first use (about 0.2 s of every command's start-up), so it serves only the
    other columns (several chunks are joined first, which copies them, as ``to_numpy`` does).
    """
    if isinstance(column, pa.ChunkedArray):
        column = column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()
    dtype = _NUMPY_TYPES.get(column.type)
    if dtype is None or column.null_count:
        return column.to_numpy(zero_copy_only=False)
    if len(column) == 0:
        return np.empty(0, dtype=dtype)
    return np.frombuffer(column.buffers()[1], dtype=dtype, count=len(column), offset=column.offset * dtype.itemsize)


def numpy_to_arrow(values: np.ndarray) -> pa.Array:
    """Convert a numpy column to arrow, without a copy for numbers in native byte order (booleans as bits).

    Such columns wrap the numpy buffer. ``pa.array`` imports pandas on first use (see
    :func:`arrow_to_numpy`), so it serves only the other columns.
    """
    if values.ndim == 1 and values.dtype == np.bool_:
        # Arrow stores booleans as bits, lowest bit first.
        return pa.Array.from_buffers(pa.bool_(), len(values), [None, pa.py_buffer(np.packbits(values, bitorder="little"))])
    arrow_type = _ARROW_TYPES.get(values.dtype)
    if arrow_type is None or values.ndim != 1:
        return pa.array(values)
    values = np.ascontiguousarray(values)
    return pa.Array.from_buffers(arrow_type, len(values), [None, pa.py_buffer(values)])


_NUMPY_TYPES = {
    arrow_type: np.dtype(numpy_type)
    for arrow_type, numpy_type in (
        (pa.int8(), np.int8), (pa.int16(), np.int16), (pa.int32(), np.int32), (pa.int64(), np.int64),
        (pa.uint8(), np.uint8), (pa.uint16(), np.uint16), (pa.uint32(), np.uint32), (pa.uint64(), np.uint64),
        (pa.float32(), np.float32), (pa.float64(), np.float64),
    )
}
#: Native-byte-order numpy dtypes and their arrow types.
_ARROW_TYPES = {dtype: arrow_type for arrow_type, dtype in _NUMPY_TYPES.items()}


def check_hit_values(columns: Mapping[str, np.ndarray], source: str, *, first_row: int = 0) -> None:
    """Raise :class:`InputFileError` for invalid coordinates, hit times or ids.

    Coordinates must be finite and within ±``MAX_ABS_COORDINATE_MM``, and hit times finite.

    Ids stored as floats are accepted when every value is a whole number. ``first_row`` is
    the file row of the first value, for the row numbers in messages.
    """
    for name in FINITE_COLUMNS:
        if name not in columns:
            continue
        values = np.asarray(columns[name])
        if values.dtype.kind != "f":
            continue
        bad_rows = np.flatnonzero(~np.isfinite(values))
        if len(bad_rows):
            unit = "ns" if name == "t" else "mm"
            raise InputFileError(
                f"{source}: column '{name}' has NaN or infinite values in {counted(len(bad_rows), 'row')} "
                f"(first: row {first_row + bad_rows[0]}, value {values[bad_rows[0]]}), so drop those hits or give them "
                f"a finite value in {unit}."
            )
        if name == "t":
            continue
        far_rows = np.flatnonzero(np.abs(values) > MAX_ABS_COORDINATE_MM)
        if len(far_rows):
            raise InputFileError(
                f"{source}: column '{name}' has values beyond ±{MAX_ABS_COORDINATE_MM:,.0f} mm (1 km) in "
                f"{counted(len(far_rows), 'row')} (first: row {first_row + far_rows[0]}, value {values[far_rows[0]]:.6g}), "
                "far outside any detector, so check that the coordinates are in mm, or drop those hits."
            )

    for name in ID_COLUMNS:
        if name not in columns:
            continue
        values = np.asarray(columns[name])
        if values.dtype.kind != "f":
            continue
        bad_rows = np.flatnonzero(~np.isfinite(values) | (values != np.round(values)))
        if len(bad_rows):
            raise InputFileError(
                f"{source}: column '{name}' has NaN, infinite or non-whole values in {counted(len(bad_rows), 'row')} "
                f"(first: row {first_row + bad_rows[0]}, value {values[bad_rows[0]]}), so store whole-number ids."
            )


def check_track_events(timeslices: Timeslices, source: str) -> None:
    """Raise :class:`InputFileError` when the hits of one track carry different ``event_id`` values.

    ``timeslices`` must be sorted (as :meth:`Timeslices.from_columns` leaves it).
    """
    if not timeslices.has_truth or timeslices.n_hits < 2:
        return
    event_id = timeslices.columns["event_id"]
    changes = np.flatnonzero(event_id[1:] != event_id[:-1]) + 1
    is_track_start = np.zeros(timeslices.n_hits, dtype=bool)
    is_track_start[timeslices.track_offsets[:-1]] = True
    inside_track = changes[~is_track_start[changes]]
    if len(inside_track) == 0:
        return

    track_index = np.searchsorted(timeslices.track_offsets, inside_track, side="right") - 1
    track_index = np.unique(track_index)
    first_row = inside_track[0]
    first_track = track_index[0]
    timeslice_id = timeslices.columns["timeslice_id"][first_row]
    track_id = timeslices.columns["track_id"][first_row]
    rows = slice(timeslices.track_offsets[first_track], timeslices.track_offsets[first_track + 1])
    events = np.unique(event_id[rows])
    raise InputFileError(
        f"{source}: {len(track_index)} track(s) have hits with different event_id values "
        f"(first: timeslice {timeslice_id}, track {track_id}, event_id {', '.join(map(str, events[:_LISTED_IDS]))}), "
        "so give all hits of a track the event_id of the collision it came from."
    )


def drop_short_tracks(timeslices: Timeslices, min_hits: int, source: str) -> Timeslices:
    """Drop tracks with fewer than ``min_hits`` hits, and then timeslices left with no tracks.

    GANN fits a helix to each track (a circle in x-y and a line in s-z), which needs at
    least three hits, so shorter tracks cannot be scored. Each drop is logged as a warning
    that gives the number of dropped tracks or timeslices and the first few ids. Raises
    :class:`InputFileError` when no track is left.
    """
    dropped = ShortTracks(source, min_hits)
    remaining = dropped.drop(timeslices)
    dropped.log()
    if remaining is None:
        raise dropped.nothing_left_error()
    return remaining


class ShortTracks:
    """Tracks and timeslices dropped for too few hits, counted over one or more tables of one source.

    :meth:`drop` removes them from a table, :meth:`log` warns once about all of them, so a
    file read in chunks gets one warning, as a file read whole does.
    """

    def __init__(self, source: str, min_hits: int):
        self.source = source
        self.min_hits = min_hits
        self.tracks = 0
        self.tracks_seen = 0
        self.listed_tracks: list[str] = []
        self.timeslices = 0
        self.listed_timeslices: list[str] = []
        self.longest = 0

    def drop(self, timeslices: Timeslices) -> Timeslices | None:
        """Return ``timeslices`` without its short tracks and empty timeslices, or None when nothing is left."""
        hits_per_track = timeslices.hits_per_track
        self.tracks_seen += timeslices.n_tracks
        self.longest = max(self.longest, int(hits_per_track.max()) if len(hits_per_track) else 0)
        short = hits_per_track < self.min_hits
        if not short.any():
            return timeslices

        short_index = np.flatnonzero(short)
        track_slice = timeslices.columns["timeslice_id"][timeslices.track_offsets[:-1]]
        track_ids = timeslices.track_ids
        self.tracks += len(short_index)
        room = _LISTED_IDS + 1 - len(self.listed_tracks)
        self.listed_tracks += [f"{track_slice[k]}/{track_ids[k]}" for k in short_index[:room]]
        if short.all():
            self._lost(timeslices.timeslice_ids)
            return None

        keep_rows = np.repeat(~short, hits_per_track)
        columns = {name: values[keep_rows] for name, values in timeslices.columns.items()}
        remaining = Timeslices.from_columns(columns, source=self.source)
        self._lost(np.setdiff1d(timeslices.timeslice_ids, remaining.timeslice_ids))
        return remaining

    def _lost(self, timeslice_ids: np.ndarray) -> None:
        self.timeslices += len(timeslice_ids)
        room = _LISTED_IDS + 1 - len(self.listed_timeslices)
        self.listed_timeslices += [str(value) for value in timeslice_ids[:room]]

    def log(self) -> None:
        """Log one warning for the dropped tracks and one for the dropped timeslices, if any."""
        if self.tracks:
            logger.warning(
                "%s: dropped %d of %d tracks with fewer than min_hits=%d hits (timeslice/track %s), "
                "because fitting a helix to a track needs at least 3 hits.",
                self.source, self.tracks, self.tracks_seen, self.min_hits, _listed(self.listed_tracks),
            )
        if self.timeslices and self.tracks < self.tracks_seen:
            logger.warning(
                "%s: dropped %d timeslice(s) that had only tracks shorter than %d hits (timeslice_id %s).",
                self.source, self.timeslices, self.min_hits, _listed(self.listed_timeslices),
            )

    def nothing_left_error(self) -> InputFileError:
        """Build the error for a source whose every track was too short."""
        return InputFileError(
            f"{self.source}: every track has fewer than min_hits={self.min_hits} hits (the longest has "
            f"{self.longest}), so no track is left, and fitting a helix needs at least 3 hits per track."
        )


def _listed(values: list[str]) -> str:
    """Join the first ``_LISTED_IDS`` values with commas, ending with ", ..." when there are more."""
    more = ", ..." if len(values) > _LISTED_IDS else ""
    return ", ".join(values[:_LISTED_IDS]) + more


def validate_columns(columns: Mapping[str, np.ndarray], *, source: str, min_hits: int = DEFAULT_MIN_HITS) -> Timeslices:
    """Check hit columns, build the sorted table, check tracks and drop tracks that are too short.

    ``columns`` maps column names to numpy arrays (already renamed from ``trid``/``evid``).
    Tracks with fewer than ``min_hits`` hits are dropped with a warning, because the helix
    fit needs 3 hits. A timeslice left with no tracks is dropped with a warning too. A
    timeslice with a single track is kept, and it simply has no track pairs. Track ids only
    need to be unique within a timeslice.

    Raises :class:`InputFileError` naming ``source`` for any problem in the data.
    """
    check_min_hits(min_hits)
    timeslices = check_and_sort(columns, source=source)
    return drop_short_tracks(timeslices, min_hits, source)


def check_and_sort(columns: Mapping[str, np.ndarray], *, source: str, first_row: int = 0) -> Timeslices:
    """Check hit values, build the sorted table and check that each track has one event.

    These are the steps of :func:`validate_columns` before short tracks are dropped.
    """
    check_hit_values(columns, source, first_row=first_row)
    timeslices = Timeslices.from_columns(columns, source=source)
    check_track_events(timeslices, source)
    return timeslices


def check_min_hits(min_hits: int) -> None:
    """Raise :class:`ConfigError` unless ``min_hits`` is a positive integer."""
    if isinstance(min_hits, bool) or not isinstance(min_hits, (int, np.integer)) or min_hits < 1:
        raise ConfigError(f"min_hits must be a positive integer (3 for the helix fit), got {min_hits!r}.")
