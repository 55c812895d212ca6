"""Helpers shared by test modules: paths and small hit tables.

Test modules import these from here, not from ``conftest``: the viewer tests have a
``conftest.py`` of their own, so the module name ``conftest`` does not say which one.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from gann_core.table import Timeslices

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]

# Real TrackML data is kept outside the repository, in the shared folder next to it.
TRACKML_DATA_DIR = (REPOSITORY_ROOT / ".." / "shared" / "data" / "trackml").resolve()
TRACKML_EVENT = "event000000001"


def make_hit_columns(
    n_timeslices: int = 2,
    tracks_per_timeslice: int = 3,
    hits_per_track: int = 4,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Build a small valid hit table, sorted, with two tracks per collision.

    Track ids restart at 0 in every timeslice, so ids repeat across timeslices.
    """
    rng = np.random.default_rng(seed)
    n_tracks = n_timeslices * tracks_per_timeslice
    n_hits = n_tracks * hits_per_track
    track_index = np.repeat(np.arange(n_tracks), hits_per_track)
    track_id = track_index % tracks_per_timeslice
    return {
        "x": rng.normal(size=n_hits) * 100.0,
        "y": rng.normal(size=n_hits) * 100.0,
        "z": rng.normal(size=n_hits) * 300.0,
        "track_id": track_id.astype(np.int64),
        "event_id": (track_id // 2).astype(np.int64),
        "timeslice_id": (track_index // tracks_per_timeslice).astype(np.int64),
        "hit_id": np.arange(n_hits, dtype=np.int64),
    }


def random_radius_tracks(seed: int, n_tracks: int, max_hits: int, timeslice_of_track) -> "Timeslices":
    """Build helix-free tracks of 3..``max_hits`` hits at random radii, angles and z.

    ``timeslice_of_track`` maps the array of track numbers to their timeslice ids. Within a
    track the hits are not in order of r, so code that needs that order has to sort.
    """
    from gann_core.table import Timeslices

    rng = np.random.default_rng(seed)
    hits = rng.integers(3, max_hits + 1, size=n_tracks)
    track = np.repeat(np.arange(n_tracks), hits)
    n = len(track)
    radius = rng.uniform(100.0, 900.0, size=n)
    angle = rng.uniform(-np.pi, np.pi, size=n)
    return Timeslices.from_columns(
        {
            "x": radius * np.cos(angle),
            "y": radius * np.sin(angle),
            "z": rng.normal(size=n) * 300.0,
            "track_id": track,
            "timeslice_id": np.asarray(timeslice_of_track(track), dtype=np.int64),
        }
    )
