"""Candidate track pairs for large timeslices: a window in fitted z0 order.

All pairs of a timeslice with n tracks are n (n − 1) / 2, which for 200 overlapping
collisions (about 700 tracks) is 245,000 pairs. Tracks of one collision share their vertex,
so their fitted z0 (:mod:`gann_core.fit`) lie close together. The ``"z0-window"`` rule
therefore sorts each timeslice's tracks by z0 and pairs every track with the ``window``
tracks that follow it in that order. Every track then meets its ``window`` nearest
neighbours in z0 rank on each side, and the number of pairs is at most
``window · n``, linear in the number of tracks.

The rule loses a true pair when ``window`` or more other tracks lie between its two tracks
in z0 order. The fraction lost grows with the number of collisions per timeslice and with
the number of tracks per collision. On simulated SPD-like timeslices
(``benchmarks/bench_end_to_end.py candidates``), window 16 lost 0.07 % of the true pairs
at 200 collisions of 2–5 tracks and none at 10 collisions. Collisions of up to 10 tracks
need a window of about 24 (0.16 % lost at 200 collisions), and up to 20 tracks about 48
(0.12 %). ``docs/benchmarks.md`` lists the whole table.
"""

from __future__ import annotations

import numpy as np

from gann_core.errors import ConfigError
from gann_core.fit import TrackFit, fit_tracks
from gann_core.pairs import TrackPairs, all_pairs
from gann_core.table import Timeslices

#: Candidate rules accepted by :func:`candidate_pairs`.
CANDIDATE_RULES = ("all", "z0-window")

#: Tracks on each side of a track in z0 order that it is paired with by default.
DEFAULT_Z0_WINDOW = 16


def candidate_pairs(
    table: Timeslices,
    rule: str = "all",
    *,
    fit: TrackFit | None = None,
    window: int = DEFAULT_Z0_WINDOW,
) -> TrackPairs:
    """Candidate pairs of every timeslice under ``rule`` ("all" or "z0-window").

    ``fit`` may pass a :func:`~gann_core.fit.fit_tracks` result of the same table to avoid
    refitting. Pairs have ``track_a < track_b`` and are sorted by (track_a, track_b), as
    :func:`gann_core.graph.build_graphs` requires.
    """
    if rule not in CANDIDATE_RULES:
        raise ConfigError(f"unknown candidate rule {rule!r}; expected one of {', '.join(map(repr, CANDIDATE_RULES))}.")
    if rule == "all":
        return all_pairs(table)
    fit = fit_tracks(table) if fit is None else fit
    return z0_window_pairs(table, fit.z0, window)


def z0_window_pairs(table: Timeslices, z0: np.ndarray, window: int = DEFAULT_Z0_WINDOW) -> TrackPairs:
    """Pair every track with the ``window`` tracks after it in its timeslice's z0 order.

    ``z0`` contains one value per track, in mm. Ties in z0 are broken by track position, so
    the result is deterministic. A timeslice with at most ``window + 1`` tracks gets all of
    its pairs.
    """
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 1:
        raise ConfigError(f"z0 window={window!r} is invalid: expected an integer ≥ 1 (tracks on each side).")
    z0 = np.asarray(z0, dtype=np.float64)
    if z0.shape != (table.n_tracks,):
        raise ValueError(f"got {z0.shape} z0 values for {table.n_tracks} tracks; expected one per track.")

    # Sorting by (timeslice, z0) keeps each timeslice's tracks in its own run of positions,
    # because the table's track list is already grouped by timeslice.
    track_slice = table.track_timeslice_index
    order = np.lexsort((np.arange(table.n_tracks), z0, track_slice))
    position_in_slice = np.arange(table.n_tracks) - np.repeat(table.slice_track_offsets[:-1], table.tracks_per_timeslice)
    tracks_after = np.repeat(table.tracks_per_timeslice, table.tracks_per_timeslice) - position_in_slice - 1

    first, second = [], []
    for step in range(1, int(window) + 1):
        # Sorted position p pairs with p + step when both lie in one timeslice.
        inside = np.flatnonzero(tracks_after >= step)
        first.append(order[inside])
        second.append(order[inside + step])
    first = np.concatenate(first) if first else np.zeros(0, dtype=np.int64)
    second = np.concatenate(second) if second else np.zeros(0, dtype=np.int64)

    track_a = np.minimum(first, second)
    track_b = np.maximum(first, second)
    by_pair = np.argsort(track_a * max(table.n_tracks, 1) + track_b, kind="stable")
    return TrackPairs(track_a[by_pair].astype(np.int64), track_b[by_pair].astype(np.int64))


def pairs_lost(table: Timeslices, pairs: TrackPairs) -> dict:
    """Count the true pairs (same collision, fake tracks excluded) that ``pairs`` leaves out.

    Returns the number of true pairs among all pairs, the number kept, the fraction lost,
    and the number of candidate pairs against all pairs. The table needs ``event_id``.
    """
    events = table.track_event_ids
    track_slice = table.track_timeslice_index
    real = events >= 0
    # True pairs per (timeslice, event) group of m tracks: m (m − 1) / 2.
    _, sizes = np.unique(np.stack([track_slice[real], events[real]]), axis=1, return_counts=True)
    true_total = int((sizes * (sizes - 1) // 2).sum())
    a, b = pairs.track_a, pairs.track_b
    kept = int(np.count_nonzero((events[a] == events[b]) & (events[a] >= 0)))
    counts = table.tracks_per_timeslice
    return {
        "true_pairs": true_total,
        "true_pairs_kept": kept,
        "fraction_lost": (true_total - kept) / true_total if true_total else 0.0,
        "candidate_pairs": int(len(pairs)),
        "all_pairs": int((counts * (counts - 1) // 2).sum()),
    }
