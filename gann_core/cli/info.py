"""``gann info``: counts, hits per track and columns of timeslice files."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from gann_core.io import DEFAULT_MIN_HITS, pairs_path, read_pairs, read_timeslices
from gann_core.table import Timeslices


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "info",
        help="show the counts and columns of timeslice files",
        description=(
            "Read timeslice parquet files, check them, and show the number of timeslices, hits, tracks "
            "and events, the range of hits per track, and the columns. Several files are counted together."
        ),
    )
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE", help="timeslice parquet file(s)")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # min_hits=1 keeps short tracks, so that this command counts them instead of dropping them.
    table = read_timeslices(args.files, min_hits=1)
    info = {"files": [str(path) for path in args.files]}
    info.update(describe_timeslices(table))
    if len(args.files) == 1 and pairs_path(args.files[0]).exists():
        pairs = read_pairs(args.files[0])
        info["pairs_file"] = str(pairs_path(args.files[0]))
        info["pairs"] = len(pairs["score"])

    if args.json:
        print(json.dumps(info, indent=2))
    else:
        print(format_summary(info))
    return 0


def describe_timeslices(table: Timeslices) -> dict:
    """Return :meth:`Timeslices.summary` plus the number of tracks too short for a helix fit."""
    info = table.summary()
    info["short_tracks"] = int(np.count_nonzero(table.hits_per_track < DEFAULT_MIN_HITS))
    return info


def format_summary(info: dict) -> str:
    """Format the figures of :func:`describe_timeslices` as aligned ``name  value`` lines."""
    rows = []
    if "files" in info:
        rows.append(("file(s)", ", ".join(info["files"])))
    rows += [
        ("timeslices", info["timeslices"]),
        ("hits", info["hits"]),
        ("tracks", info["tracks"]),
        ("tracks per timeslice", f"{info['tracks_per_timeslice_mean']:.1f} (mean)"),
        ("hits per track", f"{info['hits_per_track_min']}..{info['hits_per_track_max']}"),
    ]
    if info.get("short_tracks"):
        rows.append((f"tracks < {DEFAULT_MIN_HITS} hits", f"{info['short_tracks']} (dropped when read for GANN)"))
    if "events" in info:
        rows.append(("events", info["events"]))
        rows.append(("events per timeslice", f"{info['events_per_timeslice_mean']:.1f} (mean)"))
        rows.append(("fake tracks", info["fake_tracks"]))
    else:
        rows.append(("events", "unknown (no event_id column)"))
    if "pairs" in info:
        rows.append(("scored pairs", f"{info['pairs']} in {info['pairs_file']}"))
    rows.append(("columns", ", ".join(info["columns"])))

    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)
