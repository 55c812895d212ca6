"""HitGraph and TrackGraph arrays for a whole table, cut into batches of timeslices.

* HitGraph: nodes are hits; edges join each hit to the ``neighbours`` nearest hits of its own
  track in the order of the distance r from the beam line, in both directions. Node features
  do not need mm precision to be useful through tanh: absolute position in m, position
  relative to the track's mean, residuals to the track's helix fit, and hit time relative to
  the track's fitted time at the beam line.
* TrackGraph: nodes are tracks with their fitted helix parameters (:mod:`gann_core.fit`);
  edges are candidate pairs (:mod:`gann_core.pairs`) with the pair geometry as features.

All arrays of one table are computed once, vectorised; because the table is sorted by
timeslice, the hits, edges, tracks and pairs of consecutive timeslices are contiguous, so a
batch is a set of array slices (:meth:`GraphArrays.batch`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from gann_core.fit import TrackFit, fit_tracks
from gann_core.pairs import PairGeometry, TrackPairs, all_pairs, pair_geometry, same_event
from gann_core.table import Timeslices

HIT_FEATURES = (
    "r_m", "cos_phi", "sin_phi", "z_m", "dr_track", "dphi_track", "dz_track",
    "residual_xy_mm", "residual_z_mm", "arc_length_m",
)
HIT_TIME_FEATURES = ("dt_track_ns",)
TRACK_FEATURES = (
    "z0", "d0", "cos_phi0", "sin_phi0", "cot_theta", "curvature_per_m",
    "log_sigma_z0", "log_sigma_d0", "log_sigma_phi0", "log_sigma_cot_theta", "log_sigma_curvature",
    "n_hits",
)
TRACK_TIME_FEATURES = ("t0",)
PAIR_FEATURES = (
    "log_dz0", "log_dz0_significance", "log_dz_cross", "log_dz_cross_significance",
    "log_r_cross", "log_circle_gap",
)
PAIR_TIME_FEATURES = ("log_dt0",)
#: Column of log(|Δz0| + floor) among the pair features, with or without time.
LOG_DZ0_COLUMN = PAIR_FEATURES.index("log_dz0")

#: Floor inside the logarithms of pair features, in the feature's unit (mm or ns).
LOG_FLOOR = 1e-3


def feature_names(use_time: bool) -> dict[str, tuple[str, ...]]:
    """Names of the hit, track and pair feature columns for a model with or without time."""
    return {
        "hit": HIT_FEATURES + (HIT_TIME_FEATURES if use_time else ()),
        "track": TRACK_FEATURES + (TRACK_TIME_FEATURES if use_time else ()),
        "pair": PAIR_FEATURES + (PAIR_TIME_FEATURES if use_time else ()),
    }


class GraphBatch:
    """The tensors of a batch of timeslices, as :meth:`GraphArrays.batch` builds them.

    A plain attribute container with the field names of a PyG ``Data`` object, so that
    scoring needs no torch-geometric import (which takes over a second).
    """

    def __init__(self, **fields):
        self.__dict__.update(fields)

    def to(self, device, non_blocking: bool = False) -> "GraphBatch":
        """Return a copy with every tensor moved to ``device``."""
        return GraphBatch(
            **{
                name: value.to(device, non_blocking=non_blocking) if isinstance(value, torch.Tensor) else value
                for name, value in self.__dict__.items()
            }
        )

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{name}={list(value.shape)}" if isinstance(value, torch.Tensor) else f"{name}={value!r}"
            for name, value in self.__dict__.items()
        )
        return f"GraphBatch({fields})"


@dataclass(frozen=True)
class GraphArrays:
    """Features and connectivity of every timeslice of a table (indices are global).

    ``slice_*_offsets`` have ``n_timeslices + 1`` entries and locate each timeslice's hits,
    HitGraph edges, tracks and pairs. ``pair_truth`` is None when the table has no truth.

    Hit rows are sorted by r inside each track (tracks keep the table order); ``hit_order``
    gives the table row of each hit row, or is None when the table was already in that
    order. ``edge_index`` is then exactly the band of ``hit_band`` hits on each side of a hit
    within its track (:func:`band_edges`), which the encoder uses as a fast path.
    ``edge_index`` is None when the arrays were built with ``edges=False``.

    ``pair_rows`` is None when ``pair_x`` has a row for every pair. Otherwise (arrays for
    scoring with a z0 gate, ``build_graphs(z0_gate_mm=...)``) ``pair_x`` has rows only for
    the pairs ``pair_rows`` (ascending global pair indices), and ``slice_row_offsets``
    locates each timeslice's rows; the other pairs are outside the gate.
    """

    hit_x: np.ndarray
    edge_index: np.ndarray | None
    hit_track: np.ndarray
    track_x: np.ndarray
    pair_a: np.ndarray
    pair_b: np.ndarray
    pair_x: np.ndarray
    pair_truth: np.ndarray | None
    slice_hit_offsets: np.ndarray
    slice_edge_offsets: np.ndarray
    slice_track_offsets: np.ndarray
    slice_pair_offsets: np.ndarray
    hit_band: int | None = None
    hit_order: np.ndarray | None = None
    pair_rows: np.ndarray | None = None
    slice_row_offsets: np.ndarray | None = None

    @property
    def n_timeslices(self) -> int:
        return len(self.slice_track_offsets) - 1

    @property
    def n_pairs(self) -> int:
        return len(self.pair_a)

    def batch(self, lo: int, hi: int) -> GraphBatch:
        """Timeslices ``lo..hi-1`` as one :class:`GraphBatch` with indices re-based to 0.

        Fields: ``x`` (hit features), ``edge_index`` (HitGraph), ``hit_track`` (track of each
        hit), ``track_x``, ``pair_index`` (2 × pairs, TrackGraph edges), ``pair_x``, ``y``
        (pair truth as float, when known), ``num_tracks``, ``pair_offset`` (global index of
        the first pair, to place the scores back), ``num_timeslices``, ``hit_band`` (see the
        class docstring), and with ``pair_rows``: ``pair_index`` and ``pair_x`` of those
        pairs only, ``pair_rows`` (their positions among the batch's ``num_pairs`` pairs).
        """
        h0, h1 = self.slice_hit_offsets[lo], self.slice_hit_offsets[hi]
        e0, e1 = self.slice_edge_offsets[lo], self.slice_edge_offsets[hi]
        t0, t1 = self.slice_track_offsets[lo], self.slice_track_offsets[hi]
        p0, p1 = self.slice_pair_offsets[lo], self.slice_pair_offsets[hi]
        data = GraphBatch(
            x=torch.from_numpy(self.hit_x[h0:h1]),
            edge_index=None if self.edge_index is None else torch.from_numpy(self.edge_index[:, e0:e1] - h0),
            hit_track=torch.from_numpy(self.hit_track[h0:h1] - t0),
            track_x=torch.from_numpy(self.track_x[t0:t1]),
            num_nodes=int(h1 - h0),
        )
        if self.pair_rows is None:
            data.pair_index = torch.from_numpy(np.stack([self.pair_a[p0:p1] - t0, self.pair_b[p0:p1] - t0]))
            data.pair_x = torch.from_numpy(self.pair_x[p0:p1])
        else:
            r0, r1 = self.slice_row_offsets[lo], self.slice_row_offsets[hi]
            rows = self.pair_rows[r0:r1]
            data.pair_index = torch.from_numpy(np.stack([self.pair_a[rows] - t0, self.pair_b[rows] - t0]))
            data.pair_x = torch.from_numpy(self.pair_x[r0:r1])
            data.pair_rows = torch.from_numpy(rows - p0)
        data.num_pairs = int(p1 - p0)
        data.num_tracks = int(t1 - t0)
        data.num_timeslices = int(hi - lo)
        data.pair_offset = int(p0)
        data.hit_band = self.hit_band
        if self.pair_truth is not None:
            data.y = torch.from_numpy(self.pair_truth[p0:p1].astype(np.float32))
        return data

    def batches(self, batch_size: int, order: np.ndarray | None = None):
        """Yield batches of ``batch_size`` consecutive timeslices (in ``order`` of batch starts)."""
        starts = np.arange(0, self.n_timeslices, batch_size)
        if order is not None:
            starts = starts[order]
        for lo in starts:
            yield self.batch(int(lo), int(min(lo + batch_size, self.n_timeslices)))


def build_graphs(
    table: Timeslices,
    *,
    use_time: bool = False,
    neighbours: int = 2,
    fit: TrackFit | None = None,
    pairs: TrackPairs | None = None,
    z0_gate_mm: float = 0.0,
    edges: bool = True,
    truth: bool = True,
) -> GraphArrays:
    """Compute HitGraph and TrackGraph arrays for every timeslice of ``table``.

    ``pairs`` defaults to all pairs within each timeslice. ``use_time`` requires a ``t``
    column. ``neighbours`` is how many hits on each side along the track a hit is joined to.
    ``z0_gate_mm`` > 0 (a model's ``ModelConfig.z0_gate_mm``) computes pair features only for
    the pairs inside that gate, the only ones that model's classifier reads (see
    ``GraphArrays.pair_rows``); such arrays are for scoring with that model, not for
    training. ``edges=False`` leaves out the HitGraph edge list, which only the reference
    ("pyg") encoder reads, and ``truth=False`` the pair truth, which scoring does not need.
    """
    if use_time and not table.has_time:
        raise ValueError("use_time=True needs a 't' column (hit time in ns) in the table.")
    fit = fit_tracks(table) if fit is None else fit
    pairs = all_pairs(table) if pairs is None else pairs

    hit_x = hit_features(table, fit, use_time)
    order = hit_radius_order(table)
    if order is not None:
        hit_x = hit_x[order]
    edge_index = band_edges(table.hit_track_index, neighbours) if edges else None
    track_x = track_features(table, fit, use_time)
    pair_rows = slice_row_offsets = None
    if z0_gate_mm > 0:
        pair_rows = np.flatnonzero(np.abs(fit.z0[pairs.track_a] - fit.z0[pairs.track_b]) <= z0_gate_mm)
        geometry = pair_geometry(fit, TrackPairs(pairs.track_a[pair_rows], pairs.track_b[pair_rows]))
    else:
        geometry = pair_geometry(fit, pairs)
    pair_x = pair_features(geometry, use_time)
    pair_truth = same_event(table, pairs) if truth and table.has_truth else None

    slice_hit_offsets = table.track_offsets[table.slice_track_offsets]
    slice_edge_offsets = (
        np.searchsorted(edge_index[0], slice_hit_offsets, side="left") if edges else np.zeros_like(slice_hit_offsets)
    )
    # Pairs are ordered by their first track, so each timeslice's pairs are contiguous.
    slice_pair_offsets = np.searchsorted(pairs.track_a, table.slice_track_offsets, side="left")
    if pair_rows is not None:
        slice_row_offsets = np.searchsorted(pair_rows, slice_pair_offsets, side="left").astype(np.int64)
    return GraphArrays(
        hit_x=hit_x,
        edge_index=edge_index,
        hit_track=table.hit_track_index,
        track_x=track_x,
        pair_a=pairs.track_a,
        pair_b=pairs.track_b,
        pair_x=pair_x,
        pair_truth=pair_truth,
        slice_hit_offsets=slice_hit_offsets.astype(np.int64),
        slice_edge_offsets=slice_edge_offsets.astype(np.int64),
        slice_track_offsets=table.slice_track_offsets.astype(np.int64),
        slice_pair_offsets=slice_pair_offsets.astype(np.int64),
        hit_band=neighbours,
        hit_order=order,
        pair_rows=pair_rows,
        slice_row_offsets=slice_row_offsets,
    )


def hit_features(table: Timeslices, fit: TrackFit, use_time: bool) -> np.ndarray:
    """Per-hit features (see ``HIT_FEATURES``), float32, shape (n_hits, n_features)."""
    x, y, z = table.columns["x"], table.columns["y"], table.columns["z"]
    track = table.hit_track_index
    starts = table.track_offsets[:-1]
    n_hits = table.hits_per_track.astype(np.float64)
    per_hit = table.per_hit

    def track_mean(values):
        return per_hit(np.add.reduceat(values, starts) / n_hits)

    r = table.hit_radius
    inverse_r = np.divide(1.0, r, out=np.zeros_like(r), where=r > 0)
    cos_phi = np.where(r > 0, x * inverse_r, 1.0)
    sin_phi = y * inverse_r
    # φ − mean φ of the track, wrapped to (−π, π]: the angle from the mean direction to the hit.
    mean_cos, mean_sin = track_mean(cos_phi), track_mean(sin_phi)
    # The feature is stored as float32, so the arctangent is taken in float32 (faster).
    dphi = np.arctan2(
        (sin_phi * mean_cos - cos_phi * mean_sin).astype(np.float32), (cos_phi * mean_cos + sin_phi * mean_sin).astype(np.float32)
    )

    if fit.hit_residual_z is not None and len(fit.hit_residual_z) == len(x):
        # The fit of this table computed them already.
        arc_length, residual_xy, residual_z = fit.hit_arc_length, fit.hit_residual_xy, fit.hit_residual_z
    else:
        arc_length = fit.arc_length_to(track, x, y)
        dx, dy = x - per_hit(fit.xc), y - per_hit(fit.yc)
        residual_xy = np.sqrt(dx * dx + dy * dy) - per_hit(fit.radius)
        residual_z = z - (per_hit(fit.z0) + per_hit(fit.cot_theta) * arc_length)
    columns = [
        r / 1000.0,
        cos_phi,
        sin_phi,
        z / 1000.0,
        (r - track_mean(r)) / 300.0,
        dphi * 10.0,
        (z - track_mean(z)) / 300.0,
        np.clip(residual_xy, -10.0, 10.0),
        np.clip(residual_z, -10.0, 10.0),
        arc_length / 1000.0,
    ]
    if use_time:
        columns.append(np.clip((table.columns["t"] - fit.t0[track]) / 10.0, -10.0, 10.0))
    return _float32_columns(columns)


def hit_radius_order(table: Timeslices) -> np.ndarray | None:
    """Permutation that sorts the hits of every track by r, tracks staying in place.

    Returns None when every track's hits are already in order of r (simulated tables are),
    so that no copy is made. Ties keep the table order.
    """
    if table.hits_sorted_by_radius:
        return None
    r = table.hit_radius
    track = table.hit_track_index
    # One float key in [track, track + 1) sorts by track, then by r.
    key = track + r / (r.max() * (1.0 + 1e-9) + 1e-9)
    return np.argsort(key, kind="stable")


def band_edges(hit_track: np.ndarray, neighbours: int) -> np.ndarray:
    """HitGraph edges (2, E) of hits already sorted by (track, r): hit i to i ± 1..neighbours.

    Only joins inside one track are kept, both directions are present, and edges are
    ordered by source hit, then by step (−neighbours … −1, 1 … neighbours).
    """
    n = len(hit_track)
    if neighbours < 1 or n == 0:
        return np.zeros((2, 0), dtype=np.int64)
    steps = np.concatenate([np.arange(-neighbours, 0), np.arange(1, neighbours + 1)])
    # valid[i, j]: hit i + steps[j] exists and is on the track of hit i. Shifted slices of
    # hit_track compare each step at once, without gathering n × 2·neighbours indices.
    valid = np.zeros((n, len(steps)), dtype=bool)
    for column, step in enumerate(steps):
        if step > 0:
            np.equal(hit_track[step:], hit_track[:-step], out=valid[:-step, column])
        elif -step < n:
            np.equal(hit_track[:step], hit_track[-step:], out=valid[-step:, column])
    flat = np.flatnonzero(valid)
    edges = np.empty((2, len(flat)), dtype=np.int64)
    np.floor_divide(flat, len(steps), out=edges[0])
    np.add(edges[0], steps[flat % len(steps)], out=edges[1])
    return edges


def hit_edges(table: Timeslices, neighbours: int) -> np.ndarray:
    """HitGraph edges (2, E) in table row numbers: each hit to ``neighbours`` hits on each side along r in its track.

    Both directions of every join are present. Edges are ordered by source hit, so each
    timeslice's edges are contiguous. (:func:`build_graphs` sorts the hits by r first and
    uses :func:`band_edges` directly.)
    """
    order = hit_radius_order(table)
    edges = band_edges(table.hit_track_index, neighbours)
    if order is None or edges.shape[1] == 0:
        return edges
    edges = order[edges]
    return edges[:, np.argsort(edges[0], kind="stable")]


def track_features(table: Timeslices, fit: TrackFit, use_time: bool) -> np.ndarray:
    """Per-track features (see ``TRACK_FEATURES``), float32; standardised later by the model."""
    columns = [
        fit.z0,
        fit.d0,
        np.cos(fit.phi0),
        np.sin(fit.phi0),
        fit.cot_theta,
        fit.curvature * 1000.0,
        np.log(fit.sigma_z0 + 1e-6),
        np.log(fit.sigma_d0 + 1e-6),
        np.log(fit.sigma_phi0 + 1e-9),
        np.log(fit.sigma_cot_theta + 1e-9),
        np.log(fit.sigma_curvature + 1e-12),
        table.hits_per_track.astype(np.float64),
    ]
    if use_time:
        columns.append(fit.t0)
    return _float32_columns(columns)


def pair_features(geometry: PairGeometry, use_time: bool) -> np.ndarray:
    """Per-pair features (see ``PAIR_FEATURES``): logarithms of the pair geometry, float32."""
    columns = [
        np.log(geometry.dz0 + LOG_FLOOR),
        np.log(geometry.dz0_significance + LOG_FLOOR),
        np.log(geometry.dz_cross + LOG_FLOOR),
        np.log(geometry.dz_cross_significance + LOG_FLOOR),
        np.log(geometry.r_cross + LOG_FLOOR),
        np.log(geometry.circle_gap + LOG_FLOOR),
    ]
    if use_time:
        columns.append(np.log(geometry.dt0 + LOG_FLOOR))
    return _float32_columns(columns)


def _float32_columns(columns: list[np.ndarray]) -> np.ndarray:
    """Write columns into one (rows, columns) float32 array (faster than stack, then astype)."""
    out = np.empty((len(columns[0]), len(columns)), dtype=np.float32)
    # A value beyond the float32 range becomes inf without a warning: scoring reports the
    # NaN scores that follow, with the timeslice (see gann_core.infer).
    with np.errstate(over="ignore"):
        for index, values in enumerate(columns):
            out[:, index] = values
    return out
