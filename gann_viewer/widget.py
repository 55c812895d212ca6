"""The GANN inspector: a napari dock widget that scores a timeslice and explores its pair scores.

The widget only collects settings and draws. Scoring (:mod:`gann_viewer.scoring`) runs in a
napari ``thread_worker`` that reports each step as progress, and the raw scores are kept, so
moving the threshold or changing the assembly method re-filters them through
:class:`~gann_viewer.scene.Scene` without running the network again. Pass
``use_threads=False`` to score in the calling thread (tests, screenshots).

The widget works on the hits layer of a :class:`~gann_viewer.source.TimesliceSource`, opened
by the reader, the sample-data menu, ``gann-viewer`` or its own "Open file" button, and adds
one Vectors layer per pair kind next to it.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
from qtpy.QtCore import Qt
from qtpy.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSlider,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gann_core.errors import GannError
from gann_viewer.layers import POSITION_KEY, SOURCE_KEY, SceneLayers, find_source_layer, hits_layer_data
from gann_viewer.palette import ASSIGNMENT_COLORS, PAIR_COLORS
from gann_viewer.pr_plot import PrecisionRecallPlot
from gann_viewer.scene import Scene, ScoredTimeslice
from gann_viewer.scoring import SCORING_STEPS, SHARED_MODELS, Scorer, scoring_steps
from gann_viewer.source import TimesliceSource

logger = logging.getLogger(__name__)

#: Slider steps between threshold 0 and 1.
SLIDER_STEPS = 1000

COLOR_MODE_LABELS = {
    "true": "true collision",
    "predicted": "predicted collision",
    "assignment": "right / wrong assignment",
    "baseline": "classical baseline collision",
    "time": "hit time",
}
BASELINE_LABELS = {"z0": "z0 at the beam line", "crossing": "helix crossing"}
PAIR_FILTER_LABELS = {"all": "all pairs", "fp": "only false positives", "fn": "only false negatives"}

#: Metric rows: (key in SceneState.metrics, label).
METRIC_ROWS = (
    ("precision", "edge precision"),
    ("recall", "edge recall"),
    ("accuracy", "edge accuracy"),
    ("exact_fraction", "exact collisions"),
    ("collisions", "collisions found/true"),
    ("efficiency", "efficiency"),
    ("purity", "purity"),
    ("ari", "adjusted Rand index"),
    ("above", "pairs above/all"),
)


class InspectorWidget(QWidget):
    """Dock widget: scorer choice, threshold and assembly with live metrics, PR curve, filters, tracks.

    ``scorer`` is selected for every source the widget adopts when it applies, and a "file"
    scorer applies only to a file with a pairs file. Otherwise the file's scores come first,
    then the shipped model.
    """

    def __init__(self, napari_viewer, *, use_threads: bool = True, scorer: Scorer | None = None):
        super().__init__()
        self.viewer = napari_viewer
        self.use_threads = use_threads
        self.preferred_scorer = scorer
        #: Threshold that a model's stored threshold must not replace (set by ``gann-viewer --threshold``).
        self.user_threshold: float | None = None
        self.models = SHARED_MODELS
        self.layers: SceneLayers | None = None
        self.scene: Scene | None = None
        self.selected_track: int | None = None
        self.worker = None
        self._request = 0
        self._defaults_scorer: Scorer | None = None
        self._last_scorer: Scorer | None = None
        self._updating = False
        # A scoring worker may finish after napari deleted this widget (the dock was closed),
        # and its callbacks must then not touch the deleted Qt objects. The flag lives in a
        # dict that the lambda holds, because no method of a deleted widget can be relied on.
        lifetime = self._lifetime = {"alive": True}
        self.destroyed.connect(lambda *_: lifetime.update(alive=False))

        self._build_ui()
        self.viewer.layers.events.inserted.connect(self._on_layer_inserted)
        layer = find_source_layer(self.viewer.layers)
        if layer is not None:
            self.adopt(layer)

    # --- public API ------------------------------------------------------------------------------
    @property
    def source(self) -> TimesliceSource | None:
        return self.layers.source if self.layers is not None else None

    @property
    def position(self) -> int:
        return self.timeslice_spin.value()

    @property
    def threshold(self) -> float:
        return self.threshold_slider.value() / SLIDER_STEPS

    def set_threshold(self, value: float) -> None:
        """Move the slider to ``value`` (rounded to the slider step), which refreshes the view."""
        self.threshold_slider.setValue(int(round(float(value) * SLIDER_STEPS)))

    def open_file(self, path: str | Path) -> None:
        """Open a timeslice or prediction file as a new hits layer; errors go to the status line."""
        try:
            source = TimesliceSource.open(path)
        except GannError as error:
            self._show_error(str(error))
            return
        data, kwargs, _ = hits_layer_data(source)
        self.viewer.add_points(data, **kwargs)

    def adopt(self, layer) -> None:
        """Work on this hits layer: reset the controls for its source and score the timeslice it shows."""
        if self.layers is not None and self.layers.hits is not layer:
            # The old source's pairs would stay on screen, frozen, over the new hits.
            self.layers.remove_pair_layers()
        self.layers = SceneLayers(self.viewer, layer)
        source = self.source
        self.viewer.dims.ndisplay = 3
        self.source_label.setText(f"{source.name}: {source.n_timeslices} timeslice(s)")

        self._updating = True
        self.scorer_combo.clear()
        if source.has_file_scores:
            self.scorer_combo.addItem(Scorer("file").label, Scorer("file"))
        self.scorer_combo.addItem(Scorer("shipped").label, Scorer("shipped"))
        self.scorer_combo.addItem("model file…", None)
        preferred = self.preferred_scorer
        if preferred is not None and (preferred.kind != "file" or source.has_file_scores):
            if self._scorer_index(preferred) < 0:
                self.scorer_combo.insertItem(self.scorer_combo.count() - 1, preferred.label, preferred)
            self.scorer_combo.setCurrentIndex(self._scorer_index(preferred))
        self.timeslice_spin.setRange(0, source.n_timeslices - 1)
        self.timeslice_spin.setValue(int(layer.metadata.get(POSITION_KEY, 0)))
        self._updating = False
        self.show_timeslice(self.position)

    def choose_scorer(self, scorer: Scorer) -> None:
        """Select a scorer (adding it to the list when new) and score the current timeslice with it."""
        index = self._scorer_index(scorer)
        if index < 0:
            self.scorer_combo.insertItem(self.scorer_combo.count() - 1, scorer.label, scorer)
            index = self.scorer_combo.count() - 2
        self._updating = True
        self.scorer_combo.setCurrentIndex(index)
        self._updating = False
        self.score()

    def show_timeslice(self, position: int) -> None:
        """Show the hits of another timeslice and score it."""
        if self.layers is None:
            return
        if position != self.timeslice_spin.value():
            self.timeslice_spin.setValue(position)  # calls back here through valueChanged
            return
        self.selected_track = None
        self._clear_scores()
        self.timeslice_label.setText(self.source.describe(position))
        self._fill_track_list()
        self.score()

    def score(self) -> None:
        """Score the current timeslice with the chosen scorer, in a worker thread unless threads are off.

        The first time a model scores, the threshold and assembly method move to the values
        stored in that model.
        """
        scorer = self.scorer_combo.currentData()
        if self.layers is None or scorer is None:
            return
        self._request += 1
        self._last_scorer = scorer
        request, position, source = self._request, self.position, self.source
        self.progress.setRange(0, len(SCORING_STEPS))
        self.progress.setValue(0)
        self._set_status(f"scoring timeslice with the {scorer.label}…")

        def finish(scored: ScoredTimeslice) -> None:
            self._on_scored(request, scorer, scored)

        if not self.use_threads:
            try:
                steps = scoring_steps(source, position, scorer, self.models)
                while True:
                    self._on_step(next(steps))
            except StopIteration as done:
                finish(done.value)
            except GannError as error:
                self._on_score_error(request, error)
            return

        from napari.qt.threading import create_worker

        worker = create_worker(
            scoring_steps, source, position, scorer, self.models,
            _progress={"total": len(SCORING_STEPS), "desc": "GANN scoring"},
        )
        worker.yielded.connect(self._on_step)
        worker.returned.connect(finish)
        worker.errored.connect(lambda error: self._on_score_error(request, error))
        self.worker = worker
        worker.start()

    def select_track(self, track: int | None) -> None:
        """Select a track (position in the timeslice) or clear the selection with None."""
        self.selected_track = track
        self._updating = True
        if track is None:
            self.track_list.setCurrentRow(-1)
        else:
            self.track_list.setCurrentRow(track)
        self._updating = False
        self.refresh()

    def refresh(self) -> None:
        """Apply the threshold, assembly, colour mode and filters to the layers and labels."""
        self.threshold_label.setText(f"{self.threshold:.3f}")
        if self.scene is None or self.layers is None:
            return
        state = self.scene.at(self.threshold, self.assembly_combo.currentData())
        color_mode = self.color_combo.currentData()
        if color_mode not in self.scene.available_color_modes():
            color_mode = "predicted"
        baseline = self.baseline_combo.currentData()
        has_baseline = baseline in self.scene.timeslice.baseline_scores
        self.layers.update(
            state,
            color_mode=color_mode,
            baseline=baseline,
            pair_filter=self.filter_combo.currentData(),
            selected_track=self.selected_track,
            touching_only=self.touching_check.isChecked(),
            show_true_pairs=self.true_pairs_check.isChecked(),
        )
        self._show_metrics(state.metrics, self.network_metric_labels)
        baseline_metrics = state.baseline_metrics(baseline) if has_baseline else None
        self._show_metrics(baseline_metrics, self.baseline_metric_labels)
        baseline_point = None
        if baseline_metrics is not None and "recall" in baseline_metrics:
            baseline_point = (baseline_metrics["recall"], baseline_metrics["precision"])
        self.pr_plot.set_points(state.pr_point, baseline_point)
        self._show_track_scores(state)

    # --- construction ----------------------------------------------------------------------------
    def _build_ui(self) -> None:
        content = QWidget()
        layout = QVBoxLayout(content)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(content)
        self._scroll, self._content = scroll, content
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

        data_box = QGroupBox("Timeslice")
        data_form = QFormLayout(data_box)
        self.source_label = QLabel("no timeslices: open a file or a GANN sample")
        self.source_label.setWordWrap(True)
        self.open_button = QPushButton("Open file…")
        self.open_button.clicked.connect(self._open_file_dialog)
        data_form.addRow(self.source_label, self.open_button)
        self.timeslice_spin = QSpinBox()
        self.timeslice_spin.setToolTip("position of the timeslice in the file, from 0")
        self.timeslice_spin.valueChanged.connect(self._on_timeslice_changed)
        self.timeslice_label = QLabel("")
        self.timeslice_label.setWordWrap(True)
        data_form.addRow("position", self.timeslice_spin)
        data_form.addRow(self.timeslice_label)
        layout.addWidget(data_box)

        score_box = QGroupBox("Scores")
        score_form = QFormLayout(score_box)
        self.scorer_combo = QComboBox()
        self.scorer_combo.activated.connect(self._on_scorer_activated)
        score_form.addRow("from", self.scorer_combo)
        self.progress = QProgressBar()
        self.progress.setRange(0, len(SCORING_STEPS))
        self.progress.setValue(0)
        score_form.addRow(self.progress)
        self.status_label = QLabel("")
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        score_form.addRow(self.status_label)
        layout.addWidget(score_box)

        threshold_box = QGroupBox("Threshold and assembly")
        threshold_form = QFormLayout(threshold_box)
        self.threshold_slider = QSlider(Qt.Horizontal)
        self.threshold_slider.setRange(0, SLIDER_STEPS)
        self.threshold_slider.setValue(SLIDER_STEPS // 2)
        self.threshold_slider.setToolTip("a pair counts as same collision when p(same event) > threshold")
        self.threshold_slider.valueChanged.connect(self._on_setting_changed)
        self.threshold_label = QLabel("0.500")
        row = QHBoxLayout()
        row.addWidget(self.threshold_slider)
        row.addWidget(self.threshold_label)
        threshold_form.addRow("threshold", row)
        self.assembly_combo = QComboBox()
        self.assembly_combo.addItem("average linkage", "average")
        self.assembly_combo.addItem("connected components", "components")
        self.assembly_combo.currentIndexChanged.connect(self._on_setting_changed)
        threshold_form.addRow("assembly", self.assembly_combo)
        self.baseline_combo = QComboBox()
        for name, label in BASELINE_LABELS.items():
            self.baseline_combo.addItem(label, name)
        self.baseline_combo.currentIndexChanged.connect(self._on_setting_changed)
        threshold_form.addRow("baseline", self.baseline_combo)
        layout.addWidget(threshold_box)

        metrics_box = QGroupBox("Metrics of this timeslice")
        metrics_box.setToolTip(
            "efficiency and purity: track assignment efficiency and purity after assembly; "
            "exact collisions: fraction of true collisions reconstructed with exactly their tracks"
        )
        grid = QGridLayout(metrics_box)
        grid.addWidget(QLabel("<b>GANN</b>"), 0, 1)
        grid.addWidget(QLabel("<b>baseline</b>"), 0, 2)
        self.network_metric_labels: dict[str, QLabel] = {}
        self.baseline_metric_labels: dict[str, QLabel] = {}
        for row_index, (key, label) in enumerate(METRIC_ROWS, start=1):
            grid.addWidget(QLabel(label), row_index, 0)
            self.network_metric_labels[key] = QLabel("—")
            self.baseline_metric_labels[key] = QLabel("—")
            grid.addWidget(self.network_metric_labels[key], row_index, 1)
            grid.addWidget(self.baseline_metric_labels[key], row_index, 2)
        self.pr_plot = PrecisionRecallPlot()
        self.pr_plot.setToolTip("precision-recall curve of this timeslice; click to move the threshold")
        self.pr_plot.threshold_picked.connect(self.set_threshold)
        grid.addWidget(self.pr_plot, len(METRIC_ROWS) + 1, 0, 1, 3)
        layout.addWidget(metrics_box)

        view_box = QGroupBox("Display")
        view_form = QFormLayout(view_box)
        self.color_combo = QComboBox()
        for mode, label in COLOR_MODE_LABELS.items():
            self.color_combo.addItem(label, mode)
        self.color_combo.currentIndexChanged.connect(self._on_setting_changed)
        view_form.addRow("hit colour", self.color_combo)
        self.filter_combo = QComboBox()
        for name, label in PAIR_FILTER_LABELS.items():
            self.filter_combo.addItem(label, name)
        self.filter_combo.currentIndexChanged.connect(self._on_setting_changed)
        view_form.addRow("pairs", self.filter_combo)
        self.touching_check = QCheckBox("only pairs of the selected track")
        self.touching_check.toggled.connect(self._on_setting_changed)
        view_form.addRow(self.touching_check)
        self.true_pairs_check = QCheckBox("show all true pairs")
        self.true_pairs_check.toggled.connect(self._on_setting_changed)
        view_form.addRow(self.true_pairs_check)
        self.legend_label = QLabel(_legend_html())
        self.legend_label.setWordWrap(True)
        view_form.addRow(self.legend_label)
        layout.addWidget(view_box)

        track_box = QGroupBox("Tracks (click a hit or pick a row)")
        track_layout = QVBoxLayout(track_box)
        self.track_list = QListWidget()
        self.track_list.setSelectionMode(QAbstractItemView.SingleSelection)
        self.track_list.currentRowChanged.connect(self._on_track_row_changed)
        self.track_list.setMaximumHeight(140)
        track_layout.addWidget(self.track_list)
        self.scores_table = QTableWidget(0, 4)
        self.scores_table.setHorizontalHeaderLabels(["track", "p(same)", "true pair", "same group"])
        self.scores_table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.scores_table.verticalHeader().setVisible(False)
        self.scores_table.setMaximumHeight(180)
        track_layout.addWidget(self.scores_table)
        layout.addWidget(track_box)
        layout.addStretch(1)
        for combo in content.findChildren(QComboBox):
            combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(12)
        self._fit_width()

    # --- events ----------------------------------------------------------------------------------
    def _on_layer_inserted(self, event) -> None:
        layer = event.value
        if isinstance(layer.metadata.get(SOURCE_KEY), TimesliceSource) and (
            self.layers is None or layer is not self.layers.hits
        ):
            self.adopt(layer)

    def _on_timeslice_changed(self, position: int) -> None:
        if not self._updating:
            self.show_timeslice(position)

    def _on_scorer_activated(self, index: int) -> None:
        if self.scorer_combo.itemData(index) is not None:
            self.score()
            return
        path, _ = QFileDialog.getOpenFileName(self, "GANN model file", "", "GANN model (*.pt);;all files (*)")
        if path:
            self.choose_scorer(Scorer("path", path))
        elif self._last_scorer is not None:
            self.scorer_combo.setCurrentIndex(max(self._scorer_index(self._last_scorer), 0))

    def _open_file_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Timeslice file", "", "parquet (*.parquet);;all files (*)")
        if path:
            self.open_file(path)

    def _on_setting_changed(self, *_) -> None:
        if not self._updating:
            self.refresh()

    def _on_track_row_changed(self, row: int) -> None:
        if not self._updating:
            self.select_track(row if row >= 0 else None)

    def _on_step(self, step: tuple[int, str]) -> None:
        if not self._lifetime["alive"]:
            return
        index, name = step
        self.progress.setValue(index)
        self._set_status(f"{name}…")

    def _on_scored(self, request: int, scorer: Scorer, scored: ScoredTimeslice) -> None:
        if not self._lifetime["alive"]:
            return
        if request != self._request or self.layers is None:
            return  # a newer request replaced this one
        self.progress.setValue(len(SCORING_STEPS))
        self.scene = Scene(scored)
        self._set_status(f"{len(scored.pairs)} pairs scored by {scored.score_source}.")

        self._updating = True
        if scorer.kind != "file" and scorer != self._defaults_scorer:
            self._defaults_scorer = scorer
            model = self.models.get(scorer)
            # One slider drives edges and assembly. It starts at the model's assembly threshold,
            # so the event colours match the event_pred that 'gann predict' writes.
            self.set_threshold(model.assembly_threshold if self.user_threshold is None else self.user_threshold)
            index = self.assembly_combo.findData(model.assembly)
            if index >= 0:
                self.assembly_combo.setCurrentIndex(index)
        available = self.scene.available_color_modes()
        for index in range(self.color_combo.count()):
            item = self.color_combo.model().item(index)
            item.setEnabled(self.color_combo.itemData(index) in available)
        if self.color_combo.currentData() not in available:
            self.color_combo.setCurrentIndex(self.color_combo.findData("true" if "true" in available else "predicted"))
        self._updating = False

        self.pr_plot.set_curve(self.scene.pr_curve)
        self._install_click_selection()
        self.refresh()
        self._fit_width()

    def _on_score_error(self, request: int, error: Exception) -> None:
        if not self._lifetime["alive"] or request != self._request:
            return
        # Scores of an earlier scorer would now be mistaken for this one's, so drop them.
        self._clear_scores()
        self.progress.setValue(0)
        if isinstance(error, GannError):
            self._show_error(str(error))
        else:
            logger.error("scoring failed", exc_info=error)
            self._show_error(f"scoring failed: {type(error).__name__}: {error}")

    # --- helpers ---------------------------------------------------------------------------------
    def _fit_width(self) -> None:
        """Widen the dock to the content's minimum width, so labels and value columns are never cut."""
        scrollbar = self._scroll.verticalScrollBar().sizeHint().width()
        self._scroll.setMinimumWidth(self._content.minimumSizeHint().width() + scrollbar + 4)

    def _clear_scores(self) -> None:
        """Forget the current scene and show the current timeslice as before scoring (preview colours, no pairs)."""
        self.scene = None
        if self.layers is not None:
            self.layers.show_timeslice(self.position)
        self._show_metrics(None, self.network_metric_labels)
        self._show_metrics(None, self.baseline_metric_labels)
        self.pr_plot.set_curve(None)
        self.pr_plot.set_points(None)
        self.scores_table.setRowCount(0)

    def _scorer_index(self, scorer: Scorer) -> int:
        for index in range(self.scorer_combo.count()):
            if self.scorer_combo.itemData(index) == scorer:
                return index
        return -1

    def _set_status(self, text: str, *, error: bool = False) -> None:
        self.status_label.setStyleSheet("color: #ff6060;" if error else "")
        self.status_label.setText(text)

    def _show_error(self, message: str) -> None:
        self._set_status(message, error=True)
        from napari.utils.notifications import show_error

        show_error(message)

    def _show_metrics(self, metrics: dict | None, labels: dict[str, QLabel]) -> None:
        for key, label in labels.items():
            label.setText(_format_metric(key, metrics))

    def _fill_track_list(self) -> None:
        self._updating = True
        self.track_list.clear()
        table = self.source.timeslice(self.position)
        track_ids = table.track_ids
        hits = table.hits_per_track
        events = table.track_event_ids if table.has_truth else None
        for position in range(table.n_tracks):
            text = f"track {track_ids[position]}: {hits[position]} hits"
            if events is not None:
                text += ", fake" if events[position] < 0 else f", collision {events[position]}"
            self.track_list.addItem(QListWidgetItem(text))
        self._updating = False

    def _show_track_scores(self, state) -> None:
        table = self.scores_table
        if self.selected_track is None:
            table.setRowCount(0)
            return
        scores = state.track_scores(self.selected_track)
        table.setRowCount(len(scores["score"]))
        for row in range(len(scores["score"])):
            same_event = scores.get("same_event")
            truth_text = "—"
            if same_event is not None:
                truth_text = "yes" if same_event[row] else "no"
            cells = (
                str(scores["track_id"][row]),
                f"{scores['score'][row]:.3f}",
                truth_text,
                "yes" if scores["same_predicted"][row] else "no",
            )
            for column, text in enumerate(cells):
                table.setItem(row, column, QTableWidgetItem(text))

    def _install_click_selection(self) -> None:
        hits = self.layers.hits
        if _select_on_click not in hits.mouse_drag_callbacks:
            hits.mouse_drag_callbacks.append(_select_on_click)
        hits.metadata["gann_inspector"] = self


def _select_on_click(layer, event):
    """Select the track of the clicked hit; a drag (camera rotation) selects nothing."""
    press_position = event.position
    yield
    moved = False
    while event.type == "mouse_move":
        moved = True
        yield
    inspector = layer.metadata.get("gann_inspector")
    if moved or inspector is None or inspector.scene is None:
        return
    hit = layer.get_value(
        press_position, view_direction=event.view_direction, dims_displayed=event.dims_displayed, world=True
    )
    if hit is not None and 0 <= hit < len(inspector.scene.hit_track):
        inspector.select_track(int(inspector.scene.hit_track[hit]))


def _format_metric(key: str, metrics: dict | None) -> str:
    if metrics is None:
        return "—"
    if key == "collisions":
        true = metrics.get("events")
        return f"{metrics['predicted_events']}/{true if true is not None else '—'}"
    if key == "above":
        return f"{metrics['above']}/{metrics['pairs']}"
    value = metrics.get(key)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:.3f}"


def _legend_html() -> str:
    def swatch(color: np.ndarray, text: str) -> str:
        red, green, blue = (int(round(255 * channel)) for channel in color[:3])
        return f'<span style="color: rgb({red},{green},{blue});">■</span> {text}'

    pairs = " ".join(
        swatch(PAIR_COLORS[kind], text)
        for kind, text in (("tp", "true positive"), ("fp", "false positive"), ("fn", "false negative"), ("true", "true pair"))
    )
    tracks = " ".join(
        swatch(ASSIGNMENT_COLORS[kind], f"track assigned {kind}") for kind in ("right", "wrong")
    )
    return f"pairs: {pairs}<br>assignment mode: {tracks}<br>grey hits: fake tracks"


__all__ = ["InspectorWidget", "COLOR_MODE_LABELS", "METRIC_ROWS"]
