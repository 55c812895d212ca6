"""GPU check: run the CUDA tests, then measure inference throughput on SPD-like timeslices.

Usage: ``python benchmarks/gpu_check.py --output gpu_check.json [--timeslices 4000]``.

Without a CUDA GPU the script prints why, writes ``{"cuda_available": false, ...}`` to the
JSON file and exits with status 0, so it can sit in any job. On a GPU it

1. runs every test whose name contains "cuda" (``pytest -k cuda tests``);
2. simulates SPD-like timeslices (10 collisions, Poisson) and times the network alone and
   the whole prediction chain (read, fit, pairs, graphs, network, assembly) for each
   encoder implementation and batch size, with the stages one after another on the whole
   file, and for the fast encoder also in chunks as ``gann predict`` runs it;
3. counts the host synchronisations the network loop makes, with
   ``torch.cuda.set_sync_debug_mode("warn")``: the loop is meant to make none per batch,
   only the one copy of all scores to the host at the end;
4. prints a table and writes every figure, with the GPU named, to the JSON file.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_BATCH_SIZES = (64, 256, 1024, 4096)


def run_cuda_tests() -> dict:
    """Run the tests whose names contain "cuda"; return the exit status and pytest's last lines."""
    command = [sys.executable, "-m", "pytest", "-q", "-k", "cuda", str(REPOSITORY_ROOT / "tests")]
    finished = subprocess.run(command, cwd=REPOSITORY_ROOT, capture_output=True, text=True, timeout=300)
    lines = (finished.stdout + finished.stderr).strip().splitlines()
    return {"command": " ".join(command), "returncode": finished.returncode, "summary": lines[-5:]}


def time_network(model, graphs, batch_size: int, repeats: int = 3) -> dict:
    """Best of ``repeats`` passes of the network over ``graphs``, as in ``gann_core.infer.score_pairs``.

    Also counts the synchronising CUDA calls of one pass (copies back to the host, waits),
    which ``torch.cuda.set_sync_debug_mode`` reports as warnings.
    """
    network = model.network.eval()
    device = model.device

    def one_pass() -> np.ndarray:
        scores = torch.empty(graphs.n_pairs, device=device)
        with torch.inference_mode():
            for data in graphs.batches(batch_size):
                data = data.to(device, non_blocking=True)
                lo = data.pair_offset
                scores[lo : lo + data.pair_index.shape[1]] = torch.sigmoid(network(data))
        return scores.cpu().numpy()

    one_pass()  # warm-up: CUDA context, kernels, allocator
    torch.cuda.synchronize(device)
    best = float("inf")
    torch.cuda.reset_peak_memory_stats(device)
    for _ in range(repeats):
        tick = time.perf_counter()
        one_pass()
        torch.cuda.synchronize(device)
        best = min(best, time.perf_counter() - tick)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            one_pass()
        finally:
            torch.cuda.set_sync_debug_mode("default")
    n_batches = -(-graphs.n_timeslices // batch_size)
    synchronising = [str(item.message).splitlines()[0] for item in caught if "synchroniz" in str(item.message).lower()]
    return {
        "batch_size": batch_size,
        "batches": n_batches,
        "seconds": best,
        "slices_per_s": graphs.n_timeslices / best,
        "peak_gpu_mib": torch.cuda.max_memory_allocated(device) / 2**20,
        "synchronising_calls_per_pass": len(synchronising),
        "synchronising_calls_examples": sorted(set(synchronising))[:5],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="gpu_check.json", help="JSON file to write (default: gpu_check.json)")
    parser.add_argument("--timeslices", type=int, default=4000, help="SPD-like timeslices to score (default: 4000)")
    parser.add_argument(
        "--batch-sizes", default=",".join(map(str, DEFAULT_BATCH_SIZES)),
        help="comma-separated timeslices per network call (default: %(default)s)",
    )
    parser.add_argument("--skip-tests", action="store_true", help="only measure, without running the CUDA tests")
    args = parser.parse_args(argv)

    if not torch.cuda.is_available():
        message = f"no CUDA GPU is available (torch {torch.__version__}); nothing to check."
        print(f"gpu_check: {message}")
        Path(args.output).write_text(json.dumps({"cuda_available": False, "message": message}, indent=2))
        return 0

    from gann_core.bench import load_model, machine_description, time_chunked, time_prediction
    from gann_core.graph import build_graphs
    from gann_core.io import write_timeslices
    from gann_core.simulate import SimulationConfig, simulate_timeslices

    device = torch.device("cuda")
    batch_sizes = tuple(int(item) for item in args.batch_sizes.split(",") if item.strip())
    report = {"cuda_available": True, "machine": machine_description(device)}
    if not args.skip_tests:
        report["cuda_tests"] = run_cuda_tests()
        print(f"CUDA tests: exit status {report['cuda_tests']['returncode']}: {' / '.join(report['cuda_tests']['summary'][-1:])}")

    table = simulate_timeslices(SimulationConfig.for_geometry("spd", n_events=10), args.timeslices, seed=2024)
    model, report["model"] = load_model(None, device, table)
    graphs = build_graphs(table, use_time=model.config.use_time, neighbours=model.config.neighbours)
    report["data"] = f"simulated spd, n_events 10 (Poisson), max_tracks 5, seed 2024, {table.n_timeslices} timeslices"

    report["network"] = []
    report["end_to_end"] = []
    with tempfile.TemporaryDirectory(prefix="gann-gpu-check-") as folder:
        path = Path(folder) / "spd.parquet"
        write_timeslices(path, table)
        for encoder in ("fast", "pyg"):
            model.network.encoder.implementation = encoder
            for batch_size in batch_sizes:
                record = time_network(model, graphs, batch_size)
                record["encoder"] = encoder
                report["network"].append(record)
                chain = time_prediction(model, path, batch_size)
                chain["encoder"] = encoder
                chain["batch_size"] = batch_size
                if encoder == "fast":
                    chain["chunked"] = time_chunked(model, path, batch_size)
                report["end_to_end"].append(chain)

    print(f"GPU: {report['machine'].get('gpu')}; model: {report['model']}")
    print(f"data: {report['data']}")
    header = (
        f"{'encoder':8s} {'batch':>6s} {'network slices/s':>17s} {'end-to-end slices/s':>20s} "
        f"{'chunked slices/s':>17s} {'peak GPU MiB':>13s} {'syncs/pass':>11s}"
    )
    print(header)
    for network, chain in zip(report["network"], report["end_to_end"]):
        chunked = f"{chain['chunked']['slices_per_s']:17.0f}" if "chunked" in chain else f"{'-':>17s}"
        print(
            f"{network['encoder']:8s} {network['batch_size']:6d} {network['slices_per_s']:17.0f} "
            f"{chain['slices_per_s']:20.0f} {chunked} {network['peak_gpu_mib']:13.0f} {network['synchronising_calls_per_pass']:11d}"
        )
    Path(args.output).write_text(json.dumps(report, indent=2))
    print(f"wrote {args.output}")
    return 0 if report.get("cuda_tests", {}).get("returncode", 0) in (0, 5) else 1


if __name__ == "__main__":
    sys.exit(main())
