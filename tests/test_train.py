import numpy as np
import pytest

from gann_core.errors import ConfigError
from gann_core.model import Model, ModelConfig
from gann_core.train import Stage, TrainConfig, train
from gann_core.train import loop

TINY_MODEL = ModelConfig(gat_hidden=8, gat_layers=1, heads=1, track_hidden=8, classifier_hidden=16, classifier_layers=1)


def tiny_config(**overrides) -> TrainConfig:
    values = dict(
        stages=(Stage(2, 3), Stage(4, 4)),
        n_train=48,
        n_test=24,
        max_epochs_per_stage=2,
        final_epochs=4,
        batch_size=8,
        learning_rate=1e-2,
        seed=3,
        device="cpu",
        model=TINY_MODEL,
    )
    values.update(overrides)
    return TrainConfig(**values)


def test_tiny_training_learns_well_above_chance(tmp_path):
    result = train(tiny_config(), tmp_path / "model.pt")
    best = result.model.metadata["test_metrics"]
    # About 1 in 5 pairs is true here, so "all false" scores accuracy ≈ 0.8 and recall 0.
    assert best["accuracy"] >= 0.95
    assert best["recall"] >= 0.8
    assert best["precision"] >= 0.8
    assert (tmp_path / "model.pt").is_file()
    loaded = Model.load(tmp_path / "model.pt")
    assert loaded.baselines is not None
    assert loaded.metadata["final_stage"] == "n_events=4, max_tracks=4"


def test_training_log_has_one_line_per_epoch(tmp_path, caplog):
    caplog.set_level("INFO", logger="gann_core.train.loop")
    result = train(tiny_config(final_epochs=2), tmp_path / "model.pt")
    epoch_lines = [record for record in caplog.records if ": loss " in record.getMessage()]
    assert len(epoch_lines) == len(result.history)
    assert "precision" in epoch_lines[-1].getMessage()


def test_stage_promotion_at_accuracy_bar(tmp_path):
    # A bar every epoch clears moves on after one epoch; an unreachable bar uses the cap.
    quick = train(tiny_config(promotion_accuracy=0.05, final_epochs=1), tmp_path / "a.pt")
    assert [record["stage"] for record in quick.history] == [1, 2]
    slow = train(tiny_config(promotion_accuracy=1.0, final_epochs=1), tmp_path / "b.pt")
    assert [record["stage"] for record in slow.history] == [1, 1, 2]


def test_seeded_training_is_reproducible(tmp_path):
    first = train(tiny_config(final_epochs=1), tmp_path / "a.pt")
    second = train(tiny_config(final_epochs=1), tmp_path / "b.pt")
    assert [r["loss"] for r in first.history] == pytest.approx([r["loss"] for r in second.history])


def test_resume_after_interruption(tmp_path, monkeypatch):
    config = tiny_config(final_epochs=3)
    reference = train(config, tmp_path / "reference.pt")

    calls = {"n": 0}
    original = loop._train_epoch

    def interrupted(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(loop, "_train_epoch", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train(config, tmp_path / "model.pt")
    assert not (tmp_path / "model.pt").exists()
    assert (tmp_path / "model.pt.ckpt").is_file()

    monkeypatch.setattr(loop, "_train_epoch", original)
    resumed = train(config, tmp_path / "model.pt", resume=True)
    assert len(resumed.history) == len(reference.history)
    assert [(r["stage"], r["epoch"]) for r in resumed.history] == [(r["stage"], r["epoch"]) for r in reference.history]


def test_resume_with_other_settings_rejected(tmp_path):
    train(tiny_config(final_epochs=1), tmp_path / "model.pt")
    with pytest.raises(ConfigError, match="other training settings"):
        train(tiny_config(final_epochs=2), tmp_path / "model.pt", resume=True)


def test_invalid_settings_rejected(tmp_path):
    with pytest.raises(ConfigError, match="n_train"):
        train(tiny_config(n_train=0), tmp_path / "model.pt")
    with pytest.raises(ConfigError, match="geometry"):
        train(tiny_config(geometry="atlas"), tmp_path / "model.pt")


def test_training_on_files(tmp_path):
    from gann_core.io import write_timeslices
    from gann_core.simulate import SimulationConfig, simulate_timeslices

    table = simulate_timeslices(SimulationConfig.for_geometry("spd", n_events=3, max_tracks=4), 60, seed=8)
    write_timeslices(tmp_path / "mine.parquet", table)
    config = tiny_config(train_files=(str(tmp_path / "mine.parquet"),), n_train=40, n_test=20, final_epochs=3)
    result = train(config, tmp_path / "model.pt")
    assert result.model.metadata["final_stage"] == "files"
    assert result.model.metadata["test_metrics"]["accuracy"] > 0.9
    assert np.isfinite(result.history[-1]["loss"])


def test_accuracy_threshold_hand_case():
    # Sorted scores 0.9 (T), 0.8 (T), 0.7 (F), 0.6 (T), 0.3 (F), 0.2 (F): cutting after 0.6 is
    # 5 of 6 right, as good as cutting after 0.8; the first best cut (0.8 | 0.7) is taken.
    truth = np.array([True, True, False, True, False, False])
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.3, 0.2])
    assert loop.accuracy_threshold(truth, scores) == pytest.approx(0.75)
    truth = np.array([True, True, True, False])
    scores = np.array([0.4, 0.35, 0.3, 0.1])
    assert loop.accuracy_threshold(truth, scores) == pytest.approx(0.2)


def test_tuned_threshold_stored(tmp_path):
    result = train(tiny_config(final_epochs=1, tune_threshold=True), tmp_path / "model.pt")
    assert 0.05 <= result.model.threshold <= 0.95
    assert Model.load(tmp_path / "model.pt").threshold == result.model.threshold


def test_diverging_training_writes_no_model(tmp_path):
    with pytest.raises(FloatingPointError, match="training diverged"):
        train(tiny_config(learning_rate=1e8, final_epochs=2), tmp_path / "model.pt")
    assert not (tmp_path / "model.pt").exists()


def test_non_finite_settings_rejected(tmp_path):
    with pytest.raises(ConfigError, match="learning_rate=nan"):
        train(tiny_config(learning_rate=float("nan")), tmp_path / "model.pt")
    with pytest.raises(ConfigError, match="gamma=nan"):
        train(tiny_config(gamma=float("nan")), tmp_path / "model.pt")


def test_beat_baselines_threshold_is_stored(tmp_path):
    result = train(tiny_config(final_epochs=2, tune_threshold="beat-baselines"), tmp_path / "model.pt")
    assert 0.5 <= result.model.threshold <= 0.95
    assert Model.load(tmp_path / "model.pt").threshold == result.model.threshold


def _stage_with_scores(monkeypatch, truth, baseline):
    final = loop.StageData(None, None, None, None, None)
    final.test_graphs = type("Graphs", (), {"pair_truth": truth, "pair_a": np.arange(len(truth)), "pair_b": np.arange(len(truth)) + 1})()
    monkeypatch.setattr("gann_core.baselines.baseline_scores", lambda *args, **kwargs: {"z0": baseline})
    monkeypatch.setattr("gann_core.baselines.calibrate_baselines", lambda table: None)
    return final


def test_beat_baselines_threshold_on_hand_made_scores(monkeypatch):
    # Eight pairs. At 0.5 the network has 4 true of 6 above (P 0.67, R 1) and the baseline
    # 3 of 4 (P 0.75, R 0.75): the network loses on precision and accuracy.
    truth = np.array([True, True, True, False, True, False, False, False])
    scores = np.array([0.99, 0.9, 0.8, 0.62, 0.58, 0.52, 0.3, 0.2])
    baseline = np.array([0.9, 0.9, 0.9, 0.9, 0.1, 0.1, 0.1, 0.1])
    final = _stage_with_scores(monkeypatch, truth, baseline)

    threshold, figures = loop.beat_baselines_threshold(final, scores, 0.5)
    # A pair counts when its score is above the threshold. From 0.52 to below 0.58 the
    # network has 4 of 5 (P 0.8, R 1, A 7/8) against the baseline's 0.75 / 0.75 / 6/8.
    # From 0.58 it has 3 of 4 (P 0.75, R 0.75), which only ties the baseline. So the margin
    # is largest in the first range, and its lowest grid point is taken.
    assert threshold == pytest.approx(0.52)
    assert figures["network"] == pytest.approx({"precision": 0.8, "recall": 1.0, "accuracy": 0.875})
    assert figures["baselines"]["z0"]["precision"] == pytest.approx(0.75)


def test_beat_baselines_keeps_winning_threshold(monkeypatch):
    truth = np.array([True, True, False, False])
    final = _stage_with_scores(monkeypatch, truth, np.array([0.9, 0.1, 0.9, 0.1]))
    threshold, figures = loop.beat_baselines_threshold(final, np.array([0.9, 0.8, 0.2, 0.1]), 0.5)
    assert threshold == 0.5
    assert figures["network"]["accuracy"] == 1.0


def test_threshold_rule_names_checked():
    with pytest.raises(ConfigError, match="tune_threshold='best'"):
        tiny_config(tune_threshold="best").validate()
    assert tiny_config(tune_threshold=True).tune_threshold == "accuracy"
