"""``gann simulate``: write simulated timeslices (SPD-like or TrackML-like) to a parquet file."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from gann_core.cli.info import describe_timeslices, format_summary
from gann_core.io import check_output_path, write_timeslices
from gann_core.simulate import GEOMETRIES, GEOMETRY_DEFAULTS, SimulationConfig, simulate_timeslices

# Command-line option (argparse dest) -> SimulationConfig field it overrides.
CONFIG_OPTIONS = {
    "n_events": "n_events",
    "fixed_n_events": "fixed_n_events",
    "max_tracks": "max_tracks",
    "fake_tracks": "n_fake_tracks",
    "sigma_xy_mm": "vertex_sigma_xy_mm",
    "sigma_z_mm": "vertex_sigma_z_mm",
    "missing_hit_prob": "missing_hit_prob",
    "time": "simulate_time",
}


def _default_text(field: str) -> str:
    """Describe the default of a SimulationConfig field, per geometry where it depends on one."""
    if field in GEOMETRY_DEFAULTS[GEOMETRIES[0]]:
        return ", ".join(f"{GEOMETRY_DEFAULTS[geometry][field]:g} for {geometry}" for geometry in GEOMETRIES)
    default = {item.name: item.default for item in dataclasses.fields(SimulationConfig)}[field]
    return f"{default:g}"


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
    parser.add_argument(
        "--geometry", choices=GEOMETRIES, default=GEOMETRIES[0], help=f"detector geometry (default: {GEOMETRIES[0]})"
    )
    parser.add_argument(
        "--n-events", type=float, metavar="MEAN",
        help=f"mean number of collisions per timeslice (default: {_default_text('n_events')})",
    )
    parser.add_argument(
        "--fixed-n-events", action="store_true", default=None,
        help="put exactly round(N_EVENTS) collisions in every timeslice instead of a Poisson number",
    )
    parser.add_argument(
        "--max-tracks", type=int, metavar="N",
        help=f"maximum tracks per collision, drawn uniformly from 2..N (default: {_default_text('max_tracks')})",
    )
    parser.add_argument(
        "--fake-tracks", type=float, metavar="MEAN",
        help=f"mean number of fake tracks per timeslice (default: {_default_text('n_fake_tracks')})",
    )

    parser.add_argument("--time", action="store_true", default=None, help="simulate hit times in ns (column t)")
    parser.add_argument(
        "--sigma-xy-mm", type=float, metavar="MM",
        help=f"standard deviation of the collision vertex x and y in mm (default: {_default_text('vertex_sigma_xy_mm')})",
    )
    parser.add_argument(
        "--sigma-z-mm", type=float, metavar="MM",
        help=f"standard deviation of the collision vertex z in mm (default: {_default_text('vertex_sigma_z_mm')})",
    )
    parser.add_argument(
        "--missing-hit-prob", type=float, metavar="P",
        help=f"probability that a layer crossing leaves no hit (default: {_default_text('missing_hit_prob')})",
    )

    parser.add_argument("-n", "--timeslices", type=int, default=1000, help="number of timeslices (default: 1000)")
    parser.add_argument(
        "--seed", type=int, default=0, help="random seed, so that the same seed and options give the same file (default: 0)"
    )
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="FILE.parquet", help="output timeslice file")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    overrides = {}
    for option, field in CONFIG_OPTIONS.items():
        value = getattr(args, option)
        if value is not None:
            overrides[field] = value
    config = SimulationConfig.for_geometry(args.geometry, **overrides)
    config.validate()
    check_output_path(args.output)

    table = simulate_timeslices(config, args.timeslices, seed=args.seed, progress=True)
    write_timeslices(args.output, table)

    print(f"wrote {args.output}")
    print(format_summary(describe_timeslices(table)))
    return 0
