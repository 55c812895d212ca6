"""Scores of one timeslice, from a model or from the file: the only place the viewer runs the network.

:func:`scoring_steps` is a generator so that the napari widget can run it in a
``thread_worker`` and show each step as progress; :func:`score_timeslice` runs it to the end
for scripts, the notebook view and tests.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Generator

from gann_core.errors import ModelFileError
from gann_viewer.scene import ScoredTimeslice
from gann_viewer.source import TimesliceSource

logger = logging.getLogger(__name__)

#: Steps :func:`scoring_steps` reports, for a progress bar.
SCORING_STEPS = ("loading model", "fitting tracks", "scoring pairs", "scoring baselines")


@dataclass(frozen=True)
class Scorer:
    """Source of the scores: ``kind`` is "file" (the pairs file), "shipped" (the shipped
    SPD model) or "path" (a model file written by ``gann train``, in ``path``)."""

    kind: str = "shipped"
    path: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("file", "shipped", "path"):
            raise ValueError(f"scorer kind {self.kind!r} is invalid; expected 'file', 'shipped' or 'path'.")
        if (self.kind == "path") != (self.path is not None):
            raise ValueError("a scorer of kind 'path' needs a path, and only that kind takes one.")

    @classmethod
    def from_model_argument(cls, model: str | None) -> "Scorer":
        """Return the scorer for a ``--model`` value: None (the shipped model), a shipped name or a file path."""
        if model is None or model == "spd":
            return cls("shipped")
        return cls("path", str(model))

    @property
    def label(self) -> str:
        if self.kind == "file":
            return "scores in the pairs file"
        if self.kind == "shipped":
            return "shipped SPD model"
        return f"model {Path(self.path).name}"


class ModelCache:
    """Models loaded so far, by scorer; loading a model file twice is avoided. Thread-safe."""

    def __init__(self):
        self._models: dict = {}
        self._lock = threading.Lock()

    def get(self, scorer: Scorer):
        """Load (once) and return the model of a "shipped" or "path" scorer; raises ModelFileError."""
        from gann_core.model.saved import Model

        key = (scorer.kind, scorer.path)
        with self._lock:
            if key not in self._models:
                self._models[key] = Model.load(None if scorer.kind == "shipped" else scorer.path)
            return self._models[key]

    def add(self, scorer: Scorer, model) -> None:
        """Store an already loaded model under a scorer, e.g. a model built in a notebook."""
        with self._lock:
            self._models[(scorer.kind, scorer.path)] = model

    def shipped_calibration(self):
        """Return the shipped model's baseline calibration, or None when that model is not installed."""
        try:
            model = self.get(Scorer("shipped"))
        except ModelFileError as error:
            logger.info("no baseline calibration for file scores: %s", error)
            return None
        return model.baselines


#: Models shared by every widget and call in this process; inference never changes a model.
SHARED_MODELS = ModelCache()


def scoring_steps(
    source: TimesliceSource, position: int, scorer: Scorer, models: ModelCache
) -> Generator[tuple[int, str], None, ScoredTimeslice]:
    """Score one timeslice, yielding ``(step number, step name)`` before each step of :data:`SCORING_STEPS`.

    Returns the :class:`ScoredTimeslice` and stores it in ``source.scored``. Raises
    ModelFileError for a missing or invalid model and InputFileError when the timeslice
    lacks an input the model needs (hit time).
    """
    from gann_core.baselines import BaselineCalibration, baseline_scores
    from gann_core.fit import fit_tracks
    from gann_core.infer import check_model_inputs, score_pairs

    key = (position, scorer)
    if key in source.scored:
        return source.scored[key]
    table = source.timeslice(position)

    yield 0, SCORING_STEPS[0]
    if scorer.kind == "file":
        model = None
        calibration = models.shipped_calibration()
    else:
        model = models.get(scorer)
        check_model_inputs(model, table)
        calibration = model.baselines

    yield 1, SCORING_STEPS[1]
    fit = fit_tracks(table)

    yield 2, SCORING_STEPS[2]
    if model is None:
        pairs, scores = source.file_scores(position)
        score_source = f"{source.path.name if source.path else source.name} pairs file"
    else:
        pairs, scores = score_pairs(model, table, fit=fit)
        score_source = f"model {model.name}"

    yield 3, SCORING_STEPS[3]
    baselines = {}
    if calibration is not None and len(pairs):
        try:
            baselines = baseline_scores(table, pairs, BaselineCalibration.from_dict(calibration), fit=fit)
        except ModelFileError as error:
            logger.warning("classical baselines left out: %s", error)

    scored = ScoredTimeslice.from_table(table, pairs, scores, baseline_scores=baselines, score_source=score_source)
    source.scored[key] = scored
    return scored


def score_timeslice(source: TimesliceSource, position: int, scorer: Scorer, models: ModelCache | None = None) -> ScoredTimeslice:
    """Run :func:`scoring_steps` to the end in the calling thread."""
    steps = scoring_steps(source, position, scorer, models or SHARED_MODELS)
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value
