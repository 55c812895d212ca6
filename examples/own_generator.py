"""Train GANN on timeslices from your own generator and compare it with the classical baselines.

This script stands in for a user's simulation chain: a small generator, independent of
``gann_core.simulate``, writes parquet files with the short column names ``trid``/``evid``.
Its detector differs from GANN's built-in geometries:

* collision vertices spread 10 mm transversely (Gaussian σ per coordinate) and uniformly
  over ±300 mm in z;
* 35 equidistant stations between 270 and 850 mm from the beam line, no barrel end;
* 0.1 mm Gaussian resolution on x, y and z; a 1 T field; 10 collisions per timeslice on
  average, 2..5 tracks each.

It then trains a model on the training file (``gann train --files`` does the same from the
command line), evaluates it on a fresh file from the same generator, and prints the network
beside the baselines. Run it from the repository root:

    python examples/own_generator.py --out own-generator

With the defaults it takes several minutes on 2 CPU cores (most of it training).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

STATIONS_MM = np.linspace(270.0, 850.0, 35)
B_FIELD_T = 1.0
RESOLUTION_MM = 0.1


def generate(n_timeslices: int, seed: int) -> pa.Table:
    """Timeslices of the example detector as an Arrow table (one row per hit)."""
    rng = np.random.default_rng(seed)
    columns: dict[str, list[np.ndarray]] = {name: [] for name in ("x", "y", "z", "trid", "evid", "timeslice_id")}
    for timeslice in range(n_timeslices):
        n_events = max(1, rng.poisson(10))
        track_number = 0
        for event in range(n_events):
            vertex = np.array([rng.normal(0, 10.0), rng.normal(0, 10.0), rng.uniform(-300.0, 300.0)])
            for _ in range(rng.integers(2, 6)):
                hits = _track_hits(rng, vertex)
                while hits is None:
                    hits = _track_hits(rng, vertex)
                n = len(hits)
                columns["x"].append(hits[:, 0])
                columns["y"].append(hits[:, 1])
                columns["z"].append(hits[:, 2])
                columns["trid"].append(np.full(n, track_number))
                columns["evid"].append(np.full(n, event))
                columns["timeslice_id"].append(np.full(n, timeslice))
                track_number += 1
    return pa.table({name: np.concatenate(parts) for name, parts in columns.items()})


def _track_hits(rng: np.random.Generator, vertex: np.ndarray) -> np.ndarray | None:
    """Hits of one helix from ``vertex`` on the stations it reaches, or None if fewer than 3."""
    pt = 0.2 + rng.exponential(0.5)
    eta = rng.uniform(-1.0, 1.0)
    phi = rng.uniform(-np.pi, np.pi)
    charge = rng.choice([-1.0, 1.0])
    radius = 1000.0 * pt / (0.299792458 * B_FIELD_T)

    # Walk along the helix in small steps of transverse path and record the first crossing of
    # every station radius: simple and independent of GANN's analytic crossing code.
    step = 1.0
    s = np.arange(0.0, min(2 * np.pi * radius, 4000.0), step)
    turn = -charge * s / radius
    centre_x = vertex[0] + charge * radius * np.sin(phi)
    centre_y = vertex[1] - charge * radius * np.cos(phi)
    angle0 = np.arctan2(vertex[1] - centre_y, vertex[0] - centre_x)
    x = centre_x + radius * np.cos(angle0 + turn)
    y = centre_y + radius * np.sin(angle0 + turn)
    z = vertex[2] + s * np.sinh(eta)
    r = np.hypot(x, y)
    hits = []
    for station in STATIONS_MM:
        outside = np.flatnonzero(r >= station)
        if len(outside) == 0 or outside[0] == 0:
            continue
        i = outside[0]
        fraction = (station - r[i - 1]) / (r[i] - r[i - 1])
        point = np.array([x[i - 1], y[i - 1], z[i - 1]]) + fraction * np.array([x[i] - x[i - 1], y[i] - y[i - 1], z[i] - z[i - 1]])
        hits.append(point + rng.normal(0.0, RESOLUTION_MM, 3))
    if len(hits) < 3:
        return None
    return np.array(hits)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="own-generator", help="folder for the files (default: own-generator)")
    parser.add_argument("--train-timeslices", type=int, default=2000, help="timeslices in the training file (default: 2000)")
    parser.add_argument("--test-timeslices", type=int, default=500, help="timeslices in the fresh evaluation file (default: 500)")
    parser.add_argument("--final-epochs", type=int, default=20, help="training epochs (default: 20)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    from gann_core.evaluation import evaluate
    from gann_core.io import read_timeslices
    from gann_core.train import TrainConfig, train

    folder = Path(args.out)
    folder.mkdir(parents=True, exist_ok=True)
    train_path, test_path, model_path = folder / "train.parquet", folder / "fresh.parquet", folder / "model.pt"
    print(f"writing {train_path} and {test_path} ...", flush=True)
    pq.write_table(generate(args.train_timeslices, seed=1), train_path)
    pq.write_table(generate(args.test_timeslices, seed=2), test_path)

    # 80 % of the training file trains, 20 % picks the best epoch; the fresh file is never seen.
    n_train = int(args.train_timeslices * 0.8)
    config = TrainConfig(
        train_files=(str(train_path),),
        n_train=n_train,
        n_test=args.train_timeslices - n_train,
        final_epochs=args.final_epochs,
        weight_negative=0.5,
    )
    print(f"training on {train_path} ...", flush=True)
    train(config, model_path, progress=True, command="python examples/own_generator.py")

    from gann_core.model import Model

    model = Model.load(model_path)
    report = evaluate(model, read_timeslices(test_path), data_description=f"file {test_path} (example generator, seed 2)")
    print(report.format_table())

    network = report.row("network")
    best_baseline = max((row for row in report.rows if not row["method"].startswith("network")), key=lambda row: row["accuracy"])
    verdict = all(network[key] >= best_baseline[key] for key in ("precision", "recall", "accuracy"))
    print(
        f"\nnetwork vs best baseline ({best_baseline['method']}): "
        f"{'at least as good on edge precision, recall and accuracy' if verdict else 'NOT better on every edge figure'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
