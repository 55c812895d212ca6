"""GANN core: timeslice simulation, IO, graphs, model, training, inference, assembly, metrics.

The plain functions a notebook needs are importable from here::

    import gann_core
    table = gann_core.read_timeslices("timeslices.parquet")
    model = gann_core.Model.load()          # the shipped SPD model
    prediction = gann_core.predict(model, table)
    report = gann_core.evaluate(model, table)

Names that need torch are imported on first use, so ``import gann_core`` stays light.
Training is ``gann_core.train.train(config, path)``: the name ``gann_core.train`` is the
training package itself.
"""

from gann_core._lazy import lazy_attributes

from gann_core.errors import ConfigError, GannError, InputFileError, ModelFileError
from gann_core.table import FAKE_EVENT_ID, Timeslices, TimesliceError, concat_timeslices

__version__ = "0.1.0"

# Public name -> module that defines it, imported when the name is first used.
_LAZY = {
    "read_timeslices": "gann_core.io",
    "write_timeslices": "gann_core.io",
    "read_pairs": "gann_core.io",
    "read_trackml_event": "gann_core.io",
    "timeslices_from_trackml": "gann_core.io",
    "SimulationConfig": "gann_core.simulate",
    "simulate_timeslices": "gann_core.simulate",
    "fit_tracks": "gann_core.fit",
    "Model": "gann_core.model",
    "ModelConfig": "gann_core.model",
    "predict": "gann_core.infer",
    "score_pairs": "gann_core.infer",
    "evaluate": "gann_core.evaluation",
    "assemble_events": "gann_core.assembly",
    "edge_metrics": "gann_core.metrics",
    "event_metrics": "gann_core.metrics",
    "TrainConfig": "gann_core.train",
}

__getattr__ = lazy_attributes(__name__, _LAZY)


__all__ = [
    "ConfigError",
    "FAKE_EVENT_ID",
    "GannError",
    "InputFileError",
    "ModelFileError",
    "Timeslices",
    "TimesliceError",
    "concat_timeslices",
    *_LAZY,
]
