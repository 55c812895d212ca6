"""Hierarchical training of GANN networks."""

from gann_core.train.config import PRESETS, Stage, TrainConfig, preset
from gann_core.train.loop import TrainResult, train

__all__ = ["PRESETS", "Stage", "TrainConfig", "TrainResult", "preset", "train"]
