"""Edge-level and event-level figures of merit.

Edge level (one entry per scored track pair, a pair predicted true when p > threshold):

* precision = TP / (TP + FP), recall = TP / (TP + FN),
  accuracy = (TP + TN) / (TP + TN + FP + FN).

A ratio whose denominator is zero (no predicted positives, no true pairs, no pairs) is NaN,
because it is undefined, not 0 or 1. The counts are returned too, so a caller can tell.

Event level (one label per track after assembly), with the timeslice as the unit in which
labels are compared:

* ``exact_fraction``: collisions whose predicted group contains exactly their tracks and
  nothing else, over all collisions;
* ``efficiency`` (track assignment efficiency): for each collision, the predicted label
  holding most of its tracks; the fraction of all collision tracks that sit in that label;
* ``purity`` (track assignment purity): for each predicted group, the fraction of its tracks
  that come from its majority collision, weighted by track (summed majorities over all
  tracks);
* ``ari`` (adjusted Rand index): computed per timeslice from the contingency table of true
  and predicted groups, then averaged over timeslices.

Fake tracks (true event id −1) come from no collision. For ARI and purity each fake track is
its own singleton collision, so a fake track placed in a real group lowers purity. They are
left out of the exact fraction and the efficiency, which are about collisions. A fake
track inside a collision's predicted group still stops that collision from being exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gann_core.pairs import TrackPairs
from gann_core.table import FAKE_EVENT_ID


def edge_metrics(truth: np.ndarray, scores: np.ndarray, threshold: float = 0.5) -> dict:
    """Count TP, FP, FN, TN of the rule p > threshold and return them with precision, recall, accuracy.

    Ratios with a zero denominator are NaN. The dict also stores ``threshold`` and ``pairs``.
    """
    truth, scores = _check_pair_arrays(truth, scores)
    predicted = scores > threshold
    tp = int(np.count_nonzero(predicted & truth))
    fp = int(np.count_nonzero(predicted & ~truth))
    fn = int(np.count_nonzero(~predicted & truth))
    tn = int(len(truth) - tp - fp - fn)
    return {
        "threshold": float(threshold),
        "pairs": int(len(truth)),
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "accuracy": _ratio(tp + tn, len(truth)),
    }


def precision_recall_curve(truth: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Compute precision and recall of the rule p > t for every t that changes the prediction.

    Returns ``(thresholds, precision, recall)`` with thresholds in decreasing order, one per
    distinct score s. Each threshold is the largest float below s, so ``p > thresholds[k]``
    selects exactly the pairs with p >= s, and ``edge_metrics(truth, scores, thresholds[k])``
    gives ``precision[k]`` and ``recall[k]``. Every point predicts at least one pair, so
    precision is always defined. Recall is NaN throughout when there is no true pair.
    """
    truth, scores = _check_pair_arrays(truth, scores)
    if len(scores) == 0:
        empty = np.zeros(0, dtype=np.float64)
        return empty, empty.copy(), empty.copy()

    order = np.argsort(-scores, kind="stable")
    sorted_scores = scores[order]
    true_so_far = np.cumsum(truth[order])
    predicted_so_far = np.arange(1, len(scores) + 1)

    # The last pair of each run of equal scores closes that threshold's selection.
    run_end = np.flatnonzero(np.append(sorted_scores[1:] != sorted_scores[:-1], True))
    tp = true_so_far[run_end].astype(np.float64)
    precision = tp / predicted_so_far[run_end]
    n_true = float(true_so_far[-1])
    recall = tp / n_true if n_true > 0 else np.full(len(run_end), np.nan)
    thresholds = np.nextafter(sorted_scores[run_end], -np.inf)
    return thresholds, precision, recall


def assembled_pair_truth(pairs: TrackPairs, labels: np.ndarray) -> np.ndarray:
    """Return, per pair, whether assembly put both tracks into the same group.

    Use it as the prediction (scores 0 or 1) of :func:`edge_metrics` to get pair precision
    and recall after assembly.
    """
    labels = np.asarray(labels)
    return labels[pairs.track_a] == labels[pairs.track_b]


def event_metrics(slice_track_offsets: np.ndarray, true_event: np.ndarray, pred_event: np.ndarray) -> dict:
    """Compare predicted event labels with the true collisions, timeslice by timeslice.

    ``true_event`` and ``pred_event`` hold one label per track; only equality within a
    timeslice matters, so the same label in two timeslices means two different groups.
    See the module docstring for the definitions and the handling of fake tracks (−1).

    Returns a dict with ``exact_fraction``, ``efficiency``, ``purity`` and ``ari`` (NaN
    where nothing is counted) and the counts ``timeslices``, ``tracks``, ``fake_tracks``, ``events``, ``exact_events`` and
    ``predicted_events``.
    """
    groups = _Contingency.build(slice_track_offsets, true_event, pred_event)
    true_size = np.bincount(groups.true_group, minlength=groups.n_true_groups)
    pred_size = np.bincount(groups.pred_group, minlength=groups.n_pred_groups)
    true_is_fake = np.zeros(groups.n_true_groups, dtype=bool)
    true_is_fake[groups.true_group[groups.fake]] = True

    # Largest cell of each true group (efficiency) and of each predicted group (purity).
    true_best = np.zeros(groups.n_true_groups, dtype=np.int64)
    np.maximum.at(true_best, groups.cell_true, groups.cell_size)
    pred_best = np.zeros(groups.n_pred_groups, dtype=np.int64)
    np.maximum.at(pred_best, groups.cell_pred, groups.cell_size)

    # A collision is exact when one cell contains all its tracks and that cell is the whole
    # predicted group, fake tracks included.
    exact_cell = groups.cell_size == true_size[groups.cell_true]
    exact_cell &= groups.cell_size == pred_size[groups.cell_pred]
    exact_cell &= ~true_is_fake[groups.cell_true]

    n_tracks = len(groups.true_group)
    n_events = int(np.count_nonzero(~true_is_fake))
    n_exact = int(np.count_nonzero(exact_cell))
    n_event_tracks = int(np.count_nonzero(~groups.fake))
    ari = groups.adjusted_rand_indices()
    return {
        "exact_fraction": _ratio(n_exact, n_events),
        "efficiency": _ratio(int(true_best[~true_is_fake].sum()), n_event_tracks),
        "purity": _ratio(int(pred_best.sum()), n_tracks),
        "ari": float(np.mean(ari)) if len(ari) else float("nan"),
        "timeslices": groups.n_slices,
        "tracks": n_tracks,
        "fake_tracks": int(np.count_nonzero(groups.fake)),
        "events": n_events,
        "exact_events": n_exact,
        "predicted_events": groups.n_pred_groups,
    }


def adjusted_rand_index_per_timeslice(
    slice_track_offsets: np.ndarray, true_event: np.ndarray, pred_event: np.ndarray
) -> np.ndarray:
    """ARI of every timeslice (fake tracks as singletons), as averaged by :func:`event_metrics`."""
    return _Contingency.build(slice_track_offsets, true_event, pred_event).adjusted_rand_indices()


@dataclass(frozen=True)
class _Contingency:
    """True and predicted groups of all tracks with ids unique over the table, and their
    contingency cells (one per true/predicted group pair that shares tracks)."""

    n_slices: int
    track_slice: np.ndarray
    fake: np.ndarray
    true_group: np.ndarray
    pred_group: np.ndarray
    n_true_groups: int
    n_pred_groups: int
    cell_true: np.ndarray
    cell_pred: np.ndarray
    cell_size: np.ndarray

    @classmethod
    def build(cls, slice_track_offsets, true_event, pred_event) -> "_Contingency":
        slice_track_offsets = np.asarray(slice_track_offsets, dtype=np.int64)
        true_event = np.asarray(true_event, dtype=np.int64)
        pred_event = np.asarray(pred_event, dtype=np.int64)
        counts = np.diff(slice_track_offsets)
        n_tracks = int(slice_track_offsets[-1]) if len(slice_track_offsets) else 0
        if true_event.shape != (n_tracks,) or pred_event.shape != (n_tracks,):
            raise ValueError(
                f"expected one true and one predicted label per track ({n_tracks}), "
                f"got {true_event.shape} and {pred_event.shape}."
            )
        track_slice = np.repeat(np.arange(len(counts)), counts)
        fake = true_event == FAKE_EVENT_ID

        # Each fake track gets a key of its own, so it forms a singleton true group.
        fake_key = np.where(fake, np.arange(n_tracks), -1)
        true_group = _dense_ids(track_slice, true_event, fake_key)
        pred_group = _dense_ids(track_slice, pred_event)
        n_true_groups = int(true_group.max()) + 1 if n_tracks else 0
        n_pred_groups = int(pred_group.max()) + 1 if n_tracks else 0

        stride = max(n_pred_groups, 1)
        cells, cell_size = np.unique(true_group * stride + pred_group, return_counts=True)
        return cls(
            n_slices=len(counts), track_slice=track_slice, fake=fake,
            true_group=true_group, pred_group=pred_group,
            n_true_groups=n_true_groups, n_pred_groups=n_pred_groups,
            cell_true=cells // stride, cell_pred=cells % stride, cell_size=cell_size,
        )

    def adjusted_rand_indices(self) -> np.ndarray:
        """Per-timeslice ARI from pair counts (Hubert and Arabie, 1985).

        With n_ij the contingency cells, a_i and b_j the true and predicted group sizes and
        C(m) = m (m − 1) / 2 the number of pairs among m tracks:

            index    = Σ C(n_ij)
            expected = Σ C(a_i) · Σ C(b_j) / C(n)
            maximum  = (Σ C(a_i) + Σ C(b_j)) / 2
            ARI      = (index − expected) / (maximum − expected)

        The denominator is zero only when both partitions are trivial in the same way (all
        singletons, or all tracks in one group) or the slice has fewer than two tracks. The
        two partitions then agree, and the slice counts as 1.0.
        """
        n_slices = self.n_slices
        true_slice = np.zeros(self.n_true_groups, dtype=np.int64)
        true_slice[self.true_group] = self.track_slice
        pred_slice = np.zeros(self.n_pred_groups, dtype=np.int64)
        pred_slice[self.pred_group] = self.track_slice

        index = np.bincount(true_slice[self.cell_true], weights=_pairs_among(self.cell_size), minlength=n_slices)
        sum_true = np.bincount(true_slice, weights=_pairs_among(np.bincount(self.true_group)), minlength=n_slices)
        sum_pred = np.bincount(pred_slice, weights=_pairs_among(np.bincount(self.pred_group)), minlength=n_slices)
        total = _pairs_among(np.bincount(self.track_slice, minlength=n_slices))

        expected = np.divide(sum_true * sum_pred, total, out=np.zeros(n_slices), where=total > 0)
        maximum = (sum_true + sum_pred) / 2
        denominator = maximum - expected
        # The sums are integers, so a true zero comes out exact; the tolerance only guards
        # against rounding in the division.
        trivial = np.abs(denominator) <= 1e-9 * np.maximum(maximum, 1.0)
        return np.where(trivial, 1.0, (index - expected) / np.where(trivial, 1.0, denominator))


def _pairs_among(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float64)
    return m * (m - 1) / 2


def _dense_ids(*keys: np.ndarray) -> np.ndarray:
    """Number the distinct rows of the key columns 0..k−1 (in sorted key order)."""
    n = len(keys[0])
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.lexsort(keys[::-1])
    new_group = np.zeros(n, dtype=bool)
    new_group[0] = True
    for key in keys:
        sorted_key = key[order]
        new_group[1:] |= sorted_key[1:] != sorted_key[:-1]
    ids = np.empty(n, dtype=np.int64)
    ids[order] = np.cumsum(new_group) - 1
    return ids


def _check_pair_arrays(truth: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    truth = np.asarray(truth)
    scores = np.asarray(scores, dtype=np.float64)
    if truth.dtype != bool:
        raise ValueError(f"truth must be a boolean array, got dtype {truth.dtype}.")
    if truth.shape != scores.shape or truth.ndim != 1:
        raise ValueError(f"truth and scores must be 1-D arrays of equal length, got {truth.shape} and {scores.shape}.")
    return truth, scores


def _ratio(numerator: int, denominator: int) -> float:
    return float(numerator) / denominator if denominator > 0 else float("nan")
