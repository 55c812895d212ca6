"""Event assembly on hand-made score matrices, checked against labels known by construction."""

import numpy as np
import pytest
import scipy.cluster.hierarchy

from gann_core.assembly import ASSEMBLY_METHODS, assemble_events, first_appearance_labels
from gann_core.errors import ConfigError
from gann_core.pairs import TrackPairs, all_pairs_from_offsets


def pairs_and_scores(score_matrix, offset=0):
    """All pairs i < j of a square score matrix, with track positions shifted by ``offset``."""
    n = len(score_matrix)
    a, b = np.triu_indices(n, k=1)
    return TrackPairs(a + offset, b + offset), np.asarray(score_matrix, dtype=float)[a, b]


def two_groups_with_false_edge(false_score=0.85):
    """Tracks 0–3 and 4–7 from two collisions, p = 0.9 within each, p = 0.05 between them
    except for one false edge 3–4 with p = ``false_score``."""
    scores = np.full((8, 8), 0.05)
    scores[:4, :4] = 0.9
    scores[4:, 4:] = 0.9
    scores[3, 4] = scores[4, 3] = false_score
    return scores


def reference_labels(offsets, pairs, scores, threshold, method):
    """Labels from a per-slice square matrix, scipy's fcluster and a plain first-appearance loop."""
    labels = np.zeros(offsets[-1], dtype=np.int64)
    for start, stop in zip(offsets[:-1], offsets[1:]):
        n = stop - start
        if n < 2:
            continue
        p = np.zeros((n, n))
        inside = (pairs.track_a >= start) & (pairs.track_a < stop)
        p[pairs.track_a[inside] - start, pairs.track_b[inside] - start] = scores[inside]
        p = np.maximum(p, p.T)
        if method == "average":
            distance = 1.0 - p
            np.fill_diagonal(distance, 0.0)
            tree = scipy.cluster.hierarchy.linkage(distance[np.triu_indices(n, k=1)], method="average")
            clusters = scipy.cluster.hierarchy.fcluster(tree, t=np.nextafter(1.0 - threshold, -np.inf), criterion="distance")
        else:
            clusters = np.arange(n)
            changed = True
            while changed:
                changed = False
                for i, j in zip(*np.nonzero(p > threshold)):
                    low = min(clusters[i], clusters[j])
                    if clusters[i] != low or clusters[j] != low:
                        clusters[clusters == clusters[i]] = low
                        clusters[clusters == clusters[j]] = low
                        changed = True
        seen = {}
        for position, cluster in enumerate(clusters):
            labels[start + position] = seen.setdefault(cluster, len(seen))
    return labels


def test_average_resists_one_false_edge():
    pairs, scores = pairs_and_scores(two_groups_with_false_edge())
    labels = assemble_events(np.array([0, 8]), pairs, scores, method="average")

    assert labels.tolist() == [0, 0, 0, 0, 1, 1, 1, 1]


def test_average_with_highest_false_edge():
    # The false edge is merged first, but {3, 4} then joins neither group: its mean p with
    # either one is (0.9 + 0.05) / 2.
    pairs, scores = pairs_and_scores(two_groups_with_false_edge(false_score=0.95))
    labels = assemble_events(np.array([0, 8]), pairs, scores, method="average")

    assert labels.tolist() == [0, 0, 0, 1, 1, 2, 2, 2]


@pytest.mark.parametrize("false_score", [0.85, 0.95])
def test_components_chains_over_one_false_edge(false_score):
    pairs, scores = pairs_and_scores(two_groups_with_false_edge(false_score))
    labels = assemble_events(np.array([0, 8]), pairs, scores, method="components")

    assert labels.tolist() == [0] * 8


def test_average_merges_only_above_threshold():
    # Mean p between {0, 1} and {2} is (0.6 + 0.3) / 2 = 0.45.
    scores = np.array([[0, 0.9, 0.6], [0.9, 0, 0.3], [0.6, 0.3, 0]])
    pairs, values = pairs_and_scores(scores)
    offsets = np.array([0, 3])

    assert assemble_events(offsets, pairs, values, threshold=0.5, method="average").tolist() == [0, 0, 1]
    assert assemble_events(offsets, pairs, values, threshold=0.44, method="average").tolist() == [0, 0, 0]
    assert assemble_events(offsets, pairs, values, threshold=0.5, method="components").tolist() == [0, 0, 0]


def test_score_equal_to_threshold_does_not_join():
    pairs = TrackPairs(np.array([0]), np.array([1]))
    for method in ASSEMBLY_METHODS:
        assert assemble_events(np.array([0, 2]), pairs, np.array([0.5]), method=method).tolist() == [0, 1]
        assert assemble_events(np.array([0, 2]), pairs, np.array([0.51]), method=method).tolist() == [0, 0]


def test_average_counts_missing_pairs_as_zero():
    # Pair (0, 2) is not a candidate: mean p between {0, 1} and {2} is (0 + 0.9) / 2.
    pairs = TrackPairs(np.array([0, 1]), np.array([1, 2]))
    scores = np.array([0.95, 0.9])

    assert assemble_events(np.array([0, 3]), pairs, scores, method="average").tolist() == [0, 0, 1]
    assert assemble_events(np.array([0, 3]), pairs, scores, method="components").tolist() == [0, 0, 0]


def test_labels_restart_in_each_timeslice():
    # Slices of 3, 1 and 4 tracks. In the last slice tracks {0, 2} and {1, 3} belong together.
    first, first_scores = pairs_and_scores([[0, 0.9, 0.1], [0.9, 0, 0.2], [0.1, 0.2, 0]], offset=0)
    last, last_scores = pairs_and_scores(
        [[0, 0.1, 0.8, 0.2], [0.1, 0, 0.1, 0.7], [0.8, 0.1, 0, 0.3], [0.2, 0.7, 0.3, 0]], offset=4
    )
    pairs = TrackPairs(np.concatenate([first.track_a, last.track_a]), np.concatenate([first.track_b, last.track_b]))
    scores = np.concatenate([first_scores, last_scores])
    offsets = np.array([0, 3, 4, 8])

    for method in ASSEMBLY_METHODS:
        labels = assemble_events(offsets, pairs, scores, method=method)
        assert labels.dtype == np.int64
        assert labels.tolist() == [0, 0, 1, 0, 0, 1, 0, 1], method


def test_pair_order_and_direction_do_not_matter():
    rng = np.random.default_rng(1)
    offsets = np.array([0, 6, 13])
    pairs = all_pairs_from_offsets(offsets)
    scores = rng.uniform(0, 1, len(pairs))
    order = rng.permutation(len(pairs))
    flipped = TrackPairs(pairs.track_b[order], pairs.track_a[order])

    for method in ASSEMBLY_METHODS:
        expected = assemble_events(offsets, pairs, scores, method=method)
        assert assemble_events(offsets, flipped, scores[order], method=method).tolist() == expected.tolist()


@pytest.mark.parametrize("method", ASSEMBLY_METHODS)
@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.7])
def test_random_batch_matches_reference(method, threshold):
    rng = np.random.default_rng(7)
    counts = rng.integers(1, 12, size=40)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    pairs = all_pairs_from_offsets(offsets)
    # Drop a third of the pairs so that missing candidates are exercised too.
    keep = rng.random(len(pairs)) < 0.67
    pairs = TrackPairs(pairs.track_a[keep], pairs.track_b[keep])
    scores = rng.beta(0.5, 0.5, size=len(pairs))

    labels = assemble_events(offsets, pairs, scores, threshold=threshold, method=method)

    np.testing.assert_array_equal(labels, reference_labels(offsets, pairs, scores, threshold, method))


@pytest.mark.parametrize("threshold", [0.4, 0.6])
def test_planted_groups_match_reference(threshold):
    # Groups of many sizes with high scores inside and noise and false edges between them.
    # The components above the threshold then fall into every size class of the
    # average-linkage path, also those too large for the padded batches.
    rng = np.random.default_rng(11)
    counts = np.array([3, 9, 20, 40, 70, 95])
    offsets = np.concatenate([[0], np.cumsum(counts)])
    pairs = all_pairs_from_offsets(offsets)
    group = np.concatenate([np.sort(rng.integers(0, max(1, n // rng.integers(2, 9)), size=n)) for n in counts])
    same = group[pairs.track_a] == group[pairs.track_b]
    scores = np.where(same, rng.uniform(0.3, 1.0, len(pairs)), rng.beta(0.4, 3.0, len(pairs)))
    keep = rng.random(len(pairs)) < 0.8
    pairs, scores = TrackPairs(pairs.track_a[keep], pairs.track_b[keep]), scores[keep]

    labels = assemble_events(offsets, pairs, scores, threshold=threshold, method="average")

    np.testing.assert_array_equal(labels, reference_labels(offsets, pairs, scores, threshold, "average"))


def test_duplicate_pair_changes_nothing():
    offsets = np.array([0, 5])
    pairs, scores = pairs_and_scores(two_groups_with_false_edge()[:5, :5] * 0.9)
    twice = TrackPairs(np.concatenate([pairs.track_a, pairs.track_a[:3]]), np.concatenate([pairs.track_b, pairs.track_b[:3]]))

    for method in ASSEMBLY_METHODS:
        expected = assemble_events(offsets, pairs, scores, threshold=0.5, method=method)
        repeated = assemble_events(offsets, twice, np.concatenate([scores, scores[:3]]), threshold=0.5, method=method)
        assert repeated.tolist() == expected.tolist(), method


def test_single_track_slices_and_no_pairs():
    offsets = np.array([0, 1, 2, 5])
    no_pairs = TrackPairs(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))

    for method in ASSEMBLY_METHODS:
        labels = assemble_events(offsets, no_pairs, np.zeros(0), method=method)
        assert labels.tolist() == [0, 0, 0, 1, 2], method


def test_first_appearance_labels_renumber_per_slice():
    groups = np.array([17, 3, 17, 9, 9, 4])

    assert first_appearance_labels(np.array([0, 3, 6]), groups).tolist() == [0, 1, 0, 0, 0, 1]


def test_unknown_method_names_value_and_choices():
    pairs, scores = pairs_and_scores(two_groups_with_false_edge())
    with pytest.raises(ConfigError, match="'single'.*'components'.*'average'"):
        assemble_events(np.array([0, 8]), pairs, scores, method="single")


def test_invalid_inputs_raise():
    pairs = TrackPairs(np.array([0]), np.array([1]))
    with pytest.raises(ValueError, match="one score per pair"):
        assemble_events(np.array([0, 2]), pairs, np.array([0.5, 0.5]))
    with pytest.raises(ValueError, match="outside"):
        assemble_events(np.array([0, 2]), pairs, np.array([np.nan]))
    with pytest.raises(ValueError, match="same timeslice"):
        assemble_events(np.array([0, 1, 2]), pairs, np.array([0.9]))
    with pytest.raises(ConfigError, match="threshold"):
        assemble_events(np.array([0, 2]), pairs, np.array([0.9]), threshold=1.5)
