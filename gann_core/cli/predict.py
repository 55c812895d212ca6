"""``gann predict``: event label per track and pair scores for a timeslice file."""

from __future__ import annotations

import argparse

import numpy as np

from gann_core.cli._common import add_model_argument, add_threshold_arguments, check_positive_integers, check_thresholds


def add_parser(subparsers) -> None:
    from gann_core.candidates import CANDIDATE_RULES, DEFAULT_Z0_WINDOW

    parser = subparsers.add_parser(
        "predict",
        help="assign every track to a collision",
        description="Score all track pairs of every timeslice and assemble one event label per track. "
        "Writes OUTPUT (the hits plus event_pred) and OUTPUT's sibling .pairs.parquet (one row per scored pair).",
    )
    parser.add_argument("input", help="timeslice parquet file")
    parser.add_argument("-o", "--output", required=True, help="predictions parquet file to write")
    add_model_argument(parser)
    add_threshold_arguments(parser)
    parser.add_argument("--assembly", choices=("average", "components"), default=None, help="event assembly (default: the model's)")
    parser.add_argument(
        "--candidates", choices=CANDIDATE_RULES, default="all",
        help="pairs to score: all pairs within a timeslice (default), or each track against its nearest tracks in fitted z0 (for large timeslices)",
    )
    parser.add_argument(
        "--z0-window", type=int, default=DEFAULT_Z0_WINDOW,
        help=f"with --candidates z0-window: tracks on each side in z0 order (default: {DEFAULT_Z0_WINDOW})",
    )
    parser.add_argument("--batch-size", type=int, default=256, help="timeslices per network call (default: 256)")
    parser.add_argument("--device", default="auto", help="'auto' (default), 'cpu' or 'cuda'")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from gann_core.errors import counted
    from gann_core.infer import chunk_timeslices, predict_chunks
    from gann_core.io import TimesliceChunks, check_output_path, pairs_path, write_prediction_chunks
    from gann_core.model.saved import Model
    from gann_core.train.loop import choose_device

    check_output_path(args.output, example="predictions.parquet")
    _check_not_input(args.input, args.output)
    check_thresholds(args)
    check_positive_integers(args, "--batch-size", "--z0-window")
    model = Model.load(args.model, device=choose_device(args.device))
    # The file is read, scored and written a chunk of timeslices at a time, so memory stays
    # bounded and reading overlaps the scoring of earlier chunks.
    reader = TimesliceChunks(args.input, timeslices_per_chunk=chunk_timeslices(model, args.batch_size))
    predictions = predict_chunks(
        model, reader, threshold=args.threshold, assembly=args.assembly, assembly_threshold=args.assembly_threshold,
        candidates=args.candidates, z0_window=args.z0_window, batch_size=args.batch_size,
    )
    totals = {"timeslices": 0, "tracks": 0, "pairs": 0, "collisions": 0}
    last = {}
    # The bar appears with the first scored chunk, so an error in the input's first chunk
    # (a missing column, a NaN) is reported alone.
    progress = {"bar": None}

    def with_totals():
        for prediction in predictions:
            table = prediction.table
            totals["timeslices"] += table.n_timeslices
            totals["tracks"] += table.n_tracks
            totals["pairs"] += len(prediction.pairs)
            starts = table.slice_track_offsets[:-1]
            # Labels run 0..k-1 in each timeslice, so each timeslice's largest label + 1 is its collision count.
            totals["collisions"] += int((np.maximum.reduceat(prediction.track_labels, starts) + 1).sum()) if table.n_tracks else 0
            last["prediction"] = prediction
            if not args.no_progress:
                if progress["bar"] is None:
                    from tqdm import tqdm

                    progress["bar"] = tqdm(total=reader.n_timeslices, unit="timeslice", desc="predicting")
                progress["bar"].update(table.n_timeslices)
            yield table, prediction.pairs_table()

    try:
        if args.no_progress:
            write_prediction_chunks(args.output, with_totals())
        else:
            from tqdm.contrib.logging import logging_redirect_tqdm

            # Warnings logged while the bar is shown (dropped short tracks) get lines of their own.
            with logging_redirect_tqdm():
                write_prediction_chunks(args.output, with_totals())
    except BaseException:
        if progress["bar"] is not None:
            # The error message follows alone, without a half-drawn bar above it.
            progress["bar"].leave = False
        raise
    finally:
        if progress["bar"] is not None:
            progress["bar"].close()

    prediction = last["prediction"]
    print(
        f"model: {model.name} ({model.source}), threshold {prediction.threshold:g}, "
        f"assembly {prediction.assembly} at {prediction.assembly_threshold:g}"
    )
    print(
        f"{counted(totals['timeslices'], 'timeslice')}, {counted(totals['tracks'], 'track')}, "
        f"{counted(totals['pairs'], 'pair')} scored, {counted(totals['collisions'], 'collision')} assembled"
    )
    print(f"wrote {args.output} and {pairs_path(args.output)}")
    return 0


def _check_not_input(input_path: str, output_path: str) -> None:
    """Raise when OUTPUT or its pairs file would replace the input file."""
    from pathlib import Path

    from gann_core.errors import ConfigError
    from gann_core.io import pairs_path

    source = Path(input_path).resolve()
    for target in (Path(output_path), pairs_path(output_path)):
        if target.resolve() == source:
            raise ConfigError(f"-o {output_path} would overwrite the input file {input_path}, so choose another output file.")
