"""Scene arrays of a hand-made timeslice, checked against values worked out by hand.

The slice has five tracks of three hits: tracks 0, 1 come from collision 10, tracks 2, 3
from collision 20, and track 4 is fake. Each track's innermost hit is at r = 100 mm and
z = 10 × position, so segment end points are known.
"""

from __future__ import annotations

import numpy as np
import pytest

from gann_core.pairs import TrackPairs
from gann_viewer.palette import ASSIGNMENT_COLORS, GREY, PAIR_COLORS, categorical_colors
from gann_viewer.scene import Scene, ScoredTimeslice, preview_colors

N_TRACKS = 5
TRUE_EVENT = np.array([10, 10, 20, 20, -1])

# All 10 pairs (a < b) in order, and a score for each. Truth: (0,1) and (2,3) only.
PAIR_A = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2, 3])
PAIR_B = np.array([1, 2, 3, 4, 2, 3, 4, 3, 4, 4])
SCORES = np.array([0.9, 0.6, 0.1, 0.2, 0.1, 0.1, 0.1, 0.4, 0.1, 0.1])
# At threshold 0.5: TP (0,1); FP (0,2); FN (2,3); TN the other 7.


def make_timeslice(*, truth: bool = True, time: bool = False) -> ScoredTimeslice:
    hits = []
    for track in range(N_TRACKS):
        angle = track * 1.2
        for radius in (300.0, 100.0, 200.0):  # innermost hit second, so the anchor search matters
            hits.append([radius * np.cos(angle), radius * np.sin(angle), 10.0 * track + radius / 100.0 - 1.0])
    return ScoredTimeslice(
        hits_xyz_mm=np.array(hits),
        track_offsets=np.arange(0, 3 * N_TRACKS + 1, 3),
        track_ids=np.array([5, 6, 7, 8, 9]),
        pairs=TrackPairs(PAIR_A, PAIR_B),
        scores=SCORES,
        true_event=TRUE_EVENT if truth else None,
        hit_time_ns=np.arange(3 * N_TRACKS, dtype=float) if time else None,
        baseline_scores={"z0": np.where((PAIR_A == 0) & (PAIR_B == 1) | (PAIR_A == 2) & (PAIR_B == 3), 0.95, 0.05)},
        timeslice_id=4,
        score_source="hand-made",
    )


def pairs_of(segments: np.ndarray, scene: Scene) -> set[tuple[int, int]]:
    """Recover (a, b) track pairs from segments through the anchors."""
    anchors = scene.anchors_xyz_mm
    found = set()
    for start, vector in segments:
        a = int(np.argmin(np.linalg.norm(anchors - start, axis=1)))
        b = int(np.argmin(np.linalg.norm(anchors - (start + vector), axis=1)))
        found.add((min(a, b), max(a, b)))
    return found


@pytest.fixture
def scene() -> Scene:
    return Scene(make_timeslice())


def test_anchors_are_innermost_hits(scene):
    angles = np.arange(N_TRACKS) * 1.2
    expected = np.stack([100 * np.cos(angles), 100 * np.sin(angles), 10.0 * np.arange(N_TRACKS)], axis=1)
    np.testing.assert_allclose(scene.anchors_xyz_mm, expected, atol=1e-9)


def test_centroid_anchors():
    scene = Scene(make_timeslice(), anchor="centroid")
    hits = scene.timeslice.hits_xyz_mm
    np.testing.assert_allclose(scene.anchors_xyz_mm[2], hits[6:9].mean(axis=0))


def test_true_colors_by_collision(scene):
    colors = scene.true_colors
    track_color = colors[::3]
    assert colors.shape == (15, 4)
    assert colors.dtype == np.float32
    np.testing.assert_array_equal(track_color[0], track_color[1])
    np.testing.assert_array_equal(track_color[2], track_color[3])
    assert not np.array_equal(track_color[0], track_color[2])
    np.testing.assert_array_equal(track_color[4], GREY)
    # Every hit of a track has the track's colour.
    np.testing.assert_array_equal(colors[3:6], np.tile(track_color[1], (3, 1)))


def test_pair_sets_at_threshold(scene):
    state = scene.at(0.5)
    assert pairs_of(state.segments("tp"), scene) == {(0, 1)}
    assert pairs_of(state.segments("fp"), scene) == {(0, 2)}
    assert pairs_of(state.segments("fn"), scene) == {(2, 3)}
    assert pairs_of(state.segments("true"), scene) == {(0, 1), (2, 3)}
    assert pairs_of(state.segments("above"), scene) == {(0, 1), (0, 2)}


def test_pair_sets_move_with_threshold(scene):
    state = scene.at(0.3)
    assert pairs_of(state.segments("tp"), scene) == {(0, 1), (2, 3)}
    assert len(state.segments("fn")) == 0
    state = scene.at(0.95)
    assert len(state.segments("tp")) == 0
    assert pairs_of(state.segments("fn"), scene) == {(0, 1), (2, 3)}


def test_segment_layout_is_start_and_vector(scene):
    segments = scene.at(0.5).segments("tp")
    assert segments.shape == (1, 2, 3)
    np.testing.assert_allclose(segments[0, 0], scene.anchors_xyz_mm[0])
    np.testing.assert_allclose(segments[0, 0] + segments[0, 1], scene.anchors_xyz_mm[1])


def test_filters(scene):
    state = scene.at(0.5)
    assert len(state.segments("tp", pair_filter="fp")) == 0
    assert len(state.segments("fn", pair_filter="fp")) == 0
    assert len(state.segments("fp", pair_filter="fp")) == 1
    assert len(state.segments("fp", pair_filter="fn")) == 0
    assert len(state.segments("fn", pair_filter="fn")) == 1
    assert pairs_of(state.segments("tp", touching=1), scene) == {(0, 1)}
    assert len(state.segments("tp", touching=3)) == 0
    assert pairs_of(state.segments("fn", touching=3), scene) == {(2, 3)}


def test_metrics_at_threshold(scene):
    metrics = scene.at(0.5).metrics
    assert (metrics["tp"], metrics["fp"], metrics["fn"], metrics["tn"]) == (1, 1, 1, 7)
    assert metrics["precision"] == pytest.approx(0.5)
    assert metrics["recall"] == pytest.approx(0.5)
    assert metrics["accuracy"] == pytest.approx(0.8)
    assert metrics["above"] == 2
    # Average linkage at 0.5: {0, 1} merge (0.9); {0, 1} with 2 has mean (0.6 + 0.1) / 2 = 0.35,
    # so the groups are {0, 1}, {2}, {3}, {4}: collision 10 exact, 20 split.
    assert metrics["predicted_events"] == 4
    assert metrics["exact_fraction"] == pytest.approx(0.5)
    assert metrics["events"] == 2


def test_components_assembly_merges_on_one_edge(scene):
    state = scene.at(0.5, "components")
    # Connected components join 0-1 and 0-2: tracks 0, 1, 2 in one group.
    labels = state.labels
    assert labels[0] == labels[1] == labels[2]
    assert state.metrics["exact_fraction"] == pytest.approx(0.0)


def test_pr_curve_and_current_point(scene):
    thresholds, precision, recall = scene.pr_curve
    assert thresholds[0] < 0.9 <= np.nextafter(thresholds[0], 1.0)
    assert precision[0] == pytest.approx(1.0)
    assert recall[0] == pytest.approx(0.5)
    assert scene.at(0.5).pr_point == (pytest.approx(0.5), pytest.approx(0.5))


def test_predicted_colors_match_true_where_right(scene):
    state = scene.at(0.5)
    predicted = state.hit_colors("predicted")[::3]
    true = scene.true_colors[::3]
    # Group {0, 1} is collision 10 exactly, so it keeps that colour; track 2 represents
    # collision 20 (ties go to the lower label), track 3 is split off with a new colour.
    np.testing.assert_array_equal(predicted[0], true[0])
    np.testing.assert_array_equal(predicted[1], true[1])
    np.testing.assert_array_equal(predicted[2], true[2])
    assert not np.array_equal(predicted[3], true[3])
    assert not np.array_equal(predicted[3], predicted[2])
    np.testing.assert_array_equal(predicted[4], GREY)


def test_assignment_right_and_wrong(scene):
    state = scene.at(0.5)
    np.testing.assert_array_equal(state.track_right(), [True, True, True, False, True])
    colors = state.hit_colors("assignment")[::3]
    np.testing.assert_array_equal(colors[0], ASSIGNMENT_COLORS["right"])
    np.testing.assert_array_equal(colors[3], ASSIGNMENT_COLORS["wrong"])


def test_fake_track_wrong_when_grouped():
    timeslice = make_timeslice()
    scores = SCORES.copy()
    scores[(PAIR_A == 3) & (PAIR_B == 4)] = 0.99
    scene = Scene(ScoredTimeslice(**{**timeslice.__dict__, "scores": scores}))
    right = scene.at(0.5).track_right()
    assert not right[4]


def test_baseline_colors_and_metrics(scene):
    state = scene.at(0.5)
    metrics = state.baseline_metrics("z0")
    assert metrics["precision"] == pytest.approx(1.0)
    assert metrics["recall"] == pytest.approx(1.0)
    assert metrics["exact_fraction"] == pytest.approx(1.0)
    np.testing.assert_array_equal(state.hit_colors("baseline", baseline="z0"), scene.true_colors)


def test_time_colors_need_time(scene):
    pytest.importorskip("vispy")
    with pytest.raises(ValueError, match="hit time"):
        scene.at(0.5).hit_colors("time")
    timed = Scene(make_timeslice(time=True))
    colors = timed.at(0.5).hit_colors("time")
    assert colors.shape == (15, 4)
    assert not np.array_equal(colors[0], colors[-1])
    assert "time" in timed.available_color_modes()


def test_track_scores_sorted(scene):
    scores = scene.at(0.5).track_scores(0)
    np.testing.assert_array_equal(scores["track"], [1, 2, 4, 3])
    np.testing.assert_array_equal(scores["track_id"], [6, 7, 9, 8])
    np.testing.assert_allclose(scores["score"], [0.9, 0.6, 0.2, 0.1])
    np.testing.assert_array_equal(scores["same_event"], [True, False, False, False])
    np.testing.assert_array_equal(scores["above"], [True, True, False, False])
    np.testing.assert_array_equal(scores["same_predicted"], [True, False, False, False])


def test_scene_without_truth():
    scene = Scene(make_timeslice(truth=False))
    state = scene.at(0.5)
    assert scene.available_color_modes() == ("predicted", "baseline")
    assert scene.pr_curve is None
    assert state.pr_point is None
    assert pairs_of(state.segments("above"), scene) == {(0, 1), (0, 2)}
    assert "precision" not in state.metrics
    assert state.metrics["predicted_events"] == 4
    with pytest.raises(ValueError, match="truth"):
        state.segments("tp")
    colors = state.hit_colors("predicted")[::3]
    np.testing.assert_array_equal(colors[0], colors[1])
    assert not np.array_equal(colors[0], colors[2])


def test_threshold_states_are_cached(scene):
    assert scene.at(0.5) is scene.at(0.5)
    assert scene.at(0.5) is not scene.at(0.5, "components")


def test_invalid_settings_rejected(scene):
    with pytest.raises(ValueError, match="threshold"):
        scene.at(1.5)
    with pytest.raises(ValueError, match="assembly"):
        scene.at(0.5, "single")
    with pytest.raises(ValueError, match="colour mode"):
        scene.at(0.5).hit_colors("rainbow")
    with pytest.raises(ValueError, match="pair filter"):
        scene.at(0.5).segments("tp", pair_filter="tn")


def test_preview_colors_follow_truth(spd_table):
    table = spd_table.select(0)
    colors = preview_colors(table)
    events = table.columns["event_id"]
    for event in np.unique(events):
        assert len(np.unique(colors[events == event], axis=0)) == 1
    assert len(np.unique(colors, axis=0)) == len(np.unique(events))


def test_palette_distinct_for_many_collisions():
    colors = categorical_colors(np.arange(150))
    assert len(np.unique(np.round(colors, 4), axis=0)) == 150
    # Neighbouring indices differ clearly in RGB.
    steps = np.abs(np.diff(colors[:, :3], axis=0)).max(axis=1)
    assert steps.min() > 0.1
    np.testing.assert_array_equal(categorical_colors(np.array([-1]))[0], GREY)


def test_pair_colors_are_distinct():
    kinds = ("tp", "fp", "fn", "true")
    colors = np.array([PAIR_COLORS[kind] for kind in kinds])
    assert len(np.unique(colors, axis=0)) == len(kinds)


def test_preview_colors_equal_scored_true_colors(spd_table):
    table = spd_table.select(1)
    empty = TrackPairs(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    scene = Scene(ScoredTimeslice.from_table(table, empty, np.zeros(0)))
    np.testing.assert_array_equal(preview_colors(table), scene.true_colors)
