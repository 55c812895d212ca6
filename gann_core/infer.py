"""Batched inference: pair scores, event assembly and the predictions table."""

from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch

from gann_core.assembly import assemble_events
from gann_core.candidates import DEFAULT_Z0_WINDOW, candidate_pairs
from gann_core.errors import InputFileError
from gann_core.fit import TrackFit, fit_tracks
from gann_core.graph import build_graphs
from gann_core.model.saved import Model
from gann_core.pairs import TrackPairs, same_event
from gann_core.table import Timeslices

logger = logging.getLogger(__name__)

#: Timeslices per network call in inference; large batches amortise Python overhead.
DEFAULT_BATCH_SIZE = 256
#: Timeslices per chunk of pipelined scoring (see :func:`score_pairs`).
#: NOTE: chosen by timing chunks of 64, 128 and 256 SPD-like timeslices on 2 CPU cores in
#: a one-off script, not the benchmark suite; other machines may prefer another size.
PIPELINE_TIMESLICES = 128


@dataclass(frozen=True)
class Prediction:
    """Scores and assembled events of a table.

    Attributes:
        table: the input hits plus ``event_pred`` (per hit, equal for all hits of a track).
        pairs: the scored candidate pairs (track positions in ``table``).
        scores: p(same event) per pair.
        track_labels: assembled event label per track, 0..k−1 within each timeslice.
        threshold: the pair decision threshold.
        assembly, assembly_threshold: the assembly method and its threshold.
        model_name: the model that produced the scores.
    """

    table: Timeslices
    pairs: TrackPairs
    scores: np.ndarray
    track_labels: np.ndarray
    threshold: float
    assembly: str
    model_name: str
    assembly_threshold: float | None = None

    def pairs_table(self) -> dict[str, np.ndarray]:
        """Build the pairs table: one row per scored pair with ``timeslice_id, track_a, track_b, score`` (+ ``same_event``)."""
        track_ids = self.table.track_ids
        slice_ids = self.table.timeslice_ids[self.table.track_timeslice_index]
        columns = {
            "timeslice_id": slice_ids[self.pairs.track_a],
            "track_a": track_ids[self.pairs.track_a],
            "track_b": track_ids[self.pairs.track_b],
            "score": self.scores.astype(np.float32),
        }
        if self.table.has_truth:
            columns["same_event"] = same_event(self.table, self.pairs)
        return columns


def check_model_inputs(model: Model, table: Timeslices) -> None:
    """Raise a clear error when the table lacks an input the model needs.

    Also logs a warning when many hits lie outside the detector radii the model was trained
    on, a sign that the model (and its baseline calibration) does not fit this data.
    """
    if model.config.use_time and not table.has_time:
        raise InputFileError(
            f"model {model.name} uses hit time, but the timeslices have no 't' column; "
            "add hit times in ns or use a model trained without time."
        )
    radii = model.metadata.get("simulation", {}).get("layer_radii_mm")
    if radii and table.n_hits:
        r = table.hit_radius
        outside = float(np.mean((r < 0.8 * min(radii)) | (r > 1.2 * max(radii))))
        if outside > 0.2:
            logger.warning(
                "%.0f%% of the hits lie outside the radii %.0f-%.0f mm of the simulated detector that model %s "
                "was trained on, so its scores may be poor here; train on your own data with 'gann train --files'.",
                100 * outside, min(radii), max(radii), model.name,
            )


def score_pairs(
    model: Model,
    table: Timeslices,
    *,
    pairs: TrackPairs | None = None,
    fit: TrackFit | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: bool = False,
    candidates: str = "all",
    z0_window: int = DEFAULT_Z0_WINDOW,
    pipeline: bool | None = None,
) -> tuple[TrackPairs, np.ndarray]:
    """Score candidate pairs (all pairs within each timeslice by default) with ``model``.

    Without ``pairs``, the pairs come from the rule ``candidates`` ("all" or "z0-window",
    see :mod:`gann_core.candidates`); ``z0_window`` is that rule's tracks on each side.
    Scores are written into one tensor on the model's device and copied to the host once,
    so a GPU run has no per-batch synchronisation.

    ``pipeline`` (default: on when the model runs on the CPU, this process may use two or
    more cores, neither ``pairs`` nor ``fit`` is given, and the table contains more than one
    chunk) cuts the table into chunks of ``PIPELINE_TIMESLICES`` timeslices, so a network
    batch never spans two chunks. A worker thread fits the tracks, chooses the pairs and
    builds the graph arrays of the next chunk while the network scores the current one,
    with one torch thread fewer than set, so the two use different cores. The result is
    the same as without it.
    """
    pairs, scores, _ = _score(
        model, table, pairs=pairs, fit=fit, batch_size=batch_size, progress=progress, candidates=candidates,
        z0_window=z0_window, pipeline=pipeline,
    )
    return pairs, scores


@torch.inference_mode()
def _score(
    model: Model,
    table: Timeslices,
    *,
    pairs: TrackPairs | None,
    fit: TrackFit | None,
    batch_size: int,
    progress: bool,
    candidates: str,
    z0_window: int,
    pipeline: bool | None,
    assemble=None,
) -> tuple[TrackPairs, np.ndarray, np.ndarray | None]:
    """:func:`score_pairs`, plus the labels of ``assemble`` when the pipeline runs.

    ``assemble(slice_track_offsets, pairs, scores)`` labels the tracks of one chunk (local
    indices). In the pipeline it runs after each chunk is scored, while the worker prepares
    the next one, and the labels of all chunks are returned. Otherwise the third value is
    None.
    """
    check_model_inputs(model, table)
    if pipeline is None:
        pipeline = (
            pairs is None and fit is None and model.device.type == "cpu"
            and usable_cores() >= 2 and table.n_timeslices > PIPELINE_TIMESLICES
        )
    if pipeline and (pairs is not None or fit is not None):
        raise ValueError("pipeline=True computes the fit and pairs per chunk; pass neither pairs nor fit.")
    pipeline = pipeline and table.n_timeslices > 0

    network = model.network.eval()

    def prepare(part: Timeslices, part_fit: TrackFit | None = None, part_pairs: TrackPairs | None = None):
        part_fit = fit_tracks(part) if part_fit is None else part_fit
        if part_pairs is None:
            part_pairs = candidate_pairs(part, candidates, fit=part_fit, window=z0_window)
        graphs = build_graphs(
            part, use_time=model.config.use_time, neighbours=model.config.neighbours, fit=part_fit, pairs=part_pairs,
            z0_gate_mm=model.config.z0_gate_mm, edges=network.encoder.implementation == "pyg", truth=False,
        )
        return part_pairs, graphs

    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=table.n_timeslices, unit="timeslice", desc="scoring")
    if not pipeline:
        pairs, graphs = prepare(table, fit, pairs)
        scores = score_graph_arrays(network, graphs, batch_size, model.device, bar)
        if bar is not None:
            bar.close()
        return pairs, scores.cpu().numpy().astype(np.float64), None

    size = PIPELINE_TIMESLICES
    chunks = [(lo, min(lo + size, table.n_timeslices)) for lo in range(0, table.n_timeslices, size)]
    threads = torch.get_num_threads()
    torch.set_num_threads(max(threads - 1, 1))
    pieces, labelled = [], []
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="gann-graphs") as pool:
            upcoming = pool.submit(prepare, table.select(slice(*chunks[0])))
            for index, (lo, _) in enumerate(chunks):
                part_pairs, graphs = upcoming.result()
                if index + 1 < len(chunks):
                    upcoming = pool.submit(prepare, table.select(slice(*chunks[index + 1])))
                first_track = table.slice_track_offsets[lo]
                part_scores = score_graph_arrays(network, graphs, batch_size, model.device, bar)
                pieces.append((part_pairs.track_a + first_track, part_pairs.track_b + first_track, part_scores))
                if assemble is not None:
                    # The assembly of this chunk overlaps the worker's preparation of the next.
                    offsets = graphs.slice_track_offsets - graphs.slice_track_offsets[0]
                    labelled.append(assemble(offsets, part_pairs, part_scores.numpy().astype(np.float64)))
        labels = np.concatenate(labelled) if assemble is not None else None
    finally:
        torch.set_num_threads(threads)
        if bar is not None:
            bar.close()
    pairs = TrackPairs(np.concatenate([a for a, _, _ in pieces]), np.concatenate([b for _, b, _ in pieces]))
    scores = torch.cat([values for _, _, values in pieces])
    return pairs, scores.cpu().numpy().astype(np.float64), labels


def score_graph_arrays(network, graphs, batch_size: int, device: torch.device, bar=None) -> torch.Tensor:
    """Score every pair of ``graphs`` with ``network`` as it is (call ``eval()`` first).

    Returns one tensor on ``device``, filled without host synchronisation. ``bar`` (a tqdm
    bar or None) advances by the timeslices of each batch.
    """
    scores = torch.empty(graphs.n_pairs, device=device)
    first_pair = graphs.slice_pair_offsets[0]
    for data in graphs.batches(batch_size):
        data = data.to(device, non_blocking=True)
        lo = data.pair_offset - first_pair
        scores[lo : lo + data.pair_index.shape[1]] = torch.sigmoid(network(data))
        if bar is not None:
            bar.update(data.num_timeslices)
    return scores


def usable_cores() -> int:
    """CPU cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def predict(
    model: Model,
    table: Timeslices,
    *,
    threshold: float | None = None,
    assembly: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: bool = False,
    candidates: str = "all",
    z0_window: int = DEFAULT_Z0_WINDOW,
    assembly_threshold: float | None = None,
) -> Prediction:
    """Score every candidate pair and assemble one event label per track.

    ``threshold``, ``assembly`` and ``assembly_threshold`` default to the values stored in
    the model, except that a given ``threshold`` also sets the assembly threshold unless
    ``assembly_threshold`` is given too (see :func:`thresholds`). ``candidates`` and
    ``z0_window`` choose the pairs as in :func:`score_pairs`; pairs left out count as score
    0 in the assembly.
    """
    threshold, assembly_threshold = thresholds(model, threshold, assembly_threshold)
    assembly = model.assembly if assembly is None else assembly

    def assemble(slice_track_offsets, pairs, scores):
        return assemble_events(slice_track_offsets, pairs, scores, threshold=assembly_threshold, method=assembly)

    pairs, scores, labels = _score(
        model, table, pairs=None, fit=None, batch_size=batch_size, progress=progress, candidates=candidates,
        z0_window=z0_window, pipeline=None, assemble=assemble,
    )
    if labels is None:
        labels = assemble(table.slice_track_offsets, pairs, scores)
    predicted = table.with_columns(event_pred=labels[table.hit_track_index])
    return Prediction(
        table=predicted,
        pairs=pairs,
        scores=scores,
        track_labels=labels,
        threshold=threshold,
        assembly=assembly,
        model_name=model.name,
        assembly_threshold=assembly_threshold,
    )


def thresholds(model: Model, threshold: float | None, assembly_threshold: float | None) -> tuple[float, float]:
    """Pair and assembly thresholds for a run: the requested ones, else the model's.

    A requested ``threshold`` without ``assembly_threshold`` sets both, so that one option
    moves the whole result; with neither, the model's two stored values apply.
    """
    if threshold is None:
        threshold = model.threshold
        if assembly_threshold is None:
            assembly_threshold = model.assembly_threshold
    elif assembly_threshold is None:
        assembly_threshold = threshold
    return float(threshold), float(assembly_threshold)
