"""Read and write timeslice tables and scored track pairs as parquet files.

A timeslice file has one row per hit (columns ``x, y, z, track_id`` and optionally
``event_id, timeslice_id, t`` and any others, which pass through unchanged). Scored track
pairs go to a sibling file, ``<stem>.pairs.parquet`` next to ``<stem>.parquet``, with one
row per pair: ``timeslice_id, track_a, track_b, score`` and ``same_event`` when the truth
is known. Both files are written atomically: to a temporary file in the same folder first,
then moved over the target with :func:`os.replace`.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path
from typing import Iterable, Iterator, Mapping, Union

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from gann_core.errors import ConfigError, InputFileError
from gann_core.io.validate import (
    DEFAULT_MIN_HITS,
    ShortTracks,
    arrow_to_numpy,
    check_and_sort,
    check_column_types,
    check_min_hits,
    check_parquet_file,
    numpy_to_arrow,
    rename_aliases,
    table_to_columns,
    validate_columns,
)
from gann_core.table import Timeslices

logger = logging.getLogger(__name__)

PathLike = Union[str, os.PathLike]

# Required columns of a pairs table, one row per scored track pair.
PAIR_COLUMNS = ("timeslice_id", "track_a", "track_b", "score")
PAIRS_SUFFIX = ".pairs.parquet"


def read_timeslices(path_or_paths: PathLike | Iterable[PathLike], *, min_hits: int = DEFAULT_MIN_HITS) -> Timeslices:
    """Read one or more timeslice parquet files into one sorted :class:`Timeslices` table.

    Columns ``trid`` and ``evid`` are renamed to ``track_id`` and ``event_id``. A file
    without ``timeslice_id`` is one timeslice with id 0. Tracks with fewer than
    ``min_hits`` hits are dropped with a logged warning, because fitting a helix needs
    3 hits, and timeslices left without tracks are dropped the same way.

    With several files, the files must have the same columns. The first file keeps its
    ``timeslice_id`` values, and the ids of each further file are shifted by a constant so
    that its smallest id is one more than the largest id so far. Ids stay distinct, and
    the order of timeslices within a file is kept.

    Raises :class:`~gann_core.errors.InputFileError` naming the file for a missing,
    unreadable, truncated or non-parquet file and for invalid data (see
    :mod:`gann_core.io.validate`).
    """
    check_min_hits(min_hits)
    paths = _as_paths(path_or_paths)
    parts = [_read_file(path, min_hits) for path in paths]
    if len(parts) == 1:
        return parts[0]
    return _join_files(parts, paths)


class TimesliceChunks:
    """Whole timeslices of one parquet file, read, checked and sorted a chunk at a time.

    Iterating yields :class:`Timeslices` tables of ``timeslices_per_chunk`` timeslices in
    file order, with the checks of :func:`read_timeslices` (row numbers in messages count
    from the start of the file, and dropped short tracks give one warning at the end). Only
    about one chunk of the file is in memory at a time, besides the first row of each
    timeslice.

    That needs the rows of each timeslice to be contiguous and the ids non-decreasing, as
    GANN writes them. A file with timeslices in another order, or without ``timeslice_id``,
    is read whole on iteration instead, then cut into chunks.

    ``n_timeslices`` is the number of timeslices in the file before short tracks are
    dropped.
    """

    #: Rows per record batch read from the file.
    BATCH_ROWS = 65536

    def __init__(self, path: PathLike, *, timeslices_per_chunk: int, min_hits: int = DEFAULT_MIN_HITS):
        check_min_hits(min_hits)
        if timeslices_per_chunk < 1:
            raise ValueError(f"timeslices_per_chunk={timeslices_per_chunk} is invalid; expected 1 or more.")
        self.path = Path(path)
        self.timeslices_per_chunk = timeslices_per_chunk
        self.min_hits = min_hits
        check_parquet_file(self.path)
        starts = None
        try:
            parquet = _open_parquet(self.path)
            if parquet.schema_arrow.names.count("timeslice_id") == 1:
                # The ids are read a record batch at a time, so this pass keeps no column of the whole file.
                ids = parquet.iter_batches(batch_size=self.BATCH_ROWS, columns=["timeslice_id"], use_threads=False)
                starts = _timeslice_starts(batch.column(0) for batch in ids)
        except (pa.ArrowException, OSError):
            # Iteration then reads the file whole, which raises the error that names the problem.
            starts = None
        self.n_timeslices = None if starts is None else len(starts)
        self._chunk_ends = (
            None if starts is None else np.append(starts[timeslices_per_chunk::timeslices_per_chunk], parquet.metadata.num_rows)
        )

    def __iter__(self) -> Iterator[Timeslices]:
        if self._chunk_ends is None:
            table = read_timeslices(self.path, min_hits=self.min_hits)
            self.n_timeslices = table.n_timeslices
            for lo in range(0, table.n_timeslices, self.timeslices_per_chunk):
                yield table.select(slice(lo, lo + self.timeslices_per_chunk))
            return

        source = str(self.path)
        dropped = ShortTracks(source, self.min_hits)
        produced = 0
        for first_row, table in self._row_chunks():
            columns = _checked_columns(table, source, first_row=first_row)
            chunk = dropped.drop(check_and_sort(columns, source=source, first_row=first_row))
            if chunk is not None:
                produced += 1
                yield chunk
        dropped.log()
        if produced == 0:
            raise dropped.nothing_left_error()

    def _row_chunks(self) -> Iterator[tuple[int, pa.Table]]:
        """Yield (first row, table) for each chunk's run of rows, reading record batches in order."""
        try:
            # The scoring of earlier chunks runs on the other cores meanwhile, so decoding in
            # this thread alone was faster than with pyarrow's own threads (gann bench, 2 cores).
            batches = _open_parquet(self.path).iter_batches(batch_size=self.BATCH_ROWS, use_threads=False)
            pending: list[pa.RecordBatch] = []
            pending_rows = 0
            first_row = 0
            ends = iter(self._chunk_ends)
            end = next(ends)
            for batch in batches:
                pending.append(batch)
                pending_rows += batch.num_rows
                while end is not None and first_row + pending_rows >= end:
                    table = pa.Table.from_batches(pending)
                    take = end - first_row
                    yield first_row, table.slice(0, take)
                    pending = table.slice(take).to_batches()
                    pending_rows -= take
                    first_row = end
                    end = next(ends, None)
        except (pa.ArrowException, OSError) as error:
            raise _unreadable(self.path, error) from error


def _open_parquet(path: Path) -> pq.ParquetFile:
    """Open ``path`` for reading a record batch at a time.

    With its default pre-buffering, pyarrow (26.0) kept the data of every row group read so
    far until the iteration ended. Reading a 320 MB file of 10,000 SPD-like timeslices grew
    the arrow memory pool to 307 MB that way, against a flat 2 MB with ``pre_buffer=False``,
    which was no slower.
    """
    return pq.ParquetFile(path, pre_buffer=False)


def _timeslice_starts(pieces: Iterable[pa.Array]) -> np.ndarray | None:
    """Return the first row of each timeslice when the ids are integers that never decrease, else None.

    ``pieces`` are the ``timeslice_id`` column in order, in pieces of any length (record
    batches or a column's chunks), so no array of the whole column is needed.
    """
    starts = [np.zeros(1, dtype=np.int64)]
    offset = 0
    previous = None
    for piece in pieces:
        if not pa.types.is_integer(piece.type) or piece.null_count:
            return None
        values = arrow_to_numpy(piece)
        if len(values) == 0:
            continue
        if previous is not None and values[0] != previous:
            if values[0] < previous:
                return None
            starts.append(np.array([offset], dtype=np.int64))
        changes = values[1:] != values[:-1]
        if np.any(values[1:][changes] < values[:-1][changes]):
            return None
        starts.append(np.flatnonzero(changes) + 1 + offset)
        offset += len(values)
        previous = values[-1]
    return np.concatenate(starts) if offset else None


def _as_paths(path_or_paths: PathLike | Iterable[PathLike]) -> list[Path]:
    if isinstance(path_or_paths, (str, os.PathLike)):
        return [Path(path_or_paths)]
    paths = [Path(path) for path in path_or_paths]
    if not paths:
        raise ConfigError("no timeslice file given, so pass at least one .parquet path.")
    return paths


def _read_file(path: Path, min_hits: int) -> Timeslices:
    source = str(path)
    check_parquet_file(path)
    columns = _checked_columns(_read_parquet(path), source)
    if "timeslice_id" not in columns:
        logger.info(
            "%s: no timeslice_id column, so all %d rows are read as one timeslice "
            "(add timeslice_id if the file holds several, since track_id only needs to be unique within one).",
            source, len(columns["x"]),
        )
    return validate_columns(columns, source=source, min_hits=min_hits)


def _checked_columns(table: pa.Table, source: str, *, first_row: int = 0) -> dict[str, np.ndarray]:
    """Rename the column aliases, check the column types and convert the columns to numpy."""
    table = rename_aliases(table, source)
    check_column_types(table, source, first_row=first_row)
    return table_to_columns(table, source, first_row=first_row)


def _read_parquet(path: Path) -> pa.Table:
    # ParquetFile.read, unlike pq.read_table, does not go through pyarrow.dataset, which
    # rejects duplicate column names before GANN can name them in a clear error.
    try:
        return pq.ParquetFile(path).read()
    except (pa.ArrowException, OSError) as error:
        raise _unreadable(path, error) from error


def _unreadable(path: Path, error: Exception) -> InputFileError:
    """Build the error for a file that pyarrow cannot read as parquet, with the first line of its reason."""
    reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return InputFileError(f"{path}: cannot be read as parquet ({reason}), so write the file again.")


def _join_files(parts: list[Timeslices], paths: list[Path]) -> Timeslices:
    names = list(parts[0].columns)
    for part, path in zip(parts[1:], paths[1:]):
        if set(part.columns) != set(names):
            raise InputFileError(
                f"{path}: has columns {', '.join(part.columns)} but {paths[0]} has {', '.join(names)}, "
                "so read files with the same columns together."
            )

    shifted_ids = []
    next_id = int(parts[0].columns["timeslice_id"][0])
    for part in parts:
        ids = part.columns["timeslice_id"]
        # Parts are sorted by timeslice_id, so the first and last rows hold the smallest and largest id.
        shifted = ids + (next_id - ids[0])
        shifted_ids.append(shifted)
        next_id = int(shifted[-1]) + 1

    columns = {name: np.concatenate([part.columns[name] for part in parts]) for name in names}
    columns["timeslice_id"] = np.concatenate(shifted_ids)
    return Timeslices.from_columns(columns, source=", ".join(map(str, paths)))


def write_timeslices(path: PathLike, table: Timeslices, pairs: Mapping[str, np.ndarray] | None = None) -> None:
    """Write a timeslice table, and optionally its scored track pairs, as parquet files.

    The table goes to ``path`` with all its columns (a predictions table is the hit table
    plus ``event_pred``). ``pairs`` maps ``timeslice_id, track_a, track_b, score`` (and
    ``same_event`` when truth is known, plus any extra columns) to equal-length arrays, one
    row per scored pair. It goes to :func:`pairs_path` ``(path)``. Without ``pairs``, a
    pairs file left there by an earlier write is removed, since it would not match the
    new table.

    Each file is first written to a temporary file in the target folder and then moved
    into place with :func:`os.replace`, so a failed write leaves no partial file. If the
    second of the two moves fails, the pairs file is new and the table file old.
    """
    path = Path(path)
    if not isinstance(table, Timeslices):
        raise TypeError(f"table must be a Timeslices table, got {type(table).__name__}.")
    check_output_path(path)

    hits = _hits_to_arrow(table)
    pairs_table = _pairs_to_arrow(pairs) if pairs is not None else None
    sibling = pairs_path(path)

    temporary_files = []
    try:
        temporary_table = _write_temporary(hits, path)
        temporary_files.append(temporary_table)
        if pairs_table is not None:
            temporary_pairs = _write_temporary(pairs_table, sibling)
            temporary_files.append(temporary_pairs)
            os.replace(temporary_pairs, sibling)
        elif sibling.exists():
            sibling.unlink()
            logger.info("removed %s, the pairs of an earlier table written to %s", sibling, path)
        os.replace(temporary_table, path)
    finally:
        for temporary in temporary_files:
            temporary.unlink(missing_ok=True)


def write_timeslice_chunks(path: PathLike, chunks: Iterable[Timeslices]) -> None:
    """Write tables with the same columns one after another into one parquet file.

    Only one chunk is in memory at a time. The chunks' timeslice ids must not overlap, and
    rows stay in chunk order. As with :func:`write_timeslices`, the file is written to a
    temporary file and moved into place at the end, and a stale pairs file is removed.
    """
    _write_chunks(Path(path), ((chunk, None) for chunk in chunks), with_pairs=False)


def write_prediction_chunks(path: PathLike, chunks: Iterable[tuple[Timeslices, Mapping[str, np.ndarray]]]) -> None:
    """Write (table, pairs) chunks into a timeslice file and its pairs file, chunk after chunk.

    Each chunk is a table and its scored pairs as for :func:`write_timeslices`, for example
    ``(prediction.table, prediction.pairs_table())`` of each result of
    :func:`gann_core.infer.predict_chunks`. Only one chunk is in memory at a time. Both files
    are written to temporary files and moved into place at the end, so an error in any
    chunk leaves neither file behind (nor changes an existing one).
    """
    _write_chunks(Path(path), chunks, with_pairs=True)


def _write_chunks(path: Path, chunks: Iterable[tuple[Timeslices, Mapping[str, np.ndarray] | None]], *, with_pairs: bool) -> None:
    """Write the tables (and, ``with_pairs``, the pairs) of ``chunks`` through temporary files, as the callers describe."""
    check_output_path(path)
    sibling = pairs_path(path)
    targets = [path, sibling] if with_pairs else [path]
    temporaries = [_temporary_path(target) for target in targets]
    writers: list[pq.ParquetWriter | None] = [None] * len(targets)
    try:
        for table, pairs in chunks:
            parts = [_hits_to_arrow(table)]
            if with_pairs:
                parts.append(_pairs_to_arrow(pairs))
            for index, part in enumerate(parts):
                if writers[index] is None:
                    writers[index] = pq.ParquetWriter(temporaries[index], part.schema, use_dictionary=_dictionary_columns(part.schema))
                elif part.schema != writers[index].schema:
                    # A column that is all null in one chunk gets the null type there.
                    part = part.cast(writers[index].schema)
                writers[index].write_table(part)
        if writers[0] is None:
            raise ValueError(f"no timeslices to write to {path}.")
        for index, writer in enumerate(writers):
            writer.close()
            writers[index] = None
        if with_pairs:
            os.replace(temporaries[1], sibling)
        elif sibling.exists():
            sibling.unlink()
            logger.info("removed %s, the pairs of an earlier table written to %s", sibling, path)
        os.replace(temporaries[0], path)
    finally:
        for writer in writers:
            if writer is not None:
                writer.close()
        for temporary in temporaries:
            temporary.unlink(missing_ok=True)


def _write_temporary(table: pa.Table, target: Path) -> Path:
    """Write ``table`` to a hidden temporary file next to ``target``, removing it on failure."""
    temporary = _temporary_path(target)
    try:
        pq.write_table(table, temporary, use_dictionary=_dictionary_columns(table.schema))
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return temporary


def _temporary_path(target: Path) -> Path:
    """Return a hidden, unique temporary file name in the folder of ``target``."""
    return target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


def _hits_to_arrow(table: Timeslices) -> pa.Table:
    """Convert every column of a timeslice table to an arrow table."""
    return pa.table({name: numpy_to_arrow(values) for name, values in table.columns.items()})


def _dictionary_columns(schema: pa.Schema) -> list[str]:
    """Columns to write with dictionary encoding: all but the floating-point ones.

    Ids, layers and flags repeat and shrink well in a dictionary. Coordinates rarely repeat,
    so trying a dictionary on them only costs time. Writing 512 simulated SPD-like
    timeslices took 184 µs per timeslice with dictionaries on every column and 141 µs
    without them on float columns. The file was 6 % larger (one-off timing, 2 CPU cores).
    """
    return [field.name for field in schema if not pa.types.is_floating(field.type)]


def check_output_path(path: PathLike, *, example: str = "timeslices.parquet") -> None:
    """Raise an :class:`OSError` with a clear message unless ``path`` can be written.

    Call it before long work (simulation, prediction, training) so that a wrong ``-o``
    fails at once. ``example`` is the file name suggested when ``path`` is a folder.
    """
    path = Path(path)
    folder = path.parent
    if path.is_dir():
        raise IsADirectoryError(f"{path}: is a folder, so give a file name such as {path / example}.")
    if not folder.exists():
        raise FileNotFoundError(f"{path}: the output folder {folder} does not exist, so create it first.")
    if not folder.is_dir():
        raise NotADirectoryError(f"{path}: {folder} is not a folder, so choose another output path.")
    if not os.access(folder, os.W_OK):
        raise PermissionError(f"{path}: the output folder {folder} is not writable, so choose another folder.")


def pairs_path(path: PathLike) -> Path:
    """Return the pairs file that belongs to a timeslice file: ``a/b.parquet`` -> ``a/b.pairs.parquet``."""
    path = Path(path)
    stem = path.name[: -len(".parquet")] if path.name.endswith(".parquet") else path.name
    return path.with_name(stem + PAIRS_SUFFIX)


def _pairs_to_arrow(pairs: Mapping[str, np.ndarray]) -> pa.Table:
    missing = [name for name in PAIR_COLUMNS if name not in pairs]
    if missing:
        raise ValueError(
            f"pairs is missing {', '.join(missing)}, but needs {', '.join(PAIR_COLUMNS)} "
            "(and same_event when truth is known)."
        )
    columns = {name: np.asarray(values) for name, values in pairs.items()}
    lengths = {name: len(values) for name, values in columns.items()}
    if len(set(lengths.values())) > 1:
        listed = ", ".join(f"{name}={length}" for name, length in lengths.items())
        raise ValueError(f"pairs columns must have equal lengths, got {listed}.")

    for name in ("timeslice_id", "track_a", "track_b"):
        columns[name] = columns[name].astype(np.int64, copy=False)
    columns["score"] = columns["score"].astype(np.float64, copy=False)
    if "same_event" in columns:
        columns["same_event"] = columns["same_event"].astype(bool, copy=False)
    return pa.table({name: numpy_to_arrow(values) for name, values in columns.items()})


def read_pairs(path: PathLike) -> dict[str, np.ndarray]:
    """Read the scored track pairs of a timeslice file as column name -> numpy array.

    ``path`` is the timeslice file (its sibling ``<stem>.pairs.parquet`` is read) or the
    pairs file itself.
    """
    path = Path(path)
    target = path if path.name.endswith(PAIRS_SUFFIX) else pairs_path(path)
    if not target.exists():
        raise InputFileError(
            f"{target}: pairs file not found next to {path}, so write the pairs with the table "
            "(write_timeslices(..., pairs=...) or `gann predict`)."
        )
    check_parquet_file(target)
    table = _read_parquet(target)

    missing = [name for name in PAIR_COLUMNS if name not in table.column_names]
    if missing:
        raise InputFileError(
            f"{target}: missing pair column(s) {', '.join(missing)}, so write it with write_timeslices(..., pairs=...)."
        )
    return {name: arrow_to_numpy(table.column(name)) for name in table.column_names}
