"""The fast GAT encoder against torch_geometric's GATConv: values and gradients to 1e-5."""

import numpy as np
import pytest
import torch

from gann_core.graph import build_graphs, hit_edges
from gann_core.model import GANN, GATEncoder, ModelConfig
from gann_core.model.encoder import (
    GATLayer,
    NeighbourTable,
    SelfLoopEdges,
    _layer_parameters,
    edge_list_gat_layer,
    padded_gat_layer,
)
from gann_core.simulate import SimulationConfig, simulate_timeslices
from gann_core.table import Timeslices
from hit_tables import random_radius_tracks

#: Largest difference allowed in float32. Parameter gradients are sums over thousands of
#: hits, so for them the bound scales with the gradient's largest value (at least 1).
TOLERANCE = 1e-5
#: In float64 the two implementations differ only by rounding, far below this.
TOLERANCE_FLOAT64 = 1e-9


def _assert_close(fast, reference, tolerance, name=""):
    fast, reference = fast.detach(), reference.detach()
    scale = max(1.0, float(reference.abs().max())) if reference.numel() else 1.0
    difference = float((fast - reference).abs().max()) if reference.numel() else 0.0
    assert difference <= tolerance * scale, f"{name}: max difference {difference:.3g} > {tolerance:g} × {scale:.3g}"


def _random_tracks(seed: int, n_tracks: int = 40) -> Timeslices:
    """Helix-free random hits: tracks of 3..35 hits with random radii, in two timeslices."""
    return random_radius_tracks(seed, n_tracks, 35, lambda track: track >= n_tracks // 2)


def _encoder_inputs(seed: int, neighbours: int, in_features: int = 7, dtype=torch.float32):
    table = _random_tracks(seed)
    edge_index = torch.from_numpy(hit_edges(table, neighbours))
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(table.n_hits, in_features, generator=generator, dtype=dtype)
    hit_track = torch.from_numpy(table.hit_track_index)
    return x, edge_index, hit_track, table.n_tracks


def _randomised_encoder(in_features: int, hidden: int, layers: int, heads: int, seed: int, dtype=torch.float32) -> GATEncoder:
    torch.manual_seed(seed)
    encoder = GATEncoder(in_features, hidden, layers, heads).to(dtype)
    # Bias and attention vectors start at zero or small; larger values exercise every term.
    with torch.no_grad():
        for parameter in encoder.parameters():
            parameter.add_(0.5 * torch.randn_like(parameter))
    return encoder


def _outputs_and_gradients(encoder, implementation, x, edge_index, hit_track, num_tracks, probe):
    encoder.implementation = implementation
    encoder.zero_grad(set_to_none=True)
    x = x.clone().requires_grad_(True)
    out = encoder(x, edge_index, hit_track, num_tracks)
    (out * probe).sum().backward()
    gradients = {name: parameter.grad.clone() for name, parameter in encoder.named_parameters()}
    return out.detach(), x.grad.clone(), gradients


def _assert_same_results(fast, reference, tolerance):
    _assert_close(fast[0], reference[0], tolerance, "encoder output")
    _assert_close(fast[1], reference[1], tolerance, "gradient of the hit features")
    assert reference[1].abs().max() > 1e-3  # the gradient compared is not trivially zero
    for name, gradient in reference[2].items():
        _assert_close(fast[2][name], gradient, tolerance, f"gradient of {name}")


@pytest.mark.parametrize(
    "heads, neighbours, dtype",
    [
        (1, 1, torch.float32),
        (2, 2, torch.float32),
        (4, 3, torch.float32),
        (2, 2, torch.float64),
        (4, 3, torch.float64),
    ],
)
def test_fast_encoder_matches_pyg(heads, neighbours, dtype):
    x, edge_index, hit_track, num_tracks = _encoder_inputs(seed=heads * 10 + neighbours, neighbours=neighbours, dtype=dtype)
    encoder = _randomised_encoder(x.shape[1], hidden=8 * heads, layers=2, heads=heads, seed=heads, dtype=dtype)
    # Small blocks, so that the graph is cut into many blocks of whole tracks.
    encoder.block_nodes = 97
    probe = torch.randn(num_tracks, encoder.out_features, dtype=dtype)

    reference = _outputs_and_gradients(encoder, "pyg", x, edge_index, hit_track, num_tracks, probe)
    fast = _outputs_and_gradients(encoder, "fast", x, edge_index, hit_track, num_tracks, probe)

    _assert_same_results(fast, reference, TOLERANCE if dtype == torch.float32 else TOLERANCE_FLOAT64)


def test_fast_encoder_matches_pyg_on_shuffled_hits():
    # Hits in random order: targets are unsorted and no cut between blocks is possible
    # except where the shuffled order happens to allow one.
    x, edge_index, hit_track, num_tracks = _encoder_inputs(seed=5, neighbours=2)
    order = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(1))
    position = torch.empty_like(order)
    position[order] = torch.arange(len(order))
    x, hit_track, edge_index = x[order], hit_track[order], position[edge_index]
    encoder = _randomised_encoder(x.shape[1], hidden=16, layers=2, heads=2, seed=3)
    encoder.block_nodes = 50
    probe = torch.randn(num_tracks, encoder.out_features)

    reference = _outputs_and_gradients(encoder, "pyg", x, edge_index, hit_track, num_tracks, probe)
    fast = _outputs_and_gradients(encoder, "fast", x, edge_index, hit_track, num_tracks, probe)

    _assert_same_results(fast, reference, TOLERANCE)


def _irregular_graph(seed: int, n_nodes: int = 300, n_edges: int = 1200):
    """Random directed edges with duplicates, self loops and isolated nodes."""
    generator = torch.Generator().manual_seed(seed)
    edge_index = torch.randint(0, n_nodes - 20, (2, n_edges), generator=generator)
    edge_index = torch.cat([edge_index, edge_index[:, :50], torch.arange(30).repeat(2, 1)], dim=1)
    x = torch.randn(n_nodes, 6, generator=generator)
    return x, edge_index


@pytest.mark.parametrize("layer", ["padded", "edge_list"])
def test_fast_layer_matches_gatconv_on_irregular_graph(layer):
    x, edge_index = _irregular_graph(seed=2)
    encoder = _randomised_encoder(6, hidden=12, layers=1, heads=3, seed=4)
    conv = encoder.convs[0]
    probe = torch.randn(x.shape[0], 12)

    x_reference = x.clone().requires_grad_(True)
    reference = conv.reference()(x_reference, edge_index)
    (reference * probe).sum().backward()
    reference_gradients = {name: p.grad.clone() for name, p in conv.named_parameters()}
    conv.zero_grad(set_to_none=True)

    x_fast = x.clone().requires_grad_(True)
    if layer == "padded":
        table = NeighbourTable.from_edge_index(edge_index, x.shape[0])
        assert table.block_offsets == [0, x.shape[0]]
        fast = padded_gat_layer(x_fast, **_layer_parameters(conv), gather_index=table.gather_index, score_index=table.score_index)
    else:
        edges = SelfLoopEdges.from_edge_index(edge_index, x.shape[0])
        fast = edge_list_gat_layer(x_fast, **_layer_parameters(conv), edges=edges)
    (fast * probe).sum().backward()

    _assert_close(fast, reference, TOLERANCE, "layer output")
    _assert_close(x_fast.grad, x_reference.grad, TOLERANCE, "gradient of the input")
    for name, parameter in conv.named_parameters():
        _assert_close(parameter.grad, reference_gradients[name], TOLERANCE, f"gradient of {name}")


def test_layer_has_gatconv_parameters_and_initial_values():
    from torch_geometric.nn import GATConv

    torch.manual_seed(11)
    ours = GATLayer(7, 5, heads=3)
    after_ours = torch.rand(1)
    torch.manual_seed(11)
    theirs = GATConv(7, 5, heads=3, concat=True, add_self_loops=True)
    after_theirs = torch.rand(1)

    assert ours.state_dict().keys() == theirs.state_dict().keys()
    for name, value in theirs.state_dict().items():
        assert torch.equal(ours.state_dict()[name], value), name
    # Both drew the same random numbers, so training from a seed is unchanged.
    assert torch.equal(after_ours, after_theirs)


def test_reference_layer_shares_parameters_and_random_state():
    layer = GATLayer(4, 2, heads=2)
    torch.manual_seed(3)
    conv = layer.reference()
    drawn = torch.rand(1)
    torch.manual_seed(3)
    assert torch.equal(drawn, torch.rand(1))  # building the reference drew no random numbers
    assert conv.lin.weight is layer.lin.weight
    assert conv.att_src is layer.att_src
    assert conv.att_dst is layer.att_dst
    assert conv.bias is layer.bias


def test_neighbour_table_cuts_only_between_tracks():
    table = _random_tracks(seed=8)
    edge_index = torch.from_numpy(hit_edges(table, 2))
    neighbours = NeighbourTable.from_edge_index(edge_index, table.n_hits, block_size=100)
    offsets = np.asarray(neighbours.block_offsets)
    track_starts = set(table.track_offsets.tolist())

    assert offsets[0] == 0
    assert offsets[-1] == table.n_hits
    assert len(offsets) > 5
    assert set(offsets.tolist()) <= track_starts
    assert neighbours.gather_index.shape == (table.n_hits, 5)


def test_neighbour_table_without_edges():
    neighbours = NeighbourTable.from_edge_index(torch.zeros((2, 0), dtype=torch.int64), 4)
    assert neighbours.gather_index.tolist() == [[0], [1], [2], [3]]
    assert neighbours.block_offsets == [0, 4]


def test_invalid_implementation_rejected():
    with pytest.raises(ValueError, match="implementation"):
        GATEncoder(5, implementation="dense")


def test_model_runs_with_either_implementation():
    table = simulate_timeslices(SimulationConfig.for_geometry("spd", n_events=3), 4, seed=2)
    graphs = build_graphs(table)
    torch.manual_seed(0)
    network = GANN(ModelConfig(gat_hidden=16, heads=2, track_hidden=16, classifier_hidden=16)).eval()
    network.set_normalization(graphs)
    copy = GANN(network.config).eval()
    copy.load_state_dict(network.state_dict())
    data = graphs.batch(0, graphs.n_timeslices)

    network.encoder.implementation = "pyg"
    copy.encoder.implementation = "fast"
    with torch.no_grad():
        assert (network(data) - copy(data)).abs().max() <= TOLERANCE


def test_compiled_fast_layer_matches_pyg():
    x, edge_index, hit_track, num_tracks = _encoder_inputs(seed=12, neighbours=2)
    encoder = _randomised_encoder(x.shape[1], hidden=16, layers=2, heads=2, seed=5)
    with torch.no_grad():
        encoder.implementation = "pyg"
        reference = encoder(x, edge_index, hit_track, num_tracks)
        encoder.implementation = "fast"
        encoder.compile_layers = True
        try:
            compiled = encoder(x, edge_index, hit_track, num_tracks)
        # Inductor reports a missing or failing C++ compiler through several exception types.
        except Exception as error:  # noqa: BLE001
            pytest.skip(f"torch.compile does not work on this machine: {type(error).__name__}: {error}")
    _assert_close(compiled, reference, TOLERANCE, "compiled encoder output")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_fast_encoder_matches_pyg_on_cuda():
    x, edge_index, hit_track, num_tracks = _encoder_inputs(seed=3, neighbours=2)
    encoder = _randomised_encoder(x.shape[1], hidden=16, layers=2, heads=2, seed=6).cuda()
    probe = torch.randn(num_tracks, encoder.out_features).cuda()
    inputs = (x.cuda(), edge_index.cuda(), hit_track.cuda(), num_tracks)

    reference = _outputs_and_gradients(encoder, "pyg", *inputs, probe)
    fast = _outputs_and_gradients(encoder, "fast", *inputs, probe)

    _assert_same_results(fast, reference, TOLERANCE)

