import numpy as np
import pytest

from gann_core.graph import build_graphs, feature_names, hit_edges
from gann_core.pairs import all_pairs
from gann_core.simulate import SimulationConfig, simulate_timeslices
from gann_core.table import Timeslices


def _two_slices() -> Timeslices:
    # Slice 0: tracks 5 (4 hits) and 7 (3 hits); slice 1: tracks 5 (3 hits), 6 (3 hits), 9 (5 hits).
    hits = []
    for slice_id, tracks in ((0, {5: 4, 7: 3}), (1, {5: 3, 6: 3, 9: 5})):
        for track_id, n in tracks.items():
            for k in range(n):
                radius = 100.0 + 50.0 * k
                angle = 0.3 * track_id
                hits.append((radius * np.cos(angle), radius * np.sin(angle), 10.0 * k + track_id, track_id, slice_id, track_id % 2))
    x, y, z, track, slice_, event = map(np.array, zip(*hits))
    return Timeslices.from_columns(
        {"x": x, "y": y, "z": z, "track_id": track, "timeslice_id": slice_, "event_id": event}
    )


def test_hit_edge_counts():
    table = _two_slices()
    for neighbours in (1, 2, 3):
        edges = hit_edges(table, neighbours)
        expected = sum(2 * sum(max(n - step, 0) for step in range(1, neighbours + 1)) for n in table.hits_per_track)
        assert edges.shape == (2, expected)


def test_hit_edges_stay_in_track_and_join_r_neighbours():
    table = _two_slices()
    edges = hit_edges(table, 1)
    track = table.hit_track_index
    assert np.all(track[edges[0]] == track[edges[1]])
    r = np.hypot(table.columns["x"], table.columns["y"])
    # With one neighbour on each side, joined hits are adjacent radii (50 mm apart here).
    assert np.allclose(np.abs(r[edges[0]] - r[edges[1]]), 50.0)


def test_pair_counts_per_timeslice():
    table = _two_slices()
    pairs = all_pairs(table)
    assert len(pairs) == 1 + 3
    slice_of_track = table.track_timeslice_index
    assert np.all(slice_of_track[pairs.track_a] == slice_of_track[pairs.track_b])
    assert np.all(pairs.track_a < pairs.track_b)


def test_batches_have_no_cross_timeslice_pairs():
    table = simulate_timeslices(SimulationConfig.for_geometry("spd", n_events=4), 9, seed=3)
    graphs = build_graphs(table)
    total_pairs = 0
    for data in graphs.batches(4):
        assert data.pair_index.max() < data.num_tracks
        assert data.hit_track.max() < data.num_tracks
        assert data.edge_index.max() < data.num_nodes
        total_pairs += data.pair_index.shape[1]
    assert total_pairs == graphs.n_pairs == sum(n * (n - 1) // 2 for n in table.tracks_per_timeslice)

    # Tracks of a pair always come from the same timeslice, also after re-basing in a batch.
    track_slice = table.track_timeslice_index
    assert np.all(track_slice[graphs.pair_a] == track_slice[graphs.pair_b])
    data = graphs.batch(2, 5)
    local_slice = track_slice[graphs.slice_track_offsets[2] : graphs.slice_track_offsets[5]]
    pair_index = data.pair_index.numpy()
    assert np.all(local_slice[pair_index[0]] == local_slice[pair_index[1]])


def test_feature_widths_match_names():
    table = simulate_timeslices(SimulationConfig.for_geometry("spd", n_events=3, simulate_time=True), 3, seed=1)
    for use_time in (False, True):
        graphs = build_graphs(table, use_time=use_time)
        names = feature_names(use_time)
        assert graphs.hit_x.shape[1] == len(names["hit"])
        assert graphs.track_x.shape[1] == len(names["track"])
        assert graphs.pair_x.shape[1] == len(names["pair"])
        assert np.all(np.isfinite(graphs.hit_x))
        assert np.all(np.isfinite(graphs.pair_x))


def test_time_features_need_time_column():
    table = simulate_timeslices(SimulationConfig.for_geometry("spd", n_events=2), 2, seed=1)
    with pytest.raises(ValueError, match="'t' column"):
        build_graphs(table, use_time=True)
