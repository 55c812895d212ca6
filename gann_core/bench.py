"""Throughput of the whole prediction chain, of the classical baselines, and of training.

End to end means: read a parquet file → fit the tracks → candidate pairs → HitGraph and
TrackGraph arrays → network → event assembly, the steps of :func:`gann_core.infer.predict`,
each timed on its own. Timeslices are simulated and written to a temporary parquet file
first, which is not timed. The classical baselines (z0 and helix-crossing scores with their
assembly) run on the same file and pairs.

Figures depend on the machine and on what else runs on it, so every report names the CPU
or GPU, the torch threads and the load average at the start.
"""

from __future__ import annotations

import logging
import os
import platform
import resource
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import torch

from gann_core.assembly import assemble_events
from gann_core.baselines import BaselineCalibration, baseline_scores, calibrate_baselines
from gann_core.candidates import DEFAULT_Z0_WINDOW, candidate_pairs
from gann_core.errors import ModelFileError
from gann_core.fit import fit_tracks
from gann_core.graph import build_graphs
from gann_core.infer import CHUNK_TIMESLICES, chunk_timeslices, parallel_workers, predict_chunks
from gann_core.io import TimesliceChunks, read_timeslices, write_timeslices
from gann_core.loss import balanced_focal_loss
from gann_core.model.network import GANN, ModelConfig
from gann_core.model.saved import Model, shipped_model_path
from gann_core.pairs import pair_geometry
from gann_core.simulate import simulate_timeslices
from gann_core.train.config import TrainConfig
from gann_core.train.loop import score_graphs

logger = logging.getLogger(__name__)

from gann_core.bench_settings import DEFAULT_BATCH_SIZES, DEFAULT_TIMESLICES, SETTINGS, STAGES, BenchSetting  # noqa: F401


class PeakMemory:
    """Peak resident memory of this process while the block runs, in MiB.

    ``start_mib`` is the resident memory on entry, so ``peak_mib − start_mib`` is what the
    block added at most.

    On Linux the kernel's own peak (``VmHWM`` in ``/proc/self/status``) is reset on entry
    (by writing 5 to ``/proc/self/clear_refs``) and read on exit, so no peak is missed and
    nothing runs meanwhile. Where that reset is refused, a thread reads
    ``/proc/self/statm`` every ``interval_s`` seconds, so a peak shorter than that may be
    missed. Elsewhere the process's lifetime maximum (``getrusage``) is reported, which
    includes everything before the block.
    """

    def __init__(self, interval_s: float = 0.002):
        self.interval_s = interval_s
        self.peak_mib = 0.0
        self.start_mib = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._kernel_peak = False
        self._page_size = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
        self._statm = Path("/proc/self/statm")

    def _resident_mib(self) -> float:
        return int(self._statm.read_text().split()[1]) * self._page_size / 2**20

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak_mib = max(self.peak_mib, self._resident_mib())
            self._stop.wait(self.interval_s)

    def __enter__(self) -> "PeakMemory":
        if self._statm.is_file():
            self.start_mib = self.peak_mib = self._resident_mib()
            self._kernel_peak = _reset_kernel_peak()
            if not self._kernel_peak:
                self._thread = threading.Thread(target=self._sample, daemon=True)
                self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._kernel_peak:
            self.peak_mib = max(self.peak_mib, _kernel_peak_mib())
        elif self._thread is not None:
            self._stop.set()
            self._thread.join()
            self.peak_mib = max(self.peak_mib, self._resident_mib())
        else:
            # ru_maxrss is in bytes on macOS and in KiB elsewhere.
            bytes_per_unit = 1 if platform.system() == "Darwin" else 1024
            self.peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * bytes_per_unit / 2**20

    @property
    def increase_mib(self) -> float:
        return max(self.peak_mib - self.start_mib, 0.0)


def _reset_kernel_peak() -> bool:
    """Reset this process's peak resident memory (Linux 4.0 and later); False where refused."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return _kernel_peak_mib() > 0
    except (OSError, ValueError):
        return False


def _kernel_peak_mib() -> float:
    """Peak resident memory since the last reset, from ``VmHWM`` in ``/proc/self/status`` (0 when absent)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def machine_description(device: torch.device) -> dict:
    """Describe the machine for a report: CPU or GPU model, cores, torch threads, load average."""
    info = {
        "device": str(device),
        "cpu": _cpu_name(),
        "cpu_cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "load_average_1min": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        "python": platform.python_version(),
        "torch": torch.__version__,
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def _cpu_name() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def load_model(path: str | None, device: torch.device, normalization_table, shipped: str = "spd") -> tuple[Model, str]:
    """Load the model to benchmark and return it with a line that describes it.

    With ``path`` None the shipped model ``shipped`` ("spd" or "trackml") is used, or the
    shipped SPD model when that one is not installed. When neither is installed, an
    untrained network with the default :class:`ModelConfig` is built instead, with input
    normalisation taken from ``normalization_table``: its speed is that of the default
    architecture, but its scores mean nothing.
    """
    if path is not None:
        model = Model.load(path, device=device)
        return model, f"{model.name} ({model.source})"
    for name in dict.fromkeys((shipped, "spd")):
        if shipped_model_path(name).is_file():
            model = Model.load(str(shipped_model_path(name)), device=device)
            return model, f"{model.name} (shipped, {model.source})"
    shipped = shipped_model_path("spd")
    torch.manual_seed(0)
    network = GANN(ModelConfig())
    network.set_normalization(build_graphs(normalization_table))
    model = Model(network=network.eval(), metadata={"name": "untrained"}, source="untrained").to(device)
    text = f"untrained network with the default ModelConfig, because the shipped model {shipped} is not installed; its scores mean nothing"
    return model, text


def _time_inputs(path: Path, candidates: str, z0_window: int, seconds: dict):
    """Read the file, fit the tracks and choose the candidate pairs, timing each into ``seconds``."""
    tick = time.perf_counter()
    table = read_timeslices(path)
    seconds["read"] = _lap(tick)

    tick = time.perf_counter()
    fit = fit_tracks(table)
    seconds["fit"] = _lap(tick)

    tick = time.perf_counter()
    pairs = candidate_pairs(table, candidates, fit=fit, window=z0_window)
    seconds["pairs"] = _lap(tick)
    return table, fit, pairs


def time_prediction(
    model: Model, path: Path, batch_size: int, *, candidates: str = "all", z0_window: int = DEFAULT_Z0_WINDOW
) -> dict:
    """Run the prediction chain once on the file at ``path`` and return seconds per stage and peak memory."""
    seconds = {}
    with PeakMemory() as memory:
        table, fit, pairs = _time_inputs(path, candidates, z0_window, seconds)

        tick = time.perf_counter()
        graphs = build_graphs(
            table, use_time=model.config.use_time, neighbours=model.config.neighbours, fit=fit, pairs=pairs,
            z0_gate_mm=model.config.z0_gate_mm,
        )
        seconds["graphs"] = _lap(tick)

        tick = time.perf_counter()
        # score_graphs keeps the scores on the device and copies them to the host once.
        scores = score_graphs(model.network, graphs, batch_size, model.device).astype(np.float64)
        seconds["network"] = _lap(tick)

        tick = time.perf_counter()
        assemble_events(table.slice_track_offsets, pairs, scores, threshold=model.assembly_threshold, method=model.assembly)
        seconds["assembly"] = _lap(tick)
    return _stage_record(seconds, table.n_timeslices, memory, pairs=len(pairs))


def time_chunked(
    model: Model, path: Path, batch_size: int, *, candidates: str = "all", z0_window: int = DEFAULT_Z0_WINDOW
) -> dict:
    """Run the whole chain on the file at ``path`` as ``gann predict`` does, without writing the output.

    The file is read in chunks of :func:`~gann_core.infer.chunk_timeslices` timeslices
    (:class:`~gann_core.io.TimesliceChunks`), and :func:`~gann_core.infer.predict_chunks`
    scores and assembles them, on the CPU several chunks at once in worker threads, while
    the next chunk is read. The stages overlap, so only the total is timed. The record's
    ``chunk_timeslices`` gives the chunk size.
    """
    seconds = {}
    pairs = 0
    with PeakMemory() as memory:
        tick = time.perf_counter()
        reader = TimesliceChunks(path, timeslices_per_chunk=chunk_timeslices(model, batch_size))
        n_timeslices = 0
        for prediction in predict_chunks(model, reader, batch_size=batch_size, candidates=candidates, z0_window=z0_window):
            n_timeslices += prediction.table.n_timeslices
            pairs += len(prediction.pairs)
        seconds["read, fit, pairs, graphs, network and assembly"] = _lap(tick)
    record = _stage_record(seconds, n_timeslices, memory, pairs=pairs)
    record["chunk_timeslices"] = chunk_timeslices(model, batch_size)
    return record


def time_baselines(
    calibration: BaselineCalibration, path: Path, assembly: str, *, candidates: str = "all", z0_window: int = DEFAULT_Z0_WINDOW
) -> dict:
    """Run the classical chain on the same file: z0 gap (components) and helix crossing (``assembly``)."""
    seconds = {}
    with PeakMemory() as memory:
        table, fit, pairs = _time_inputs(path, candidates, z0_window, seconds)

        tick = time.perf_counter()
        scores = baseline_scores(table, pairs, calibration, geometry=pair_geometry(fit, pairs))
        seconds["scores"] = _lap(tick)

        tick = time.perf_counter()
        assemble_events(table.slice_track_offsets, pairs, scores["z0"], method="components")
        seconds["assembly_z0_gap"] = _lap(tick)

        tick = time.perf_counter()
        assemble_events(table.slice_track_offsets, pairs, scores["crossing"], method=assembly)
        seconds["assembly_crossing"] = _lap(tick)
    record = _stage_record(seconds, table.n_timeslices, memory, pairs=len(pairs))
    shared = seconds["read"] + seconds["fit"] + seconds["pairs"] + seconds["scores"]
    record["z0_gap_slices_per_s"] = table.n_timeslices / (shared + seconds["assembly_z0_gap"])
    record["crossing_slices_per_s"] = table.n_timeslices / (shared + seconds["assembly_crossing"])
    return record


def time_training(
    model_config: ModelConfig,
    graphs,
    batch_size: int,
    device: torch.device,
    *,
    encoder: str = "fast",
    steps: int | None = None,
) -> dict:
    """Time optimisation steps (forward, balanced focal loss, backward, Adam) on ``graphs``.

    The loss weights are the training defaults. One warm-up step is not counted. After it, up
    to ``steps`` steps (all batches when None) are timed. Returns timeslices per second.
    """
    defaults = TrainConfig()
    torch.manual_seed(0)
    network = GANN(model_config)
    network.encoder.implementation = encoder
    network.set_normalization(graphs)
    network.to(device).train()
    optimizer = torch.optim.Adam(network.parameters(), lr=defaults.learning_rate)

    def step(data) -> torch.Tensor:
        data = data.to(device)
        loss = balanced_focal_loss(
            network(data), data.y,
            weight_positive=defaults.weight_positive, weight_negative=defaults.weight_negative, gamma=defaults.gamma,
        )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss.detach()

    ranges = [(lo, min(lo + batch_size, graphs.n_timeslices)) for lo in range(0, graphs.n_timeslices, batch_size)]
    step(graphs.batch(*ranges[0]))
    timed = ranges[1:] if len(ranges) > 1 else ranges
    if steps is not None:
        timed = timed[:steps]
    _synchronize(device)
    tick = time.perf_counter()
    for lo, hi in timed:
        step(graphs.batch(lo, hi))
    _synchronize(device)
    seconds = time.perf_counter() - tick
    slices = sum(hi - lo for lo, hi in timed)
    return {
        "encoder": encoder,
        "batch_size": batch_size,
        "steps": len(timed),
        "timeslices": slices,
        "seconds": seconds,
        "slices_per_s": slices / seconds,
    }


def run_benchmark(
    *,
    model_path: str | None = None,
    settings: tuple[str, ...] = ("spd", "trackml"),
    timeslices: int = DEFAULT_TIMESLICES,
    batch_sizes: tuple[int, ...] = DEFAULT_BATCH_SIZES,
    device: str | torch.device = "cpu",
    encoder: str = "fast",
    compile_layers: bool = False,
    candidates: str = "all",
    z0_window: int = DEFAULT_Z0_WINDOW,
    training: bool = True,
    chunked: bool | None = None,
    repeats: int = 3,
    train_batch_size: int | None = None,
    seed: int = 2024,
    directory: str | os.PathLike | None = None,
) -> dict:
    """Measure every setting over ``batch_sizes`` and return a JSON-ready report.

    Keys: ``machine``, ``model``, ``encoder``, ``candidates``, ``settings`` (one entry per
    setting with ``data``, ``runs`` per batch size with each stage timed on its own,
    ``chunked_runs`` with ``repeats`` runs as ``gann predict`` does it, reading and scoring
    chunks of ``CHUNK_TIMESLICES`` timeslices in parallel, and ``chunked_median_slices_per_s``,
    ``baselines``) and ``training``. ``chunked`` (default: on the CPU with 2 or more worker
    threads) adds the chunked runs.
    With ``compile_layers`` the fast encoder runs through ``torch.compile``, and one
    untimed pass compiles it before the first measurement.
    """
    if repeats < 1:
        raise ValueError(f"repeats={repeats} is invalid; expected 1 or more.")
    device = torch.device(device)
    if chunked is None:
        chunked = device.type == "cpu" and parallel_workers() >= 2
    report = {
        "machine": machine_description(device),
        "encoder": encoder + (" (torch.compile)" if compile_layers else ""),
        "candidates": candidates if candidates == "all" else f"{candidates} ({z0_window} tracks on each side)",
        "settings": [],
    }
    with tempfile.TemporaryDirectory(prefix="gann-bench-", dir=directory) as folder:
        model = None
        for index, name in enumerate(settings):
            setting = SETTINGS[name]
            table = simulate_timeslices(setting.simulation(), timeslices, seed=seed + index)
            path = Path(folder) / f"{name}.parquet"
            write_timeslices(path, table)
            if model is None or model_path is None:
                # Without a model file, each setting gets the shipped model of its geometry.
                model, description = load_model(model_path, device, table, shipped=setting.geometry)
                model.network.encoder.implementation = encoder
                model.network.encoder.compile_layers = compile_layers
                report.setdefault("model", description if model_path is not None else "the shipped model of each setting's geometry")
                if index == 0:
                    first_model = model
            if compile_layers and index == 0:
                time_prediction(model, path, batch_sizes[0], candidates=candidates, z0_window=z0_window)
            summary = table.summary()
            entry = {
                "setting": name,
                "model": description,
                "data": f"simulated {setting.describe()}, seed {seed + index}",
                "timeslices": table.n_timeslices,
                "tracks_per_timeslice": round(summary["tracks_per_timeslice_mean"], 1),
                "hits_per_timeslice": round(table.n_hits / max(table.n_timeslices, 1), 1),
                "runs": [],
            }
            for batch_size in batch_sizes:
                record = time_prediction(model, path, batch_size, candidates=candidates, z0_window=z0_window)
                record["batch_size"] = batch_size
                entry["runs"].append(record)
                logger.info("%s batch %d: %.0f timeslices/s", name, batch_size, record["slices_per_s"])
            if chunked:
                # Throughput on a shared machine varies from run to run by 10 % and more,
                # so the chain runs ``repeats`` times and the median is reported.
                entry["chunked_runs"] = []
                for _ in range(repeats):
                    record = time_chunked(model, path, CHUNK_TIMESLICES, candidates=candidates, z0_window=z0_window)
                    record["batch_size"] = CHUNK_TIMESLICES
                    record["workers"] = parallel_workers()
                    entry["chunked_runs"].append(record)
                    logger.info("%s in parallel chunks of %d: %.0f timeslices/s", name, CHUNK_TIMESLICES, record["slices_per_s"])
                entry["chunked_median_slices_per_s"] = float(np.median([run["slices_per_s"] for run in entry["chunked_runs"]]))

            calibration, calibration_source = _baseline_calibration(model, setting, seed + 100 + index)
            entry["baselines"] = time_baselines(calibration, path, model.assembly, candidates=candidates, z0_window=z0_window)
            entry["baselines"]["calibration"] = calibration_source
            report["settings"].append(entry)

    if training:
        setting = SETTINGS[settings[0]]
        batch_size = train_batch_size or TrainConfig().batch_size
        train_table = simulate_timeslices(setting.simulation(), max(min(timeslices, 512), 2 * batch_size), seed=seed + 200)
        graphs = build_graphs(train_table, use_time=first_model.config.use_time, neighbours=first_model.config.neighbours)
        record = time_training(first_model.config, graphs, batch_size, device, encoder=encoder)
        record["data"] = f"simulated {setting.describe()}"
        report["training"] = record
    return report


def _baseline_calibration(model: Model, setting: BenchSetting, seed: int) -> tuple[BaselineCalibration, str]:
    """Return the model's stored baseline calibration, or fit one on fresh simulated timeslices."""
    if model.baselines is not None:
        try:
            return BaselineCalibration.from_dict(model.baselines), "stored in the model"
        except (KeyError, TypeError, ValueError, ModelFileError):
            logger.warning("model %s has an unreadable baseline calibration; calibrating on simulated timeslices", model.name)
    table = simulate_timeslices(setting.simulation(), 200, seed=seed)
    return calibrate_baselines(table), f"fitted on 200 simulated timeslices ({setting.describe()})"


def _stage_record(seconds: dict, n_timeslices: int, memory: PeakMemory, *, pairs: int) -> dict:
    total = sum(seconds.values())
    return {
        "timeslices": n_timeslices,
        "pairs": int(pairs),
        "seconds": total,
        "slices_per_s": n_timeslices / total if total > 0 else float("inf"),
        "stage_seconds": seconds,
        "stage_share": {name: value / total for name, value in seconds.items()} if total > 0 else {},
        "peak_rss_mib": round(memory.peak_mib, 1),
        "rss_increase_mib": round(memory.increase_mib, 1),
    }


def _lap(tick: float) -> float:
    return time.perf_counter() - tick


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def format_report(report: dict) -> str:
    """Format a :func:`run_benchmark` report as plain-text tables."""
    machine = report["machine"]
    lines = [
        f"machine: {machine['cpu']}, {machine['cpu_cores']} CPU cores, torch threads {machine['torch_threads']}, "
        f"load average {machine['load_average_1min']} at start" + (f", GPU {machine['gpu']}" if "gpu" in machine else ""),
        f"device: {machine['device']}, encoder: {report['encoder']}, candidate pairs: {report['candidates']}",
    ]
    for entry in report["settings"]:
        lines += [
            "",
            f"{entry['setting']}: {entry['data']}; {entry['timeslices']} timeslices, "
            f"{entry['tracks_per_timeslice']} tracks and {entry['hits_per_timeslice']} hits per timeslice",
            f"model: {entry['model']}",
        ]
        header = ["chain", "batch", "slices/s", "peak MiB"] + [f"{stage} %" for stage in STAGES]
        rows = []
        for run in entry["runs"]:
            shares = [f"{100 * run['stage_share'][stage]:.0f}" for stage in STAGES]
            rows.append(["network", str(run["batch_size"]), f"{run['slices_per_s']:.0f}", f"{run['peak_rss_mib']:.0f}"] + shares)
        chunked_runs = entry.get("chunked_runs", [])
        if chunked_runs:
            run = chunked_runs[0]
            label = f"network, {run['workers']} chunks at once"
            peak = max(record["peak_rss_mib"] for record in chunked_runs)
            rows.append(
                [label, f"{run['batch_size']} (chunk)", f"{entry['chunked_median_slices_per_s']:.0f}", f"{peak:.0f}"] + [""] * len(STAGES)
            )
        baselines = entry["baselines"]
        for label, key in (("z0 gap", "z0_gap_slices_per_s"), ("helix crossing", "crossing_slices_per_s")):
            rows.append([label, "-", f"{baselines[key]:.0f}", f"{baselines['peak_rss_mib']:.0f}"] + [""] * len(STAGES))
        lines += _table(header, rows)
        if len(chunked_runs) > 1:
            run_figures = ", ".join(f"{record['slices_per_s']:.0f}" for record in chunked_runs)
            lines.append(f"chunks at once: median of {len(chunked_runs)} runs ({run_figures} timeslices/s)")
        lines.append(f"baseline calibration: {baselines['calibration']}")
    if "training" in report:
        record = report["training"]
        lines += [
            "",
            f"training ({record['data']}, batch {record['batch_size']}, encoder {record['encoder']}): "
            f"{record['slices_per_s']:.0f} timeslices/s over {record['steps']} steps",
        ]
    return "\n".join(lines)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(item) for item in column) for column in zip(header, *rows)]
    return ["  ".join(item.rjust(width) if i else item.ljust(width) for i, (item, width) in enumerate(zip(row, widths))) for row in [header, *rows]]
