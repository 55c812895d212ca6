"""Time the viewer's two interactive paths: a threshold change, and opening a large file.

Usage: ``python benchmarks/bench_viewer.py [--model M] [--json]``.

1. Threshold change: one simulated SPD-like timeslice with 50 collisions of 2 to 6 tracks
   (about 200 tracks and 20,000 pairs) is scored once. Then each new threshold rebuilds
   everything the viewer shows, drawing excluded: assembly, hit colours in two modes, the
   TP/FP/FN segments, edge and event metrics, and the baseline's metrics. Goal: under 100 ms.
2. Opening a file: 1000 timeslices of about 10 collisions are written to parquet. The time
   runs from a napari viewer that is already up to the first timeslice shown, scored and
   coloured (reading, cutting out the timeslice, scoring, filling the layers). Goal: under
   3 s. With a display (for example under ``xvfb-run``) the viewer is shown and one redraw
   is included. With ``QT_QPA_PLATFORM=offscreen`` nothing is drawn.

Without ``--model`` the shipped SPD model is used. When it is not installed, an untrained
network of the default architecture replaces it for the scoring time, and the output names
it. Its scores are nearly constant, so a threshold change would leave the layers untouched
and time too little; the threshold timings then use the z0 baseline's scores in place of
the network's, which spread over [0, 1] like a trained model's.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from gann_core.errors import ModelFileError
from gann_core.simulate import SimulationConfig, simulate_timeslices
from gann_viewer.scene import Scene
from gann_viewer.scoring import SHARED_MODELS, Scorer, score_timeslice
from gann_viewer.source import TimesliceSource

THRESHOLD_GOAL_S = 0.1
STAND_IN_PATH = "<untrained stand-in>"
OPEN_GOAL_S = 3.0


def choose_scorer(model: str | None) -> tuple[Scorer, str]:
    """Return the scorer to time with, and a description of the model behind it."""
    scorer = Scorer.from_model_argument(model)
    try:
        loaded = SHARED_MODELS.get(scorer)
        return scorer, f"{loaded.name} ({loaded.source})"
    except ModelFileError:
        if model is not None:
            raise
    from gann_core.baselines import calibrate_baselines
    from gann_core.graph import build_graphs
    from gann_core.model import GANN, Model, ModelConfig

    table = simulate_timeslices(SimulationConfig.for_geometry("spd", n_events=10.0), 20, seed=99)
    network = GANN(ModelConfig())
    network.set_normalization(build_graphs(table))
    stand_in = Model(network=network, baselines=calibrate_baselines(table).to_dict(), metadata={"name": "untrained"})
    scorer = Scorer("path", STAND_IN_PATH)
    SHARED_MODELS.add(scorer, stand_in)
    return scorer, "untrained network of the default architecture (shipped model not installed)"


def scored_crowded_timeslice(scorer: Scorer) -> tuple[TimesliceSource, float]:
    """Score the 50-collision timeslice once; returns its source (scores cached in it) and the seconds taken."""
    config = SimulationConfig.for_geometry("spd", n_events=50.0, fixed_n_events=True, max_tracks=6)
    source = TimesliceSource(simulate_timeslices(config, 1, seed=5), name="bench")
    started = time.perf_counter()
    scored = score_timeslice(source, 0, scorer)
    scoring_s = time.perf_counter() - started
    if scorer.path == STAND_IN_PATH:
        source.scored[(0, scorer)] = dataclasses.replace(scored, scores=scored.baseline_scores["z0"])
    return source, scoring_s


def time_threshold_changes(scorer: Scorer, n_thresholds: int = 40) -> dict:
    source, scoring_s = scored_crowded_timeslice(scorer)
    scored = source.scored[(0, scorer)]
    scene = Scene(scored)
    baseline = next(iter(scored.baseline_scores), None)

    seconds = []
    # Distinct thresholds, so that no state comes from the scene's cache.
    for threshold in np.linspace(0.05, 0.95, n_thresholds):
        started = time.perf_counter()
        state = scene.at(float(threshold), "average")
        state.hit_colors("predicted")
        state.hit_colors("assignment")
        for kind in ("tp", "fp", "fn"):
            state.segments(kind)
        state.metrics
        if baseline is not None:
            state.baseline_metrics(baseline)
        seconds.append(time.perf_counter() - started)
    return {
        "tracks": scored.n_tracks,
        "pairs": len(scored.pairs),
        "hits": scored.n_hits,
        "scoring_s": scoring_s,
        "threshold_median_s": statistics.median(seconds),
        "threshold_max_s": max(seconds),
    }


def time_widget_refresh(scorer: Scorer, n_thresholds: int = 20) -> dict:
    """Time the inspector's refresh on the 50-collision timeslice: scene arrays plus napari layer updates."""
    import napari
    from qtpy.QtWidgets import QApplication

    from gann_viewer.layers import hits_layer_data
    from gann_viewer.widget import InspectorWidget

    source, _ = scored_crowded_timeslice(scorer)
    drawing = os.environ.get("QT_QPA_PLATFORM") not in ("offscreen", "minimal")
    viewer = napari.Viewer(show=drawing)
    inspector = InspectorWidget(viewer, use_threads=False, scorer=scorer)
    viewer.window.add_dock_widget(inspector)
    data, kwargs, _ = hits_layer_data(source, 0)
    viewer.add_points(data, **kwargs)
    QApplication.processEvents()

    seconds = []
    for threshold in np.linspace(0.05, 0.95, n_thresholds):
        started = time.perf_counter()
        inspector.set_threshold(float(threshold))
        seconds.append(time.perf_counter() - started)
    viewer.close()
    return {"widget_refresh_median_s": statistics.median(seconds), "widget_refresh_max_s": max(seconds)}


def time_file_open(scorer: Scorer, directory: Path) -> dict:
    import napari
    from qtpy.QtWidgets import QApplication

    from gann_core.io import write_timeslices
    from gann_viewer.layers import hits_layer_data
    from gann_viewer.widget import InspectorWidget

    path = directory / "bench_viewer.parquet"
    table = simulate_timeslices(SimulationConfig.for_geometry("spd", n_events=10.0), 1000, seed=6)
    write_timeslices(path, table)
    del table

    drawing = os.environ.get("QT_QPA_PLATFORM") not in ("offscreen", "minimal")
    viewer = napari.Viewer(show=drawing)
    viewer.window.resize(1400, 900)
    viewer.dims.ndisplay = 3
    inspector = InspectorWidget(viewer, use_threads=False, scorer=scorer)
    viewer.window.add_dock_widget(inspector)
    for _ in range(3):
        QApplication.processEvents()

    started = time.perf_counter()
    source = TimesliceSource.open(path)
    data, kwargs, _ = hits_layer_data(source, 0)
    viewer.add_points(data, **kwargs)  # the inspector adopts it and scores the first timeslice
    if drawing:
        viewer.screenshot(canvas_only=True, flash=False)  # draws the canvas once
    QApplication.processEvents()
    open_s = time.perf_counter() - started

    scored = inspector.scene is not None
    viewer.close()
    return {"timeslices": source.n_timeslices, "hits_in_file": source.table.n_hits, "open_s": open_s, "drawn": drawing, "scored": scored}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model file or shipped name (default: the shipped SPD model)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)

    scorer, model_text = choose_scorer(args.model)
    threshold = time_threshold_changes(scorer)
    refresh = time_widget_refresh(scorer)
    with tempfile.TemporaryDirectory() as directory:
        opening = time_file_open(scorer, Path(directory))
    result = {
        "model": model_text,
        **{f"threshold_{key}" if not key.startswith("threshold") else key: value for key, value in threshold.items()},
        **refresh,
        **opening,
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"model: {model_text}")
        print(
            f"threshold change, {threshold['tracks']} tracks / {threshold['pairs']} pairs: median "
            f"{1000 * threshold['threshold_median_s']:.1f} ms, max {1000 * threshold['threshold_max_s']:.1f} ms "
            f"(goal < {1000 * THRESHOLD_GOAL_S:.0f} ms; scoring once took {threshold['scoring_s']:.2f} s)"
        )
        print(
            f"inspector refresh on the same timeslice (scene arrays plus napari layer updates, before the redraw): "
            f"median {1000 * refresh['widget_refresh_median_s']:.1f} ms, max {1000 * refresh['widget_refresh_max_s']:.1f} ms"
        )
        print(
            f"open {opening['timeslices']} timeslices ({opening['hits_in_file']} hits) and show the first, scored"
            f"{' and drawn' if opening['drawn'] else ', not drawn (offscreen)'}: {opening['open_s']:.2f} s "
            f"(goal < {OPEN_GOAL_S:.0f} s)"
        )
    ok = threshold["threshold_max_s"] < THRESHOLD_GOAL_S and opening["open_s"] < OPEN_GOAL_S and opening["scored"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
