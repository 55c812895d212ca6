"""``gann bench`` on a tiny setting: it runs and reports every field, in text and JSON."""

import json

import pytest

from gann_core.bench import STAGES, PeakMemory, time_prediction
from gann_core.cli import main

@pytest.fixture(autouse=True, scope="module")
def keep_torch_threads():
    """``--threads`` sets torch's process-wide thread count; restore it for later tests."""
    import torch

    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


TINY = ["bench", "--timeslices", "6", "--batch-sizes", "2,4", "--train-batch-size", "2", "--threads", "1"]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    import contextlib
    import io

    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        status = main(TINY + ["--json"])
    assert status == 0
    return json.loads(output.getvalue())


def test_bench_report_top_level_keys(report):
    assert set(report) >= {"machine", "model", "encoder", "candidates", "settings", "training"}
    assert report["encoder"] == "fast"
    assert report["candidates"] == "all"
    assert set(report["machine"]) >= {"device", "cpu", "cpu_cores", "torch_threads", "load_average_1min"}
    assert report["machine"]["torch_threads"] == 1


def test_bench_report_names_untrained_model(report):
    from gann_core.model.saved import shipped_model_path

    if shipped_model_path("spd").is_file():
        assert "shipped" in report["model"]
    else:
        assert report["model"].startswith("untrained")


def test_bench_runs_cover_settings_and_batch_sizes(report):
    assert [entry["setting"] for entry in report["settings"]] == ["spd", "trackml"]
    for entry in report["settings"]:
        assert entry["timeslices"] == 6
        assert [run["batch_size"] for run in entry["runs"]] == [2, 4]
        for run in entry["runs"]:
            assert set(run["stage_seconds"]) == set(STAGES)
            assert run["slices_per_s"] > 0
            assert run["peak_rss_mib"] > 0
            assert sum(run["stage_share"].values()) == pytest.approx(1.0)
            assert run["seconds"] == pytest.approx(sum(run["stage_seconds"].values()))


def test_bench_reports_baselines_beside_network(report):
    for entry in report["settings"]:
        baselines = entry["baselines"]
        assert baselines["z0_gap_slices_per_s"] > 0
        assert baselines["crossing_slices_per_s"] > 0
        assert baselines["pairs"] == entry["runs"][0]["pairs"]
        assert "calibration" in baselines


def test_bench_reports_training_throughput(report):
    training = report["training"]
    assert training["batch_size"] == 2
    assert training["steps"] >= 1
    assert training["slices_per_s"] > 0


def test_bench_text_output_names_machine_and_model(capsys):
    status = main(TINY + ["--settings", "spd", "--batch-sizes", "3", "--no-training", "--candidates", "z0-window"])
    text = capsys.readouterr().out
    assert status == 0
    assert text.startswith("machine: ")
    assert "model: " in text
    assert "z0-window (16 tracks on each side)" in text
    assert "z0 gap" in text
    assert "helix crossing" in text
    assert "training" not in text


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--settings", "lhcb"], "--settings"),
        (["--batch-sizes", "0,4"], "--batch-sizes"),
        (["--timeslices", "0"], "--timeslices"),
        (["--repeats", "0"], "--repeats"),
    ],
)
def test_bench_rejects_invalid_options(arguments, message, capsys):
    status = main(["bench"] + arguments)
    assert status == 2
    assert message in capsys.readouterr().err


def test_prediction_timing_counts_every_stage(tmp_path):
    from gann_core.bench import load_model
    from gann_core.io import write_timeslices
    from gann_core.simulate import SimulationConfig, simulate_timeslices

    table = simulate_timeslices(SimulationConfig.for_geometry("spd", n_events=3), 5, seed=4)
    path = tmp_path / "slices.parquet"
    write_timeslices(path, table)
    model, _ = load_model(None, __import__("torch").device("cpu"), table)
    record = time_prediction(model, path, batch_size=2)

    assert record["timeslices"] == 5
    assert list(record["stage_seconds"]) == list(STAGES)
    assert record["slices_per_s"] == pytest.approx(5 / record["seconds"])


def test_peak_memory_sees_a_large_allocation():
    import numpy as np

    with PeakMemory() as before:
        pass
    with PeakMemory() as during:
        block = np.ones(64 * 2**20 // 8)  # 64 MiB, kept until the block ends
    assert during.peak_mib >= before.peak_mib + 50
    assert block.sum() > 0


def test_bench_text_shows_median_of_chunked_runs(capsys):
    status = main(TINY + ["--settings", "spd", "--batch-sizes", "3", "--no-training", "--threads", "2", "--repeats", "2"])
    text = capsys.readouterr().out
    assert status == 0
    if "chunks at once" in text:  # two worker threads need two usable cores
        assert "chunks at once: median of 2 runs (" in text


def test_peak_memory_sees_freed_peak():
    import numpy as np

    from gann_core.bench import _reset_kernel_peak

    if not _reset_kernel_peak():
        pytest.skip("the kernel's peak resident memory cannot be reset here (Linux 4.0 or later needed)")
    with PeakMemory() as memory:
        assert np.ones(64 * 2**20 // 8).sum() > 0  # 64 MiB, freed at once
    assert memory.peak_mib >= memory.start_mib + 50


def test_bench_chunked_run_and_model_per_setting(tmp_path):
    from gann_core.bench import run_benchmark
    from gann_core.model.saved import shipped_model_path

    report = run_benchmark(timeslices=6, batch_sizes=(4,), training=False, chunked=True, repeats=3, directory=tmp_path)

    for entry in report["settings"]:
        runs = entry["chunked_runs"]
        assert len(runs) == 3
        for run in runs:
            assert run["slices_per_s"] > 0
            assert run["workers"] >= 1
            assert run["timeslices"] == 6
        assert entry["chunked_median_slices_per_s"] == sorted(run["slices_per_s"] for run in runs)[1]
        if shipped_model_path(entry["setting"]).is_file():
            assert f"{entry['setting']}_default.pt" in entry["model"]
