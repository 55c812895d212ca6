"""Malformed timeslice files and the errors and warnings they give (gann_core.io.validate)."""

from __future__ import annotations

import logging

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hit_tables import make_hit_columns
from gann_core.errors import ConfigError, InputFileError
from gann_core.io import read_timeslices


def test_missing_file(tmp_path):
    path = tmp_path / "nothere.parquet"
    with pytest.raises(InputFileError, match="nothere.parquet: file not found"):
        read_timeslices(path)


def test_folder_instead_of_file(tmp_path):
    with pytest.raises(InputFileError, match="is a folder"):
        read_timeslices(tmp_path)


def test_zero_byte_file(tmp_path):
    path = tmp_path / "empty.parquet"
    path.write_bytes(b"")
    with pytest.raises(InputFileError, match=r"empty.parquet: the file is empty \(0 bytes\)"):
        read_timeslices(path)


def test_csv_is_not_parquet(tmp_path):
    path = tmp_path / "hits.parquet"
    path.write_text("x,y,z,track_id\n1,2,3,0\n")
    with pytest.raises(InputFileError, match="hits.parquet: not a parquet file"):
        read_timeslices(path)


def test_truncated_file(write_parquet, hit_columns):
    path = write_parquet(hit_columns)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputFileError, match="hits.parquet: the parquet file is truncated"):
        read_timeslices(path)


def test_corrupted_footer(write_parquet, hit_columns):
    path = write_parquet(hit_columns)
    data = bytearray(path.read_bytes())
    # Keep both PAR1 markers but overwrite the footer metadata in between.
    data[-200:-8] = b"\xff" * 192
    path.write_bytes(bytes(data))
    with pytest.raises(InputFileError, match="hits.parquet: cannot be read as parquet"):
        read_timeslices(path)


def test_unreadable_file(write_parquet, hit_columns):
    path = write_parquet(hit_columns)
    path.chmod(0)
    try:
        with open(path, "rb"):
            pytest.skip("running with permission to read any file (root)")
    except PermissionError:
        pass
    try:
        with pytest.raises(InputFileError, match="cannot be read"):
            read_timeslices(path)
    finally:
        path.chmod(0o644)


def test_read_permission_error(write_parquet, hit_columns, monkeypatch):
    import gann_core.io.validate as validate_module

    def deny(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    path = write_parquet(hit_columns)
    monkeypatch.setattr(validate_module, "open", deny, raising=False)
    with pytest.raises(InputFileError, match=r"hits.parquet: cannot be read \(Permission denied\)"):
        read_timeslices(path)


def test_zero_rows(write_parquet):
    columns = {name: np.zeros(0) for name in ("x", "y", "z")}
    columns["track_id"] = np.zeros(0, dtype=np.int64)
    with pytest.raises(InputFileError, match=r"contains no hits \(0 rows\)"):
        read_timeslices(write_parquet(columns))


@pytest.mark.parametrize("missing", ["x", "y", "z", "track_id"])
def test_missing_required_column(write_parquet, hit_columns, missing):
    columns = dict(hit_columns)
    del columns[missing]
    with pytest.raises(InputFileError, match=f"hits.parquet: missing required column\\(s\\) {missing} "):
        read_timeslices(write_parquet(columns))


def test_both_alias_and_full_name(write_parquet, hit_columns):
    columns = dict(hit_columns)
    columns["trid"] = columns["track_id"]
    with pytest.raises(InputFileError, match="both column 'trid' and column 'track_id'"):
        read_timeslices(write_parquet(columns))


def test_text_coordinates(write_parquet, hit_columns):
    columns = dict(hit_columns)
    x = columns["x"].astype(str).astype(object)
    x[3] = "abc"
    x[5] = "n/a"
    columns["x"] = x
    with pytest.raises(InputFileError) as raised:
        read_timeslices(write_parquet(columns))

    message = str(raised.value)
    assert "column 'x' has type string" in message
    assert "2 of 24 rows are not numbers" in message
    assert "row 3, value 'abc'" in message


def test_boolean_track_id(write_parquet, hit_columns):
    columns = dict(hit_columns)
    columns["track_id"] = columns["track_id"] > 0
    with pytest.raises(InputFileError, match="column 'track_id' has type bool"):
        read_timeslices(write_parquet(columns))


@pytest.mark.parametrize("bad_value", [np.nan, np.inf, -np.inf])
def test_non_finite_coordinates(write_parquet, hit_columns, bad_value):
    columns = dict(hit_columns)
    z = columns["z"].copy()
    z[[7, 9, 11]] = bad_value
    columns["z"] = z
    with pytest.raises(InputFileError) as raised:
        read_timeslices(write_parquet(columns))

    message = str(raised.value)
    assert "column 'z' has NaN or infinite values in 3 rows" in message
    assert "first: row 7" in message


@pytest.mark.parametrize("far_value", [1e300, -2e6])
def test_coordinates_beyond_one_km(write_parquet, hit_columns, far_value):
    import warnings

    columns = dict(hit_columns)
    x = columns["x"].copy()
    x[5] = far_value
    columns["x"] = x
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warning before the error
        with pytest.raises(InputFileError) as raised:
            read_timeslices(write_parquet(columns))

    message = str(raised.value)
    assert "column 'x' has values beyond ±1,000,000 mm (1 km) in 1 row" in message
    assert f"first: row 5, value {far_value:.6g}" in message
    assert "in mm" in message


def test_coordinates_within_one_km_accepted(write_parquet, hit_columns):
    columns = dict(hit_columns)
    z = columns["z"].copy()
    z[3] = -999_999.0
    columns["z"] = z
    assert read_timeslices(write_parquet(columns)).n_hits == len(z)


def test_null_coordinates(write_parquet, hit_columns):
    columns = {name: pa.array(values) for name, values in hit_columns.items()}
    y = hit_columns["y"].tolist()
    y[4] = None
    columns["y"] = pa.array(y)
    with pytest.raises(InputFileError, match=r"column 'y' has 1 missing \(null\) values, first at row 4"):
        read_timeslices(write_parquet(pa.table(columns)))


def test_nan_track_id(write_parquet, hit_columns):
    columns = dict(hit_columns)
    track_id = columns["track_id"].astype(np.float64)
    track_id[2] = np.nan
    columns["track_id"] = track_id
    with pytest.raises(InputFileError, match=r"column 'track_id' has NaN, infinite or non-whole values in 1 row \(first: row 2, value nan"):
        read_timeslices(write_parquet(columns))


def test_null_event_id(write_parquet, hit_columns):
    columns = {name: pa.array(values) for name, values in hit_columns.items()}
    event_id = hit_columns["event_id"].tolist()
    event_id[6] = None
    columns["event_id"] = pa.array(event_id, type=pa.int64())
    with pytest.raises(InputFileError, match=r"column 'event_id' has 1 missing \(null\) values, first at row 6"):
        read_timeslices(write_parquet(pa.table(columns)))


def test_nan_event_id(write_parquet, hit_columns):
    columns = dict(hit_columns)
    event_id = columns["event_id"].astype(np.float64)
    event_id[10] = np.nan
    columns["event_id"] = event_id
    with pytest.raises(InputFileError, match="column 'event_id'.*row 10"):
        read_timeslices(write_parquet(columns))


def test_fractional_track_id(write_parquet, hit_columns):
    columns = dict(hit_columns)
    columns["track_id"] = columns["track_id"] + 0.5
    with pytest.raises(InputFileError, match="non-whole values"):
        read_timeslices(write_parquet(columns))


def test_float_whole_ids_accepted(write_parquet, hit_columns):
    columns = dict(hit_columns)
    for name in ("track_id", "event_id", "timeslice_id"):
        columns[name] = columns[name].astype(np.float64)
    table = read_timeslices(write_parquet(columns))

    assert table.columns["track_id"].dtype == np.int64
    np.testing.assert_array_equal(table.columns["track_id"], hit_columns["track_id"])


def test_non_finite_time(write_parquet, hit_columns):
    columns = dict(hit_columns)
    t = np.linspace(0.0, 10.0, len(columns["x"]))
    t[13] = np.inf
    columns["t"] = t
    with pytest.raises(InputFileError, match=r"column 't' has NaN or infinite values in 1 row \(first: row 13"):
        read_timeslices(write_parquet(columns))


def test_track_with_two_event_ids(write_parquet):
    columns = make_hit_columns(n_timeslices=3, tracks_per_timeslice=3, hits_per_track=4)
    # Timeslice 1, track 2 occupies rows 20..23, and its last hit gets another collision.
    event_id = columns["event_id"].copy()
    event_id[23] = 7
    columns["event_id"] = event_id
    with pytest.raises(InputFileError) as raised:
        read_timeslices(write_parquet(columns))

    message = str(raised.value)
    assert "1 track(s) have hits with different event_id values" in message
    assert "timeslice 1, track 2, event_id 1, 7" in message


def test_track_ids_repeat_across_timeslices(write_parquet):
    columns = make_hit_columns(n_timeslices=3, tracks_per_timeslice=2)
    table = read_timeslices(write_parquet(columns))

    assert table.n_tracks == 6
    np.testing.assert_array_equal(table.track_ids, [0, 1, 0, 1, 0, 1])


def test_timeslice_with_one_track_accepted(write_parquet):
    columns = make_hit_columns(n_timeslices=1, tracks_per_timeslice=1)
    table = read_timeslices(write_parquet(columns))

    assert table.n_timeslices == 1
    assert table.n_tracks == 1


def test_short_tracks_dropped_with_warning(write_parquet, caplog):
    columns = make_hit_columns(n_timeslices=2, tracks_per_timeslice=3, hits_per_track=4)
    # Keep only 2 hits of timeslice 0 track 1 (rows 4..7) and 1 hit of timeslice 1 track 0 (rows 12..15).
    keep = np.ones(len(columns["x"]), dtype=bool)
    keep[[6, 7, 13, 14, 15]] = False
    columns = {name: values[keep] for name, values in columns.items()}

    with caplog.at_level(logging.WARNING, logger="gann_core.io"):
        table = read_timeslices(write_parquet(columns))

    assert table.n_tracks == 4
    np.testing.assert_array_equal(table.hits_per_track, 4)
    assert len(caplog.records) == 1
    message = caplog.records[0].getMessage()
    assert "hits.parquet: dropped 2 of 6 tracks with fewer than min_hits=3 hits" in message
    assert "timeslice/track 0/1, 1/0" in message
    assert "at least 3 hits" in message


def test_short_tracks_kept_with_lower_min_hits(write_parquet):
    columns = make_hit_columns(n_timeslices=1, tracks_per_timeslice=2, hits_per_track=2)
    table = read_timeslices(write_parquet(columns), min_hits=2)

    assert table.n_tracks == 2


def test_empty_timeslice_dropped_with_warning(write_parquet, caplog):
    columns = make_hit_columns(n_timeslices=3, tracks_per_timeslice=2, hits_per_track=4)
    # Timeslice 1 (rows 8..15) keeps only 2 hits per track.
    keep = np.ones(len(columns["x"]), dtype=bool)
    keep[[10, 11, 14, 15]] = False
    columns = {name: values[keep] for name, values in columns.items()}

    with caplog.at_level(logging.WARNING, logger="gann_core.io"):
        table = read_timeslices(write_parquet(columns))

    np.testing.assert_array_equal(table.timeslice_ids, [0, 2])
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 2
    assert "dropped 2 of 6 tracks" in messages[0]
    assert "dropped 1 timeslice(s)" in messages[1]
    assert "timeslice_id 1" in messages[1]


def test_all_tracks_short_raises(write_parquet):
    columns = make_hit_columns(n_timeslices=2, tracks_per_timeslice=2, hits_per_track=2)
    with pytest.raises(InputFileError, match=r"every track has fewer than min_hits=3 hits \(the longest has 2\)"):
        read_timeslices(write_parquet(columns))


@pytest.mark.parametrize("min_hits", [0, -1, 2.5, True])
def test_invalid_min_hits(write_parquet, hit_columns, min_hits):
    with pytest.raises(ConfigError, match="min_hits must be a positive integer"):
        read_timeslices(write_parquet(hit_columns), min_hits=min_hits)


def test_fake_tracks_accepted(write_parquet, hit_columns):
    columns = dict(hit_columns)
    event_id = columns["event_id"].copy()
    event_id[columns["track_id"] == 2] = -1
    columns["event_id"] = event_id
    table = read_timeslices(write_parquet(columns))

    assert table.summary()["fake_tracks"] == 2


def test_duplicate_column_names(tmp_path, hit_columns):
    names = list(hit_columns) + ["x"]
    arrays = [pa.array(values) for values in hit_columns.values()] + [pa.array(hit_columns["x"])]
    path = tmp_path / "dup.parquet"
    pq.write_table(pa.Table.from_arrays(arrays, names=names), path)
    with pytest.raises(InputFileError, match="column\\(s\\) x appear more than once"):
        read_timeslices(path)
