"""Simulated timeslices: collisions, tracks, hits and detector effects, vectorised with numpy.

A timeslice is built in these steps, all drawn from one numpy Generator per chunk of
timeslices:

1. Composition: the number of collisions (events) per timeslice, tracks per collision and
   fake tracks per timeslice.
2. Vertices: one Gaussian vertex and, with hit time, one uniform time per collision. A fake
   track gets its own start point away from the beam line and its own time.
3. Tracks: pT, η, φ and charge per track, the helix crossings with the detector radii within
   the barrel, and missing hits. A track left with fewer than ``min_hits`` hits gets new
   kinematics but keeps its collision, so the composition is exactly the sampled one. A fake
   track also gets a new start point. The kept tracks' pT and η therefore follow the sampled
   distributions conditioned on reaching ``min_hits`` hits.
4. Output: track ids shuffled within each timeslice, Gaussian smearing of hit positions and
   times, and per-hit columns sorted by (timeslice_id, track_id) with the hits of a track in
   the order the particle passes them.
"""

from __future__ import annotations

import logging
import time
from typing import Iterator

import numpy as np
from tqdm.auto import tqdm

from gann_core.errors import ConfigError
from gann_core.simulate.config import SimulationConfig
from gann_core.simulate.helix import flight_time_ns, helix_crossings
from gann_core.table import FAKE_EVENT_ID, Timeslices

logger = logging.getLogger(__name__)

# Rounds of drawing rejected tracks again before the config is declared unable to produce
# tracks with min_hits hits. With the default configs of both geometries, 0.003 % of collision
# tracks and 6-7 % of fake tracks are rejected per round (measured on 200 000 draws). Only a
# config where almost no track reaches min_hits hits uses up this bound.
MAX_RESAMPLE_ROUNDS = 100


def simulate_timeslices(
    config: SimulationConfig,
    n_timeslices: int,
    seed: int = 0,
    *,
    progress: bool = False,
    chunk_size: int = 1000,
) -> Timeslices:
    """Simulate ``n_timeslices`` timeslices and return them as one hit table.

    The same ``(config, n_timeslices, seed, chunk_size)`` always gives the same table. Each
    chunk of ``chunk_size`` timeslices draws from its own Generator, seeded by a child of
    ``SeedSequence(seed)``, so a different ``chunk_size`` gives different but equally
    distributed timeslices.

    Columns per hit: ``x``, ``y``, ``z`` (mm), ``track_id`` (unique within a timeslice, in
    random order with respect to the events), ``event_id`` (0..n_events-1 within a timeslice,
    or ``FAKE_EVENT_ID`` = -1 for fake tracks), ``timeslice_id`` (0..n_timeslices-1), ``hit_id``
    (0..n_hits-1 within a timeslice), ``layer`` (index into ``config.layer_radii_mm``), ``t``
    (ns, only with ``config.simulate_time``), and the true track values repeated on each hit:
    ``vx``, ``vy``, ``vz`` (vertex in mm, or a fake track's start point), ``pt`` (GeV),
    ``eta`` and ``charge``.

    Raises :class:`ConfigError` for an invalid config or argument, and when the config lets
    almost no track reach ``min_hits`` hits.
    """
    parts = list(iter_simulated_chunks(config, n_timeslices, seed, progress=progress, chunk_size=chunk_size))
    started = time.perf_counter()
    columns = {name: np.concatenate([part.columns[name] for part in parts]) for name in parts[0].columns}
    table = Timeslices.from_columns(columns, source="simulation")
    logger.debug(
        "joined %d timeslices, %d tracks, %d hits in %.1f s",
        table.n_timeslices,
        table.n_tracks,
        table.n_hits,
        time.perf_counter() - started,
    )
    return table


def iter_simulated_chunks(
    config: SimulationConfig,
    n_timeslices: int,
    seed: int = 0,
    *,
    progress: bool = False,
    chunk_size: int = 1000,
) -> Iterator[Timeslices]:
    """Simulate the timeslices of :func:`simulate_timeslices` chunk by chunk.

    Yields one table per ``chunk_size`` timeslices (timeslice ids continue across chunks);
    joined, they equal ``simulate_timeslices`` with the same arguments. Memory then stays
    at one chunk, so files far larger than the machine's memory can be written.
    """
    config.validate()
    _check_argument("n_timeslices", n_timeslices, 1)
    _check_argument("seed", seed, 0)
    _check_argument("chunk_size", chunk_size, 1)

    n_chunks = -(-n_timeslices // chunk_size)
    chunk_seeds = np.random.SeedSequence(seed).spawn(n_chunks)
    with tqdm(total=n_timeslices, unit="timeslice", desc="simulating", disable=not progress) as bar:
        for chunk, chunk_seed in enumerate(chunk_seeds):
            first = chunk * chunk_size
            count = min(chunk_size, n_timeslices - first)
            rng = np.random.default_rng(chunk_seed)
            yield Timeslices.from_columns(_simulate_chunk(config, count, first, rng), source="simulation")
            bar.update(count)


def _check_argument(name: str, value: int, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ConfigError(f"invalid argument {name}={value!r}: expected an integer >= {low}.")


def _simulate_chunk(config: SimulationConfig, n_slices: int, first_slice_id: int, rng: np.random.Generator) -> dict:
    """Simulate ``n_slices`` timeslices numbered from ``first_slice_id`` and return their hit columns."""
    # Composition: collisions per timeslice, tracks per collision, fake tracks per timeslice.
    if config.fixed_n_events:
        events_per_slice = np.full(n_slices, round(config.n_events), dtype=np.int64)
    else:
        events_per_slice = np.maximum(rng.poisson(config.n_events, n_slices), 1)
    n_events = int(events_per_slice.sum())
    event_slice = np.repeat(np.arange(n_slices), events_per_slice)
    first_event_of_slice = np.cumsum(events_per_slice) - events_per_slice
    event_id = np.arange(n_events) - first_event_of_slice[event_slice]
    tracks_per_event = rng.integers(2, config.max_tracks + 1, n_events)
    fakes_per_slice = rng.poisson(config.n_fake_tracks, n_slices)

    # Collision vertices and times.
    event_vx = rng.normal(0.0, config.vertex_sigma_xy_mm, n_events)
    event_vy = rng.normal(0.0, config.vertex_sigma_xy_mm, n_events)
    event_vz = rng.normal(0.0, config.vertex_sigma_z_mm, n_events)
    event_time = rng.uniform(0.0, config.timeslice_length_ns, n_events)

    # Tracks: collision tracks first, then fake tracks, in one set of per-track arrays.
    track_event = np.repeat(np.arange(n_events), tracks_per_event)
    n_fakes = int(fakes_per_slice.sum())
    is_fake = np.concatenate([np.zeros(len(track_event), bool), np.ones(n_fakes, bool)])
    tracks = {
        "slice": np.concatenate([event_slice[track_event], np.repeat(np.arange(n_slices), fakes_per_slice)]),
        "event_id": np.concatenate([event_id[track_event], np.full(n_fakes, FAKE_EVENT_ID)]),
        "vx": np.concatenate([event_vx[track_event], np.zeros(n_fakes)]),
        "vy": np.concatenate([event_vy[track_event], np.zeros(n_fakes)]),
        "vz": np.concatenate([event_vz[track_event], np.zeros(n_fakes)]),
        "time": np.concatenate([event_time[track_event], rng.uniform(0.0, config.timeslice_length_ns, n_fakes)]),
    }
    hits = _draw_tracks_with_hits(config, tracks, is_fake, rng)

    # Track ids: a random permutation within each timeslice. Tracks are then put in
    # (timeslice, track_id) order, so the hit rows come out in the table's sort order.
    order = np.lexsort((rng.random(len(is_fake)), tracks["slice"]))
    tracks_per_slice = np.bincount(tracks["slice"], minlength=n_slices)
    first_track_of_slice = np.cumsum(tracks_per_slice) - tracks_per_slice
    sorted_slice = tracks["slice"][order]
    track_id = np.arange(len(order)) - first_track_of_slice[sorted_slice]
    return _hit_columns(config, tracks, hits, order, track_id, first_slice_id, rng)


def _draw_tracks_with_hits(
    config: SimulationConfig, tracks: dict[str, np.ndarray], is_fake: np.ndarray, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Draw kinematics into ``tracks`` until every track has ``min_hits`` hits, and return the hits.

    The returned arrays have shape (n_tracks, n_layers): crossing ``x``, ``y``, ``z``,
    ``path_xy_mm`` and ``recorded`` (a hit exists: crossing reached, inside the barrel, not
    missing).
    """
    n_tracks = len(is_fake)
    n_layers = config.n_layers
    for name in ("pt", "eta", "phi", "charge"):
        tracks[name] = np.empty(n_tracks)
    hits = {name: np.empty((n_tracks, n_layers)) for name in ("x", "y", "z", "path_xy_mm")}
    hits["recorded"] = np.zeros((n_tracks, n_layers), dtype=bool)

    pending = np.arange(n_tracks)
    for _ in range(MAX_RESAMPLE_ROUNDS):
        _draw_kinematics(config, tracks, pending, rng)
        fakes = pending[is_fake[pending]]
        _draw_fake_start_points(config, tracks, fakes, rng)

        crossings = helix_crossings(
            tracks["vx"][pending],
            tracks["vy"][pending],
            tracks["vz"][pending],
            tracks["pt"][pending],
            tracks["eta"][pending],
            tracks["phi"][pending],
            tracks["charge"][pending],
            config.b_field_t,
            np.asarray(config.layer_radii_mm),
        )
        inside_barrel = np.abs(np.nan_to_num(crossings.z, nan=np.inf)) <= config.barrel_half_length_mm
        not_missing = rng.random(crossings.reached.shape) >= config.missing_hit_prob
        recorded = crossings.reached & inside_barrel & not_missing
        hits["x"][pending] = crossings.x
        hits["y"][pending] = crossings.y
        hits["z"][pending] = crossings.z
        hits["path_xy_mm"][pending] = crossings.path_xy_mm
        hits["recorded"][pending] = recorded

        pending = pending[recorded.sum(axis=1) < config.min_hits]
        if len(pending) == 0:
            return hits
    raise ConfigError(
        f"invalid simulation config: after {MAX_RESAMPLE_ROUNDS} rounds of drawing, {len(pending)} of "
        f"{n_tracks} tracks still have fewer than min_hits={config.min_hits} hits, so lower min_hits or "
        "raise pt_min_gev, barrel_half_length_mm or the outer layer radii."
    )


def _draw_kinematics(config: SimulationConfig, tracks: dict, rows: np.ndarray, rng: np.random.Generator) -> None:
    """Draw pT (truncated exponential above pt_min_gev), η, φ and charge for ``rows``."""
    n = len(rows)
    # Inverse CDF of an exponential truncated at pt_max_gev - pt_min_gev.
    span = config.pt_max_gev - config.pt_min_gev
    kept_fraction = -np.expm1(-span / config.pt_exp_mean_gev)
    tracks["pt"][rows] = config.pt_min_gev - config.pt_exp_mean_gev * np.log1p(-kept_fraction * rng.random(n))
    tracks["eta"][rows] = rng.uniform(-config.eta_max, config.eta_max, n)
    tracks["phi"][rows] = rng.uniform(0.0, 2.0 * np.pi, n)
    tracks["charge"][rows] = rng.choice(np.array([-1.0, 1.0]), n)


def _draw_fake_start_points(config: SimulationConfig, tracks: dict, rows: np.ndarray, rng: np.random.Generator) -> None:
    """Put each fake track's start at its point of closest approach to the beam line.

    The start is at distance |d0| ~ U[fake_d0_min_mm, fake_d0_max_mm] from the beam line,
    perpendicular to the track's momentum at φ, and at z ~ U[-L, L] with L the barrel
    half-length. The track moves outward from there, so it leaves no hit at radii below |d0|.
    """
    n = len(rows)
    if n == 0:
        return
    d0 = rng.uniform(config.fake_d0_min_mm, config.fake_d0_max_mm, n) * rng.choice(np.array([-1.0, 1.0]), n)
    phi = tracks["phi"][rows]
    tracks["vx"][rows] = -d0 * np.sin(phi)
    tracks["vy"][rows] = d0 * np.cos(phi)
    tracks["vz"][rows] = rng.uniform(-config.barrel_half_length_mm, config.barrel_half_length_mm, n)


def _hit_columns(
    config: SimulationConfig,
    tracks: dict[str, np.ndarray],
    hits: dict[str, np.ndarray],
    order: np.ndarray,
    track_id: np.ndarray,
    first_slice_id: int,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Turn per-track and (track, layer) arrays into per-hit columns, tracks in ``order``."""
    # Hits of a track in the order the particle passes them: by transverse path length,
    # with unrecorded crossings (infinite path) sorted last.
    recorded = hits["recorded"][order]
    path = np.where(recorded, hits["path_xy_mm"][order], np.inf)
    layer_order = np.argsort(path, axis=1, kind="stable")
    recorded = np.take_along_axis(recorded, layer_order, axis=1)
    track_row, position = np.nonzero(recorded)
    layer = layer_order[track_row, position]
    source_row = order[track_row]

    n_hits = len(track_row)
    hits_per_track = np.bincount(track_row, minlength=len(order))
    slice_index = tracks["slice"][source_row]
    hits_per_slice = np.bincount(slice_index)
    first_hit_of_slice = np.cumsum(hits_per_slice) - hits_per_slice

    columns = {
        "x": hits["x"][source_row, layer] + rng.normal(0.0, config.resolution_x_mm, n_hits),
        "y": hits["y"][source_row, layer] + rng.normal(0.0, config.resolution_y_mm, n_hits),
        "z": hits["z"][source_row, layer] + rng.normal(0.0, config.resolution_z_mm, n_hits),
        "track_id": np.repeat(track_id, hits_per_track),
        "event_id": tracks["event_id"][source_row],
        "timeslice_id": slice_index + first_slice_id,
        "hit_id": (np.arange(n_hits) - first_hit_of_slice[slice_index]).astype(np.int32),
        "layer": layer.astype(np.int16),
    }
    if config.simulate_time:
        flight = flight_time_ns(hits["path_xy_mm"][source_row, layer], tracks["pt"][source_row], tracks["eta"][source_row])
        columns["t"] = tracks["time"][source_row] + flight + rng.normal(0.0, config.time_resolution_ns, n_hits)
    for name in ("vx", "vy", "vz"):
        columns[name] = tracks[name][source_row]
    columns["pt"] = tracks["pt"][source_row]
    columns["eta"] = tracks["eta"][source_row]
    columns["charge"] = tracks["charge"][source_row].astype(np.int8)
    return columns
