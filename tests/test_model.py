import numpy as np
import pytest
import torch

from gann_core.errors import ModelFileError
from gann_core.graph import build_graphs
from gann_core.infer import score_pairs
from gann_core.model import GANN, Model, ModelConfig
from gann_core.pairs import all_pairs
from gann_core.simulate import SimulationConfig, simulate_timeslices
from gann_core.table import Timeslices


@pytest.fixture(scope="module")
def table() -> Timeslices:
    return simulate_timeslices(SimulationConfig.for_geometry("spd", n_events=4), 6, seed=11)


@pytest.fixture(scope="module")
def model(table) -> Model:
    torch.manual_seed(0)
    network = GANN(ModelConfig(gat_hidden=16, heads=2, track_hidden=16, classifier_hidden=16))
    network.set_normalization(build_graphs(table))
    # Random but non-trivial weights: perturb so the classifier output varies with its inputs.
    with torch.no_grad():
        for parameter in network.parameters():
            parameter.add_(0.3 * torch.randn_like(parameter))
    return Model(network=network.eval(), baselines=None, metadata={"name": "test"})


def _scores_by_track_id(table, pairs, scores):
    slice_ids = table.timeslice_ids[table.track_timeslice_index]
    ids = table.track_ids
    out = {}
    for a, b, score in zip(pairs.track_a, pairs.track_b, scores):
        key = (slice_ids[a], *sorted((ids[a], ids[b])))
        out[key] = score
    return out


def test_pair_score_symmetric_in_the_two_tracks(model, table):
    graphs = build_graphs(table)
    data = graphs.batch(0, graphs.n_timeslices)
    with torch.no_grad():
        forward = model.network(data)
        data.pair_index = data.pair_index.flip(0)
        backward = model.network(data)
    assert torch.allclose(forward, backward, atol=1e-6)
    assert forward.std() > 1e-3


def test_pair_score_invariant_to_hit_and_track_order(model, table):
    pairs, scores = score_pairs(model, table)
    rng = np.random.default_rng(5)

    # Shuffle every row, and renumber the tracks of each timeslice.
    order = rng.permutation(table.n_hits)
    columns = {name: values[order] for name, values in table.columns.items()}
    new_ids = {}
    for slice_id, track_id in zip(columns["timeslice_id"], columns["track_id"]):
        new_ids.setdefault((slice_id, track_id), None)
    keys = list(new_ids)
    for key, value in zip(keys, rng.permutation(len(keys)) + 100):
        new_ids[key] = value
    columns["original_track_id"] = columns["track_id"].copy()
    columns["track_id"] = np.array([new_ids[key] for key in zip(columns["timeslice_id"], columns["original_track_id"])])
    shuffled = Timeslices.from_columns(columns)
    shuffled_pairs, shuffled_scores = score_pairs(model, shuffled)

    expected = _scores_by_track_id(table, pairs, scores)
    original_ids = shuffled.track_column("original_track_id")
    slice_ids = shuffled.timeslice_ids[shuffled.track_timeslice_index]
    assert len(shuffled_scores) == len(scores)
    for a, b, score in zip(shuffled_pairs.track_a, shuffled_pairs.track_b, shuffled_scores):
        key = (slice_ids[a], *sorted((original_ids[a], original_ids[b])))
        assert score == pytest.approx(expected[key], abs=1e-5)


def test_scores_independent_of_batch_size(model, table):
    _, one = score_pairs(model, table, batch_size=1)
    _, many = score_pairs(model, table, batch_size=64)
    assert np.allclose(one, many, atol=1e-6)


def test_any_hit_count_from_three(model):
    table = simulate_timeslices(SimulationConfig.for_geometry("trackml", n_events=3, missing_hit_prob=0.3), 4, seed=2)
    assert table.hits_per_track.min() >= 3
    pairs, scores = score_pairs(model_for(table), table)
    assert len(scores) == len(all_pairs(table))
    assert np.all((scores >= 0) & (scores <= 1))


def model_for(table):
    network = GANN(ModelConfig(gat_hidden=8, heads=1, track_hidden=8, classifier_hidden=8))
    network.set_normalization(build_graphs(table))
    return Model(network=network.eval())


def test_save_load_round_trip(model, table, tmp_path):
    path = model.save(tmp_path / "model.pt")
    loaded = Model.load(path)
    assert loaded.config == model.config
    assert loaded.metadata == model.metadata
    _, before = score_pairs(model, table)
    _, after = score_pairs(loaded, table)
    assert np.array_equal(before, after)


def test_missing_model_file(tmp_path):
    with pytest.raises(ModelFileError, match="not found"):
        Model.load(tmp_path / "absent.pt")


def test_garbage_model_file(tmp_path):
    path = tmp_path / "garbage.pt"
    path.write_bytes(b"this is not a model" * 10)
    with pytest.raises(ModelFileError, match="not a readable GANN model"):
        Model.load(path)


def test_truncated_model_file(model, tmp_path):
    path = model.save(tmp_path / "model.pt")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError):
        Model.load(path)


def test_foreign_torch_file(tmp_path):
    path = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(3)}, path)
    with pytest.raises(ModelFileError, match="not a GANN model file"):
        Model.load(path)


class _Payload:
    def __reduce__(self):
        return (print, ("code from a model file ran",))


def test_model_file_with_code_is_not_executed(tmp_path, capsys):
    path = tmp_path / "evil.pt"
    torch.save({"format": "gann-model", "payload": _Payload()}, path)
    with pytest.raises(ModelFileError):
        Model.load(path)
    assert "code from a model file ran" not in capsys.readouterr().out


def test_weights_of_other_architecture(model, tmp_path):
    path = model.save(tmp_path / "model.pt")
    content = torch.load(path, weights_only=True)
    content["config"]["gat_hidden"] = 32
    torch.save(content, path)
    with pytest.raises(ModelFileError, match="do not match"):
        Model.load(path)


def test_assembly_threshold_round_trip(model, tmp_path):
    from dataclasses import replace

    split = replace(model, threshold=0.6, assembly_threshold=0.5)
    loaded = Model.load(split.save(tmp_path / "split.pt"))
    assert (loaded.threshold, loaded.assembly_threshold) == (0.6, 0.5)
    assert replace(model, threshold=0.7, assembly_threshold=None).assembly_threshold == 0.7


def test_thresholds_follow_the_request(model):
    from dataclasses import replace

    from gann_core.infer import thresholds

    split = replace(model, threshold=0.6, assembly_threshold=0.5)
    assert thresholds(split, None, None) == (0.6, 0.5)
    assert thresholds(split, 0.7, None) == (0.7, 0.7)
    assert thresholds(split, 0.7, 0.4) == (0.7, 0.4)
    assert thresholds(split, None, 0.4) == (0.6, 0.4)


def test_predict_assembles_at_the_assembly_threshold(model, table):
    from dataclasses import replace

    from gann_core.assembly import assemble_events
    from gann_core.infer import predict

    split = replace(model, threshold=0.9, assembly_threshold=0.2)
    prediction = predict(split, table)
    expected = assemble_events(table.slice_track_offsets, prediction.pairs, prediction.scores, threshold=0.2, method=split.assembly)
    assert np.array_equal(prediction.track_labels, expected)
    assert (prediction.threshold, prediction.assembly_threshold) == (0.9, 0.2)
