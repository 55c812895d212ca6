"""The ``gann-viewer`` command: argument and file errors, building the viewer, and a drawn screenshot."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("napari")

from gann_viewer.app import build_viewer, main  # noqa: E402
from gann_viewer.scene import preview_colors  # noqa: E402
from gann_viewer.scoring import Scorer  # noqa: E402
from gann_viewer.source import TimesliceSource  # noqa: E402
from viewer_pixels import colors_present, distinct_colors  # noqa: E402


def run_main(capsys, *argv) -> tuple[int, str]:
    status = main([str(item) for item in argv])
    return status, capsys.readouterr().err


def assert_one_line_error(status: int, stderr: str, *fragments: str) -> None:
    assert status == 2
    assert "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == 1
    assert stderr.startswith("gann-viewer: error: ")
    for fragment in fragments:
        assert fragment in stderr


def test_missing_file(capsys, tmp_path):
    status, stderr = run_main(capsys, tmp_path / "absent.parquet")
    assert_one_line_error(status, stderr, "absent.parquet", "not found")


def test_file_that_is_not_parquet(capsys, tmp_path):
    path = tmp_path / "notes.parquet"
    path.write_text("not a table")
    status, stderr = run_main(capsys, path)
    assert_one_line_error(status, stderr, "notes.parquet")


def test_pairs_file_given_instead_of_table(capsys, prediction_file):
    pairs = prediction_file.with_name("predicted.pairs.parquet")
    status, stderr = run_main(capsys, pairs)
    assert_one_line_error(status, stderr, "pairs file", "predicted.parquet")


def test_missing_model(capsys, timeslice_file, tmp_path):
    status, stderr = run_main(capsys, timeslice_file, "--model", tmp_path / "absent.pt")
    assert_one_line_error(status, stderr, "absent.pt", "not found")


def test_unknown_timeslice(capsys, timeslice_file, model_path):
    status, stderr = run_main(capsys, timeslice_file, "--model", model_path, "--timeslice", 999)
    assert_one_line_error(status, stderr, "timeslice 999", "ids 0, 1, 2")


def test_threshold_out_of_range(capsys, timeslice_file, model_path):
    status, stderr = run_main(capsys, timeslice_file, "--model", model_path, "--threshold", 1.5)
    assert_one_line_error(status, stderr, "--threshold 1.5")


def test_unknown_option_exits_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--colour", "red"])
    assert exit_info.value.code == 2
    assert "unrecognized arguments: --colour" in capsys.readouterr().err


def test_viewer_extra_missing(capsys, monkeypatch, timeslice_file, model_path):
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *rest: None if name == "qtpy" else real_find_spec(name, *rest))
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    status, stderr = run_main(capsys, timeslice_file, "--model", model_path)
    # Reported before the missing display, whose advice alone would not help.
    assert_one_line_error(status, stderr, "needs qtpy", "pip install 'gann[viewer]'")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the display check applies to Linux (X11, Wayland)")
def test_no_display(capsys, monkeypatch, timeslice_file, model_path):
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    status, stderr = run_main(capsys, timeslice_file, "--model", model_path)
    assert_one_line_error(status, stderr, "DISPLAY", "xvfb-run")


def test_screenshot_needs_opengl(capsys, monkeypatch, timeslice_file, model_path, tmp_path):
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    status, stderr = run_main(capsys, timeslice_file, "--model", model_path, "--screenshot", tmp_path / "shot.png")
    assert_one_line_error(status, stderr, "QT_QPA_PLATFORM=offscreen")


def test_build_viewer_on_file(make_napari_viewer, timeslice_file, model_path):
    source = TimesliceSource.open(timeslice_file)
    viewer, inspector = build_viewer(
        source, source.position_of(2), Scorer("path", str(model_path)), threshold=0.3,
        viewer=make_napari_viewer(), use_threads=False,
    )
    assert inspector.position == 2
    assert inspector.scene is not None
    assert inspector.threshold == pytest.approx(0.3)
    assert viewer.dims.ndisplay == 3
    assert [layer.name for layer in viewer.layers][0] == "slices hits"


def test_build_viewer_on_demo(make_napari_viewer, model_path):
    viewer, inspector = build_viewer(
        TimesliceSource.demo(n_timeslices=2), 0, Scorer("path", str(model_path)),
        viewer=make_napari_viewer(), use_threads=False,
    )
    assert inspector.source.name == "demo"
    assert inspector.scene.timeslice.has_truth
    assert inspector.network_metric_labels["exact_fraction"].text() != "—"


def test_screenshot_draws_collision_colors(x_display, tmp_path, timeslice_file, model_path, spd_table):
    screenshot = tmp_path / "viewer.png"
    env = {key: value for key, value in os.environ.items() if key != "QT_QPA_PLATFORM"}
    env.update(DISPLAY=x_display, QT_QPA_PLATFORM="xcb")
    completed = subprocess.run(
        [sys.executable, "-m", "gann_viewer.app", str(timeslice_file), "--model", str(model_path),
         "--screenshot", str(screenshot)],
        env=env, capture_output=True, text=True, timeout=240,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]

    import imageio.v3 as iio

    image = iio.imread(screenshot)
    assert image.shape[0] > 200
    assert image.shape[1] > 200
    assert distinct_colors(image) > 50
    # The hits are drawn in their collisions' colours (the default mode with truth).
    collision_colors = np.unique(preview_colors(spd_table.select(0)), axis=0)
    found = colors_present(image, collision_colors)
    assert found.mean() >= 0.8, f"only {found.sum()} of {len(found)} collision colours drawn"


def test_missing_shipped_model_names_fix(capsys, monkeypatch, tmp_path):
    from gann_core.model import saved

    monkeypatch.setattr(saved, "SHIPPED_MODELS_DIR", tmp_path)
    status, stderr = run_main(capsys)
    assert_one_line_error(status, stderr, "shipped SPD model", "--model")
