"""Shared fixtures: the real TrackML sample event and helpers that write small parquet files."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Mapping

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hit_tables import TRACKML_DATA_DIR, TRACKML_EVENT, make_hit_columns


@pytest.fixture(scope="session")
def trackml_prefix() -> Path:
    """Prefix of the real TrackML sample event (hits, truth and particles CSV files)."""
    prefix = TRACKML_DATA_DIR / TRACKML_EVENT
    if not (TRACKML_DATA_DIR / f"{TRACKML_EVENT}-hits.csv.gz").is_file():
        pytest.skip(f"TrackML sample data not found in {TRACKML_DATA_DIR}, which these tests read.")
    return prefix


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
