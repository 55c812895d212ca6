"""Candidate pairs from a window in z0 order: structure, and no true pair lost where none should be."""

import numpy as np
import pytest

from gann_core.candidates import candidate_pairs, pairs_lost, z0_window_pairs
from gann_core.errors import ConfigError
from gann_core.fit import fit_tracks
from gann_core.graph import build_graphs
from gann_core.pairs import all_pairs, same_event
from gann_core.table import Timeslices


def _separated_collisions(seed: int = 0) -> Timeslices:
    """Three timeslices of helices from collisions 100 mm apart in z, 2..5 tracks each.

    Track ids are shuffled within each timeslice, so z0 order differs from track order.
    """
    rng = np.random.default_rng(seed)
    columns = {name: [] for name in ("x", "y", "z", "track_id", "event_id", "timeslice_id")}
    for slice_id, n_events in enumerate((1, 6, 12)):
        vertex_z = rng.permutation(n_events) * 100.0 - 500.0
        n_tracks = rng.integers(2, 6, size=n_events)
        track_ids = rng.permutation(int(n_tracks.sum()))
        next_track = 0
        for event, (z_vertex, count) in enumerate(zip(vertex_z, n_tracks)):
            for _ in range(count):
                # A circle of radius R through the beam line, leaving it in direction phi;
                # hits at arc lengths s from the vertex.
                phi = rng.uniform(-np.pi, np.pi)
                cot_theta = rng.uniform(-1.0, 1.0)
                radius = rng.uniform(1000.0, 3000.0) * rng.choice([-1.0, 1.0])
                arc = np.array([100.0, 200.0, 300.0, 400.0])
                turn = phi + arc / radius
                columns["x"].append(radius * (np.sin(turn) - np.sin(phi)))
                columns["y"].append(radius * (np.cos(phi) - np.cos(turn)))
                columns["z"].append(z_vertex + arc * cot_theta)
                columns["track_id"].append(np.full(4, track_ids[next_track]))
                columns["event_id"].append(np.full(4, event))
                columns["timeslice_id"].append(np.full(4, slice_id))
                next_track += 1
    return Timeslices.from_columns({name: np.concatenate(parts) for name, parts in columns.items()})


def _assert_valid_pairs(table, pairs):
    a, b = pairs.track_a, pairs.track_b
    assert np.all(a < b)
    slice_index = table.track_timeslice_index
    assert np.all(slice_index[a] == slice_index[b])
    key = a * table.n_tracks + b
    assert np.all(np.diff(key) > 0)  # sorted by (track_a, track_b), so also no duplicates


def test_window_keeps_every_true_pair_of_separated_collisions():
    table = _separated_collisions()
    pairs = z0_window_pairs(table, fit_tracks(table).z0, window=4)
    lost = pairs_lost(table, pairs)

    _assert_valid_pairs(table, pairs)
    assert lost["true_pairs"] > 50
    assert lost["true_pairs_kept"] == lost["true_pairs"]
    assert lost["fraction_lost"] == 0.0
    assert lost["candidate_pairs"] < lost["all_pairs"]


def test_narrow_window_loses_true_pairs():
    table = _separated_collisions()
    lost = pairs_lost(table, z0_window_pairs(table, fit_tracks(table).z0, window=1))
    assert lost["fraction_lost"] > 0.1


def test_window_pairs_are_z0_neighbours():
    table = _separated_collisions(seed=3)
    z0 = fit_tracks(table).z0
    pairs = z0_window_pairs(table, z0, window=2)
    slice_index = table.track_timeslice_index

    for a, b in zip(pairs.track_a, pairs.track_b):
        same_slice = slice_index == slice_index[a]
        low, high = sorted((z0[a], z0[b]))
        between = np.count_nonzero(same_slice & (z0 > low) & (z0 < high))
        assert between <= 1  # at most window − 1 tracks lie between the two
    # Each track has min(2, tracks before) + min(2, tracks after) partners in its timeslice.
    counts = table.tracks_per_timeslice
    expected = sum(sum(min(2, n - 1 - p) for p in range(n)) for n in counts)
    assert len(pairs) == expected


def test_wide_window_gives_all_pairs():
    table = _separated_collisions(seed=1)
    pairs = z0_window_pairs(table, fit_tracks(table).z0, window=1000)
    reference = all_pairs(table)
    assert np.array_equal(pairs.track_a, reference.track_a)
    assert np.array_equal(pairs.track_b, reference.track_b)


def test_candidate_pairs_build_graphs():
    table = _separated_collisions(seed=2)
    fit = fit_tracks(table)
    pairs = candidate_pairs(table, "z0-window", fit=fit, window=3)
    graphs = build_graphs(table, fit=fit, pairs=pairs)

    assert graphs.n_pairs == len(pairs)
    assert np.array_equal(graphs.pair_truth, same_event(table, pairs))
    # Each timeslice's pairs are contiguous and start where its tracks start.
    for s in range(graphs.n_timeslices):
        lo, hi = graphs.slice_pair_offsets[s], graphs.slice_pair_offsets[s + 1]
        track_lo, track_hi = graphs.slice_track_offsets[s], graphs.slice_track_offsets[s + 1]
        assert np.all((pairs.track_a[lo:hi] >= track_lo) & (pairs.track_b[lo:hi] < track_hi))


def test_candidate_rule_all_is_all_pairs():
    table = _separated_collisions()
    pairs = candidate_pairs(table, "all")
    assert len(pairs) == len(all_pairs(table))


@pytest.mark.parametrize("window", [0, -3, 2.5, True])
def test_invalid_window_rejected(window):
    table = _separated_collisions()
    with pytest.raises(ConfigError, match="window"):
        z0_window_pairs(table, fit_tracks(table).z0, window=window)


def test_unknown_rule_rejected():
    with pytest.raises(ConfigError, match="candidate rule"):
        candidate_pairs(_separated_collisions(), "knn")
