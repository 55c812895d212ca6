"""napari layers of a timeslice: hits as a 3D Points layer, pair segments as Vectors layers.

Scene arrays are (x, y, z) in mm. napari draws the last data axis horizontally, so every
array passed to a layer has its columns reversed to (z, y, x), and the layers are labelled
accordingly. Colours are always passed as explicit RGBA arrays.
"""

from __future__ import annotations

import numpy as np

from gann_viewer.palette import PAIR_COLORS
from gann_viewer.scene import SceneState, preview_colors
from gann_viewer.source import TimesliceSource

#: Key of the hits layer's metadata entry that stores its :class:`TimesliceSource`.
SOURCE_KEY = "gann_source"
#: Key of the metadata entry that stores the position of the timeslice the layer shows.
POSITION_KEY = "gann_position"

AXIS_LABELS = ("z", "y", "x")
HIT_SIZE_MM = 10.0
SELECTED_HIT_SIZE_MM = 22.0
SEGMENT_WIDTH_MM = 3.0

#: Vectors layers, in the order they are added (the last one is drawn on top).
PAIR_LAYER_NAMES = {
    "true": "true pairs",
    "above": "pairs above threshold",
    "fn": "false negative pairs",
    "tp": "true positive pairs",
    "fp": "false positive pairs",
}


def to_napari(xyz: np.ndarray) -> np.ndarray:
    """Reverse the last axis: (x, y, z) in mm to napari's (z, y, x)."""
    return np.ascontiguousarray(np.asarray(xyz)[..., ::-1])


def hits_layer_data(source: TimesliceSource, position: int = 0) -> tuple:
    """napari LayerData ``(data, kwargs, "points")`` of one timeslice, coloured by :func:`preview_colors`.

    The layer's metadata stores the source and the position, so that the inspector widget
    can adopt a layer opened by the reader or the sample-data menu.
    """
    table = source.timeslice(position)
    columns = table.columns
    xyz = np.stack([columns["x"], columns["y"], columns["z"]], axis=1)
    kwargs = {
        "name": f"{source.name} hits",
        "face_color": preview_colors(table),
        "size": HIT_SIZE_MM,
        "border_width": 0,
        # Keep every hit at least 3 screen pixels wide, so zooming out never hides it.
        "canvas_size_limits": (3, 10000),
        "axis_labels": AXIS_LABELS,
        "units": "mm",
        "metadata": {SOURCE_KEY: source, POSITION_KEY: position},
    }
    return to_napari(xyz), kwargs, "points"


def find_source_layer(layers):
    """Return the last Points layer in ``layers`` that carries a :class:`TimesliceSource`, or None."""
    for layer in reversed(list(layers)):
        if isinstance(layer.metadata.get(SOURCE_KEY), TimesliceSource):
            return layer
    return None


class SceneLayers:
    """The hits layer of a source plus one Vectors layer per pair kind, kept in a viewer.

    Pair layers are created on first use and re-created when the user deleted them. A layer
    is only given new data or colours when they changed, because each napari update costs
    tens of milliseconds (thumbnail and dimension updates) even for small data.
    """

    def __init__(self, viewer, hits_layer):
        self.viewer = viewer
        self.hits = hits_layer
        self.pairs: dict[str, object] = {}
        self._hit_colors: np.ndarray | None = None
        self._selected_track: int | None = None

    @property
    def source(self) -> TimesliceSource:
        return self.hits.metadata[SOURCE_KEY]

    def show_timeslice(self, position: int) -> None:
        """Replace the hits by those of another timeslice (preview colours until it is scored)."""
        data, kwargs, _ = hits_layer_data(self.source, position)
        self.hits.data = data
        self.hits.face_color = kwargs["face_color"]
        self.hits.size = np.full(len(data), HIT_SIZE_MM)
        self._hit_colors = None
        self._selected_track = None
        self.hits.metadata[POSITION_KEY] = position
        for kind in self.pairs:
            self._set_segments(kind, np.zeros((0, 2, 3)))

    def update(
        self,
        state: SceneState,
        *,
        color_mode: str,
        baseline: str = "z0",
        pair_filter: str = "all",
        selected_track: int | None = None,
        touching_only: bool = False,
        show_true_pairs: bool = False,
    ) -> None:
        """Recolour the hits and refill every pair layer for a scene state and the filters."""
        scene = state.scene
        colors = state.hit_colors(color_mode, baseline=baseline)
        if self._hit_colors is None or not np.array_equal(colors, self._hit_colors):
            self.hits.face_color = colors
            self._hit_colors = colors
        if selected_track != self._selected_track:
            sizes = np.full(scene.timeslice.n_hits, HIT_SIZE_MM)
            if selected_track is not None:
                sizes[scene.hit_track == selected_track] = SELECTED_HIT_SIZE_MM
            self.hits.size = sizes
            self._selected_track = selected_track

        touching = selected_track if touching_only else None
        if scene.timeslice.has_truth:
            kinds = ["fn", "tp", "fp"] + (["true"] if show_true_pairs else [])
        else:
            kinds = ["above"]
        for kind in PAIR_LAYER_NAMES:
            if kind in kinds:
                filter_for_kind = "all" if kind == "true" else pair_filter
                self._set_segments(kind, state.segments(kind, pair_filter=filter_for_kind, touching=touching))
            elif kind in self.pairs:
                self._set_segments(kind, np.zeros((0, 2, 3)))

    def remove_pair_layers(self) -> None:
        """Take this source's pair layers out of the viewer (they are not updated any more)."""
        for layer in self.pairs.values():
            if layer in self.viewer.layers:
                self.viewer.layers.remove(layer)
        self.pairs.clear()

    def pair_layer(self, kind: str):
        """Return the Vectors layer of a pair kind, adding it to the viewer when it is missing."""
        layer = self.pairs.get(kind)
        if layer is None or layer not in self.viewer.layers:
            layer = self.viewer.add_vectors(
                np.zeros((0, 2, 3)),
                ndim=3,
                name=f"{self.source.name} {PAIR_LAYER_NAMES[kind]}",
                vector_style="line",
                edge_width=SEGMENT_WIDTH_MM,
                edge_color=PAIR_COLORS[kind],
                axis_labels=AXIS_LABELS,
                units="mm",
            )
            self.pairs[kind] = layer
        return layer

    def _set_segments(self, kind: str, segments_xyz: np.ndarray) -> None:
        layer = self.pair_layer(kind)
        data = to_napari(segments_xyz) if len(segments_xyz) else np.zeros((0, 2, 3))
        if data.shape == layer.data.shape and np.array_equal(data, layer.data):
            return
        if len(data) == 0:
            layer.data = data
            return
        layer.data = data
        # Replacing the data leaves napari's colours of the old vectors in place, so set them all.
        # (napari 0.9 rejects an empty colour array, hence the early return above.)
        layer.edge_color = np.tile(PAIR_COLORS[kind], (len(segments_xyz), 1))
