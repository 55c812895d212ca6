"""Edge and event metrics on tiny hand-labelled tables, against values computed by hand."""

import itertools
import math

import numpy as np
import pytest

from gann_core.metrics import (
    adjusted_rand_index_per_timeslice,
    assembled_pair_truth,
    edge_metrics,
    event_metrics,
    precision_recall_curve,
)
from gann_core.pairs import TrackPairs, all_pairs_from_offsets


def pair_counting_ari(true_labels, pred_labels):
    """ARI from the four pair counts: 2 (ad − bc) / ((a + b)(b + d) + (a + c)(c + d))."""
    a = b = c = d = 0
    for i, j in itertools.combinations(range(len(true_labels)), 2):
        same_true = true_labels[i] == true_labels[j]
        same_pred = pred_labels[i] == pred_labels[j]
        a += same_true and same_pred
        b += same_true and not same_pred
        c += same_pred and not same_true
        d += not same_true and not same_pred
    denominator = (a + b) * (b + d) + (a + c) * (c + d)
    return 1.0 if denominator == 0 else 2 * (a * d - b * c) / denominator


def test_edge_metrics_hand_counted():
    truth = np.array([True, True, True, False, False, False, False])
    scores = np.array([0.9, 0.6, 0.2, 0.7, 0.1, 0.4, 0.5])
    result = edge_metrics(truth, scores, threshold=0.5)

    # p = 0.5 is not above the threshold, so the last pair is a true negative.
    assert (result["tp"], result["fp"], result["fn"], result["tn"]) == (2, 1, 1, 3)
    assert result["precision"] == pytest.approx(2 / 3)
    assert result["recall"] == pytest.approx(2 / 3)
    assert result["accuracy"] == pytest.approx(5 / 7)
    assert result["threshold"] == 0.5
    assert result["pairs"] == 7


def test_edge_metrics_undefined_ratios_are_nan():
    result = edge_metrics(np.array([False, False]), np.array([0.1, 0.2]))

    assert math.isnan(result["precision"])
    assert math.isnan(result["recall"])
    assert result["accuracy"] == 1.0
    assert math.isnan(edge_metrics(np.zeros(0, dtype=bool), np.zeros(0))["accuracy"])


def test_edge_metrics_reject_non_boolean_truth():
    with pytest.raises(ValueError, match="boolean"):
        edge_metrics(np.array([1, 0]), np.array([0.9, 0.1]))


def test_precision_recall_curve_matches_brute_force():
    rng = np.random.default_rng(4)
    truth = rng.random(300) < 0.3
    # Rounded scores give ties, which must share one point of the curve.
    scores = np.round(np.clip(rng.normal(np.where(truth, 0.7, 0.3), 0.2), 0, 1), 2)
    thresholds, precision, recall = precision_recall_curve(truth, scores)

    distinct = np.unique(scores)[::-1]
    assert len(thresholds) == len(distinct)
    assert np.all(np.diff(thresholds) < 0)
    for k, score in enumerate(distinct):
        selected = scores >= score
        expected_precision = np.count_nonzero(selected & truth) / np.count_nonzero(selected)
        expected_recall = np.count_nonzero(selected & truth) / np.count_nonzero(truth)
        assert precision[k] == pytest.approx(expected_precision)
        assert recall[k] == pytest.approx(expected_recall)
        at_threshold = edge_metrics(truth, scores, thresholds[k])
        assert at_threshold["precision"] == pytest.approx(precision[k])
        assert at_threshold["recall"] == pytest.approx(recall[k])
    assert recall[-1] == 1.0


def test_assembled_pair_truth():
    pairs = TrackPairs(np.array([0, 0, 1, 3]), np.array([1, 2, 2, 4]))
    labels = np.array([0, 0, 1, 0, 0])

    assert assembled_pair_truth(pairs, labels).tolist() == [True, False, False, True]


# Four timeslices, labels reused across slices on purpose (only equality within a slice counts).
#   A: collisions 5 {0,1,2}, 7 {3,4}, 9 {5} and a fake track 6; predicted {0,1,2} {3,4,5} {6}
#   B: collisions 1 {0,2}, 2 {1,3}; predicted {0,1} {2,3}
#   C: one track
#   D: three single-track collisions, each predicted alone
OFFSETS = np.array([0, 7, 11, 12, 15])
TRUE_EVENT = np.array([5, 5, 5, 7, 7, 9, -1] + [1, 2, 1, 2] + [3] + [0, 1, 2])
PRED_EVENT = np.array([0, 0, 0, 1, 1, 1, 2] + [0, 0, 1, 1] + [0] + [4, 5, 6])


def test_event_metrics_hand_computed():
    result = event_metrics(OFFSETS, TRUE_EVENT, PRED_EVENT)

    # Exact: A has collision 5 only (7 shares its group with 9); B none; C and D all.
    assert result["events"] == 3 + 2 + 1 + 3
    assert result["exact_events"] == 1 + 0 + 1 + 3
    assert result["exact_fraction"] == pytest.approx(5 / 9)
    # Efficiency: every collision track of A is in its collision's best label, half of B.
    assert result["efficiency"] == pytest.approx((6 + 2 + 1 + 3) / 14)
    # Purity: majorities 3 + 2 + 1 (the fake alone) in A, 1 + 1 in B, all of C and D.
    assert result["purity"] == pytest.approx((6 + 2 + 1 + 3) / 15)
    # ARI of A: index 4, expected 4 * 6 / 21, maximum (4 + 6) / 2, giving 20 / 27.
    # B: index 0, expected 2 * 2 / 6, maximum 2, giving −1/2. C and D are trivial: 1.
    assert result["ari"] == pytest.approx((20 / 27 - 0.5 + 1 + 1) / 4)
    assert result["timeslices"] == 4
    assert result["tracks"] == 15
    assert result["fake_tracks"] == 1
    assert result["predicted_events"] == 3 + 2 + 1 + 3


def test_ari_per_timeslice_hand_computed():
    ari = adjusted_rand_index_per_timeslice(OFFSETS, TRUE_EVENT, PRED_EVENT)

    np.testing.assert_allclose(ari, [20 / 27, -0.5, 1.0, 1.0])


def test_ari_matches_pair_counting_on_random_slices():
    rng = np.random.default_rng(11)
    counts = rng.integers(1, 14, size=60)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    true_event = rng.integers(-1, 4, size=offsets[-1])
    pred_event = rng.integers(0, 4, size=offsets[-1])
    ari = adjusted_rand_index_per_timeslice(offsets, true_event, pred_event)

    for position, (start, stop) in enumerate(zip(offsets[:-1], offsets[1:])):
        # Fake tracks are singletons: give each a label no other track has.
        truth = [int(label) if label >= 0 else -1 - k for k, label in enumerate(true_event[start:stop])]
        predicted = [int(label) for label in pred_event[start:stop]]
        assert ari[position] == pytest.approx(pair_counting_ari(truth, predicted), abs=1e-12)


def test_fake_tracks_only_count_for_purity_and_ari():
    # Two fake tracks put together: no collisions, so exact fraction and efficiency are NaN;
    # purity 1/2; ARI 0 (true partition all singletons, predicted one group).
    result = event_metrics(np.array([0, 2]), np.array([-1, -1]), np.array([0, 0]))

    assert math.isnan(result["exact_fraction"])
    assert math.isnan(result["efficiency"])
    assert result["purity"] == pytest.approx(0.5)
    assert result["ari"] == pytest.approx(0.0)


def test_fake_track_in_group_spoils_exact_collision():
    result = event_metrics(np.array([0, 3]), np.array([4, 4, -1]), np.array([0, 0, 0]))

    assert result["exact_events"] == 0
    assert result["efficiency"] == 1.0
    assert result["purity"] == pytest.approx(2 / 3)


def test_perfect_assembly_scores_one():
    offsets = np.array([0, 5, 9])
    true_event = np.array([3, 3, 8, 8, 8, 1, 1, 2, 2])
    pred_event = np.array([0, 0, 1, 1, 1, 0, 0, 1, 1])
    result = event_metrics(offsets, true_event, pred_event)

    for name in ("exact_fraction", "efficiency", "purity", "ari"):
        assert result[name] == 1.0, name


def test_event_metrics_reject_wrong_lengths():
    with pytest.raises(ValueError, match="one true and one predicted label per track"):
        event_metrics(np.array([0, 3]), np.array([0, 0, 1]), np.array([0, 0]))


def test_assembled_pair_truth_feeds_edge_metrics():
    offsets = np.array([0, 4])
    pairs = all_pairs_from_offsets(offsets)
    true_event = np.array([0, 0, 1, 1])
    labels = np.array([0, 0, 0, 1])
    truth = true_event[pairs.track_a] == true_event[pairs.track_b]
    result = edge_metrics(truth, assembled_pair_truth(pairs, labels).astype(float))

    # Predicted together: (0,1) (0,2) (1,2); truly together: (0,1) (2,3).
    assert (result["tp"], result["fp"], result["fn"], result["tn"]) == (1, 2, 1, 2)
