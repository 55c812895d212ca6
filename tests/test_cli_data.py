"""The data subcommands: gann simulate, gann import-trackml and gann info."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np

from hit_tables import REPOSITORY_ROOT
from gann_core.cli import main
from gann_core.io import read_timeslices


def _assert_one_line_error(captured, command: str, fragment: str) -> None:
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(f"gann {command}: error: ")
    assert fragment in lines[0]
    assert "Traceback" not in captured.err


def test_simulate_writes_file(tmp_path, capsys):
    out = tmp_path / "sim.parquet"
    rc = main(["simulate", "-n", "3", "--n-events", "4", "--max-tracks", "3", "--seed", "7", "-o", str(out)])

    assert rc == 0
    table = read_timeslices(out)
    assert table.n_timeslices == 3
    assert table.has_truth
    assert "t" not in table.columns
    per_collision = [np.unique(s.track_event_ids, return_counts=True)[1] for s in table]
    assert max(counts.max() for counts in per_collision) <= 3
    captured = capsys.readouterr()
    assert f"wrote {out}" in captured.out
    assert "timeslices            3" in captured.out


def test_simulate_options_reach_config(tmp_path, capsys):
    out = tmp_path / "sim.parquet"
    rc = main([
        "simulate", "--geometry", "trackml", "-n", "4", "--n-events", "3", "--fixed-n-events",
        "--time", "--fake-tracks", "2", "--sigma-z-mm", "50", "--sigma-xy-mm", "0.5",
        "--missing-hit-prob", "0.1", "-o", str(out),
    ])

    assert rc == 0
    table = read_timeslices(out)
    assert "t" in table.columns
    real = table.track_event_ids != -1
    for timeslice in table:
        events = timeslice.track_event_ids
        assert len(np.unique(events[events != -1])) == 3
    assert (~real).any()
    assert table.hits_per_track.max() <= 20


def test_simulate_same_seed_same_file(tmp_path, capsys):
    first, second = tmp_path / "a.parquet", tmp_path / "b.parquet"
    assert main(["simulate", "-n", "2", "--seed", "3", "-o", str(first)]) == 0
    assert main(["simulate", "-n", "2", "--seed", "3", "-o", str(second)]) == 0

    np.testing.assert_array_equal(read_timeslices(first).columns["x"], read_timeslices(second).columns["x"])


def test_simulate_without_progress_bar(tmp_path, capsys):
    out = tmp_path / "sim.parquet"
    assert main(["simulate", "-n", "3", "-o", str(out), "--no-progress"]) == 0
    assert "timeslice" not in capsys.readouterr().err
    assert out.exists()


def test_simulate_missing_folder(tmp_path, capsys):
    out = tmp_path / "missing" / "sim.parquet"
    rc = main(["simulate", "-n", "2", "-o", str(out)])

    assert rc == 2
    _assert_one_line_error(capsys.readouterr(), "simulate", "does not exist")
    assert not (tmp_path / "missing").exists()


def test_simulate_invalid_parameter(tmp_path, capsys):
    out = tmp_path / "sim.parquet"
    rc = main(["simulate", "-n", "2", "--max-tracks", "1", "-o", str(out)])

    assert rc == 2
    _assert_one_line_error(capsys.readouterr(), "simulate", "max_tracks")
    assert list(tmp_path.iterdir()) == []


def test_simulate_zero_timeslices(tmp_path, capsys):
    rc = main(["simulate", "-n", "0", "-o", str(tmp_path / "sim.parquet")])

    assert rc == 2
    _assert_one_line_error(capsys.readouterr(), "simulate", "-n/--timeslices 0 is invalid")
    assert list(tmp_path.iterdir()) == []


def test_info_prints_counts(tmp_path, capsys):
    out = tmp_path / "sim.parquet"
    main(["simulate", "-n", "3", "--seed", "1", "-o", str(out)])
    capsys.readouterr()
    table = read_timeslices(out)

    assert main(["info", str(out)]) == 0
    text = capsys.readouterr().out
    assert "timeslices            3" in text
    assert f"tracks                {table.n_tracks}" in text
    assert f"hits per track        {table.hits_per_track.min()}..{table.hits_per_track.max()}" in text
    assert "columns               x, y, z, track_id" in text


def test_info_json(tmp_path, capsys):
    out = tmp_path / "sim.parquet"
    main(["simulate", "-n", "2", "--seed", "1", "-o", str(out)])
    capsys.readouterr()
    table = read_timeslices(out)

    assert main(["info", str(out), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["files"] == [str(out)]
    assert info["timeslices"] == 2
    assert info["hits"] == table.n_hits
    assert info["tracks"] == table.n_tracks
    assert info["events"] == table.summary()["events"]
    assert info["short_tracks"] == 0
    assert "x" in info["columns"]


def test_info_counts_short_tracks(write_parquet, capsys):
    from hit_tables import make_hit_columns

    columns = make_hit_columns(n_timeslices=1, tracks_per_timeslice=3, hits_per_track=4)
    keep = np.ones(len(columns["x"]), dtype=bool)
    keep[[2, 3]] = False
    path = write_parquet({name: values[keep] for name, values in columns.items()})

    assert main(["info", str(path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["tracks"] == 3
    assert info["short_tracks"] == 1
    assert info["hits_per_track_min"] == 2


def test_info_missing_file(tmp_path, capsys):
    rc = main(["info", str(tmp_path / "nothere.parquet")])

    assert rc == 2
    _assert_one_line_error(capsys.readouterr(), "info", "nothere.parquet: file not found")


def test_info_not_parquet(tmp_path, capsys):
    path = tmp_path / "hits.parquet"
    path.write_text("x,y,z\n")
    rc = main(["info", str(path)])

    assert rc == 2
    _assert_one_line_error(capsys.readouterr(), "info", "not a parquet file")


def test_import_trackml_whole_event(trackml_prefix, tmp_path, capsys):
    out = tmp_path / "event.parquet"
    rc = main(["import-trackml", str(trackml_prefix), "-o", str(out)])

    assert rc == 0
    table = read_timeslices(out)
    assert table.n_timeslices == 1
    assert table.summary()["events"] == 103
    assert "vx" in table.columns
    assert "wrote" in capsys.readouterr().out


def test_import_trackml_drawn(trackml_prefix, tmp_path, capsys):
    out = tmp_path / "drawn.parquet"
    rc = main([
        "import-trackml", str(trackml_prefix), "-o", str(out),
        "--timeslices", "6", "--n-events", "5", "--max-tracks", "3", "--seed", "2",
    ])

    assert rc == 0
    table = read_timeslices(out)
    assert table.n_timeslices == 6
    for timeslice in table:
        counts = np.unique(timeslice.track_event_ids, return_counts=True)[1]
        assert counts.min() >= 2
        assert counts.max() <= 3


def test_import_trackml_missing_event(tmp_path, capsys):
    out = tmp_path / "event.parquet"
    rc = main(["import-trackml", str(tmp_path / "event000000009"), "-o", str(out)])

    assert rc == 2
    _assert_one_line_error(capsys.readouterr(), "import-trackml", "event000000009-hits.csv")
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_import_draw_option_needs_timeslices(trackml_prefix, tmp_path, capsys):
    out = tmp_path / "event.parquet"
    rc = main(["import-trackml", str(trackml_prefix), "-o", str(out), "--n-events", "5"])

    assert rc == 2
    _assert_one_line_error(capsys.readouterr(), "import-trackml", "--n-events only apply to drawn timeslices")
    assert not out.exists()


def test_import_trackml_invalid_draw(trackml_prefix, tmp_path, capsys):
    out = tmp_path / "event.parquet"
    rc = main(["import-trackml", str(trackml_prefix), "-o", str(out), "--timeslices", "2", "--max-tracks", "1"])

    assert rc == 2
    _assert_one_line_error(capsys.readouterr(), "import-trackml", "max_tracks")
    assert list(tmp_path.iterdir()) == []


def test_command_line_error_without_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "gann_core.cli", "info", str(tmp_path / "nothere.parquet")],
        capture_output=True,
        text=True,
        cwd=REPOSITORY_ROOT,
        timeout=120,
    )

    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"gann info: error: {tmp_path / 'nothere.parquet'}: file not found, so check the path and the current folder."
    ]
    assert result.stdout == ""
