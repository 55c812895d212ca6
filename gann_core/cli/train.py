"""``gann train``: hierarchical training on simulated timeslices or the user's parquet files."""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import sys
from dataclasses import replace

from gann_core.cli._common import check_positive_integers, parse_assignments

logger = logging.getLogger("gann_core.cli")


def add_parser(subparsers) -> None:
    from gann_core.train.config import PRESETS, THRESHOLD_RULES

    parser = subparsers.add_parser(
        "train",
        help="train a model (hierarchically on simulated timeslices, or on your parquet files)",
        description="Train a GANN model. Without --files, timeslices are simulated per stage of hierarchical "
        "learning (easy settings first); with --files, your parquet files with event_id are split into "
        "training and test timeslices.",
    )
    parser.add_argument("-o", "--output", required=True, help="model file to write (a checkpoint OUTPUT.ckpt is kept beside it)")
    parser.add_argument("--preset", choices=sorted(PRESETS), default="spd-10", help="published configuration to train (default: spd-10)")
    parser.add_argument("--files", nargs="+", metavar="FILE", default=(), help="train on these parquet files instead of simulation")
    parser.add_argument("--n-train", type=int, default=None, help="training timeslices per stage (default: 700)")
    parser.add_argument("--n-test", type=int, default=None, help="test timeslices per stage (default: 300)")
    parser.add_argument("--final-epochs", type=int, default=None, help="epochs in the last stage (default: 20)")
    parser.add_argument("--max-epochs-per-stage", type=int, default=None, help="epoch cap of earlier stages (default: 5)")
    parser.add_argument("--promotion-accuracy", type=float, default=None, help="test edge accuracy to move to the next stage (default: 0.9)")
    parser.add_argument("--batch-size", type=int, default=None, help="timeslices per optimisation step (default: 16)")
    parser.add_argument("--learning-rate", type=float, default=None, help="Adam step size (default: 0.003)")
    parser.add_argument("--weight-negative", type=float, default=None, help="focal loss weight of false pairs (default: the preset's)")
    parser.add_argument("--gamma", type=float, default=None, help="focal loss exponent (default: 1.5)")
    parser.add_argument(
        "--tune-threshold", nargs="?", const="accuracy", default=None, choices=THRESHOLD_RULES, metavar="RULE",
        help="choose the stored pair threshold on the last stage's test timeslices instead of 0.5 (the assembly "
        "threshold stays 0.5): 'accuracy' (the default "
        "RULE) maximises edge accuracy; 'beat-baselines' keeps 0.5 when the network beats every classical baseline "
        "there on edge precision, recall and accuracy, otherwise takes the threshold up to 0.95 where it does with "
        "the widest margin, and keeps 0.5 with a warning when there is none; 'off' keeps 0.5",
    )
    parser.add_argument("--assembly", choices=("average", "components"), default=None, help="event assembly stored in the model (default: average)")
    parser.add_argument("--time", action="store_true", help="use hit time t as an input (simulated when training on simulation)")
    parser.add_argument("--sim", metavar="NAME=VALUE", action="append", default=[], help="simulation parameter for every stage, e.g. --sim vertex_sigma_xy_mm=10 (repeatable)")
    parser.add_argument("--model-set", metavar="NAME=VALUE", action="append", default=[], help="network parameter, e.g. --model-set gat_hidden=64 (repeatable)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: 0)")
    parser.add_argument("--device", default=None, help="'auto' (default: CUDA when available), 'cpu' or 'cuda'")
    parser.add_argument("--resume", action="store_true", help="continue from OUTPUT.ckpt with the same settings")
    parser.add_argument("--no-progress", action="store_true", help="hide the per-epoch progress bar")
    parser.set_defaults(run=run)


def build_config(args: argparse.Namespace):
    from gann_core.model.config import ModelConfig
    from gann_core.train.config import preset

    overrides = {}
    for option in (
        "n_train", "n_test", "final_epochs", "max_epochs_per_stage", "promotion_accuracy", "batch_size",
        "learning_rate", "weight_negative", "gamma", "assembly", "seed", "device", "tune_threshold",
    ):
        value = getattr(args, option)
        if value is not None:
            overrides[option] = value
    config = preset(args.preset, **overrides)
    model_values = {**ModelConfig().to_dict(), **parse_assignments(args.model_set)}
    if args.time:
        model_values["use_time"] = True
    config = replace(
        config,
        model=ModelConfig.from_dict(model_values),
        simulation=parse_assignments(args.sim),
        train_files=tuple(str(path) for path in args.files),
    )
    config.validate()
    return config


def run(args: argparse.Namespace) -> int:
    from gann_core.io import check_output_path
    from gann_core.train import train

    # The same checks as TrainConfig.validate, but the message names the option.
    check_positive_integers(args, "--n-train", "--n-test", "--final-epochs", "--max-epochs-per-stage", "--batch-size")
    config = build_config(args)
    # Before minutes of training, as the other commands do with their -o.
    check_output_path(args.output, example="model.pt")
    command = "gann " + " ".join(shlex.quote(part) for part in sys.argv[1:]) if sys.argv[0].endswith("gann") else None
    source = f"files {', '.join(config.train_files)}" if config.train_files else f"preset {args.preset}, simulated {config.geometry}"
    logger.info("training on %s; %d stage(s); writing %s", source, len(config.stages) if not config.train_files else 1, args.output)
    result = train(config, args.output, resume=args.resume, progress=not args.no_progress, command=command)

    if int(os.environ.get("RANK", "0")) != 0:
        return 0  # under torchrun, process 0 reports for all
    best = result.model.metadata["test_metrics"]
    print(f"\nmodel written to {result.model_path} after {result.seconds:.0f} s")
    print(f"final stage ({best['setting']}), best epoch {best['epoch']}, test figures at threshold {config.threshold:g}:")
    print(f"  test edge precision {best['precision']:.4f}  recall {best['recall']:.4f}  accuracy {best['accuracy']:.4f}")
    print(f"thresholds stored in the model: {result.model.threshold:g} for pairs, {result.model.assembly_threshold:g} for the assembly")
    print("Compare with the classical baselines: gann evaluate FILE --model", result.model_path)
    return 0
