"""Batched inference: pair scores, event assembly and the predictions table."""

from __future__ import annotations

import logging
import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np
import torch

from gann_core.assembly import assemble_events
from gann_core.candidates import DEFAULT_Z0_WINDOW, candidate_pairs
from gann_core.errors import InputFileError, counted
from gann_core.fit import TrackFit, fit_tracks
from gann_core.graph import build_graphs
from gann_core.model.network import GATED_LOGIT
from gann_core.model.saved import Model
from gann_core.pairs import TrackPairs, same_event
from gann_core.table import Timeslices

logger = logging.getLogger(__name__)

#: Timeslices per network call in inference; large batches amortise Python overhead.
DEFAULT_BATCH_SIZE = 256
#: Timeslices per chunk of chunked scoring on the CPU (see :func:`score_pairs`).
#: NOTE: chosen by timing chunks of 64, 128 and 256 SPD-like timeslices on 2 CPU cores in
#: a one-off script, not the benchmark suite; other machines may prefer another size.
CHUNK_TIMESLICES = 128


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
    chunked: bool | None = None,
) -> tuple[TrackPairs, np.ndarray]:
    """Score candidate pairs (all pairs within each timeslice by default) with ``model``.

    Without ``pairs``, the pairs come from the rule ``candidates`` ("all" or "z0-window",
    see :mod:`gann_core.candidates`); ``z0_window`` is that rule's tracks on each side.
    Scores are written into one tensor on the model's device and copied to the host once,
    so a GPU run has no per-batch synchronisation.

    ``chunked`` (default: on when neither ``pairs`` nor ``fit`` is given and the table has
    more than one chunk) cuts the table into chunks of :func:`chunk_timeslices` timeslices
    and runs the whole chain (fit, pairs, graph arrays, network) chunk by chunk, which
    keeps the arrays of each step small enough for the CPU caches. On the CPU,
    :func:`parallel_workers` chunks run at once in worker threads, each with one torch
    thread. The result is the same as without chunks.
    """
    pairs, scores, _ = _score(
        model, table, pairs=pairs, fit=fit, batch_size=batch_size, progress=progress, candidates=candidates,
        z0_window=z0_window, chunked=chunked,
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
    chunked: bool | None,
    assemble=None,
) -> tuple[TrackPairs, np.ndarray, np.ndarray | None]:
    """:func:`score_pairs`, plus the labels of ``assemble`` when the table is cut into chunks.

    ``assemble(slice_track_offsets, pairs, scores)`` labels the tracks of one chunk (local
    indices). With chunks, each chunk is assembled after it is scored, and the
    labels of all chunks are returned. Otherwise the third value is None.
    """
    check_model_inputs(model, table)
    size = chunk_timeslices(model, batch_size)
    if chunked is None:
        chunked = pairs is None and fit is None and table.n_timeslices > size
    if chunked and (pairs is not None or fit is not None):
        raise ValueError("chunked=True computes the fit and pairs per chunk; pass neither pairs nor fit.")
    chunked = chunked and table.n_timeslices > 0
    network = model.network.eval()

    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=table.n_timeslices, unit="timeslice", desc="scoring")
    try:
        if not chunked:
            pairs, graphs = _prepare(model, table, candidates, z0_window, fit=fit, pairs=pairs)
            scores = score_graph_arrays(network, graphs, batch_size, model.device, bar)
            return pairs, _host_scores(table, pairs, scores), None

        def run(bounds: tuple[int, int]):
            part = table.select(slice(*bounds))
            part_pairs, part_scores = _score_chunk(model, part, candidates, z0_window, batch_size)
            if assemble is None:
                # The scores stay on the device and are copied to the host once, at the end.
                return part_pairs, part_scores, None
            part_scores = _host_scores(part, part_pairs, part_scores)
            return part_pairs, part_scores, assemble(part.slice_track_offsets, part_pairs, part_scores)

        chunks = [(lo, min(lo + size, table.n_timeslices)) for lo in range(0, table.n_timeslices, size)]
        first_a, first_b, pieces, labelled = [], [], [], []
        for (lo, hi), (part_pairs, part_scores, labels) in zip(chunks, map_in_order(run, chunks, _workers(model))):
            first_track = table.slice_track_offsets[lo]
            first_a.append(part_pairs.track_a + first_track)
            first_b.append(part_pairs.track_b + first_track)
            pieces.append(part_scores)
            labelled.append(labels)
            if bar is not None:
                bar.update(hi - lo)
    finally:
        if bar is not None:
            bar.close()
    pairs = TrackPairs(np.concatenate(first_a), np.concatenate(first_b))
    if assemble is None:
        return pairs, _host_scores(table, pairs, torch.cat(pieces)), None
    return pairs, np.concatenate(pieces), np.concatenate(labelled)


def _score_chunk(
    model: Model, part: Timeslices, candidates: str, z0_window: int, batch_size: int
) -> tuple[TrackPairs, torch.Tensor]:
    """Score one chunk in the calling thread. The scores stay a tensor on the model's device.

    Worker threads do not inherit the caller's inference mode, so it is entered here.
    """
    with torch.inference_mode():
        pairs, graphs = _prepare(model, part, candidates, z0_window)
        return pairs, score_graph_arrays(model.network, graphs, batch_size, model.device)


def _host_scores(table: Timeslices, pairs: TrackPairs, scores: torch.Tensor) -> np.ndarray:
    """Copy the scores of ``table``'s ``pairs`` to the host as float64, raising when any is NaN.

    NaN scores come from hit features that are not finite in float32, for example from
    coordinates far outside any detector in a table built in memory (reading a file rejects
    coordinates beyond 1 km), so the error points at the data.
    """
    values = scores.cpu().numpy().astype(np.float64)
    bad = np.flatnonzero(~np.isfinite(values))
    if len(bad):
        timeslice = table.timeslice_ids[table.track_timeslice_index[pairs.track_a[bad[0]]]]
        largest = max(float(np.abs(table.columns[name]).max()) for name in ("x", "y", "z"))
        raise InputFileError(
            f"the network gave NaN scores to {counted(len(bad), 'pair')} (first in timeslice {timeslice}) "
            f"because some hit features are not finite. The largest |x|, |y| or |z| is {largest:.3g} mm, "
            "so check those hits for values far outside the detector."
        )
    return values


def _workers(model: Model) -> int:
    """Return how many chunks are scored at once: :func:`parallel_workers` on the CPU, one elsewhere."""
    return parallel_workers() if model.device.type == "cpu" else 1


def _prepare(
    model: Model, table: Timeslices, candidates: str, z0_window: int, *, fit: TrackFit | None = None, pairs: TrackPairs | None = None
):
    """Fit the tracks, choose the candidate pairs (unless given) and build the graph arrays for scoring."""
    fit = fit_tracks(table) if fit is None else fit
    if pairs is None:
        pairs = candidate_pairs(table, candidates, fit=fit, window=z0_window)
    graphs = build_graphs(
        table, use_time=model.config.use_time, neighbours=model.config.neighbours, fit=fit, pairs=pairs,
        z0_gate_mm=model.config.z0_gate_mm, edges=model.network.encoder.implementation == "pyg", truth=False,
    )
    return pairs, graphs


def map_in_order(function, items, workers: int):
    """Yield ``function(item)`` for every item of ``items``, in order, up to ``workers`` at once.

    With ``workers`` ≥ 2 the calls run in threads, and torch uses one thread per call
    meanwhile (restored at the end), so the workers do not compete for cores. At most
    ``workers + 1`` results are pending, so an iterator of items is read only as fast as
    the results are consumed. torch operations and most numpy operations release the GIL,
    so the threads run largely in parallel.

    NOTE: Python code and some numpy calls (``np.repeat``, fancy indexing) hold the GIL. In
    a one-off timing on 2 cores, the numpy steps (fit, graph arrays) ran only about 1.2
    times faster in two threads than in one, and the network about 1.75 times.
    """
    if workers <= 1:
        for item in items:
            yield function(item)
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="gann-chunks")
    try:
        pending = deque()
        for item in items:
            pending.append(pool.submit(function, item))
            if len(pending) > workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        torch.set_num_threads(threads)


def score_graph_arrays(network, graphs, batch_size: int, device: torch.device, bar=None) -> torch.Tensor:
    """Score every pair of ``graphs`` with ``network`` as it is (call ``eval()`` first).

    Returns one tensor on ``device``, filled without host synchronisation. ``bar`` (a tqdm
    bar or None) advances by the timeslices of each batch.
    """
    first_pair = graphs.slice_pair_offsets[0]
    if graphs.pair_rows is None:
        scores = torch.empty(graphs.n_pairs, device=device)
    else:
        # Pairs without a feature row lie outside the z0 gate.
        scores = torch.sigmoid(torch.full((graphs.n_pairs,), GATED_LOGIT, device=device))
    for data in graphs.batches(batch_size):
        data = data.to(device, non_blocking=True)
        lo = data.pair_offset - first_pair
        if graphs.pair_rows is None:
            scores[lo : lo + data.pair_index.shape[1]] = torch.sigmoid(network(data))
        else:
            scores[lo + data.pair_rows] = torch.sigmoid(network(data))
        if bar is not None:
            bar.update(data.num_timeslices)
    return scores


def usable_cores() -> int:
    """CPU cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def parallel_workers() -> int:
    """Return the worker threads for parallel scoring on the CPU: the usable cores, at most torch's thread count."""
    return max(1, min(usable_cores(), torch.get_num_threads()))


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
        z0_window=z0_window, chunked=None, assemble=assemble,
    )
    if labels is None:
        labels = assemble(table.slice_track_offsets, pairs, scores)
    return _prediction(model, table, pairs, scores, labels, threshold, assembly, assembly_threshold)


def _prediction(model, table, pairs, scores, labels, threshold, assembly, assembly_threshold) -> Prediction:
    """Build the :class:`Prediction` of ``table``, with ``event_pred`` from the track labels."""
    return Prediction(
        table=table.with_columns(event_pred=labels[table.hit_track_index]),
        pairs=pairs,
        scores=scores,
        track_labels=labels,
        threshold=threshold,
        assembly=assembly,
        model_name=model.name,
        assembly_threshold=assembly_threshold,
    )


def predict_chunks(
    model: Model,
    chunks: Iterable[Timeslices],
    *,
    threshold: float | None = None,
    assembly: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    candidates: str = "all",
    z0_window: int = DEFAULT_Z0_WINDOW,
    assembly_threshold: float | None = None,
) -> Iterator[Prediction]:
    """Yield one :class:`Prediction` per table of ``chunks``, in order, as :func:`predict` would.

    ``chunks`` may be any iterable of tables, for example a
    :class:`~gann_core.io.TimesliceChunks` reader, which keeps memory bounded for files of
    any size. On the CPU, :func:`parallel_workers` chunks run at once in worker threads
    (see :func:`map_in_order`); on other devices one chunk at a time. The inputs are checked
    against the model (:func:`check_model_inputs`) on the first chunk.
    """
    threshold, assembly_threshold = thresholds(model, threshold, assembly_threshold)
    assembly = model.assembly if assembly is None else assembly
    model.network.eval()

    def run(part: Timeslices) -> Prediction:
        pairs, scores = _score_chunk(model, part, candidates, z0_window, batch_size)
        scores = _host_scores(part, pairs, scores)
        labels = assemble_events(part.slice_track_offsets, pairs, scores, threshold=assembly_threshold, method=assembly)
        return _prediction(model, part, pairs, scores, labels, threshold, assembly, assembly_threshold)

    def checked() -> Iterator[Timeslices]:
        for index, part in enumerate(chunks):
            if index == 0:
                check_model_inputs(model, part)
            yield part

    yield from map_in_order(run, checked(), _workers(model))


def chunk_timeslices(model: Model, batch_size: int) -> int:
    """Return the timeslices per chunk for :func:`predict_chunks`: ``CHUNK_TIMESLICES`` on the CPU, 4 batches elsewhere."""
    if model.device.type == "cpu":
        return CHUNK_TIMESLICES
    return max(4 * batch_size, CHUNK_TIMESLICES)


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
