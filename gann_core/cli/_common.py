"""Argument helpers shared by several ``gann`` subcommands."""

from __future__ import annotations

import argparse
import logging

from gann_core.errors import ConfigError

logger = logging.getLogger("gann_core.cli")


def add_model_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        metavar="M",
        default=None,
        help="model file written by 'gann train', or a shipped model name ('spd', 'trackml'); default: the shipped SPD model",
    )


def add_simulation_arguments(parser: argparse.ArgumentParser, *, n_default: int, seed_default: int) -> None:
    """Options that describe simulated timeslices (composition and the main detector settings)."""
    group = parser.add_argument_group("simulation")
    group.add_argument("--geometry", choices=("spd", "trackml"), default="spd", help="detector geometry (default: spd)")
    group.add_argument("--n-events", type=float, default=10.0, help="mean number of collisions per timeslice (default: 10)")
    group.add_argument("--fixed-n-events", action="store_true", help="exactly --n-events collisions per timeslice instead of Poisson")
    group.add_argument("--max-tracks", type=int, default=5, help="tracks per collision ~ Uniform{2..max-tracks} (default: 5)")
    group.add_argument("--fake-tracks", type=float, default=0.0, help="mean number of fake tracks per timeslice (default: 0)")
    group.add_argument("--time", action="store_true", help="simulate hit time t in ns")
    group.add_argument("--sigma-z-mm", type=float, default=None, help="longitudinal vertex spread in mm (default: the geometry's)")
    group.add_argument("--sigma-xy-mm", type=float, default=None, help="transverse vertex spread in mm (default: the geometry's)")
    group.add_argument("--missing-hit-prob", type=float, default=None, help="probability that a hit is missing (default: the geometry's)")
    group.add_argument(
        "--set",
        metavar="NAME=VALUE",
        action="append",
        default=[],
        help="any other simulation parameter, e.g. --set b_field_t=0.5 (repeatable)",
    )
    group.add_argument("-n", "--timeslices", type=int, default=n_default, help=f"number of timeslices (default: {n_default})")
    group.add_argument("--seed", type=int, default=seed_default, help=f"random seed (default: {seed_default})")


def simulation_overrides(args: argparse.Namespace) -> dict:
    """SimulationConfig fields set by the options of :func:`add_simulation_arguments`."""
    overrides: dict = {
        "n_events": args.n_events,
        "fixed_n_events": args.fixed_n_events,
        "max_tracks": args.max_tracks,
        "n_fake_tracks": args.fake_tracks,
        "simulate_time": args.time,
    }
    for option, name in (
        ("sigma_z_mm", "vertex_sigma_z_mm"),
        ("sigma_xy_mm", "vertex_sigma_xy_mm"),
        ("missing_hit_prob", "missing_hit_prob"),
    ):
        if getattr(args, option) is not None:
            overrides[name] = getattr(args, option)
    overrides.update(parse_assignments(args.set))
    return overrides


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


def simulation_config(args: argparse.Namespace):
    """Build and check the SimulationConfig the options describe."""
    from gann_core.simulate import SimulationConfig

    try:
        config = SimulationConfig.for_geometry(args.geometry, **simulation_overrides(args))
    except TypeError as error:
        raise ConfigError(f"invalid simulation parameter: {error}.") from None
    config.validate()
    return config


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
