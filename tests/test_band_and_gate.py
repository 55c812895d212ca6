"""The band fast path of the encoder and the z0 gate of pair scoring."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from gann_core.fit import fit_tracks
from gann_core.graph import band_edges, build_graphs
from gann_core.infer import score_graph_arrays, score_pairs
from gann_core.model import GANN, GATEncoder, Model, ModelConfig
from gann_core.model.encoder import _band_blocks, band_mask
from gann_core.model.network import GATED_LOGIT
from gann_core.pairs import all_pairs, pair_geometry, same_event
from gann_core.simulate import SimulationConfig, simulate_timeslices
from gann_core.table import Timeslices
from gann_core.train import loop
from hit_tables import random_radius_tracks


def _unsorted_tracks(seed: int, n_tracks: int = 30) -> Timeslices:
    """Tracks of 3..20 hits at random radii in random row order, in three timeslices."""
    return random_radius_tracks(seed, n_tracks, 20, lambda track: track % 3)


def _randomised_encoder(in_features, heads, dtype):
    torch.manual_seed(heads)
    encoder = GATEncoder(in_features, 8 * heads, 2, heads).to(dtype)
    with torch.no_grad():
        for parameter in encoder.parameters():
            parameter.add_(0.5 * torch.randn_like(parameter))
    return encoder


def _run(encoder, implementation, data, x, probe):
    encoder.implementation = implementation
    encoder.zero_grad(set_to_none=True)
    x = x.clone().requires_grad_(True)
    out = encoder(x, data.edge_index, data.hit_track, data.num_tracks, band=data.hit_band)
    (out * probe).sum().backward()
    return out.detach(), x.grad.clone(), {name: p.grad.clone() for name, p in encoder.named_parameters()}


@pytest.mark.parametrize("neighbours, heads, dtype, tolerance", [(1, 1, torch.float32, 1e-5), (2, 2, torch.float32, 1e-5), (3, 4, torch.float64, 1e-9)])
@pytest.mark.parametrize("block_nodes", [40, 100_000])
def test_band_encoder_matches_pyg(neighbours, heads, dtype, tolerance, block_nodes):
    table = _unsorted_tracks(seed=neighbours + heads)
    graphs = build_graphs(table, neighbours=neighbours)
    assert graphs.hit_order is not None  # the hits were reordered by r
    data = graphs.batch(0, graphs.n_timeslices)
    assert data.hit_band == neighbours
    x = torch.randn(data.num_nodes, 6, generator=torch.Generator().manual_seed(1), dtype=dtype)
    encoder = _randomised_encoder(6, heads, dtype)
    encoder.block_nodes = block_nodes
    probe = torch.randn(data.num_tracks, encoder.out_features, dtype=dtype)

    reference = _run(encoder, "pyg", data, x, probe)
    fast = _run(encoder, "fast", data, x, probe)
    for got, expected in zip(fast[:2], reference[:2]):
        scale = max(1.0, float(expected.abs().max()))
        assert float((got - expected).abs().max()) <= tolerance * scale
    assert reference[1].abs().max() > 1e-3
    for name, gradient in reference[2].items():
        scale = max(1.0, float(gradient.abs().max()))
        assert float((fast[2][name] - gradient).abs().max()) <= tolerance * scale, name


@pytest.mark.parametrize("neighbours, heads, dtype, tolerance", [(2, 1, torch.float32, 1e-5), (3, 2, torch.float64, 1e-9)])
def test_band_encoder_without_gradient_matches_pyg(neighbours, heads, dtype, tolerance):
    # Without gradients the fast path writes each layer into padded buffers and takes the
    # track means block by block. The 3 tracks after the last hit have no hits (zero rows).
    table = _unsorted_tracks(seed=7 + heads)
    graphs = build_graphs(table, neighbours=neighbours)
    data = graphs.batch(0, graphs.n_timeslices)
    x = torch.randn(data.num_nodes, 6, generator=torch.Generator().manual_seed(2), dtype=dtype)
    encoder = _randomised_encoder(6, heads, dtype)
    encoder.block_nodes = 40
    num_tracks = data.num_tracks + 3
    with torch.inference_mode():
        encoder.implementation = "pyg"
        reference = encoder(x, data.edge_index, data.hit_track, num_tracks)
        encoder.implementation = "fast"
        fast = encoder(x, None, data.hit_track, num_tracks, band=data.hit_band)
    assert fast.shape == (num_tracks, encoder.out_features)
    assert float((fast - reference).abs().max()) <= tolerance * max(1.0, float(reference.abs().max()))
    assert (fast[data.num_tracks :] == 0).all()


def test_band_mask_of_tracks_shorter_than_the_band():
    # Rows: one track of one hit, then a track of two hits. Band 2 reaches past both ends.
    mask = band_mask(torch.tensor([0, 1, 1]), 2)[..., 0]
    valid = torch.isfinite(mask)
    assert valid.tolist() == [
        [False, False, False],  # two rows back
        [False, False, True],  # one row back
        [True, True, True],  # the hit itself
        [False, True, False],  # one row on
        [False, False, False],  # two rows on
    ]
    assert torch.isfinite(band_mask(torch.tensor([5]), 3)[..., 0]).sum() == 1


def test_graph_hits_are_sorted_by_radius_within_tracks():
    table = _unsorted_tracks(seed=4)
    graphs = build_graphs(table)
    r = np.hypot(table.columns["x"], table.columns["y"])[graphs.hit_order]
    track = graphs.hit_track
    assert np.all((np.diff(r) >= 0) | (track[1:] != track[:-1]))
    # Edges are the band: each joins hits of one track at most 2 rows apart.
    source, target = graphs.edge_index
    assert np.all(track[source] == track[target])
    assert np.all((np.abs(source - target) >= 1) & (np.abs(source - target) <= 2))


def test_band_edges_and_mask_by_hand():
    hit_track = np.array([0, 0, 0, 1, 1, 1, 1, 2, 2, 2])
    edges = band_edges(hit_track, 1)
    assert edges.T.tolist() == [[0, 1], [1, 0], [1, 2], [2, 1], [3, 4], [4, 3], [4, 5], [5, 4], [5, 6], [6, 5], [7, 8], [8, 7], [8, 9], [9, 8]]
    mask = band_mask(torch.from_numpy(hit_track), 1)[..., 0]
    # Slots: previous row, the hit itself, next row.
    assert torch.isinf(mask[0, [0, 3, 7]]).all()
    assert torch.isinf(mask[2, [2, 6, 9]]).all()
    assert (mask[1] == 0).all()
    assert int(torch.isinf(mask).sum()) == 6


def test_band_blocks_start_at_a_track():
    hit_track = torch.repeat_interleave(torch.arange(50), torch.randint(3, 12, (50,), generator=torch.Generator().manual_seed(2)))
    blocks = _band_blocks(hit_track, 30)
    assert blocks[0][0] == 0
    assert blocks[-1][1] == len(hit_track)
    assert len(blocks) > 5
    for lo, hi in blocks:
        assert lo == 0 or hit_track[lo] != hit_track[lo - 1]
    assert all(previous[1] == following[0] for previous, following in zip(blocks[:-1], blocks[1:]))


@pytest.fixture(scope="module")
def spd_table():
    return simulate_timeslices(SimulationConfig.for_geometry("spd", n_events=6), 8, seed=21)


def _network(table, gate_mm):
    torch.manual_seed(0)
    network = GANN(ModelConfig(gat_hidden=8, heads=2, track_hidden=8, classifier_hidden=8, z0_gate_mm=gate_mm))
    network.set_normalization(build_graphs(table))
    return network


def test_gate_scores_far_pairs_without_the_classifier(spd_table):
    gated, plain = _network(spd_table, 20.0), _network(spd_table, 0.0)
    plain.load_state_dict(gated.state_dict())
    data = build_graphs(spd_table).batch(0, spd_table.n_timeslices)
    dz0 = pair_geometry(fit_tracks(spd_table), all_pairs(spd_table)).dz0
    far = torch.from_numpy(dz0 > 20.0)
    assert 0 < int(far.sum()) < len(far)

    with torch.no_grad():
        gated.eval(), plain.eval()
        got, expected = gated(data), plain(data)
        assert torch.all(got[far] == GATED_LOGIT)
        assert torch.allclose(got[~far], expected[~far], atol=1e-6)
        # Training mode scores every pair, so the classifier also learns from far pairs.
        gated.train(), plain.train()
        assert torch.allclose(gated(data), plain(data), atol=1e-6)


def test_gated_prediction_equals_scoring_every_pair(spd_table):
    network = _network(spd_table, 20.0).eval()
    model = Model(network=network, metadata={"name": "gated"})
    pairs, scores = score_pairs(model, spd_table)
    with torch.no_grad():
        full = torch.sigmoid(network(build_graphs(spd_table).batch(0, spd_table.n_timeslices))).numpy()
    assert len(scores) == len(full)
    assert np.allclose(scores, full, atol=1e-6)


def test_gated_arrays_hold_only_near_pairs(spd_table):
    network = _network(spd_table, 20.0).eval()
    full = build_graphs(spd_table)
    near_only = build_graphs(spd_table, z0_gate_mm=20.0, truth=False)
    dz0 = pair_geometry(fit_tracks(spd_table), all_pairs(spd_table)).dz0
    assert full.pair_rows is None
    np.testing.assert_array_equal(near_only.pair_rows, np.flatnonzero(dz0 <= 20.0))
    assert 0 < len(near_only.pair_rows) < len(dz0)
    assert near_only.pair_x.shape == (len(near_only.pair_rows), full.pair_x.shape[1])
    np.testing.assert_array_equal(near_only.pair_x, full.pair_x[near_only.pair_rows])

    # Batches of two timeslices place the near pairs' scores among all pairs. The network
    # applies its own gate to the arrays with every pair.
    with torch.no_grad():
        expected = score_graph_arrays(network, full, 2, torch.device("cpu")).numpy()
        got = score_graph_arrays(network, near_only, 2, torch.device("cpu")).numpy()
    assert np.allclose(got, expected, atol=1e-6)
    assert np.all(got[dz0 > 20.0] == np.float32(torch.sigmoid(torch.tensor(GATED_LOGIT)).item()))


def test_training_sets_the_gate_from_true_pairs(spd_table):
    graphs = build_graphs(spd_table)
    truth = same_event(spd_table, all_pairs(spd_table))
    dz0 = pair_geometry(fit_tracks(spd_table), all_pairs(spd_table)).dz0[truth]
    assert loop.z0_gate(graphs, 3.0) == pytest.approx(3.0 * np.quantile(dz0, 0.999), rel=1e-5)
    assert loop.z0_gate(graphs, 0.0) == 0.0
    assert loop.z0_gate(replace(graphs, pair_truth=np.zeros_like(graphs.pair_truth)), 3.0) == 0.0


def test_invalid_gate_rejected():
    with pytest.raises(Exception, match="z0_gate_mm"):
        ModelConfig(z0_gate_mm=-1.0).validate()
    assert ModelConfig.from_dict({"gat_hidden": 32}).z0_gate_mm == 0.0


def test_hit_features_reuse_the_fit_by_products(spd_table):
    from gann_core.graph import hit_features

    fit = fit_tracks(spd_table)
    assert fit.hit_arc_length.shape == (spd_table.n_hits,)
    reused = hit_features(spd_table, fit, False)
    recomputed = hit_features(spd_table, replace(fit, hit_arc_length=None, hit_residual_xy=None, hit_residual_z=None), False)
    assert np.allclose(reused, recomputed, atol=1e-6)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_band_encoder_and_gate_on_cuda(spd_table):
    graphs = build_graphs(spd_table)
    data = graphs.batch(0, graphs.n_timeslices)
    network = _network(spd_table, 20.0).eval()
    with torch.no_grad():
        expected = network(data)
        got = network.cuda()(data.to("cuda")).cpu()
    assert torch.allclose(got, expected, atol=1e-4)


def test_graphs_without_edges_score_the_same(spd_table):
    network = _network(spd_table, 20.0).eval()
    with torch.no_grad():
        full = network(build_graphs(spd_table).batch(0, spd_table.n_timeslices))
        lean_graphs = build_graphs(spd_table, edges=False, truth=False)
        lean = network(lean_graphs.batch(0, spd_table.n_timeslices))
        assert torch.allclose(full, lean)
        assert lean_graphs.edge_index is None
        assert lean_graphs.pair_truth is None

        network.encoder.implementation = "pyg"
        with pytest.raises(ValueError, match="edges=True"):
            network(lean_graphs.batch(0, spd_table.n_timeslices))
