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
from gann_core.table import concat_ranges

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
    """Average-linkage clusters on d = 1 − p, found component by component.

    Two clusters merge only when their mean score is above the threshold, so at least one
    pair between them scores above it. Every cluster therefore lies inside one connected
    component of the pairs with p > threshold (the ``"components"`` groups), and merges in
    one component never change the mean scores inside another. So:

    * a component whose tracks are all joined pairwise above the threshold (any component
      of one or two tracks, and most true collisions) is one cluster, as every merge inside
      it has a mean score above the threshold;
    * every other component is agglomerated on the distances among its tracks only (pairs
      that are not candidates count as d = 1).

    The dendrograms are cut at once: every merge with mean distance below 1 − threshold
    links its two children to the new node, and the connected components of those links,
    restricted to the tracks, are the clusters. Average linkage has no inversions (a merge
    is never lower than the merges below it), so this equals stopping the agglomeration at
    the first merge with mean p ≤ threshold. Components keep the cost of a timeslice with
    many collisions near linear in its tracks, where one call per timeslice grows with the
    square of its tracks. Small components are agglomerated together, as padded arrays
    (:func:`_average_linkage_batched`), since one scipy call took about 25 µs even for five
    tracks on the benchmark machine.

    NOTE: a pair listed twice keeps only one of its scores in the mean scores, and which
    one is unspecified. ``"components"`` instead joins the tracks when either score passes.
    """
    n_tracks = int(slice_track_offsets[-1])
    component = _component_groups(slice_track_offsets, pairs, scores, threshold)
    size = np.bincount(component, minlength=1)
    a = np.asarray(pairs.track_a, dtype=np.int64)
    b = np.asarray(pairs.track_b, dtype=np.int64)
    above = np.flatnonzero(scores > threshold)
    key = np.minimum(a[above], b[above]) * max(n_tracks, 1) + np.maximum(a[above], b[above])
    if np.any(key[1:] <= key[:-1]):
        # Not sorted (the candidate rules sort their pairs): a pair listed twice must not
        # count twice towards a complete component.
        key = np.unique(key)
    links = np.bincount(component[key // max(n_tracks, 1)], minlength=len(size))
    linked = (size > 2) & (links < size * (size - 1) // 2)
    if not linked.any():
        return component.astype(np.int64)

    # Tracks of the components that need agglomeration, grouped by component in table order.
    track_linked = linked[component]
    members = np.flatnonzero(track_linked)
    members = members[np.argsort(component[members], kind="stable")]
    components, first_member, counts = np.unique(component[members], return_index=True, return_counts=True)
    local = np.empty(n_tracks, dtype=np.int64)
    local[members] = np.arange(len(members)) - np.repeat(first_member, counts)
    position = np.full(len(size), -1, dtype=np.int64)
    position[components] = np.arange(len(components))
    inside = np.flatnonzero(track_linked[a] & track_linked[b])
    inside = inside[component[a[inside]] == component[b[inside]]]
    low = np.minimum(a[inside], b[inside])
    high = np.maximum(a[inside], b[inside])
    pair_position = position[component[low]]

    groups = component.astype(np.int64)
    next_id = len(size)
    for lo, hi in _SIZE_CLASSES:
        chosen = np.flatnonzero((counts > lo) & (counts <= hi))
        if len(chosen) == 0:
            continue
        rank = np.full(len(components), -1, dtype=np.int64)
        rank[chosen] = np.arange(len(chosen))
        picked = np.flatnonzero(rank[pair_position] >= 0)
        component_row = rank[pair_position[picked]]
        i, j, values = local[low[picked]], local[high[picked]], scores[inside[picked]]
        tracks = members[concat_ranges(first_member[chosen], first_member[chosen] + counts[chosen])]
        if hi <= _MAX_BATCHED_TRACKS:
            width = int(counts[chosen].max())
            owner = _average_linkage_batched(counts[chosen], component_row, i, j, values, threshold, width)
            rows = np.repeat(np.arange(len(chosen)), counts[chosen])
            groups[tracks] = next_id + rows * width + owner[rows, local[tracks]]
            next_id += len(chosen) * width
        else:
            clusters = _average_linkage_scipy(counts[chosen], component_row, i, j, values, threshold)
            groups[tracks] = next_id + clusters
            next_id += int(clusters.max()) + 1
    return groups


#: Component sizes (lo, hi] agglomerated together. Up to ``_MAX_BATCHED_TRACKS`` tracks, all
#: components of one class run as one padded array; larger ones run one scipy call each.
_SIZE_CLASSES = ((2, 4), (4, 8), (8, 16), (16, 32), (32, 2**62))
_MAX_BATCHED_TRACKS = 32


def _average_linkage_batched(
    counts: np.ndarray,
    component_row: np.ndarray,
    i: np.ndarray,
    j: np.ndarray,
    scores: np.ndarray,
    threshold: float,
    width: int,
) -> np.ndarray:
    """Find the average-linkage clusters of many small components at once, as a (components, width) array.

    Component c has ``counts[c]`` tracks 0..counts[c]−1. Pair k joins tracks ``i[k]`` and
    ``j[k]`` of component ``component_row[k]`` with score ``scores[k]``. Missing pairs
    score 0.
    Each step merges, in every component still active, the two clusters with the largest
    mean score if it is above ``threshold``. The mean score of the merged cluster to any
    other is the size-weighted mean of its two parts' (the Lance-Williams update). Entry [c, t] of
    the result names the cluster of track t by one of its tracks.
    """
    n_components = len(counts)
    mean = np.zeros((n_components, width, width))
    mean[component_row, i, j] = scores
    mean[component_row, j, i] = scores
    real = np.arange(width)[None, :] < counts[:, None]
    mean[~(real[:, :, None] & real[:, None, :])] = -np.inf
    diagonal = np.arange(width)
    mean[:, diagonal, diagonal] = -np.inf
    size = real.astype(np.float64)
    owner = np.broadcast_to(diagonal, (n_components, width)).copy()
    active = np.arange(n_components)
    for _ in range(width - 1):
        flat = mean[active].reshape(len(active), -1)
        best = flat.argmax(axis=1)
        more = flat[np.arange(len(active)), best] > threshold
        active, best = active[more], best[more]
        if len(active) == 0:
            break
        keep, absorbed = np.minimum(best // width, best % width), np.maximum(best // width, best % width)
        size_keep, size_absorbed = size[active, keep][:, None], size[active, absorbed][:, None]
        merged = (size_keep * mean[active, keep] + size_absorbed * mean[active, absorbed]) / (size_keep + size_absorbed)
        merged[np.arange(len(active)), keep] = -np.inf
        merged[np.arange(len(active)), absorbed] = -np.inf
        mean[active, keep] = merged
        mean[active, :, keep] = merged
        mean[active, absorbed] = -np.inf
        mean[active, :, absorbed] = -np.inf
        size[active, keep] += size[active, absorbed]
        size[active, absorbed] = 0.0
        owner[active] = np.where(owner[active] == absorbed[:, None], keep[:, None], owner[active])
    return owner


def _average_linkage_scipy(
    counts: np.ndarray,
    component_row: np.ndarray,
    i: np.ndarray,
    j: np.ndarray,
    scores: np.ndarray,
    threshold: float,
) -> np.ndarray:
    """Find the average-linkage clusters of larger components, with one scipy ``linkage`` call each.

    The arguments are those of :func:`_average_linkage_batched`. Returns a cluster id per
    track, for the tracks of component 0, then of component 1 and so on. The dendrograms
    are cut at once: every merge with mean distance below 1 − threshold links its two
    children to the new node, and the connected components of those links are the
    clusters. Average linkage has no inversions (a merge is never lower than the merges
    below it), so this equals stopping the agglomeration at the first merge with mean
    p ≤ threshold.
    """
    order = np.argsort(component_row, kind="stable")
    bounds = np.searchsorted(component_row[order], np.arange(len(counts) + 1))
    first_track = np.cumsum(counts) - counts
    n_tracks = int(counts.sum())
    trees = []
    for row, count in enumerate(counts):
        mine = order[bounds[row] : bounds[row + 1]]
        low, high = i[mine], j[mine]
        condensed = np.ones(count * (count - 1) // 2)
        # Scipy's condensed index of (i, j), i < j, among n points: n i − i (i + 1) / 2 + j − i − 1.
        condensed[count * low - low * (low + 1) // 2 + high - low - 1] = 1.0 - scores[mine]
        trees.append(scipy.cluster.hierarchy.linkage(condensed, method="average"))
    merges = np.concatenate(trees)

    # Node numbering: tracks are 0..n_tracks−1 in the order of the result, and merge row r
    # of the joined linkage matrices is node n_tracks + r. Within one component of n
    # tracks, scipy numbers its tracks 0..n−1 and its own merge row k as n + k.
    rows = counts - 1
    n = np.repeat(counts, rows)
    start = np.repeat(first_track, rows)
    first_row = np.repeat(np.cumsum(rows) - rows, rows)
    children = merges[:, :2].astype(np.int64)
    child_node = np.where(children < n[:, None], start[:, None] + children, n_tracks + first_row[:, None] + children - n[:, None])

    # Merging requires mean p > threshold, that is mean d < 1 − threshold.
    keep = merges[:, 2] < 1.0 - threshold
    parents = np.repeat(n_tracks + np.flatnonzero(keep), 2)
    size = n_tracks + len(merges)
    graph = scipy.sparse.coo_matrix(
        (np.ones(len(parents), dtype=np.int8), (child_node[keep].reshape(-1), parents)), shape=(size, size)
    )
    _, clusters = scipy.sparse.csgraph.connected_components(graph.tocsr(), directed=False)
    return clusters[:n_tracks].astype(np.int64)
