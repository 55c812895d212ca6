"""Pipelined scoring (graph arrays built in a worker thread) gives the same pairs and scores."""

import numpy as np
import pytest
import torch

from gann_core import infer
from gann_core.graph import build_graphs
from gann_core.infer import predict, score_pairs
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
    return Model(network=network.eval(), metadata={"name": "pipeline test"})


@pytest.mark.parametrize("candidates", ["all", "z0-window"])
def test_pipelined_scores_equal_plain_ones(model, table, candidates, monkeypatch):
    monkeypatch.setattr(infer, "PIPELINE_TIMESLICES", 3)
    threads = torch.get_num_threads()
    plain_pairs, plain = score_pairs(model, table, batch_size=2, candidates=candidates, z0_window=3, pipeline=False)
    pairs, scores = score_pairs(model, table, batch_size=2, candidates=candidates, z0_window=3, pipeline=True)
    assert np.array_equal(pairs.track_a, plain_pairs.track_a)
    assert np.array_equal(pairs.track_b, plain_pairs.track_b)
    assert np.allclose(scores, plain, atol=1e-6)
    assert torch.get_num_threads() == threads  # restored after the worker is done


def test_predict_uses_the_pipeline_on_large_tables(model, table, monkeypatch):
    monkeypatch.setattr(infer, "PIPELINE_TIMESLICES", 4)
    monkeypatch.setattr(infer, "usable_cores", lambda: 2)
    calls = []
    original = infer.ThreadPoolExecutor

    def recording(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(infer, "ThreadPoolExecutor", recording)
    prediction = predict(model, table, batch_size=2)
    assert calls
    assert len(prediction.track_labels) == table.n_tracks

    # The labels assembled chunk by chunk in the worker equal one assembly of the whole table.
    monkeypatch.setattr(infer, "usable_cores", lambda: 1)
    plain = predict(model, table, batch_size=2)
    assert np.array_equal(prediction.track_labels, plain.track_labels)
    assert np.allclose(prediction.scores, plain.scores, atol=1e-6)


def test_pipeline_refuses_precomputed_inputs(model, table):
    with pytest.raises(ValueError, match="pipeline=True"):
        score_pairs(model, table, pipeline=True, fit=object())
