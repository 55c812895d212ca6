"""TrackML import on the real sample event, and timeslices drawn from its collisions."""

from __future__ import annotations

import csv
import gzip
import logging
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest

from gann_core.errors import ConfigError, InputFileError
from gann_core.io import find_trackml_files, read_trackml_event, timeslices_from_trackml
from gann_core.table import Timeslices


def _read_csv_rows(path: Path) -> list[dict[str, str]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def expected(trackml_prefix):
    """Counts computed from the CSV files with the csv module, independently of the importer."""
    folder, name = trackml_prefix.parent, trackml_prefix.name
    hits = _read_csv_rows(folder / f"{name}-hits.csv.gz")
    truth = _read_csv_rows(folder / f"{name}-truth.csv.gz")
    particles = _read_csv_rows(folder / f"{name}-particles.csv.gz")

    particle_of_hit = {int(row["hit_id"]): int(row["particle_id"]) for row in truth}
    hits_per_particle = Counter(pid for pid in particle_of_hit.values() if pid != 0)
    tracks = {pid for pid, count in hits_per_particle.items() if count >= 3}
    vertex_of_particle = {
        int(row["particle_id"]): (float(row["vx"]), float(row["vy"]), float(row["vz"])) for row in particles
    }
    positions_per_collision = defaultdict(set)
    for pid in tracks:
        positions_per_collision[pid >> 52].add(vertex_of_particle[pid])
    return {
        "n_hits_in_file": len(hits),
        "noise_hit_ids": {hit for hit, pid in particle_of_hit.items() if pid == 0},
        "track_particles": tracks,
        "n_track_hits": sum(hits_per_particle[pid] for pid in tracks),
        "collisions": {pid >> 52 for pid in tracks},
        "particle_of_hit": particle_of_hit,
        "vertex_of_particle": vertex_of_particle,
        "positions_per_collision": positions_per_collision,
        "hit_xyz": {int(row["hit_id"]): (float(row["x"]), float(row["y"]), float(row["z"])) for row in hits},
    }


@pytest.fixture(scope="module")
def event(trackml_prefix) -> Timeslices:
    return read_trackml_event(trackml_prefix)


def test_event_is_one_timeslice(event):
    assert event.n_timeslices == 1
    np.testing.assert_array_equal(event.columns["timeslice_id"], 0)


def test_event_collision_count(event, expected):
    assert len(expected["collisions"]) == 103
    assert set(np.unique(event.columns["event_id"])) == expected["collisions"]


def test_event_track_count(event, expected):
    assert event.n_tracks == len(expected["track_particles"])
    assert set(np.unique(event.columns["particle_id"])) == expected["track_particles"]
    assert event.n_hits == expected["n_track_hits"]
    assert event.hits_per_track.min() >= 3


def test_event_track_id_is_one_particle(event):
    particle_per_track = event.track_column("particle_id")
    assert len(np.unique(particle_per_track)) == event.n_tracks
    for k in range(event.n_tracks):
        rows = slice(event.track_offsets[k], event.track_offsets[k + 1])
        assert len(np.unique(event.columns["particle_id"][rows])) == 1


def test_event_has_no_noise_hits(event, expected):
    assert len(expected["noise_hit_ids"]) == 829
    assert not set(event.columns["hit_id"].tolist()) & expected["noise_hit_ids"]
    assert np.all(event.columns["particle_id"] != 0)


def test_event_hit_positions_and_truth(event, expected):
    for row in range(0, event.n_hits, 97):
        hit_id = int(event.columns["hit_id"][row])
        x, y, z = expected["hit_xyz"][hit_id]
        assert event.columns["x"][row] == pytest.approx(x)
        assert event.columns["y"][row] == pytest.approx(y)
        assert event.columns["z"][row] == pytest.approx(z)
        assert event.columns["particle_id"][row] == expected["particle_of_hit"][hit_id]


def test_event_id_is_vertex_id(event):
    particle_id = event.columns["particle_id"]
    np.testing.assert_array_equal(event.columns["event_id"], particle_id >> 52)


def test_event_groups_secondaries_by_vertex_id(event, expected):
    # Collisions whose tracks come from more than one production point contain secondaries
    # or displaced primaries, and each must still form one collision.
    mixed = [vertex_id for vertex_id, positions in expected["positions_per_collision"].items() if len(positions) > 1]
    assert mixed, "the sample event should contain collisions with secondaries"
    for vertex_id in mixed:
        tracks = event.track_event_ids == vertex_id
        positions = set(zip(event.track_column("vx")[tracks], event.track_column("vy")[tracks], event.track_column("vz")[tracks]))
        assert len(positions) == len(expected["positions_per_collision"][vertex_id])
    assert len(np.unique(event.track_event_ids)) == len(expected["collisions"])


def test_event_vertex_columns(event, expected):
    for k in range(0, event.n_tracks, 13):
        row = event.track_offsets[k]
        pid = int(event.columns["particle_id"][row])
        vx, vy, vz = expected["vertex_of_particle"][pid]
        assert event.columns["vx"][row] == pytest.approx(vx)
        assert event.columns["vy"][row] == pytest.approx(vy)
        assert event.columns["vz"][row] == pytest.approx(vz)


def test_event_hits_ordered_by_radius(event):
    r = np.hypot(event.columns["x"], event.columns["y"])
    for k in range(event.n_tracks):
        rows = slice(event.track_offsets[k], event.track_offsets[k + 1])
        assert np.all(np.diff(r[rows]) >= 0)


def test_event_layer_columns(event):
    expected_layer = event.columns["volume_id"] * 100 + event.columns["layer_id"]
    np.testing.assert_array_equal(event.columns["layer"], expected_layer)
    assert "module_id" in event.columns


def test_event_min_hits_option(trackml_prefix, expected):
    event_5 = read_trackml_event(trackml_prefix, min_hits=5)
    assert event_5.hits_per_track.min() >= 5
    assert event_5.n_tracks < len(expected["track_particles"])


def test_prefix_may_name_a_file(trackml_prefix):
    files = find_trackml_files(f"{trackml_prefix}-truth.csv.gz")
    assert files["hits"].name == "event000000001-hits.csv.gz"
    assert files["particles"].name == "event000000001-particles.csv.gz"


def test_missing_files_named(tmp_path):
    with pytest.raises(InputFileError) as raised:
        read_trackml_event(tmp_path / "event000000042")
    message = str(raised.value)
    for name in ("event000000042-hits.csv", "event000000042-truth.csv.gz", "event000000042-particles.csv"):
        assert name in message


def _write_small_event(folder: Path, *, truth_hit_ids=(1, 2, 3, 4, 5, 6, 7), particles_rows=None) -> Path:
    vertex_a = 1 << 52
    vertex_b = 2 << 52
    particle_1 = vertex_a + (1 << 36)
    particle_2 = vertex_a + (2 << 36) + (1 << 24)  # a secondary of collision 1
    particle_3 = vertex_b + (1 << 36)
    (folder / "ev-hits.csv").write_text(
        "hit_id,x,y,z,volume_id,layer_id,module_id\n"
        "1,30,0,1,8,2,1\n2,10,0,1,8,2,1\n3,20,0,1,8,4,1\n"
        "4,0,10,2,8,2,1\n5,0,30,2,8,4,1\n6,0,20,2,8,6,1\n"
        "7,5,5,5,8,2,1\n"
    )
    particle_of = {1: particle_1, 2: particle_1, 3: particle_1, 4: particle_2, 5: particle_2, 6: particle_2, 7: 0}
    truth_lines = [f"{hit},{particle_of[hit]},0,0,0,0,0,0,0\n" for hit in truth_hit_ids]
    (folder / "ev-truth.csv").write_text("hit_id,particle_id,tx,ty,tz,tpx,tpy,tpz,weight\n" + "".join(truth_lines))
    if particles_rows is None:
        particles_rows = [f"{particle_1},0,0,1,3", f"{particle_2},5,5,40,3", f"{particle_3},0,0,7,0"]
    (folder / "ev-particles.csv").write_text("particle_id,vx,vy,vz,nhits\n" + "\n".join(particles_rows) + "\n")
    return folder / "ev"


def test_small_event_by_hand(tmp_path):
    event = read_trackml_event(_write_small_event(tmp_path))

    assert event.n_tracks == 2
    np.testing.assert_array_equal(event.columns["event_id"], 1)
    np.testing.assert_array_equal(event.columns["hit_id"], [2, 3, 1, 4, 6, 5])
    np.testing.assert_array_equal(event.track_column("vz"), [1.0, 40.0])


def test_hit_without_truth_row(tmp_path):
    prefix = _write_small_event(tmp_path, truth_hit_ids=(1, 2, 3, 4, 5, 7))
    with pytest.raises(InputFileError, match=r"ev-truth.csv: 1 hits of the hits file have no truth row \(first: hit_id 6\)"):
        read_trackml_event(prefix)


def test_truth_rows_in_other_order(tmp_path):
    prefix = _write_small_event(tmp_path, truth_hit_ids=(7, 6, 5, 4, 3, 2, 1))
    event = read_trackml_event(prefix)

    np.testing.assert_array_equal(event.columns["hit_id"], [2, 3, 1, 4, 6, 5])


def test_particle_missing_from_particles_file(tmp_path, caplog):
    prefix = _write_small_event(tmp_path, particles_rows=[f"{(1 << 52) + (1 << 36)},0,0,1,3"])
    with caplog.at_level(logging.WARNING, logger="gann_core.io"):
        event = read_trackml_event(prefix)

    assert np.isnan(event.track_column("vz")[1])
    assert "1 particles with hits are missing from the particles file" in caplog.text


def test_missing_csv_column(tmp_path):
    prefix = _write_small_event(tmp_path)
    (tmp_path / "ev-hits.csv").write_text("hit_id,x,y\n1,2,3\n")
    with pytest.raises(InputFileError, match="ev-hits.csv: missing column\\(s\\) z, volume_id, layer_id"):
        read_trackml_event(prefix)


def test_broken_gzip(tmp_path):
    prefix = _write_small_event(tmp_path)
    (tmp_path / "ev-hits.csv").unlink()
    (tmp_path / "ev-hits.csv.gz").write_bytes(gzip.compress(b"hit_id,x,y,z\n1,2,3,4\n")[:20])
    with pytest.raises(InputFileError, match="ev-hits.csv.gz: cannot be read as a TrackML hits CSV file"):
        read_trackml_event(prefix)


def _check_composition(drawn: Timeslices, event: Timeslices, max_tracks: int) -> None:
    source_tracks = Counter(event.track_event_ids.tolist())
    particle_tracks = {int(p): k for k, p in enumerate(event.track_column("particle_id"))}
    for timeslice in drawn:
        events, counts = np.unique(timeslice.track_event_ids, return_counts=True)
        for vertex_id, count in zip(events, counts):
            assert source_tracks[vertex_id] >= 2
            assert 2 <= count <= min(max_tracks, source_tracks[vertex_id])
        np.testing.assert_array_equal(np.sort(timeslice.track_ids), np.arange(timeslice.n_tracks))
        particles = timeslice.track_column("particle_id")
        assert len(np.unique(particles)) == len(particles)
        for k, particle in enumerate(particles):
            source = particle_tracks[int(particle)]
            source_rows = slice(event.track_offsets[source], event.track_offsets[source + 1])
            rows = slice(timeslice.track_offsets[k], timeslice.track_offsets[k + 1])
            np.testing.assert_array_equal(timeslice.columns["hit_id"][rows], event.columns["hit_id"][source_rows])


def test_drawn_timeslices_follow_composition_rule(event):
    drawn = timeslices_from_trackml(event, n_events=10, max_tracks=4, n_timeslices=40, seed=3)

    assert drawn.n_timeslices == 40
    np.testing.assert_array_equal(drawn.timeslice_ids, np.arange(40))
    assert set(drawn.columns) == set(event.columns)
    _check_composition(drawn, event, max_tracks=4)


def test_drawn_collision_count_is_poisson(event):
    drawn = timeslices_from_trackml(event, n_events=10, max_tracks=4, n_timeslices=300, seed=5)
    per_slice = np.array([len(np.unique(timeslice.track_event_ids)) for timeslice in drawn])

    assert per_slice.min() >= 1
    # Poisson(10) has mean and variance 10, so 300 draws give a standard error of 0.18 on the mean.
    assert abs(per_slice.mean() - 10) < 0.6
    assert 6 < per_slice.var() < 15


def test_drawn_fixed_collision_count(event):
    drawn = timeslices_from_trackml(event, n_events=7, max_tracks=3, n_timeslices=20, seed=1, fixed_n_events=True)

    for timeslice in drawn:
        assert len(np.unique(timeslice.track_event_ids)) == 7
    _check_composition(drawn, event, max_tracks=3)


def test_drawn_tracks_capped_by_collision(event):
    drawn = timeslices_from_trackml(event, n_events=20, max_tracks=50, n_timeslices=5, seed=2)
    _check_composition(drawn, event, max_tracks=50)


def test_drawn_same_seed_same_table(event):
    first = timeslices_from_trackml(event, n_timeslices=5, seed=11)
    second = timeslices_from_trackml(event, n_timeslices=5, seed=11)
    other = timeslices_from_trackml(event, n_timeslices=5, seed=12)

    np.testing.assert_array_equal(first.columns["hit_id"], second.columns["hit_id"])
    np.testing.assert_array_equal(first.columns["track_id"], second.columns["track_id"])
    assert not np.array_equal(first.columns["hit_id"][:100], other.columns["hit_id"][:100])


def test_drawn_more_collisions_than_available(event, caplog):
    n_available = sum(1 for count in Counter(event.track_event_ids.tolist()).values() if count >= 2)
    with caplog.at_level(logging.WARNING, logger="gann_core.io"):
        drawn = timeslices_from_trackml(event, n_events=500, n_timeslices=2, seed=0, fixed_n_events=True)

    for timeslice in drawn:
        assert len(np.unique(timeslice.track_event_ids)) == n_available
    assert f"asked for more than the {n_available} collisions" in caplog.text


@pytest.mark.parametrize(
    "options, message",
    [
        ({"n_events": 0}, "n_events must be positive"),
        ({"max_tracks": 1}, "max_tracks must be an integer of at least 2"),
        ({"n_timeslices": 0}, "n_timeslices must be a positive integer"),
        ({"n_events": 2.5, "fixed_n_events": True}, "whole number"),
    ],
)
def test_drawn_invalid_parameters(event, options, message):
    with pytest.raises(ConfigError, match=message):
        timeslices_from_trackml(event, **options)


def test_draw_needs_single_event(event):
    two = timeslices_from_trackml(event, n_timeslices=2, seed=0)
    with pytest.raises(ConfigError, match="has 2 timeslices"):
        timeslices_from_trackml(two)
