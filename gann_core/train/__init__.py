"""Hierarchical training of GANN networks.

The names are imported on first use, so reading the presets (the command line does, to
build its options) does not import torch.
"""

from importlib import import_module

# Public name -> module that defines it.
_LAZY = {
    "PRESETS": "gann_core.train.config",
    "Stage": "gann_core.train.config",
    "TrainConfig": "gann_core.train.config",
    "preset": "gann_core.train.config",
    "TrainResult": "gann_core.train.loop",
    "train": "gann_core.train.loop",
}


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'gann_core.train' has no attribute {name!r}")


__all__ = ["PRESETS", "Stage", "TrainConfig", "TrainResult", "preset", "train"]
