"""The GANN network, its parts, and saved models.

The names are imported on first use, so reading :class:`ModelConfig` (the command line
does, to build its options) does not import torch.
"""

from importlib import import_module

# Public name -> module that defines it.
_LAZY = {
    "GANN": "gann_core.model.network",
    "GATEncoder": "gann_core.model.encoder",
    "Model": "gann_core.model.saved",
    "ModelConfig": "gann_core.model.config",
    "PairClassifier": "gann_core.model.classifier",
    "shipped_model_path": "gann_core.model.saved",
}


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'gann_core.model' has no attribute {name!r}")


__all__ = ["GANN", "GATEncoder", "Model", "ModelConfig", "PairClassifier", "shipped_model_path"]
