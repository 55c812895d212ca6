"""Shared fixtures: the real TrackML sample event and helpers that write small parquet files."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Mapping

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]

# Real TrackML data is kept outside the repository, in the shared folder next to it.
TRACKML_DATA_DIR = (REPOSITORY_ROOT / ".." / "shared" / "data" / "trackml").resolve()
TRACKML_EVENT = "event000000001"


@pytest.fixture(scope="session")
def trackml_prefix() -> Path:
    """Prefix of the real TrackML sample event (hits, truth and particles CSV files)."""
    prefix = TRACKML_DATA_DIR / TRACKML_EVENT
    if not (TRACKML_DATA_DIR / f"{TRACKML_EVENT}-hits.csv.gz").is_file():
        pytest.skip(f"TrackML sample data not found in {TRACKML_DATA_DIR}, which these tests read.")
    return prefix


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


@pytest.fixture
def hit_columns() -> dict[str, np.ndarray]:
    """Two timeslices of three tracks with four hits each."""
    return make_hit_columns()


@pytest.fixture
def write_parquet(tmp_path: Path) -> Callable[..., Path]:
    """Return a function that writes columns (numpy arrays or pyarrow arrays) to tmp_path/NAME."""

    def write(columns: Mapping[str, object] | pa.Table, name: str = "hits.parquet") -> Path:
        path = tmp_path / name
        table = columns if isinstance(columns, pa.Table) else pa.table(dict(columns))
        pq.write_table(table, path)
        return path

    return write
