"""An interactive timeslice view for Jupyter, without a desktop window.

:func:`show` returns an ipywidgets box: a vispy ``SceneCanvas`` drawn through jupyter_rfb
(hits as Markers, pairs as Line segments) above a threshold slider, assembly, colour and
pair-filter menus and a metrics line. It is fed by the same :class:`~gann_viewer.scene.Scene`
as the napari viewer, so moving the slider only re-filters the stored scores.

vispy still needs an OpenGL context in the kernel's process. With a display (or Xvfb), the
default Qt backend provides one. On a Linux machine without any display, :func:`show`
switches vispy to its OSMesa backend when the OSMesa library (Debian: ``libosmesa6``) is
installed.
"""

from __future__ import annotations

import glob
import html
import logging
import math
import os
import sys
from pathlib import Path

import ipywidgets
import numpy as np

from gann_core.table import Timeslices
from gann_viewer.palette import PAIR_COLORS
from gann_viewer.scene import COLOR_MODES, PAIR_FILTERS, Scene
from gann_viewer.scoring import SHARED_MODELS, Scorer, score_timeslice
from gann_viewer.source import TimesliceSource

logger = logging.getLogger(__name__)

#: Paths searched for the OSMesa library when OSMESA_LIBRARY is not set.
OSMESA_CANDIDATES = ("/usr/lib/x86_64-linux-gnu/libOSMesa.so.8", "/usr/lib/*/libOSMesa.so.8", "/usr/lib64/libOSMesa.so.8")

MARKER_SIZE_PX = 4.0
DRAWN_PAIR_KINDS = ("fn", "tp", "fp")


def show(
    timeslices: Timeslices | TimesliceSource | str | os.PathLike,
    model=None,
    timeslice: int = 0,
    *,
    threshold: float | None = None,
    assembly: str | None = None,
    size: tuple[int, int] = (720, 480),
):
    """Show one timeslice, scored, as an interactive notebook widget.

    Parameters
    ----------
    timeslices:
        A :class:`~gann_core.table.Timeslices` table, a :class:`TimesliceSource`, or the path
        of a timeslice or ``gann predict`` file.
    model:
        A :class:`~gann_core.model.saved.Model`, a model file path or shipped model name, or
        None: the scores in the file's pairs file when there is one, else the shipped SPD model.
    timeslice:
        Position of the timeslice in the table, from 0.
    threshold, assembly:
        Starting values; default the model's (0.5 and "average" for file scores).
    size:
        Canvas width and height in pixels.
    """
    source = _as_source(timeslices)
    if not 0 <= timeslice < source.n_timeslices:
        raise IndexError(f"timeslice position {timeslice} is outside 0..{source.n_timeslices - 1}.")

    scorer, loaded = _scorer_for(model, source)
    scored = score_timeslice(source, timeslice, scorer)
    if threshold is None:
        # The view's one threshold starts where 'gann predict' assembles events.
        threshold = loaded.assembly_threshold if loaded is not None else 0.5
    if assembly is None:
        assembly = loaded.assembly if loaded is not None else "average"
    return TimesliceView(Scene(scored), threshold=threshold, assembly=assembly, size=size)


def _as_source(timeslices) -> TimesliceSource:
    if isinstance(timeslices, TimesliceSource):
        return timeslices
    if isinstance(timeslices, Timeslices):
        return TimesliceSource(timeslices, name="table")
    return TimesliceSource.open(Path(timeslices))


def _scorer_for(model, source: TimesliceSource):
    """Return the scorer for ``model`` and the loaded model (None for file scores)."""
    if model is None and source.has_file_scores:
        return Scorer("file"), None
    if model is None or isinstance(model, (str, os.PathLike)):
        scorer = Scorer.from_model_argument(None if model is None else str(model))
        return scorer, SHARED_MODELS.get(scorer)

    # A Model object: register it under a key of its own so that scoring finds it.
    scorer = Scorer("path", f"<in memory {id(model)}>")
    SHARED_MODELS.add(scorer, model)
    return scorer, model


def use_osmesa_without_display() -> bool:
    """Switch vispy to OSMesa on Linux when there is no display; returns whether it did.

    Does nothing when DISPLAY or WAYLAND_DISPLAY is set, or when vispy already chose an
    application backend (vispy cannot change it then).
    """
    if not sys.platform.startswith("linux") or os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return False
    library = os.environ.get("OSMESA_LIBRARY")
    if not library:
        found = [path for pattern in OSMESA_CANDIDATES for path in sorted(glob.glob(pattern))]
        if not found:
            raise RuntimeError(
                "no display and no OSMesa library, so vispy has no OpenGL context to draw with; "
                "install libosmesa6 (Debian, Ubuntu), set OSMESA_LIBRARY, or start the kernel under xvfb-run."
            )
        os.environ["OSMESA_LIBRARY"] = found[0]
    import vispy

    try:
        vispy.use(app="osmesa")
    except RuntimeError as error:
        logger.info("vispy keeps its application backend: %s", error)
        return False
    return True


class TimesliceView(ipywidgets.VBox):
    """A vispy canvas above the controls; built by :func:`show`.

    ``canvas``, ``threshold_slider``, ``assembly_dropdown``, ``color_dropdown``,
    ``filter_dropdown``, ``metrics_html`` and ``scene`` are public, so a notebook or a test
    can drive the view.
    """

    def __init__(self, scene: Scene, *, threshold: float, assembly: str, size: tuple[int, int] = (720, 480)):
        use_osmesa_without_display()
        from vispy import scene as vispy_scene

        self.scene = scene
        self.canvas_size = size
        self.canvas = vispy_scene.SceneCanvas(app="jupyter_rfb", size=size, bgcolor="black", keys=None)
        self.view = self.canvas.central_widget.add_view()
        # The beam axis z runs left to right and y up, seen slightly from above.
        self.view.camera = vispy_scene.TurntableCamera(up="+y", azimuth=0.0, elevation=15.0, fov=0.0)
        self.markers = vispy_scene.visuals.Markers(parent=self.view.scene)
        self.lines = {
            kind: vispy_scene.visuals.Line(
                pos=np.zeros((2, 3), dtype=np.float32), color=PAIR_COLORS[kind], connect="segments",
                parent=self.view.scene, width=1.5,
            )
            for kind in DRAWN_PAIR_KINDS + ("above",)
        }

        modes = scene.available_color_modes()
        self.threshold_slider = ipywidgets.FloatSlider(
            value=threshold, min=0.0, max=1.0, step=0.005, description="threshold", readout_format=".3f",
        )
        self.assembly_dropdown = ipywidgets.Dropdown(options=["average", "components"], value=assembly, description="assembly")
        self.color_dropdown = ipywidgets.Dropdown(
            options=list(modes), value="true" if "true" in modes else "predicted", description="hit colour"
        )
        self.filter_dropdown = ipywidgets.Dropdown(options=list(PAIR_FILTERS), value="all", description="pairs")
        self.metrics_html = ipywidgets.HTML()
        for control in (self.threshold_slider, self.assembly_dropdown, self.color_dropdown, self.filter_dropdown):
            control.observe(self._on_change, names="value")

        controls = ipywidgets.HBox([self.threshold_slider, self.assembly_dropdown])
        options = ipywidgets.HBox([self.color_dropdown, self.filter_dropdown])
        super().__init__([self.canvas.native, controls, options, self.metrics_html])
        self.update()
        # set_range fits the data for every rotation; a side view fills the canvas at about half that.
        self.view.camera.set_range()
        self.view.camera.scale_factor *= 0.55

    def _on_change(self, _change) -> None:
        self.update()

    def update(self) -> None:
        """Apply the controls to the canvas and the metrics line."""
        state = self.scene.at(self.threshold_slider.value, self.assembly_dropdown.value)
        self.markers.set_data(
            self.scene.timeslice.hits_xyz_mm.astype(np.float32),
            face_color=state.hit_colors(self.color_dropdown.value), edge_width=0, size=MARKER_SIZE_PX,
        )
        kinds = DRAWN_PAIR_KINDS if self.scene.timeslice.has_truth else ("above",)
        for kind, line in self.lines.items():
            if kind not in kinds:
                line.visible = False
                continue
            segments = state.segments(kind, pair_filter=self.filter_dropdown.value)
            if len(segments) == 0:
                line.visible = False
                continue
            ends = np.stack([segments[:, 0], segments[:, 0] + segments[:, 1]], axis=1).reshape(-1, 3)
            line.set_data(pos=ends.astype(np.float32), color=PAIR_COLORS[kind], connect="segments")
            line.visible = True
        self.metrics_html.value = metrics_html(state.metrics, self.scene.timeslice.score_source)
        self.canvas.update()

    def render(self) -> np.ndarray:
        """Draw one frame and return it as a (height, width, 4) uint8 array, as the notebook shows it."""
        backend = self.canvas.native
        if backend._physical_size[0] <= 1:
            # jupyter_rfb learns the size from the browser; without one, send the resize it would.
            width, height = self.canvas_size
            backend.handle_event({"type": "resize", "width": width, "height": height, "ratio": 1.0})
            # The backend passes the resize on through the asyncio loop, which no cell runs here.
            backend._emit_resize_event()
        return self.canvas.render()


def metrics_html(metrics: dict, score_source: str) -> str:
    """Format the metrics line of the notebook view; NaN and missing figures become a dash."""

    def figure(key: str) -> str:
        value = metrics.get(key)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "—"
        return f"{value:.3f}"

    parts = [f"threshold {metrics['threshold']:.3f} ({metrics['assembly']})"]
    if "precision" in metrics:
        parts += [
            f"edge precision {figure('precision')}",
            f"recall {figure('recall')}",
            f"accuracy {figure('accuracy')}",
            f"exact collisions {figure('exact_fraction')}",
            f"collisions {metrics['predicted_events']} / {metrics['events']}",
        ]
    else:
        parts += [f"pairs above threshold {metrics['above']} of {metrics['pairs']}", f"collisions {metrics['predicted_events']}"]
    return f"<code>{html.escape(' · '.join(parts))}</code><br><small>scores: {html.escape(score_source)}</small>"


__all__ = ["COLOR_MODES", "TimesliceView", "metrics_html", "show", "use_osmesa_without_display"]
