"""The notebook view: the example notebook runs headless in a kernel and draws the collisions."""

from __future__ import annotations

import glob
import json
import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("jupyter_rfb")

from gann_viewer.notebook import OSMESA_CANDIDATES, metrics_html  # noqa: E402

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "notebook_viewer.ipynb"

# Appended to the example: reports what the last frame shows, as one JSON line.
CHECK_CELL = """
import json
import numpy as np
from gann_viewer.palette import categorical_colors

frame = view.render()
rgb = frame[..., :3].reshape(-1, 3).astype(int)
pixels = np.unique(rgb, axis=0)
view.threshold_slider.value = 0.02
low = view.metrics_html.value
view.threshold_slider.value = 0.98
high = view.metrics_html.value
view.color_dropdown.value = "true"
frame = view.render()
pixels = np.unique(frame[..., :3].reshape(-1, 3).astype(int), axis=0)
wanted = np.unique(np.round(view.scene.true_colors[:, :3] * 255).astype(int), axis=0)
found = [bool(np.any(np.all(np.abs(pixels - color) <= 6, axis=1))) for color in wanted]
print(json.dumps({"shape": list(frame.shape), "colours": len(pixels), "found": sum(found),
                  "collisions": len(wanted), "metrics_change": low != high}))
"""


def kernel_environment() -> dict[str, str]:
    """Environment for a kernel that can draw with OpenGL: OSMesa without a display, or the X display."""
    env = {key: value for key, value in os.environ.items() if key != "QT_QPA_PLATFORM"}
    osmesa = os.environ.get("OSMESA_LIBRARY") or next(
        (path for pattern in OSMESA_CANDIDATES for path in sorted(glob.glob(pattern))), None
    )
    if osmesa:
        env.pop("DISPLAY", None)
        env.pop("WAYLAND_DISPLAY", None)
        env["OSMESA_LIBRARY"] = osmesa
        return env
    if os.environ.get("DISPLAY"):
        return env
    pytest.skip("the notebook view needs OpenGL: install libosmesa6 or run the tests under xvfb-run")


def test_example_notebook_runs_and_draws(model_path, tmp_path):
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    parameters = [cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", [])]
    assert len(parameters) == 1
    parameters[0].source = f"MODEL = {str(model_path)!r}\nN_EVENTS = 6"
    notebook.cells.append(nbformat.v4.new_code_cell(CHECK_CELL))

    client = nbclient.NotebookClient(
        notebook, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute(env=kernel_environment())

    view_cell = next(cell for cell in notebook.cells if "view = show(" in cell.source)
    data = view_cell.outputs[0]["data"]
    assert "application/vnd.jupyter.widget-view+json" in data

    report = json.loads(notebook.cells[-1].outputs[0]["text"].strip().splitlines()[-1])
    assert report["shape"][2] == 4
    assert report["shape"][0] > 100
    assert report["shape"][1] > 100
    assert report["colours"] > 20
    assert report["found"] >= 0.8 * report["collisions"]
    assert report["metrics_change"]


def test_metrics_line_formats_missing_values():
    metrics = {"threshold": 0.5, "assembly": "average", "pairs": 10, "above": 0, "predicted_events": 5,
               "precision": float("nan"), "recall": 0.0, "accuracy": 0.8, "exact_fraction": 0.4, "events": 5}
    line = metrics_html(metrics, "model <small>")
    assert "edge precision —" in line
    assert "recall 0.000" in line
    assert "collisions 5 / 5" in line
    assert "&lt;small&gt;" in line
    without_truth = metrics_html({"threshold": 0.5, "assembly": "components", "pairs": 10, "above": 3, "predicted_events": 4}, "file")
    assert "pairs above threshold 3 of 10" in without_truth


def test_model_object_is_used_for_scoring(model_path, spd_table):
    from gann_core.model import Model
    from gann_viewer.notebook import _scorer_for
    from gann_viewer.scoring import SHARED_MODELS, score_timeslice
    from gann_viewer.source import TimesliceSource

    model = Model.load(model_path)
    source = TimesliceSource(spd_table, name="table")
    scorer, loaded = _scorer_for(model, source)
    assert loaded is model
    assert SHARED_MODELS.get(scorer) is model
    scored = score_timeslice(source, 0, scorer)
    assert scored.score_source == "model small-test"
