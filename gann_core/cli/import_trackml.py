"""``gann import-trackml``: convert a real TrackML event into a timeslice parquet file."""

from __future__ import annotations

import argparse
from pathlib import Path

from gann_core.cli.info import describe_timeslices, format_summary
from gann_core.errors import ConfigError
from gann_core.io import DEFAULT_MIN_HITS, check_output_path, read_trackml_event, timeslices_from_trackml, write_timeslices

# Defaults for drawn timeslices: those of the trackml-10 reference experiment.
DEFAULT_N_EVENTS = 10.0
DEFAULT_MAX_TRACKS = 4


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "import-trackml",
        help="convert a TrackML event (hits, truth, particles CSV) into timeslices",
        description=(
            "Read a TrackML event as one track per particle with 3 or more hits, without noise hits. The "
            "collision of a track is the vertex id in bits 52-63 of its particle_id. Without --timeslices the "
            "whole event is written as one timeslice. With --timeslices N, N timeslices are drawn from its "
            "collisions: a Poisson number of collisions (mean --n-events), 2..MAX_TRACKS tracks from each."
        ),
    )
    parser.add_argument(
        "prefix", metavar="EVENT_PREFIX",
        help="common start of the event's file names, such as data/event000000001 for "
        "data/event000000001-hits.csv(.gz), -truth.csv(.gz) and -particles.csv(.gz)",
    )
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="FILE.parquet", help="output timeslice file")
    parser.add_argument("--timeslices", type=int, metavar="N", help="draw N timeslices from the event's collisions (default: write the whole event)")
    parser.add_argument("--n-events", type=float, metavar="MEAN", help=f"mean number of collisions per drawn timeslice (default: {DEFAULT_N_EVENTS:g})")
    parser.add_argument("--fixed-n-events", action="store_true", default=None, help="put exactly round(N_EVENTS) collisions in every drawn timeslice")
    parser.add_argument("--max-tracks", type=int, metavar="MAX_TRACKS", help=f"maximum tracks drawn per collision (default: {DEFAULT_MAX_TRACKS})")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the draw (default: 0)")
    parser.add_argument("--min-hits", type=int, default=DEFAULT_MIN_HITS, help="minimum hits of a particle to become a track (default: 3)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    draw_options = {"--n-events": args.n_events, "--max-tracks": args.max_tracks, "--fixed-n-events": args.fixed_n_events}
    if args.timeslices is None:
        options_given = [option for option, value in draw_options.items() if value is not None]
        if options_given:
            raise ConfigError(f"{', '.join(options_given)} only apply to drawn timeslices, so add --timeslices N.")
    check_output_path(args.output)

    table = read_trackml_event(args.prefix, min_hits=args.min_hits)
    if args.timeslices is not None:
        table = timeslices_from_trackml(
            table,
            n_events=DEFAULT_N_EVENTS if args.n_events is None else args.n_events,
            max_tracks=DEFAULT_MAX_TRACKS if args.max_tracks is None else args.max_tracks,
            n_timeslices=args.timeslices,
            seed=args.seed,
            fixed_n_events=bool(args.fixed_n_events),
        )
    write_timeslices(args.output, table)

    print(f"wrote {args.output}")
    print(format_summary(describe_timeslices(table)))
    return 0
