"""Time simulating SPD-like timeslices, writing them to parquet and reading them back.

Usage: ``python benchmarks/bench_simulate_io.py [N_TIMESLICES] [--geometry spd] [--json]``.
The speed goal is 10,000 SPD-like timeslices with 10 collisions each simulated in under 30 s
on 2 CPU cores and read back in under 5 s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from gann_core.io import read_timeslices, write_timeslices
from gann_core.simulate import SimulationConfig, simulate_timeslices


def run_benchmark(n_timeslices: int, geometry: str, n_events: float, seed: int, directory: Path) -> dict:
    """Simulate, write and read ``n_timeslices`` timeslices, and return seconds, sizes and machine."""
    config = SimulationConfig.for_geometry(geometry, n_events=n_events)
    path = directory / "bench_timeslices.parquet"

    started = time.perf_counter()
    table = simulate_timeslices(config, n_timeslices, seed=seed)
    simulated = time.perf_counter()
    write_timeslices(path, table)
    written = time.perf_counter()
    sizes = {"timeslices": table.n_timeslices, "tracks": table.n_tracks, "hits": table.n_hits, "columns": len(table.columns)}
    # Freed before reading, as a later run that reads the file would not hold it either.
    del table
    read_started = time.perf_counter()
    back = read_timeslices(path)
    read_done = time.perf_counter()

    if back.n_hits != sizes["hits"]:
        raise RuntimeError(f"read {back.n_hits} hits from {path}, but {sizes['hits']} were written.")
    return {
        "geometry": geometry,
        "n_events": n_events,
        **sizes,
        "file_mb": path.stat().st_size / 1e6,
        "simulate_s": simulated - started,
        "write_s": written - simulated,
        "read_s": read_done - read_started,
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
    }


def format_table(result: dict) -> str:
    rows = [
        ("simulate", f"{result['simulate_s']:.2f}"),
        ("write", f"{result['write_s']:.2f}"),
        ("read", f"{result['read_s']:.2f}"),
    ]
    lines = [
        f"{result['timeslices']} {result['geometry']} timeslices (n_events={result['n_events']:g}): "
        f"{result['tracks']} tracks, {result['hits']} hits, {result['columns']} columns, "
        f"{result['file_mb']:.1f} MB parquet file",
        f"{'step':<10}{'seconds':>10}",
    ]
    lines += [f"{step:<10}{seconds:>10}" for step, seconds in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("timeslices", nargs="?", type=int, default=10_000, help="number of timeslices (default: 10000)")
    parser.add_argument("--geometry", choices=("spd", "trackml"), default="spd", help="detector geometry (default: spd)")
    parser.add_argument("--n-events", type=float, default=10.0, help="mean collisions per timeslice (default: 10)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--dir", type=Path, help="folder for the parquet file (default: a temporary folder, removed afterwards)")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object instead of a table")
    args = parser.parse_args(argv)

    if args.dir is not None:
        args.dir.mkdir(parents=True, exist_ok=True)
        result = run_benchmark(args.timeslices, args.geometry, args.n_events, args.seed, args.dir)
    else:
        with tempfile.TemporaryDirectory() as directory:
            result = run_benchmark(args.timeslices, args.geometry, args.n_events, args.seed, Path(directory))

    print(json.dumps(result) if args.json else format_table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
