"""Reading a timeslice file in chunks (TimesliceChunks) and writing predictions chunk by chunk."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from hit_tables import make_hit_columns
from gann_core.errors import InputFileError
from gann_core.io import TimesliceChunks, pairs_path, read_pairs, read_timeslices, write_prediction_chunks


def joined(chunks):
    """Columns of several tables joined end to end."""
    return {name: np.concatenate([chunk.columns[name] for chunk in chunks]) for name in chunks[0].columns}


def assert_same_columns(actual, expected):
    assert set(actual) == set(expected)
    for name in expected:
        np.testing.assert_array_equal(actual[name], expected[name], err_msg=name)


def test_chunks_equal_whole_read(write_parquet, monkeypatch):
    # Record batches of 7 rows cut timeslices (of 12 rows) in the middle.
    monkeypatch.setattr(TimesliceChunks, "BATCH_ROWS", 7)
    columns = make_hit_columns(n_timeslices=7, tracks_per_timeslice=3, hits_per_track=4)
    path = write_parquet(columns)
    reader = TimesliceChunks(path, timeslices_per_chunk=3)

    chunks = list(reader)

    assert reader.n_timeslices == 7
    assert [chunk.n_timeslices for chunk in chunks] == [3, 3, 1]
    assert_same_columns(joined(chunks), read_timeslices(path).columns)


def test_unsorted_file_is_read_whole(write_parquet):
    columns = make_hit_columns(n_timeslices=5, tracks_per_timeslice=2, hits_per_track=4)
    order = np.random.default_rng(3).permutation(len(columns["x"]))
    path = write_parquet({name: values[order] for name, values in columns.items()})
    reader = TimesliceChunks(path, timeslices_per_chunk=2)
    assert reader.n_timeslices is None

    chunks = list(reader)

    assert reader.n_timeslices == 5
    assert [chunk.n_timeslices for chunk in chunks] == [2, 2, 1]
    assert_same_columns(joined(chunks), read_timeslices(path).columns)


def test_file_without_timeslice_id_is_one_chunk(write_parquet):
    columns = make_hit_columns(n_timeslices=1, tracks_per_timeslice=4)
    del columns["timeslice_id"]

    chunks = list(TimesliceChunks(write_parquet(columns), timeslices_per_chunk=2))

    assert len(chunks) == 1
    assert chunks[0].n_tracks == 4


def test_bad_value_names_file_row(write_parquet, monkeypatch):
    monkeypatch.setattr(TimesliceChunks, "BATCH_ROWS", 5)
    columns = make_hit_columns(n_timeslices=6, tracks_per_timeslice=2, hits_per_track=4)
    columns["z"][41] = np.nan
    path = write_parquet(columns)

    with pytest.raises(InputFileError, match="column 'z' has NaN or infinite values in 1 row") as whole:
        read_timeslices(path)
    with pytest.raises(InputFileError) as chunked:
        list(TimesliceChunks(path, timeslices_per_chunk=2))
    assert "(first: row 41," in str(chunked.value)
    assert str(chunked.value) == str(whole.value)


def test_short_tracks_warned_once(write_parquet, caplog):
    columns = make_hit_columns(n_timeslices=6, tracks_per_timeslice=2, hits_per_track=4)
    # Timeslice 1 loses 2 hits of track 0 (rows 8..11). Timeslice 4 keeps 2 hits per track (rows 32..39).
    keep = np.ones(len(columns["x"]), dtype=bool)
    keep[[10, 11, 34, 35, 38, 39]] = False
    path = write_parquet({name: values[keep] for name, values in columns.items()})

    with caplog.at_level(logging.WARNING, logger="gann_core.io"):
        chunks = list(TimesliceChunks(path, timeslices_per_chunk=2))

    assert sum(chunk.n_tracks for chunk in chunks) == 9
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 2
    assert "dropped 3 of 12 tracks with fewer than min_hits=3 hits (timeslice/track 1/0, 4/0, 4/1)" in messages[0]
    assert "dropped 1 timeslice(s)" in messages[1]
    assert "timeslice_id 4" in messages[1]


def test_all_short_tracks_raise(write_parquet):
    columns = make_hit_columns(n_timeslices=4, tracks_per_timeslice=2, hits_per_track=2)
    reader = TimesliceChunks(write_parquet(columns), timeslices_per_chunk=2)
    with pytest.raises(InputFileError, match=r"every track has fewer than min_hits=3 hits \(the longest has 2\)"):
        list(reader)


def test_missing_file_raises_at_once(tmp_path):
    with pytest.raises(InputFileError, match="file not found"):
        TimesliceChunks(tmp_path / "none.parquet", timeslices_per_chunk=2)


def prediction_chunks(tables):
    """(table, pairs) chunks with one made-up scored pair per timeslice."""
    for table in tables:
        first = table.slice_track_offsets[:-1]
        pairs = {
            "timeslice_id": table.timeslice_ids,
            "track_a": table.track_ids[first],
            "track_b": table.track_ids[first + 1],
            "score": np.full(table.n_timeslices, 0.75),
        }
        yield table.with_columns(event_pred=np.zeros(table.n_hits, dtype=np.int64)), pairs


def test_prediction_chunks_written_together(write_parquet, tmp_path):
    path = write_parquet(make_hit_columns(n_timeslices=5, tracks_per_timeslice=2, hits_per_track=4))
    out = tmp_path / "out.parquet"

    write_prediction_chunks(out, prediction_chunks(TimesliceChunks(path, timeslices_per_chunk=2)))

    again = read_timeslices(out)
    assert again.n_timeslices == 5
    np.testing.assert_array_equal(again.columns["event_pred"], 0)
    pairs = read_pairs(out)
    np.testing.assert_array_equal(pairs["timeslice_id"], np.arange(5))
    np.testing.assert_array_equal(pairs["score"], 0.75)
    assert sorted(item.name for item in tmp_path.iterdir()) == ["hits.parquet", "out.pairs.parquet", "out.parquet"]


def test_failed_chunk_leaves_old_files(write_parquet, tmp_path):
    path = write_parquet(make_hit_columns(n_timeslices=5, tracks_per_timeslice=2, hits_per_track=4))
    out = tmp_path / "out.parquet"
    write_prediction_chunks(out, prediction_chunks(TimesliceChunks(path, timeslices_per_chunk=5)))
    before = (out.read_bytes(), pairs_path(out).read_bytes())

    def failing():
        for index, item in enumerate(prediction_chunks(TimesliceChunks(path, timeslices_per_chunk=2))):
            if index == 2:
                raise RuntimeError("scoring failed")
            yield item

    with pytest.raises(RuntimeError, match="scoring failed"):
        write_prediction_chunks(out, failing())

    assert (out.read_bytes(), pairs_path(out).read_bytes()) == before
    assert sorted(item.name for item in tmp_path.iterdir()) == ["hits.parquet", "out.pairs.parquet", "out.parquet"]


def test_reader_rejects_zero_chunk_size(write_parquet):
    with pytest.raises(ValueError, match="timeslices_per_chunk=0 is invalid"):
        TimesliceChunks(write_parquet(make_hit_columns()), timeslices_per_chunk=0)


def test_reading_in_chunks_keeps_arrow_memory_flat(tmp_path, monkeypatch):
    import pyarrow as pa
    import pyarrow.parquet as pq

    monkeypatch.setattr(TimesliceChunks, "BATCH_ROWS", 1000)
    # 40 row groups of 2,000 rows, about 4.5 MB of decoded data in all.
    columns = make_hit_columns(n_timeslices=400, tracks_per_timeslice=10, hits_per_track=20)
    path = tmp_path / "many_row_groups.parquet"
    table = pa.table(columns)
    decoded_bytes = table.nbytes
    pq.write_table(table, path, row_group_size=2000)
    del table
    before = pa.total_allocated_bytes()
    largest = 0
    for chunk in TimesliceChunks(path, timeslices_per_chunk=20):
        largest = max(largest, pa.total_allocated_bytes() - before)
        assert chunk.n_timeslices == 20
    # pyarrow's pre-buffering kept every row group read so far, about the whole file by the end.
    assert largest < decoded_bytes / 4
