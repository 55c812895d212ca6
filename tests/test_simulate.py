"""Tests of the timeslice simulation: helix geometry against hand-worked values, composition
statistics, detector effects, hit time, determinism and config validation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gann_core.errors import ConfigError
from gann_core.simulate import (
    SimulationConfig,
    flight_time_ns,
    helix_crossings,
    helix_radius_mm,
    simulate_timeslices,
)
from gann_core.table import FAKE_EVENT_ID

EXACT = {"resolution_x_mm": 0.0, "resolution_y_mm": 0.0, "resolution_z_mm": 0.0}


def _per_event_track_counts(table):
    """Tracks per (timeslice, event) pair, fake tracks left out."""
    events = table.track_event_ids
    real = events != FAKE_EVENT_ID
    pairs = np.stack([table.track_timeslice_index[real], events[real]])
    _, counts = np.unique(pairs, axis=1, return_counts=True)
    return counts


# --- helix geometry ----------------------------------------------------------------------


def test_helix_radius_hand_value():
    # R = 1000 mm/m * 1 GeV / (0.299792458 GeV/(T m) * 1 T) = 3335.641 mm
    assert helix_radius_mm(1.0, 1.0) == pytest.approx(3335.641, abs=1e-3)
    assert helix_radius_mm(1.0, 2.0) == pytest.approx(3335.641 / 2, abs=1e-3)


def test_crossing_hand_worked_positive_track():
    # pT = 1 GeV, B = 1 T, vertex at the origin, phi = 0, q = +1, eta = 0.5, radius 150 mm.
    # A positive track turns clockwise, so the circle centre is at (0, -R), R = 3335.641 mm.
    # The crossing with r = 150 mm lies at y = -r^2 / (2R) = -22500 / 6671.282 = -3.37267 mm,
    # x = sqrt(r^2 - y^2) = sqrt(22500 - 11.3749) = 149.96208 mm.
    # Path s = 2R asin(r / 2R) = 6671.282 * asin(0.0224844) = 150.01264 mm,
    # z = s sinh(0.5) = 150.01264 * 0.5210953 = 78.17088 mm.
    crossing = helix_crossings([0.0], [0.0], [0.0], [1.0], [0.5], [0.0], [1.0], 1.0, [150.0])
    assert crossing.reached[0, 0]
    assert crossing.x[0, 0] == pytest.approx(149.96208, abs=1e-5)
    assert crossing.y[0, 0] == pytest.approx(-3.37267, abs=1e-5)
    assert crossing.path_xy_mm[0, 0] == pytest.approx(150.01264, abs=1e-5)
    assert crossing.z[0, 0] == pytest.approx(78.17088, abs=1e-5)


def test_crossing_hand_worked_negative_track():
    # Same circle turned by 90 degrees: phi = pi/2, q = -1 turns counter-clockwise, so the
    # centre is at (-R, 0) and the crossing at (-3.37267, 149.96208) mm. With eta = 0, z stays
    # at the vertex z of 10 mm.
    crossing = helix_crossings([0.0], [0.0], [10.0], [1.0], [0.0], [math.pi / 2], [-1.0], 1.0, [150.0])
    assert crossing.x[0, 0] == pytest.approx(-3.37267, abs=1e-5)
    assert crossing.y[0, 0] == pytest.approx(149.96208, abs=1e-5)
    assert crossing.z[0, 0] == pytest.approx(10.0, abs=1e-9)


def test_crossing_curling_track_misses_outer_radii():
    # pT = 0.1 GeV in 1 T: R = 333.564 mm, so from the origin the track reaches r <= 2R = 667.128 mm.
    radii = np.array([150.0, 400.0, 667.0, 668.0, 850.0])
    crossing = helix_crossings([0.0], [0.0], [0.0], [0.1], [0.0], [1.0], [1.0], 1.0, radii)
    assert crossing.reached[0].tolist() == [True, True, True, False, False]
    assert np.isnan(crossing.z[0, 3:]).all()
    reached_r = np.hypot(crossing.x[0, :3], crossing.y[0, :3])
    np.testing.assert_allclose(reached_r, radii[:3], atol=1e-6)


def test_crossing_stiff_track_is_straight():
    # pT = 10 GeV: R = 33.4 m, so the crossing at r = 850 mm is 850 * 850 / (2 * 33356) = 10.8 mm
    # off the straight line, and the path is longer than r by r^3 / (24 R^2) = 0.0230 mm.
    crossing = helix_crossings([0.0], [0.0], [0.0], [10.0], [0.0], [0.0], [1.0], 1.0, [850.0])
    assert crossing.y[0, 0] == pytest.approx(-850.0**2 / (2 * 33356.41), abs=1e-3)
    assert crossing.path_xy_mm[0, 0] - 850.0 == pytest.approx(850.0**3 / (24 * 33356.41**2), rel=1e-3)


def test_flight_time_hand_value():
    # pT = 1 GeV, eta = 0, pion: beta = 1 / sqrt(1 + 0.13957^2) = 1 / sqrt(1.019480) = 0.990400,
    # so 300 mm take 300 / (0.990400 * 299.792458) = 1.010392 ns.
    assert flight_time_ns(300.0, 1.0, 0.0) == pytest.approx(1.010392, abs=1e-6)


# --- simulated hits on radii and helices ---------------------------------------------------


def test_simulated_hits_lie_on_radii():
    config = SimulationConfig.for_geometry("spd", **EXACT)
    table = simulate_timeslices(config, 20, seed=3)
    r = np.hypot(table.columns["x"], table.columns["y"])
    radii = np.asarray(config.layer_radii_mm)
    np.testing.assert_allclose(r, radii[table.columns["layer"]], atol=1e-6)
    assert np.abs(table.columns["z"]).max() <= config.barrel_half_length_mm


def test_simulated_hits_follow_true_helix():
    config = SimulationConfig.for_geometry("spd", **EXACT)
    table = simulate_timeslices(config, 20, seed=4)
    c = table.columns
    track = table.hit_track_index
    pt = table.track_column("pt")
    radius = helix_radius_mm(pt, config.b_field_t)

    # z - vz = s sinh(eta), with the transverse path s from the chord length l to the vertex:
    # s = 2R asin(l / 2R), valid before the track has turned by half a circle.
    chord = np.hypot(c["x"] - c["vx"], c["y"] - c["vy"])
    path = 2 * radius[track] * np.arcsin(chord / (2 * radius[track]))
    np.testing.assert_allclose(c["z"] - c["vz"], path * np.sinh(c["eta"]), atol=1e-6)

    # The circumradius of (vertex, first hit, last hit) equals R = pT / (0.3 B). Stiff tracks
    # are left out because their three points are too close to a straight line.
    first = table.track_offsets[:-1]
    last = table.track_offsets[1:] - 1
    soft = pt < 1.5
    ax, ay = table.track_column("vx")[soft], table.track_column("vy")[soft]
    bx, by = c["x"][first][soft], c["y"][first][soft]
    cx, cy = c["x"][last][soft], c["y"][last][soft]
    cross = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax)
    circumradius = np.hypot(bx - ax, by - ay) * np.hypot(cx - bx, cy - by) * np.hypot(cx - ax, cy - ay) / (2 * np.abs(cross))
    np.testing.assert_allclose(circumradius, radius[soft], rtol=1e-5)

    # A positive track turns clockwise seen from +z, so the cross product is negative.
    charge = table.track_column("charge")[soft]
    assert np.all(np.sign(cross) == -charge)


def test_hits_ordered_along_track():
    table = simulate_timeslices(SimulationConfig(), 20, seed=5)
    layer = table.columns["layer"].astype(int)
    same_track = np.diff(table.hit_track_index) == 0
    assert np.all(np.diff(layer)[same_track] > 0)


# --- composition ---------------------------------------------------------------------------


def test_composition_statistics():
    config = SimulationConfig(n_events=10.0, max_tracks=5)
    table = simulate_timeslices(config, 2000, seed=6)
    events_per_slice = table.summary()["events_per_timeslice_mean"]
    # Poisson(10) over 2000 timeslices: the mean has a sigma of sqrt(10 / 2000) = 0.071.
    assert abs(events_per_slice - 10.0) < 0.3

    counts = _per_event_track_counts(table)
    assert counts.min() == 2
    assert counts.max() == 5
    assert abs(counts.mean() - 3.5) < 0.05
    # Each of 2..5 has probability 1/4.
    assert np.all(np.abs(np.bincount(counts, minlength=6)[2:] / len(counts) - 0.25) < 0.02)


def test_composition_small_mean_has_one_event():
    table = simulate_timeslices(SimulationConfig(n_events=1.0, max_tracks=2), 300, seed=7)
    events = table.track_event_ids
    per_slice_max = np.maximum.reduceat(events, table.slice_track_offsets[:-1])
    assert per_slice_max.min() == 0
    assert np.all(_per_event_track_counts(table) == 2)


def test_composition_fixed_number_of_events():
    table = simulate_timeslices(SimulationConfig(n_events=7.4, fixed_n_events=True), 50, seed=8)
    events = table.track_event_ids
    for position in range(table.n_timeslices):
        lo, hi = table.slice_track_offsets[position : position + 2]
        assert sorted(set(events[lo:hi].tolist())) == list(range(7))


def test_composition_kept_when_tracks_are_rejected():
    # Half of all crossings missing and min_hits = 20 of 35 reject many tracks. The redrawn
    # tracks keep their collision, so the composition still holds.
    config = SimulationConfig(missing_hit_prob=0.5, min_hits=20)
    table = simulate_timeslices(config, 300, seed=9)
    counts = _per_event_track_counts(table)
    assert table.hits_per_track.min() >= 20
    assert counts.min() == 2
    assert counts.max() == 5
    assert abs(counts.mean() - 3.5) < 0.15


def test_track_ids_shuffled_and_unique():
    table = simulate_timeslices(SimulationConfig(), 100, seed=10)
    for position in range(0, 100, 10):
        lo, hi = table.slice_track_offsets[position : position + 2]
        ids = table.track_ids[lo:hi]
        assert ids.tolist() == list(range(hi - lo))

    # With ~35 tracks in random order, an event's tracks rarely get consecutive ids.
    events = table.track_event_ids
    slice_index = table.track_timeslice_index
    order = np.lexsort((table.track_ids, events, slice_index))
    ids = table.track_ids[order]
    same_event = (np.diff(events[order]) == 0) & (np.diff(slice_index[order]) == 0)
    consecutive = np.diff(ids)[same_event] == 1
    assert consecutive.mean() < 0.2


def test_hit_ids_unique_within_timeslice():
    table = simulate_timeslices(SimulationConfig(), 30, seed=11, chunk_size=7)
    assert table.timeslice_ids.tolist() == list(range(30))
    hit_slice = table.track_timeslice_index[table.hit_track_index]
    for position in (0, 6, 7, 29):
        hit_ids = table.columns["hit_id"][hit_slice == position]
        assert sorted(hit_ids.tolist()) == list(range(len(hit_ids)))


# --- detector effects ----------------------------------------------------------------------


def test_missing_hit_rate():
    # Stiff central tracks with vertices near z = 0 cross all 35 radii inside the barrel, so
    # the missing fraction is 1 - hits / 35.
    config = SimulationConfig(missing_hit_prob=0.1, pt_min_gev=2.0, eta_max=0.5, vertex_sigma_z_mm=10.0)
    table = simulate_timeslices(config, 200, seed=12)
    missing_fraction = 1.0 - table.hits_per_track.mean() / config.n_layers
    # About 245 000 crossings: the sigma of the fraction is 0.0006.
    assert abs(missing_fraction - 0.1) < 0.005


def test_smearing_width():
    config = SimulationConfig(resolution_x_mm=0.0, resolution_y_mm=0.0, resolution_z_mm=0.5, pt_min_gev=2.0, eta_max=0.5)
    exact = simulate_timeslices(config.replace(resolution_z_mm=0.0), 100, seed=13)
    smeared = simulate_timeslices(config, 100, seed=13)
    # Smearing is drawn after all other numbers of a chunk, so both runs have the same tracks.
    np.testing.assert_array_equal(exact.columns["x"], smeared.columns["x"])
    residual = smeared.columns["z"] - exact.columns["z"]
    assert residual.std() == pytest.approx(0.5, rel=0.02)


def test_fake_tracks_labelled():
    config = SimulationConfig(n_fake_tracks=3.0)
    table = simulate_timeslices(config, 200, seed=14)
    events = table.track_event_ids
    fake = events == FAKE_EVENT_ID
    assert abs(fake.sum() / 200 - 3.0) < 0.4
    assert table.hits_per_track[fake].min() >= config.min_hits

    start_d0 = np.hypot(table.track_column("vx"), table.track_column("vy"))[fake]
    assert start_d0.min() >= config.fake_d0_min_mm
    assert start_d0.max() <= config.fake_d0_max_mm
    assert table.summary()["fake_tracks"] == fake.sum()


def test_no_fake_tracks_by_default():
    table = simulate_timeslices(SimulationConfig(), 50, seed=15)
    assert np.all(table.track_event_ids >= 0)


# --- hit time ------------------------------------------------------------------------------


def test_time_increases_along_track():
    config = SimulationConfig(simulate_time=True, time_resolution_ns=0.0)
    table = simulate_timeslices(config, 30, seed=16)
    t = table.columns["t"]
    same_track = np.diff(table.hit_track_index) == 0
    assert np.all(np.diff(t)[same_track] > 0)


def test_time_is_event_time_plus_flight():
    config = SimulationConfig(simulate_time=True, time_resolution_ns=0.0, **EXACT)
    table = simulate_timeslices(config, 30, seed=17)
    c = table.columns
    radius = helix_radius_mm(c["pt"], config.b_field_t)
    chord = np.hypot(c["x"] - c["vx"], c["y"] - c["vy"])
    path = 2 * radius * np.arcsin(chord / (2 * radius))
    event_time = c["t"] - flight_time_ns(path, c["pt"], c["eta"])
    assert event_time.min() >= 0.0
    assert event_time.max() < config.timeslice_length_ns

    # One time per collision: every hit of an event gives the same event time.
    _, event_index = np.unique(np.stack([c["timeslice_id"], c["event_id"]]), axis=1, return_inverse=True)
    earliest = np.full(event_index.max() + 1, np.inf)
    latest = np.full(event_index.max() + 1, -np.inf)
    np.minimum.at(earliest, event_index, event_time)
    np.maximum.at(latest, event_index, event_time)
    assert np.max(latest - earliest) < 1e-9


def test_time_order_with_vertices_outside_inner_radii():
    # A transverse vertex sigma of 200 mm puts many vertices outside the 150 mm radius. There
    # the first crossings are not in radius order, but the hits still follow the path.
    config = SimulationConfig(simulate_time=True, time_resolution_ns=0.0, vertex_sigma_xy_mm=200.0)
    table = simulate_timeslices(config, 30, seed=18)
    t = table.columns["t"]
    same_track = np.diff(table.hit_track_index) == 0
    assert np.all(np.diff(t)[same_track] > 0)
    assert np.any(np.diff(table.columns["layer"].astype(int))[same_track] < 0)


def test_no_time_column_by_default():
    table = simulate_timeslices(SimulationConfig(), 5, seed=19)
    assert "t" not in table.columns


# --- determinism ---------------------------------------------------------------------------


def test_same_seed_same_table():
    config = SimulationConfig(n_fake_tracks=1.0, simulate_time=True)
    first = simulate_timeslices(config, 25, seed=20, chunk_size=10)
    second = simulate_timeslices(config, 25, seed=20, chunk_size=10)
    assert list(first.columns) == list(second.columns)
    for name in first.columns:
        np.testing.assert_array_equal(first.columns[name], second.columns[name], err_msg=name)


def test_different_seed_different_table():
    first = simulate_timeslices(SimulationConfig(), 25, seed=21)
    second = simulate_timeslices(SimulationConfig(), 25, seed=22)
    assert first.n_hits != second.n_hits or not np.array_equal(first.columns["x"], second.columns["x"])


def test_progress_bar_runs(capsys):
    table = simulate_timeslices(SimulationConfig(), 4, seed=23, progress=True, chunk_size=2)
    assert table.n_timeslices == 4
    assert "timeslice" in capsys.readouterr().err


# --- geometries ----------------------------------------------------------------------------


def test_trackml_hit_counts_and_radii():
    config = SimulationConfig.for_geometry("trackml")
    radii = np.asarray(config.layer_radii_mm)
    assert len(radii) == 20
    assert radii[0] == pytest.approx(50.0)
    assert radii[-1] == pytest.approx(1000.0)
    gaps = np.diff(radii)
    assert np.all(np.diff(gaps) > 0)

    table = simulate_timeslices(config, 300, seed=24)
    hits = table.hits_per_track
    assert hits.min() >= 3
    assert hits.max() <= 20
    # Forward tracks leave the 1100 mm barrel early, so fewer than all 20 layers is common.
    assert np.mean(hits < 15) > 0.2


def test_spd_hit_counts():
    config = SimulationConfig()
    radii = np.asarray(config.layer_radii_mm)
    np.testing.assert_allclose(np.diff(radii), 700.0 / 34)
    table = simulate_timeslices(config, 100, seed=25)
    hits = table.hits_per_track
    assert hits.max() <= 35
    assert np.mean((hits >= 28) & (hits <= 35)) > 0.8


def test_geometry_defaults_filled():
    assert SimulationConfig() == SimulationConfig.for_geometry("spd")
    trackml = SimulationConfig(geometry="trackml")
    assert trackml == SimulationConfig.for_geometry("trackml")
    assert trackml.vertex_sigma_z_mm == 6.0
    assert trackml.vertex_sigma_xy_mm == 0.015
    assert SimulationConfig().vertex_sigma_z_mm == 300.0
    assert SimulationConfig.for_geometry("trackml", b_field_t=1.5).b_field_t == 1.5


# --- validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "name"),
    [
        ({"n_events": 0.5}, "n_events"),
        ({"n_events": float("nan")}, "n_events"),
        ({"max_tracks": 1}, "max_tracks"),
        ({"max_tracks": 3.0}, "max_tracks"),
        ({"n_fake_tracks": -1.0}, "n_fake_tracks"),
        ({"b_field_t": 0.0}, "b_field_t"),
        ({"layer_radii_mm": (300.0, 200.0)}, "layer_radii_mm"),
        ({"barrel_half_length_mm": -5.0}, "barrel_half_length_mm"),
        ({"pt_max_gev": 0.05}, "pt_max_gev"),
        ({"eta_max": -1.0}, "eta_max"),
        ({"vertex_sigma_z_mm": -1.0}, "vertex_sigma_z_mm"),
        ({"resolution_y_mm": -0.1}, "resolution_y_mm"),
        ({"missing_hit_prob": 1.0}, "missing_hit_prob"),
        ({"min_hits": 36}, "min_hits"),
        ({"fake_d0_max_mm": 5.0}, "fake_d0_max_mm"),
        ({"timeslice_length_ns": 0.0}, "timeslice_length_ns"),
    ],
)
def test_validate_names_parameter(overrides, name):
    config = SimulationConfig(**overrides)
    with pytest.raises(ConfigError, match=name) as error:
        config.validate()
    assert repr(overrides[name]) in str(error.value)
    assert "expected" in str(error.value)


def test_unknown_geometry_rejected():
    with pytest.raises(ConfigError, match="geometry='atlas'"):
        SimulationConfig(geometry="atlas")


def test_unknown_override_rejected():
    with pytest.raises(ConfigError, match="n_event\\b"):
        SimulationConfig.for_geometry("spd", n_event=3)


def test_simulate_rejects_bad_arguments():
    with pytest.raises(ConfigError, match="n_timeslices=0"):
        simulate_timeslices(SimulationConfig(), 0)
    with pytest.raises(ConfigError, match="seed=-1"):
        simulate_timeslices(SimulationConfig(), 1, seed=-1)
    with pytest.raises(ConfigError, match="n_events"):
        simulate_timeslices(SimulationConfig(n_events=0.0), 1)


def test_unreachable_min_hits_raises():
    # pT <= 0.02 GeV in 1 T gives 2R <= 133 mm, below the innermost SPD radius of 150 mm.
    config = SimulationConfig(pt_min_gev=0.01, pt_max_gev=0.02)
    with pytest.raises(ConfigError, match="min_hits"):
        simulate_timeslices(config, 2, seed=26)
