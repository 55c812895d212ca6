"""The ``gann`` command: one module per subcommand, each with ``add_parser`` and ``run``."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from gann_core.errors import GannError
from gann_core.table import TimesliceError

# Subcommand modules of this package, in the order ``gann --help`` lists them.
SUBCOMMANDS = ("demo", "simulate", "import_trackml", "info", "train", "predict", "evaluate", "bench")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gann",
        description="Assign reconstructed tracks to collisions in detector timeslices with a graph attention network.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"gann_core.cli.{name}")
        except ModuleNotFoundError as error:
            if error.name == f"gann_core.cli.{name}":
                continue
            raise
        module.add_parser(subparsers)
    # Subcommand name -> its parser, so that main reports an unknown option with that command's usage.
    parser.command_parsers = subparsers.choices
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        # Building the parser imports torch, which takes seconds: Ctrl-C may come meanwhile.
        parser = build_parser()
    except KeyboardInterrupt:
        print("gann: interrupted", file=sys.stderr)
        return 130
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        parser.command_parsers[args.command].error(f"unrecognized arguments: {' '.join(unknown)}")
    if not args.verbose:
        # When a run is interrupted while torch loads, an exit hook of torch logs cache
        # statistics at INFO. Those lines mean nothing to a user of gann.
        logging.getLogger("torch").setLevel(logging.WARNING)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s: %(message)s" if not args.verbose else "%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.run(args) or 0)
    except BrokenPipeError:
        # The reader of stdout stopped early (as `gann info FILE | head` does); that is not
        # an error of the command. Point stdout at /dev/null so the exit does not flush
        # into the closed pipe again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (GannError, TimesliceError, OSError, FloatingPointError) as error:
        if args.verbose:
            raise
        print(f"gann {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"gann {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
