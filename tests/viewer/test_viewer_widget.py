"""The inspector dock widget driven through its controls, with Qt's offscreen platform (no drawing)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("napari")

from gann_viewer.layers import SOURCE_KEY, hits_layer_data, to_napari  # noqa: E402
from gann_viewer.scoring import Scorer  # noqa: E402
from gann_viewer.source import TimesliceSource  # noqa: E402
from gann_viewer.widget import InspectorWidget  # noqa: E402


@pytest.fixture
def inspector(make_napari_viewer, timeslice_file, model_path):
    """A viewer with the test file opened through the reader and an inspector scoring without threads."""
    viewer = make_napari_viewer()
    widget = InspectorWidget(viewer, use_threads=False, scorer=Scorer("path", str(model_path)))
    viewer.window.add_dock_widget(widget)
    viewer.open(str(timeslice_file), plugin="gann")
    return widget


def pair_layer_sizes(widget) -> dict[str, int]:
    return {kind: len(layer.data) for kind, layer in widget.layers.pairs.items()}


def test_reader_layer_adopted_and_scored(inspector):
    assert inspector.scene is not None
    assert inspector.source.name == "slices"
    assert inspector.viewer.dims.ndisplay == 3
    assert set(inspector.layers.pairs) >= {"tp", "fp", "fn"}
    assert inspector.network_metric_labels["precision"].text() != "—"
    assert inspector.progress.value() == inspector.progress.maximum()
    assert "pairs scored by model small-test" in inspector.status_label.text()


def test_threshold_moves_metrics_and_layers(inspector):
    inspector.set_threshold(0.02)
    low_recall = inspector.network_metric_labels["recall"].text()
    low_sizes = pair_layer_sizes(inspector)
    low_above = inspector.network_metric_labels["above"].text()

    inspector.set_threshold(0.98)
    assert inspector.threshold_label.text() == "0.980"
    assert inspector.network_metric_labels["above"].text() != low_above
    high_sizes = pair_layer_sizes(inspector)
    assert high_sizes["tp"] + high_sizes["fp"] <= low_sizes["tp"] + low_sizes["fp"]
    assert high_sizes["fn"] >= low_sizes["fn"]
    assert (low_recall, low_sizes) != (inspector.network_metric_labels["recall"].text(), high_sizes)

    # The layers hold what the scene computes for the slider's threshold.
    state = inspector.scene.at(0.98, "average")
    np.testing.assert_allclose(inspector.layers.pairs["fn"].data, to_napari(state.segments("fn")))
    assert inspector.network_metric_labels["above"].text() == f"{state.metrics['above']}/{state.metrics['pairs']}"


def test_assembly_method_changes_labels(inspector):
    inspector.set_threshold(0.3)
    inspector.assembly_combo.setCurrentIndex(inspector.assembly_combo.findData("components"))
    state = inspector.scene.at(0.3, "components")
    assert inspector.network_metric_labels["collisions"].text().startswith(f"{state.metrics['predicted_events']}/")


def test_timeslice_selector(inspector, spd_table):
    inspector.timeslice_spin.setValue(2)
    table = spd_table.select(2)
    assert len(inspector.layers.hits.data) == table.n_hits
    assert inspector.scene.timeslice.timeslice_id == int(table.timeslice_ids[0])
    assert inspector.timeslice_label.text().startswith(f"timeslice {int(table.timeslice_ids[0])}:")
    assert inspector.track_list.count() == table.n_tracks
    assert inspector.timeslice_spin.maximum() == spd_table.n_timeslices - 1


def test_pair_filters(inspector):
    inspector.set_threshold(0.05)
    inspector.filter_combo.setCurrentIndex(inspector.filter_combo.findData("fp"))
    sizes = pair_layer_sizes(inspector)
    assert sizes["tp"] == 0
    assert sizes["fn"] == 0
    assert sizes["fp"] == inspector.scene.at(0.05).metrics["fp"]

    inspector.set_threshold(0.95)
    inspector.filter_combo.setCurrentIndex(inspector.filter_combo.findData("fn"))
    sizes = pair_layer_sizes(inspector)
    assert sizes["fp"] == 0
    assert sizes["fn"] == inspector.scene.at(0.95).metrics["fn"]


def test_pairs_touching_selected_track(inspector):
    inspector.set_threshold(0.05)
    inspector.select_track(0)
    inspector.touching_check.setChecked(True)
    anchor = to_napari(inspector.scene.anchors_xyz_mm[0])
    for kind, layer in inspector.layers.pairs.items():
        for start, vector in layer.data:
            touches = np.allclose(start, anchor) or np.allclose(start + vector, anchor)
            assert touches, f"a {kind} segment does not touch track 0"
    assert sum(pair_layer_sizes(inspector).values()) > 0


def test_selected_track_scores_table(inspector):
    inspector.track_list.setCurrentRow(1)
    assert inspector.selected_track == 1
    n_tracks = inspector.scene.timeslice.n_tracks
    assert inspector.scores_table.rowCount() == n_tracks - 1
    expected = inspector.scene.at(inspector.threshold).track_scores(1)
    assert inspector.scores_table.item(0, 0).text() == str(expected["track_id"][0])
    assert inspector.scores_table.item(0, 1).text() == f"{expected['score'][0]:.3f}"
    sizes = inspector.layers.hits.size
    hit_track = inspector.scene.hit_track
    assert sizes[hit_track == 1].min() > sizes[hit_track != 1].max()


def test_color_modes(inspector):
    state = inspector.scene.at(inspector.threshold)
    for mode in ("true", "predicted", "assignment", "baseline"):
        inspector.color_combo.setCurrentIndex(inspector.color_combo.findData(mode))
        np.testing.assert_allclose(inspector.layers.hits.face_color, state.hit_colors(mode), atol=1e-6)
    time_index = inspector.color_combo.findData("time")
    assert not inspector.color_combo.model().item(time_index).isEnabled()


def test_baseline_column(inspector):
    inspector.baseline_combo.setCurrentIndex(inspector.baseline_combo.findData("crossing"))
    metrics = inspector.scene.at(inspector.threshold).baseline_metrics("crossing")
    assert inspector.baseline_metric_labels["precision"].text() == f"{metrics['precision']:.3f}"


def test_pr_plot_marks_threshold(inspector):
    inspector.set_threshold(0.4)
    recall, precision = inspector.scene.at(0.4).pr_point
    assert inspector.pr_plot.point == (recall, precision)
    assert len(inspector.pr_plot.recall) > 0
    inspector.pr_plot.threshold_picked.emit(0.7)
    assert inspector.threshold == pytest.approx(0.7)


def test_prediction_file_uses_file_scores(make_napari_viewer, prediction_file):
    viewer = make_napari_viewer()
    widget = InspectorWidget(viewer, use_threads=False)
    viewer.open(str(prediction_file), plugin="gann")
    assert widget.scorer_combo.itemData(0) == Scorer("file")
    assert widget.scorer_combo.currentData() == Scorer("file")
    assert widget.scene is not None
    pairs, scores = widget.source.file_scores(0)
    np.testing.assert_allclose(widget.scene.timeslice.scores, scores)
    assert "pairs file" in widget.status_label.text()


def test_missing_model_reported_in_status(make_napari_viewer, timeslice_file, tmp_path):
    viewer = make_napari_viewer()
    widget = InspectorWidget(viewer, use_threads=False, scorer=Scorer("path", str(tmp_path / "absent.pt")))
    viewer.open(str(timeslice_file), plugin="gann")
    assert widget.scene is None
    assert "not found" in widget.status_label.text()
    assert widget.network_metric_labels["precision"].text() == "—"


def test_widget_adopts_existing_layer(make_napari_viewer, model_path, spd_table):
    viewer = make_napari_viewer()
    data, kwargs, _ = hits_layer_data(TimesliceSource(spd_table, name="table"), 1)
    viewer.add_points(data, **kwargs)
    widget = InspectorWidget(viewer, use_threads=False, scorer=Scorer("path", str(model_path)))
    assert widget.position == 1
    assert widget.scene is not None
    assert widget.layers.hits.metadata[SOURCE_KEY] is widget.source


def test_scoring_in_thread_worker(make_napari_viewer, qtbot, timeslice_file, model_path):
    viewer = make_napari_viewer()
    widget = InspectorWidget(viewer, use_threads=True, scorer=Scorer("path", str(model_path)))
    viewer.open(str(timeslice_file), plugin="gann")
    qtbot.waitUntil(lambda: widget.scene is not None, timeout=30000)
    assert widget.progress.value() == widget.progress.maximum()
    assert len(widget.layers.pairs["tp"].data) + len(widget.layers.pairs["fn"].data) > 0
    widget.set_threshold(0.9)
    assert widget.threshold_label.text() == "0.900"


def test_sample_data_without_shipped_model_still_opens(monkeypatch):
    from gann_core.errors import ModelFileError
    from gann_viewer import sample, scoring

    def missing(*args, **kwargs):
        raise ModelFileError("model file spd_default.pt not found")

    monkeypatch.setattr(scoring, "score_timeslice", missing)
    layers = sample.demo_timeslice()
    data, kwargs, layer_type = layers[0]
    assert layer_type == "points"
    assert data.shape[1] == 3
    assert isinstance(kwargs["metadata"][SOURCE_KEY], TimesliceSource)


def test_click_on_hit_selects_its_track(inspector):
    from types import SimpleNamespace

    from gann_viewer.widget import _select_on_click

    hits = inspector.layers.hits
    assert _select_on_click in hits.mouse_drag_callbacks
    track = 3
    hit = int(np.flatnonzero(inspector.scene.hit_track == track)[0])
    hits.get_value = lambda *args, **kwargs: hit
    event = SimpleNamespace(type="mouse_press", position=(0.0, 0.0, 0.0), view_direction=(1.0, 0.0, 0.0), dims_displayed=[0, 1, 2])

    click = _select_on_click(hits, event)
    next(click)
    event.type = "mouse_release"
    with pytest.raises(StopIteration):
        next(click)
    assert inspector.selected_track == track
    assert inspector.track_list.currentRow() == track


def test_drag_on_hits_selects_nothing(inspector):
    from types import SimpleNamespace

    from gann_viewer.widget import _select_on_click

    hits = inspector.layers.hits
    hits.get_value = lambda *args, **kwargs: 0
    event = SimpleNamespace(type="mouse_press", position=(0.0, 0.0, 0.0), view_direction=(1.0, 0.0, 0.0), dims_displayed=[0, 1, 2])

    drag = _select_on_click(hits, event)
    next(drag)
    event.type = "mouse_move"
    next(drag)
    event.type = "mouse_release"
    with pytest.raises(StopIteration):
        next(drag)
    assert inspector.selected_track is None


def test_choose_scorer_recovers_after_error(inspector, model_path, tmp_path):
    inspector.choose_scorer(Scorer("path", str(tmp_path / "absent.pt")))
    assert inspector.scene is None
    assert "absent.pt" in inspector.status_label.text()
    assert inspector.network_metric_labels["recall"].text() == "—"

    inspector.choose_scorer(Scorer("path", str(model_path)))
    assert inspector.scene is not None
    assert inspector.scorer_combo.currentData() == Scorer("path", str(model_path))
    labels = [inspector.scorer_combo.itemText(index) for index in range(inspector.scorer_combo.count())]
    assert labels[-1] == "model file…"
    assert "model absent.pt" in labels


def test_scoring_error_restores_preview(inspector, tmp_path):
    from gann_viewer.scene import preview_colors

    inspector.color_combo.setCurrentIndex(inspector.color_combo.findData("assignment"))
    inspector.choose_scorer(Scorer("path", str(tmp_path / "absent.pt")))
    assert sum(pair_layer_sizes(inspector).values()) == 0
    expected = preview_colors(inspector.source.timeslice(inspector.position))
    np.testing.assert_allclose(inspector.layers.hits.face_color, expected, atol=1e-6)


def test_second_file_replaces_pair_layers(inspector, prediction_file):
    first_pairs = list(inspector.layers.pairs.values())
    inspector.viewer.open(str(prediction_file), plugin="gann")
    assert inspector.source.name != "slices"
    for layer in first_pairs:
        assert layer not in inspector.viewer.layers
    assert all(layer in inspector.viewer.layers for layer in inspector.layers.pairs.values())


def test_closing_widget_while_scoring(make_napari_viewer, qtbot, timeslice_file, model_path, monkeypatch):
    import threading

    from gann_viewer import widget as widget_module

    release = threading.Event()
    real_steps = widget_module.scoring_steps

    def held_steps(*args, **kwargs):
        # Score as usual, but hold the result back until the test has deleted the widget.
        scored = yield from real_steps(*args, **kwargs)
        release.wait(30)
        return scored

    monkeypatch.setattr(widget_module, "scoring_steps", held_steps)
    viewer = make_napari_viewer()
    widget = InspectorWidget(viewer, use_threads=True, scorer=Scorer("path", str(model_path)))
    viewer.open(str(timeslice_file), plugin="gann")
    worker = widget.worker
    lifetime = widget._lifetime

    # Delete the widget as napari does when its dock is closed, then let the worker finish.
    widget.deleteLater()
    qtbot.waitUntil(lambda: not lifetime["alive"], timeout=10000)
    with qtbot.waitSignal(worker.finished, timeout=30000):
        release.set()
    qtbot.wait(100)  # deliver the worker's queued "returned" signal to the callback
