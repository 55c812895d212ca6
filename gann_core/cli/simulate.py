"""``gann simulate``: write simulated timeslices (SPD-like or TrackML-like) to a parquet file."""

from __future__ import annotations

import argparse
from pathlib import Path

from gann_core.cli._common import add_simulation_arguments, simulation_config
from gann_core.cli.info import describe_timeslices, format_summary
from gann_core.io import check_output_path, write_timeslice_chunks
from gann_core.simulate import iter_simulated_chunks


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "simulate",
        help="simulate timeslices of overlapping collisions",
        description=(
            "Simulate timeslices: a Poisson number of collisions per timeslice, 2..MAX_TRACKS helical tracks "
            "per collision, hits where each helix crosses the detector layers. Options left out take the "
            "geometry's defaults."
        ),
    )
    add_simulation_arguments(parser, n_default=1000, seed_default=0)
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="FILE.parquet", help="output timeslice file")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from gann_core.errors import ConfigError

    if args.timeslices < 1:
        raise ConfigError(f"-n/--timeslices {args.timeslices} is invalid; give the number of timeslices to simulate, 1 or more.")
    config = simulation_config(args)
    check_output_path(args.output)

    # Chunks are written as they come, so the file may be larger than the memory.
    summaries = []

    def chunks():
        for chunk in iter_simulated_chunks(config, args.timeslices, seed=args.seed, progress=not args.no_progress):
            summaries.append(describe_timeslices(chunk))
            yield chunk

    write_timeslice_chunks(args.output, chunks())
    print(f"wrote {args.output}")
    print(format_summary(merge_summaries(summaries)))
    return 0


def merge_summaries(parts: list[dict]) -> dict:
    """Combine the :func:`describe_timeslices` figures of chunks into those of the whole file."""
    total = dict(parts[0])
    for key in ("timeslices", "hits", "tracks", "short_tracks", "events", "fake_tracks"):
        if key in total:
            total[key] = sum(part[key] for part in parts)
    total["hits_per_track_min"] = min(part["hits_per_track_min"] for part in parts)
    total["hits_per_track_max"] = max(part["hits_per_track_max"] for part in parts)
    total["tracks_per_timeslice_mean"] = total["tracks"] / total["timeslices"]
    if "events" in total:
        total["events_per_timeslice_mean"] = total["events"] / total["timeslices"]
    return total
