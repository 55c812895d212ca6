"""Fixtures of the viewer tests: small scored data, a small model file, and an X display for drawing.

Qt runs with the offscreen platform in this process, which is enough for widget logic but
cannot draw. Tests that look at drawn pixels start ``gann-viewer --screenshot`` in a
subprocess on the display of the ``x_display`` fixture (an Xvfb started here when DISPLAY is
not set), and skip with the reason when neither is available.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

# Must be set before anything creates the QApplication.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

SMALL_MODEL_CONFIG = dict(gat_hidden=8, gat_layers=1, heads=1, track_hidden=8, classifier_hidden=16, classifier_layers=1)


@pytest.fixture(scope="session")
def spd_table():
    """Three simulated SPD-like timeslices with about 6 collisions each, with truth."""
    from gann_core.simulate import SimulationConfig, simulate_timeslices

    return simulate_timeslices(SimulationConfig.for_geometry("spd", n_events=6.0), 3, seed=11)


@pytest.fixture(scope="session")
def model_path(tmp_path_factory, spd_table) -> Path:
    """An untrained small GANN with input normalisation and calibrated baselines, saved as a model file.

    Its scores are arbitrary but valid probabilities, which is all the viewer tests need;
    training would only add seconds.
    """
    import torch

    from gann_core.baselines import calibrate_baselines
    from gann_core.graph import build_graphs
    from gann_core.model import GANN, Model, ModelConfig

    torch.manual_seed(0)
    network = GANN(ModelConfig(**SMALL_MODEL_CONFIG))
    network.set_normalization(build_graphs(spd_table))
    model = Model(network=network, baselines=calibrate_baselines(spd_table).to_dict(), metadata={"name": "small-test"})
    return model.save(tmp_path_factory.mktemp("model") / "small.pt")


@pytest.fixture(scope="session")
def timeslice_file(tmp_path_factory, spd_table) -> Path:
    """The three timeslices written as a raw timeslice file (no pairs file)."""
    from gann_core.io import write_timeslices

    path = tmp_path_factory.mktemp("data") / "slices.parquet"
    write_timeslices(path, spd_table)
    return path


@pytest.fixture(scope="session")
def prediction_file(tmp_path_factory, spd_table, model_path) -> Path:
    """A ``gann predict`` output of the three timeslices: hits plus event_pred, and a pairs file."""
    from gann_core.infer import predict
    from gann_core.io import write_timeslices
    from gann_core.model import Model

    prediction = predict(Model.load(model_path), spd_table)
    path = tmp_path_factory.mktemp("predicted") / "predicted.parquet"
    write_timeslices(path, prediction.table, pairs=prediction.pairs_table())
    return path


@pytest.fixture(scope="session")
def x_display():
    """An X display name for drawing: $DISPLAY, or an Xvfb started for the session; skips without either."""
    if os.environ.get("DISPLAY"):
        yield os.environ["DISPLAY"]
        return
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        pytest.skip("drawing needs an X server: DISPLAY is not set and Xvfb is not installed (apt-get install xvfb)")

    read_end, write_end = os.pipe()
    process = subprocess.Popen(
        [xvfb, "-displayfd", str(write_end), "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
        pass_fds=(write_end,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    with os.fdopen(read_end) as handle:
        number = handle.readline().strip()
    if not number:
        process.kill()
        pytest.skip("Xvfb did not start, so there is no display to draw on")
    try:
        yield f":{number}"
    finally:
        process.terminate()
        process.wait(timeout=10)
