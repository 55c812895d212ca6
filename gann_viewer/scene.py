"""Arrays that draw one scored timeslice: hit positions and colours, pair segments and metrics.

This module imports neither Qt nor napari, so the napari layers and the notebook canvas are
fed by the same code. A :class:`ScoredTimeslice` contains one timeslice and the raw p(same event)
of its candidate pairs. :class:`Scene` prepares what does not depend on the threshold (hit
positions, true-collision colours, segment end points, the precision-recall curve), and
:meth:`Scene.at` returns a :class:`SceneState` for one threshold and assembly method, which
only re-filters the stored scores and re-runs the assembly, never the network.

Positions are (x, y, z) in mm throughout. napari shows the last axis horizontally, so
:mod:`gann_viewer.layers` reverses the columns to (z, y, x).

Pair kinds at a threshold t, with "true" meaning both tracks come from the same collision
(fake tracks pair with nothing):

* ``"tp"``: true pairs with p > t; ``"fp"``: false pairs with p > t;
* ``"fn"``: true pairs with p ≤ t;
* ``"above"``: all pairs with p > t, the only kind available without truth;
* ``"true"``: every true pair of the timeslice, whether or not it is a candidate pair.

A pair is drawn as one segment between the two tracks' anchors: the innermost hit of each
track (smallest transverse radius) by default, or the centroid of its hits. Innermost hits
sit closest to the collision vertex, so a true pair is a short chord near its vertex while
a false positive joining two collisions spans their distance along the beam. Centroids lie
half way out in the detector, where segments of one collision cross the whole detector.

A track is assigned right when its predicted group is the group that represents its
collision: the group whose majority collision it is and which, among such groups, holds most
of that collision's tracks. A fake track is assigned right when it is alone in its group.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from gann_core.assembly import ASSEMBLY_METHODS, assemble_events
from gann_core.metrics import edge_metrics, event_metrics, precision_recall_curve
from gann_core.pairs import TrackPairs
from gann_core.table import FAKE_EVENT_ID, Timeslices
from gann_viewer.palette import ASSIGNMENT_COLORS, GREY, categorical_colors, sequential_colors

#: Hit colour modes: true collision, predicted collision, right/wrong assignment per track,
#: collision assembled from a classical baseline's scores, hit time.
COLOR_MODES = ("true", "predicted", "assignment", "baseline", "time")

#: Segment kinds, see the module docstring.
PAIR_KINDS = ("tp", "fp", "fn", "above", "true")

#: Pair filters: all kinds, only false positives, only false negatives.
PAIR_FILTERS = ("all", "fp", "fn")

ANCHORS = ("centroid", "innermost")
DEFAULT_ANCHOR = "innermost"

#: Number of (threshold, assembly) states a Scene keeps, so going back to a slider position is free.
_STATE_CACHE_SIZE = 32


@dataclass(frozen=True, eq=False)
class ScoredTimeslice:
    """One timeslice with the raw scores of its candidate track pairs.

    Attributes:
        hits_xyz_mm: (n_hits, 3) hit positions, sorted by track.
        track_offsets: n_tracks + 1 offsets; hits of track k are rows track_offsets[k]:track_offsets[k + 1].
        track_ids: ``track_id`` of each track.
        pairs: candidate pairs as track positions 0..n_tracks-1 (``track_a < track_b``).
        scores: p(same event) per pair, in [0, 1].
        true_event: true ``event_id`` per track (-1 for a fake track), or None without truth.
        hit_time_ns: hit time per hit, or None.
        baseline_scores: p(same event) per pair under each classical baseline, by name.
        timeslice_id: the timeslice's id in its file.
        score_source: what produced the scores, for labels ("model spd_default", a file name).
    """

    hits_xyz_mm: np.ndarray
    track_offsets: np.ndarray
    track_ids: np.ndarray
    pairs: TrackPairs
    scores: np.ndarray
    true_event: np.ndarray | None = None
    hit_time_ns: np.ndarray | None = None
    baseline_scores: Mapping[str, np.ndarray] = field(default_factory=dict)
    timeslice_id: int = 0
    score_source: str = ""

    def __post_init__(self) -> None:
        n_tracks = len(self.track_offsets) - 1
        if self.hits_xyz_mm.shape != (int(self.track_offsets[-1]), 3):
            raise ValueError(
                f"hits_xyz_mm has shape {self.hits_xyz_mm.shape}, expected ({int(self.track_offsets[-1])}, 3)."
            )
        if len(self.scores) != len(self.pairs):
            raise ValueError(f"got {len(self.scores)} scores for {len(self.pairs)} pairs; expected one per pair.")
        if self.true_event is not None and len(self.true_event) != n_tracks:
            raise ValueError(f"true_event has {len(self.true_event)} entries, expected one per track ({n_tracks}).")
        for name, values in self.baseline_scores.items():
            if len(values) != len(self.pairs):
                raise ValueError(f"baseline {name!r} has {len(values)} scores for {len(self.pairs)} pairs.")

    @classmethod
    def from_table(
        cls,
        table: Timeslices,
        pairs: TrackPairs,
        scores: np.ndarray,
        *,
        baseline_scores: Mapping[str, np.ndarray] | None = None,
        score_source: str = "",
    ) -> "ScoredTimeslice":
        """Build it from a table holding exactly one timeslice and pairs of that table's tracks."""
        if table.n_timeslices != 1:
            raise ValueError(f"expected a table with one timeslice, got {table.n_timeslices}; use table.select(position).")
        columns = table.columns
        return cls(
            hits_xyz_mm=np.stack([columns["x"], columns["y"], columns["z"]], axis=1),
            track_offsets=np.asarray(table.track_offsets, dtype=np.int64),
            track_ids=table.track_ids,
            pairs=pairs,
            scores=np.asarray(scores, dtype=np.float64),
            true_event=table.track_event_ids if table.has_truth else None,
            hit_time_ns=columns["t"] if table.has_time else None,
            baseline_scores=dict(baseline_scores or {}),
            timeslice_id=int(table.timeslice_ids[0]),
            score_source=score_source,
        )

    @property
    def n_tracks(self) -> int:
        return len(self.track_offsets) - 1

    @property
    def n_hits(self) -> int:
        return len(self.hits_xyz_mm)

    @property
    def has_truth(self) -> bool:
        return self.true_event is not None


class Scene:
    """Threshold-independent arrays of one scored timeslice, and a cache of threshold states.

    ``anchor`` chooses the segment end of each track: ``"centroid"`` or ``"innermost"`` (see
    the module docstring).
    """

    def __init__(self, timeslice: ScoredTimeslice, *, anchor: str = DEFAULT_ANCHOR):
        if anchor not in ANCHORS:
            raise ValueError(f"anchor {anchor!r} is invalid; expected one of {', '.join(ANCHORS)}.")
        self.timeslice = timeslice
        self.anchor = anchor
        self.hit_track = np.repeat(np.arange(timeslice.n_tracks), np.diff(timeslice.track_offsets))
        self.anchors_xyz_mm = _track_anchors(timeslice, anchor)
        self.slice_track_offsets = np.array([0, timeslice.n_tracks], dtype=np.int64)

        self.pair_truth: np.ndarray | None = None
        self.true_pairs: TrackPairs | None = None
        self.true_event_index: np.ndarray | None = None
        if timeslice.has_truth:
            events = timeslice.true_event
            a, b = timeslice.pairs.track_a, timeslice.pairs.track_b
            self.pair_truth = (events[a] == events[b]) & (events[a] != FAKE_EVENT_ID)
            self.true_pairs = _pairs_within_groups(events)
            self.true_event_index = _order_groups_by_z(events, self.anchors_xyz_mm, skip=FAKE_EVENT_ID)

        self._state = functools.lru_cache(maxsize=_STATE_CACHE_SIZE)(self._build_state)

    # --- threshold-independent arrays --------------------------------------------------------
    @functools.cached_property
    def true_colors(self) -> np.ndarray:
        """(n_hits, 4) RGBA by true collision; fake tracks grey. Raises without truth."""
        if self.true_event_index is None:
            raise ValueError("the timeslice has no event_id, so the true-collision colours are unknown.")
        return categorical_colors(self.true_event_index)[self.hit_track]

    @functools.cached_property
    def time_colors(self) -> np.ndarray:
        """(n_hits, 4) RGBA by hit time, earliest dark blue to latest yellow. Raises without hit time."""
        if self.timeslice.hit_time_ns is None:
            raise ValueError("the timeslice has no hit time column 't', so it cannot be coloured by time.")
        return sequential_colors(self.timeslice.hit_time_ns)

    @functools.cached_property
    def pr_curve(self) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """``(thresholds, precision, recall)`` of the rule p > t over the candidate pairs, or None without truth."""
        if self.pair_truth is None:
            return None
        return precision_recall_curve(self.pair_truth, self.timeslice.scores)

    def available_color_modes(self) -> tuple[str, ...]:
        """Return the modes of :data:`COLOR_MODES` this timeslice supports."""
        modes = []
        for mode in COLOR_MODES:
            if mode in ("true", "assignment") and not self.timeslice.has_truth:
                continue
            if mode == "baseline" and not self.timeslice.baseline_scores:
                continue
            if mode == "time" and self.timeslice.hit_time_ns is None:
                continue
            modes.append(mode)
        return tuple(modes)

    def segments(self, pairs: TrackPairs) -> np.ndarray:
        """(M, 2, 3) start and vector (end − start) of each pair's segment, the layout of napari Vectors."""
        start = self.anchors_xyz_mm[pairs.track_a]
        vector = self.anchors_xyz_mm[pairs.track_b] - start
        return np.stack([start, vector], axis=1)

    # --- per threshold ----------------------------------------------------------------------
    def at(self, threshold: float, assembly: str = "average") -> "SceneState":
        """State at ``threshold`` with the given assembly method; recent states are cached."""
        threshold = float(threshold)
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must lie in [0, 1], got {threshold!r}.")
        if assembly not in ASSEMBLY_METHODS:
            raise ValueError(f"assembly {assembly!r} is invalid; expected one of {', '.join(ASSEMBLY_METHODS)}.")
        return self._state(threshold, assembly)

    def _build_state(self, threshold: float, assembly: str) -> "SceneState":
        return SceneState(self, threshold, assembly)


class SceneState:
    """Everything that depends on the threshold and the assembly method; built by :meth:`Scene.at`.

    Labels, colours and metrics are computed on first use and kept.
    """

    def __init__(self, scene: Scene, threshold: float, assembly: str):
        self.scene = scene
        self.threshold = threshold
        self.assembly = assembly
        self.above = scene.timeslice.scores > threshold
        self._baseline_label_cache: dict[str, np.ndarray] = {}

    # --- assembly ---------------------------------------------------------------------------
    @functools.cached_property
    def labels(self) -> np.ndarray:
        """Predicted collision per track, 0..k−1 in order of each group's first track."""
        return self._assemble(self.scene.timeslice.scores)

    def baseline_labels(self, baseline: str) -> np.ndarray:
        """Collision per track assembled from a classical baseline's scores, same threshold and method."""
        if baseline not in self._baseline_label_cache:
            scores = self.scene.timeslice.baseline_scores.get(baseline)
            if scores is None:
                known = ", ".join(self.scene.timeslice.baseline_scores) or "none"
                raise ValueError(f"no scores of baseline {baseline!r}; available: {known}.")
            self._baseline_label_cache[baseline] = self._assemble(scores)
        return self._baseline_label_cache[baseline]

    def _assemble(self, scores: np.ndarray) -> np.ndarray:
        return assemble_events(
            self.scene.slice_track_offsets, self.scene.timeslice.pairs, scores,
            threshold=self.threshold, method=self.assembly,
        )

    # --- metrics ----------------------------------------------------------------------------
    @functools.cached_property
    def metrics(self) -> dict:
        """Edge and event figures of the network's scores at this threshold; see :meth:`metrics_of`."""
        return self.metrics_of(self.scene.timeslice.scores, self.labels)

    def baseline_metrics(self, baseline: str) -> dict:
        """Compute the figures of :meth:`metrics_of` for a classical baseline's scores."""
        return self.metrics_of(self.scene.timeslice.baseline_scores[baseline], self.baseline_labels(baseline))

    def metrics_of(self, scores: np.ndarray, labels: np.ndarray) -> dict:
        """Edge precision, recall, accuracy (NaN when undefined) and event figures after assembly.

        Keys: ``threshold, assembly, pairs, above, predicted_events`` always; with truth also
        ``tp, fp, fn, tn, precision, recall, accuracy, exact_fraction, efficiency, purity,
        ari, events`` (true collisions) and ``fake_tracks``.
        """
        scene = self.scene
        above = scores > self.threshold
        figures = {
            "threshold": self.threshold,
            "assembly": self.assembly,
            "pairs": int(len(scores)),
            "above": int(np.count_nonzero(above)),
            "predicted_events": int(labels.max()) + 1 if len(labels) else 0,
        }
        if scene.pair_truth is None:
            return figures
        figures.update(edge_metrics(scene.pair_truth, scores, self.threshold))
        events = event_metrics(scene.slice_track_offsets, scene.timeslice.true_event, labels)
        for key in ("exact_fraction", "efficiency", "purity", "ari", "events", "fake_tracks"):
            figures[key] = events[key]
        return figures

    @property
    def pr_point(self) -> tuple[float, float] | None:
        """(recall, precision) at this threshold, or None without truth; precision is NaN when no pair passes."""
        if self.scene.pair_truth is None:
            return None
        return float(self.metrics["recall"]), float(self.metrics["precision"])

    # --- hit colours ------------------------------------------------------------------------
    def hit_colors(self, mode: str, *, baseline: str = "z0") -> np.ndarray:
        """(n_hits, 4) float32 RGBA for a colour mode of :data:`COLOR_MODES`.

        Raises ValueError when the timeslice lacks what the mode needs (truth, baseline
        scores, hit time).
        """
        scene = self.scene
        if mode == "true":
            return scene.true_colors
        if mode == "time":
            return scene.time_colors
        if mode == "predicted":
            return self._group_colors(self.labels)[scene.hit_track]
        if mode == "baseline":
            return self._group_colors(self.baseline_labels(baseline))[scene.hit_track]
        if mode == "assignment":
            return self.assignment_colors()[scene.hit_track]
        raise ValueError(f"colour mode {mode!r} is invalid; expected one of {', '.join(COLOR_MODES)}.")

    def _group_colors(self, labels: np.ndarray) -> np.ndarray:
        """Colour per track of its predicted group; a group that represents a collision gets that collision's colour."""
        scene = self.scene
        if scene.true_event_index is None:
            order = _order_groups_by_z(labels, scene.anchors_xyz_mm)
            return categorical_colors(order)
        return categorical_colors(_matched_group_index(scene.true_event_index, labels))

    def track_right(self) -> np.ndarray:
        """Return whether each track is assigned right (see the module docstring). Raises without truth."""
        scene = self.scene
        if scene.true_event_index is None:
            raise ValueError("the timeslice has no event_id, so right and wrong assignments are unknown.")
        return _assigned_right(scene.true_event_index, self.labels)

    def assignment_colors(self) -> np.ndarray:
        """(n_tracks, 4) RGBA, green for a track assigned right and orange-red for a wrong one."""
        right = self.track_right()
        return np.where(right[:, None], ASSIGNMENT_COLORS["right"], ASSIGNMENT_COLORS["wrong"]).astype(np.float32)

    # --- pair segments ----------------------------------------------------------------------
    def pair_mask(self, kind: str) -> np.ndarray:
        """Boolean mask over the candidate pairs for ``"tp"``, ``"fp"``, ``"fn"`` or ``"above"``."""
        truth = self.scene.pair_truth
        if kind == "above":
            return self.above
        if kind not in ("tp", "fp", "fn"):
            raise ValueError(f"pair kind {kind!r} is not a subset of the candidate pairs; use tp, fp, fn or above.")
        if truth is None:
            raise ValueError(f"pair kind {kind!r} needs truth, but the timeslice has no event_id.")
        if kind == "tp":
            return self.above & truth
        if kind == "fp":
            return self.above & ~truth
        return ~self.above & truth

    def segments(self, kind: str, *, pair_filter: str = "all", touching: int | None = None) -> np.ndarray:
        """(M, 2, 3) segments of one pair kind after the filters, for a napari Vectors layer.

        ``pair_filter`` ``"fp"`` keeps only the false positives (every other kind comes back
        empty), ``"fn"`` only the false negatives. ``touching`` keeps only pairs with that
        track position at one end.
        """
        if kind not in PAIR_KINDS:
            raise ValueError(f"pair kind {kind!r} is invalid; expected one of {', '.join(PAIR_KINDS)}.")
        if pair_filter not in PAIR_FILTERS:
            raise ValueError(f"pair filter {pair_filter!r} is invalid; expected one of {', '.join(PAIR_FILTERS)}.")
        scene = self.scene
        if pair_filter != "all" and kind != pair_filter:
            return np.zeros((0, 2, 3))

        if kind == "true":
            if scene.true_pairs is None:
                raise ValueError("pair kind 'true' needs truth, but the timeslice has no event_id.")
            pairs = scene.true_pairs
        else:
            mask = self.pair_mask(kind)
            pairs = TrackPairs(scene.timeslice.pairs.track_a[mask], scene.timeslice.pairs.track_b[mask])
        if touching is not None:
            keep = (pairs.track_a == touching) | (pairs.track_b == touching)
            pairs = TrackPairs(pairs.track_a[keep], pairs.track_b[keep])
        return scene.segments(pairs)

    # --- one track --------------------------------------------------------------------------
    def track_scores(self, track: int) -> dict[str, np.ndarray]:
        """Scores of one track (a position) to every other track it is paired with, highest first.

        Keys: ``track`` (partner position), ``track_id``, ``score``, ``above`` (p > threshold),
        ``same_predicted`` (assembled into the same group), and ``same_event`` with truth.
        """
        scene = self.scene
        pairs = scene.timeslice.pairs
        on_a = np.flatnonzero(pairs.track_a == track)
        on_b = np.flatnonzero(pairs.track_b == track)
        pair_index = np.concatenate([on_a, on_b])
        partner = np.concatenate([pairs.track_b[on_a], pairs.track_a[on_b]])
        scores = scene.timeslice.scores[pair_index]
        order = np.argsort(-scores, kind="stable")

        result = {
            "track": partner[order],
            "track_id": scene.timeslice.track_ids[partner[order]],
            "score": scores[order],
            "above": scores[order] > self.threshold,
            "same_predicted": self.labels[partner[order]] == self.labels[track],
        }
        if scene.pair_truth is not None:
            result["same_event"] = scene.pair_truth[pair_index[order]]
        return result


def preview_colors(table: Timeslices) -> np.ndarray:
    """(n_hits, 4) RGBA for one timeslice before it is scored.

    Tracks are coloured by true collision when the table has ``event_id`` (the same colours
    as :attr:`Scene.true_colors`), else by the stored prediction ``event_pred`` when
    present, else each track on its own.
    """
    if table.has_truth:
        groups, skip = table.track_event_ids, FAKE_EVENT_ID
    elif "event_pred" in table.columns:
        groups, skip = table.track_column("event_pred"), None
    else:
        groups, skip = np.arange(table.n_tracks), None
    columns = table.columns
    hits = np.stack([columns["x"], columns["y"], columns["z"]], axis=1)
    timeslice = ScoredTimeslice(
        hits_xyz_mm=hits,
        track_offsets=np.asarray(table.track_offsets, dtype=np.int64),
        track_ids=table.track_ids,
        pairs=TrackPairs(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)),
        scores=np.zeros(0),
    )
    anchors = _track_anchors(timeslice, DEFAULT_ANCHOR)
    return categorical_colors(_order_groups_by_z(groups, anchors, skip=skip))[table.hit_track_index]


# --- helpers -----------------------------------------------------------------------------------
def _track_anchors(timeslice: ScoredTimeslice, anchor: str) -> np.ndarray:
    offsets = timeslice.track_offsets
    counts = np.diff(offsets)
    hits = timeslice.hits_xyz_mm
    if timeslice.n_tracks == 0:
        return np.zeros((0, 3))
    if anchor == "centroid":
        return np.add.reduceat(hits, offsets[:-1], axis=0) / counts[:, None]

    # Innermost hit: the smallest transverse radius within each track.
    radius = np.hypot(hits[:, 0], hits[:, 1])
    hit_track = np.repeat(np.arange(timeslice.n_tracks), counts)
    order = np.lexsort((radius, hit_track))
    return hits[order[offsets[:-1]]]


def _pairs_within_groups(groups: np.ndarray) -> TrackPairs:
    """Return all pairs of tracks that share a group id other than the fake id, with ``track_a < track_b``."""
    real = np.flatnonzero(groups != FAKE_EVENT_ID)
    order = real[np.argsort(groups[real], kind="stable")]
    sorted_groups = groups[order]
    starts = np.flatnonzero(np.r_[True, sorted_groups[1:] != sorted_groups[:-1]])
    sizes = np.diff(np.r_[starts, len(order)])

    track_a, track_b = [], []
    for start, size in zip(starts, sizes):
        members = order[start : start + size]
        i, j = np.triu_indices(size, k=1)
        track_a.append(members[i])
        track_b.append(members[j])
    if not track_a:
        empty = np.zeros(0, dtype=np.int64)
        return TrackPairs(empty, empty.copy())
    a = np.concatenate(track_a).astype(np.int64)
    b = np.concatenate(track_b).astype(np.int64)
    return TrackPairs(np.minimum(a, b), np.maximum(a, b))


def _order_groups_by_z(groups: np.ndarray, anchors_xyz_mm: np.ndarray, *, skip: int | None = None) -> np.ndarray:
    """Index 0..k−1 per track of its group, groups ordered by the mean z of their tracks' anchors.

    Collisions next to each other along the beam then get consecutive indices, which the
    golden-ratio palette draws in far-apart hues. Tracks in the ``skip`` group get −1.
    """
    groups = np.asarray(groups)
    index = np.full(len(groups), -1, dtype=np.int64)
    keep = np.ones(len(groups), dtype=bool) if skip is None else groups != skip
    if not keep.any():
        return index
    unique, inverse = np.unique(groups[keep], return_inverse=True)
    mean_z = np.bincount(inverse, weights=anchors_xyz_mm[keep, 2]) / np.bincount(inverse)
    rank = np.empty(len(unique), dtype=np.int64)
    rank[np.argsort(mean_z, kind="stable")] = np.arange(len(unique))
    index[keep] = rank[inverse]
    return index


def _group_matches(true_index: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each predicted group: its majority collision (−1 if it has no real track) and
    whether it represents that collision (most of the collision's tracks among such groups)."""
    n_groups = int(labels.max()) + 1 if len(labels) else 0
    real = true_index >= 0
    majority = np.full(n_groups, -1, dtype=np.int64)
    represents = np.zeros(n_groups, dtype=bool)
    if not real.any():
        return majority, represents

    n_true = int(true_index.max()) + 1
    counts = np.zeros((n_groups, n_true), dtype=np.int64)
    np.add.at(counts, (labels[real], true_index[real]), 1)
    has_real = counts.sum(axis=1) > 0
    majority[has_real] = np.argmax(counts[has_real], axis=1)

    # Among the groups with collision e as majority, the one with most of e's tracks wins;
    # ties go to the lower group label.
    for event in np.unique(majority[has_real]):
        candidates = np.flatnonzero(majority == event)
        represents[candidates[np.argmax(counts[candidates, event])]] = True
    return majority, represents


def _matched_group_index(true_index: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Palette index per track: a representing group takes its collision's index, the others
    take indices after the last collision's, and groups of fake tracks only are grey (−1)."""
    majority, represents = _group_matches(true_index, labels)
    n_true = int(true_index.max()) + 1 if (true_index >= 0).any() else 0
    group_index = np.where(represents, majority, -1)
    extra = np.flatnonzero(~represents & (majority >= 0))
    group_index[extra] = n_true + np.arange(len(extra))
    return group_index[labels] if len(labels) else np.zeros(0, dtype=np.int64)


def _assigned_right(true_index: np.ndarray, labels: np.ndarray) -> np.ndarray:
    majority, represents = _group_matches(true_index, labels)
    real = true_index >= 0
    right = np.zeros(len(labels), dtype=bool)
    right[real] = represents[labels[real]] & (majority[labels[real]] == true_index[real])

    group_size = np.bincount(labels, minlength=len(majority))
    right[~real] = group_size[labels[~real]] == 1
    return right


__all__ = [
    "ANCHORS",
    "COLOR_MODES",
    "GREY",
    "PAIR_FILTERS",
    "PAIR_KINDS",
    "Scene",
    "SceneState",
    "ScoredTimeslice",
    "preview_colors",
]
