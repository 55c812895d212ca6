"""Event assembly: turn pair scores p(same event) into one event label per track.

Two methods are offered, both applied within each timeslice only:

* ``"components"``: connected components of the graph whose edges are the candidate pairs
  with p > threshold. This is single linkage, so one false high-score edge between two
  collisions merges them.
* ``"average"``: average-linkage agglomeration on the distance d = 1 − p. Starting from
  single tracks, the two clusters A and B with the largest mean score

      p̄(A, B) = (1 / (|A| |B|)) Σ_{i∈A, j∈B} p_ij

  are merged while p̄(A, B) > threshold. Pairs that are not among the candidates count as
  p = 0. A single false edge between two large groups is outweighed by the many low or
  missing scores between them, so the groups stay apart.

Labels run 0..k−1 within each timeslice, numbered in order of each group's first track.
"""

from __future__ import annotations

import numpy as np
import scipy.cluster.hierarchy
import scipy.sparse
import scipy.sparse.csgraph

from gann_core.errors import ConfigError
from gann_core.pairs import TrackPairs

ASSEMBLY_METHODS = ("components", "average")


def assemble_events(
    slice_track_offsets: np.ndarray,
    pairs: TrackPairs,
    scores: np.ndarray,
    *,
    threshold: float = 0.5,
    method: str = "average",
) -> np.ndarray:
    """Assign an event label to every track from the scores of its candidate pairs.

    Parameters
    ----------
    slice_track_offsets:
        ``n_timeslices + 1`` offsets into the track list (``Timeslices.slice_track_offsets``).
    pairs:
        Candidate pairs, both tracks in the same timeslice. Tracks without any pair end up
        alone in their own group.
    scores:
        p(same event) in [0, 1], one per pair.
    threshold:
        Pairs (``"components"``) or clusters (``"average"``) are joined when the score, or the
        mean score between two clusters, is strictly above it.
    method:
        One of :data:`ASSEMBLY_METHODS`; see the module docstring for the formulas.

    Returns
    -------
    One int64 label per track, 0..k−1 within each timeslice, numbered by first appearance.
    """
    if method not in ASSEMBLY_METHODS:
        raise ConfigError(
            f"unknown assembly method {method!r}; expected one of {', '.join(map(repr, ASSEMBLY_METHODS))}."
        )
    if not (0.0 <= threshold <= 1.0):
        raise ConfigError(f"assembly threshold must lie in [0, 1], got {threshold!r}.")
    slice_track_offsets = np.asarray(slice_track_offsets, dtype=np.int64)
    scores = np.asarray(scores, dtype=np.float64)
    _check_inputs(slice_track_offsets, pairs, scores)

    if method == "components":
        groups = _component_groups(slice_track_offsets, pairs, scores, threshold)
    else:
        groups = _average_linkage_groups(slice_track_offsets, pairs, scores, threshold)
    return first_appearance_labels(slice_track_offsets, groups)


def first_appearance_labels(slice_track_offsets: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Renumber group ids to 0..k−1 within each timeslice, in order of each group's first track.

    ``groups`` contains one id per track. Ids may be any integers, but tracks of different
    timeslices must never share an id.
    """
    groups = np.asarray(groups)
    n_tracks = len(groups)
    if n_tracks == 0:
        return np.zeros(0, dtype=np.int64)

    _, first_track, group_index = np.unique(groups, return_index=True, return_inverse=True)
    group_index = group_index.reshape(-1)
    is_first = np.zeros(n_tracks, dtype=bool)
    is_first[first_track] = True

    # Count the groups started before each track over the whole table. Subtracting the count
    # at the first track of each timeslice restarts the labels at 0 in every slice.
    started_before = np.cumsum(is_first) - is_first
    slice_starts = slice_track_offsets[:-1]
    counts = np.diff(slice_track_offsets)
    offset_per_track = np.repeat(started_before[np.minimum(slice_starts, n_tracks - 1)], counts)
    return (started_before[first_track[group_index]] - offset_per_track).astype(np.int64)


def _check_inputs(slice_track_offsets: np.ndarray, pairs: TrackPairs, scores: np.ndarray) -> None:
    if len(slice_track_offsets) == 0 or slice_track_offsets[0] != 0 or np.any(np.diff(slice_track_offsets) < 0):
        raise ValueError("slice_track_offsets must start at 0 and be non-decreasing.")
    if scores.shape != (len(pairs),):
        raise ValueError(f"got {scores.shape} scores for {len(pairs)} pairs; expected one score per pair.")
    if len(scores) and not (np.all(scores >= 0.0) and np.all(scores <= 1.0)):
        bad = int(np.count_nonzero(~((scores >= 0.0) & (scores <= 1.0))))
        raise ValueError(f"{bad} scores are NaN or outside [0, 1]; scores must be probabilities.")
    if len(pairs) == 0:
        return
    a = np.asarray(pairs.track_a)
    b = np.asarray(pairs.track_b)
    n_tracks = int(slice_track_offsets[-1])
    if min(a.min(), b.min()) < 0 or max(a.max(), b.max()) >= n_tracks:
        raise ValueError(f"pair track positions must lie in 0..{n_tracks - 1}, the tracks of the table.")
    track_slice = np.repeat(np.arange(len(slice_track_offsets) - 1), np.diff(slice_track_offsets))
    if np.any(track_slice[a] != track_slice[b]) or np.any(a == b):
        raise ValueError("every pair must join two different tracks of the same timeslice.")


def _component_groups(
    slice_track_offsets: np.ndarray, pairs: TrackPairs, scores: np.ndarray, threshold: float
) -> np.ndarray:
    """Connected components of the pairs with p > threshold, for all timeslices at once.

    Pairs never cross timeslices, so the graph is block diagonal and each component lies
    within one timeslice.
    """
    n_tracks = int(slice_track_offsets[-1])
    keep = scores > threshold
    a = np.asarray(pairs.track_a)[keep]
    b = np.asarray(pairs.track_b)[keep]
    graph = scipy.sparse.coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n_tracks, n_tracks))
    _, components = scipy.sparse.csgraph.connected_components(graph.tocsr(), directed=False)
    return components


def _average_linkage_groups(
    slice_track_offsets: np.ndarray, pairs: TrackPairs, scores: np.ndarray, threshold: float
) -> np.ndarray:
    """Average-linkage clusters on d = 1 − p, one scipy ``linkage`` call per timeslice.

    The dendrograms are cut for all timeslices at once. Every merge whose height (mean
    distance) is below 1 − threshold links its two children to the new node. The connected
    components of those links, restricted to the tracks, are the clusters.
    Average linkage has no inversions (a merge is never lower than the merges below it),
    so this equals stopping the agglomeration at the first merge with mean p <= threshold.
    """
    condensed, condensed_offsets = _condensed_distances(slice_track_offsets, pairs, scores)
    counts = np.diff(slice_track_offsets)
    n_tracks = int(slice_track_offsets[-1])
    clustered = np.flatnonzero(counts > 1)
    if len(clustered) == 0:
        return np.arange(n_tracks, dtype=np.int64)

    trees = [
        scipy.cluster.hierarchy.linkage(
            condensed[condensed_offsets[position] : condensed_offsets[position + 1]], method="average"
        )
        for position in clustered
    ]
    merges = np.concatenate(trees)

    # Node numbering: tracks keep their table position, and merge row r of the joined
    # linkage matrices becomes node n_tracks + r. Within one slice of n tracks, scipy numbers
    # the tracks 0..n−1 and its own merge row k as n + k.
    rows_per_slice = counts[clustered] - 1
    n = np.repeat(counts[clustered], rows_per_slice)
    track_start = np.repeat(slice_track_offsets[clustered], rows_per_slice)
    first_row = np.repeat(np.cumsum(rows_per_slice) - rows_per_slice, rows_per_slice)
    merge_node = n_tracks + np.arange(len(merges))
    children = merges[:, :2].astype(np.int64)
    child_node = np.where(
        children < n[:, None],
        track_start[:, None] + children,
        n_tracks + first_row[:, None] + children - n[:, None],
    )

    # Merging requires mean p > threshold, that is mean d < 1 − threshold.
    keep = merges[:, 2] < 1.0 - threshold
    parents = np.repeat(merge_node[keep], 2)
    graph = scipy.sparse.coo_matrix(
        (np.ones(len(parents), dtype=np.int8), (child_node[keep].reshape(-1), parents)),
        shape=(n_tracks + len(merges), n_tracks + len(merges)),
    )
    _, components = scipy.sparse.csgraph.connected_components(graph.tocsr(), directed=False)
    return components[:n_tracks].astype(np.int64)


def _condensed_distances(
    slice_track_offsets: np.ndarray, pairs: TrackPairs, scores: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Condensed distance matrices d = 1 − p of all timeslices, joined end to end.

    Slice ``s`` occupies ``condensed[offsets[s]:offsets[s + 1]]`` in scipy's condensed order
    (row-major upper triangle). Pairs that are not candidates get d = 1.

    NOTE: a pair listed twice keeps only one of its scores, and which one is unspecified;
    ``"components"`` instead joins the tracks when either score passes.
    """
    counts = np.diff(slice_track_offsets)
    sizes = counts * (counts - 1) // 2
    condensed_offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    condensed = np.ones(int(condensed_offsets[-1]), dtype=np.float64)
    if len(pairs) == 0:
        return condensed, condensed_offsets

    # Scipy's index of pair (i, j), i < j, in a slice of n tracks is
    # n i − i (i + 1) / 2 + j − i − 1. With i and j as table positions minus the slice's first
    # track, everything except j depends only on the first track, so it is computed per track.
    track_slice = np.repeat(np.arange(len(counts)), counts)
    i = np.arange(int(slice_track_offsets[-1])) - slice_track_offsets[track_slice]
    n = counts[track_slice]
    row_base = condensed_offsets[track_slice] + n * i - i * (i + 1) // 2 - i - 1 - slice_track_offsets[track_slice]

    a = np.asarray(pairs.track_a, dtype=np.int64)
    b = np.asarray(pairs.track_b, dtype=np.int64)
    condensed[row_base[np.minimum(a, b)] + np.maximum(a, b)] = 1.0 - scores
    return condensed, condensed_offsets
