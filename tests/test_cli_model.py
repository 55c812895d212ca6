"""``gann train``, ``predict``, ``evaluate`` and ``demo`` on small inputs, including user mistakes."""

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from gann_core import infer as gann_infer
from gann_core.cli import main
from gann_core.io import pairs_path, read_pairs, read_timeslices, write_timeslices
from gann_core.simulate import SimulationConfig, simulate_timeslices

TINY_TRAIN = [
    "--preset", "spd-10", "--n-train", "40", "--n-test", "20", "--final-epochs", "2",
    "--max-epochs-per-stage", "1", "--batch-size", "8", "--device", "cpu", "--no-progress",
    "--model-set", "gat_hidden=8", "--model-set", "heads=1", "--model-set", "track_hidden=8",
    "--model-set", "classifier_hidden=8",
]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "tiny.pt"
    assert main(["train", *TINY_TRAIN, "-o", str(path)]) == 0
    return path


@pytest.fixture(scope="module")
def slices_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "slices.parquet"
    write_timeslices(path, simulate_timeslices(SimulationConfig.for_geometry("spd", n_events=5), 12, seed=4))
    return path


def test_train_writes_model_and_summary(tiny_model, capsys):
    assert tiny_model.is_file()
    assert tiny_model.with_name("tiny.pt.ckpt").is_file()


def test_predict_writes_hits_and_pairs(tiny_model, slices_file, tmp_path, capsys):
    out = tmp_path / "pred.parquet"
    assert main(["predict", str(slices_file), "-o", str(out), "--model", str(tiny_model), "--no-progress"]) == 0
    predicted = read_timeslices(out)
    original = read_timeslices(slices_file)
    assert predicted.n_hits == original.n_hits
    labels = predicted.columns["event_pred"]
    # One label per track: constant over the hits of every track.
    starts = predicted.track_offsets[:-1]
    assert np.array_equal(np.maximum.reduceat(labels, starts), np.minimum.reduceat(labels, starts))

    pairs = read_pairs(pairs_path(out))
    expected_pairs = sum(n * (n - 1) // 2 for n in original.tracks_per_timeslice)
    assert len(pairs["score"]) == expected_pairs
    assert set(pairs) >= {"timeslice_id", "track_a", "track_b", "score", "same_event"}
    assert np.all((pairs["score"] >= 0) & (pairs["score"] <= 1))
    assert "pairs scored" in capsys.readouterr().out


def test_predict_starts_without_slow_imports(tiny_model, slices_file, tmp_path):
    # Predicting needs neither torch-geometric (about 1.5 s to import, because it imports
    # torch._dynamo) nor pandas (about 0.2 s, which pyarrow imports on its first numpy conversion).
    import subprocess
    import sys

    out = tmp_path / "pred.parquet"
    script = (
        "import sys; from gann_core.cli import main; "
        f"code = main(['predict', {str(slices_file)!r}, '-o', {str(out)!r}, '--model', {str(tiny_model)!r}, '--no-progress']); "
        "print(sorted(name for name in ('torch_geometric', 'pandas') if name in sys.modules)); sys.exit(code)"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_evaluate_table_and_json(tiny_model, slices_file, capsys):
    assert main(["evaluate", str(slices_file), "--model", str(tiny_model)]) == 0
    text = capsys.readouterr().out
    for method in ("network", "z0 gap", "z0 linkage", "helix crossing"):
        assert method in text
    assert f"file {slices_file}" in text
    assert "threshold: 0.5" in text

    assert main(["evaluate", str(slices_file), "--model", str(tiny_model), "--json", "--threshold", "0.7"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["threshold"] == 0.7
    assert {row["method"] for row in report["rows"]} >= {"network", "z0 gap", "z0 linkage", "helix crossing"}
    for row in report["rows"]:
        assert 0.0 <= row["accuracy"] <= 1.0


def test_evaluate_on_simulation(tiny_model, capsys):
    assert main(["evaluate", "--model", str(tiny_model), "-n", "5", "--n-events", "3", "--seed", "1"]) == 0
    assert "simulated spd: 5 timeslices, seed 1" in capsys.readouterr().out


def test_predict_bad_model_file(slices_file, tmp_path, capsys):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\x00garbage")
    out = tmp_path / "pred.parquet"
    assert main(["predict", str(slices_file), "-o", str(out), "--model", str(bad)]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1
    assert "not a readable GANN model file" in error
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [bad]


def test_predict_missing_model_file(slices_file, tmp_path, capsys):
    assert main(["predict", str(slices_file), "-o", str(tmp_path / "p.parquet"), "--model", str(tmp_path / "none.pt")]) == 2
    assert "not found" in capsys.readouterr().err


def test_predict_invalid_threshold(tiny_model, slices_file, tmp_path, capsys):
    out = tmp_path / "pred.parquet"
    assert main(["predict", str(slices_file), "-o", str(out), "--model", str(tiny_model), "--threshold", "1.5"]) == 2
    assert "--threshold 1.5 is invalid" in capsys.readouterr().err
    assert not out.exists()


def test_predict_not_parquet(tiny_model, tmp_path, capsys):
    source = tmp_path / "notes.parquet"
    source.write_text("x,y,z\n1,2,3\n")
    out = tmp_path / "pred.parquet"
    assert main(["predict", str(source), "-o", str(out), "--model", str(tiny_model)]) == 2
    assert str(source) in capsys.readouterr().err
    assert not out.exists()


def test_predict_error_without_progress_bar(tiny_model, slices_file, tmp_path, capsys):
    source = tmp_path / "no_x.parquet"
    table = pq.read_table(slices_file)
    pq.write_table(table.drop_columns(["x"]), source)
    out = tmp_path / "pred.parquet"
    capsys.readouterr()
    # The progress bar is on (no --no-progress), but the first chunk fails before it shows.
    assert main(["predict", str(source), "-o", str(out), "--model", str(tiny_model)]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [err.strip()]
    assert "missing required column(s) x" in err
    assert "predicting" not in err


def test_info_on_pairs_file_names_hits_file(tiny_model, slices_file, tmp_path, capsys):
    out = tmp_path / "pred.parquet"
    assert main(["predict", str(slices_file), "-o", str(out), "--model", str(tiny_model), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["info", str(pairs_path(out))]) == 2
    err = capsys.readouterr().err
    assert "is a pairs file" in err
    assert f"({out})" in err


def test_predict_rejects_output_over_input(tiny_model, slices_file, tmp_path, capsys):
    source = tmp_path / "slices.parquet"
    source.write_bytes(slices_file.read_bytes())
    assert main(["predict", str(source), "-o", str(source), "--model", str(tiny_model), "--no-progress"]) == 2
    assert "would overwrite the input file" in capsys.readouterr().err
    assert source.read_bytes() == slices_file.read_bytes()


def test_unknown_option_shows_command_usage(tiny_model, slices_file, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["predict", str(slices_file), "-o", str(tmp_path / "p.parquet"), "--colour", "red"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: gann predict")
    assert "gann predict: error: unrecognized arguments: --colour red" in err


def test_predict_bad_value_in_late_chunk(tiny_model, tmp_path, capsys, monkeypatch):
    # Chunks of 2 timeslices: the bad hit lies in the last chunk, after earlier ones were written.
    monkeypatch.setattr(gann_infer, "CHUNK_TIMESLICES", 2)
    table = simulate_timeslices(SimulationConfig.for_geometry("spd", n_events=3), 7, seed=9)
    columns = dict(table.columns)
    columns["z"] = columns["z"].copy()
    bad_row = table.n_hits - 5
    columns["z"][bad_row] = np.nan
    source = tmp_path / "bad.parquet"
    pq.write_table(pa.table(columns), source)
    out = tmp_path / "pred.parquet"
    write_timeslices(out, table)
    before = out.read_bytes()

    assert main(["predict", str(source), "-o", str(out), "--model", str(tiny_model), "--no-progress"]) == 2

    error = capsys.readouterr().err
    assert f"(first: row {bad_row}," in error
    assert "Traceback" not in error
    assert out.read_bytes() == before
    assert sorted(item.name for item in tmp_path.iterdir()) == ["bad.parquet", "pred.parquet"]


def test_evaluate_needs_truth(tiny_model, tmp_path, capsys):
    table = simulate_timeslices(SimulationConfig.for_geometry("spd", n_events=3), 3, seed=2)
    columns = {name: values for name, values in table.columns.items() if name != "event_id"}
    path = tmp_path / "no_truth.parquet"
    write_timeslices(path, type(table).from_columns(columns))
    assert main(["evaluate", str(path), "--model", str(tiny_model)]) == 2
    assert "no event_id column" in capsys.readouterr().err


def test_time_model_needs_time_column(slices_file, tmp_path, capsys):
    path = tmp_path / "time.pt"
    assert main(["train", *TINY_TRAIN, "--time", "--final-epochs", "1", "-o", str(path)]) == 0
    capsys.readouterr()
    out = tmp_path / "pred.parquet"
    assert main(["predict", str(slices_file), "-o", str(out), "--model", str(path)]) == 2
    assert "'t' column" in capsys.readouterr().err
    assert not out.exists()


def test_train_invalid_setting(tmp_path, capsys):
    out = tmp_path / "m.pt"
    assert main(["train", "-o", str(out), "--n-train", "0"]) == 2
    assert "--n-train 0 is invalid; use an integer of 1 or more." in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("output, message", [("missing/m.pt", "does not exist"), (".", "is a folder")])
def test_train_checks_output_before_training(tmp_path, capsys, output, message):
    out = tmp_path / output
    assert main(["train", "-o", str(out), "--n-train", "16", "--n-test", "8", "--final-epochs", "1", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "epoch" not in err
    assert not (tmp_path / "missing").exists()


def test_demo_runs_with_given_model(tiny_model, tmp_path, capsys):
    folder = tmp_path / "demo"
    assert main(["demo", "-o", str(folder), "-n", "5", "--model", str(tiny_model)]) == 0
    text = capsys.readouterr().out
    assert (folder / "timeslices.parquet").is_file()
    assert (folder / "predictions.parquet").is_file()
    assert pairs_path(folder / "predictions.parquet").is_file()
    assert "helix crossing" in text


def test_predict_with_z0_window_candidates(tiny_model, slices_file, tmp_path, capsys):
    out = tmp_path / "pred.parquet"
    args = ["predict", str(slices_file), "-o", str(out), "--model", str(tiny_model), "--no-progress"]
    assert main([*args, "--candidates", "z0-window", "--z0-window", "2"]) == 0
    pairs = read_pairs(pairs_path(out))
    all_pairs = sum(n * (n - 1) // 2 for n in read_timeslices(slices_file).tracks_per_timeslice)
    assert 0 < len(pairs["score"]) < all_pairs


def test_predict_invalid_batch_size(tiny_model, slices_file, tmp_path, capsys):
    out = tmp_path / "pred.parquet"
    assert main(["predict", str(slices_file), "-o", str(out), "--model", str(tiny_model), "--batch-size", "0"]) == 2
    assert "--batch-size 0 is invalid" in capsys.readouterr().err
    assert not out.exists()


def test_predict_warns_on_other_geometry(tmp_path, caplog):
    import gann_core

    table = simulate_timeslices(SimulationConfig.for_geometry("trackml", n_events=3), 3, seed=1)
    with caplog.at_level("WARNING", logger="gann_core.infer"):
        gann_core.predict(gann_core.Model.load("spd"), table)
    assert "outside the radii" in caplog.text


def test_demo_output_dir_is_file(tiny_model, tmp_path, capsys):
    target = tmp_path / "afile"
    target.write_text("x")
    assert main(["demo", "-o", str(target), "-n", "2", "--model", str(tiny_model)]) == 2
    assert "is a file" in capsys.readouterr().err


def test_evaluate_reuses_given_scores(tiny_model, slices_file):
    import gann_core

    model = gann_core.Model.load(tiny_model)
    table = read_timeslices(slices_file)
    prediction = gann_core.predict(model, table)
    given = gann_core.evaluate(model, table, network_scores=prediction.scores)
    computed = gann_core.evaluate(model, table)
    assert given.row("network") == computed.row("network")
    with pytest.raises(ValueError, match="network_scores has 3 entries"):
        gann_core.evaluate(model, table, network_scores=np.zeros(3))


def test_evaluate_with_assembly_threshold(tiny_model, slices_file, capsys):
    assert main(["evaluate", str(slices_file), "--model", str(tiny_model), "--json", "--threshold", "0.7", "--assembly-threshold", "0.3"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["threshold"], report["assembly_threshold"]) == (0.7, 0.3)
    assert main(["evaluate", str(slices_file), "--model", str(tiny_model), "--assembly-threshold", "0.3"]) == 0
    assert "assembly threshold 0.3" in capsys.readouterr().out
    assert main(["evaluate", str(slices_file), "--model", str(tiny_model), "--assembly-threshold", "1.5"]) == 2
    assert "--assembly-threshold 1.5 is invalid" in capsys.readouterr().err
