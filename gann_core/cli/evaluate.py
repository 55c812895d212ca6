"""``gann evaluate``: the network beside the classical baselines, on a file or simulated timeslices."""

from __future__ import annotations

import argparse

from gann_core.cli._common import (
    SIMULATION_OPTIONS,
    add_model_argument,
    add_simulation_arguments,
    add_threshold_arguments,
    check_thresholds,
    describe_simulation,
    logger,
    simulation_config,
)

TIMESLICES_DEFAULT = 1000
SEED_DEFAULT = 12345


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="compare the network with the classical baselines",
        description="Print edge precision/recall/accuracy and event-level figures of the network and of the "
        "classical baselines (z0 gap, z0 linkage, helix crossing) on the same timeslices. Without INPUT, "
        "timeslices are simulated with the simulation options.",
    )
    parser.add_argument("input", nargs="?", help="timeslice parquet file with event_id (default: simulate)")
    add_model_argument(parser)
    add_threshold_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--device", default="auto", help="'auto' (default), 'cpu' or 'cuda'")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bars of simulation and scoring")
    add_simulation_arguments(parser, n_default=TIMESLICES_DEFAULT, seed_default=SEED_DEFAULT)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from gann_core.evaluation import evaluate
    from gann_core.model.saved import Model
    from gann_core.train.loop import choose_device

    check_thresholds(args)
    model = Model.load(args.model, device=choose_device(args.device))
    if args.input:
        from gann_core.io import read_timeslices
        from gann_core.simulate import GEOMETRIES

        ignored = [f"--{dest.replace('_', '-')}" for dest in SIMULATION_OPTIONS if getattr(args, dest) is not None]
        ignored += [option for option, changed in (
            ("--geometry", args.geometry != GEOMETRIES[0]),
            ("-n", args.timeslices != TIMESLICES_DEFAULT),
            ("--seed", args.seed != SEED_DEFAULT),
        ) if changed]
        if ignored:
            logger.warning("%s only describe simulated timeslices and are ignored with the input file %s.", ", ".join(ignored), args.input)
        table = read_timeslices(args.input)
        description = f"file {args.input}"
    else:
        from gann_core.simulate import simulate_timeslices

        config = simulation_config(args)
        table = simulate_timeslices(config, args.timeslices, seed=args.seed, progress=not args.no_progress)
        description = describe_simulation(config, args.timeslices, args.seed)
    report = evaluate(
        model, table, threshold=args.threshold, assembly_threshold=args.assembly_threshold, data_description=description,
        progress=not args.no_progress,
    )
    print(report.to_json() if args.json else report.format_table())
    return 0
