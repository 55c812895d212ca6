"""Timeslices opened in the viewer: a file or a simulated demo, one timeslice at a time.

A :class:`TimesliceSource` reads the whole hit table once and cuts out one timeslice when it
is shown, so a file with thousands of timeslices opens as fast as parquet reads it. Scores
are computed per timeslice when it is first shown (:mod:`gann_viewer.scoring`) and kept in
:attr:`TimesliceSource.scored`, keyed by timeslice position and scorer.

A prediction file written by ``gann predict`` carries its scores in the sibling
``<stem>.pairs.parquet`` (one row per pair: ``timeslice_id, track_a, track_b, score`` with
track ids). :meth:`TimesliceSource.file_scores` maps those rows to the track positions of one
timeslice.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from gann_core.errors import ConfigError, InputFileError
from gann_core.io import pairs_path, read_pairs, read_timeslices
from gann_core.pairs import TrackPairs
from gann_core.table import Timeslices

logger = logging.getLogger(__name__)

#: Composition of the demo: SPD-like slices with about 10 collisions, the setting of the shipped model.
DEMO_TIMESLICES = 5
DEMO_EVENTS = 10.0
DEMO_SEED = 0


class TimesliceSource:
    """Hits of one or more timeslices, the scores stored next to them, and scores computed so far.

    Attributes:
        table: all hits, sorted by timeslice and track.
        name: short name for layer titles and labels (the file stem, or "demo").
        path: the file the table came from, or None.
        scored: computed :class:`~gann_viewer.scene.ScoredTimeslice` by (position, scorer key).
    """

    def __init__(self, table: Timeslices, *, name: str, path: Path | None = None, file_pairs: dict | None = None):
        if table.n_timeslices == 0:
            raise InputFileError(f"{path or name}: contains no timeslice with tracks, so there is nothing to show.")
        self.table = table
        self.name = name
        self.path = path
        self._file_pairs = file_pairs
        self._pair_order: np.ndarray | None = None
        self._slices: dict[int, Timeslices] = {}
        self.scored: dict = {}

    @classmethod
    def open(cls, path: str | Path) -> "TimesliceSource":
        """Read a timeslice or prediction file, with its pairs file when one sits next to it.

        Raises :class:`~gann_core.errors.InputFileError` for a missing or invalid file.
        """
        path = Path(path)
        if path.name.endswith(".pairs.parquet"):
            raise InputFileError(
                f"{path}: is a pairs file; open the timeslice file next to it "
                f"({path.name[: -len('.pairs.parquet')]}.parquet) instead."
            )
        table = read_timeslices(path)
        file_pairs = read_pairs(path) if pairs_path(path).is_file() else None
        name = path.name[: -len(".parquet")] if path.name.endswith(".parquet") else path.name
        return cls(table, name=name, path=path, file_pairs=file_pairs)

    @classmethod
    def demo(cls, *, n_timeslices: int = DEMO_TIMESLICES, n_events: float = DEMO_EVENTS, seed: int = DEMO_SEED) -> "TimesliceSource":
        """Simulated SPD-like timeslices, Poisson(``n_events``) collisions each, with truth."""
        from gann_core.simulate import SimulationConfig, simulate_timeslices

        config = SimulationConfig.for_geometry("spd", n_events=n_events)
        return cls(simulate_timeslices(config, n_timeslices, seed=seed), name="demo")

    # --- timeslices ---------------------------------------------------------------------------
    @property
    def n_timeslices(self) -> int:
        return self.table.n_timeslices

    @property
    def timeslice_ids(self) -> np.ndarray:
        return self.table.timeslice_ids

    def position_of(self, timeslice_id: int) -> int:
        """Position of the timeslice with this id; raises ConfigError naming the ids present."""
        ids = self.timeslice_ids
        position = int(np.searchsorted(ids, timeslice_id))
        if position >= len(ids) or ids[position] != timeslice_id:
            listed = ", ".join(str(value) for value in ids[:5]) + (", ..." if len(ids) > 5 else "")
            raise ConfigError(
                f"timeslice {timeslice_id} is not in {self.path or self.name}; it contains {len(ids)} "
                f"timeslice(s) with ids {listed} (from {ids[0]} to {ids[-1]})."
            )
        return position

    def timeslice(self, position: int) -> Timeslices:
        """Return the table of one timeslice, cut out on first use and kept."""
        if not 0 <= position < self.n_timeslices:
            raise IndexError(f"timeslice position {position} is outside 0..{self.n_timeslices - 1}.")
        if position not in self._slices:
            self._slices[position] = self.table.select(position)
        return self._slices[position]

    def describe(self, position: int) -> str:
        """Describe a timeslice in one line: id, tracks, hits and, with truth, collisions."""
        table = self.timeslice(position)
        text = f"timeslice {int(table.timeslice_ids[0])}: {table.n_tracks} tracks, {table.n_hits} hits"
        if table.has_truth:
            events = table.track_event_ids
            text += f", {len(np.unique(events[events >= 0]))} collisions"
        return text

    # --- scores stored in the file ------------------------------------------------------------
    @property
    def has_file_scores(self) -> bool:
        return self._file_pairs is not None

    def file_scores(self, position: int) -> tuple[TrackPairs, np.ndarray]:
        """Pairs and scores of one timeslice from the pairs file, as track positions of that timeslice.

        Rows naming a track the table does not hold (for example a track dropped for having
        fewer than 3 hits) are left out, with a logged warning.
        """
        if self._file_pairs is None:
            raise InputFileError(f"{self.path or self.name}: has no pairs file, so it carries no scores.")
        columns = self._file_pairs
        if self._pair_order is None:
            self._pair_order = np.argsort(columns["timeslice_id"], kind="stable")
        sorted_ids = columns["timeslice_id"][self._pair_order]

        table = self.timeslice(position)
        timeslice_id = int(table.timeslice_ids[0])
        lo, hi = np.searchsorted(sorted_ids, [timeslice_id, timeslice_id + 1])
        rows = self._pair_order[lo:hi]
        track_ids = table.track_ids
        a, found_a = _positions_of(track_ids, columns["track_a"][rows])
        b, found_b = _positions_of(track_ids, columns["track_b"][rows])
        keep = found_a & found_b & (a != b)
        if not keep.all():
            logger.warning(
                "%s: %d of %d pairs of timeslice %d name tracks that are not in the table; they are not shown",
                self.path, int((~keep).sum()), len(keep), timeslice_id,
            )
        a, b = a[keep], b[keep]
        scores = np.asarray(columns["score"][rows][keep], dtype=np.float64)
        return TrackPairs(np.minimum(a, b), np.maximum(a, b)), scores


def _positions_of(sorted_ids: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Position of each id in an ascending id array, and whether it was found there."""
    position = np.searchsorted(sorted_ids, ids)
    inside = position < len(sorted_ids)
    found = inside.copy()
    found[inside] = sorted_ids[position[inside]] == ids[inside]
    return np.where(found, position, 0).astype(np.int64), found
