"""Measurements behind docs/benchmarks.md that ``gann bench`` does not make.

Usage: ``python benchmarks/bench_end_to_end.py SECTION [--json] [--threads N]`` with SECTION

* ``candidates``: fraction of true pairs the z0-window rule loses, for windows of 4..64
  tracks, on simulated SPD-like timeslices of exactly 10, 50 and 200 collisions with
  2..``max_tracks`` tracks each (``max_tracks`` 5, 10, 20);
* ``large``: seconds and peak memory to score one timeslice of 50..400 collisions, with
  all pairs and with the z0 window. Scoring is fit, candidate pairs, graphs and network,
  and the assembly is timed apart;
* ``encoder``: the fast and the PyG GAT encoder, forward alone and forward plus backward,
  on one batch of SPD-like timeslices. It also measures the network's throughput (encoder
  and pair classifier) with the fast encoder cut into blocks of ``DEFAULT_BLOCK_NODES``
  hits and not cut;
* ``stages``: time per SPD-like timeslice of each step of ``gann predict`` in one thread,
  on chunks of ``CHUNK_TIMESLICES`` timeslices as ``predict_chunks`` runs them: reading
  the parquet file, fit, candidate pairs, graph arrays, network, assembly. The best of
  three passes is kept.

The model is the shipped SPD model when installed, otherwise an untrained network with the
default ModelConfig (same cost, meaningless scores). Every section prints the machine.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from gann_core.assembly import assemble_events
from gann_core.bench import PeakMemory, load_model, machine_description
from gann_core.candidates import candidate_pairs, pairs_lost, z0_window_pairs
from gann_core.fit import fit_tracks
from gann_core.graph import build_graphs
from gann_core.infer import CHUNK_TIMESLICES, score_graph_arrays
from gann_core.io import TimesliceChunks, write_timeslices
from gann_core.model.encoder import DEFAULT_BLOCK_NODES
from gann_core.simulate import SimulationConfig, simulate_timeslices
from gann_core.train.loop import score_graphs

WINDOWS = (4, 8, 12, 16, 24, 32, 48, 64)
#: Timeslices simulated per number of collisions, so that every row has over 10,000 true pairs.
TIMESLICES_PER_SETTING = {10: 300, 50: 60, 200: 15}
#: z0 window used for each max_tracks in the ``large`` section (chosen from ``candidates``).
WINDOW_FOR_MAX_TRACKS = {5: 16, 10: 24, 20: 48}


def fixed_collisions(n_events: int, max_tracks: int) -> SimulationConfig:
    return SimulationConfig.for_geometry("spd", n_events=n_events, fixed_n_events=True, max_tracks=max_tracks)


def measure_candidates(seed: int = 11) -> list[dict]:
    """Fraction of true pairs lost per window, for every (max_tracks, n_events) setting."""
    rows = []
    for max_tracks in (5, 10, 20):
        for n_events, n_timeslices in TIMESLICES_PER_SETTING.items():
            table = simulate_timeslices(fixed_collisions(n_events, max_tracks), n_timeslices, seed=seed)
            z0 = fit_tracks(table).z0
            row = {
                "max_tracks": max_tracks,
                "n_events": n_events,
                "timeslices": n_timeslices,
                "tracks_per_timeslice": table.n_tracks / n_timeslices,
                "windows": {},
            }
            for window in WINDOWS:
                lost = pairs_lost(table, z0_window_pairs(table, z0, window))
                row["windows"][window] = {
                    "fraction_lost": lost["fraction_lost"],
                    "pairs_per_track": lost["candidate_pairs"] / table.n_tracks,
                }
            row["true_pairs"] = lost["true_pairs"]
            row["all_pairs_per_track"] = lost["all_pairs"] / table.n_tracks
            rows.append(row)
    return rows


def measure_large(model, seed: int = 21) -> list[dict]:
    """Score single large timeslices with all pairs and with the z0 window."""
    rows = []
    settings = [(n_events, 5) for n_events in (50, 100, 200, 400)] + [(200, 10), (200, 20)]
    for n_events, max_tracks in settings:
        table = simulate_timeslices(fixed_collisions(n_events, max_tracks), 1, seed=seed + n_events + max_tracks)
        window = WINDOW_FOR_MAX_TRACKS[max_tracks]
        for rule in ("z0-window", "all"):
            if rule == "all" and table.n_tracks > 1500:
                continue  # all pairs of this slice take minutes on a small CPU; the trend is clear below
            score_one_slice(model, table, rule, window)  # warm-up
            record = score_one_slice(model, table, rule, window)
            record.update({"n_events": n_events, "max_tracks": max_tracks, "tracks": table.n_tracks, "hits": table.n_hits})
            rows.append(record)
    return rows


def score_one_slice(model, table, rule: str, window: int) -> dict:
    """Seconds and peak resident memory to score one timeslice, and to assemble it after."""
    with PeakMemory() as memory:
        tick = time.perf_counter()
        fit = fit_tracks(table)
        pairs = candidate_pairs(table, rule, fit=fit, window=window)
        graphs = build_graphs(
            table, use_time=model.config.use_time, neighbours=model.config.neighbours, fit=fit, pairs=pairs,
            z0_gate_mm=model.config.z0_gate_mm,
        )
        scores = score_graphs(model.network, graphs, 1, model.device).astype(np.float64)
        scored = time.perf_counter() - tick
    tick = time.perf_counter()
    assemble_events(table.slice_track_offsets, pairs, scores, threshold=model.assembly_threshold, method=model.assembly)
    assembled = time.perf_counter() - tick
    lost = pairs_lost(table, pairs)
    return {
        "candidates": rule if rule == "all" else f"{rule} {window}",
        "pairs": len(pairs),
        "true_pairs_lost": lost["fraction_lost"],
        "score_seconds": scored,
        "assembly_seconds": assembled,
        "peak_rss_mib": memory.peak_mib,
        "rss_increase_mib": memory.increase_mib,
    }


def measure_encoder(model, n_timeslices: int = 256, repeats: int = 3, seed: int = 31) -> list[dict]:
    """Best-of-``repeats`` seconds of the encoder on one batch, fast against PyG."""
    table = simulate_timeslices(SimulationConfig.for_geometry("spd", n_events=10), n_timeslices, seed=seed)
    graphs = build_graphs(table, use_time=model.config.use_time, neighbours=model.config.neighbours)
    data = graphs.batch(0, graphs.n_timeslices)
    network = model.network
    x = (data.x - network.hit_mean) / network.hit_std
    inputs = (x, data.edge_index, data.hit_track, data.num_tracks)
    encoder = network.encoder
    rows = []
    for implementation in ("pyg", "fast"):
        encoder.implementation = implementation

        def forward():
            with torch.inference_mode():
                encoder(*inputs)

        def forward_backward():
            encoder.zero_grad(set_to_none=True)
            encoder(*inputs).sum().backward()

        rows.append(
            {
                "implementation": implementation,
                "timeslices": n_timeslices,
                "hits": table.n_hits,
                "forward_seconds": _best_of(forward, repeats),
                "forward_backward_seconds": _best_of(forward_backward, repeats),
            }
        )

    for implementation, block_nodes in (("pyg", DEFAULT_BLOCK_NODES), ("fast", DEFAULT_BLOCK_NODES), ("fast", table.n_hits)):
        encoder.implementation = implementation
        encoder.block_nodes = block_nodes
        seconds = _best_of(lambda: score_graphs(network, graphs, 256, model.device), repeats)
        label = "pyg" if implementation == "pyg" else f"fast, blocks of {'all' if block_nodes == table.n_hits else block_nodes} hits"
        rows.append({"implementation": label, "network_slices_per_s": n_timeslices / seconds})
    encoder.implementation = "fast"
    encoder.block_nodes = DEFAULT_BLOCK_NODES
    return rows


def measure_stages(model, n_timeslices: int = 2048, repeats: int = 3, seed: int = 41) -> list[dict]:
    """Best-of-``repeats`` seconds per timeslice of each prediction step, chunk by chunk, in this thread."""
    table = simulate_timeslices(SimulationConfig.for_geometry("spd", n_events=10), n_timeslices, seed=seed)
    network = model.network.eval()
    best = {}
    with tempfile.TemporaryDirectory(prefix="gann-stages-") as folder:
        path = Path(folder) / "spd.parquet"
        write_timeslices(path, table)
        for _ in range(repeats):
            seconds = dict.fromkeys(("read", "fit", "pairs", "graphs", "network", "assembly"), 0.0)
            tick = time.perf_counter()
            for chunk in TimesliceChunks(path, timeslices_per_chunk=CHUNK_TIMESLICES):
                seconds["read"] += time.perf_counter() - tick
                tick = time.perf_counter()
                fit = fit_tracks(chunk)
                seconds["fit"] += _lap(tick)
                tick = time.perf_counter()
                pairs = candidate_pairs(chunk, "all", fit=fit)
                seconds["pairs"] += _lap(tick)
                tick = time.perf_counter()
                graphs = build_graphs(
                    chunk, use_time=model.config.use_time, neighbours=model.config.neighbours, fit=fit, pairs=pairs,
                    z0_gate_mm=model.config.z0_gate_mm, edges=False, truth=False,
                )
                seconds["graphs"] += _lap(tick)
                tick = time.perf_counter()
                with torch.inference_mode():
                    scores = score_graph_arrays(network, graphs, 256, model.device).numpy().astype(np.float64)
                seconds["network"] += _lap(tick)
                tick = time.perf_counter()
                assemble_events(chunk.slice_track_offsets, pairs, scores, threshold=model.assembly_threshold, method=model.assembly)
                seconds["assembly"] += _lap(tick)
                tick = time.perf_counter()
            for stage, value in seconds.items():
                best[stage] = min(best.get(stage, float("inf")), value)
    rows = [{"stage": stage, "ms_per_timeslice": 1000 * value / n_timeslices} for stage, value in best.items()]
    rows.append({"stage": "total", "ms_per_timeslice": sum(row["ms_per_timeslice"] for row in rows)})
    return rows


def _lap(tick: float) -> float:
    return time.perf_counter() - tick


def _best_of(function, repeats: int) -> float:
    function()
    best = float("inf")
    for _ in range(repeats):
        tick = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - tick)
    return best


def print_candidates(rows: list[dict]) -> None:
    print("fraction of true pairs lost by the z0 window (tracks on each side), % ; pairs per track in brackets")
    print(f"{'max_tracks':>10s} {'n_events':>8s} {'tracks':>7s} " + " ".join(f"{w:>13d}" for w in WINDOWS) + f" {'all pairs':>9s}")
    for row in rows:
        cells = " ".join(f"{100 * v['fraction_lost']:6.2f} ({v['pairs_per_track']:4.1f})" for v in row["windows"].values())
        print(f"{row['max_tracks']:10d} {row['n_events']:8d} {row['tracks_per_timeslice']:7.0f} {cells} {row['all_pairs_per_track']:9.1f}")


def print_large(rows: list[dict]) -> None:
    print(f"{'n_events':>8s} {'max_tracks':>10s} {'tracks':>7s} {'candidates':>13s} {'pairs':>8s} {'lost %':>7s} {'score s':>8s} {'assembly s':>10s} {'peak MiB':>8s} {'added MiB':>9s}")
    for row in rows:
        print(
            f"{row['n_events']:8d} {row['max_tracks']:10d} {row['tracks']:7d} {row['candidates']:>13s} {row['pairs']:8d} "
            f"{100 * row['true_pairs_lost']:7.2f} {row['score_seconds']:8.3f} {row['assembly_seconds']:10.3f} {row['peak_rss_mib']:8.0f} {row['rss_increase_mib']:9.0f}"
        )


def print_encoder(rows: list[dict]) -> None:
    print(f"{'encoder':8s} {'timeslices':>10s} {'hits':>8s} {'forward s':>10s} {'forward+backward s':>19s}")
    for row in rows:
        if "forward_seconds" in row:
            print(f"{row['implementation']:8s} {row['timeslices']:10d} {row['hits']:8d} {row['forward_seconds']:10.3f} {row['forward_backward_seconds']:19.3f}")
    print("network alone (encoder and pair classifier), batches of 256 timeslices:")
    for row in rows:
        if "network_slices_per_s" in row:
            print(f"  {row['implementation']:26s} {row['network_slices_per_s']:6.0f} timeslices/s")


def print_stages(rows: list[dict]) -> None:
    print(f"SPD-like timeslices (10 collisions), chunks of {CHUNK_TIMESLICES}, one thread; ms per timeslice:")
    for row in rows:
        print(f"  {row['stage']:9s} {row['ms_per_timeslice']:6.3f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Candidate-pair recall, large-timeslice scoring and encoder timings.")
    parser.add_argument("section", choices=("candidates", "large", "encoder", "stages"))
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's default)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)

    device = torch.device("cpu")
    report = {"machine": machine_description(device), "section": args.section}
    if args.section == "candidates":
        report["rows"] = measure_candidates()
        printer = print_candidates
    else:
        model, report["model"] = load_model(None, device, simulate_timeslices(SimulationConfig.for_geometry("spd"), 50, seed=1))
        measure, printer = {
            "large": (measure_large, print_large),
            "encoder": (measure_encoder, print_encoder),
            "stages": (measure_stages, print_stages),
        }[args.section]
        report["rows"] = measure(model)

    if args.json:
        print(json.dumps(report, indent=2))
    else:
        machine = report["machine"]
        print(f"machine: {machine['cpu']}, {machine['cpu_cores']} CPU cores, torch threads {machine['torch_threads']}, load average {machine['load_average_1min']} at start")
        if "model" in report:
            print(f"model: {report['model']}")
        printer(report["rows"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
