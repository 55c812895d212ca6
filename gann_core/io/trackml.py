"""Import real TrackML events and draw timeslices from their collisions.

A TrackML event is three CSV files (plain or gzip) sharing a prefix such as
``event000000001``: ``-hits.csv`` (hit_id, x, y, z in mm, volume_id, layer_id, module_id),
``-truth.csv`` (hit_id, particle_id, ...) and ``-particles.csv`` (particle_id, vx, vy, vz
in mm, ...). Every particle with enough hits becomes one track. A TrackML event overlays
many proton-proton collisions (pile-up). The collision of a particle is the vertex id in
bits 52-63 of its particle_id, so secondaries stay with the collision that made them even
though their production vertex (vx, vy, vz) differs from the primary vertex.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Union

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv

from gann_core.errors import ConfigError, InputFileError
from gann_core.io.validate import DEFAULT_MIN_HITS, check_min_hits, validate_columns
from gann_core.table import FAKE_EVENT_ID, Timeslices, concat_ranges

logger = logging.getLogger(__name__)

PathLike = Union[str, os.PathLike]

TRACKML_FILE_KINDS = ("hits", "truth", "particles")
TRACKML_REQUIRED_COLUMNS = {
    "hits": ("hit_id", "x", "y", "z", "volume_id", "layer_id"),
    "truth": ("hit_id", "particle_id"),
    "particles": ("particle_id", "vx", "vy", "vz"),
}

# Bit position of the vertex id in a TrackML particle_id (bits 52-63, as decoded by the
# trackml-library's decode_particle_id).
VERTEX_ID_SHIFT = 52

NOISE_PARTICLE_ID = 0

# Multiplier that combines volume_id and layer_id into one detector layer number.
# TrackML layer_id values stay below 100.
LAYER_VOLUME_FACTOR = 100


def find_trackml_files(prefix: PathLike) -> dict[str, Path]:
    """Return the hits, truth and particles files of an event prefix, each ``.csv`` or ``.csv.gz``.

    ``prefix`` is the common start of the file names, such as ``data/event000000001``. The
    name of one of the three files is accepted too.
    """
    prefix = str(prefix)
    for kind in TRACKML_FILE_KINDS:
        for suffix in (f"-{kind}.csv.gz", f"-{kind}.csv"):
            if prefix.endswith(suffix):
                prefix = prefix[: -len(suffix)]

    found = {}
    missing = []
    for kind in TRACKML_FILE_KINDS:
        candidates = [Path(f"{prefix}-{kind}.csv"), Path(f"{prefix}-{kind}.csv.gz")]
        existing = [path for path in candidates if path.is_file()]
        if existing:
            found[kind] = existing[0]
        else:
            missing.append(" or ".join(path.name for path in candidates))
    if missing:
        raise InputFileError(
            f"{prefix}: TrackML event files not found: expected {', '.join(missing)} in "
            f"{Path(prefix).parent}, so pass the prefix the three files share, such as data/event000000001."
        )
    return found


def _read_csv(path: Path, kind: str) -> pa.Table:
    # particle_id packs bit fields into 64 bits, so read it unsigned to be safe for vertex ids >= 2048.
    column_types = {"particle_id": pa.uint64()} if kind != "hits" else {}
    try:
        table = pcsv.read_csv(path, convert_options=pcsv.ConvertOptions(column_types=column_types))
    except (pa.ArrowException, OSError, EOFError) as error:
        raise InputFileError(
            f"{path}: cannot be read as a TrackML {kind} CSV file ({error}), so check that it is complete."
        ) from error

    missing = [name for name in TRACKML_REQUIRED_COLUMNS[kind] if name not in table.column_names]
    if missing:
        raise InputFileError(
            f"{path}: missing column(s) {', '.join(missing)} of a TrackML {kind} file "
            f"(found: {', '.join(table.column_names)}), so check that this is the {kind} file of the event."
        )
    return table


def read_trackml_event(prefix: PathLike, *, min_hits: int = DEFAULT_MIN_HITS) -> Timeslices:
    """Read one TrackML event as a single timeslice with one track per particle.

    Noise hits (particle_id 0) are dropped, and so are particles with fewer than
    ``min_hits`` hits, because fitting a helix needs 3 hits. ``event_id`` is the vertex id
    ``particle_id >> 52``, which groups secondaries with their collision. ``track_id``
    numbers the kept particles 0, 1, ... in order of particle_id. Hits within a track are
    ordered by distance from the beam line, r = sqrt(x² + y²).

    Extra columns: ``hit_id``, ``volume_id``, ``layer_id``, ``module_id`` (when the hits
    file has it), ``layer`` = volume_id * 100 + layer_id, ``particle_id``, and the
    production vertex ``vx, vy, vz`` in mm from the particles file (NaN, with a warning,
    for a particle missing from that file).

    Raises :class:`InputFileError` for missing or unreadable files and for hits without a
    truth row.
    """
    check_min_hits(min_hits)
    files = find_trackml_files(prefix)
    source = str(files["hits"]).rsplit("-hits.csv", 1)[0]
    hits = _read_csv(files["hits"], "hits")
    truth = _read_csv(files["truth"], "truth")
    particles = _read_csv(files["particles"], "particles")

    hit_id = hits.column("hit_id").to_numpy()
    particle_id = _join_truth(hit_id, truth, files["truth"])

    signal = particle_id != NOISE_PARTICLE_ID
    unique_particles, particle_index, particle_hits = np.unique(
        particle_id[signal], return_inverse=True, return_counts=True
    )
    long_enough = particle_hits >= min_hits
    keep = np.zeros(len(hit_id), dtype=bool)
    keep[np.flatnonzero(signal)[long_enough[particle_index]]] = True
    if not keep.any():
        raise InputFileError(
            f"{source}: no particle has {min_hits} or more hits, so there is no track to import."
        )

    kept_particle_id = particle_id[keep]
    # Dense track ids 0..n-1 in order of particle_id.
    kept_particles, track_id = np.unique(kept_particle_id, return_inverse=True)
    columns = {
        "x": hits.column("x").to_numpy()[keep].astype(np.float64),
        "y": hits.column("y").to_numpy()[keep].astype(np.float64),
        "z": hits.column("z").to_numpy()[keep].astype(np.float64),
        "track_id": track_id.astype(np.int64),
        "event_id": (kept_particle_id >> np.uint64(VERTEX_ID_SHIFT)).astype(np.int64),
        "timeslice_id": np.zeros(int(keep.sum()), dtype=np.int64),
        "hit_id": hit_id[keep],
        "volume_id": hits.column("volume_id").to_numpy()[keep],
        "layer_id": hits.column("layer_id").to_numpy()[keep],
    }
    if "module_id" in hits.column_names:
        columns["module_id"] = hits.column("module_id").to_numpy()[keep]
    columns["layer"] = columns["volume_id"].astype(np.int64) * LAYER_VOLUME_FACTOR + columns["layer_id"]
    columns["particle_id"] = _as_signed(kept_particle_id)
    columns.update(_vertex_columns(kept_particle_id, particles, files["particles"]))

    r = np.hypot(columns["x"], columns["y"])
    order = np.lexsort((r, columns["track_id"]))
    columns = {name: values[order] for name, values in columns.items()}

    logger.info(
        "%s: %d hits, dropped %d noise hits and %d particles with fewer than %d hits, kept %d tracks from %d collisions",
        source, len(hit_id), int((~signal).sum()), int((~long_enough).sum()), min_hits,
        len(kept_particles), len(np.unique(columns["event_id"])),
    )
    return validate_columns(columns, source=source, min_hits=min_hits)


def _join_truth(hit_id: np.ndarray, truth: pa.Table, truth_path: Path) -> np.ndarray:
    """Return the particle_id of every hit, matching truth rows to hits by hit_id."""
    truth_hit_id = truth.column("hit_id").to_numpy()
    truth_particle_id = truth.column("particle_id").to_numpy()
    if np.array_equal(hit_id, truth_hit_id):
        return truth_particle_id
    if len(truth_hit_id) == 0:
        raise InputFileError(f"{truth_path}: the truth file has no rows, so use the truth file of the same event.")

    order = np.argsort(truth_hit_id, kind="stable")
    sorted_hit_id = truth_hit_id[order]
    position = np.minimum(np.searchsorted(sorted_hit_id, hit_id), len(sorted_hit_id) - 1)
    unmatched = np.flatnonzero(sorted_hit_id[position] != hit_id)
    if len(unmatched):
        raise InputFileError(
            f"{truth_path}: {len(unmatched)} hits of the hits file have no truth row "
            f"(first: hit_id {hit_id[unmatched[0]]}), so use the truth file of the same event."
        )
    return truth_particle_id[order[position]]


def _vertex_columns(particle_id: np.ndarray, particles: pa.Table, particles_path: Path) -> dict[str, np.ndarray]:
    """Look up the production vertex (vx, vy, vz in mm) of each hit's particle."""
    table_particle_id = particles.column("particle_id").to_numpy()
    vertex = {name: np.full(len(particle_id), np.nan) for name in ("vx", "vy", "vz")}
    found = np.zeros(len(particle_id), dtype=bool)
    if len(table_particle_id):
        order = np.argsort(table_particle_id, kind="stable")
        sorted_particle_id = table_particle_id[order]
        position = np.minimum(np.searchsorted(sorted_particle_id, particle_id), len(sorted_particle_id) - 1)
        found = sorted_particle_id[position] == particle_id
        for name in vertex:
            column = particles.column(name).to_numpy().astype(np.float64)[order]
            vertex[name][found] = column[position[found]]

    if not found.all():
        missing = np.unique(particle_id[~found])
        logger.warning(
            "%s: %d particles with hits are missing from the particles file (first: particle_id %d), "
            "so their vx, vy, vz are NaN.",
            particles_path, len(missing), int(missing[0]),
        )
    return vertex


def _as_signed(particle_id: np.ndarray) -> np.ndarray:
    """Store particle ids as int64 (the usual id dtype) when none uses bit 63."""
    if len(particle_id) and particle_id.max() >= np.uint64(2**63):
        return particle_id
    return particle_id.astype(np.int64)


def timeslices_from_trackml(
    event: Timeslices,
    *,
    n_events: float = 10.0,
    max_tracks: int = 4,
    n_timeslices: int = 1,
    seed: int = 0,
    fixed_n_events: bool = False,
) -> Timeslices:
    """Draw timeslices from the collisions of one event, with the simulation's composition rule.

    Per timeslice: the number of collisions is ``n_events`` when ``fixed_n_events``, else
    Poisson(mean ``n_events``) raised to at least 1. Collisions are drawn without
    replacement from those with 2 or more tracks. From each collision, a number of tracks
    drawn uniformly from {2, ..., ``max_tracks``} is drawn without replacement, capped by the
    tracks the collision has. Fake tracks (``event_id`` -1) are never drawn. A timeslice
    that needs more collisions than the event has takes all of them, and a warning reports
    how many timeslices were capped this way.

    ``event`` must be one timeslice with truth, such as :func:`read_trackml_event` returns.
    The result keeps every column, so ``event_id`` is still the vertex id and
    ``particle_id`` still names the particle. ``timeslice_id`` runs 0..n_timeslices-1.
    ``track_id`` is renumbered 0..n-1 within each timeslice in random order, so the ids
    carry no hint of the collision.
    """
    _check_draw_parameters(event, n_events, max_tracks, n_timeslices, fixed_n_events)
    rng = np.random.default_rng(seed)

    collision_tracks = _tracks_by_collision(event)
    n_available = len(collision_tracks)
    if n_available == 0:
        raise ConfigError("the event has no collision with 2 or more tracks, so no timeslice can be drawn.")

    drawn_tracks = []
    n_capped = 0
    for _ in range(n_timeslices):
        n_collisions = int(round(n_events)) if fixed_n_events else max(1, int(rng.poisson(n_events)))
        if n_collisions > n_available:
            n_capped += 1
            n_collisions = n_available
        chosen = rng.choice(n_available, size=n_collisions, replace=False)
        n_tracks = rng.integers(2, max_tracks, size=n_collisions, endpoint=True)
        picks = [
            rng.choice(collision_tracks[c], size=min(n, len(collision_tracks[c])), replace=False)
            for c, n in zip(chosen, n_tracks)
        ]
        drawn_tracks.append(np.concatenate(picks))
    if n_capped:
        logger.warning(
            "%d of %d timeslices asked for more than the %d collisions with 2 or more tracks, so they took all of them.",
            n_capped, n_timeslices, n_available,
        )

    track_index = np.concatenate(drawn_tracks)
    new_track_id = np.concatenate([rng.permutation(len(tracks)) for tracks in drawn_tracks])
    new_timeslice_id = np.repeat(np.arange(n_timeslices), [len(tracks) for tracks in drawn_tracks])

    hits_per_track = event.hits_per_track[track_index]
    rows = concat_ranges(event.track_offsets[track_index], event.track_offsets[track_index + 1])
    columns = {name: values[rows] for name, values in event.columns.items()}
    columns["track_id"] = np.repeat(new_track_id, hits_per_track)
    columns["timeslice_id"] = np.repeat(new_timeslice_id, hits_per_track)
    return Timeslices.from_columns(columns, source="timeslices drawn from a TrackML event")


def _check_draw_parameters(
    event: Timeslices, n_events: float, max_tracks: int, n_timeslices: int, fixed_n_events: bool
) -> None:
    if event.n_timeslices != 1:
        raise ConfigError(
            f"timeslices are drawn from one event, but the table has {event.n_timeslices} timeslices, "
            "so pass one with event.select(i)."
        )
    if not event.has_truth:
        raise ConfigError("the event has no event_id column, so its collisions are unknown and no timeslice can be drawn.")
    if not n_events > 0:
        raise ConfigError(f"n_events must be positive, got {n_events!r}.")
    if fixed_n_events and n_events != round(n_events):
        raise ConfigError(f"n_events must be a whole number with fixed_n_events, got {n_events!r}.")
    if int(max_tracks) != max_tracks or max_tracks < 2:
        raise ConfigError(f"max_tracks must be an integer of at least 2 (a collision contributes 2 or more tracks), got {max_tracks!r}.")
    if int(n_timeslices) != n_timeslices or n_timeslices < 1:
        raise ConfigError(f"n_timeslices must be a positive integer, got {n_timeslices!r}.")


def _tracks_by_collision(event: Timeslices) -> list[np.ndarray]:
    """Return the track positions of each collision that has 2 or more tracks, by ascending event_id."""
    track_event = event.track_event_ids
    real_tracks = np.flatnonzero(track_event != FAKE_EVENT_ID)
    order = real_tracks[np.argsort(track_event[real_tracks], kind="stable")]
    _, counts = np.unique(track_event[order], return_counts=True)
    groups = np.split(order, np.cumsum(counts)[:-1])
    return [group for group in groups if len(group) >= 2]
