"""Parallel chunked scoring and streamed prediction give the same pairs, scores and labels."""

import numpy as np
import pytest
import torch

from gann_core import infer
from gann_core.errors import InputFileError
from gann_core.graph import build_graphs
from gann_core.infer import map_in_order, predict, predict_chunks, score_pairs
from gann_core.io import TimesliceChunks, write_timeslices
from gann_core.model import GANN, Model, ModelConfig
from gann_core.simulate import SimulationConfig, simulate_timeslices


@pytest.fixture(scope="module")
def table():
    return simulate_timeslices(SimulationConfig.for_geometry("spd", n_events=5), 11, seed=8)


@pytest.fixture(scope="module")
def model(table):
    torch.manual_seed(1)
    network = GANN(ModelConfig(gat_hidden=8, heads=2, track_hidden=8, classifier_hidden=8, z0_gate_mm=30.0))
    network.set_normalization(build_graphs(table))
    return Model(network=network.eval(), metadata={"name": "parallel test"})


@pytest.mark.parametrize("candidates", ["all", "z0-window"])
@pytest.mark.parametrize("workers", [1, 2])
def test_chunked_scores_equal_plain_ones(model, table, candidates, workers, monkeypatch):
    monkeypatch.setattr(infer, "CHUNK_TIMESLICES", 3)
    monkeypatch.setattr(infer, "parallel_workers", lambda: workers)
    threads = torch.get_num_threads()
    plain_pairs, plain = score_pairs(model, table, batch_size=2, candidates=candidates, z0_window=3, chunked=False)
    pairs, scores = score_pairs(model, table, batch_size=2, candidates=candidates, z0_window=3, chunked=True)
    assert np.array_equal(pairs.track_a, plain_pairs.track_a)
    assert np.array_equal(pairs.track_b, plain_pairs.track_b)
    assert np.allclose(scores, plain, atol=1e-6)
    assert torch.get_num_threads() == threads  # restored after the workers are done


def test_predict_runs_chunks_in_threads(model, table, monkeypatch):
    monkeypatch.setattr(infer, "CHUNK_TIMESLICES", 4)
    monkeypatch.setattr(infer, "parallel_workers", lambda: 2)
    calls = []
    original = infer.ThreadPoolExecutor

    def recording(*args, **kwargs):
        calls.append(kwargs)
        return original(*args, **kwargs)

    monkeypatch.setattr(infer, "ThreadPoolExecutor", recording)
    prediction = predict(model, table, batch_size=2)
    assert calls == [{"max_workers": 2, "thread_name_prefix": "gann-chunks"}]
    assert len(prediction.track_labels) == table.n_tracks

    # The labels assembled chunk by chunk in the workers equal one assembly of the whole table.
    monkeypatch.setattr(infer, "parallel_workers", lambda: 1)
    plain = predict(model, table, batch_size=2)
    assert np.array_equal(prediction.track_labels, plain.track_labels)
    assert np.allclose(prediction.scores, plain.scores, atol=1e-6)


def test_chunks_reject_precomputed_inputs(model, table):
    with pytest.raises(ValueError, match="chunked=True"):
        score_pairs(model, table, chunked=True, fit=object())


@pytest.mark.parametrize("workers", [1, 2])
def test_streamed_chunks_equal_whole_table(model, table, tmp_path, monkeypatch, workers):
    monkeypatch.setattr(infer, "parallel_workers", lambda: workers)
    path = tmp_path / "slices.parquet"
    write_timeslices(path, table)
    whole = predict(model, table, batch_size=4)

    parts = list(predict_chunks(model, TimesliceChunks(path, timeslices_per_chunk=3), batch_size=4))

    assert [part.table.n_timeslices for part in parts] == [3, 3, 3, 2]
    assert np.array_equal(np.concatenate([part.track_labels for part in parts]), whole.track_labels)
    assert np.allclose(np.concatenate([part.scores for part in parts]), whole.scores, atol=1e-6)
    joined = np.concatenate([part.table.columns["event_pred"] for part in parts])
    assert np.array_equal(joined, whole.table.columns["event_pred"])


def test_map_in_order_keeps_order():
    assert list(map_in_order(lambda value: value * 2, range(7), 3)) == [0, 2, 4, 6, 8, 10, 12]


def test_map_in_order_raises_worker_error():
    def failing(value):
        if value == 4:
            raise RuntimeError("chunk 4 failed")
        return value

    results = map_in_order(failing, range(7), 2)
    assert [next(results) for _ in range(4)] == [0, 1, 2, 3]
    with pytest.raises(RuntimeError, match="chunk 4 failed"):
        next(results)


@pytest.mark.parametrize("workers", [1, 2])
def test_extreme_coordinate_gives_clear_error(model, table, monkeypatch, workers):
    monkeypatch.setattr(infer, "CHUNK_TIMESLICES", 4)
    monkeypatch.setattr(infer, "parallel_workers", lambda: workers)
    y = table.columns["y"].copy()
    y[100] = 1e103
    extreme = table.with_columns(y=y)

    with pytest.raises(InputFileError, match=r"NaN scores to \d+ pairs? \(first in timeslice 0\).*1e\+103 mm"):
        predict(model, extreme, batch_size=2)
    with pytest.raises(InputFileError, match="NaN scores"):
        score_pairs(model, extreme, chunked=False)
