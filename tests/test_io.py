"""Reading and writing timeslice and pair parquet files (gann_core.io.parquet)."""

from __future__ import annotations

import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hit_tables import make_hit_columns
from gann_core.errors import ConfigError, InputFileError
from gann_core.io import pairs_path, read_pairs, read_timeslices, write_timeslices
from gann_core.io import parquet as parquet_module
from gann_core.table import Timeslices


def test_read_renames_aliases(write_parquet, hit_columns):
    columns = dict(hit_columns)
    columns["trid"] = columns.pop("track_id")
    columns["evid"] = columns.pop("event_id")
    table = read_timeslices(write_parquet(columns))

    assert "track_id" in table.columns
    assert "event_id" in table.columns
    assert "trid" not in table.columns
    assert "evid" not in table.columns
    np.testing.assert_array_equal(table.columns["track_id"], hit_columns["track_id"])
    np.testing.assert_array_equal(table.columns["event_id"], hit_columns["event_id"])


def test_round_trip_pass_through_columns(tmp_path, write_parquet, hit_columns):
    columns = dict(hit_columns)
    n = len(columns["x"])
    columns["t"] = np.linspace(0.0, 50.0, n)
    columns["layer"] = np.arange(n, dtype=np.int32) % 7
    columns["detector"] = np.array(["pixel", "strip"] * (n // 2), dtype=object)
    columns["charge_sign"] = np.arange(n) % 2 == 0
    table = read_timeslices(write_parquet(columns))

    out = tmp_path / "out.parquet"
    write_timeslices(out, table)
    again = read_timeslices(out)

    assert set(again.columns) == set(columns)
    for name in ("x", "y", "z", "t", "track_id", "event_id", "timeslice_id", "hit_id", "layer", "charge_sign"):
        np.testing.assert_array_equal(again.columns[name], columns[name], err_msg=name)
    assert list(again.columns["detector"]) == list(columns["detector"])
    assert again.columns["layer"].dtype == np.int32
    np.testing.assert_array_equal(again.track_offsets, table.track_offsets)
    np.testing.assert_array_equal(again.slice_track_offsets, table.slice_track_offsets)


def test_read_float32_coordinates(write_parquet, hit_columns):
    columns = dict(hit_columns)
    for name in ("x", "y", "z"):
        columns[name] = columns[name].astype(np.float32)
    table = read_timeslices(write_parquet(columns))

    assert table.columns["x"].dtype == np.float64
    np.testing.assert_allclose(table.columns["x"], hit_columns["x"].astype(np.float32))


def test_read_without_timeslice_id(write_parquet):
    columns = make_hit_columns(n_timeslices=1, tracks_per_timeslice=4)
    del columns["timeslice_id"]
    table = read_timeslices(write_parquet(columns))

    assert table.n_timeslices == 1
    assert table.n_tracks == 4
    np.testing.assert_array_equal(table.columns["timeslice_id"], 0)


def test_read_multi_timeslice_file(write_parquet):
    columns = make_hit_columns(n_timeslices=5, tracks_per_timeslice=3, hits_per_track=4)
    table = read_timeslices(write_parquet(columns))

    assert table.n_timeslices == 5
    assert table.n_tracks == 15
    assert table.n_hits == 60
    np.testing.assert_array_equal(table.timeslice_ids, np.arange(5))
    np.testing.assert_array_equal(table.tracks_per_timeslice, 3)
    np.testing.assert_array_equal(table.hits_per_track, 4)


def test_read_sorts_unsorted_rows(write_parquet):
    columns = make_hit_columns(n_timeslices=4, tracks_per_timeslice=5, hits_per_track=6)
    order = np.random.default_rng(1).permutation(len(columns["x"]))
    shuffled = {name: values[order] for name, values in columns.items()}
    table = read_timeslices(write_parquet(shuffled))

    timeslice_id = table.columns["timeslice_id"]
    track_id = table.columns["track_id"]
    key = timeslice_id * 1000 + track_id
    assert np.all(np.diff(key) >= 0)
    np.testing.assert_array_equal(table.hits_per_track, 6)
    np.testing.assert_array_equal(np.sort(table.columns["hit_id"]), np.arange(len(order)))

    # Inside a track, hits keep the order they had in the file.
    position_in_file = np.argsort(order)[table.columns["hit_id"]]
    for k in range(table.n_tracks):
        rows = slice(table.track_offsets[k], table.track_offsets[k + 1])
        assert np.all(np.diff(position_in_file[rows]) > 0)

    # Every hit still carries its own coordinates.
    np.testing.assert_array_equal(table.columns["x"], columns["x"][table.columns["hit_id"]])


def test_several_files_renumber_timeslices(write_parquet):
    first = make_hit_columns(n_timeslices=2, seed=1)
    first["timeslice_id"] = first["timeslice_id"] + 5
    second = make_hit_columns(n_timeslices=3, seed=2)
    paths = [write_parquet(first, "a.parquet"), write_parquet(second, "b.parquet")]
    table = read_timeslices(paths)

    assert table.n_timeslices == 5
    np.testing.assert_array_equal(table.timeslice_ids, [5, 6, 7, 8, 9])
    np.testing.assert_array_equal(table.columns["x"][: len(first["x"])], first["x"])
    np.testing.assert_array_equal(table.columns["x"][len(first["x"]) :], second["x"])


def test_several_files_keep_id_gaps(write_parquet):
    first = make_hit_columns(n_timeslices=2, seed=1)
    first["timeslice_id"] = first["timeslice_id"] * 10
    second = make_hit_columns(n_timeslices=2, seed=2)
    second["timeslice_id"] = second["timeslice_id"] * 10 + 3
    table = read_timeslices([write_parquet(first, "a.parquet"), write_parquet(second, "b.parquet")])

    np.testing.assert_array_equal(table.timeslice_ids, [0, 10, 11, 21])


def test_several_files_column_mismatch(write_parquet):
    first = make_hit_columns()
    second = make_hit_columns()
    second["t"] = np.zeros(len(second["x"]))
    paths = [write_parquet(first, "a.parquet"), write_parquet(second, "b.parquet")]

    with pytest.raises(InputFileError, match="b.parquet"):
        read_timeslices(paths)


def test_several_files_name_bad_file(write_parquet, tmp_path):
    good = write_parquet(make_hit_columns(), "good.parquet")
    bad = tmp_path / "bad.parquet"
    bad.write_text("x,y,z\n1,2,3\n")

    with pytest.raises(InputFileError, match="bad.parquet"):
        read_timeslices([good, bad])


def test_read_empty_path_list_raises():
    with pytest.raises(ConfigError, match="no timeslice file"):
        read_timeslices([])


def test_write_creates_no_stray_files(tmp_path):
    table = Timeslices.from_columns(make_hit_columns())
    write_timeslices(tmp_path / "out.parquet", table)

    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.parquet"]


def test_write_replaces_existing_file(tmp_path):
    path = tmp_path / "out.parquet"
    write_timeslices(path, Timeslices.from_columns(make_hit_columns(n_timeslices=2)))
    write_timeslices(path, Timeslices.from_columns(make_hit_columns(n_timeslices=3)))

    assert read_timeslices(path).n_timeslices == 3


def test_failed_write_leaves_nothing(tmp_path, monkeypatch):
    def write_half_then_fail(table, where, **kwargs):
        with open(where, "wb") as handle:
            handle.write(b"PAR1 partial")
        raise OSError("disk full")

    monkeypatch.setattr(parquet_module.pq, "write_table", write_half_then_fail)
    table = Timeslices.from_columns(make_hit_columns())
    with pytest.raises(OSError, match="disk full"):
        write_timeslices(tmp_path / "out.parquet", table)

    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_old_file(tmp_path, monkeypatch):
    path = tmp_path / "out.parquet"
    write_timeslices(path, Timeslices.from_columns(make_hit_columns(n_timeslices=2)))
    before = path.read_bytes()

    def fail(table, where, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(parquet_module.pq, "write_table", fail)
    with pytest.raises(KeyboardInterrupt):
        write_timeslices(path, Timeslices.from_columns(make_hit_columns(n_timeslices=3)))

    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.parquet"]


def test_failed_pairs_write_leaves_nothing(tmp_path, monkeypatch):
    original = pq.write_table
    calls = []

    def fail_on_second_file(table, where, **kwargs):
        calls.append(where)
        if len(calls) == 2:
            with open(where, "wb") as handle:
                handle.write(b"PAR1")
            raise OSError("disk full")
        original(table, where, **kwargs)

    monkeypatch.setattr(parquet_module.pq, "write_table", fail_on_second_file)
    table = Timeslices.from_columns(make_hit_columns())
    pairs = _example_pairs()
    with pytest.raises(OSError, match="disk full"):
        write_timeslices(tmp_path / "out.parquet", table, pairs=pairs)

    assert list(tmp_path.iterdir()) == []


def test_write_to_missing_folder_raises(tmp_path):
    table = Timeslices.from_columns(make_hit_columns())
    with pytest.raises(FileNotFoundError, match="does not exist"):
        write_timeslices(tmp_path / "missing" / "out.parquet", table)


def test_write_rejects_plain_dict(tmp_path):
    with pytest.raises(TypeError, match="Timeslices"):
        write_timeslices(tmp_path / "out.parquet", make_hit_columns())


def test_pairs_path_is_sibling(tmp_path):
    assert pairs_path(tmp_path / "pred.parquet") == tmp_path / "pred.pairs.parquet"
    assert pairs_path("a/b.c.parquet").name == "b.c.pairs.parquet"
    assert pairs_path("out").name == "out.pairs.parquet"


def _example_pairs() -> dict[str, np.ndarray]:
    return {
        "timeslice_id": np.array([0, 0, 0, 1, 1, 1]),
        "track_a": np.array([0, 0, 1, 0, 0, 1]),
        "track_b": np.array([1, 2, 2, 1, 2, 2]),
        "score": np.array([0.9, 0.1, 0.2, 0.8, 0.3, 0.4], dtype=np.float32),
        "same_event": np.array([1, 0, 0, 1, 0, 0]),
    }


def test_pairs_round_trip(tmp_path):
    table = Timeslices.from_columns(make_hit_columns())
    predictions = table.with_columns(event_pred=table.columns["event_id"] + 100)
    pairs = _example_pairs()
    path = tmp_path / "pred.parquet"
    write_timeslices(path, predictions, pairs=pairs)

    assert (tmp_path / "pred.pairs.parquet").is_file()
    read_back = read_pairs(path)
    assert set(read_back) == set(pairs)
    for name in ("timeslice_id", "track_a", "track_b"):
        np.testing.assert_array_equal(read_back[name], pairs[name])
        assert read_back[name].dtype == np.int64
    np.testing.assert_allclose(read_back["score"], pairs["score"])
    assert read_back["same_event"].dtype == bool
    np.testing.assert_array_equal(read_back["same_event"], pairs["same_event"].astype(bool))
    np.testing.assert_array_equal(read_pairs(pairs_path(path))["track_b"], pairs["track_b"])

    again = read_timeslices(path)
    np.testing.assert_array_equal(again.columns["event_pred"], predictions.columns["event_pred"])


def test_pairs_without_truth(tmp_path):
    pairs = _example_pairs()
    del pairs["same_event"]
    path = tmp_path / "pred.parquet"
    write_timeslices(path, Timeslices.from_columns(make_hit_columns()), pairs=pairs)

    assert "same_event" not in read_pairs(path)


def test_write_without_pairs_removes_stale_pairs(tmp_path):
    path = tmp_path / "pred.parquet"
    table = Timeslices.from_columns(make_hit_columns())
    write_timeslices(path, table, pairs=_example_pairs())
    write_timeslices(path, table)

    assert not pairs_path(path).exists()


def test_pairs_missing_key_raises(tmp_path):
    pairs = _example_pairs()
    del pairs["score"]
    with pytest.raises(ValueError, match="score"):
        write_timeslices(tmp_path / "pred.parquet", Timeslices.from_columns(make_hit_columns()), pairs=pairs)
    assert list(tmp_path.iterdir()) == []


def test_pairs_unequal_lengths_raise(tmp_path):
    pairs = _example_pairs()
    pairs["score"] = pairs["score"][:3]
    with pytest.raises(ValueError, match="equal lengths"):
        write_timeslices(tmp_path / "pred.parquet", Timeslices.from_columns(make_hit_columns()), pairs=pairs)


def test_read_pairs_missing_file_raises(tmp_path):
    with pytest.raises(InputFileError, match="pairs file not found"):
        read_pairs(tmp_path / "pred.parquet")


def test_read_pairs_missing_column_raises(tmp_path):
    pq.write_table(pa.table({"track_a": [0], "track_b": [1]}), tmp_path / "p.pairs.parquet")
    with pytest.raises(InputFileError, match="timeslice_id, score"):
        read_pairs(tmp_path / "p.parquet")


def test_read_million_hits_fast(tmp_path):
    n_hits = 1_000_000
    track_index = np.arange(n_hits) // 10
    rng = np.random.default_rng(0)
    columns = {
        "x": rng.normal(size=n_hits),
        "y": rng.normal(size=n_hits),
        "z": rng.normal(size=n_hits),
        "track_id": track_index % 40,
        "event_id": track_index % 40 // 4,
        "timeslice_id": track_index // 40,
    }
    path = tmp_path / "big.parquet"
    pq.write_table(pa.table(columns), path)

    started = time.perf_counter()
    table = read_timeslices(path)
    elapsed = time.perf_counter() - started

    assert table.n_hits == n_hits
    assert table.n_tracks == n_hits // 10
    # About 0.15 s on 2 shared CPU cores, so the bound leaves room for a loaded machine.
    assert elapsed < 2.0


def test_chunked_write_equals_simulation(tmp_path):
    from gann_core.io import write_timeslice_chunks
    from gann_core.simulate import SimulationConfig, iter_simulated_chunks, simulate_timeslices

    config = SimulationConfig.for_geometry("spd", n_events=3)
    path = tmp_path / "chunks.parquet"
    write_timeslice_chunks(path, iter_simulated_chunks(config, 25, seed=5, chunk_size=10))
    whole = simulate_timeslices(config, 25, seed=5, chunk_size=10)
    written = read_timeslices(path)
    assert written.n_timeslices == 25
    for name in whole.columns:
        assert np.array_equal(written.columns[name], whole.columns[name]), name


def test_chunked_write_failure_leaves_no_file(tmp_path):
    from gann_core.io import write_timeslice_chunks
    from gann_core.simulate import SimulationConfig, iter_simulated_chunks

    def failing():
        for index, chunk in enumerate(iter_simulated_chunks(SimulationConfig.for_geometry("spd"), 30, chunk_size=10)):
            if index == 2:
                raise KeyboardInterrupt
            yield chunk

    path = tmp_path / "chunks.parquet"
    with pytest.raises(KeyboardInterrupt):
        write_timeslice_chunks(path, failing())
    assert list(tmp_path.iterdir()) == []


NUMERIC_DTYPES = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float32", "float64"]


@pytest.mark.parametrize("dtype", NUMERIC_DTYPES + ["bool"])
def test_numpy_arrow_round_trip(dtype):
    from gann_core.io.validate import arrow_to_numpy, numpy_to_arrow

    rng = np.random.default_rng(3)
    values = (rng.random(1000) * 100).astype(dtype) if dtype != "bool" else rng.random(1000) > 0.5
    for piece in (values, values[5:], values[::3], values[:0], values[:9]):
        array = numpy_to_arrow(piece)
        assert array.to_pylist() == piece.tolist()
        back = arrow_to_numpy(array)
        assert back.dtype == piece.dtype
        np.testing.assert_array_equal(back, piece)
    # Arrow slices keep an offset into their buffer, and several chunks are joined.
    array = numpy_to_arrow(values)
    np.testing.assert_array_equal(arrow_to_numpy(array.slice(7, 100)), values[7:107])
    chunked = pa.chunked_array([array.slice(0, 10), array.slice(10, 5), array.slice(15)])
    np.testing.assert_array_equal(arrow_to_numpy(chunked), values)


def test_arrow_to_numpy_keeps_nulls_and_strings():
    from gann_core.io.validate import arrow_to_numpy

    with_null = arrow_to_numpy(pa.array([1.5, None, 2.0]))
    assert with_null[0] == 1.5
    assert np.isnan(with_null[1])
    assert arrow_to_numpy(pa.array(["a", "b"])).tolist() == ["a", "b"]
