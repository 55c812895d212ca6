"""``gann bench``: throughput of prediction, of the classical baselines and of training."""

from __future__ import annotations

import argparse
import json

from gann_core.cli._common import add_model_argument, check_positive_integers


def add_parser(subparsers) -> None:
    from gann_core.bench_settings import DEFAULT_BATCH_SIZES, DEFAULT_TIMESLICES, SETTINGS
    from gann_core.candidates import CANDIDATE_RULES, DEFAULT_Z0_WINDOW

    parser = subparsers.add_parser(
        "bench",
        help="measure timeslices per second of prediction and training",
        description="Simulate SPD-like (10 collisions) and TrackML-like (15 collisions) timeslices, write them to "
        "parquet, and time the prediction chain (read, fit, pairs, graphs, network, assembly) over several batch "
        "sizes, the classical baselines on the same file, and training steps. Prints timeslices per second, each "
        "stage's share and the peak memory, with the machine named.",
    )
    add_model_argument(parser, default="the shipped model of each setting's geometry")
    parser.add_argument(
        "-n", "--timeslices", type=int, default=DEFAULT_TIMESLICES,
        help=f"timeslices per setting (default: {DEFAULT_TIMESLICES})",
    )
    parser.add_argument(
        "--batch-sizes", default=",".join(map(str, DEFAULT_BATCH_SIZES)),
        help="comma-separated timeslices per network call (default: %(default)s)",
    )
    parser.add_argument(
        "--settings", default=",".join(SETTINGS),
        help=f"comma-separated data settings among {', '.join(SETTINGS)} (default: %(default)s)",
    )
    parser.add_argument("--device", default="cpu", help="'cpu' (default), 'cuda' or 'auto'")
    parser.add_argument("--encoder", choices=("fast", "pyg"), default="fast", help="GAT implementation (default: fast)")
    parser.add_argument(
        "--compile", action="store_true",
        help="run the fast encoder through torch.compile (needs a C++ compiler; compiling takes seconds and is not timed)",
    )
    parser.add_argument("--candidates", choices=CANDIDATE_RULES, default="all", help="candidate pair rule (default: all)")
    parser.add_argument(
        "--z0-window", type=int, default=DEFAULT_Z0_WINDOW,
        help=f"tracks on each side in z0 order for --candidates z0-window (default: {DEFAULT_Z0_WINDOW})",
    )
    parser.add_argument(
        "--threads", type=int, default=None,
        help="torch CPU threads (default: torch's default). On a machine where other processes use the cores, "
        "1 thread is often faster",
    )
    parser.add_argument(
        "--repeats", type=int, default=3,
        help="runs of the chain as 'gann predict' runs it, in parallel chunks; the table shows their median (default: 3)",
    )
    parser.add_argument("--train-batch-size", type=int, default=None, help="timeslices per training step (default: 16)")
    parser.add_argument("--no-training", action="store_true", help="skip the training measurement")
    parser.add_argument("--seed", type=int, default=2024, help="simulation seed (default: 2024)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from gann_core.bench import SETTINGS, format_report, run_benchmark
    from gann_core.errors import ConfigError
    from gann_core.train.loop import choose_device

    batch_sizes = _positive_integers(args.batch_sizes, "--batch-sizes")
    settings = tuple(name.strip() for name in args.settings.split(",") if name.strip())
    unknown = [name for name in settings if name not in SETTINGS]
    if unknown or not settings:
        raise ConfigError(f"--settings {args.settings!r} is invalid; use a comma-separated list of {', '.join(SETTINGS)}.")
    check_positive_integers(args, "--timeslices", "--threads", "--train-batch-size", "--repeats")
    if args.threads is not None:
        torch.set_num_threads(args.threads)

    report = run_benchmark(
        model_path=args.model,
        settings=settings,
        timeslices=args.timeslices,
        batch_sizes=batch_sizes,
        device=choose_device(args.device),
        encoder=args.encoder,
        compile_layers=args.compile,
        candidates=args.candidates,
        z0_window=args.z0_window,
        training=not args.no_training,
        repeats=args.repeats,
        train_batch_size=args.train_batch_size,
        seed=args.seed,
    )
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 0


def _positive_integers(text: str, option: str) -> tuple[int, ...]:
    from gann_core.errors import ConfigError

    try:
        values = tuple(int(item) for item in text.split(",") if item.strip())
    except ValueError:
        values = ()
    if not values or min(values) < 1:
        raise ConfigError(f"{option} {text!r} is invalid; write positive integers separated by commas, e.g. 64,256,1024.")
    return values
