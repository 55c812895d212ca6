"""Candidate track pairs within each timeslice and their pair geometry.

Pairs are stored as two arrays of track positions (``track_a < track_b``, both indices into
the table's track list, never across timeslices). The geometry of a pair compares the two
fitted helices (:mod:`gann_core.fit`):

* ``dz0``: |z0_a − z0_b| in mm, and ``dz0_significance`` = dz0 / sqrt(σ²(z0_a) + σ²(z0_b));
* the crossing: two tracks from one collision meet in the transverse plane at their common
  vertex, where both helices have the same z. Of the (up to two) points where the two
  circles cross, the one nearer the beam line is taken; circles that do not cross are
  compared at their points of closest approach. ``dz_cross`` is |z_a − z_b| there (mm),
  ``r_cross`` its distance from the beam line (mm) and ``circle_gap`` the distance between
  the circles (0 when they cross);
* ``dt0``: |t0_a − t0_b| in ns when the table has hit times.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gann_core.fit import TrackFit
from gann_core.table import Timeslices


@dataclass(frozen=True)
class TrackPairs:
    """Candidate pairs: positions of both tracks in the table's track list."""

    track_a: np.ndarray
    track_b: np.ndarray

    def __len__(self) -> int:
        return len(self.track_a)


def all_pairs(table: Timeslices) -> TrackPairs:
    """Return every pair of tracks within each timeslice, ``track_a < track_b``, in table order."""
    return all_pairs_from_offsets(table.slice_track_offsets)


def all_pairs_from_offsets(slice_track_offsets: np.ndarray) -> TrackPairs:
    """Return all within-timeslice pairs, given the per-timeslice track offsets."""
    counts = np.diff(slice_track_offsets)
    n_tracks = int(slice_track_offsets[-1]) if len(slice_track_offsets) else 0
    slice_end = np.repeat(slice_track_offsets[1:], counts)
    first = np.arange(n_tracks)
    partners = slice_end - first - 1
    total = int(partners.sum())
    track_a = np.repeat(first, partners)
    block_start = np.repeat(np.cumsum(partners) - partners, partners)
    track_b = track_a + 1 + (np.arange(total) - block_start)
    return TrackPairs(track_a.astype(np.int64), track_b.astype(np.int64))


def same_event(table: Timeslices, pairs: TrackPairs) -> np.ndarray:
    """Truth of each pair: both tracks from the same collision (fake tracks pair with nothing)."""
    events = table.track_event_ids
    ea, eb = events[pairs.track_a], events[pairs.track_b]
    return (ea == eb) & (ea >= 0)


@dataclass(frozen=True)
class PairGeometry:
    """Geometric comparison of the two helices of each pair (see the module docstring)."""

    dz0: np.ndarray
    dz0_significance: np.ndarray
    dz_cross: np.ndarray
    dz_cross_significance: np.ndarray
    r_cross: np.ndarray
    circle_gap: np.ndarray
    dt0: np.ndarray | None = None


def pair_geometry(fit: TrackFit, pairs: TrackPairs) -> PairGeometry:
    """Compute :class:`PairGeometry` for every pair (vectorised)."""
    a, b = pairs.track_a, pairs.track_b
    dz0 = np.abs(fit.z0[a] - fit.z0[b])
    sigma_z0 = np.sqrt(fit.sigma_z0[a] ** 2 + fit.sigma_z0[b] ** 2)
    dz0_significance = dz0 / sigma_z0
    dt0 = None
    if fit.t0 is not None:
        dt0 = np.abs(fit.t0[a] - fit.t0[b])
    dz_cross, dz_cross_significance, r_cross, circle_gap = _crossing(fit, a, b, sigma_z0)
    return PairGeometry(
        dz0=dz0,
        dz0_significance=dz0_significance,
        dz_cross=dz_cross,
        dz_cross_significance=dz_cross_significance,
        r_cross=r_cross,
        circle_gap=circle_gap,
        dt0=dt0,
    )


def _crossing(fit: TrackFit, a: np.ndarray, b: np.ndarray, sigma_z0: np.ndarray) -> tuple[np.ndarray, ...]:
    """|Δz| at the crossing nearest the beam line, its significance, its radius and the circle gap."""
    xa, ya = _crossing_points(fit, a, b)
    xb, yb = _crossing_points(fit, b, a)
    dz_cross = np.abs(fit.z_at(a, xa, ya) - fit.z_at(b, xb, yb))

    # The crossing z inherits the z0 error plus cot θ times the error of the crossing point.
    # σ(d0) is used as the error of the crossing point.
    sigma_cross = np.sqrt(
        sigma_z0**2 + (fit.cot_theta[a] * fit.sigma_d0[a]) ** 2 + (fit.cot_theta[b] * fit.sigma_d0[b]) ** 2
    )
    r_cross = _norm((xa + xb) / 2, (ya + yb) / 2)
    circle_gap = _norm(xa - xb, ya - yb)
    return dz_cross, dz_cross / sigma_cross, r_cross, circle_gap


def _crossing_points(fit: TrackFit, own: np.ndarray, other: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Point on ``own``'s circle where it meets ``other``'s circle, nearest the beam line.

    When the circles do not cross, the point of ``own``'s circle closest to ``other``'s
    circle is returned. The choice depends only on the pair, so swapping the two tracks
    swaps the two returned points.
    """
    x1, y1, r1 = fit.xc[own], fit.yc[own], fit.radius[own]
    x2, y2, r2 = fit.xc[other], fit.yc[other], fit.radius[other]
    dx, dy = x2 - x1, y2 - y1
    d = np.maximum(_norm(dx, dy), 1e-9)
    ux, uy = dx / d, dy / d

    # Crossing case: foot point along the centre line, then ± the half chord.
    along = (d * d + r1 * r1 - r2 * r2) / (2 * d)
    half_chord_sq = r1 * r1 - along * along
    crosses = half_chord_sq >= 0
    half_chord = np.sqrt(np.where(crosses, half_chord_sq, 0.0))
    fx, fy = x1 + along * ux, y1 + along * uy
    # Both crossing points. The sign of the chord direction follows the centre line, which is
    # reversed for the other track, so the points are ordered by radius instead of by sign.
    px1, py1 = fx - half_chord * uy, fy + half_chord * ux
    px2, py2 = fx + half_chord * uy, fy - half_chord * ux
    nearer_first = px1 * px1 + py1 * py1 <= px2 * px2 + py2 * py2
    cx = np.where(nearer_first, px1, px2)
    cy = np.where(nearer_first, py1, py2)

    # No crossing: the closest points lie on the centre line. For separate circles and for
    # the larger of two nested circles, that is towards the other centre; for the smaller
    # nested circle it is away from the larger circle's centre.
    separate = d > r1 + r2
    own_inside = r1 < r2
    direction = np.where(~separate & own_inside, -1.0, 1.0)
    nx, ny = x1 + direction * r1 * ux, y1 + direction * r1 * uy
    x = np.where(crosses, cx, nx)
    y = np.where(crosses, cy, ny)
    return x, y


def _norm(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """sqrt(x² + y²): ``np.hypot`` guards against overflow, which mm-scale values never reach, at about 10x the time."""
    return np.sqrt(x * x + y * y)
