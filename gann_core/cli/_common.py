"""Argument helpers shared by several ``gann`` subcommands."""

from __future__ import annotations

import argparse
import dataclasses
import logging

from gann_core.errors import ConfigError

logger = logging.getLogger("gann_core.cli")


def add_model_argument(parser: argparse.ArgumentParser, default: str = "the shipped SPD model") -> None:
    parser.add_argument(
        "--model",
        metavar="M",
        default=None,
        help=f"model file written by 'gann train', or a shipped model name ('spd', 'trackml'); default: {default}",
    )


def add_threshold_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--threshold`` and ``--assembly-threshold`` (see :func:`gann_core.infer.thresholds`)."""
    parser.add_argument(
        "--threshold", type=float, default=None,
        help="p(same event) threshold for pairs, and for the assembly unless --assembly-threshold is given "
        "(default: the thresholds stored in the model)",
    )
    parser.add_argument("--assembly-threshold", type=float, default=None, help="threshold of the event assembly (default: see --threshold)")


def check_positive_integers(args: argparse.Namespace, *options: str) -> None:
    """Reject the first of ``options`` (such as "--batch-size") whose value is below 1; unset options pass."""
    for option in options:
        value = getattr(args, option.lstrip("-").replace("-", "_"))
        if value is not None and value < 1:
            raise ConfigError(f"{option} {value} is invalid; use an integer of 1 or more.")


def check_thresholds(args: argparse.Namespace) -> None:
    """Reject a ``--threshold`` or ``--assembly-threshold`` outside (0, 1), NaN included."""
    for option, value in (("--threshold", args.threshold), ("--assembly-threshold", args.assembly_threshold)):
        if value is not None and not 0.0 < value < 1.0:
            raise ConfigError(f"{option} {value} is invalid; use a value strictly between 0 and 1, e.g. 0.5.")


# Command-line option (argparse dest) -> SimulationConfig field it overrides.
SIMULATION_OPTIONS = {
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
    from gann_core.simulate import GEOMETRIES, GEOMETRY_DEFAULTS, SimulationConfig

    if field in GEOMETRY_DEFAULTS[GEOMETRIES[0]]:
        return ", ".join(f"{GEOMETRY_DEFAULTS[geometry][field]:g} for {geometry}" for geometry in GEOMETRIES)
    default = {item.name: item.default for item in dataclasses.fields(SimulationConfig)}[field]
    return f"{default:g}"


def add_simulation_arguments(parser: argparse.ArgumentParser, *, n_default: int, seed_default: int) -> None:
    """Options that describe simulated timeslices; options left out take the geometry's defaults."""
    from gann_core.simulate import GEOMETRIES

    group = parser.add_argument_group("simulation")
    group.add_argument(
        "--geometry", choices=GEOMETRIES, default=GEOMETRIES[0], help=f"detector geometry (default: {GEOMETRIES[0]})"
    )
    group.add_argument(
        "--n-events", type=float, metavar="MEAN",
        help=f"mean number of collisions per timeslice (default: {_default_text('n_events')})",
    )
    group.add_argument(
        "--fixed-n-events", action="store_true", default=None,
        help="put exactly round(N_EVENTS) collisions in every timeslice instead of a Poisson number",
    )
    group.add_argument(
        "--max-tracks", type=int, metavar="N",
        help=f"maximum tracks per collision, drawn uniformly from 2..N (default: {_default_text('max_tracks')})",
    )
    group.add_argument(
        "--fake-tracks", type=float, metavar="MEAN",
        help=f"mean number of fake tracks per timeslice (default: {_default_text('n_fake_tracks')})",
    )
    group.add_argument("--time", action="store_true", default=None, help="simulate hit times in ns (column t)")
    group.add_argument(
        "--sigma-xy-mm", type=float, metavar="MM",
        help=f"standard deviation of the collision vertex x and y in mm (default: {_default_text('vertex_sigma_xy_mm')})",
    )
    group.add_argument(
        "--sigma-z-mm", type=float, metavar="MM",
        help=f"standard deviation of the collision vertex z in mm (default: {_default_text('vertex_sigma_z_mm')})",
    )
    group.add_argument(
        "--missing-hit-prob", type=float, metavar="P",
        help=f"probability that a layer crossing leaves no hit (default: {_default_text('missing_hit_prob')})",
    )
    group.add_argument(
        "--set", metavar="NAME=VALUE", action="append", default=[],
        help="any other simulation parameter, e.g. --set b_field_t=0.5 (repeatable)",
    )
    group.add_argument("-n", "--timeslices", type=int, default=n_default, help=f"number of timeslices (default: {n_default})")
    group.add_argument(
        "--seed", type=int, default=seed_default,
        help=f"random seed, so that the same seed and options give the same timeslices (default: {seed_default})",
    )


def simulation_config(args: argparse.Namespace):
    """Build and check the SimulationConfig that the options of :func:`add_simulation_arguments` describe."""
    from gann_core.simulate import SimulationConfig

    overrides = {field: getattr(args, option) for option, field in SIMULATION_OPTIONS.items() if getattr(args, option) is not None}
    overrides.update(parse_assignments(args.set))
    config = SimulationConfig.for_geometry(args.geometry, **overrides)
    config.validate()
    return config


def parse_assignments(items: list[str]) -> dict:
    """Parse NAME=VALUE strings; values become int, float, bool or stay strings."""
    values = {}
    for item in items:
        name, separator, text = item.partition("=")
        if not separator or not name:
            raise ConfigError(f"--set {item!r} is invalid; write NAME=VALUE, e.g. --set b_field_t=0.5.")
        values[name.strip()] = _parse_value(text.strip())
    return values


def _parse_value(text: str):
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def describe_simulation(config, n_timeslices: int, seed: int) -> str:
    text = (
        f"simulated {config.geometry}: {n_timeslices} timeslices, seed {seed}, n_events {config.n_events:g}"
        f"{' (fixed)' if config.fixed_n_events else ' (Poisson)'}, max_tracks {config.max_tracks}, "
        f"vertex sigma_z {config.vertex_sigma_z_mm:g} mm, sigma_xy {config.vertex_sigma_xy_mm:g} mm"
    )
    if config.n_fake_tracks:
        text += f", fake tracks {config.n_fake_tracks:g}"
    if config.simulate_time:
        text += ", with hit time"
    return text
