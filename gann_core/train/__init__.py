"""Hierarchical training of GANN networks.

The names are imported on first use, so reading the presets (the command line does, to
build its options) does not import torch.
"""

from gann_core._lazy import lazy_attributes

# Public name -> module that defines it.
_LAZY = {
    "PRESETS": "gann_core.train.config",
    "Stage": "gann_core.train.config",
    "TrainConfig": "gann_core.train.config",
    "preset": "gann_core.train.config",
    "TrainResult": "gann_core.train.loop",
    "train": "gann_core.train.loop",
}

__getattr__ = lazy_attributes(__name__, _LAZY)


__all__ = ["PRESETS", "Stage", "TrainConfig", "TrainResult", "preset", "train"]
