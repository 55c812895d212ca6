"""``gann demo``: the main job on built-in defaults, for a first run on a fresh machine."""

from __future__ import annotations

import argparse
from pathlib import Path

from gann_core.cli._common import add_model_argument


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="simulate demo timeslices, assign tracks with the shipped model, compare with the baselines",
        description="Simulate SPD-like demo timeslices (10 collisions on average, up to 5 tracks each), write them, "
        "predict the collision of every track with the shipped model, write the predictions and print the "
        "network beside the classical baselines.",
    )
    parser.add_argument("-o", "--output-dir", default="gann-demo", help="folder for the demo files (default: ./gann-demo)")
    parser.add_argument("-n", "--timeslices", type=int, default=200, help="number of demo timeslices (default: 200)")
    parser.add_argument("--seed", type=int, default=2024, help="random seed of the demo timeslices (default: 2024)")
    add_model_argument(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from gann_core.errors import ConfigError
    from gann_core.evaluation import evaluate
    from gann_core.infer import predict
    from gann_core.io import pairs_path, write_timeslices
    from gann_core.model.saved import Model
    from gann_core.simulate import SimulationConfig, simulate_timeslices
    from gann_core.train.loop import choose_device

    if args.timeslices < 1:
        raise ConfigError(f"--timeslices {args.timeslices} is invalid; use 1 or more.")
    folder = Path(args.output_dir)
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"--output-dir {folder} is a file; give a folder for the demo files.")
    folder.mkdir(parents=True, exist_ok=True)
    model = Model.load(args.model, device=choose_device("auto"))
    config = SimulationConfig.for_geometry("spd", n_events=10.0, max_tracks=5)
    table = simulate_timeslices(config, args.timeslices, seed=args.seed)
    timeslices_path = folder / "timeslices.parquet"
    write_timeslices(timeslices_path, table)

    prediction = predict(model, table)
    predictions_path = folder / "predictions.parquet"
    write_timeslices(predictions_path, prediction.table, pairs=prediction.pairs_table())
    description = (
        f"simulated spd demo: {args.timeslices} timeslices, seed {args.seed}, n_events 10 (Poisson), max_tracks 5"
    )
    report = evaluate(model, table, data_description=description, network_scores=prediction.scores)

    print(report.format_table())
    print()
    print(f"timeslices:  {timeslices_path}")
    print(f"predictions: {predictions_path} (event_pred per hit) and {pairs_path(predictions_path)} (pair scores)")
    print(f"look at them: gann-viewer {predictions_path}")
    from gann_viewer.app import missing_viewer_packages

    if missing_viewer_packages():
        print("  (the viewer needs the viewer extra: pip install 'gann[viewer]', in a checkout pip install -e '.[viewer]')")
    return 0
