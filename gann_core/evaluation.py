"""Evaluation of the network beside the classical baselines on the same timeslices.

Every row scores the same candidate pairs and applies the same thresholds:

==============  ====================  ======================================================
row             pair scores           assembly
==============  ====================  ======================================================
network         the GANN model        the model's assembly method
network (alt)   the GANN model        the other assembly method, to show what it changes
z0 gap          z0 compatibility      connected components (in one dimension: gap splitting)
z0 linkage      z0 compatibility      average linkage
helix crossing  crossing compatibility the model's assembly method
==============  ====================  ======================================================

Edge precision, recall and accuracy count pairs with score > threshold. The event-level
figures (exact collisions, efficiency, purity, ARI) come after assembly at the assembly
threshold, which is the same value unless the model or the caller sets another.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from gann_core.assembly import ASSEMBLY_METHODS, assemble_events
from gann_core.baselines import BaselineCalibration, baseline_scores
from gann_core.errors import ModelFileError, TimesliceError
from gann_core.fit import fit_tracks
from gann_core.infer import score_pairs, thresholds
from gann_core.metrics import edge_metrics, event_metrics
from gann_core.model.saved import Model
from gann_core.pairs import all_pairs, same_event
from gann_core.table import Timeslices

COLUMNS = (
    ("precision", "edge P"),
    ("recall", "edge R"),
    ("accuracy", "edge A"),
    ("exact_fraction", "exact coll."),
    ("efficiency", "eff."),
    ("purity", "purity"),
    ("ari", "ARI"),
)


@dataclass
class EvaluationReport:
    """Figures of every method on one set of timeslices, with the data, model and threshold named."""

    data: str
    model: str
    threshold: float
    counts: dict
    rows: list[dict] = field(default_factory=list)
    assembly_threshold: float | None = None

    def row(self, method: str) -> dict:
        for row in self.rows:
            if row["method"] == method:
                return row
        raise KeyError(method)

    def to_dict(self) -> dict:
        return {
            "data": self.data, "model": self.model, "threshold": self.threshold,
            "assembly_threshold": self.assembly_threshold, "counts": self.counts, "rows": self.rows,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def format_table(self) -> str:
        """Format all rows as a plain-text table headed by the data, model and threshold."""
        header = ["method", "scores", "assembly"] + [title for _, title in COLUMNS]
        lines = [[row["method"], row["scores"], row["assembly"]] + [_format(row[key]) for key, _ in COLUMNS] for row in self.rows]
        widths = [max(len(str(item)) for item in column) for column in zip(header, *lines)]
        text = [
            f"data: {self.data}",
            f"model: {self.model}",
            f"threshold: {self.threshold:g} (pair is same-event when score > threshold)"
            + (f"; assembly threshold {self.assembly_threshold:g}" if self.assembly_threshold is not None else ""),
            "timeslices {timeslices}, tracks {tracks}, collisions {events}, pairs {pairs} ({true_pairs} true)".format(**self.counts),
            "",
            "  ".join(item.ljust(width) for item, width in zip(header, widths)),
            "  ".join("-" * width for width in widths),
        ]
        text += ["  ".join(str(item).ljust(width) for item, width in zip(line, widths)) for line in lines]
        return "\n".join(text)


def evaluate(
    model: Model,
    table: Timeslices,
    *,
    threshold: float | None = None,
    data_description: str = "timeslices",
    batch_size: int = 256,
    progress: bool = False,
    network_scores: np.ndarray | None = None,
    assembly_threshold: float | None = None,
) -> EvaluationReport:
    """Evaluate ``model`` and the classical baselines on ``table`` (which needs ``event_id``).

    Edge figures of every row count pairs above ``threshold``; every row's assembly uses
    ``assembly_threshold``. Both default as in :func:`gann_core.infer.predict`.
    ``network_scores`` may pass the model's scores of all pairs within each timeslice (as
    :func:`~gann_core.infer.predict` returns them by default), so they are not computed again.
    """
    if not table.has_truth:
        raise TimesliceError(
            f"{data_description} has no event_id column; evaluation compares with the true collision of each track. "
            "Use 'gann predict' for data without truth."
        )
    if model.baselines is None:
        raise ModelFileError(f"model {model.name} has no baseline calibration; retrain it with 'gann train'.")
    threshold, assembly_threshold = thresholds(model, threshold, assembly_threshold)

    fit = fit_tracks(table)
    pairs = all_pairs(table)
    truth = same_event(table, pairs)
    true_events = table.track_event_ids
    if network_scores is None:
        _, network_scores = score_pairs(model, table, pairs=pairs, fit=fit, batch_size=batch_size, progress=progress)
    elif len(network_scores) != len(pairs):
        raise ValueError(
            f"network_scores has {len(network_scores)} entries, but the table has {len(pairs)} pairs; "
            "pass the scores of all pairs within each timeslice, or none."
        )
    classical = baseline_scores(table, pairs, BaselineCalibration.from_dict(model.baselines), fit=fit)

    other_assembly = next(method for method in ASSEMBLY_METHODS if method != model.assembly)
    plans = [
        ("network", "network", network_scores, model.assembly),
        (f"network ({other_assembly})", "network", network_scores, other_assembly),
        ("z0 gap", "z0", classical["z0"], "components"),
        ("z0 linkage", "z0", classical["z0"], "average"),
        ("helix crossing", "crossing", classical["crossing"], model.assembly),
    ]
    rows = []
    for method, scores_name, scores, assembly in plans:
        labels = assemble_events(table.slice_track_offsets, pairs, scores, threshold=assembly_threshold, method=assembly)
        row = {"method": method, "scores": scores_name, "assembly": assembly}
        row.update(_numbers(edge_metrics(truth, scores, threshold)))
        row.update(_numbers(event_metrics(table.slice_track_offsets, true_events, labels)))
        rows.append(row)

    summary = table.summary()
    counts = {
        "timeslices": table.n_timeslices,
        "tracks": table.n_tracks,
        "events": summary.get("events", 0),
        "pairs": int(len(pairs)),
        "true_pairs": int(truth.sum()),
    }
    model_text = f"{model.name} ({model.source})"
    return EvaluationReport(
        data=data_description, model=model_text, threshold=threshold, counts=counts, rows=rows,
        assembly_threshold=assembly_threshold,
    )


def _numbers(values: dict) -> dict:
    """Convert numpy scalars to Python numbers so that the report serialises to JSON."""
    plain = {}
    for key, value in values.items():
        if isinstance(value, np.generic):
            value = value.item()
        plain[key] = value
    return plain


def _format(value) -> str:
    if isinstance(value, float):
        return "nan" if np.isnan(value) else f"{value:.4f}"
    return str(value)
