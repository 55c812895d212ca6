"""``gann simulate``: write simulated timeslices (SPD-like or TrackML-like) to a parquet file."""

from __future__ import annotations

import argparse
from pathlib import Path

from gann_core.cli._common import add_simulation_arguments, simulation_config
from gann_core.cli.info import describe_timeslices, format_summary
from gann_core.io import check_output_path, write_timeslices
from gann_core.simulate import simulate_timeslices


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
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    config = simulation_config(args)
    check_output_path(args.output)

    table = simulate_timeslices(config, args.timeslices, seed=args.seed, progress=True)
    write_timeslices(args.output, table)

    print(f"wrote {args.output}")
    print(format_summary(describe_timeslices(table)))
    return 0
